"""The market the book trades in: the Shanghai trading calendar ending on ``END``, the
instruments (generic boards, ETFs, bonds, gold and the scripted stocks of the stories) and their
daily closing prices."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from audit.sample.builder import Builder

END = date(2025, 6, 30)
EPOCH = date(1970, 1, 1)

# Weekday closures of the Shanghai Stock Exchange (weekends are closed anyway).
HOLIDAYS = frozenset(
    date.fromisoformat(d)
    for d in (
        "2023-01-02 2023-01-23 2023-01-24 2023-01-25 2023-01-26 2023-01-27 2023-04-05 "
        "2023-05-01 2023-05-02 2023-05-03 2023-06-22 2023-06-23 2023-09-29 2023-10-02 "
        "2023-10-03 2023-10-04 2023-10-05 2023-10-06 2024-01-01 2024-02-09 2024-02-12 "
        "2024-02-13 2024-02-14 2024-02-15 2024-02-16 2024-04-04 2024-04-05 2024-05-01 "
        "2024-05-02 2024-05-03 2024-06-10 2024-09-16 2024-09-17 2024-10-01 2024-10-02 "
        "2024-10-03 2024-10-04 2024-10-07 2025-01-01 2025-01-28 2025-01-29 2025-01-30 "
        "2025-01-31 2025-02-03 2025-02-04 2025-04-04 2025-05-01 2025-05-02 2025-05-05 "
        "2025-06-02 2025-10-01 2025-10-02 2025-10-03 2025-10-06 2025-10-07 2025-10-08"
    ).split()
)

# Instrument names and the codes of the gold ETFs.
NAME_A = "华中东海金恒天国长新安宏永鼎瑞盛兴信通达创科联康泰远明光润嘉"
NAME_B = ("科技 医药 电子 能源 银行 证券 地产 汽车 材料 化工 食品 传媒 电气 环保 物流 半导体 软件 "
          "机械 建设 矿业 股份 控股 智能 生物").split()
ETF_NAMES = ("沪深300ETF 中证500ETF 上证50ETF 创业板ETF 科创50ETF 中证1000ETF 证券ETF 半导体ETF "
             "医药ETF 新能源ETF 红利ETF 银行ETF 消费ETF 军工ETF 5G通信ETF 恒生ETF").split()
GOLD_CODES = ("518880", "159934", "518800", "159937", "518850", "159812", "518680", "159831")


def is_trading(d: date) -> bool:
    """A Shanghai trading day: a weekday the exchange is open."""
    return d.weekday() < 5 and d not in HOLIDAYS


def trading_days(end: date, n: int) -> list[date]:
    """The ``n`` trading days ending on ``end`` (inclusive, if it is one), oldest first."""
    out: list[date] = []
    d = end
    while len(out) < n:
        if is_trading(d):
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def next_trading(d: date) -> date:
    """The first trading day after ``d``."""
    d += timedelta(days=1)
    while not is_trading(d):
        d += timedelta(days=1)
    return d


def is_month_end(d: date) -> bool:
    """The last trading day of its month."""
    return next_trading(d).month != d.month


def day_number(d: date) -> int:
    """Days since 1970-01-01 (numpy and polars dates count the same)."""
    return (d - EPOCH).days


def date_of(n: int) -> date:
    """The date of day number ``n``."""
    return EPOCH + timedelta(days=int(n))


def date_series(x: np.ndarray) -> pl.Series:
    """Day numbers as a Date series; negative numbers are missing dates."""
    s = pl.Series(np.asarray(x, dtype=np.int64))
    return pl.select(pl.when(s >= 0).then(s).otherwise(None).cast(pl.Int32).cast(pl.Date)).to_series()


def quarter_end_before(day: date) -> date:
    """The last calendar quarter end strictly before ``day``."""
    quarter_start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return quarter_start - timedelta(days=1)


def calendar(b: Builder) -> None:
    """The window's trading days and the days the stories happen on (``c0``, ``dv``, ``x3``, ``crash``)."""
    dates = trading_days(END, b.T)
    b.dates = dates
    b.dnum = np.array([day_number(d) for d in dates], dtype=np.int64)
    b.month_end = np.array([is_month_end(d) for d in dates])
    d = dates[0] - timedelta(days=1)
    while not (is_trading(d) and is_month_end(d)):
        d -= timedelta(days=1)
    b.prev_charge = day_number(d)  # last interest charge before the window
    b.history = trading_days(dates[0] - timedelta(days=1), 260)  # for contract dates
    b.hist_num = np.array([day_number(x) for x in b.history], dtype=np.int64)
    b.as_of = dates[-1]
    # The scripted crash (c0 .. c0+4) wants c0+2 -> c0+3 on consecutive calendar days, so that
    # a call issued on c0+2 is less than the notice period before a liquidation on c0+3.
    T = b.T
    want = int(round(0.45 * (T - 1)))
    order = sorted(range(1, T - 4), key=lambda i: (abs(i - want), i))
    b.c0 = next((i for i in order if b.dnum[i + 3] - b.dnum[i + 2] == 1), order[0])
    b.consecutive = b.dnum[b.c0 + 3] - b.dnum[b.c0 + 2] == 1
    # The V-shaped dip, on a Friday followed by a Monday where the window has one (the met-call
    # trap: called on Friday, back above the line on the next trading day).
    want_dv = max(1, min(T - 2, int(round(0.25 * (T - 1)))))
    fridays = [i for i in range(1, T - 1) if dates[i].weekday() == 4 and b.dnum[i + 1] - b.dnum[i] == 3]
    b.dv = min(fridays, key=lambda i: (abs(i - want_dv), i)) if fridays else want_dv
    # S3's two limit-down days x3, x3 + 1 and the liquidation on x3 + 2 want three consecutive
    # calendar days: the margin call of x3 is then 40 h old at the liquidation, which is
    # within 72 h of both snapshots below the liquidation line.
    want3 = int(round(0.75 * (T - 1)))
    cand3 = [i for i in range(0, T - 2) if b.dnum[i + 2] - b.dnum[i] == 2]
    b.x3 = min(cand3, key=lambda i: (i == 0, abs(i - want3), i)) if cand3 else None
    b.crash = max(1, min(T - 2, int(round(0.6 * (T - 1)))))  # market-wide crash
    # The last session before an exchange holiday (not a plain weekend), with two sessions
    # after it: the holiday trap's margin call goes out that evening.
    gaps = [i for i in range(1, T - 2) if b.dnum[i + 1] - b.dnum[i] >= 4
            or (b.dnum[i + 1] - b.dnum[i] >= 2 and dates[i].weekday() < 4)]
    b.before_holiday = gaps[0] if gaps else None


def instruments(b: Builder) -> None:
    """Codes, classes, exchanges, price limits, lots, ticks, names and volumes (from ``b.r_inst``)."""
    r = b.r_inst
    n = int(np.clip(b.N // 2, 60, 200))
    n_gold, n_bond, n_etf = max(2, round(0.05 * n)), max(3, round(0.07 * n)), max(5, round(0.12 * n))
    n_eq = n - n_gold - n_bond - n_etf
    boards = r.multinomial(n_eq, [0.4, 0.1, 0.3, 0.2])
    codes: list[str] = []
    cls: list[str] = []
    exch: list[str] = []
    limit: list[float] = []
    # SH main board (+3 scripted V-dip stocks), STAR, SZ main board, ChiNext.
    sh = 600000 + r.choice(6000, boards[0] + 4, replace=False)
    groups = (
        (sh[: boards[0]], "SSE", 0.10), (688000 + r.choice(800, boards[1], replace=False), "SSE", 0.20),
        (1 + r.choice(3999, boards[2], replace=False), "SZSE", 0.10),
        (300001 + r.choice(1999, boards[3], replace=False), "SZSE", 0.20),
    )
    for arr, ex, lim in groups:
        codes += [f"{c:06d}" for c in arr]
        cls += ["equity"] * len(arr)
        exch += [ex] * len(arr)
        limit += [lim] * len(arr)
    n_sh_etf = n_etf // 2
    etf = list(510000 + r.choice(4000, n_sh_etf, replace=False)) + list(
        159001 + r.choice(790, n_etf - n_sh_etf, replace=False))
    codes += [f"{c:06d}" for c in etf]
    cls += ["etf"] * n_etf
    exch += ["SSE"] * n_sh_etf + ["SZSE"] * (n_etf - n_sh_etf)
    limit += [0.10] * n_etf
    bonds = 19000 + r.choice(1000, n_bond, replace=False)
    codes += [f"{c:06d}" for c in bonds]
    cls += ["bond"] * n_bond
    exch += ["SSE"] * n_bond
    limit += [0.10] * n_bond
    gold = list(GOLD_CODES[:n_gold]) + [f"{518000 + i:06d}" for i in range(max(0, n_gold - 8))]
    codes += gold
    cls += ["gold"] * n_gold
    exch += ["SSE" if c.startswith("5") else "SZSE" for c in gold]
    limit += [0.10] * n_gold
    b.n_generic = len(codes)
    # Scripted: three Beijing Stock Exchange stocks (the -30% day), three SH V-dip stocks,
    # three more BSE stocks (two limit-down days in a row) and one thinly traded ChiNext stock
    # (Z: a 20% daily limit, so ten limit-down days take it to 0.8^10 of its close, the
    # concentration scenario behind LEV-004). Z's code is the highest ChiNext code the
    # generic stocks left free, so no random draw moves.
    bse = 920000 + r.choice(1000, 6, replace=False)
    codes += [f"{c:06d}" for c in bse[:3]] + [f"{c:06d}" for c in sh[boards[0]:boards[0] + 3]]
    taken = set(codes)
    z_code = next(f"{c:06d}" for c in range(301999, 300000, -1) if f"{c:06d}" not in taken)
    codes += [f"{c:06d}" for c in bse[3:]] + [z_code]
    cls += ["equity"] * 10
    exch += ["BSE"] * 3 + ["SSE"] * 3 + ["BSE"] * 3 + ["SZSE"]
    limit += [0.30] * 3 + [0.10] * 3 + [0.30] * 3 + [0.20]
    g = b.n_generic
    b.S1 = np.arange(g, g + 3)
    b.S2 = np.arange(g + 3, g + 6)
    b.S3 = np.arange(g + 6, g + 9)
    b.Z = g + 9
    b.inst_code, b.inst_class = codes, np.array(cls)
    b.inst_exch, b.inst_limit = exch, np.array(limit)
    b.n_inst = len(codes)
    eq, etf_m, bond_m, gold_m = (b.inst_class == c for c in ("equity", "etf", "bond", "gold"))
    b.lot = np.where(bond_m, 10, 100).astype(np.int64)
    b.tick = np.where(eq, 10, 1).astype(np.int64)  # price in 1/1000: equities tick 0.01
    # Names.
    ni = b.n_inst
    first, second, kind = (r.integers(0, len(NAME_A), ni), r.integers(0, len(NAME_A), ni),
                           r.integers(0, len(NAME_B), ni))
    names = [NAME_A[x] + NAME_A[y] + NAME_B[z] for x, y, z in zip(first, second, kind)]
    for i in np.nonzero(etf_m)[0]:
        names[i] = ETF_NAMES[i % len(ETF_NAMES)]
    for j, i in enumerate(np.nonzero(bond_m)[0]):
        names[i] = f"国债{23 + j % 3:02d}{(j * 7) % 30 + 1:02d}"
    for i in np.nonzero(gold_m)[0]:
        names[i] = "黄金ETF"
    b.inst_name = names
    b.inst_adv = np.where(
        eq, np.exp(r.normal(np.log(8e6), 0.8, ni)),
        np.where(etf_m, np.exp(r.normal(np.log(5e7), 0.6, ni)),
                 np.where(bond_m, np.exp(r.normal(np.log(3e5), 0.5, ni)), np.exp(r.normal(np.log(1e7), 0.4, ni)))))


def prices(b: Builder) -> None:
    """``b.pm``: closing prices in 1/1000, column 0 the close before the window (``b.r_price``)."""
    r, T, ni = b.r_price, b.T, b.n_inst
    cls = b.inst_class
    eq, etf_m, bond_m, gold_m = (cls == c for c in ("equity", "etf", "bond", "gold"))
    p0 = np.where(eq, np.clip(np.exp(r.normal(np.log(12), 0.6, ni)), 2, 80),
                  np.where(etf_m, np.clip(np.exp(r.normal(np.log(2.5), 0.5, ni)), 0.8, 6),
                           np.where(bond_m, r.normal(100.5, 2.0, ni), r.uniform(5, 8, ni))))
    tick = b.tick
    pm = np.empty((ni, T + 1), dtype=np.int64)  # price in 1/1000 currency; column 0 = last close
    pm[:, 0] = np.maximum(np.round(p0 * 1000 / tick).astype(np.int64) * tick, tick)
    beta = np.where(eq, np.clip(r.normal(1.05, 0.25, ni), 0.4, 1.8),
                    np.where(etf_m, r.normal(1.0, 0.1, ni), np.where(bond_m, 0.03, 0.1)))
    sd = np.where(eq, 0.018, np.where(etf_m, 0.004, np.where(bond_m, 0.0015, 0.008)))
    f = r.normal(0.0004, 0.009, T)
    shock = (-0.035, -0.042, -0.028, 0.015)
    for j, s in enumerate(shock):
        if b.crash + j < T:
            f[b.crash + j] = s
    dash = np.where(bond_m, -0.004, np.where(gold_m, -0.015, 0.0))  # safe havens sold too
    eps = r.standard_normal((ni, T))
    lim = b.inst_limit
    for t in range(T):
        prev = pm[:, t]
        ret = beta * f[t] + sd * eps[:, t] + (dash if b.crash <= t < b.crash + 3 else 0.0)
        raw = prev * np.exp(ret)
        lo = np.ceil(prev * (1 - lim) / tick).astype(np.int64) * tick
        hi = np.floor(prev * (1 + lim) / tick).astype(np.int64) * tick
        pm[:, t + 1] = np.maximum(np.clip(np.round(raw / tick).astype(np.int64) * tick, lo, hi), tick)
    # Scripted paths: flat with bounded noise, then the story.
    c0, dv = b.c0, b.dv
    for i, base in zip(b.S1, (12.0, 18.5, 9.2)):
        lvl = base * (1 + r.uniform(-0.003, 0.003, T + 1))
        path = np.empty(T + 1)
        path[: c0 + 1] = lvl[: c0 + 1]  # columns 0..c0 are days -1..c0-1
        mult = (0.92, 0.96, 0.95, 0.70, 1.06)
        for j, m in enumerate(mult):
            path[c0 + 1 + j] = path[c0 + j] * m
        for t in range(c0 + 6, T + 1):
            path[t] = path[c0 + 5] * (1 + r.uniform(-0.004, 0.004))
        pm[i] = np.round(path * 100).astype(np.int64) * 10
    for i, base in zip(b.S2, (20.0, 7.6, 33.3)):
        path = base * (1 + r.uniform(-0.003, 0.003, T + 1))
        path[dv + 1] = base * 0.94
        pm[i] = np.round(path * 100).astype(np.int64) * 10
    x3 = b.x3  # S3: two limit-down days in a row (x3, x3 + 1), flat before and after
    for i, base in zip(b.S3, (15.6, 8.8, 22.4)):
        path = base * (1 + r.uniform(-0.003, 0.003, T + 1))
        if x3 is not None:
            path[x3 + 1] = path[x3] * 0.70
            path[x3 + 2] = path[x3 + 1] * 0.70
            path[x3 + 3:] = path[x3 + 2] * (1 + r.uniform(-0.003, 0.003, T - x3 - 2))
        pm[i] = np.round(path * 100).astype(np.int64) * 10
    path = 14.2 * (1 + r.uniform(-0.003, 0.003, T + 1))  # Z: flat, thinly traded
    pm[b.Z] = np.round(path * 100).astype(np.int64) * 10
    b.pm = pm  # pm[:, t + 1] is the close of window day t
