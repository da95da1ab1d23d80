"""The platform's published terms, the codes the simulation records its flows with, and the
integer-cent arithmetic that charges interest and commission the way the platform does."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

DAY = 86_400
HOUR = 3_600

# The platform's published terms in force over the window (the current version of `platform`).
# NOTE: deadlines count in trading days: a margin call goes out the evening of the day the
# ratio closes below the call line (T+0), the client has until the close of the next trading
# day (T+1) to top up, and a forced sale may start on T+2. Before (OLD_TERMS) the platform
# counted 24 calendar hours for each and liquidated at 140%.
DISCLOSURE = {
    "initial_margin": 0.5,
    "maintenance_margin": 0.25,
    "margin_call_ratio": 1.5,
    "liquidation_ratio": 1.3,
    "call_response_hours": None,
    "notice_period_hours": None,
    "call_response_trading_days": 0,
    "notice_period_trading_days": 1,
    "line_inclusive": True,  # 达到或低于: a line is crossed when the ratio reaches it
    "interest_rate_annual": 0.0865,
    "commission_rate": 0.0003,
    "day_count": 360,
    "leverage_cap_retail": 3.0,
    "leverage_cap_professional": 5.0,
}
# The terms the platform published before (in force for the contracts and events before the
# window): the liquidation line was 140% and the periods were calendar hours.
OLD_TERMS = {**DISCLOSURE, "liquidation_ratio": 1.4, "call_response_hours": 24.0,
             "notice_period_hours": 24.0, "call_response_trading_days": None,
             "notice_period_trading_days": None}
OLD_PUBLISHED = date(2023, 1, 3)
NOTICE_DAYS = DISCLOSURE["notice_period_trading_days"]
CALL_VALIDITY_DAYS = 10  # trading days a margin call stays the notice for a liquidation
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


def half_up_div(num: np.ndarray | int, den: int):
    """round(num / den) half up, for non-negative integers."""
    return (num + den // 2) // den


def interest_cents(base_cents, days, rate_bp: int = RATE_BP, basis: int = 360):
    """base * rate * days / basis, rounded half up to the cent (exact integer arithmetic)."""
    return half_up_div(np.asarray(base_cents, dtype=np.int64) * rate_bp * np.asarray(days),
                        10_000 * basis)


def ceil_to(x: np.ndarray, step: int) -> np.ndarray:
    """x rounded up to a multiple of ``step`` (integers)."""
    return -(-x // step) * step


def floor_to(x: float, step: int) -> int:
    """x rounded down to a multiple of ``step``."""
    return int(x // step) * step


def exact_half_base(target: int, days: int) -> int:
    """Smallest base (cents) >= target whose interest for `days` is exactly x.xx5 before rounding."""
    modulus, half, a = 360_000_000 // 100, 1_800_000, RATE_BP * days
    g = math.gcd(a, modulus)
    if half % g:
        raise RuntimeError(f"no exact half-cent interest for {days} days")
    m = modulus // g
    b0 = (half // g) * pow(a // g, -1, m) % m
    return target + (b0 - target) % m
