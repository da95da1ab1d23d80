"""Plants and traps of the LEV pack (rules/lev): leverage caps at open and on every snapshot,
concentration, stress scenarios, and the jurisdiction rules of the cn, us and eu profiles."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from audit.sample.market import day_number
from audit.sample.plants.registry import (
    FINANCING_DATES, FINANCING_DRAWS, FINANCINGS, first_financings, hook, plant, trap,
)
from audit.sample.terms import DAY, HOUR

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.financings import Draws, Openings


@plant("LEV-001", at=FINANCINGS)
def plant_lev_001(b: Builder) -> None:
    """Leverage at open above the cap for the client's category (4x, 6x, 3.5x, 4.2x, 7x; every
    third one professional, see opening.py)."""
    for s, j in first_financings(b, "lev001"):
        b.fin_lev[j] = (4.0, 6.0, 3.5, 4.2, 7.0)[s.variant % 5]
        b.violation("LEV-001", "financings", {"financing_id": b.fin_id[j]},
                    "leverage at open above the cap for the client's category")


@trap("LEV-001", at=FINANCINGS)
def trap_lev_001_at_the_caps(b: Builder) -> None:
    """A professional financing at 4.5x, and the retail account of the 3.0x snapshot trap opened
    at exactly 3.0x."""
    for _, j in first_financings(b, "lev001_pro45"):
        b.fin_lev[j] = 4.5
    for _, j in first_financings(b, "t3_lev3"):
        b.fin_lev[j] = 3.0


@plant("LEV-006", at=FINANCINGS)
def plant_lev_006(b: Builder) -> None:
    """Profile eu: a retail financing on a crypto underlying at 2.5x (ESMA caps crypto at 2:1)."""
    for _, j in first_financings(b, "lev006"):
        b.fin_lev[j], b.fin_under[j] = 2.5, "crypto"
        b.violation("LEV-006", "financings", {"financing_id": b.fin_id[j]},
                    "retail financing on a crypto underlying at 2.5x (ESMA cap 2:1)")


@plant("LEV-007", at=FINANCINGS)
def plant_lev_007(b: Builder) -> None:
    """Profile us: a contract opened at 2.6x, under Regulation T's 50% initial margin."""
    for _, j in first_financings(b, "lev007"):
        b.fin_lev[j] = 2.6
        b.violation("LEV-007", "financings", {"financing_id": b.fin_id[j]},
                    "opened at 2.6x: initial margin 38%, below Regulation T's 50%")


@hook("LEV-008", at=FINANCING_DRAWS)
def second_draw_lev_008(b: Builder, draws: Draws) -> None:
    """The LEV-008 accounts draw twice, whatever their debt."""
    lev008 = np.array([s.account for s in b.by_role["lev008"]], dtype=np.int64)
    draws.two |= np.isin(draws.accounts, lev008)


@plant("LEV-008", at=FINANCINGS)
def plant_lev_008(b: Builder) -> None:
    """Profile us: a second draw of 3,000 at 2.6x, on 1,875 of own equity (FINRA wants 2,000)."""
    for s in b.by_role["lev008"]:
        j = int(np.nonzero((b.fin_acc == s.account) & b.fin_second)[0][0])
        b.fin_amount[int(b.first_fin_row[s.account])] = b.D0[s.account] - 300_000
        b.fin_amount[j] = 300_000
        b.fin_lev[j] = 2.6
        b.violation("LEV-008", "financings", {"financing_id": b.fin_id[j]},
                    "a 3,000 draw on 1,875 of own equity, below FINRA's 2,000 minimum")


@hook("LEV-010", at=FINANCING_DATES)
def open_in_2023_lev_010(b: Builder, openings: Openings) -> None:
    """The LEV-010 contracts were opened on 5 September 2023 and rolled over since."""
    old_day = day_number(date(2023, 9, 5))
    for s in b.by_role["lev010"]:
        j = int(np.nonzero((openings.accounts == s.account) & ~openings.second)[0][0])
        openings.day[j] = old_day
        openings.sec[j] = old_day * DAY + 10 * HOUR + 12 * 60


@plant("LEV-010", at=FINANCINGS)
def plant_lev_010(b: Builder) -> None:
    """Profile cn: a contract of September 2023, under the 100% financing margin ratio then in
    force, at 2.4x (a 71% ratio)."""
    for _, j in first_financings(b, "lev010"):
        b.fin_lev[j] = 2.4
        b.violation("LEV-010", "financings", {"financing_id": b.fin_id[j]},
                    "opened on 5 Sep 2023 at a financing margin ratio of 71% (100% required)")


@plant("LEV-011", at=FINANCINGS)
def plant_lev_011(b: Builder) -> None:
    """Profile cn: a contract at 2.8x, a financing margin ratio of 56% (80% required)."""
    for _, j in first_financings(b, "lev011"):
        b.fin_lev[j] = 2.8
        b.violation("LEV-011", "financings", {"financing_id": b.fin_id[j]},
                    "opened at a financing margin ratio of 56% (80% required)")


@plant("LEV-012", at=FINANCINGS)
def plant_lev_012(b: Builder) -> None:
    """Profile cn: a rollover contract signed in advance, starting 20 Jan 2026 under the 100%
    ratio for new contracts, at 2.4x. Not yet drawn: no debt, interest or fees."""
    for s in b.by_role["lev012"]:
        fid_new = f"F{len(b.fin_acc) + 1:06d}"
        amount = 5_000_000
        b.future_fin = {"financing_id": fid_new, "acc": s.account, "amount": amount,
                        "equity": int(round(amount / 1.4)), "lev": 2.4,
                        "opened_sec": day_number(date(2026, 1, 20)) * DAY + 9 * HOUR + 45 * 60}
        b.violation("LEV-012", "financings", {"financing_id": fid_new},
                    "rollover contract from 20 Jan 2026 at a financing margin ratio of 71% "
                    "(100% for new contracts)")


@plant("LEV-013", at=FINANCINGS)
def plant_lev_013(b: Builder) -> None:
    """Profile cn: a financing term of 365 days (at most six months)."""
    for _, j in first_financings(b, "lev013"):
        b.fin_term[j] = 365
        b.violation("LEV-013", "financings", {"financing_id": b.fin_id[j]},
                    "financing term of 365 days (at most six months)")


@trap("LEV-013", at=FINANCINGS)
def trap_lev_013_184_days(b: Builder) -> None:
    """A term of exactly 184 days, the longest allowed."""
    for _, j in first_financings(b, "tr_term184"):
        b.fin_term[j] = 184
