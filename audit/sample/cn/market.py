"""The cn book's market: Shanghai Stock Exchange trading days ending on ``END`` (the exchanges'
financing margin ratio returns to 100% on 19 January 2026 and the Spring Festival closes the
market from 16 to 23 February inside the window), A-shares and ETFs with their prices and
average daily volumes, and the story stocks whose prices the stories script (one account holds
each, so its path is the account's maintenance collateral ratio)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from audit.calendar import EPOCH, trading_calendar

END = date(2026, 3, 9)
DAYS = 40  # 5 January to 9 March 2026: 19 January at day 10, the Spring Festival after day 29
REGIME_100_FROM = date(2026, 1, 19)  # new contracts: financing margin ratio 100% again
REGIME_80 = (date(2023, 9, 11), date(2026, 1, 16))  # the 80% regime's first and last sessions

# Listed instruments: code, name, exchange (ISO 10383), asset class, CSI 300 constituent,
# price (CNY), average daily volume (shares or units), daily volatility.
LISTED = (
    ("600519", "贵州茅台", "XSHG", "equity", True, 1450.00, 3_500_000, 0.014),
    ("601318", "中国平安", "XSHG", "equity", True, 55.00, 40_000_000, 0.015),
    ("600036", "招商银行", "XSHG", "equity", True, 42.00, 60_000_000, 0.012),
    ("600900", "长江电力", "XSHG", "equity", True, 28.00, 60_000_000, 0.009),
    ("601899", "紫金矿业", "XSHG", "equity", True, 20.00, 250_000_000, 0.020),
    ("600030", "中信证券", "XSHG", "equity", True, 28.00, 150_000_000, 0.018),
    ("601012", "隆基绿能", "XSHG", "equity", True, 19.00, 150_000_000, 0.025),
    ("000858", "五粮液", "XSHE", "equity", True, 125.00, 20_000_000, 0.017),
    ("000333", "美的集团", "XSHE", "equity", True, 75.00, 25_000_000, 0.014),
    ("300750", "宁德时代", "XSHE", "equity", True, 260.00, 25_000_000, 0.022),
    ("002415", "海康威视", "XSHE", "equity", True, 30.00, 40_000_000, 0.015),
    ("600859", "王府井", "XSHG", "equity", False, 23.00, 15_000_000, 0.020),
    ("002557", "洽洽食品", "XSHE", "equity", False, 25.00, 6_000_000, 0.016),
    ("300146", "汤臣倍健", "XSHE", "equity", False, 13.00, 15_000_000, 0.021),
    ("510300", "华泰柏瑞沪深300ETF", "XSHG", "etf", False, 4.60, 800_000_000, 0.010),
    ("510500", "南方中证500ETF", "XSHG", "etf", False, 6.50, 300_000_000, 0.012),
    ("159915", "易方达创业板ETF", "XSHE", "etf", False, 2.60, 1_200_000_000, 0.016),
    ("588000", "华夏科创50ETF", "XSHG", "etf", False, 1.20, 1_500_000_000, 0.018),
)
ETFS = tuple(x[0] for x in LISTED if x[3] == "etf")
STOCKS = tuple(x[0] for x in LISTED if x[3] == "equity")
# A fictional stock under risk warning (ST since 2025): no collateral value, not marginable.
ST_STOCK = ("605917", "ST 澄海（虚构）")
# Story stocks (fictional issuers on ChiNext, daily limit 20%): their closes the stories script.
STORY_STOCKS = (
    ("301901", "星澜科技（虚构）"), ("301902", "铂川新材（虚构）"), ("301903", "岚峰医疗（虚构）"),
    ("301904", "泽丰智能（虚构）"), ("301905", "云栖半导体（虚构）"), ("301906", "澜沧能源（虚构）"),
    ("301907", "青禾生物（虚构）"), ("301908", "曜石软件（虚构）"), ("301909", "北辰精工（虚构）"),
    ("301910", "海晏环境（虚构）"), ("301911", "恒川通信（虚构）"), ("301912", "朗月传媒（虚构）"),
    ("301913", "松岩材料（虚构）"), ("301914", "启衡电子（虚构）"),
)
STORY_LIMIT = 0.20  # ChiNext daily price limit


def sessions(end: date = END, n: int = DAYS) -> list[date]:
    """The ``n`` XSHG sessions ending on ``end`` (exchange-calendars, the audit's own calendar)."""
    cal = trading_calendar("XSHG")
    last = int(np.searchsorted(cal.sessions, (end - EPOCH).days, side="right"))
    return [EPOCH + timedelta(days=int(d)) for d in cal.sessions[last - n:last]]


def is_session(d: date) -> bool:
    cal = trading_calendar("XSHG")
    k = int(np.searchsorted(cal.sessions, (d - EPOCH).days))
    return k < len(cal.sessions) and int(cal.sessions[k]) == (d - EPOCH).days


def at(d: date, hh: int, mm: int, ss: int = 0) -> datetime:
    """Beijing wall-clock time on ``d``."""
    return datetime.combine(d, time(hh, mm, ss))


def listed_prices(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """Closing prices in fen, (instrument, day): a random walk with a common market factor,
    each day's move within the board's limit (10%, 20% on ChiNext and STAR)."""
    vol = np.array([x[7] for x in LISTED])
    p0 = np.array([x[5] for x in LISTED]) * 100
    market = rng.normal(0.0002, 0.009, n_days)
    own = rng.normal(0, 1, (len(LISTED), n_days)) * vol[:, None]
    beta = np.where(np.array([x[3] for x in LISTED]) == "etf", 1.0, 1.1)
    r = np.clip(own + beta[:, None] * market[None, :], -0.095, 0.095)
    r[:, 0] = 0.0
    return np.round(p0[:, None] * np.exp(np.cumsum(r, axis=1))).astype(np.int64)
