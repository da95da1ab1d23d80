"""The platform's published terms, the codes the simulation records its flows with, and the
integer-cent arithmetic that charges interest and commission the way the platform does."""

from __future__ import annotations

import math

import numpy as np

DAY = 86_400
HOUR = 3_600

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
