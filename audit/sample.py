"""A realistic synthetic platform export with planted violations (``audit sample-data``).

``generate()`` writes one file per contract table (CSV or Parquet) plus
``expected_violations.json``, which names every planted violation by rule and key. Everything
else in the export is clean by construction: the generator runs the platform's own risk
process day by day (margin calls at the call line, liquidation only at or below the
liquidation line and after the notice period, recourse for shortfalls, top-ups that keep every
snapshot inside the leverage cap) and plants each violation so that it breaks exactly one rule.

How the data is built:

* Calendar: Shanghai trading days (weekdays minus the exchange holidays listed below) ending on
  the fixed date ``END`` (2025-06-30), so the output never depends on today.
* Prices: a geometric random walk per instrument with a common market factor that contains a
  three-day crash (so a drawdown hits many accounts at once; bonds and gold fall with it, the
  "dash for cash"), daily price limits by board, and ticks. A few scripted instruments carry
  the stories the planted violations need (a Beijing Stock Exchange stock with a -30% limit-down
  day, a V-shaped dip).
* Money is integer cents throughout, so ``accounts.market_value`` is the sum of the day's
  position values to the cent and ``equity = cash + market_value - debt`` exactly.
* Each day, in this order: prices; morning top-ups by clients called the day before;
  liquidations (ratio <= liquidation line and a margin call at least ``notice_period_hours``
  and at most 240 h old); month-end interest; deposits and withdrawals; top-ups that keep the
  snapshot inside the leverage cap, above the liquidation line and within the concentration
  limit; the close-of-business snapshot; a margin call at 18:00 for every account at or below
  the call line.

Planted (``k`` per per-row rule: 2 below 1,000 accounts, 3, 4, 5 from 100,000): KYC-001
(pending / verified late / rejected), KYC-002 (never signed / signed late), KYC-003 (hit never
resolved / resolved late / unresolved without financing), KYC-004 (resident ID, USCC and LEI
check characters), SEG-001 (a shortfall, a missing statement, a one-cent shortfall), SEG-002
(a sweep to the platform's own account), CON-001 (liquidated at 134-136%), CON-002 (no call at
all / liquidated the morning after the first call), CON-003 (call suppressed on a dip day),
CON-004 (wrong rate, one day too many, 365-day basis), LEV-001, LEV-002 (no top-up on a dip
day), CLR-001 (null and blank clearing reference), CLR-002 (no recourse record), CAP-001, and
with ``plant_table_level`` CLR-003 (last audit 437 days old) and CLR-004 (CCP exposure not
disclosed).

Traps (clean, must not be flagged): a liquidation at exactly 130%; a liquidation with
negative equity and its recourse record; daily re-issued margin calls less than the notice
period before a liquidation (the rule must look back to an older call); interest whose schedule
is exactly half a cent, rounded half up; a professional financing at 4.5x and retail ones at
exactly 3.0x; a retail snapshot at exactly 3.0x; an account with debt and no positions;
screening hits resolved before (or on the day of) the first financing; verification and
disclosure on the day of the first financing; platform-own inflows (compensation); custody
balances exactly equal to client money; net capital exactly at the buffer; without
``plant_table_level``, a last audit exactly 400 days old.

Everything is vectorised over accounts and positions; the only Python loops run per trading
day, per planted violation or per scripted story.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from audit import contract

END = date(2025, 6, 30)
EPOCH = date(1970, 1, 1)
DAY = 86_400
HOUR = 3_600

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

# The platform's published disclosures (one row in `platform`).
DISCLOSURE = {
    "initial_margin": 0.5,
    "maintenance_margin": 0.25,
    "margin_call_ratio": 1.5,
    "liquidation_ratio": 1.3,
    "call_response_hours": 24.0,
    "notice_period_hours": 24.0,
    "interest_rate_annual": 0.0865,
    "commission_rate": 0.0003,
    "day_count": 360,
    "leverage_cap_retail": 3.0,
    "leverage_cap_professional": 5.0,
}
CALL_VALIDITY_HOURS = 240
RATIO_TOL = 1e-9
RATE_BP = 865  # interest_rate_annual in 1/10,000
CONC_FREE, CONC_MID, CONC_MID_SHARE, CONC_LOW_SHARE = 2.4, 1.8, 0.7, 0.5
CUSTODIAN = "招商银行股份有限公司深圳分行"
PLATFORM_ID = "PLT001"

# Event, ledger and fee vocabularies (codes used internally while simulating).
CALL, LIQ, RECOURSE = 0, 1, 2
EVENT_TYPES = ("margin_call", "liquidation", "recourse")
EVENT_PREFIX = ("MC", "LQ", "RC")
CP = ("client_bank", "custodian", "exchange", "platform_own", "client_account", "fee")
CP_BANK, CP_EXCHANGE, CP_OWN, CP_LOAN, CP_FEE = 0, 2, 3, 4, 5
LEDGER_TEXT = (
    "银行转入", "银行转出", "追加保证金", "利息扣收", "佣金", "强制平仓卖出", "归还融资本金",
    "平台补偿款", "划转至平台自有账户", "补足利息",
)
(T_DEPOSIT, T_WITHDRAW, T_TOPUP, T_INTEREST, T_COMMISSION, T_SALE, T_REPAY, T_COMP,
 T_SWEEP, T_INT_TOPUP) = range(10)
FEE_TYPES = ("interest", "commission", "service")

# Region codes that python-stdnum accepts for a resident ID, with the first birth year each is
# valid for (codes of Beijing, Tianjin and Shanghai core districts hold for every year).
REGIONS = (
    ("110101", 0), ("110102", 0), ("110105", 0), ("110106", 0), ("110107", 0), ("110108", 0),
    ("120101", 0), ("120102", 0), ("120103", 0), ("120104", 0), ("120105", 0), ("120106", 0),
    ("310101", 0), ("310104", 0), ("310105", 0), ("310106", 0), ("310107", 0), ("310109", 0),
    ("310110", 0), ("320102", 1983), ("320104", 1983), ("320105", 1983), ("320106", 1983),
    ("330102", 1983), ("330105", 1983), ("330106", 1983), ("350102", 1983), ("350103", 1983),
    ("350104", 1983), ("350203", 1983), ("370102", 1983), ("370103", 1983), ("370104", 1983),
    ("410102", 1983), ("410103", 1983), ("410105", 1983), ("420102", 1983), ("420103", 1983),
    ("420104", 1983), ("420106", 1983), ("420111", 1983), ("440103", 1983), ("440104", 1983),
    ("440105", 1983), ("440106", 1985), ("440112", 1983), ("610103", 1983), ("610104", 1983),
    ("610112", 1983), ("610113", 1983), ("210102", 1983), ("210103", 1983), ("210104", 1983),
    ("510104", 1990), ("510105", 1990), ("510106", 1990), ("510107", 1990), ("500103", 1997),
    ("500106", 1997), ("500107", 1997),
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = (
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 建国 "
    "志强 玉兰 海燕 晓明 婷 欣怡 子涵 浩然 宇航 雨萱 俊杰 思远 佳怡 国庆 丹 鹏 斌 凯 琳 颖 晨 "
    "博文 梓轩 一鸣 嘉豪 诗涵 若曦 立新 春梅 永刚 海涛 振华 雪梅 子豪 天宇"
).split()
CITIES = "北京 上海 深圳 广州 杭州 南京 成都 武汉 苏州 厦门 宁波 天津 西安 长沙 青岛".split()
BRANDS = "恒远 鼎盛 华信 泓源 嘉禾 瑞丰 汇智 博远 中科 金石 丰泽 盈泰 聚鑫 同创 远航 正和".split()
CORP_SUFFIX = ("投资管理有限公司", "资产管理有限公司", "私募基金管理有限公司", "实业有限公司",
               "贸易有限公司")
LEI_WORDS_A = "Harbor Lumen Crescent Granite Meridian Silver Northgate Jade Orchid Summit".split()
LEI_WORDS_B = "Capital Partners Holdings Investments Advisors Securities Trading Asset".split()
NAME_A = "华中东海金恒天国长新安宏永鼎瑞盛兴信通达创科联康泰远明光润嘉"
NAME_B = ("科技 医药 电子 能源 银行 证券 地产 汽车 材料 化工 食品 传媒 电气 环保 物流 半导体 软件 "
          "机械 建设 矿业 股份 控股 智能 生物").split()
ETF_NAMES = ("沪深300ETF 中证500ETF 上证50ETF 创业板ETF 科创50ETF 中证1000ETF 证券ETF 半导体ETF "
             "医药ETF 新能源ETF 红利ETF 银行ETF 消费ETF 军工ETF 5G通信ETF 恒生ETF").split()
GOLD_CODES = ("518880", "159934", "518800", "159937", "518850", "159812", "518680", "159831")
PHONE_PREFIXES = ("130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 "
                  "170 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199").split()
AUDITORS = ("信达华会计师事务所（特殊普通合伙）", "中衡正信会计师事务所（特殊普通合伙）")


# ---------------------------------------------------------------------------------- calendar


def _is_trading(d: date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


def _trading_days(end: date, n: int) -> list[date]:
    """The ``n`` trading days ending on ``end`` (inclusive, if it is one), oldest first."""
    out: list[date] = []
    d = end
    while len(out) < n:
        if _is_trading(d):
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def _next_trading(d: date) -> date:
    d += timedelta(days=1)
    while not _is_trading(d):
        d += timedelta(days=1)
    return d


def _is_month_end(d: date) -> bool:
    return _next_trading(d).month != d.month


def _dnum(d: date) -> int:
    return (d - EPOCH).days


def _ddate(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


# ---------------------------------------------------------------------------- small helpers


def _half_up_div(num: np.ndarray | int, den: int):
    """round(num / den) half up, for non-negative integers."""
    return (num + den // 2) // den


def _interest_cents(base_cents, days, rate_bp: int = RATE_BP, basis: int = 360):
    """base * rate * days / basis, rounded half up to the cent (exact integer arithmetic)."""
    return _half_up_div(np.asarray(base_cents, dtype=np.int64) * rate_bp * np.asarray(days),
                        10_000 * basis)


def _ceil_to(x: np.ndarray, step: int) -> np.ndarray:
    return -(-x // step) * step


def _exact_half_base(target: int, days: int) -> int:
    """Smallest base (cents) >= target whose interest for `days` is exactly x.xx5 before rounding."""
    modulus, half, a = 360_000_000 // 100, 1_800_000, RATE_BP * days
    g = math.gcd(a, modulus)
    if half % g:
        raise RuntimeError(f"no exact half-cent interest for {days} days")
    m = modulus // g
    b0 = (half // g) * pow(a // g, -1, m) % m
    return target + (b0 - target) % m


def _gather(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx, dtype=pl.UInt32))


def _date_series(x: np.ndarray) -> pl.Series:
    """Day numbers as a Date series; negative numbers are missing dates."""
    s = pl.Series(np.asarray(x, dtype=np.int64))
    return pl.select(pl.when(s >= 0).then(s).otherwise(None).cast(pl.Int32).cast(pl.Date)).to_series()


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y).astype(np.int64) + 1, (d - m).astype(np.int64) + 1)


def _ric_numbers(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check characters of 18-digit resident IDs (ISO 7064 MOD 11-2), vectorised."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    digits = np.empty((len(region), 17), dtype=np.int64)
    for i, (val, width, off) in enumerate(((region, 6, 0), (birth, 8, 6), (seq, 3, 14))):
        for k in range(width):
            digits[:, off + k] = (val // 10 ** (width - 1 - k)) % 10
    r = (digits * weights).sum(axis=1) % 11
    return np.array(list("10X98765432"))[r]


def _mod97_check(chars: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 97-10 check digits for rows of alphanumeric characters (LEI)."""
    v = np.zeros(chars.shape[0], dtype=np.int64)
    for k in range(chars.shape[1]):
        col = chars[:, k]
        is_digit = np.char.isdigit(col)
        num = np.where(is_digit, np.char.encode(col).view(np.uint8).astype(np.int64) - 48,
                       np.char.encode(col).view(np.uint8).astype(np.int64) - 55)
        v = np.where(is_digit, (v * 10 + num) % 97, (v * 100 + num) % 97)
    v = (v * 100) % 97
    return 98 - v


# ------------------------------------------------------------------------------ the builder


@dataclass
class _Story:
    """A scripted account: the violation (or trap) it carries and its parameters."""

    role: str
    account: int
    variant: int = 0
    params: dict[str, Any] = field(default_factory=dict)


class _Builder:
    def __init__(self, accounts: int, seed: int, days: int, plant_table_level: bool):
        self.N, self.seed, self.T, self.plant_table = accounts, seed, days, plant_table_level
        streams = np.random.SeedSequence(seed).spawn(8)
        (self.r_inst, self.r_price, self.r_acc, self.r_cli, self.r_day, self.r_plant,
         self.r_fin, self.r_misc) = (np.random.default_rng(s) for s in streams)
        self.k = 2 + (accounts >= 1_000) + (accounts >= 10_000) + (accounts >= 100_000)
        self.violations: list[dict[str, Any]] = []
        self.acc_ids = pl.Series([f"A{a + 1:06d}" for a in range(accounts)])
        self.cli_ids = pl.Series([f"C{a + 1:06d}" for a in range(accounts)])

    # ------------------------------------------------------------------ calendar and market

    def calendar(self) -> None:
        dates = _trading_days(END, self.T)
        self.dates = dates
        self.dnum = np.array([_dnum(d) for d in dates], dtype=np.int64)
        self.month_end = np.array([_is_month_end(d) for d in dates])
        d = dates[0] - timedelta(days=1)
        while not (_is_trading(d) and _is_month_end(d)):
            d -= timedelta(days=1)
        self.prev_charge = _dnum(d)  # last interest charge before the window
        self.history = _trading_days(dates[0] - timedelta(days=1), 260)  # for contract dates
        self.hist_num = np.array([_dnum(x) for x in self.history], dtype=np.int64)
        self.as_of = dates[-1]
        # The scripted crash (c0 .. c0+4) wants c0+2 -> c0+3 on consecutive calendar days, so that
        # a call issued on c0+2 is less than the notice period before a liquidation on c0+3.
        T = self.T
        want = int(round(0.45 * (T - 1)))
        order = sorted(range(1, T - 4), key=lambda i: (abs(i - want), i))
        self.c0 = next((i for i in order if self.dnum[i + 3] - self.dnum[i + 2] == 1), order[0])
        self.consecutive = self.dnum[self.c0 + 3] - self.dnum[self.c0 + 2] == 1
        self.dv = max(1, min(T - 2, int(round(0.25 * (T - 1)))))  # the V-shaped dip
        self.crash = max(1, min(T - 2, int(round(0.6 * (T - 1)))))  # market-wide crash

    def instruments(self) -> None:
        r = self.r_inst
        n = int(np.clip(self.N // 2, 60, 200))
        n_gold, n_bond, n_etf = max(2, round(0.05 * n)), max(3, round(0.07 * n)), max(5, round(0.12 * n))
        n_eq = n - n_gold - n_bond - n_etf
        boards = r.multinomial(n_eq, [0.4, 0.1, 0.3, 0.2])
        codes: list[str] = []
        cls: list[str] = []
        exch: list[str] = []
        limit: list[float] = []
        # SH main board (+3 scripted V-dip stocks), STAR, SZ main board, ChiNext.
        sh = 600000 + r.choice(6000, boards[0] + 3, replace=False)
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
        self.n_generic = len(codes)
        # Scripted: three Beijing Stock Exchange stocks (the -30% day) and three SH V-dip stocks.
        bse = 920000 + r.choice(1000, 3, replace=False)
        codes += [f"{c:06d}" for c in bse] + [f"{c:06d}" for c in sh[boards[0]:]]
        cls += ["equity"] * 6
        exch += ["BSE"] * 3 + ["SSE"] * 3
        limit += [0.30] * 3 + [0.10] * 3
        self.S1 = np.arange(self.n_generic, self.n_generic + 3)
        self.S2 = np.arange(self.n_generic + 3, self.n_generic + 6)
        self.inst_code, self.inst_class = codes, np.array(cls)
        self.inst_exch, self.inst_limit = exch, np.array(limit)
        self.n_inst = len(codes)
        eq, etf_m, bond_m, gold_m = (self.inst_class == c for c in ("equity", "etf", "bond", "gold"))
        self.lot = np.where(bond_m, 10, 100).astype(np.int64)
        self.tick = np.where(eq, 10, 1).astype(np.int64)  # price in 1/1000: equities tick 0.01
        # Names.
        ni = self.n_inst
        a, b, c = r.integers(0, len(NAME_A), ni), r.integers(0, len(NAME_A), ni), r.integers(0, len(NAME_B), ni)
        names = [NAME_A[x] + NAME_A[y] + NAME_B[z] for x, y, z in zip(a, b, c)]
        for i in np.nonzero(etf_m)[0]:
            names[i] = ETF_NAMES[i % len(ETF_NAMES)]
        for j, i in enumerate(np.nonzero(bond_m)[0]):
            names[i] = f"国债{23 + j % 3:02d}{(j * 7) % 30 + 1:02d}"
        for i in np.nonzero(gold_m)[0]:
            names[i] = "黄金ETF"
        self.inst_name = names
        self.inst_adv = np.where(
            eq, np.exp(r.normal(np.log(8e6), 0.8, ni)),
            np.where(etf_m, np.exp(r.normal(np.log(5e7), 0.6, ni)),
                     np.where(bond_m, np.exp(r.normal(np.log(3e5), 0.5, ni)), np.exp(r.normal(np.log(1e7), 0.4, ni)))))

    def prices(self) -> None:
        r, T, ni = self.r_price, self.T, self.n_inst
        cls = self.inst_class
        eq, etf_m, bond_m, gold_m = (cls == c for c in ("equity", "etf", "bond", "gold"))
        p0 = np.where(eq, np.clip(np.exp(r.normal(np.log(12), 0.6, ni)), 2, 80),
                      np.where(etf_m, np.clip(np.exp(r.normal(np.log(2.5), 0.5, ni)), 0.8, 6),
                               np.where(bond_m, r.normal(100.5, 2.0, ni), r.uniform(5, 8, ni))))
        tick = self.tick
        pm = np.empty((ni, T + 1), dtype=np.int64)  # price in 1/1000 currency; column 0 = last close
        pm[:, 0] = np.maximum(np.round(p0 * 1000 / tick).astype(np.int64) * tick, tick)
        beta = np.where(eq, np.clip(r.normal(1.05, 0.25, ni), 0.4, 1.8),
                        np.where(etf_m, r.normal(1.0, 0.1, ni), np.where(bond_m, 0.03, 0.1)))
        sd = np.where(eq, 0.018, np.where(etf_m, 0.004, np.where(bond_m, 0.0015, 0.008)))
        f = r.normal(0.0004, 0.009, T)
        shock = (-0.035, -0.042, -0.028, 0.015)
        for j, s in enumerate(shock):
            if self.crash + j < T:
                f[self.crash + j] = s
        dash = np.where(bond_m, -0.004, np.where(gold_m, -0.015, 0.0))  # safe havens sold too
        eps = r.standard_normal((ni, T))
        lim = self.inst_limit
        for t in range(T):
            prev = pm[:, t]
            ret = beta * f[t] + sd * eps[:, t] + (dash if self.crash <= t < self.crash + 3 else 0.0)
            raw = prev * np.exp(ret)
            lo = np.ceil(prev * (1 - lim) / tick).astype(np.int64) * tick
            hi = np.floor(prev * (1 + lim) / tick).astype(np.int64) * tick
            pm[:, t + 1] = np.maximum(np.clip(np.round(raw / tick).astype(np.int64) * tick, lo, hi), tick)
        # Scripted paths: flat with bounded noise, then the story.
        c0, dv = self.c0, self.dv
        for i, base in zip(self.S1, (12.0, 18.5, 9.2)):
            lvl = base * (1 + r.uniform(-0.003, 0.003, T + 1))
            path = np.empty(T + 1)
            path[: c0 + 1] = lvl[: c0 + 1]  # columns 0..c0 are days -1..c0-1
            mult = (0.92, 0.96, 0.95, 0.70, 1.06)
            for j, m in enumerate(mult):
                path[c0 + 1 + j] = path[c0 + j] * m
            for t in range(c0 + 6, T + 1):
                path[t] = path[c0 + 5] * (1 + r.uniform(-0.004, 0.004))
            pm[i] = np.round(path * 100).astype(np.int64) * 10
        for i, base in zip(self.S2, (20.0, 7.6, 33.3)):
            path = base * (1 + r.uniform(-0.003, 0.003, T + 1))
            path[dv + 1] = base * 0.94
            pm[i] = np.round(path * 100).astype(np.int64) * 10
        self.pm = pm  # pm[:, t + 1] is the close of window day t

    # ------------------------------------------------------------------------------ roles

    def roles(self) -> None:
        k = self.k
        spec: list[tuple[str, int]] = [
            ("t1_exact130", 1), ("t2_recourse", 1), ("clr001", k), ("con001", k), ("con002", k),
            ("clr002", k), ("con003", k), ("lev002", k), ("t3_lev3", 1), ("debt_nopos", 1),
            ("kyc001", k), ("kyc002", k), ("kyc003", k), ("kyc004", k), ("kyc_hit_ok", 2),
            ("kyc_hit_nofin", 1), ("kyc_same_day", 1), ("lev001", k), ("lev001_pro45", 1),
            ("con004", k), ("half", 2), ("seg002", k), ("pown_pos", 2),
        ]
        total = sum(n for _, n in spec)
        if total > self.N // 2:
            raise ValueError(f"accounts={self.N} is too small for {total} scripted accounts")
        pick = self.r_plant.permutation(self.N)[:total]
        self.stories: list[_Story] = []
        i = 0
        for role, n in spec:
            for v in range(n):
                self.stories.append(_Story(role, int(pick[i]), v))
                i += 1
        self.by_role: dict[str, list[_Story]] = {}
        for s in self.stories:
            self.by_role.setdefault(s.role, []).append(s)
        self.scripted = np.zeros(self.N, dtype=bool)  # excluded from random flows
        for s in self.stories:
            if s.role not in ("kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok",
                              "kyc_same_day", "lev001", "lev001_pro45", "pown_pos"):
                self.scripted[s.account] = True

    # --------------------------------------------------------------------------- accounts

    def accounts_init(self) -> None:
        r, N = self.r_acc, self.N
        u = r.random(N)
        id_type = np.select([u < 0.91, u < 0.96, u < 0.97, u < 0.99], [0, 2, 3, 1], 4)
        # 0 cn_resident_id, 1 passport, 2 uscc, 3 lei, 4 other
        corp = (id_type == 2) | (id_type == 3)
        pro = np.where(corp, r.random(N) < 0.8, r.random(N) < 0.075)
        financed = r.random(N) >= 0.06
        E0 = np.where(pro, np.clip(np.exp(r.normal(np.log(800e3), 0.7, N)), 100e3, 3e6),
                      np.clip(np.exp(r.normal(np.log(150e3), 0.9, N)), 20e3, 2e6))
        L = np.where(pro, 1.3 + 2.4 * r.beta(2.5, 2.5, N), 1.0 + 1.75 * r.beta(2.2, 2.8, N))
        kappa = np.where(pro, r.uniform(0.01, 0.08, N),
                         np.where(r.random(N) < 0.15, r.uniform(0.3, 0.8, N), r.uniform(0.015, 0.12, N)))
        cash_only_L = r.uniform(0.4, 0.95, N)
        L = np.where(financed, np.maximum(L, 1.2 - kappa), cash_only_L)
        kappa = np.where(financed, kappa, 1 - cash_only_L)
        n_pos = np.where(financed, r.choice(np.arange(3, 9), N, p=[.14, .2, .22, .2, .14, .1]),
                         r.choice(np.arange(1, 9), N, p=[.05, .09, .13, .16, .18, .16, .13, .10]))
        # Role overrides.
        calm_roles = ("kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_hit_nofin",
                      "kyc_same_day", "lev001", "lev001_pro45", "con004", "half", "seg002", "pown_pos")
        for s in self.stories:
            a = s.account
            if s.role in calm_roles:
                pro[a] = s.role in ("lev001_pro45",) or (s.role == "lev001" and s.variant % 3 == 1)
                financed[a] = not (s.role in ("seg002", "kyc_hit_nofin")
                                   or (s.role == "kyc003" and s.variant == 2))
                L[a] = r.uniform(1.2, 1.5) if financed[a] else 0.6
                kappa[a] = 0.08 if financed[a] else 0.4
                E0[a] = r.uniform(150e3, 400e3)
                n_pos[a] = 4
                id_type[a] = 0
                if s.role == "kyc004":
                    id_type[a] = (0, 2, 3, 0)[s.variant % 4]
            elif s.role in ("t3_lev3", "debt_nopos", "lev002"):
                pro[a], financed[a], id_type[a] = False, True, 0
            else:  # S1 / S2 stories: professional, financed
                pro[a], financed[a], id_type[a] = True, True, 0
        self.id_type, self.pro, self.financed = id_type, pro, financed
        self.responder = r.random(N) < 0.4  # answers a margin call by topping up the next morning
        self.cap = np.where(pro, DISCLOSURE["leverage_cap_professional"], DISCLOSURE["leverage_cap_retail"])
        self.E0 = E0
        # Generic positions (scripted accounts get theirs below).
        own_slots = ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "con003",
                     "lev002", "t3_lev3", "debt_nopos")
        for s in self.stories:
            if s.role in own_slots:
                n_pos[s.account] = 0
        gen = np.arange(self.n_generic)
        pop = 1.0 / (np.arange(1, self.n_generic + 1) ** 0.8)
        pop = pop[r.permutation(self.n_generic)]
        pop /= pop.sum()
        acc = np.repeat(np.arange(N, dtype=np.int64), n_pos)
        inst = r.choice(gen, size=len(acc), p=pop)
        key = np.unique(acc * self.n_inst + inst)
        pos_acc, pos_inst = key // self.n_inst, key % self.n_inst
        # Scripted slots.
        extra_acc, extra_inst = [], []
        for s in self.stories:
            if s.role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002"):
                extra_acc += [s.account] * 3
                extra_inst += list(self.S1)
            elif s.role in ("con003", "lev002"):
                extra_acc += [s.account] * 3
                extra_inst += list(self.S2)
            elif s.role == "t3_lev3":
                calm = np.nonzero(np.isin(self.inst_class, ("bond", "etf")))[0][:3]
                extra_acc += [s.account] * 3
                extra_inst += list(calm)
        keep = ~np.isin(pos_acc, np.array(extra_acc, dtype=np.int64))
        pos_acc = np.concatenate([pos_acc[keep], np.array(extra_acc, dtype=np.int64)])
        pos_inst = np.concatenate([pos_inst[keep], np.array(extra_inst, dtype=np.int64)])
        order = np.lexsort((pos_inst, pos_acc))
        self.pos_acc, self.pos_inst = pos_acc[order], pos_inst[order]
        P = len(self.pos_acc)
        # Quantities from near-equal weights (diversified, so concentration limits hold).
        w = 1.0 + 0.6 * r.random(P)
        w /= np.bincount(self.pos_acc, weights=w, minlength=N)[self.pos_acc]
        target = (L * E0)[self.pos_acc] * w * 100  # cents
        p_prev = self.pm[self.pos_inst, 0]
        lot_cents = p_prev * self.lot[self.pos_inst] / 10
        q = np.maximum(np.round(target / lot_cents), 1).astype(np.int64) * self.lot[self.pos_inst]
        self.q = q
        mv = (q * p_prev + 5) // 10
        MV = np.bincount(self.pos_acc, weights=mv, minlength=N).astype(np.int64)
        E = MV / L
        cash = np.round(kappa * E).astype(np.int64)
        D = np.where(financed, np.maximum(_ceil_to(np.round(MV + cash - E).astype(np.int64), 10_000), 1_000_000), 0)
        cash = np.where(financed, cash, np.maximum(cash, 100_00))
        self.cash0, self.D0 = cash, D.astype(np.int64)
        self._scripted_states()
        # Sanity: every generic starting state is inside the caps and above the liquidation line.
        E_act = self.cash0 + MV - self.D0
        lev = np.where(E_act > 0, MV / np.maximum(E_act, 1), np.inf)
        bad = self.financed & ~self.scripted & ((lev > 0.97 * self.cap) | (E_act <= 0))
        if bad.any():  # rare tiny accounts: give them more own money
            self.cash0[bad] += _ceil_to(np.round(MV[bad] / (0.8 * self.cap[bad]) - E_act[bad]).astype(np.int64), 10_000)

    def _mv_path(self, account: int) -> np.ndarray:
        """Market value (cents) of an account's fixed holdings at each window close."""
        sl = np.nonzero(self.pos_acc == account)[0]
        return ((self.q[sl, None] * self.pm[self.pos_inst[sl], 1:] + 5) // 10).sum(axis=0)

    def _set_qty(self, account: int, value_cents: float) -> None:
        sl = np.nonzero(self.pos_acc == account)[0]
        p = self.pm[self.pos_inst[sl], self.c0]  # close of day c0-1
        each = value_cents / len(sl)
        self.q[sl] = np.maximum(np.round(each * 10 / (p * 100)), 1).astype(np.int64) * 100

    def _scripted_states(self) -> None:
        """Initial cash and debt of the scripted accounts, solved from their price paths."""
        c0, dv = self.c0, self.dv
        me_days = [t for t in range(self.T) if self.month_end[t]]
        s1_ratio = {"t2_recourse": (1.66,), "clr001": (1.50, 1.52), "con001": (1.60, 1.62),
                    "clr002": (1.63, 1.67)}
        for s in self.stories:
            a, role = s.account, s.role
            if role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002"):
                self._set_qty(a, self.r_misc.uniform(1.2e6, 3e6) * 100)
                mv = self._mv_path(a)
                pre = mv[c0 - 1]
                if role == "t1_exact130":
                    liq_day = c0 + 2
                    c_target = int(pre * 0.01)
                    k10 = -(-(mv[liq_day] + c_target) // 13)  # D = 10 * k10 cents
                    D = 10 * k10
                    interest, last = 0, self.prev_charge
                    for t in me_days:  # month-end charges before the liquidation come out of cash
                        if t < liq_day:
                            interest += int(_interest_cents(D, int(self.dnum[t]) - last))
                            last = int(self.dnum[t])
                    cash = 13 * k10 - int(mv[liq_day]) + interest
                    s.params = {"liq_day": liq_day}
                else:
                    if role == "con002":
                        # Odd variants: first call on c0+2, liquidated on the next calendar day.
                        # Even ones: never called (the ratio only crosses the call line on c0+3).
                        kind = "call_too_recent" if s.variant % 2 and self.consecutive else "no_call"
                        ratio = 1.74 if kind == "call_too_recent" else 2.0 - 0.02 * s.variant
                        s.params = {"force_day": c0 + 3, "kind": kind}
                    else:
                        ratios = s1_ratio[role]
                        ratio = ratios[s.variant % len(ratios)] + 0.004 * (s.variant // len(ratios))
                    cash = int(round(pre * 0.01))
                    D = int(_ceil_to(np.array([round((cash + pre) / ratio)]), 10_000)[0])
                    if role == "con001":
                        s.params = {"force_day": c0 + 2}
                    if role == "clr001":
                        s.params = {"ref": ("null", "blank")[s.variant % 2]}
                self.cash0[a], self.D0[a] = cash, D
            elif role in ("con003", "lev002"):
                self._set_qty(a, self.r_misc.uniform(0.6e6, 1.5e6) * 100)
                mv = self._mv_path(a)
                ratio = (1.47, 1.455, 1.465, 1.46, 1.45)[s.variant % 5]
                cash = int(round(mv[dv] * 0.01))
                D = int(round((cash + mv[dv]) / ratio / 100)) * 100
                self.cash0[a], self.D0[a] = cash, D
                s.params = {"day": dv}
            elif role == "t3_lev3":
                sl = np.nonzero(self.pos_acc == a)[0]
                p = self.pm[self.pos_inst[sl], 1]
                lots = self.lot[self.pos_inst[sl]]
                base_q = np.maximum(np.round(80_000_00 * 10 / (p * lots)), 1).astype(np.int64) * lots
                for extra in itertools.product(range(3), repeat=len(sl)):  # day-0 value divisible by 3
                    self.q[sl] = base_q + np.array(extra) * lots
                    mv0 = int(((self.q[sl] * p + 5) // 10).sum())
                    if mv0 % 3 == 0:
                        break
                E = -(-mv0 // 3)  # leverage exactly 3 when mv0 divides by 3, a hair below otherwise
                cash = int(mv0 * 0.01)
                self.cash0[a], self.D0[a] = cash, cash + mv0 - E
            elif role == "debt_nopos":
                self.D0[a] = 5_000_000
                self.cash0[a] = 13_000_000
        for s in self.by_role["half"]:
            s.params = {"half": True}

    # ------------------------------------------------------------------------- financings

    def financings(self) -> None:
        r = self.r_fin
        N = self.N
        fin_acc = np.nonzero(self.financed)[0]
        two = r.random(len(fin_acc)) < 0.25
        forced_one = np.zeros(N, dtype=bool)
        early = np.zeros(N, dtype=bool)  # opened before the last pre-window interest charge
        for s in self.stories:
            forced_one[s.account] = True
            if s.role not in ("kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_same_day",
                              "lev001", "lev001_pro45", "pown_pos"):
                early[s.account] = True
        two &= ~forced_one[fin_acc]
        # Debt split into draws; the "half" traps need an amount with an exact half-cent interest.
        first_me = next((t for t in range(self.T) if self.month_end[t]), None)
        for s in self.by_role["half"]:
            a = s.account
            days = int(self.dnum[first_me] - self.prev_charge)
            base = _exact_half_base(int(self.D0[a]), days)
            self.cash0[a] += base - self.D0[a]  # keep equity: the extra debt sits in cash
            self.D0[a] = base
        f_acc = np.concatenate([fin_acc, fin_acc[two]])
        order = np.argsort(f_acc, kind="stable")
        f_acc = f_acc[order]
        second = np.concatenate([np.zeros(len(fin_acc), bool), np.ones(two.sum(), bool)])[order]
        D = self.D0[f_acc]
        share = np.where(two[np.searchsorted(fin_acc, f_acc)], r.uniform(0.2, 0.5, len(f_acc)), 0.0)
        amt_second = (np.round(D * share / 10_000) * 10_000).astype(np.int64)
        # amount: first draw = D - second draw
        sec_amt_by_acc = np.zeros(N, dtype=np.int64)
        sec_amt_by_acc[f_acc[second]] = amt_second[second]
        amount = np.where(second, amt_second, self.D0[f_acc] - sec_amt_by_acc[f_acc])
        # Opening dates (trading days before the window).
        H = len(self.hist_num)
        pc_idx = int(np.searchsorted(self.hist_num, self.prev_charge))  # index of prev charge day
        lo_first = np.where(early[f_acc], max(0, pc_idx - 100), max(0, H - 100))
        hi_first = np.where(early[f_acc], pc_idx, H)
        first_idx = lo_first + (r.random(len(f_acc)) * (hi_first - lo_first)).astype(np.int64)
        first_by_acc = np.full(N, -1, dtype=np.int64)
        first_by_acc[f_acc[~second]] = first_idx[~second]
        fi = first_by_acc[f_acc]
        sec_idx = fi + 1 + (r.random(len(f_acc)) * np.maximum(H - fi - 1, 1)).astype(np.int64)
        open_idx = np.where(second, np.minimum(sec_idx, H - 1), fi)
        open_day = self.hist_num[open_idx]
        open_sec = open_day * DAY + 9 * HOUR + 30 * 60 + r.integers(0, 5 * HOUR, len(f_acc))
        # Leverage at open: mostly continuous, some at the 1:N multiples; capped by category.
        pro = self.pro[f_acc]
        lev = np.where(pro, np.round(r.uniform(1.5, 4.9, len(f_acc)), 2), np.round(r.uniform(1.3, 2.95, len(f_acc)), 2))
        fixed = r.random(len(f_acc)) < 0.25
        lev = np.where(fixed & pro, r.choice([3.0, 4.0, 4.5, 5.0], len(f_acc)), lev)
        lev = np.where(fixed & ~pro, r.choice([2.0, 2.5, 3.0], len(f_acc)), lev)
        self.fin_acc, self.fin_amount, self.fin_open_sec = f_acc, amount.astype(np.int64), open_sec
        self.fin_open_day = open_day
        self.fin_lev = lev
        rank = np.empty(len(f_acc), dtype=np.int64)  # ids in order of opening
        rank[np.lexsort((f_acc, open_sec))] = np.arange(1, len(f_acc) + 1)
        self.fin_id = [f"F{i:06d}" for i in rank]
        self.first_fin_row = np.full(N, -1, dtype=np.int64)
        idx_first = np.nonzero(~second)[0]
        self.first_fin_row[f_acc[idx_first]] = idx_first
        # Plants and traps on financings.
        for s in self.by_role["lev001"]:
            j = self.first_fin_row[s.account]
            self.fin_lev[j] = (4.0, 6.0, 3.5, 4.2, 7.0)[s.variant % 5]
            self._violation("LEV-001", "financings", {"financing_id": self.fin_id[j]},
                            "leverage at open above the cap for the client's category")
        for s in self.by_role["lev001_pro45"]:
            self.fin_lev[self.first_fin_row[s.account]] = 4.5
        for s in self.by_role["t3_lev3"]:
            self.fin_lev[self.first_fin_row[s.account]] = 3.0
        self.fin_equity = np.round(self.fin_amount / (self.fin_lev - 1)).astype(np.int64)
        self.fin_first_day = np.full(N, -1, dtype=np.int64)
        self.fin_first_day[f_acc[idx_first]] = open_day[idx_first]
        self.fin_first_sec = np.full(N, -1, dtype=np.int64)
        self.fin_first_sec[f_acc[idx_first]] = open_sec[idx_first]

    # ---------------------------------------------------------------------------- clients

    def clients(self) -> pl.DataFrame:
        r, N = self.r_cli, self.N
        as_of = _dnum(self.as_of)
        financed = self.financed
        first = np.where(financed, self.fin_first_day, _dnum(self.dates[0]))
        onboarded = np.maximum(first - r.integers(200, 2200, N), _dnum(date(2016, 1, 4)))
        verified = onboarded + r.integers(0, 4, N)
        signed = verified + r.integers(0, 3, N)
        lo = np.maximum(onboarded, as_of - 700)
        hi = np.where(financed, first, as_of - 1)
        assessed = lo + (r.random(N) * (hi - lo + 1)).astype(np.int64)
        u = r.random(N)
        hit = u < 0.025
        pep = r.random(N) < 0.006
        screened = onboarded.copy()
        resolved = np.where(hit, screened + r.integers(1, 30, N), -1)
        rating = np.where(hit | pep, 2, np.select([r.random(N) < 0.6, r.random(N) < 0.85], [0, 1], 2))
        interval = np.array([1825, 1095, 365])[rating]
        last_review = np.maximum(onboarded, as_of - (15 + (r.random(N) * (interval - 40)).astype(np.int64)))
        pep_ok = np.where(pep, verified + r.integers(1, 10, N), -1)
        status = np.zeros(N, dtype=np.int64)  # 0 verified, 1 pending, 2 rejected
        tolerance = np.where(financed, np.where(r.random(N) < 0.6, 3, 4), r.integers(0, 5, N))
        for s in self.stories:
            pep[s.account] = False
            pep_ok[s.account] = -1
        # Traps.
        for s in self.by_role["kyc_hit_ok"]:
            a = s.account
            hit[a] = True
            rating[a] = 2
            resolved[a] = first[a] if s.variant == 0 else first[a] - 12
            last_review[a] = as_of - 40
        for s in self.by_role["kyc_hit_nofin"]:
            a = s.account
            hit[a], rating[a], resolved[a], last_review[a] = True, 2, screened[a] + 9, as_of - 60
        for s in self.by_role["kyc_same_day"]:
            a = s.account
            verified[a] = signed[a] = first[a]
        # Plants.
        for s in self.by_role["kyc001"]:
            a, v = s.account, s.variant % 4
            fid = self.fin_id[self.first_fin_row[a]]
            if v in (0, 3):
                status[a], verified[a], note = 1, -1, "client identity still pending verification"
            elif v == 1:
                verified[a], note = first[a] + 4, "identity verified four days after the financing"
            else:
                status[a], verified[a], note = 2, -1, "identity verification rejected"
            self._violation("KYC-001", "financings", {"financing_id": fid}, note)
        for s in self.by_role["kyc002"]:
            a = s.account
            if s.variant % 2 == 0:
                signed[a], note = -1, "risk disclosure never signed"
            else:
                signed[a], note = first[a] + 3, "risk disclosure signed after the first financing"
            self._violation("KYC-002", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        for s in self.by_role["kyc003"]:
            a, v = s.account, s.variant % 3
            hit[a], rating[a] = True, 2
            last_review[a] = as_of - 30
            if v == 0:
                resolved[a], note = -1, "screening hit never resolved, client financed"
            elif v == 1:
                resolved[a], note = first[a] + 6, "screening hit resolved after the first financing"
            else:
                resolved[a], note = -1, "screening hit never resolved"
            self._violation("KYC-003", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        # Identity documents: resident IDs for everyone (vectorised), the rest where needed.
        oy, _, _ = _ymd(onboarded)
        birth_year = oy - r.integers(22, 62, N)
        y0 = (np.array(birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
        by, bm, bd = _ymd(y0 + r.integers(0, 365, N))
        birth_num = by * 10000 + bm * 100 + bd
        reg_codes = np.array([int(c) for c, _ in REGIONS])
        reg_start = np.array([s for _, s in REGIONS])
        ri = r.integers(0, len(REGIONS), N)
        unrestricted = np.nonzero(reg_start == 0)[0]
        ri = np.where(reg_start[ri] > birth_year, unrestricted[r.integers(0, len(unrestricted), N)], ri)
        seq = r.integers(1, 999, N)
        check = _ric_numbers(reg_codes[ri], birth_num, seq)
        ric = (pl.Series(reg_codes[ri]).cast(pl.String) + pl.Series(birth_num).cast(pl.String)
               + pl.Series(seq).cast(pl.String).str.zfill(3) + pl.Series(check))
        # USCC: 9 1 + region + 8-digit organisation code + its check (GB 11714) + check (GB 32100).
        org = r.integers(10_000_000, 99_999_999, N)
        region6 = reg_codes[r.integers(0, len(REGIONS), N)]
        corp_rows = np.nonzero(self.id_type == 2)[0]
        uscc = pl.Series([None] * N, dtype=pl.String)
        if len(corp_rows):
            o = org[corp_rows]
            od = np.stack([(o // 10 ** (7 - k)) % 10 for k in range(8)], axis=1)
            oc = 11 - (od * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
            oc_ch = np.where(oc == 10, "X", np.where(oc == 11, "0", oc.astype(str)))
            body = [f"91{rg:06d}{x:08d}{c}" for rg, x, c in zip(region6[corp_rows], o, oc_ch)]
            alphabet = np.array(list(USCC_ALPHABET))
            vals = np.searchsorted(alphabet, np.array([list(b) for b in body]))
            total = (vals * np.array(USCC_WEIGHTS)).sum(axis=1)
            checks = alphabet[(31 - total % 31) % 31]
            uscc = uscc.scatter(corp_rows, [b + c for b, c in zip(body, checks)])
        # LEI: 4-character LOU prefix, "00", 12 characters, 2 check digits (ISO 7064 MOD 97-10).
        lei_rows = np.nonzero(self.id_type == 3)[0]
        lei = pl.Series([None] * N, dtype=pl.String)
        if len(lei_rows):
            alnum = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
            lou = np.array([list(x) for x in ("5493", "3003", "9845", "2138", "8945")])
            n_l = len(lei_rows)
            base = np.concatenate([lou[r.integers(0, 5, n_l)], np.full((n_l, 2), "0"),
                                   alnum[r.integers(0, len(alnum), (n_l, 12))]], axis=1)
            chk = _mod97_check(base)
            lei = lei.scatter(lei_rows, ["".join(row) + f"{c:02d}" for row, c in zip(base, chk)])
        passport = pl.lit("E") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
        other = pl.lit("H") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
        id_type = self.id_type
        id_number = pl.select(
            pl.when(pl.Series(id_type) == 0).then(ric).when(pl.Series(id_type) == 1).then(passport)
            .when(pl.Series(id_type) == 2).then(uscc).when(pl.Series(id_type) == 3).then(lei)
            .otherwise(other)).to_series()
        id_number = id_number.to_list()
        for s in self.by_role["kyc004"]:
            a = s.account
            good = id_number[a]
            if self.id_type[a] == 3:  # LEI: the check digits are the last two
                bad = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
                note = "LEI check digits wrong"
            elif self.id_type[a] == 2:
                alphabet = USCC_ALPHABET
                bad = good[:-1] + alphabet[(alphabet.index(good[-1]) + 1) % len(alphabet)]
                note = "unified social credit code check character wrong"
            else:
                digits = "0123456789X"
                bad = good[:-1] + digits[(digits.index(good[-1]) + 3) % 11]
                note = "resident ID check digit wrong"
            id_number[a] = bad
            self._violation("KYC-004", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        # Names, phones, bank cards.
        ind_name = _gather(SURNAMES, r.integers(0, len(SURNAMES), N)) + _gather(GIVEN, r.integers(0, len(GIVEN), N))
        corp_name = (_gather(CITIES, r.integers(0, len(CITIES), N)) + _gather(BRANDS, r.integers(0, len(BRANDS), N))
                     + _gather(CORP_SUFFIX, r.integers(0, len(CORP_SUFFIX), N)))
        lei_name = (_gather(LEI_WORDS_A, r.integers(0, len(LEI_WORDS_A), N)) + " "
                    + _gather(LEI_WORDS_B, r.integers(0, len(LEI_WORDS_B), N)) + " Ltd")
        name = pl.select(pl.when(pl.Series(id_type) == 2).then(corp_name)
                         .when(pl.Series(id_type) == 3).then(lei_name).otherwise(ind_name)).to_series()
        phone = _gather(PHONE_PREFIXES, r.integers(0, len(PHONE_PREFIXES), N)) + pl.Series(
            r.integers(0, 100_000_000, N)).cast(pl.String).str.zfill(8)
        card_digits = np.concatenate([np.tile([6, 2, 2, 2], (N, 1)), r.integers(0, 10, (N, 14))], axis=1)
        # Luhn check digit over the first 18 digits.
        rev = card_digits[:, ::-1].copy()
        dbl = rev[:, 0::2] * 2
        rev[:, 0::2] = np.where(dbl > 9, dbl - 9, dbl)
        luhn = (10 - rev.sum(axis=1) % 10) % 10
        card_num = (card_digits * (10 ** np.arange(17, -1, -1, dtype=np.int64))).sum(axis=1)
        card = pl.Series(card_num).cast(pl.String) + pl.Series(luhn).cast(pl.String)
        cid = self.cli_ids

        dcol = _date_series

        df = pl.DataFrame({
            "client_id": cid,
            "name": name,
            "category": np.where(self.pro, "professional", "retail"),
            "id_type": np.array(["cn_resident_id", "passport", "uscc", "lei", "other"])[id_type],
            "id_number": id_number,
            "phone": phone,
            "bank_account": card,
            "onboarded_at": dcol(onboarded),
            "verification_status": np.array(["verified", "pending", "rejected"])[status],
            "verified_at": dcol(verified),
            "risk_tolerance": np.array(["C1", "C2", "C3", "C4", "C5"])[tolerance],
            "risk_assessed_at": dcol(assessed),
            "risk_disclosure_signed_at": dcol(signed),
            "screening_result": np.where(hit, "hit", "clear"),
            "screened_at": dcol(screened),
            "screening_resolved_at": dcol(resolved),
            "pep": pep,
            "risk_rating": np.array(["low", "medium", "high"])[rating],
            "last_review_at": dcol(last_review),
            "pep_approved_at": dcol(pep_ok),
        })
        return df

    # ----------------------------------------------------------------------- the simulation

    def _violation(self, rule: str, table: str, key: dict[str, str], note: str) -> None:
        self.violations.append({"rule": rule, "table": table, "key": key, "note": note})

    def simulate(self) -> None:
        N, T, P = self.N, self.T, len(self.pos_acc)
        pos_acc, pos_inst, q = self.pos_acc, self.pos_inst, self.q
        cash, debt = self.cash0.copy(), self.D0.copy()
        alive = np.ones(N, dtype=bool)
        live = np.ones(P, dtype=bool)
        NEG = np.iinfo(np.int64).min // 4
        last_call = np.full(N, NEG, dtype=np.int64)
        prev_call = np.full(N, NEG, dtype=np.int64)
        called_yday = np.zeros(N, dtype=bool)
        mv_yday = np.zeros(N, dtype=np.int64)
        cap = self.cap
        fin_acc, fin_amount = self.fin_acc, self.fin_amount
        fin_out = np.ones(len(fin_acc), dtype=bool)
        fin_last = np.maximum(self.fin_open_day, self.prev_charge)
        starts = np.searchsorted(pos_acc, np.arange(N))
        has_pos = np.bincount(pos_acc, minlength=N) > 0
        # Story controls.
        force_day = np.full(N, -1)
        sup_call = np.full(N, -1)
        sup_topup = np.full(N, -1)
        ref_kind = np.zeros(N, dtype=np.int64)  # 0 normal, 1 null, 2 blank
        no_recourse = np.zeros(N, dtype=bool)
        tag_liq = {}
        for s in self.stories:
            a = s.account
            if s.role in ("con001", "con002"):
                force_day[a] = s.params["force_day"]
                tag_liq[a] = s.role
            elif s.role == "con003":
                sup_call[a] = s.params["day"]
            elif s.role == "lev002":
                sup_topup[a] = s.params["day"]
            elif s.role == "clr001":
                ref_kind[a] = 1 if s.params["ref"] == "null" else 2
                tag_liq[a] = "clr001"
            elif s.role == "clr002":
                no_recourse[a] = True
                tag_liq[a] = "clr002"
        story_acc = np.zeros(N, dtype=bool)
        for s in self.stories:
            if s.role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002",
                          "con003", "lev002"):
                story_acc[s.account] = True
        seg002_day = {s.account: 1 + (s.variant * 3) % (T - 1) for s in self.by_role["seg002"]}
        pown_day = {s.account: (2 + s.variant * 5) % T for s in self.by_role["pown_pos"]}
        con004 = {int(self.first_fin_row[s.account]): s for s in self.by_role["con004"]}
        half_rows = np.array([self.first_fin_row[s.account] for s in self.by_role["half"]], dtype=np.int64)
        self.half_found = 0
        E_scale = self.E0
        # Collected output.
        acc_rows, pos_rows = [], []
        ev: dict[str, list] = {k: [] for k in ("type", "acc", "at", "ratio", "amount", "eq", "ref", "rel", "tag")}
        led: dict[str, list] = {k: [] for k in ("day", "acc", "amount", "cp", "text", "tag")}
        fee: dict[str, list] = {k: [] for k in ("day", "acc", "fin", "type", "base", "rate", "days", "charged", "tag")}
        n_events = 0
        self.planted_acc_days: list[tuple[str, int, int]] = []

        def add_ledger(day, accs, amounts, cp, text, tag=0):
            accs = np.asarray(accs, dtype=np.int64)
            if not len(accs):
                return
            led["day"].append(np.full(len(accs), day, dtype=np.int64))
            led["acc"].append(accs)
            led["amount"].append(np.asarray(amounts, dtype=np.int64))
            led["cp"].append(np.full(len(accs), cp, dtype=np.int8))
            led["text"].append(np.full(len(accs), text, dtype=np.int8))
            led["tag"].append(np.full(len(accs), tag, dtype=np.int8))

        def add_fee(day, accs, fins, ftype, base, rate, days, charged, tag=None):
            n = len(accs)
            if not n:
                return
            fee["day"].append(np.full(n, day, dtype=np.int64))
            fee["acc"].append(np.asarray(accs, dtype=np.int64))
            fee["fin"].append(np.asarray(fins, dtype=np.int64))
            fee["type"].append(np.full(n, ftype, dtype=np.int8))
            fee["base"].append(np.asarray(base, dtype=np.int64))
            fee["rate"].append(np.asarray(rate, dtype=np.float64) * np.ones(n))
            fee["days"].append(np.asarray(days, dtype=np.int64) * np.ones(n, dtype=np.int64))
            fee["charged"].append(np.asarray(charged, dtype=np.int64))
            fee["tag"].append(np.zeros(n, dtype=np.int8) if tag is None else np.asarray(tag, dtype=np.int8))

        def add_events(etype, accs, at, ratio, amount, eq, ref, rel, tag):
            nonlocal n_events
            n = len(accs)
            ev["type"].append(np.full(n, etype, dtype=np.int8))
            ev["acc"].append(np.asarray(accs, dtype=np.int64))
            ev["at"].append(np.asarray(at, dtype=np.int64))
            ev["ratio"].append(np.asarray(ratio, dtype=np.float64))
            ev["amount"].append(np.asarray(amount, dtype=np.int64))
            ev["eq"].append(np.asarray(eq, dtype=np.float64))
            ev["ref"].append(np.asarray(ref, dtype=np.int8))
            ev["rel"].append(np.asarray(rel, dtype=np.int64))
            ev["tag"].append(np.asarray(tag, dtype=np.int8))
            first = n_events
            n_events += n
            return np.arange(first, first + n)

        TAGS = {"con001": 1, "con002": 2, "clr001": 3, "clr002": 4}
        self.TAG_RULE = {1: "CON-001", 2: "CON-002", 3: "CLR-001", 4: "CLR-002"}

        def ratio_of(c, mv, d):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (c / 100 + mv / 100) / (d / 100)

        def lev_of(mv, e):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (mv / 100) / (e / 100)

        for t in range(T):
            day = int(self.dnum[t])
            day_s = day * DAY
            pm = self.pm[:, t + 1]
            u_call = self.r_day.integers(0, 1800, N)
            u_liq = self.r_day.integers(0, 17_400, N)
            u_rec = self.r_day.integers(0, 3600, N)
            u_flow = self.r_day.random(N)
            z_flow = self.r_day.normal(0, 0.5, N)
            pos_mv = np.where(live, (q * pm[pos_inst] + 5) // 10, 0)
            MV = np.bincount(pos_acc, weights=pos_mv, minlength=N).astype(np.int64)

            # 1. Clients called yesterday top up in the morning (some of them).
            resp = alive & called_yday & (debt > 0) & ~self.scripted & self.responder
            need = _ceil_to(np.maximum(17 * debt // 10 - (cash + mv_yday), 0), 10_000)
            resp &= need > 0
            idx = np.nonzero(resp)[0]
            cash[idx] += need[idx]
            add_ledger(day, idx, need[idx], CP_BANK, T_TOPUP)

            # 2. Liquidations.
            R = ratio_of(cash, MV, debt)
            liq_at = day_s + 10 * HOUR + u_liq
            deadline = liq_at - int(DISCLOSURE["notice_period_hours"] * HOUR)
            cand = np.where(last_call <= deadline, last_call, np.where(prev_call <= deadline, prev_call, NEG))
            call_ok = (cand > NEG) & (liq_at - cand <= CALL_VALIDITY_HOURS * HOUR)
            gen = alive & (debt > 0) & (MV > 0) & call_ok & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
            forced = alive & (force_day == t) & (debt > 0)
            if (forced & gen).any() or (alive & (force_day > t) & gen).any():
                raise RuntimeError("a forced-liquidation story was liquidated by the normal process")
            liq = gen | forced
            li = np.nonzero(liq)[0]
            if len(li):
                fmask = liq[fin_acc] & fin_out
                fj = np.nonzero(fmask)[0]
                fdays = day - fin_last[fj]
                fj, fdays = fj[fdays > 0], fdays[fdays > 0]
                icharge = _interest_cents(fin_amount[fj], fdays)
                add_fee(day, fin_acc[fj], fj, 0, fin_amount[fj], DISCLOSURE["interest_rate_annual"], fdays, icharge)
                int_by_acc = np.bincount(fin_acc[fj], weights=icharge, minlength=N).astype(np.int64)[li]
                proceeds = MV[li]
                comm = _half_up_div(proceeds * 3, 10_000)
                avail = cash[li] + proceeds - comm - int_by_acc
                repay = np.clip(avail, 0, debt[li])
                eq_after = avail - debt[li]
                add_ledger(day, li, proceeds, CP_EXCHANGE, T_SALE)
                add_fee(day, li, np.full(len(li), -1), 1, proceeds, DISCLOSURE["commission_rate"], -1, comm)
                add_ledger(day, li, -comm, CP_FEE, T_COMMISSION)
                add_ledger(day, fin_acc[fj], -icharge, CP_FEE, T_INTEREST)
                add_ledger(day, li, -repay, CP_LOAN, T_REPAY)
                cash[li] = np.maximum(eq_after, 0)
                debt[li] = 0
                fin_out[fmask] = False
                fin_last[fmask] = day
                live &= ~liq[pos_acc]
                MV[li] = 0
                tags = np.array([TAGS.get(tag_liq.get(int(a), ""), 0) for a in li], dtype=np.int8)
                # Only planted accounts carry a tag, and only their own violation.
                tags = np.where(np.isin(tags, [1, 2]) & ~forced[li], 0, tags)
                ref = np.where(ref_kind[li] == 1, 1, np.where(ref_kind[li] == 2, 2, 0))
                ids = add_events(LIQ, li, liq_at[li], np.round(R[li], 4), proceeds,
                                 eq_after.astype(np.float64), ref, np.full(len(li), -1), tags)
                neg = eq_after < 0
                if (neg & np.isin(tags, [1, 2])).any() or (no_recourse[li] & ~neg).any():
                    raise RuntimeError("a liquidation story ended with the wrong sign of equity")
                rec = neg & ~no_recourse[li]
                if rec.any():
                    ra = li[rec]
                    add_events(RECOURSE, ra, day_s + 17 * HOUR + u_rec[ra], np.full(len(ra), np.nan),
                               -eq_after[rec], eq_after[rec].astype(np.float64), np.full(len(ra), 3),
                               ids[rec], np.zeros(len(ra), dtype=np.int8))
                closed_today = li[neg]
            else:
                closed_today = np.empty(0, dtype=np.int64)

            # 3. Month-end interest on every outstanding draw.
            if self.month_end[t]:
                fj = np.nonzero(fin_out & alive[fin_acc])[0]
                fdays = day - fin_last[fj]
                fj, fdays = fj[fdays > 0], fdays[fdays > 0]
                charged = _interest_cents(fin_amount[fj], fdays)
                rate = np.full(len(fj), DISCLOSURE["interest_rate_annual"])
                ftag = np.zeros(len(fj), dtype=np.int8)
                hm = np.isin(fj, half_rows)
                self.half_found += int(((fin_amount[fj[hm]] * RATE_BP * fdays[hm]) % 3_600_000 == 1_800_000).sum())
                if con004:
                    for j, s in con004.items():
                        n_ = int(np.searchsorted(fj, j))
                        if n_ >= len(fj) or fj[n_] != j or s.params.get("done"):
                            continue
                        v = s.variant % 3
                        if v == 0:
                            rate[n_] = 0.0965
                            charged[n_] = _interest_cents(fin_amount[j], fdays[n_], rate_bp=965)
                            note = "interest charged at 9.65% instead of the published 8.65%"
                        elif v == 1:
                            charged[n_] = _interest_cents(fin_amount[j], fdays[n_] + 1)
                            note = "interest charged for one day more than the period"
                        else:
                            charged[n_] = _interest_cents(fin_amount[j], fdays[n_], basis=365)
                            note = "interest computed on a 365-day basis instead of the published 360"
                        ftag[n_] = 5
                        s.params["done"] = True
                        s.params["note"] = note
                add_fee(day, fin_acc[fj], fj, 0, fin_amount[fj], rate, fdays, charged, ftag)
                due = np.bincount(fin_acc[fj], weights=charged, minlength=N).astype(np.int64)
                short = np.nonzero(due > cash)[0]
                top = _ceil_to(due[short] - cash[short], 10_000)
                cash[short] += top
                add_ledger(day, short, top, CP_BANK, T_INT_TOPUP)
                cash -= due
                add_ledger(day, fin_acc[fj], -charged, CP_FEE, T_INTEREST)
                fin_last[fj] = day

            # 4. Deposits, withdrawals and the planted client-money movements.
            free = alive & ~self.scripted
            dep = free & (u_flow < 0.02)
            amt = np.maximum(np.round(E_scale * 0.05 * np.exp(z_flow) / 100).astype(np.int64) * 10_000, 100_000)
            di = np.nonzero(dep)[0]
            cash[di] += amt[di]
            add_ledger(day, di, amt[di], CP_BANK, T_DEPOSIT)
            wamt = np.minimum(amt, (cash * 4 // 10) // 10_000 * 10_000)
            c_after = cash - wamt
            E_after = c_after + MV - debt
            ok_lev = (debt == 0) | ((ratio_of(c_after, MV, debt) >= CONC_FREE + 0.05)
                                    & (lev_of(MV, E_after) <= 0.8 * cap) & (c_after >= debt // 50))
            wd = free & (u_flow > 0.985) & (wamt >= 10_000) & ok_lev & ~dep
            wi = np.nonzero(wd)[0]
            cash[wi] -= wamt[wi]
            add_ledger(day, wi, -wamt[wi], CP_BANK, T_WITHDRAW)
            for a, d in seg002_day.items():
                if d == t:
                    amount = int(cash[a] // 5 // 100 * 100)
                    if amount <= 0:
                        raise RuntimeError("no cash to sweep for a SEG-002 story")
                    cash[a] -= amount
                    add_ledger(day, [a], [-amount], CP_OWN, T_SWEEP, tag=6)
            for a, d in pown_day.items():
                if d == t:
                    cash[a] += 18_800
                    add_ledger(day, [a], [18_800], CP_OWN, T_COMP)

            # 5. Keep the snapshot inside the caps: top-ups where leverage, the liquidation line
            #    or concentration would be breached.
            for _round in range(3):
                A = cash + MV
                E = A - debt
                lev = lev_of(MV, E)
                R = ratio_of(cash, MV, debt)
                lev_bad = (debt > 0) & (MV > 0) & ~((E > 0) & (lev <= cap + RATIO_TOL))
                r_bad = (debt > 0) & (MV > 0) & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
                maxpos = np.zeros(N, dtype=np.int64)
                if P:
                    mx = np.maximum.reduceat(pos_mv * live, np.minimum(starts, P - 1))
                    maxpos = np.where(has_pos, mx, 0)
                limit = np.where(R >= CONC_FREE, 1.0, np.where(R >= CONC_MID, CONC_MID_SHARE, CONC_LOW_SHARE))
                with np.errstate(divide="ignore", invalid="ignore"):
                    share = (maxpos / 100) / (A / 100)
                c_bad = (debt > 0) & (MV > 0) & (share > limit + RATIO_TOL)
                bad = alive & (lev_bad | r_bad | c_bad)
                if _round == 0:
                    sup = bad & (sup_topup == t)
                    for a in np.nonzero(sup)[0]:
                        if not lev_bad[a] or r_bad[a] or c_bad[a]:
                            raise RuntimeError("LEV-002 story does not breach only the leverage cap")
                        self.planted_acc_days.append(("LEV-002", int(a), t))
                    if (sup_topup == t).any() and not sup[sup_topup == t].all():
                        raise RuntimeError("LEV-002 story is not above the cap on its day")
                bad &= sup_topup != t
                if not bad.any():
                    break
                if (bad & story_acc).any():
                    raise RuntimeError("a scripted story needed a top-up")
                x = np.zeros(N)
                x = np.where(lev_bad, MV / (0.85 * cap) - E, x)
                x = np.maximum(x, np.where(r_bad, 1.33 * debt - A, 0))
                x = np.maximum(x, np.where(c_bad, maxpos / limit - A, 0))
                bi = np.nonzero(bad)[0]
                top = _ceil_to(np.ceil(x[bi]).astype(np.int64) + 1, 10_000)
                cash[bi] += top
                add_ledger(day, bi, top, CP_BANK, T_TOPUP)
            else:
                raise RuntimeError("top-ups did not bring every account inside the caps")

            # 6. Snapshot (closed-today accounts appear with zeros one last time).
            ai = np.nonzero(alive)[0]
            acc_rows.append((t, ai, cash[ai].copy(), MV[ai].copy(), debt[ai].copy()))
            pos_rows.append((t, np.nonzero(live)[0].astype(np.int32)))
            mv_yday = MV.copy()

            # 7. Margin calls at the close for every account at or below the call line.
            alive[closed_today] = False
            R = ratio_of(cash, MV, debt)
            zone = alive & (debt > 0) & (R <= DISCLOSURE["margin_call_ratio"] + RATIO_TOL)
            for a in np.nonzero(sup_call == t)[0]:
                if not zone[a]:
                    raise RuntimeError("CON-003 story is not at the call line on its day")
                self.planted_acc_days.append(("CON-003", int(a), t))
            zone &= sup_call != t
            zi = np.nonzero(zone)[0]
            at = day_s + 18 * HOUR + u_call[zi]
            amount = np.maximum(_ceil_to(15 * debt[zi] - 10 * (cash[zi] + MV[zi]), 10), 0) // 10
            add_events(CALL, zi, at, np.round(R[zi], 4), amount, np.full(len(zi), np.nan),
                       np.full(len(zi), 3), np.full(len(zi), -1), np.zeros(len(zi), dtype=np.int8))
            prev_call[zi] = last_call[zi]
            last_call[zi] = at
            called_yday = zone

        self.acc_rows, self.pos_rows = acc_rows, pos_rows
        self.ev = {k: np.concatenate(v) if v else np.empty(0) for k, v in ev.items()}
        self.led = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in led.items()}
        self.fee = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in fee.items()}
        self.final_alive = alive
        # Every story must have produced what it was scripted for.
        tags = self.ev["tag"]
        expected_tags = {1: len(self.by_role["con001"]), 2: len(self.by_role["con002"]),
                         3: len(self.by_role["clr001"]), 4: len(self.by_role["clr002"])}
        for tg, n in expected_tags.items():
            if int((tags == tg).sum()) != n:
                raise RuntimeError(f"story {self.TAG_RULE[tg]}: {(tags == tg).sum()} of {n} planted")
        if self.half_found < len(self.by_role["half"]):
            raise RuntimeError("exact half-cent interest trap not produced")
        if sum(1 for s in self.by_role["con004"] if s.params.get("done")) != len(self.by_role["con004"]):
            raise RuntimeError("CON-004 plant not produced")
        self._check_traps()

    def _check_traps(self) -> None:
        ev = self.ev
        liq = ev["type"] == LIQ
        t1 = self.by_role["t1_exact130"][0].account
        m = liq & (ev["acc"] == t1)
        if m.sum() != 1 or ev["ratio"][m][0] != 1.3:
            raise RuntimeError("the exact-130% liquidation trap was not produced")
        t2 = self.by_role["t2_recourse"][0].account
        m = liq & (ev["acc"] == t2)
        if m.sum() != 1 or not ev["eq"][m][0] < 0:
            raise RuntimeError("the recourse trap was not produced")

    # ------------------------------------------------------------------------------ tables

    def build(self) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
        self.calendar()
        self.instruments()
        self.prices()
        self.roles()
        self.accounts_init()
        self.financings()
        clients = self.clients()
        self.simulate()
        tables: dict[str, pl.DataFrame] = {"clients": clients}
        tables["instruments"] = self.instruments_table()
        tables["financings"] = self.financings_table()
        tables["accounts"], tables["positions"] = self.snapshot_tables()
        tables["margin_events"] = self.events_table()
        tables["ledger"] = self.ledger_table()
        tables["fees"] = self.fees_table()
        tables["custody"] = self.custody_table(tables["accounts"])
        tables["capital"] = self.capital_table()
        tables["audits"] = self.audits_table()
        tables["platform"] = self.platform_table()
        for rule, a, t in self.planted_acc_days:
            note = ("leverage above the cap on the daily snapshot, no top-up or de-leveraging"
                    if rule == "LEV-002" else "account at the call line with no margin call issued")
            self._violation(rule, "accounts", {"account_id": f"A{a + 1:06d}",
                                               "date": self.dates[t].isoformat()}, note)
        return tables, self.violations

    def instruments_table(self) -> pl.DataFrame:
        # Average daily volume at least three times what the whole book holds (liquid enough to
        # absorb a forced sale of everything within the stress-test limits).
        held = np.bincount(self.pos_inst, weights=self.q, minlength=self.n_inst)
        adv = np.maximum(self.inst_adv, 3 * held)
        return pl.DataFrame({
            "instrument_id": self.inst_code,
            "name": self.inst_name,
            "asset_class": self.inst_class,
            "exchange": self.inst_exch,
            "adv": np.round(adv, 0),
        })

    def financings_table(self) -> pl.DataFrame:
        n = len(self.fin_acc)
        return pl.DataFrame({
            "financing_id": self.fin_id,
            "account_id": self.acc_ids.gather(pl.Series(self.fin_acc, dtype=pl.UInt32)),
            "client_id": self.cli_ids.gather(pl.Series(self.fin_acc, dtype=pl.UInt32)),
            "opened_at": pl.Series(self.fin_open_sec * 1_000_000).cast(pl.Datetime("us")),
            "amount": self.fin_amount,
            "equity_at_open": self.fin_equity,
            "leverage_at_open": self.fin_lev,
            "rate_annual": np.full(n, DISCLOSURE["interest_rate_annual"]),
            "term_days": np.full(n, 180, dtype=np.int64),
            "product_risk_level": np.full(n, "R4"),
            "underlying_asset_class": np.full(n, "equity"),
            "account_holder_id": self.cli_ids.gather(pl.Series(self.fin_acc, dtype=pl.UInt32)),
            "funder_controls_password": np.zeros(n, dtype=bool),
            "warning_line": np.full(n, DISCLOSURE["margin_call_ratio"]),
            "liquidation_line": np.full(n, DISCLOSURE["liquidation_ratio"]),
        }).sort("financing_id")

    def snapshot_tables(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        acc_ids, cli_ids = self.acc_ids, self.cli_ids
        t_idx = np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in self.acc_rows])
        ai = np.concatenate([r[1] for r in self.acc_rows])
        cash = np.concatenate([r[2] for r in self.acc_rows])
        mv = np.concatenate([r[3] for r in self.acc_rows])
        debt = np.concatenate([r[4] for r in self.acc_rows])
        eq = cash + mv - debt
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where(eq > 0, np.round((mv / 100) / (eq / 100), 4), np.nan)
        pledged = np.where(debt > 0, np.minimum(mv, debt * 6 // 10), 0)
        dtrades = np.minimum(self.r_misc.poisson(0.3, len(ai)), 3)
        dates = pl.Series(self.dnum.astype(np.int32)).cast(pl.Date)
        ix = pl.Series(ai, dtype=pl.UInt32)
        accounts = pl.DataFrame({
            "date": dates.gather(pl.Series(t_idx, dtype=pl.UInt32)),
            "account_id": acc_ids.gather(ix),
            "client_id": cli_ids.gather(ix),
            "cash": cash,
            "market_value": mv,
            "debt": debt,
            "equity": eq,
            "leverage": pl.Series(lev).fill_nan(None),
            "pledged_value": pledged,
            "day_trades_5d": dtrades.astype(np.int64),
        })
        pt = np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in self.pos_rows])
        sl = np.concatenate([r[1] for r in self.pos_rows])
        inst = self.pos_inst[sl]
        price = self.pm[inst, pt + 1]
        qty = self.q[sl]
        positions = pl.DataFrame({
            "date": dates.gather(pl.Series(pt, dtype=pl.UInt32)),
            "account_id": acc_ids.gather(pl.Series(self.pos_acc[sl], dtype=pl.UInt32)),
            "instrument_id": pl.Series(self.inst_code).gather(pl.Series(inst, dtype=pl.UInt32)),
            "quantity": qty.astype(np.float64),
            "price": price / 1000,
            "market_value": (qty * price + 5) // 10,
        })
        return accounts, positions

    def events_table(self) -> pl.DataFrame:
        ev = self.ev
        n = len(ev["type"])
        day = ev["at"] // DAY
        df = pl.DataFrame({
            "_i": np.arange(n), "_type": ev["type"].astype(np.int64), "_acc": ev["acc"],
            "_at": ev["at"], "_day": day, "_ratio": ev["ratio"], "_amount": ev["amount"],
            "_eq": ev["eq"], "_ref": ev["ref"].astype(np.int64), "_rel": ev["rel"], "_tag": ev["tag"].astype(np.int64),
        }).sort(["_at", "_type", "_acc"])
        df = df.with_columns(
            (pl.int_range(pl.len()).over(["_day", "_type"]) + 1).alias("_seq"),
            pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").dt.strftime("%Y%m%d").alias("_ds"),
        )
        df = df.with_columns(
            (pl.col("_type").replace_strict(dict(enumerate(EVENT_PREFIX)), return_dtype=pl.String)
             + pl.col("_ds") + pl.col("_seq").cast(pl.String).str.zfill(6)).alias("event_id"))
        id_of = dict(zip(df["_i"].to_list(), df["event_id"].to_list()))
        rel = [id_of[x] if x >= 0 else None for x in df["_rel"].to_list()]
        out = df.select(
            "event_id",
            self.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
            pl.col("_type").replace_strict(dict(enumerate(EVENT_TYPES)), return_dtype=pl.String).alias("event_type"),
            (pl.col("_at") * 1_000_000).cast(pl.Datetime("us")).alias("event_at"),
            pl.col("_ratio").fill_nan(None).alias("collateral_ratio"),
            pl.col("_amount").alias("amount"),
            pl.when(pl.col("_eq").is_nan()).then(None).otherwise(pl.col("_eq")).cast(pl.Int64).alias("equity_after"),
            pl.when(pl.col("_ref") == 0).then(pl.lit("QS") + pl.col("_ds") + pl.lit("-")
                                              + pl.col("_seq").cast(pl.String).str.zfill(6))
            .when(pl.col("_ref") == 2).then(pl.lit("  ")).otherwise(None).alias("clearing_ref"),
            pl.Series(rel, dtype=pl.String).alias("related_event_id"),
            pl.col("_tag"),
        )
        notes = {1: "liquidated above the disclosed liquidation line",
                 2: "liquidated without a margin call at least the notice period before",
                 3: "liquidation without a clearing record",
                 4: "negative equity after liquidation with no recourse record"}
        for (eid, tag) in out.filter(pl.col("_tag") > 0).select("event_id", "_tag").iter_rows():
            note = notes[tag]
            if tag == 2:
                kinds = {s.account: s.params["kind"] for s in self.by_role["con002"]}
                acc = int(out.filter(pl.col("event_id") == eid)["account_id"][0][1:]) - 1
                if kinds.get(acc) == "call_too_recent":
                    note = "liquidated less than the notice period after the margin call"
            self._violation(self.TAG_RULE[tag], "margin_events", {"event_id": eid}, note)
        return out.drop("_tag")

    def ledger_table(self) -> pl.DataFrame:
        led = self.led
        n = len(led["day"])
        df = pl.DataFrame({
            "_day": led["day"], "_acc": led["acc"], "_amount": led["amount"],
            "_cp": led["cp"].astype(np.int64), "_text": led["text"].astype(np.int64),
            "_tag": led["tag"].astype(np.int64), "_i": np.arange(n),
        }).sort(["_day", "_acc", "_i"])
        df = df.with_columns(
            (pl.int_range(pl.len()).over("_day") + 1).alias("_seq"),
            pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").alias("date"),
        )
        out = df.select(
            (pl.lit("LG") + pl.col("date").dt.strftime("%Y%m%d")
             + pl.col("_seq").cast(pl.String).str.zfill(7)).alias("entry_id"),
            "date",
            self.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
            pl.col("_amount").alias("amount"),
            pl.col("_cp").replace_strict(dict(enumerate(CP)), return_dtype=pl.String).alias("counterparty_type"),
            pl.col("_text").replace_strict(dict(enumerate(LEDGER_TEXT)), return_dtype=pl.String).alias("description"),
            pl.col("_tag"),
        )
        for (eid,) in out.filter(pl.col("_tag") == 6).select("entry_id").iter_rows():
            self._violation("SEG-002", "ledger", {"entry_id": eid},
                            "client money transferred to the platform's own account")
        return out.drop("_tag")

    def fees_table(self) -> pl.DataFrame:
        fee = self.fee
        n = len(fee["day"])
        df = pl.DataFrame({
            "_day": fee["day"], "_acc": fee["acc"], "_fin": fee["fin"], "_type": fee["type"].astype(np.int64),
            "_base": fee["base"], "_rate": fee["rate"], "_days": fee["days"], "_charged": fee["charged"],
            "_tag": fee["tag"].astype(np.int64), "_i": np.arange(n),
        }).sort(["_day", "_acc", "_type", "_i"])
        df = df.with_columns(
            (pl.int_range(pl.len()).over("_day") + 1).alias("_seq"),
            pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").alias("date"),
        )
        fin_ids = pl.Series(self.fin_id + [None])
        out = df.select(
            (pl.lit("FE") + pl.col("date").dt.strftime("%Y%m%d")
             + pl.col("_seq").cast(pl.String).str.zfill(6)).alias("fee_id"),
            "date",
            self.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
            fin_ids.gather(pl.Series(np.where(df["_fin"].to_numpy() >= 0, df["_fin"].to_numpy(), len(self.fin_id)),
                                     dtype=pl.UInt32)).alias("financing_id"),
            pl.col("_type").replace_strict(dict(enumerate(FEE_TYPES)), return_dtype=pl.String).alias("fee_type"),
            pl.col("_base").alias("base_amount"),
            pl.col("_rate").alias("rate"),
            pl.when(pl.col("_days") >= 0).then(pl.col("_days")).otherwise(None).alias("days"),
            pl.col("_charged").alias("charged"),
            pl.col("_tag"),
        )
        notes = {int(self.first_fin_row[s.account]): s.params["note"] for s in self.by_role["con004"]}
        fin_notes = {self.fin_id[j]: v for j, v in notes.items()}
        for fid, fin in out.filter(pl.col("_tag") == 5).select("fee_id", "financing_id").iter_rows():
            self._violation("CON-004", "fees", {"fee_id": fid}, fin_notes[fin])
        return out.drop("_tag")

    def custody_table(self, accounts: pl.DataFrame) -> pl.DataFrame:
        r = self.r_misc
        money = accounts.group_by("date").agg(pl.col("cash").sum()).sort("date")
        if money.height != self.T:
            raise RuntimeError("custody: a day without snapshots")
        surplus = np.where(r.random(self.T) < 0.3, r.integers(1, 50_000, self.T), 0)
        bal = money["cash"].to_numpy() + surplus
        keep = np.ones(self.T, dtype=bool)
        n = min(self.k, 3)
        days = self.r_plant.choice(np.arange(self.T), n, replace=False)
        for v, t in enumerate(sorted(days)):
            d = self.dates[t].isoformat()
            if v == 0:
                bal[t] = money["cash"][int(t)] - 128_640_000
                note = "custodian balance 1,286,400.00 below client money"
            elif v == 1:
                keep[t] = False
                note = "no custodian statement for the day"
            else:
                bal[t] = money["cash"][int(t)] - 1
                note = "custodian balance one cent below client money"
            self._violation("SEG-001", "accounts", {"date": d}, note)
        df = pl.DataFrame({
            "date": money["date"],
            "custodian": [CUSTODIAN] * self.T,
            "statement_balance": bal.astype(np.int64),
            "ack_letter_signed_at": [date(2019, 3, 15)] * self.T,
        })
        return df.filter(pl.Series(keep))

    def capital_table(self) -> pl.DataFrame:
        r = self.r_misc
        book = int(self.D0.sum())
        top = int(self.D0.max())
        need = max(book / 4, 20 * top, 5e8)  # cents: CAP-002 / CAP-003 hold even on the dip day
        self.capital_buffer = int(_ceil_to(np.array([int(1.25 * need)]), 100_000_000)[0])
        self.liquidity_buffer = int(_ceil_to(np.array([int(0.4 * self.capital_buffer)]), 100_000_000)[0])
        nc = (self.capital_buffer * (1.15 + 0.3 * r.random(self.T))).astype(np.int64)
        la = (self.liquidity_buffer * (1.2 + 0.5 * r.random(self.T))).astype(np.int64)
        n = min(self.k, 3)
        days = self.r_plant.choice(np.arange(self.T), n + 1, replace=False)
        nc[days[-1]] = self.capital_buffer  # trap: exactly at the buffer
        for v, t in enumerate(sorted(days[:-1])):
            if v == 0:
                nc[t] = self.capital_buffer * 9 // 10
                note = "net capital below the disclosed buffer"
            elif v == 1:
                la[t] = self.liquidity_buffer * 8 // 10
                note = "liquid assets below the disclosed buffer"
            else:
                nc[t], la[t] = self.capital_buffer * 95 // 100, self.liquidity_buffer * 9 // 10
                note = "net capital and liquid assets below the buffers"
            self._violation("CAP-001", "capital", {"date": self.dates[t].isoformat()}, note)
        return pl.DataFrame({"date": pl.Series(self.dnum.astype(np.int32)).cast(pl.Date),
                             "net_capital": nc, "liquid_assets": la})

    def audits_table(self) -> pl.DataFrame:
        as_of = self.as_of
        if self.plant_table:
            last = date(2024, 4, 19)  # 437 days before 2025-06-30: overdue
            self._violation("CLR-003", "audits", {}, "last third-party audit report older than 400 days")
        else:
            last = as_of - timedelta(days=400)  # trap: exactly the limit
        fy = last.year - 1
        rows = []
        for j, y in enumerate(range(fy - 4, fy + 1)):
            report = date(y + 1, 4, 18 + j % 3) if y < fy else last
            rows.append({"audit_id": f"AUD-FY{y}", "auditor": AUDITORS[0 if y >= fy - 1 else 1],
                         "period_start": date(y, 1, 1), "period_end": date(y, 12, 31),
                         "report_date": report, "opinion": "qualified" if y == fy - 3 else "unqualified"})
        self.last_audit = last
        return pl.DataFrame(rows)

    def platform_table(self) -> pl.DataFrame:
        ccp = True
        if self.plant_table:
            ccp = False
            self._violation("CLR-004", "platform", {"platform_id": PLATFORM_ID},
                            "central-counterparty exposure not disclosed")
        row = {
            "platform_id": PLATFORM_ID,
            "platform_name": "鼎盛融资服务平台（合成数据）",
            "disclosed_at": date(2025, 1, 2),
            **{k: v for k, v in DISCLOSURE.items()},
            "custodian": CUSTODIAN,
            "capital_buffer_min": self.capital_buffer,
            "liquidity_buffer_min": self.liquidity_buffer,
            "clearing_chain": "平台 > 示例证券股份有限公司（经纪商、结算参与人） > 中国证券登记结算有限责任公司（中央对手方）",
            "ccp_exposure_disclosed": ccp,
            "last_audit_date": self.last_audit,
            "rehypothecation_limit": 1.4,
            "risk_warning_pct": 0.62,
        }
        df = pl.DataFrame([row])
        return df.with_columns(pl.col("day_count").cast(pl.Int64))


# ------------------------------------------------------------------------------- writing


def _money_text(name: str) -> pl.Expr:
    c = pl.col(name)
    a = c.abs()
    return (pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
            + (a // 100).cast(pl.String) + pl.lit(".") + (a % 100).cast(pl.String).str.zfill(2)).alias(name)


def _finish(name: str, df: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """Order columns as the contract does and give every column its storage form."""
    spec = contract.table(name)
    if set(df.columns) != set(spec.column_names):
        raise RuntimeError(f"{name}: columns {sorted(set(df.columns) ^ set(spec.column_names))}")
    exprs = []
    for col in spec.columns:
        if col.type == contract.MONEY:
            if df.schema[col.name] != pl.Int64:
                raise RuntimeError(f"{name}.{col.name}: money must be integer cents")
            exprs.append(_money_text(col.name) if fmt == "csv"
                         else (pl.col(col.name).cast(pl.Float64) / 100).alias(col.name))
        else:
            exprs.append(pl.col(col.name).cast(col.dtype))
    return df.select(exprs)


def generate(out_dir: Path, accounts: int = 200, seed: int = 7, days: int = 20, fmt: str = "csv",
             *, plant_table_level: bool = True) -> dict:
    """Write a synthetic export of every contract table into ``out_dir``.

    ``<table>.csv`` (UTF-8) or ``<table>.parquet`` per table, plus ``expected_violations.json``
    naming each planted violation by rule and key. Same arguments, same bytes. Table-level
    violations (CLR-003, CLR-004) are planted only when ``plant_table_level`` is true.
    Returns a summary: rows per table and the number of planted violations.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if accounts < 80:
        raise ValueError("accounts must be at least 80 (scripted stories need room)")
    if days < 6:
        raise ValueError("days must be at least 6 (the scripted crash needs five trading days)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(accounts, seed, days, plant_table_level)
    tables, violations = builder.build()
    rows = {}
    for t in contract.TABLES:
        df = _finish(t.name, tables[t.name], fmt)
        rows[t.name] = df.height
        path = out_dir / f"{t.name}.{fmt}"
        if fmt == "csv":
            df.write_csv(path, date_format="%Y-%m-%d", datetime_format="%Y-%m-%d %H:%M:%S")
        else:
            df.write_parquet(path, compression="zstd", statistics=True)
    violations = sorted(violations, key=lambda v: (v["rule"], sorted(v["key"].items())))
    payload = {
        "generator": "audit.sample",
        "seed": seed,
        "accounts": accounts,
        "days": days,
        "as_of": builder.as_of.isoformat(),
        "plant_table_level": plant_table_level,
        "violations": violations,
    }
    (out_dir / "expected_violations.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    by_rule: dict[str, int] = {}
    for v in violations:
        by_rule[v["rule"]] = by_rule.get(v["rule"], 0) + 1
    return {"out_dir": str(out_dir), "format": fmt, "seed": seed, "accounts": accounts, "days": days,
            "rows": rows, "violations": len(violations), "violations_by_rule": dict(sorted(by_rule.items()))}
