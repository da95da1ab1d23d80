"""Plants and traps of the CLR pack (rules/clr): clearing and recourse records of liquidations,
the central-counterparty disclosure, third-party audits, and negative balance protection."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from audit.sample.plants.registry import AUDITS, LIQUIDATIONS, PLATFORM, SIMULATED, plant, trap
from audit.sample.platform import platform_key
from audit.sample.terms import LIQ

if TYPE_CHECKING:
    from audit.sample.book import Book, Day
    from audit.sample.builder import Builder
    from audit.sample.platform import Audits


@plant("CLR-001", at=LIQUIDATIONS)
def plant_clr_001(b: Builder, book: Book, day: Day) -> None:
    """A liquidation of an S1 account in the crash whose clearing reference is null, or blank."""
    for s in b.by_role["clr001"]:
        day.ref[s.account] = 1 if s.params["ref"] == "null" else 2
        day.liq_tag[s.account] = b.tag("CLR-001", "liquidation without a clearing record")
    b.expect("CLR-001", len(b.by_role["clr001"]))


@plant("CLR-002", at=LIQUIDATIONS)
def plant_clr_002(b: Builder, book: Book, day: Day) -> None:
    """An S1 account liquidated in the crash into a negative balance, with no recourse record."""
    for s in b.by_role["clr002"]:
        day.no_recourse[s.account] = True
        day.liq_tag[s.account] = b.tag("CLR-002", "negative equity after liquidation with no recourse record")
    b.expect("CLR-002", len(b.by_role["clr002"]))


@trap("CLR-002", at=SIMULATED)
def check_clr_002_recourse(b: Builder) -> None:
    """The trap of stories.py: a liquidation with negative equity, and its recourse record."""
    ev = b.ev
    m = (ev["type"] == LIQ) & (ev["acc"] == b.by_role["t2_recourse"][0].account)
    if m.sum() != 1 or not ev["eq"][m][0] < 0:
        raise RuntimeError("the recourse trap was not produced")


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
        b.violation("CLR-004", "platform", platform_key(b),
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


@plant("CLR-006", at=LIQUIDATIONS)
def plant_clr_006(b: Builder, book: Book, day: Day) -> None:
    """Profile eu: the platform pursues the retail client of the S3 story (LEV-014) for the
    negative balance its liquidation left: the recourse record breaks negative balance
    protection."""
    for s in b.by_role["wipe"]:
        day.recourse_tag[s.account] = b.tag(
            "CLR-006", "recourse against a retail client for a negative balance (negative balance protection)")
    b.expect("CLR-006", len(b.by_role["wipe"]))
