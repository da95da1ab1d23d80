"""The EU book's market: London Stock Exchange sessions from 31 December 2024 to 30 April 2026
(the twelve months the risk warning calculated on 31 December 2025 covers, and the four months
after it), the CFDs the provider offers with their ESMA class labels, and their closing prices.

Prices are integers: pence, or hundredths of a penny for the instruments quoted to four
decimals (``scale`` 100, traded in lots of 100 units so that every notional is whole pence).
The book does not model currency conversion: every quote is read as the sterling value of one
unit (a simplification of a synthetic book; no rule reads the quote currency)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from audit.calendar import EPOCH, trading_calendar

START, END = date(2024, 12, 31), date(2026, 4, 30)
DAYS = 337  # the XLON sessions from START to END
WARNING_CALCULATED = date(2025, 12, 31)  # the last calculation of the loss share (quarterly until then)

# id, name, label (instruments.asset_class), exchange, quote, scale, daily volatility, adv.
# AUDJPY is filed as fx_major although the Australian dollar is not on ESMA's list (LEV-020's
# plant); GBPJPY, USDCAD, UK100 ... are majors; EURTRY, HK50, UK250 are not and say so.
CFDS = (
    ("EURUSD", "EUR/USD", "fx_major", None, 1.0850, 100, 0.0045, 90_000_000_000.0),
    ("GBPUSD", "GBP/USD", "fx_major", None, 1.2700, 100, 0.0050, 60_000_000_000.0),
    ("USDJPY", "USD/JPY", "fx_major", None, 151.20, 100, 0.0060, 70_000_000_000.0),
    ("USDCHF", "USD/CHF", "fx_major", None, 0.8800, 100, 0.0050, 20_000_000_000.0),
    ("EURGBP", "EUR/GBP", "fx_major", None, 0.8550, 100, 0.0035, 25_000_000_000.0),
    ("GBPJPY", "GBP/JPY", "fx_major", None, 192.00, 100, 0.0070, 10_000_000_000.0),
    ("USDCAD", "USD/CAD", "fx_major", None, 1.3600, 100, 0.0040, 20_000_000_000.0),
    ("EURJPY", "EUR/JPY", "fx_major", None, 164.00, 100, 0.0060, 15_000_000_000.0),
    ("AUDJPY", "AUD/JPY", "fx_major", None, 99.00, 100, 0.0070, 5_000_000_000.0),
    ("AUDUSD", "AUD/USD", "fx", None, 0.6550, 100, 0.0060, 20_000_000_000.0),
    ("NZDUSD", "NZD/USD", "fx", None, 0.6000, 100, 0.0065, 8_000_000_000.0),
    ("EURTRY", "EUR/TRY", "fx", None, 35.50, 100, 0.0080, 1_000_000_000.0),
    ("USDZAR", "USD/ZAR", "fx", None, 18.40, 100, 0.0090, 2_000_000_000.0),
    ("XAUUSD", "Gold spot", "gold", None, 2620.00, 1, 0.0100, 20_000_000.0),
    ("XAGUSD", "Silver spot", "commodity", None, 30.50, 100, 0.0180, 200_000_000.0),
    ("UKOIL", "Brent crude oil", "commodity", None, 74.00, 100, 0.0200, 100_000_000.0),
    ("NGAS", "Natural gas", "commodity", None, 3.20, 100, 0.0350, 300_000_000.0),
    ("UK100", "FTSE 100", "index_major", None, 8200.00, 1, 0.0090, 500_000.0),
    ("GER40", "DAX 40", "index_major", None, 20000.00, 1, 0.0100, 300_000.0),
    ("US500", "S&P 500", "index_major", None, 5900.00, 1, 0.0100, 2_000_000.0),
    ("US100", "NASDAQ 100", "index_major", None, 21000.00, 1, 0.0130, 1_000_000.0),
    ("JP225", "Nikkei 225", "index_major", None, 39000.00, 1, 0.0120, 300_000.0),
    ("FRA40", "CAC 40", "index_major", None, 7400.00, 1, 0.0100, 200_000.0),
    ("EU50", "Euro Stoxx 50", "index_major", None, 4900.00, 1, 0.0100, 400_000.0),
    ("HK50", "Hang Seng", "index", None, 19500.00, 1, 0.0150, 200_000.0),
    ("UK250", "FTSE 250", "index", None, 20500.00, 1, 0.0090, 50_000.0),
    ("ESP35", "IBEX 35", "index", None, 11600.00, 1, 0.0100, 100_000.0),
    ("VOD", "Vodafone Group plc", "equity", "XLON", 0.7000, 100, 0.0150, 60_000_000.0),
    ("LLOY", "Lloyds Banking Group plc", "equity", "XLON", 0.5500, 100, 0.0160, 150_000_000.0),
    ("BARC", "Barclays plc", "equity", "XLON", 2.6000, 100, 0.0170, 40_000_000.0),
    ("AZN", "AstraZeneca plc", "equity", "XLON", 105.00, 1, 0.0120, 2_000_000.0),
    ("SHEL", "Shell plc", "equity", "XLON", 25.50, 1, 0.0130, 8_000_000.0),
    ("HSBA", "HSBC Holdings plc", "equity", "XLON", 7.5000, 100, 0.0130, 25_000_000.0),
    ("AAPL", "Apple Inc.", "equity", "XNAS", 245.00, 1, 0.0160, 55_000_000.0),
    ("TSLA", "Tesla, Inc.", "equity", "XNAS", 400.00, 1, 0.0320, 95_000_000.0),
    ("BTCUSD", "Bitcoin", "crypto", None, 94000.00, 1, 0.0350, 30_000.0),
    ("ETHUSD", "Ether", "crypto", None, 3400.00, 1, 0.0450, 400_000.0),
)
INFO = {x[0]: x for x in CFDS}
# ESMA initial margin by label (Annex I): the provider's own system reads its labels.
SHARE_BP = {"fx_major": 333, "fx": 500, "gold": 500, "index_major": 500, "commodity": 1000,
            "index": 1000, "equity": 2000, "crypto": 5000}
# ESMA leverage caps by label (LEV-006): 30:1, 20:1, 10:1, 5:1, 2:1.
CAP = {"fx_major": 30, "fx": 20, "gold": 20, "index_major": 20, "commodity": 10, "index": 10,
       "equity": 5, "crypto": 2}
# The instruments one story each scripts (nobody else trades them); the others are ordinary.
STORY_CFDS = ("GBPJPY", "FRA40", "USDCAD", "US100", "JP225", "NGAS", "XAGUSD", "EURJPY", "EU50",
              "UKOIL", "ESP35", "UK250", "GER40")
ORDINARY_CFDS = tuple(x[0] for x in CFDS if x[0] not in STORY_CFDS)


def label(inst: str) -> str:
    return INFO[inst][2]


def scale(inst: str) -> int:
    return INFO[inst][5]


def sessions(start: date = START, end: date = END) -> list[date]:
    """The XLON sessions from ``start`` to ``end``, and the first one after (the overnight
    financing of the last day runs to it)."""
    cal = trading_calendar("XLON")
    days = [EPOCH + timedelta(days=int(d)) for d in cal.sessions]
    out = [d for d in days if start <= d <= end]
    return out + [next(d for d in days if d > end)]


def at(d: date, hh: int, mm: int, ss: int = 0) -> datetime:
    """London wall-clock time on ``d``."""
    return datetime.combine(d, time(hh, mm, ss))


def prices(rng: np.random.Generator, n_days: int) -> dict[str, np.ndarray]:
    """Closing prices (pence, or hundredths of a penny), a random walk per CFD; the walk of a
    story CFD is kept whole and the story overrides the days it scripts."""
    out = {}
    for k, (inst, _, _, _, quote, sc, vol, _) in enumerate(CFDS):
        r = rng.normal(0.0, vol, n_days)
        r[0] = 0.0
        out[inst] = np.round(quote * 100 * sc * np.exp(np.cumsum(r))).astype(np.int64)
    return out
