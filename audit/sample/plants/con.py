"""Plants and traps of the CON pack (rules/con): the conduct of the risk process (margin calls,
the notice period, liquidation at the line) and of the charges (interest, commission, the
published terms)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.sample.market import quarter_end_before
from audit.sample.plants.registry import FINANCING_DRAWS, FINANCINGS, PLATFORM, first_financings, plant, trap
from audit.sample.terms import PLATFORM_ID, exact_half_base

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.financings import Draws


@trap("CON-004", at=FINANCING_DRAWS)
def trap_con_004_half_cent(b: Builder, draws: Draws) -> None:
    """Interest whose schedule is exactly half a cent, rounded half up: the "half" accounts owe an
    amount whose first month-end interest is x.xx5 before rounding (the extra debt sits in cash,
    so their equity does not move)."""
    first_me = next((t for t in range(b.T) if b.month_end[t]), None)
    for s in b.by_role["half"]:
        a = s.account
        days = int(b.dnum[first_me] - b.prev_charge)
        base = exact_half_base(int(b.D0[a]), days)
        b.cash0[a] += base - b.D0[a]  # keep equity: the extra debt sits in cash
        b.D0[a] = base


@plant("CON-007", at=FINANCINGS)
def plant_con_007(b: Builder) -> None:
    """A contract rate above the published one (9.65%, 10%), billed at the published rate."""
    for s, j in first_financings(b, "con007"):
        b.fin_rate[j] = (0.0965, 0.10)[s.variant % 2]
        b.violation("CON-007", "financings", {"financing_id": b.fin_id[j]},
                    f"contract rate {b.fin_rate[j]:.2%} above the published 8.65% "
                    "(billed at the published rate)")


@plant("CON-005", at=PLATFORM)
def plant_con_005(b: Builder, row: dict[str, Any]) -> None:
    """Table-level: the initial margin is not published."""
    if b.plant_table:
        row["initial_margin"] = None
        b.violation("CON-005", "platform", {"platform_id": PLATFORM_ID}, "initial margin not published")


@plant("CON-009", at=PLATFORM)
def plant_con_009(b: Builder, row: dict[str, Any]) -> None:
    """Table-level, profile eu: the risk-warning loss share was last calculated two quarter ends
    before the as-of date (the clean figure is one quarter end old, inside ESMA's 92 days)."""
    if b.plant_table:
        row["risk_warning_calculated_at"] = quarter_end_before(row["risk_warning_calculated_at"])
        b.violation("CON-009", "platform", {"platform_id": PLATFORM_ID},
                    "risk-warning loss share last calculated two quarter ends ago")
