"""Plants of the OFX pack (rules/ofx): the hallmarks of off-exchange financing (配资), an
account in another client's name, a funder holding the password, contract lines that differ
from the published ones, and contracts at fixed whole multiples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from audit.sample.plants.registry import (
    CONTRACT_MULTIPLES, FINANCINGS, FINANCINGS_TABLE, first_financings, hook, plant,
)
from audit.sample.terms import DISCLOSURE

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.financings import Multiples


@plant("OFX-001", at=FINANCINGS)
def plant_ofx_001(b: Builder) -> None:
    """A trading account held in another client's name."""
    for s, j in first_financings(b, "ofx001"):
        b.fin_holder[j] = (s.account + 1 + s.variant) % b.N
        b.violation("OFX-001", "financings", {"financing_id": b.fin_id[j]},
                    "trading account held in another client's name")


@plant("OFX-002", at=FINANCINGS)
def plant_ofx_002(b: Builder) -> None:
    """The funder holds the client's trading password."""
    for _, j in first_financings(b, "ofx002"):
        b.fin_pwd[j] = True
        b.violation("OFX-002", "financings", {"financing_id": b.fin_id[j]},
                    "the funder holds the client's trading password")


@plant("OFX-003", at=FINANCINGS)
def plant_ofx_003(b: Builder) -> None:
    """Contract lines other than the published ones: a 140% warning line, a 110% liquidation line."""
    for s, j in first_financings(b, "ofx003"):
        if s.variant % 2:
            b.fin_liqline[j], b.fin_warn[j] = 1.1, DISCLOSURE["margin_call_ratio"]
            note = "contract liquidation line 110% instead of the published 130%"
        else:
            b.fin_warn[j], b.fin_liqline[j] = 1.4, DISCLOSURE["liquidation_ratio"]
            note = "contract warning line 140% instead of the published 150%"
        b.violation("OFX-003", "financings", {"financing_id": b.fin_id[j]}, note)


@plant("OFX-004", at=CONTRACT_MULTIPLES)
def plant_ofx_004(b: Builder, menu: Multiples) -> None:
    """With the table-level plants, 70% of the contracts open at a whole multiple of 3x or more
    (3x, 4x or 5x for professionals, 3x for retail), the 配资 hallmark of a fixed multiple."""
    if b.plant_table:
        menu.share, menu.professional, menu.retail = 0.7, [3.0, 4.0, 5.0], [3.0]


@hook("OFX-004", at=FINANCINGS_TABLE)
def record_ofx_004(b: Builder, financings: pl.DataFrame) -> None:
    """Record the share of contracts at a whole multiple of 3x or more, and check that it is
    above half exactly when planted."""
    lev = financings["leverage_at_open"]
    fixed = int(((lev >= 3) & ((lev - lev.round(0)).abs() < 1e-9)).sum())
    if b.plant_table != (fixed > 0.5 * financings.height):
        raise RuntimeError(f"OFX-004: {fixed} of {financings.height} contracts at a fixed multiple")
    if b.plant_table:
        b.violation("OFX-004", "financings", {},
                    f"{fixed} of {financings.height} contracts opened at a whole multiple of 3x or more")
