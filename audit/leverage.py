"""Leverage arithmetic of the operating norms for financing platforms (《杠杆的双重效应》), in
exact decimals: leverage, call line, wipe-out."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Iterable

from audit.errors import UsageError

FINRA_MAINTENANCE = Decimal("0.25")  # FINRA 4210(c) long maintenance, the seed's US reference
TABLE_EQUITY = Decimal("100000")  # the seed's examples are sized in 100,000s
CENT = Decimal("0.01")
PRECISION = 50  # digits for intermediate results: far beyond any money amount

MONEY_FIELDS = ("position_value", "equity", "debt", "call_value", "wipeout_value")
PCT_FIELDS = ("maintenance", "equity_ratio", "call_drop", "wipeout_drop")
RATIO_FIELDS = ("leverage", "collateral_ratio")


class LeverageError(UsageError, ValueError):
    """Inputs for which the arithmetic has no meaning; the message says what to pass instead."""


def to_decimal(value: Any, what: str) -> Decimal:
    """``value`` as an exact Decimal: floats go through their shortest text, not their binary."""
    if isinstance(value, Decimal):
        result = value
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        percent = text.endswith("%")
        try:
            result = Decimal(text.rstrip("%"))
        except InvalidOperation:
            raise LeverageError(f"{what} {value!r} is not a number; write e.g. 100000 or 0.25") from None
        if percent:
            result = result / 100
    if not result.is_finite():
        raise LeverageError(f"{what} {value!r} is not a finite number")
    return result


def leverage_figures(position_value: Any, equity: Any,
                     maintenance: Any = FINRA_MAINTENANCE) -> dict[str, Any]:
    """Every figure of that arithmetic for one position, as exact Decimals.

    Keys: position_value V, equity E, maintenance m, debt D = V - E, leverage L = V / E,
    equity_ratio E / V = 1 / L, collateral_ratio V / D (the China R; None without debt),
    call_value V* = D / (1 - m), call_drop 1 - V*/V (None when the account is in call at
    open), wipeout_value D, wipeout_drop 1 / L, in_call_at_open (L >= 1 / m), note.
    """
    v = to_decimal(position_value, "position value")
    e = to_decimal(equity, "equity")
    m = to_decimal(maintenance, "maintenance margin")
    _check_inputs(v, e, m)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        d = v - e
        lev = v / e
        call_value = d / (1 - m)
        # NOTE: the call fires when E/V < m; at E/V == m the account sits on the line, so the
        # seed's feasibility condition L < 1/m is strict and L >= 1/m counts as in call.
        in_call = m > 0 and e <= m * v  # E/V <= m, without a rounded division
        figures = {
            "position_value": v,
            "equity": e,
            "maintenance": m,
            "debt": d,
            "leverage": lev,
            "equity_ratio": e / v,
            "collateral_ratio": v / d if d > 0 else None,
            "call_value": call_value,
            "call_drop": None if in_call else 1 - call_value / v,
            "wipeout_value": d,
            "wipeout_drop": e / v,
            "in_call_at_open": in_call,
        }
    figures["note"] = _note(figures)
    return figures


def _check_inputs(v: Decimal, e: Decimal, m: Decimal) -> None:
    if v <= 0:
        raise LeverageError(f"position value must be above 0 (got {v}); pass the market value "
                            "of the positions")
    if e <= 0:
        raise LeverageError(f"equity must be above 0 (got {e}); an account with no equity is "
                            "already wiped out, there is no leverage to compute")
    if e > v:
        raise LeverageError(f"equity {e} exceeds the position value {v}: the account borrows "
                            "nothing; pass equity <= position value")
    if not 0 <= m < 1:
        raise LeverageError(f"maintenance margin must be a fraction in [0, 1) (got {m}); "
                            "write 0.25 or 25% for 25%")


def _note(f: dict[str, Any]) -> str:
    if f["in_call_at_open"]:
        limit = 1 / f["maintenance"]
        return (f"in call at open: leverage {_ratio(f['leverage'])}x is at or above 1/m = "
                f"{_ratio(limit)}x, so equity is below the maintenance margin from the start")
    if f["debt"] == 0:
        return "no debt: no margin call, and only a fall of 100% wipes out the equity"
    return ""


def leverage_table(maintenance: Any = FINRA_MAINTENANCE, levels: Iterable[Any] = range(1, 11),
                   equity: Any = TABLE_EQUITY) -> list[dict[str, Any]]:
    """The figures at each leverage level (position = level x equity): what each level costs
    in room before a margin call and before the equity is gone."""
    e = to_decimal(equity, "equity")
    return [leverage_figures(to_decimal(level, "leverage level") * e, e, maintenance)
            for level in levels]


# --- display -------------------------------------------------------------------------------

def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_pct(value: Decimal) -> Decimal:
    """A fraction as a percentage with 2 decimals, half-up (0.333.. -> 33.33)."""
    return (value * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def display_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures rounded for people and JSON: money to the cent and percentages to 2 dp,
    half-up, as strings (exact; no binary float). Percent keys end in ``_pct``."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if key in MONEY_FIELDS:
            out[key] = str(round_money(value))
        elif key in PCT_FIELDS:
            out[f"{key}_pct"] = None if value is None else str(round_pct(value))
        elif key in RATIO_FIELDS:
            out[key] = None if value is None else _ratio(value)
        else:
            out[key] = value
    return out
