"""The US book's market: New York Stock Exchange sessions ending on ``END`` (the house terms
change inside the window, and so does FINRA's day-trading regime on 4 June 2026), listed US
equities and ETFs with their average daily volumes, and the story stocks whose prices the
stories script (one account holds each, so its path is the account's equity ratio)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from audit.calendar import EPOCH, trading_calendar

END = date(2026, 6, 30)
DAYS = 40  # 4 May to 30 June 2026: Memorial Day and Juneteenth inside, 4 June at day 23
HOUSE_30_FROM = date(2026, 5, 18)  # the house requirement rises from 25% to 30%
INTRADAY_FROM = date(2026, 6, 4)  # FINRA's intraday margin standard replaces the PDT rule

# Listed instruments: ticker, name, exchange (ISO 10383), asset class, price (USD), average
# daily volume (shares), daily volatility.
LISTED = (
    ("AAPL", "Apple Inc.", "XNAS", "equity", 215.00, 55_000_000, 0.016),
    ("MSFT", "Microsoft Corporation", "XNAS", "equity", 445.00, 20_000_000, 0.014),
    ("NVDA", "NVIDIA Corporation", "XNAS", "equity", 135.00, 250_000_000, 0.028),
    ("AMZN", "Amazon.com, Inc.", "XNAS", "equity", 200.00, 40_000_000, 0.018),
    ("GOOGL", "Alphabet Inc. Class A", "XNAS", "equity", 180.00, 28_000_000, 0.017),
    ("META", "Meta Platforms, Inc.", "XNAS", "equity", 620.00, 14_000_000, 0.020),
    ("TSLA", "Tesla, Inc.", "XNAS", "equity", 310.00, 95_000_000, 0.032),
    ("INTC", "Intel Corporation", "XNAS", "equity", 24.00, 80_000_000, 0.025),
    ("JPM", "JPMorgan Chase & Co.", "XNYS", "equity", 255.00, 9_000_000, 0.013),
    ("BAC", "Bank of America Corporation", "XNYS", "equity", 45.00, 35_000_000, 0.015),
    ("XOM", "Exxon Mobil Corporation", "XNYS", "equity", 112.00, 15_000_000, 0.014),
    ("JNJ", "Johnson & Johnson", "XNYS", "equity", 160.00, 7_000_000, 0.010),
    ("PG", "The Procter & Gamble Company", "XNYS", "equity", 162.00, 7_000_000, 0.009),
    ("KO", "The Coca-Cola Company", "XNYS", "equity", 70.00, 13_000_000, 0.009),
    ("WMT", "Walmart Inc.", "XNYS", "equity", 95.00, 16_000_000, 0.011),
    ("DIS", "The Walt Disney Company", "XNYS", "equity", 112.00, 9_000_000, 0.015),
    ("SPY", "SPDR S&P 500 ETF Trust", "ARCX", "etf", 595.00, 60_000_000, 0.010),
    ("QQQ", "Invesco QQQ Trust", "XNAS", "etf", 520.00, 38_000_000, 0.013),
    ("IWM", "iShares Russell 2000 ETF", "ARCX", "etf", 215.00, 30_000_000, 0.014),
    ("XLF", "Financial Select Sector SPDR Fund", "ARCX", "etf", 51.00, 40_000_000, 0.012),
)
# Story stocks (invented issuers): small caps whose closes the stories script.
STORY_STOCKS = (
    ("KSTL", "Kestrel Therapeutics Inc. (fictional)"), ("ORVX", "Orvex Semiconductor Corp. (fictional)"),
    ("BRQN", "Brequin Energy Partners Inc. (fictional)"), ("TALM", "Talmadge Biosciences Inc. (fictional)"),
    ("HXLR", "Hexler Robotics Inc. (fictional)"), ("QMRA", "Quamira Pharmaceuticals Inc. (fictional)"),
    ("DLVN", "Delvane Mining Corp. (fictional)"), ("PRSK", "Parsek Software Inc. (fictional)"),
    ("NVLT", "Novalt Medical Devices Inc. (fictional)"), ("GRDX", "Gradex Logistics Inc. (fictional)"),
    ("FNWK", "Fenwick Solar Inc. (fictional)"), ("MRTQ", "Meritq Payments Inc. (fictional)"),
    ("ZYPH", "Zypher Genomics Inc. (fictional)"), ("CALX", "Calyxa Materials Inc. (fictional)"),
)


def sessions(end: date = END, n: int = DAYS) -> list[date]:
    """The ``n`` XNYS sessions ending on ``end`` (exchange-calendars, the audit's own calendar)."""
    cal = trading_calendar("XNYS")
    last = int(np.searchsorted(cal.sessions, (end - EPOCH).days, side="right"))
    return [EPOCH + timedelta(days=int(d)) for d in cal.sessions[last - n:last]]


def at(d: date, hh: int, mm: int, ss: int = 0) -> datetime:
    """New York wall-clock time on ``d``."""
    return datetime.combine(d, time(hh, mm, ss))


def listed_prices(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """Closing prices in cents, (instrument, day): a random walk with a common market factor."""
    vol = np.array([x[6] for x in LISTED])
    p0 = np.array([x[4] for x in LISTED]) * 100
    market = rng.normal(0.0003, 0.008, n_days)
    own = rng.normal(0, 1, (len(LISTED), n_days)) * vol[:, None]
    beta = np.where(np.array([x[3] for x in LISTED]) == "etf", 1.0, 1.1)
    r = own + beta[:, None] * market[None, :]
    r[:, 0] = 0.0
    return np.round(p0[:, None] * np.exp(np.cumsum(r, axis=1))).astype(np.int64)
