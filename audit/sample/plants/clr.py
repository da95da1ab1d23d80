"""Plants and traps of the CLR pack (rules/clr): clearing and recourse records of liquidations,
the central-counterparty disclosure, third-party audits, and negative balance protection."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from audit.sample.plants.registry import AUDITS, PLATFORM, plant
from audit.sample.terms import PLATFORM_ID

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.platform import Audits


@plant("CLR-003", at=AUDITS)
def plant_clr_003(b: Builder, audits: Audits) -> None:
    """With ``audit_overdue``: the latest audit report is 437 days old (FY2023, signed
    2024-04-19). No report is then recent enough for CLR-005 to read, which is why the two
    cannot be planted together."""
    if b.audit_overdue:
        audits.reports[-1] = date(2024, 4, 19)  # 437 days before 2025-06-30
        b.violation("CLR-003", "audits", {}, "last third-party audit report older than 400 days")


@plant("CLR-004", at=PLATFORM)
def plant_clr_004(b: Builder, row: dict[str, Any]) -> None:
    """Table-level: the platform does not disclose its central-counterparty exposure."""
    if b.plant_table:
        row["ccp_exposure_disclosed"] = False
        b.violation("CLR-004", "platform", {"platform_id": PLATFORM_ID},
                    "central-counterparty exposure not disclosed")


@plant("CLR-005", at=AUDITS)
def plant_clr_005(b: Builder, audits: Audits) -> None:
    """Table-level, unless ``audit_overdue``: a new latest report, 73 days old, with a qualified
    opinion; the one before it is exactly 400 days old and unqualified (the oldest report
    CLR-005 still reads)."""
    if b.plant_table and not b.audit_overdue:
        audits.reports[:] = audits.reports[1:] + [date(2025, 4, 18)]
        audits.qualified.add(len(audits.reports) - 1)
        b.violation("CLR-005", "audits", {"audit_id": f"AUD-FY{audits.reports[-1].year - 1}"},
                    "latest audit report carries a qualified opinion")
