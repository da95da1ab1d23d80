"""A realistic synthetic platform export with planted violations (``audit sample-data``).

``generate()`` writes one file per contract table (CSV or Parquet) plus
``expected_violations.json``, which names every planted violation by rule, key and the profile
that runs the rule (``seed``, or ``cn`` / ``us`` / ``eu`` for the rules only those enable), and
lists under ``not_planted`` the rules this export has no plant for, with the reason. Everything
else is clean by construction: the generator runs the platform's own risk process day by day
(margin calls at the call line, liquidation only at or below the liquidation line and after the
notice period, recourse for shortfalls, top-ups that keep every snapshot inside the leverage
cap and the concentration limit) and plants each violation so that it breaks exactly one rule
of the seed profile, or none for a jurisdiction rule's plant (LEV-014's plants are also LEV-002
plants: a retail account below the ESMA close-out level is always above the 3x cap).

How the data is built:

* Calendar: Shanghai trading days (weekdays minus the exchange holidays listed below) ending on
  the fixed date ``END`` (2025-06-30), so the output never depends on today.
* Prices: a geometric random walk per instrument with a common market factor that contains a
  three-day crash (so a drawdown hits many accounts at once; bonds and gold fall with it, the
  "dash for cash"), daily price limits by board, and ticks. Scripted instruments carry the
  stories: S1, three Beijing Stock Exchange stocks with a -30% limit-down day; S2, three
  Shanghai stocks with a one-day V-shaped dip; S3, three BSE stocks with two limit-down days
  in a row; Z, a flat, thinly traded Shanghai stock.
* Money is integer cents throughout, so ``accounts.market_value`` is the sum of the day's
  position values to the cent and ``equity = cash + market_value - debt`` exactly.
* Each day, in this order: prices; morning top-ups by clients called the day before;
  liquidations (ratio <= liquidation line and a margin call at least ``notice_period_hours``
  and at most 240 h old); month-end interest; deposits and withdrawals; day trades (both legs
  charged commission, at most three in five days); top-ups that keep the snapshot inside the
  leverage cap, above the liquidation line and within the concentration limit; the
  close-of-business snapshot; a margin call at 18:00 for every account at or below the call
  line.
* Net capital follows the book: 15-45% above a quarter of it and twenty times the largest
  client. With plants the platform also has a per-client credit limit (no client above a
  95th of the book), which lets one day's capital fall below a quarter of the book while still
  covering every client twenty times (CAP-003 apart from CAP-002).

Planted (``k`` per per-row rule: 2 below 1,000 accounts, 3, 4, 5 from 100,000; one for the
rules the larger packs added below 200 accounts): KYC-001 (pending / verified late /
rejected), KYC-002 (never signed / signed late), KYC-003 (hit never resolved / resolved late /
unresolved without financing), KYC-004 (resident ID, USCC and LEI check characters), KYC-005
(R4 to a C3 client, R5 to a C4), KYC-006 (assessed after the financing / 800 days old / never),
KYC-007 (high risk reviewed 400 days ago / medium never reviewed in 1,200 days), KYC-008 (never
screened / screened after the financing), KYC-009 (PEP never approved / approved late), SEG-001
(a shortfall, a missing statement, a one-cent shortfall), SEG-002 (a sweep to the platform's
own account), SEG-003 (re-pledged at 150% of the debt), CON-001 (liquidated at 134-136%),
CON-002 (no call at all / liquidated the morning after the first call), CON-003 (call
suppressed on a dip day), CON-004 (wrong rate, one day too many, 365-day basis), CON-006
(commission at 5 bp / an unpublished 5.00 minimum), CON-007 (contract rate above the published
one), CON-008 (at 128.5% on the dip day, neither liquidated nor topped up), LEV-001, LEV-002 (no
top-up on a dip day; the retail account of the S3 story), LEV-003 (a 60% position when the dip
takes the ratio under 180%), CLR-001 (null and blank clearing reference), CLR-002 (no recourse
record), CAP-001 (liquid assets under the buffer), CAP-002 (one large client, on a day before
it is closed out in the crash), CAP-003 (a day of net capital under a quarter of the book),
OFX-001 (account in another client's name), OFX-002 (funder holds the password), OFX-003
(contract lines of 140% / 110%).

Table-level, with ``plant_table_level`` (one each): CLR-004 (CCP exposure not disclosed),
CON-005 (initial margin not published), CON-009 (profile ``eu``: the risk-warning loss share
last calculated two quarter ends before the as-of date), LEV-015 (the platform's own latest
quarterly stress test without recorded results), OFX-004 (70% of contracts at 3x, 4x or 5x), CLR-005
(the latest audit report is qualified) or, with ``audit_overdue``, CLR-003 (the latest report
437 days old): no export can break both, since CLR-005 reads only reports at most 400 days old
and CLR-003 fails only when there is none.
LEV-004 and LEV-005 (severe stress scenario) come from one story, the illiquid cluster: 45 or
more retail accounts whose financing sits in Z, together 60% of the rest of the book. Two of
them, at 162% with Z under half their assets, are closed out by the severe shock alone; their
sale of Z needs 400 days of its volume and takes it to the model's floor price, which closes
out the rest with a shortfall above net capital. The two rules cannot be planted apart: net
capital is at least a quarter of the book (CAP-003), and with every account above the 130%
line a loss that large needs a larger price impact than equities sold within five days of
volume can have (5% stressed daily volatility x sqrt(5) = 11%: at most 24% of the debt lost),
while an instrument without any volume leaves LEV-005 nothing to read (no days to liquidate).
The cluster and the capital pair need a book of many similar clients: with fewer than 200
accounts CAP-002, CAP-003, LEV-004 and LEV-005 are left out.

Jurisdiction rules (profile ``cn``): KYC-010 (financed 90 days after onboarding), LEV-010 (a
contract of September 2023 at a 71% financing margin ratio), LEV-011 (a contract at 2.8x),
LEV-012 (a rollover contract signed for January 2026 at 2.4x), LEV-013 (a 365-day term);
(``us``): LEV-007 (a contract at 2.6x), LEV-008 (a 3,000 draw on 1,875 of equity), LEV-009 (a
pattern day trader with about 16,000 of equity); (``eu``): SEG-004 (a statement without, or
before, its acknowledgement letter), LEV-006 (a retail crypto financing at 2.5x), LEV-014 (the
S3 retail account at about 15x and below zero), CLR-006 (the recourse record for its negative
balance). The book opens at up to 3x (retail) and 5x (professional), so LEV-007 (2x) and
LEV-011 (2.25x) also find most other contracts; the other jurisdiction rules find only their
plants.

Traps (clean, must not be flagged): a liquidation at exactly 130%; a liquidation with
negative equity and its recourse record; daily re-issued margin calls less than the notice
period before a liquidation (the rule must look back to an older call); interest whose schedule
is exactly half a cent, rounded half up; a commission of exactly x.xx5 (18,350 x 0.03%),
rounded half up; a professional financing at 4.5x and retail ones at exactly 3.0x; a retail
snapshot at exactly 3.0x; an account with debt and no positions; a position exactly 70% of its
account's assets at a ratio between 180% and 240%; securities re-pledged at exactly 140% of the
debt; screening hits resolved before (or on the day of) the first financing; verification,
disclosure, screening and PEP approval on the day of the first financing; a risk assessment
exactly 730 days old; a high-risk client reviewed exactly 365 days ago; platform-own inflows
(compensation); custody balances exactly equal to client money; liquid assets exactly at the
buffer; an audit report exactly 400 days old (the latest one without ``plant_table_level``);
a qualified opinion out of CLR-005's scope; for the jurisdiction rules, a risk-warning loss
share calculated at the last quarter end (91 days before the as-of date, inside CON-009's 92), financing exactly 180
days after onboarding, a 184-day term and a pattern day trader with enough equity.

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
MIN_ACCOUNTS_ALL = 200  # smaller exports leave out CAP-002, CAP-003, LEV-004 and LEV-005
# Rules no seed audit runs, by the profile that enables them (rules/profiles/*.yaml).
PROFILE_OF = {"KYC-010": "cn", "LEV-010": "cn", "LEV-011": "cn", "LEV-012": "cn", "LEV-013": "cn",
              "LEV-007": "us", "LEV-008": "us", "LEV-009": "us",
              "SEG-004": "eu", "LEV-006": "eu", "LEV-014": "eu", "CLR-006": "eu", "CON-009": "eu"}
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


def _floor_to(x: float, step: int) -> int:
    return int(x // step) * step


def _severe_scenario() -> tuple[str, dict[str, float]]:
    """Name and shocks of the scenario marked severe in rules/scenarios (what LEV-004/005 read)."""
    import yaml

    # NOTE: the folder of audit.stress.SCENARIOS_DIR; importing audit.stress costs pydantic.
    scenarios = Path(__file__).resolve().parent.parent / "rules" / "scenarios"
    for path in sorted(scenarios.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec.get("severe"):
            return spec["name"], dict(spec.get("shocks") or {})
    raise RuntimeError("no severe scenario in rules/scenarios")


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
    def __init__(self, accounts: int, seed: int, days: int, plant: bool, plant_table_level: bool,
                 audit_overdue: bool):
        self.N, self.seed, self.T = accounts, seed, days
        self.plant = plant
        self.plant_table = plant and plant_table_level
        self.audit_overdue = self.plant_table and audit_overdue
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
        # S3's two limit-down days x3, x3 + 1 and the liquidation on x3 + 2 want three consecutive
        # calendar days: the margin call of x3 is then 40 h old at the liquidation, which is
        # within 72 h of both snapshots below the liquidation line.
        want3 = int(round(0.75 * (T - 1)))
        cand3 = [i for i in range(0, T - 2) if self.dnum[i + 2] - self.dnum[i] == 2]
        self.x3 = min(cand3, key=lambda i: (i == 0, abs(i - want3), i)) if cand3 else None
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
        self.n_generic = len(codes)
        # Scripted: three Beijing Stock Exchange stocks (the -30% day), three SH V-dip stocks,
        # three more BSE stocks (two limit-down days in a row) and one thinly traded SH stock.
        bse = 920000 + r.choice(1000, 6, replace=False)
        codes += [f"{c:06d}" for c in bse[:3]] + [f"{c:06d}" for c in sh[boards[0]:boards[0] + 3]]
        codes += [f"{c:06d}" for c in bse[3:]] + [f"{sh[boards[0] + 3]:06d}"]
        cls += ["equity"] * 10
        exch += ["BSE"] * 3 + ["SSE"] * 3 + ["BSE"] * 3 + ["SSE"]
        limit += [0.30] * 3 + [0.10] * 3 + [0.30] * 3 + [0.10]
        g = self.n_generic
        self.S1 = np.arange(g, g + 3)
        self.S2 = np.arange(g + 3, g + 6)
        self.S3 = np.arange(g + 6, g + 9)
        self.Z = g + 9
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
        x3 = self.x3  # S3: two limit-down days in a row (x3, x3 + 1), flat before and after
        for i, base in zip(self.S3, (15.6, 8.8, 22.4)):
            path = base * (1 + r.uniform(-0.003, 0.003, T + 1))
            if x3 is not None:
                path[x3 + 1] = path[x3] * 0.70
                path[x3 + 2] = path[x3 + 1] * 0.70
                path[x3 + 3:] = path[x3 + 2] * (1 + r.uniform(-0.003, 0.003, T - x3 - 2))
            pm[i] = np.round(path * 100).astype(np.int64) * 10
        path = 14.2 * (1 + r.uniform(-0.003, 0.003, T + 1))  # Z: flat, thinly traded
        pm[self.Z] = np.round(path * 100).astype(np.int64) * 10
        self.pm = pm  # pm[:, t + 1] is the close of window day t

    # ------------------------------------------------------------------------------ roles

    def roles(self) -> None:
        k, N = self.k, self.N
        one = 1 if self.plant else 0
        # The capital pair (CAP-002 apart from CAP-003) and the illiquid cluster of the stress
        # rules need a book of many similar clients: at least 200 accounts. Smaller exports
        # leave them out, and plant one violation of each rule the larger packs added.
        self.scale = self.plant and N >= MIN_ACCOUNTS_ALL
        p = k if self.plant else 0  # per-row plants per rule
        p2 = k if self.scale else one
        # Heavy roles: scripted economics (positions, cash, debt or the day's process).
        heavy: list[tuple[str, int]] = [
            ("t1_exact130", 1), ("t2_recourse", 1), ("clr001", p), ("con001", p), ("con002", p),
            ("clr002", p), ("con003", p), ("lev002", p), ("t3_lev3", 1), ("debt_nopos", 1),
            ("kyc001", p), ("kyc002", p), ("kyc003", p), ("kyc004", p), ("kyc_hit_ok", 2),
            ("kyc_hit_nofin", 1), ("kyc_same_day", 1), ("lev001", p), ("lev001_pro45", 1),
            ("con004", p), ("half", 2), ("seg002", p), ("pown_pos", 2),
            ("con008", p2), ("lev003", p2), ("cap002", int(self.scale)), ("lev009", one), ("wipe", one),
            ("t4_conc", 1),
        ]
        if self.plant and self.x3 is None:
            raise ValueError(f"days={self.T}: no three consecutive calendar days among the trading "
                             "days for the negative-balance story; use more days")
        # The illiquid cluster behind the stress plants (LEV-004, LEV-005): enough accounts that
        # none of them is a large client (CAP-002) while together they are a large part of the book.
        self.n_cluster = max(45, N // 100) if self.plant_table and self.scale else 0
        heavy.append(("cluster", self.n_cluster))
        # Light roles: a generic account whose own records carry one planted field (or a trap).
        light: list[tuple[str, int]] = [
            ("kyc005", p2), ("kyc006", max(p2, 3 * int(self.scale))), ("kyc007", p2), ("kyc008", p2),
            ("kyc009", p2), ("seg003", p2), ("con006", p2), ("con007", p2), ("ofx001", p2),
            ("ofx002", p2), ("ofx003", p2),
            ("kyc010", one), ("lev006", one), ("lev007", one), ("lev008", one), ("lev010", one),
            ("lev011", one), ("lev012", one), ("lev013", one),
            ("tr_assess730", 1), ("tr_review_exact", 1), ("tr_pep_sameday", 1),
            ("tr_screen_sameday", 1), ("tr_onboard180", 1), ("tr_pledge_exact", 1),
            ("tr_com_half", 1), ("tr_pdt_ok", 1), ("tr_term184", 1),
        ]
        n_heavy = sum(n for _, n in heavy)
        total = n_heavy + sum(n for _, n in light)
        if n_heavy > 0.56 * N or total > N - 5:
            raise ValueError(f"accounts={N} is too small for {total} scripted accounts "
                             f"({n_heavy} with scripted balances); use at least "
                             f"{max(math.ceil(n_heavy / 0.56), total + 5)}")
        pick = self.r_plant.permutation(N)[:total]
        self.stories: list[_Story] = []
        i = 0
        self.light_roles = {r for r, _ in light}
        for role, n in heavy + light:
            for v in range(n):
                self.stories.append(_Story(role, int(pick[i]), v))
                i += 1
        self.by_role: dict[str, list[_Story]] = {r: [] for r, _ in heavy + light}
        for s in self.stories:
            self.by_role[s.role].append(s)
        self.heavy = np.zeros(N, dtype=bool)
        self.light = np.zeros(N, dtype=bool)
        for s in self.stories:
            (self.light if s.role in self.light_roles else self.heavy)[s.account] = True
        self.role_of = {s.account: s for s in self.stories}
        self.scripted = np.zeros(N, dtype=bool)  # excluded from random flows
        for s in self.stories:
            if s.role not in self.light_roles and s.role not in (
                    "kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_same_day", "lev001",
                    "lev001_pro45", "pown_pos"):
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
        # Light roles keep generic economics, but every one of them borrows (its records are
        # financings and snapshots with debt), and those whose leverage is set are retail.
        financed |= self.light
        for s in self.stories:
            if s.role in ("lev006", "lev007", "lev008", "lev010", "lev011", "lev012"):
                pro[s.account] = False
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
                      "kyc_same_day", "lev001", "lev001_pro45", "con004", "half", "seg002", "pown_pos",
                      "lev009")
        for s in self.stories:
            a = s.account
            if s.role in self.light_roles:
                if s.role == "tr_pdt_ok":
                    E0[a] = max(E0[a], 100e3)
                if s.role in ("seg003", "tr_pledge_exact"):  # holdings worth 2.7 times the debt
                    L[a], kappa[a] = 1.5, 0.05
            elif s.role in calm_roles:
                pro[a] = s.role in ("lev001_pro45",) or (s.role == "lev001" and s.variant % 3 == 1)
                financed[a] = not (s.role in ("seg002", "kyc_hit_nofin")
                                   or (s.role == "kyc003" and s.variant == 2))
                L[a] = r.uniform(1.2, 1.5) if financed[a] else 0.6
                kappa[a] = 0.08 if financed[a] else 0.4
                E0[a] = r.uniform(150e3, 400e3) if s.role != "lev009" else 16e3
                n_pos[a] = 4
                id_type[a] = 0
                if s.role == "kyc004":
                    id_type[a] = (0, 2, 3, 0)[s.variant % 4]
            elif s.role in ("t3_lev3", "debt_nopos", "lev002", "lev003", "wipe", "t4_conc"):
                pro[a], financed[a], id_type[a] = False, True, 0
            elif s.role == "cluster":
                pro[a], financed[a] = False, True
            else:  # S1 / S2 stories: professional, financed
                pro[a], financed[a], id_type[a] = True, True, 0
        self.id_type, self.pro, self.financed = id_type, pro, financed
        self.responder = r.random(N) < 0.4  # answers a margin call by topping up the next morning
        self.cap = np.where(pro, DISCLOSURE["leverage_cap_professional"], DISCLOSURE["leverage_cap_retail"])
        # Generic positions (scripted accounts get theirs below).
        s1_roles = ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "cap002")
        s2_roles = ("con003", "lev002", "con008")
        own_slots = s1_roles + s2_roles + ("lev003", "t3_lev3", "debt_nopos", "t4_conc", "wipe", "cluster")
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
        bonds = np.nonzero(self.inst_class == "bond")[0][:3]
        self.bonds = bonds
        extra_acc, extra_inst = [], []
        for s in self.stories:
            if s.role in s1_roles:
                slots = list(self.S1)
            elif s.role in s2_roles:
                slots = list(self.S2)
            elif s.role == "lev003":
                slots = [self.S2[s.variant % 3], bonds[0], bonds[1]]
            elif s.role == "t3_lev3":
                slots = list(np.nonzero(np.isin(self.inst_class, ("bond", "etf")))[0][:3])
            elif s.role == "t4_conc":
                slots = list(bonds)
            elif s.role == "wipe":
                slots = list(self.S3)
            elif s.role == "cluster":
                slots = [self.Z, self.S2[0], self.S2[1]] if s.variant < 2 else [self.Z]
            else:
                continue
            extra_acc += [s.account] * len(slots)
            extra_inst += [int(x) for x in slots]
        keep = ~np.isin(pos_acc, np.array(extra_acc, dtype=np.int64))
        pos_acc = np.concatenate([pos_acc[keep], np.array(extra_acc, dtype=np.int64)])
        pos_inst = np.concatenate([pos_inst[keep], np.array(extra_inst, dtype=np.int64)])
        order = np.lexsort((pos_inst, pos_acc))
        self.pos_acc, self.pos_inst = pos_acc[order], pos_inst[order]
        P = len(self.pos_acc)
        # Quantities from near-equal weights (diversified, so concentration limits hold).
        w = 1.0 + 0.6 * r.random(P)
        w /= np.bincount(self.pos_acc, weights=w, minlength=N)[self.pos_acc]
        p_prev = self.pm[self.pos_inst, 0]
        lot_cents = p_prev * self.lot[self.pos_inst] / 10

        def size(E0):
            target = (L * E0)[self.pos_acc] * w * 100  # cents
            q = np.maximum(np.round(target / lot_cents), 1).astype(np.int64) * self.lot[self.pos_inst]
            mv = (q * p_prev + 5) // 10
            MV = np.bincount(self.pos_acc, weights=mv, minlength=N).astype(np.int64)
            E = MV / L
            cash = np.round(kappa * E).astype(np.int64)
            D = np.where(financed, np.maximum(_ceil_to(np.round(MV + cash - E).astype(np.int64), 10_000), 1_000_000), 0)
            return q, MV, cash, D

        q, MV, cash, D = size(E0)
        # With plants, the platform has a per-client credit limit: no generic client owes more
        # than 0.7% of the generic book, so a day on which net capital is below a quarter of the
        # book still covers every client twenty times (CAP-003 planted apart from CAP-002).
        gen_acc = financed.copy()
        for s in self.stories:
            if s.role in own_slots or s.role == "cap002":  # sized from their stories below
                gen_acc[s.account] = False
        self.ell = 1e15  # no limit (cents)
        if self.scale:
            # The limit solves limit = c * sum(min(debt, limit)): a 95th of the book, which with
            # the illiquid cluster is 1.6 times the rest.
            Dg = D[gen_acc].astype(np.float64)
            c = (1.6 if self.plant_table else 1.0) / 95
            if c * len(Dg) < 1.1:
                raise ValueError(f"accounts={N} is too few for the capital plants (no client may owe "
                                 f"more than {c:.2%} of the book); use more accounts")
            lo, hi = 1.0, float(Dg.max())
            if c * Dg.sum() >= hi:
                lo = hi
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if c * np.minimum(Dg, mid).sum() >= mid else (lo, mid)
            ell = lo
            for _ in range(5):
                big = gen_acc & (D > ell)
                if not big.any():
                    break
                E0 = np.where(big, E0 * 0.98 * ell / np.maximum(D, 1), E0)
                q, MV, cash, D = size(E0)
            self.ell = ell
        self.E0 = E0
        self.q = q
        E = MV / L
        cash = np.where(financed, cash, np.maximum(cash, 100_00))
        self.cash0, self.D0 = cash, D.astype(np.int64)
        self._scripted_states()
        # Sanity: every generic starting state is inside the caps and above the liquidation line.
        MV = np.bincount(self.pos_acc, weights=(self.q * p_prev + 5) // 10, minlength=N).astype(np.int64)
        E_act = self.cash0 + MV - self.D0
        lev = np.where(E_act > 0, MV / np.maximum(E_act, 1), np.inf)
        bad = self.financed & ~self.scripted & ((lev > 0.97 * self.cap) | (E_act <= 0))
        if bad.any():  # rare tiny accounts: give them more own money
            self.cash0[bad] += _ceil_to(np.round(MV[bad] / (0.8 * self.cap[bad]) - E_act[bad]).astype(np.int64), 10_000)

    def _sl(self, account: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.pos_acc, [account, account + 1])
        return np.arange(lo, hi)

    def _pos_path(self, account: int) -> np.ndarray:
        """Value (cents) of each of an account's positions at each window close: (positions, T)."""
        sl = self._sl(account)
        return (self.q[sl, None] * self.pm[self.pos_inst[sl], 1:] + 5) // 10

    def _mv_path(self, account: int) -> np.ndarray:
        """Market value (cents) of an account's fixed holdings at each window close."""
        return self._pos_path(account).sum(axis=0)

    def _set_qty(self, account: int, value_cents: float) -> None:
        sl = self._sl(account)
        p = self.pm[self.pos_inst[sl], self.c0]  # close of day c0-1
        each = value_cents / len(sl)
        self.q[sl] = np.maximum(np.round(each * 10 / (p * 100)), 1).astype(np.int64) * 100

    def _set_values(self, account: int, values: dict[int, float], col: int) -> None:
        """Whole lots worth about ``values[instrument]`` cents each at price column ``col``."""
        sl = self._sl(account)
        inst = self.pos_inst[sl]
        p, lots = self.pm[inst, col], self.lot[inst]
        want = np.array([values[int(k)] for k in inst])
        self.q[sl] = np.maximum(np.round(want * 10 / (p * lots)), 1).astype(np.int64) * lots

    def _cash_path(self, cash: int, debt: int) -> np.ndarray:
        """Cash at each snapshot of a scripted account whose only flows are month-end interest
        on one draw of ``debt`` opened before the window (as the simulation charges it)."""
        out, last = np.empty(self.T, dtype=np.int64), self.prev_charge
        for t in range(self.T):
            if self.month_end[t]:
                due = int(_interest_cents(debt, int(self.dnum[t]) - last))
                last = int(self.dnum[t])
                if due > cash:
                    cash += int(_ceil_to(np.array([due - cash]), 10_000)[0])
                cash -= due
            out[t] = cash
        return out

    def _story_check(self, ok: bool, what: str) -> None:
        if not ok:
            raise RuntimeError(f"scripted story {what} does not hold for seed {self.seed}, "
                               f"{self.N} accounts, {self.T} days")

    def _scripted_states(self) -> None:
        """Initial cash and debt of the scripted accounts, solved from their price paths."""
        c0, dv, T = self.c0, self.dv, self.T
        me_days = [t for t in range(self.T) if self.month_end[t]]
        rm, ell = self.r_misc, self.ell
        s1_ratio = {"t2_recourse": (1.66,), "clr001": (1.50, 1.52), "con001": (1.60, 1.62),
                    "clr002": (1.63, 1.67)}

        def ceil_div(x: float, step: int) -> int:
            return int(_ceil_to(np.array([int(math.ceil(x))]), step)[0])

        for s in self.stories:
            a, role = s.account, s.role
            if role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002"):
                self._set_qty(a, min(rm.uniform(1.2e6, 3e6) * 100, rm.uniform(1.0, 2.0) * ell))
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
                self._set_qty(a, min(rm.uniform(0.6e6, 1.5e6) * 100, rm.uniform(0.6, 1.2) * ell))
                mv = self._mv_path(a)
                ratio = (1.47, 1.455, 1.465, 1.46, 1.45)[s.variant % 5]
                cash = int(round(mv[dv] * 0.01))
                D = int(round((cash + mv[dv]) / ratio / 100)) * 100
                self.cash0[a], self.D0[a] = cash, D
                s.params = {"day": dv}
            elif role == "con008":
                # In call every day (about 137%), 128.5% on the dip day: at the liquidation line,
                # and the platform neither liquidates nor tops up (CON-008).
                v = min(rm.uniform(0.6e6, 1.5e6) * 100, rm.uniform(0.6, 1.2) * ell)
                self._set_values(a, {int(i): v / 3 for i in self.S2}, dv)
                mv = self._mv_path(a)
                cash = int(round(mv[dv] * 0.01))
                D = ceil_div((cash + mv[dv]) / 1.285, 100)
                cp = self._cash_path(cash, D)
                R, E = (cp + mv) / D, cp + mv - D
                others = np.arange(T) != dv
                self._story_check(R[dv] <= 1.3 - 1e-4 and (R[others] > 1.3 + 2e-3).all()
                                  and (E > 0).all() and (mv / E <= 5 - 0.05).all(), "CON-008")
                self.cash0[a], self.D0[a] = cash, D
                s.params = {"day": dv}
            elif role == "lev003":
                # 60% of its assets in one V-dip stock at about 186%: the dip takes the ratio
                # below 180%, where one position may be at most half the assets (LEV-003).
                A = min(rm.uniform(0.8e6, 1.6e6) * 100, rm.uniform(0.6, 1.1) * ell)
                big = int(self.S2[s.variant % 3])
                self._set_values(a, {big: 0.6 * A, int(self.bonds[0]): 0.195 * A,
                                     int(self.bonds[1]): 0.195 * A}, dv)
                pp = self._pos_path(a)
                mv = pp.sum(axis=0)
                row = list(self.pos_inst[self._sl(a)]).index(big)
                cash = int(round(0.01 * A))
                D = ceil_div((cash + mv[dv]) / 1.79, 100)
                cp = self._cash_path(cash, D)
                R, E = (cp + mv) / D, cp + mv - D
                share = pp[row] / (cp + mv)
                others = np.arange(T) != dv
                self._story_check(
                    R[dv] < 1.8 - 1e-3 and R[dv] > 1.5 + 0.01 and share[dv] > 0.5 + 0.01
                    and (R[others] >= 1.8 + 2e-3).all() and (share[others] <= 0.7 - 0.01).all()
                    and (E > 0).all() and (mv / E <= 3 - 0.05).all(), "LEV-003")
                self.cash0[a], self.D0[a] = cash, D
                s.params = {"day": dv, "inst": big}
            elif role == "wipe":
                # Retail, just inside the 3x cap (153%), then two limit-down days: 107% (about
                # 15x) and below zero; liquidated on the third day with negative equity, and the
                # platform pursues the retail client for it.
                x3 = self.x3
                v = min(rm.uniform(0.3e6, 0.8e6) * 100, rm.uniform(0.5, 1.0) * ell)
                self._set_values(a, {int(i): v / 3 for i in self.S3}, x3)
                mv = self._mv_path(a)
                pre = int(((self.q[self._sl(a)] * self.pm[self.pos_inst[self._sl(a)], x3] + 5) // 10).sum())
                cash = int(round(pre * 0.01))
                D = ceil_div((cash + pre) / 1.53, 100)
                cp = self._cash_path(cash, D)
                R, E = (cp + mv) / D, cp + mv - D
                before = np.arange(T) < x3
                self._story_check(
                    (R[before] > 1.5 + 3e-3).all() and (E[before] > 0).all()
                    and (mv[before] / np.maximum(E[before], 1) <= 3 - 0.02).all()
                    and R[x3] <= 1.3 and E[x3] <= 0.1 * mv[x3] and E[x3 + 1] < 0, "negative balance")
                self.cash0[a], self.D0[a] = cash, D
                s.params = {"days": (x3, x3 + 1)}
            elif role == "t3_lev3":
                sl = self._sl(a)
                p = self.pm[self.pos_inst[sl], 1]
                lots = self.lot[self.pos_inst[sl]]
                each = min(80_000_00, 0.35 * ell)
                base_q = np.maximum(np.round(each * 10 / (p * lots)), 1).astype(np.int64) * lots
                for extra in itertools.product(range(3), repeat=len(sl)):  # day-0 value divisible by 3
                    self.q[sl] = base_q + np.array(extra) * lots
                    mv0 = int(((self.q[sl] * p + 5) // 10).sum())
                    if mv0 % 3 == 0:
                        break
                E = -(-mv0 // 3)  # leverage exactly 3 when mv0 divides by 3, a hair below otherwise
                cash = int(mv0 * 0.01)
                self.cash0[a], self.D0[a] = cash, cash + mv0 - E
            elif role == "t4_conc":
                # One bond exactly 70% of the assets at a collateral ratio of about 200%: exactly
                # the concentration limit for 180-240%, on the first snapshot.
                sl = self._sl(a)
                inst = self.pos_inst[sl]
                p, lots = self.pm[inst, 1], self.lot[inst]
                A = min(2e7, 0.5 * ell)
                self._set_values(a, {int(inst[0]): 0.7 * A, int(inst[1]): 0.1 * A, int(inst[2]): 0.1 * A}, 1)
                for _ in range(100):
                    vals = (self.q[sl] * p + 5) // 10
                    if vals[0] % 7 == 0:
                        break
                    self.q[sl[0]] += lots[0]
                self._story_check(vals[0] % 7 == 0, "concentration exactly at the limit")
                assets = int(vals[0]) * 10 // 7
                cash = assets - int(vals.sum())
                D = int(_ceil_to(np.array([assets // 2]), 10_000)[0])
                due = int(_interest_cents(D, int(self.dnum[0]) - self.prev_charge)) if self.month_end[0] else 0
                self._story_check(cash > 0, "concentration exactly at the limit (cash)")
                self.cash0[a], self.D0[a] = cash + due, D
                s.params = {"day": 0, "inst": int(inst[0])}
            elif role == "debt_nopos":
                self.D0[a] = int(min(5_000_000, _floor_to(0.5 * ell, 10_000)))
                self.cash0[a] = 26 * self.D0[a] // 10
        for s in self.by_role["half"]:
            s.params = {"half": True}
        self._cluster_states()
        self._whale_state()

    def _cluster_states(self) -> None:
        """The illiquid cluster (with ``plant_table_level``): accounts whose financing sits in one
        thinly traded stock Z, sized so that the severe scenario's spiral shortfall exceeds net
        capital (LEV-004) while net capital still covers a quarter of the book (CAP-003) and
        twenty times any one client (CAP-002). Two of them, at 162% with Z under half their
        assets, are closed out by the severe shock alone and start Z's fall."""
        stories = self.by_role["cluster"]
        if not stories:
            return
        dies = {"t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "wipe", "cap002"}
        gone = np.zeros(self.N, dtype=bool)
        for s in self.stories:
            if s.role in dies or s.role == "cluster":
                gone[s.account] = True
        alive_book = int(self.D0[~gone].sum())
        d = 0.6 * alive_book / len(stories)
        Z, s2a, s2b = int(self.Z), int(self.S2[0]), int(self.S2[1])
        for s in stories:
            a = s.account
            trigger = s.variant < 2
            A = (1.62 if trigger else 2.6) * d
            vals = {Z: 0.45 * A, s2a: 0.27 * A, s2b: 0.27 * A} if trigger else {Z: 0.99 * A}
            self._set_values(a, vals, 1)
            pp = self._pos_path(a)
            mv = pp.sum(axis=0)
            cash = int(round(0.01 * A))
            D = int(_ceil_to(np.array([int((cash + mv[0]) / (1.62 if trigger else 2.6))]), 10_000)[0])
            cp = self._cash_path(cash, D)
            R, E = (cp + mv) / D, cp + mv - D
            if trigger:
                share = pp / (cp + mv)
                ok = ((R > 1.5 + 0.01) & (R < 1.8 - 0.01)).all() and (share <= 0.5 - 0.01).all()
            else:
                ok = (R >= 2.4 + 0.02).all()
            self._story_check(ok and (E > 0).all() and (mv / E <= 3 - 0.05).all(), "illiquid cluster")
            self.cash0[a], self.D0[a] = cash, D

    def _whale_state(self) -> None:
        """CAP-002: one professional client financed far above everyone else (a fortieth of the
        book or 1.6 times the next client), in the S1 stocks: closed out in the crash (with a
        recourse record for its negative balance), so net capital can dip below twenty times
        its debt on a day before the crash without any other rule noticing."""
        for s in self.by_role["cap002"]:
            a = s.account
            others = self.D0.copy()
            others[a] = 0
            target = max(1.6 * int(others.max()), 0.025 * int(others.sum()))
            self._set_qty(a, target * 1.66 / 1.01)
            mv = self._mv_path(a)
            pre = mv[self.c0 - 1]
            cash = int(round(pre * 0.01))
            self.cash0[a] = cash
            self.D0[a] = int(_ceil_to(np.array([round((cash + pre) / 1.66)]), 10_000)[0])

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
            if s.role not in self.light_roles and s.role not in (
                    "kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_same_day", "lev001",
                    "lev001_pro45", "pown_pos"):
                early[s.account] = True
        two &= ~forced_one[fin_acc]
        # A second draw only on debts of 50,000 or more, so every draw carries at least 2,000 of
        # the client's own equity (the US minimum of LEV-008 holds but for its plant).
        two &= self.D0[fin_acc] >= 5_000_000
        lev008 = np.array([s.account for s in self.by_role["lev008"]], dtype=np.int64)
        two |= np.isin(fin_acc, lev008)
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
        amt_second = np.where(second & np.isin(f_acc, lev008), 300_000, amt_second)  # a 3,000 draw
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
        # LEV-010 (cn): a contract opened in September 2023, under the 100% financing margin
        # ratio, and rolled over since.
        old_day = _dnum(date(2023, 9, 5))
        for s in self.by_role["lev010"]:
            j = int(np.nonzero((f_acc == s.account) & ~second)[0][0])
            open_day[j] = old_day
            open_sec[j] = old_day * DAY + 10 * HOUR + 12 * 60
        # Leverage at open: mostly continuous, some at the 1:N multiples; capped by category.
        # With the table-level plants most contracts open at a whole multiple of 3x or more
        # (OFX-004, the 配资 hallmark of a fixed multiple).
        n = len(f_acc)
        pro = self.pro[f_acc]
        lev = np.where(pro, np.round(r.uniform(1.5, 4.9, n), 2), np.round(r.uniform(1.3, 2.95, n), 2))
        fixed = r.random(n) < (0.7 if self.plant_table else 0.25)
        pro_mult = r.choice([3.0, 4.0, 5.0] if self.plant_table else [3.0, 4.0, 4.5, 5.0], n)
        ret_mult = np.full(n, 3.0) if self.plant_table else r.choice([2.0, 2.5, 3.0], n)
        lev = np.where(fixed & pro, pro_mult, lev)
        lev = np.where(fixed & ~pro, ret_mult, lev)
        self.fin_acc, self.fin_amount, self.fin_open_sec = f_acc, amount.astype(np.int64), open_sec
        self.fin_open_day = open_day
        self.fin_lev = lev
        rank = np.empty(n, dtype=np.int64)  # ids in order of opening
        rank[np.lexsort((f_acc, open_sec))] = np.arange(1, n + 1)
        self.fin_id = [f"F{i:06d}" for i in rank]
        self.first_fin_row = np.full(N, -1, dtype=np.int64)
        idx_first = np.nonzero(~second)[0]
        self.first_fin_row[f_acc[idx_first]] = idx_first
        # Contract terms (realistic variety; the rules only look at the planted ones).
        self.fin_rate = np.full(n, DISCLOSURE["interest_rate_annual"])
        self.fin_term = r.choice(np.array([180, 90, 182, -1]), n, p=[0.75, 0.1, 0.1, 0.05])
        self.fin_product = np.where(r.random(n) < 0.1, 3, 4)  # R3 / R4
        self.fin_under = r.choice(np.array(["equity", "etf", "gold", "bond"]), n, p=[0.86, 0.09, 0.03, 0.02])
        self.fin_holder = f_acc.copy()  # account holder (client index)
        self.fin_pwd = np.zeros(n, dtype=bool)
        lines = r.random(n) >= 0.3  # contract repeats the published lines, or leaves them out
        self.fin_warn = np.where(lines, DISCLOSURE["margin_call_ratio"], np.nan)
        self.fin_liqline = np.where(lines, DISCLOSURE["liquidation_ratio"], np.nan)
        fid = self.fin_id

        def first(role):
            for s in self.by_role[role]:
                yield s, int(self.first_fin_row[s.account])

        # Plants and traps on financings.
        for s, j in first("lev001"):
            self.fin_lev[j] = (4.0, 6.0, 3.5, 4.2, 7.0)[s.variant % 5]
            self._violation("LEV-001", "financings", {"financing_id": fid[j]},
                            "leverage at open above the cap for the client's category")
        for s, j in first("lev001_pro45"):
            self.fin_lev[j] = 4.5
        for s, j in first("t3_lev3"):
            self.fin_lev[j] = 3.0
        for s, j in first("kyc005"):
            if s.variant % 2:
                self.fin_product[j] = 5
                note = "R5 product sold to a C4 client"
            else:
                self.fin_product[j] = 4
                note = "R4 product sold to a C3 client"
            self._violation("KYC-005", "financings", {"financing_id": fid[j]}, note)
        for s, j in first("con007"):
            self.fin_rate[j] = (0.0965, 0.10)[s.variant % 2]
            self._violation("CON-007", "financings", {"financing_id": fid[j]},
                            f"contract rate {self.fin_rate[j]:.2%} above the published 8.65% "
                            "(billed at the published rate)")
        for s, j in first("ofx001"):
            self.fin_holder[j] = (s.account + 1 + s.variant) % N
            self._violation("OFX-001", "financings", {"financing_id": fid[j]},
                            "trading account held in another client's name")
        for s, j in first("ofx002"):
            self.fin_pwd[j] = True
            self._violation("OFX-002", "financings", {"financing_id": fid[j]},
                            "the funder holds the client's trading password")
        for s, j in first("ofx003"):
            if s.variant % 2:
                self.fin_liqline[j], self.fin_warn[j] = 1.1, DISCLOSURE["margin_call_ratio"]
                note = "contract liquidation line 110% instead of the published 130%"
            else:
                self.fin_warn[j], self.fin_liqline[j] = 1.4, DISCLOSURE["liquidation_ratio"]
                note = "contract warning line 140% instead of the published 150%"
            self._violation("OFX-003", "financings", {"financing_id": fid[j]}, note)
        for s, j in first("lev006"):
            self.fin_lev[j], self.fin_under[j] = 2.5, "crypto"
            self._violation("LEV-006", "financings", {"financing_id": fid[j]},
                            "retail financing on a crypto underlying at 2.5x (ESMA cap 2:1)")
        for s, j in first("lev007"):
            self.fin_lev[j] = 2.6
            self._violation("LEV-007", "financings", {"financing_id": fid[j]},
                            "opened at 2.6x: initial margin 38%, below Regulation T's 50%")
        for s in self.by_role["lev008"]:
            j = int(np.nonzero((f_acc == s.account) & second)[0][0])
            self.fin_lev[j] = 2.6
            self._violation("LEV-008", "financings", {"financing_id": fid[j]},
                            "a 3,000 draw on 1,875 of own equity, below FINRA's 2,000 minimum")
        for s, j in first("lev010"):
            self.fin_lev[j] = 2.4
            self._violation("LEV-010", "financings", {"financing_id": fid[j]},
                            "opened on 5 Sep 2023 at a financing margin ratio of 71% (100% required)")
        for s, j in first("lev011"):
            self.fin_lev[j] = 2.8
            self._violation("LEV-011", "financings", {"financing_id": fid[j]},
                            "opened at a financing margin ratio of 56% (80% required)")
        for s, j in first("lev013"):
            self.fin_term[j] = 365
            self._violation("LEV-013", "financings", {"financing_id": fid[j]},
                            "financing term of 365 days (at most six months)")
        for s, j in first("tr_term184"):
            self.fin_term[j] = 184  # trap: exactly the longest term
        self.fin_equity = np.round(self.fin_amount / (self.fin_lev - 1)).astype(np.int64)
        self.fin_first_day = np.full(N, -1, dtype=np.int64)
        self.fin_first_day[f_acc[idx_first]] = open_day[idx_first]
        self.fin_first_sec = np.full(N, -1, dtype=np.int64)
        self.fin_first_sec[f_acc[idx_first]] = open_sec[idx_first]
        # LEV-012 (cn): a rollover contract signed in advance, starting 20 Jan 2026 under the
        # 100% ratio for new contracts, at 2.4x. Not yet drawn: no debt, interest or fees.
        self.future_fin = None
        for s in self.by_role["lev012"]:
            fid_new = f"F{n + 1:06d}"
            amount = 5_000_000
            self.future_fin = {"financing_id": fid_new, "acc": s.account, "amount": amount,
                               "equity": int(round(amount / 1.4)), "lev": 2.4,
                               "opened_sec": _dnum(date(2026, 1, 20)) * DAY + 9 * HOUR + 45 * 60}
            self._violation("LEV-012", "financings", {"financing_id": fid_new},
                            "rollover contract from 20 Jan 2026 at a financing margin ratio of 71% "
                            "(100% for new contracts)")

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
            if s.role in self.light_roles:
                hit[s.account], resolved[s.account] = False, -1
        not_screened = np.zeros(N, dtype=bool)

        def reonboard(a: int, day: int) -> None:
            """The relationship began on ``day``: verification, disclosure and screening follow."""
            onboarded[a], verified[a], signed[a], screened[a] = day, day + 1, day + 2, day
            assessed[a] = min(max(assessed[a], day + 3), first[a])
            last_review[a] = max(last_review[a], day + 3)
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
        for s in self.by_role["kyc005"]:
            tolerance[s.account] = 3 if s.variant % 2 else 2  # C4 (with an R5 product) / C3
        for s in self.by_role["kyc006"]:
            a, v = s.account, s.variant % 3
            if v == 0:
                assessed[a], note = first[a] + 5, "risk tolerance assessed after the first financing"
            elif v == 1:
                if onboarded[a] > as_of - 900:
                    reonboard(a, as_of - 900)
                assessed[a], note = as_of - 800, "risk tolerance assessment 800 days old (valid 730)"
            else:
                assessed[a], note = -1, "risk tolerance never assessed"
            self._violation("KYC-006", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        for s in self.by_role["kyc007"]:
            a = s.account
            if s.variant % 2 == 0:
                rating[a], last_review[a] = 2, as_of - 400
                note = "high-risk client last reviewed 400 days ago (yearly)"
            else:
                reonboard(a, as_of - 1202)
                assessed[a] = max(assessed[a], as_of - 600)
                rating[a], last_review[a] = 1, -1
                note = "medium-risk client never reviewed since verification 1,200 days ago"
            self._violation("KYC-007", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        for s in self.by_role["kyc008"]:
            a = s.account
            if s.variant % 2 == 0:
                not_screened[a], screened[a], note = True, -1, "never screened, financed"
            else:
                screened[a], note = first[a] + 2, "screened two days after the first financing"
            self._violation("KYC-008", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        for s in self.by_role["kyc009"]:
            a = s.account
            pep[a], rating[a], last_review[a] = True, 2, as_of - 50
            if s.variant % 2 == 0:
                pep_ok[a], note = -1, "politically exposed client never approved by senior management"
            else:
                pep_ok[a], note = first[a] + 7, "politically exposed client approved after the first financing"
            self._violation("KYC-009", "clients", {"client_id": f"C{a + 1:06d}"}, note)
        for s in self.by_role["kyc010"]:
            a = s.account
            reonboard(a, first[a] - 90)
            rating[a], last_review[a] = 0, as_of - 20
            self._violation("KYC-010", "clients", {"client_id": f"C{a + 1:06d}"},
                            "financed 90 days after onboarding (six months of trading required)")
        for s in self.by_role["tr_assess730"]:  # an assessment exactly 730 days old
            a = s.account
            if onboarded[a] > as_of - 760:
                reonboard(a, as_of - 760)
            assessed[a] = as_of - 730
        for s in self.by_role["tr_review_exact"]:  # a high-risk review exactly a year ago
            a = s.account
            if onboarded[a] > as_of - 400:
                reonboard(a, as_of - 400)
            rating[a], last_review[a] = 2, as_of - 365
        for s in self.by_role["tr_pep_sameday"]:  # PEP approved on the day of the first financing
            a = s.account
            pep[a], rating[a], last_review[a], pep_ok[a] = True, 2, as_of - 45, first[a]
        for s in self.by_role["tr_screen_sameday"]:  # screened on the day of the first financing
            screened[s.account] = first[s.account]
        for s in self.by_role["tr_onboard180"]:  # financed exactly 180 days after onboarding
            a = s.account
            reonboard(a, first[a] - 180)
            rating[a], last_review[a] = 0, as_of - 20
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
            "screening_result": np.where(hit, "hit", np.where(not_screened, "not_screened", "clear")),
            "screened_at": dcol(screened),
            "screening_resolved_at": dcol(resolved),
            "pep": pep,
            "risk_rating": np.array(["low", "medium", "high"])[rating],
            "last_review_at": dcol(last_review),
            "pep_approved_at": dcol(pep_ok),
        })
        return df

    # ----------------------------------------------------------------------- the simulation

    def not_planted(self) -> dict[str, str]:
        """Rules without a planted violation in this export, and why."""
        if not self.plant:
            return {"*": "plant=False: nothing planted"}
        out = {}
        if not self.plant_table:
            for rule in ("CLR-004", "CLR-005", "CON-005", "CON-009", "LEV-015", "OFX-004", "LEV-004",
                         "LEV-005"):
                out[rule] = "table-level: plant_table_level=False"
        elif not self.scale:
            for rule in ("LEV-004", "LEV-005"):
                out[rule] = f"needs at least {MIN_ACCOUNTS_ALL} accounts"
        if not self.scale:
            for rule in ("CAP-002", "CAP-003"):
                out[rule] = f"needs at least {MIN_ACCOUNTS_ALL} accounts"
        out["CLR-005" if self.audit_overdue else "CLR-003"] = (
            "CLR-003 and CLR-005 exclude each other; audit_overdue chooses CLR-003")
        if not self.plant_table:
            out["CLR-003"] = "table-level: plant_table_level=False"
        return dict(sorted(out.items()))

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
        # Days on which a story's account is left outside the limits instead of being topped up:
        # {day: {account: what it must breach}} ("lev" leverage only, "conc" concentration only,
        # "liq" the liquidation line only, "wipe" leverage and the liquidation line).
        sup: dict[int, dict[int, str]] = {}
        no_liq = np.full(N, -1)  # a day the liquidation engine skips the account (CON-008)
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
                sup.setdefault(s.params["day"], {})[a] = "lev"
            elif s.role == "lev003":
                sup.setdefault(s.params["day"], {})[a] = "conc"
            elif s.role == "con008":
                sup.setdefault(s.params["day"], {})[a] = "liq"
                no_liq[a] = s.params["day"]
            elif s.role == "wipe":
                for d in s.params["days"]:
                    sup.setdefault(d, {})[a] = "wipe"
            elif s.role == "clr001":
                ref_kind[a] = 1 if s.params["ref"] == "null" else 2
                tag_liq[a] = "clr001"
            elif s.role == "clr002":
                no_recourse[a] = True
                tag_liq[a] = "clr002"
        story_acc = np.zeros(N, dtype=bool)
        for s in self.stories:
            if s.role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002",
                          "con003", "lev002", "con008", "lev003", "wipe", "cap002", "cluster"):
                story_acc[s.account] = True
        wipe_acc = np.zeros(N, dtype=bool)
        for s_ in self.by_role["wipe"]:
            wipe_acc[s_.account] = True
        # Day trades (buy and sell the same day; positions unchanged, commission on both legs).
        # Random ones keep every generic account at three or fewer in five days; scripted ones
        # carry the commission plants and traps and the pattern day traders.
        dt_hist = np.zeros((N, 5), dtype=np.int64)  # day trades of the last five days, ring
        dt_script: dict[int, list[tuple[int, int, tuple[int, int], tuple[int, int]]]] = {}
        dt_scripted = np.zeros(N, dtype=bool)

        def script_trade(t, a, value_cents, charges=None, tags=(0, 0)):
            comm = int(_half_up_div(value_cents * 3, 10_000))
            dt_script.setdefault(t, []).append((a, value_cents, charges or (comm, comm), tags))
            dt_scripted[a] = True

        t9 = max(0, min(T - 4, T // 2 - 2))
        for s_ in self.by_role["lev009"]:
            for d in range(t9, t9 + 4):
                script_trade(d, s_.account, 800_000)
        for s_ in self.by_role["tr_pdt_ok"]:
            for d in range(t9, t9 + 4):
                script_trade(d, s_.account, 3_000_000)
        for s_ in self.by_role["tr_com_half"]:
            script_trade((3 + s_.variant) % T, s_.account, 1_835_000)  # 18,350 x 0.03% = 5.505
        for s_ in self.by_role["con006"]:
            d = (1 + 2 * s_.variant) % T
            if s_.variant % 2 == 0:
                value = 4_236_700
                script_trade(d, s_.account, value, (int(_half_up_div(value * 5, 10_000)),
                                                   int(_half_up_div(value * 3, 10_000))), (8, 0))
                s_.params = {"note": "commission at 0.05% instead of the published 0.03%"}
            else:
                script_trade(d, s_.account, 300_000, (500, 90), (8, 0))
                s_.params = {"note": "a minimum commission of 5.00 the published schedule does not have"}
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
        self.planted_acc_days: list[tuple[str, int, int, int | None]] = []

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
        self.TAG_RULE = {1: "CON-001", 2: "CON-002", 3: "CLR-001", 4: "CLR-002", 7: "CLR-006"}

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
            gen &= no_liq != t  # the CON-008 story: the engine skips the account today
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
                               ids[rec], np.where(wipe_acc[ra], 7, 0).astype(np.int8))
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
            # Day trades: random ones for generic accounts (at most three in five days), then
            # the scripted ones.
            u_dt = self.r_day.random(N)
            v_dt = self.r_day.uniform(0.1, 0.6, N)
            slot = t % 5
            recent = dt_hist.sum(axis=1) - dt_hist[:, slot]
            dt_hist[:, slot] = 0
            value = np.maximum(np.round(E_scale * v_dt), 1_000).astype(np.int64) * 100
            comm = _half_up_div(value * 3, 10_000)
            dti = np.nonzero(free & ~liq & ~dt_scripted & (u_dt < 0.03) & (recent <= 2) & (cash >= 2 * comm))[0]
            for _leg in range(2):
                add_fee(day, dti, np.full(len(dti), -1), 1, value[dti], DISCLOSURE["commission_rate"], -1, comm[dti])
                add_ledger(day, dti, -comm[dti], CP_FEE, T_COMMISSION)
            cash[dti] -= 2 * comm[dti]
            dt_hist[dti, slot] += 1
            for a, val, charges, tags in dt_script.get(t, []):
                if not alive[a] or cash[a] < sum(charges):
                    raise RuntimeError("a scripted day trade has no live account or cash")
                for ch, tg in zip(charges, tags):
                    add_fee(day, [a], [-1], 1, [val], DISCLOSURE["commission_rate"], -1, [ch], [tg])
                    add_ledger(day, [a], [-ch], CP_FEE, T_COMMISSION)
                    cash[a] -= ch
                dt_hist[a, slot] += 1
            dt_count = dt_hist.sum(axis=1)

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
                    today = sup.get(t, {})
                    for a, kind in today.items():
                        want = {"lev": lev_bad[a] and not r_bad[a] and not c_bad[a],
                                "conc": c_bad[a] and not lev_bad[a] and not r_bad[a],
                                "liq": r_bad[a] and not lev_bad[a] and not c_bad[a],
                                "wipe": lev_bad[a] and r_bad[a]}[kind]
                        if not (alive[a] and want):
                            raise RuntimeError(f"story {kind!r} of account {a} does not breach as "
                                               f"scripted on day {t}")
                        if kind == "lev":
                            self.planted_acc_days.append(("LEV-002", int(a), t, None))
                        elif kind == "liq":
                            self.planted_acc_days.append(("CON-008", int(a), t, None))
                        elif kind == "conc":
                            self.planted_acc_days.append(("LEV-003", int(a), t, self.role_of[a].params["inst"]))
                        elif kind == "wipe":
                            self.planted_acc_days.append(("LEV-002", int(a), t, None))
                            self.planted_acc_days.append(("LEV-014", int(a), t, None))
                    held = np.array(list(today), dtype=np.int64)
                if len(held):
                    bad[held] = False
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
            acc_rows.append((t, ai, cash[ai].copy(), MV[ai].copy(), debt[ai].copy(), dt_count[ai].copy()))
            pos_rows.append((t, np.nonzero(live)[0].astype(np.int32)))
            mv_yday = MV.copy()

            # 7. Margin calls at the close for every account at or below the call line.
            alive[closed_today] = False
            R = ratio_of(cash, MV, debt)
            zone = alive & (debt > 0) & (R <= DISCLOSURE["margin_call_ratio"] + RATIO_TOL)
            for a in np.nonzero(sup_call == t)[0]:
                if not zone[a]:
                    raise RuntimeError("CON-003 story is not at the call line on its day")
                self.planted_acc_days.append(("CON-003", int(a), t, None))
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
        if int((tags == 7).sum()) != len(self.by_role["wipe"]):
            raise RuntimeError("the negative-balance story produced no recourse against the retail client")
        made = {}
        for rule, *_ in self.planted_acc_days:
            made[rule] = made.get(rule, 0) + 1
        for rule, role, per in (("CON-008", "con008", 1), ("LEV-003", "lev003", 1), ("LEV-014", "wipe", 2)):
            if made.get(rule, 0) != per * len(self.by_role[role]):
                raise RuntimeError(f"story {rule}: {made.get(rule, 0)} planted")
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
        floor = self.stress_floor(tables["accounts"], tables["positions"])
        tables["capital"] = self.capital_table(tables["accounts"], floor)
        tables["audits"] = self.audits_table()
        tables["stress_tests"] = self.stress_tests_table()
        tables["platform"] = self.platform_table()
        wipe = {s.account for s in self.by_role["wipe"]}
        notes = {
            "LEV-002": "leverage above the cap on the daily snapshot, no top-up or de-leveraging",
            "CON-003": "account at the call line with no margin call issued",
            "CON-008": "collateral ratio at the liquidation line, no liquidation and no top-up",
            "LEV-003": "one position above half the assets at a collateral ratio under 180%",
            "LEV-014": "retail account below the ESMA margin close-out level (50% of initial margin)",
        }
        for rule, a, t, inst in self.planted_acc_days:
            note = notes[rule]
            if rule == "LEV-002" and a in wipe:
                note = "retail account at about 15x or with negative equity after limit-down days, not closed out"
            key = {"account_id": f"A{a + 1:06d}", "date": self.dates[t].isoformat()}
            if rule == "LEV-003":
                self._violation(rule, "positions", {**key, "instrument_id": self.inst_code[inst]}, note)
            else:
                self._violation(rule, "accounts", key, note)
        return tables, self.violations

    def instruments_table(self) -> pl.DataFrame:
        # Average daily volume at least three times what the whole book holds (liquid enough to
        # absorb a forced sale of everything within the stress-test limits).
        held = np.bincount(self.pos_inst, weights=self.q, minlength=self.n_inst)
        adv = np.maximum(self.inst_adv, 3 * held)
        if self.by_role["cluster"]:
            # Z trades a few hundred shares a day: the two accounts the severe shock closes out
            # alone need 400 days of its volume, so their sale takes Z to the model's floor price.
            trig = [s.account for s in self.by_role["cluster"] if s.variant < 2]
            z_rows = np.isin(self.pos_acc, trig) & (self.pos_inst == self.Z)
            adv[self.Z] = max(1.0, float(self.q[z_rows].sum() // 400))
        return pl.DataFrame({
            "instrument_id": self.inst_code,
            "name": self.inst_name,
            "asset_class": self.inst_class,
            "exchange": self.inst_exch,
            "adv": np.round(adv, 0),
        })

    def financings_table(self) -> pl.DataFrame:
        ix = pl.Series(self.fin_acc, dtype=pl.UInt32)
        df = pl.DataFrame({
            "financing_id": self.fin_id,
            "account_id": self.acc_ids.gather(ix),
            "client_id": self.cli_ids.gather(ix),
            "opened_at": pl.Series(self.fin_open_sec * 1_000_000).cast(pl.Datetime("us")),
            "amount": self.fin_amount,
            "equity_at_open": self.fin_equity,
            "leverage_at_open": self.fin_lev,
            "rate_annual": self.fin_rate,
            "term_days": pl.Series(self.fin_term, dtype=pl.Int64),
            "product_risk_level": np.array(["R1", "R2", "R3", "R4", "R5"])[self.fin_product - 1],
            "underlying_asset_class": self.fin_under,
            "account_holder_id": self.cli_ids.gather(pl.Series(self.fin_holder, dtype=pl.UInt32)),
            "funder_controls_password": self.fin_pwd,
            "warning_line": self.fin_warn,
            "liquidation_line": self.fin_liqline,
        }).with_columns(
            pl.when(pl.col("term_days") >= 0).then(pl.col("term_days")).otherwise(None).alias("term_days"),
            pl.col("warning_line").fill_nan(None), pl.col("liquidation_line").fill_nan(None))
        f = self.future_fin
        if f is not None:
            a = f["acc"]
            df = pl.concat([df, pl.DataFrame({
                "financing_id": [f["financing_id"]], "account_id": [self.acc_ids[a]],
                "client_id": [self.cli_ids[a]],
                "opened_at": pl.Series([f["opened_sec"] * 1_000_000]).cast(pl.Datetime("us")),
                "amount": [f["amount"]], "equity_at_open": [f["equity"]], "leverage_at_open": [f["lev"]],
                "rate_annual": [DISCLOSURE["interest_rate_annual"]], "term_days": pl.Series([180], dtype=pl.Int64),
                "product_risk_level": ["R4"], "underlying_asset_class": ["equity"],
                "account_holder_id": [self.cli_ids[a]], "funder_controls_password": [False],
                "warning_line": [DISCLOSURE["margin_call_ratio"]],
                "liquidation_line": [DISCLOSURE["liquidation_ratio"]],
            })], how="vertical_relaxed")
        # OFX-004: whole multiples of 3x or more on more than half the contracts only as planted.
        lev = df["leverage_at_open"]
        fixed = int(((lev >= 3) & ((lev - lev.round(0)).abs() < 1e-9)).sum())
        if self.plant_table != (fixed > 0.5 * df.height):
            raise RuntimeError(f"OFX-004: {fixed} of {df.height} contracts at a fixed multiple")
        if self.plant_table:
            self._violation("OFX-004", "financings", {},
                            f"{fixed} of {df.height} contracts opened at a whole multiple of 3x or more")
        return df.sort("financing_id")

    def snapshot_tables(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        acc_ids, cli_ids = self.acc_ids, self.cli_ids
        t_idx = np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in self.acc_rows])
        ai = np.concatenate([r[1] for r in self.acc_rows])
        cash = np.concatenate([r[2] for r in self.acc_rows])
        mv = np.concatenate([r[3] for r in self.acc_rows])
        debt = np.concatenate([r[4] for r in self.acc_rows])
        dtrades = np.concatenate([r[5] for r in self.acc_rows])
        eq = cash + mv - debt
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where(eq > 0, np.round((mv / 100) / (eq / 100), 4), np.nan)
        # Re-pledged securities: 45% of the accounts' holdings are re-pledged up to a share of
        # the debt between 30% and 140% (the disclosed limit), never more than they are worth.
        factor = np.where(self.r_misc.random(self.N) < 0.45, self.r_misc.integers(300, 1401, self.N), 0)
        pledged = np.where(debt > 0, np.minimum(mv, debt * factor[ai] // 1000), 0)
        offsets = np.concatenate([[0], np.cumsum([len(r[1]) for r in self.acc_rows])])

        def rows_of(a: int) -> np.ndarray:
            return np.array([offsets[t] + np.searchsorted(r[1], a) for t, r in enumerate(self.acc_rows)
                             if np.searchsorted(r[1], a) < len(r[1]) and r[1][np.searchsorted(r[1], a)] == a],
                            dtype=np.int64)

        for s in self.by_role["tr_pledge_exact"]:  # exactly 140% of the debt
            rows = rows_of(s.account)
            ok = rows[(debt[rows] > 0) & (mv[rows] * 10 >= debt[rows] * 14) & (debt[rows] * 14 % 10 == 0)]
            if len(ok):
                pledged[ok[0]] = debt[ok[0]] * 14 // 10
        for s in self.by_role["seg003"]:
            rows = rows_of(s.account)
            rows = rows[debt[rows] > 0]
            ok = rows[mv[rows] * 10 >= debt[rows] * 15]
            if not len(ok):
                raise RuntimeError("SEG-003 plant: the account never holds 150% of its debt")
            j = int(ok[s.variant % len(ok)])
            pledged[j] = debt[j] * 15 // 10
            self._violation("SEG-003", "accounts", {"account_id": self.acc_ids[int(ai[j])],
                                                    "date": self.dates[int(t_idx[j])].isoformat()},
                            "securities re-pledged at 150% of the client's debt (limit 140%)")
        for s in self.by_role["lev009"]:
            rows = rows_of(s.account)
            rows = rows[(dtrades[rows] >= 4) & (debt[rows] > 0)]
            if not len(rows) or (eq[rows] >= 2_500_000).any():
                raise RuntimeError("the pattern-day-trader story did not produce a small-equity day trader")
            for j in rows:
                self._violation("LEV-009", "accounts", {"account_id": self.acc_ids[int(ai[j])],
                                                        "date": self.dates[int(t_idx[j])].isoformat()},
                                f"{int(dtrades[j])} day trades in five days on {eq[j] / 100:,.2f} of equity "
                                "(pattern day trader minimum 25,000)")
        if (dtrades[(debt > 0) & (eq < 2_500_000)] >= 4).sum() != sum(
                1 for v in self.violations if v["rule"] == "LEV-009"):
            raise RuntimeError("a pattern day trader nobody planted")
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
                 4: "negative equity after liquidation with no recourse record",
                 7: "recourse against a retail client for a negative balance (negative balance protection)"}
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
        acc_notes = {f"A{s.account + 1:06d}": s.params["note"] for s in self.by_role["con006"]}
        for fid, acc in out.filter(pl.col("_tag") == 8).select("fee_id", "account_id").iter_rows():
            self._violation("CON-006", "fees", {"fee_id": fid}, acc_notes[acc])
        return out.drop("_tag")

    def custody_table(self, accounts: pl.DataFrame) -> pl.DataFrame:
        r = self.r_misc
        money = accounts.group_by("date").agg(pl.col("cash").sum()).sort("date")
        if money.height != self.T:
            raise RuntimeError("custody: a day without snapshots")
        surplus = np.where(r.random(self.T) < 0.3, r.integers(1, 50_000, self.T), 0)
        bal = money["cash"].to_numpy() + surplus
        keep = np.ones(self.T, dtype=bool)
        ack = np.full(self.T, _dnum(date(2019, 3, 15)), dtype=np.int64)  # letter on file since 2019
        n = min(self.k, 3) if self.plant else 0
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
        # SEG-004 (eu): statements of a sub-account whose acknowledgement letter was missing or
        # countersigned only after the statement.
        free = [t for t in range(self.T) if keep[t]]
        m = min(2, len(free)) if self.plant else 0
        for v, t in enumerate(sorted(self.r_plant.choice(free, m, replace=False))):
            if v == 0:
                ack[t], note = -1, "no countersigned acknowledgement letter for the statement"
            else:
                ack[t], note = int(self.dnum[t]) + 3, "acknowledgement letter countersigned three days after the statement"
            self._violation("SEG-004", "custody", {"date": self.dates[int(t)].isoformat()}, note)
        df = pl.DataFrame({
            "date": money["date"],
            "custodian": [CUSTODIAN] * self.T,
            "statement_balance": bal.astype(np.int64),
            "ack_letter_signed_at": _date_series(ack),
        })
        return df.filter(pl.Series(keep))

    def capital_table(self, accounts: pl.DataFrame, stress_book: dict[str, Any] | None) -> pl.DataFrame:
        """Net capital follows the book: at least a quarter of it and twenty times the largest
        client (CAP-003, CAP-002), with a margin of 15-45% on a normal day. Planted days dip
        below one of the two (never both), and with the table-level plants the last day has the
        smallest margin the rules allow, below the severe scenario's shortfall (LEV-004)."""
        r, T = self.r_misc, self.T
        per = accounts.group_by("date").agg(
            pl.col("debt").sum().alias("book"), pl.col("debt").top_k(2).alias("top")).sort("date")
        book = per["book"].to_numpy().astype(np.float64)
        tops = per["top"].to_list()
        top = np.array([max(t) if t else 0 for t in tops], dtype=np.float64)
        second = np.array([min(t) if len(t) > 1 else 0 for t in tops], dtype=np.float64)
        need = np.maximum(book / 4, 20 * top)
        nc = np.ceil(need * (1.15 + 0.3 * r.random(T))).astype(np.int64)
        la_u = 1.2 + 0.5 * r.random(T)
        taken: set[int] = set()
        if self.scale:
            whale = [s.account for s in self.by_role["cap002"]]
            w_debt = accounts.filter(pl.col("account_id").is_in([f"A{a + 1:06d}" for a in whale])) \
                .group_by("date").agg(pl.col("debt").sum()).sort("date")
            w = dict(zip(w_debt["date"].to_list(), w_debt["debt"].to_list()))
            cand_q = [t for t in range(T - 1) if w.get(self.dates[t], 0) > 0 and top[t] == w[self.dates[t]]]
            cand_p = [t for t in range(T - 1) if w.get(self.dates[t], 0) == 0 and t not in cand_q
                      and 20 * top[t] < 0.96 * book[t] / 4]
            if not cand_q or not cand_p:
                raise RuntimeError(f"capital plants: no day for CAP-002 ({cand_q}) or CAP-003 ({cand_p})")
            tq = cand_q[int(r.integers(len(cand_q)))]
            nc[tq] = int(math.ceil(max(book[tq] / 4, 20 * second[tq]) * 1.01))
            if nc[tq] >= 20 * top[tq]:
                raise RuntimeError("CAP-002 plant: the largest client is not far enough ahead")
            self._violation("CAP-002", "accounts", {"client_id": f"C{whale[0] + 1:06d}",
                                                    "date": self.dates[tq].isoformat()},
                            "one client's financing above 5% of net capital")
            tp = cand_p[int(r.integers(len(cand_p)))]
            nc[tp] = int(book[tp] * 0.97 / 4)
            if nc[tp] <= 20 * top[tp]:
                raise RuntimeError("CAP-003 plant would also break CAP-002")
            self._violation("CAP-003", "accounts", {"date": self.dates[tp].isoformat()},
                            "margin book above four times net capital")
            taken = {tq, tp}
        if stress_book is not None:  # LEV-004 / LEV-005
            last = T - 1
            nc[last] = int(math.ceil(need[last] * 1.02))
            if nc[last] >= 0.97 * stress_book["shortfall_floor"]:
                raise RuntimeError(f"LEV-004 plant: net capital {nc[last]} not below the severe "
                                   f"shortfall {stress_book['shortfall_floor']:.0f}")
            taken.add(last)
        self.capital_buffer = int(max(_floor_to(0.95 * nc.min(), 10_000_000), 1_000_000))
        self.liquidity_buffer = int(_ceil_to(np.array([int(0.4 * self.capital_buffer)]), 10_000_000)[0])
        la = (self.liquidity_buffer * la_u).astype(np.int64)
        free = [t for t in range(T) if t not in taken] or list(range(T))
        n = min(self.k, 3) if self.plant else 0
        days = self.r_plant.choice(free, min(n + 1, len(free)), replace=False)
        la[days[-1]] = self.liquidity_buffer  # trap: exactly at the buffer
        for v, t in enumerate(sorted(days[:-1])):
            if v == 0:
                la[t], note = self.liquidity_buffer * 8 // 10, "liquid assets 20% below the disclosed buffer"
            elif v == 1:
                la[t], note = self.liquidity_buffer - 1, "liquid assets one cent below the disclosed buffer"
            else:
                la[t], note = self.liquidity_buffer * 95 // 100, "liquid assets 5% below the disclosed buffer"
            self._violation("CAP-001", "capital", {"date": self.dates[t].isoformat()}, note)
        return pl.DataFrame({"date": pl.Series(self.dnum.astype(np.int32)).cast(pl.Date),
                             "net_capital": nc, "liquid_assets": la})

    def stress_floor(self, accounts: pl.DataFrame, positions: pl.DataFrame) -> dict[str, Any] | None:
        """With the illiquid cluster: a floor under the severe scenario's spiral shortfall on
        the last day, assuming only what the stress model guarantees. The two trigger accounts
        are closed out by the shock alone (their collateral ratio falls below the liquidation
        line), their sale of Z needs 400 days of its volume, so Z drops to the floor (10% of its
        shocked price); every other cluster account then owes at least debt - cash - Z at the
        floor. Records the LEV-004 and LEV-005 plants."""
        stories = self.by_role["cluster"]
        if not stories:
            return None
        name, shocks = _severe_scenario()
        eq = 1 + shocks.get("equity", shocks["default"])
        ids = pl.DataFrame({"account_id": [f"A{s.account + 1:06d}" for s in stories],
                            "trigger": [s.variant < 2 for s in stories]})
        z_code = self.inst_code[self.Z]
        pos = (positions.lazy().filter(pl.col("date") == self.as_of)
               .join(ids.lazy(), on="account_id", how="semi")
               .group_by("account_id").agg(
                   pl.col("market_value").sum().alias("mv"),
                   pl.col("market_value").filter(pl.col("instrument_id") == z_code).sum().alias("z")))
        book = (accounts.lazy().filter(pl.col("date") == self.as_of)
                .join(ids.lazy(), on="account_id", how="inner")
                .join(pos, on="account_id", how="left").collect())
        if book.height != len(stories):
            raise RuntimeError("LEV-004 plant: a cluster account is missing on the last day")
        trig = book.filter(pl.col("trigger"))
        if (trig["cash"] + eq * trig["mv"] > DISCLOSURE["liquidation_ratio"] * 0.99 * trig["debt"]).any():
            raise RuntimeError("LEV-004 plant: a trigger account survives the severe shock")
        rest = book.filter(~pl.col("trigger"))
        gap = rest["debt"] - rest["cash"] - (rest["mv"] - rest["z"]) - 0.1 * eq * rest["z"]
        floor = float(gap.clip(lower_bound=0).sum())
        key = {"scenario": name}
        self._violation("LEV-004", "stress", key,
                        "severe scenario: forced sales of an illiquid stock push the spiral shortfall above net capital")
        self._violation("LEV-005", "stress", key,
                        "severe scenario: the forced sales of one stock need thousands of days of its volume")
        return {"shortfall_floor": floor}

    def audits_table(self) -> pl.DataFrame:
        """Annual reports for FY(y) signed in April or May of y + 1.

        - Default plants (CLR-005): the latest report, 73 days old, is qualified; the one before
          is exactly 400 days old and unqualified (the oldest report CLR-005 still reads).
        - ``audit_overdue`` (CLR-003): the latest report is 437 days old. No report is then
          recent enough for CLR-005 to read, which is why the two cannot be planted together.
        - Without table-level plants: the latest report is exactly 400 days old (a trap).
        A qualified opinion four years ago is out of CLR-005's scope in every variant.
        """
        as_of = self.as_of
        limit = as_of - timedelta(days=400)
        if self.audit_overdue:
            reports = [date(2020, 4, 17), date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18),
                       date(2024, 4, 19)]  # 437 days before 2025-06-30
            self._violation("CLR-003", "audits", {}, "last third-party audit report older than 400 days")
        elif self.plant_table:
            reports = [date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18), limit, date(2025, 4, 18)]
        else:
            reports = [date(2020, 4, 17), date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18), limit]
        rows = []
        for j, rep in enumerate(reports):
            y = rep.year - 1
            opinion = "qualified" if j == 0 else "unqualified"
            if self.plant_table and not self.audit_overdue and j == len(reports) - 1:
                opinion = "qualified"
                self._violation("CLR-005", "audits", {"audit_id": f"AUD-FY{y}"},
                                "latest audit report carries a qualified opinion")
            rows.append({"audit_id": f"AUD-FY{y}", "auditor": AUDITORS[0 if j >= 3 else 1],
                         "period_start": date(y, 1, 1), "period_end": date(y, 12, 31),
                         "report_date": rep, "opinion": opinion})
        self.last_audit = reports[-1]
        return pl.DataFrame(rows)

    def stress_tests_table(self) -> pl.DataFrame:
        """The platform's own stress tests: three scenarios at each of the last eight quarter
        ends, the latest one quarter before the as-of date. No random draws, so adding the
        table moved no other plant. With the table-level plants the latest quarter's results
        were not recorded (LEV-015)."""
        ends = [_quarter_end_before(self.as_of)]
        for _ in range(7):
            ends.append(_quarter_end_before(ends[-1]))
        scenarios = (("uniform-20", -0.20, 0.01), ("uniform-33", -0.33, 0.06),
                     ("2015-a-share-crash", -0.45, 0.21))
        rows = [{"test_id": f"ST-{q:%Y%m}-{n + 1}", "run_date": q, "scenario": name, "shock": shock,
                 "shortfall": int(share * self.capital_buffer), "net_capital": int(1.2 * self.capital_buffer),
                 "approved_by": "风险管理委员会"}
                for q in sorted(ends) for n, (name, shock, share) in enumerate(scenarios)]
        if self.plant_table:
            for row in rows[-len(scenarios):]:
                row["shortfall"] = None
            self._violation("LEV-015", "stress_tests", {},
                            "the latest quarter's stress-test results were not recorded")
        return pl.DataFrame(rows, schema_overrides={"shortfall": pl.Int64, "net_capital": pl.Int64})

    def platform_table(self) -> pl.DataFrame:
        ccp, initial = True, DISCLOSURE["initial_margin"]
        if self.plant_table:
            ccp = False
            self._violation("CLR-004", "platform", {"platform_id": PLATFORM_ID},
                            "central-counterparty exposure not disclosed")
            initial = None
            self._violation("CON-005", "platform", {"platform_id": PLATFORM_ID},
                            "initial margin not published")
        # Trap: the clean figure was calculated at the last quarter end, up to 92 days ago,
        # the edge of ESMA's quarterly recalculation; the plant skips one quarter.
        warning_at = _quarter_end_before(self.as_of)
        if self.plant_table:
            warning_at = _quarter_end_before(warning_at)
            self._violation("CON-009", "platform", {"platform_id": PLATFORM_ID},
                            "risk-warning loss share last calculated two quarter ends ago")
        row = {
            "platform_id": PLATFORM_ID,
            "platform_name": "鼎盛融资服务平台（合成数据）",
            "disclosed_at": date(2025, 1, 2),
            **{k: v for k, v in DISCLOSURE.items()},
            "initial_margin": initial,
            "custodian": CUSTODIAN,
            "capital_buffer_min": self.capital_buffer,
            "liquidity_buffer_min": self.liquidity_buffer,
            "clearing_chain": "平台 > 示例证券股份有限公司（经纪商、结算参与人） > 中国证券登记结算有限责任公司（中央对手方）",
            "ccp_exposure_disclosed": ccp,
            "last_audit_date": self.last_audit,
            "rehypothecation_limit": 1.4,
            "risk_warning_pct": 0.62,
            "risk_warning_calculated_at": warning_at,
        }
        df = pl.DataFrame([row], schema_overrides={"initial_margin": pl.Float64})
        return df.with_columns(pl.col("day_count").cast(pl.Int64))


def _quarter_end_before(day: date) -> date:
    """The last calendar quarter end strictly before ``day``."""
    quarter_start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return quarter_start - timedelta(days=1)


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
             *, plant: bool = True, plant_table_level: bool = True, audit_overdue: bool = False) -> dict:
    """Write a synthetic export of every contract table into ``out_dir``.

    ``<table>.csv`` (UTF-8) or ``<table>.parquet`` per table, plus ``expected_violations.json``
    naming each planted violation by rule, key and the profile that runs the rule. Same
    arguments, same bytes.

    - ``plant=False``: nothing is planted (the traps stay); every rule passes.
    - ``plant_table_level=False``: no table-level plants (CLR-004, CLR-005, CON-005, CON-009,
      LEV-015, OFX-004 and the stress rules LEV-004 / LEV-005, with the illiquid cluster behind them).
    - ``audit_overdue=True`` (with the table-level plants): plant CLR-003 (the latest audit
      report 437 days old) instead of CLR-005. No export can break both: CLR-005 reads only
      reports at most 400 days old, and CLR-003 fails only when there is none.

    Returns a summary: rows per table and the planted violations, by rule and by profile.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if days < 6:
        raise ValueError("days must be at least 6 (the scripted crash needs five trading days)")
    out_dir = Path(out_dir)
    builder = _Builder(accounts, seed, days, plant, plant_table_level, audit_overdue)
    tables, violations = builder.build()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for t in contract.TABLES:
        df = _finish(t.name, tables[t.name], fmt)
        rows[t.name] = df.height
        path = out_dir / f"{t.name}.{fmt}"
        if fmt == "csv":
            df.write_csv(path, date_format="%Y-%m-%d", datetime_format="%Y-%m-%d %H:%M:%S")
        else:
            df.write_parquet(path, compression="zstd", statistics=True)
    violations = [{**v, "profile": PROFILE_OF.get(v["rule"], "seed")} for v in violations]
    not_planted = builder.not_planted()
    violations = sorted(violations, key=lambda v: (v["rule"], sorted(v["key"].items())))
    payload = {
        "generator": "audit.sample",
        "seed": seed,
        "accounts": accounts,
        "days": days,
        "as_of": builder.as_of.isoformat(),
        "plant": plant,
        "plant_table_level": builder.plant_table,
        "audit_overdue": builder.audit_overdue,
        "not_planted": not_planted,
        "violations": violations,
    }
    (out_dir / "expected_violations.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    by_rule: dict[str, int] = {}
    by_profile: dict[str, int] = {}
    for v in violations:
        by_rule[v["rule"]] = by_rule.get(v["rule"], 0) + 1
        by_profile[v["profile"]] = by_profile.get(v["profile"], 0) + 1
    return {"out_dir": str(out_dir), "format": fmt, "seed": seed, "accounts": accounts, "days": days,
            "rows": rows, "violations": len(violations), "violations_by_rule": dict(sorted(by_rule.items())),
            "violations_by_profile": dict(sorted(by_profile.items()))}
