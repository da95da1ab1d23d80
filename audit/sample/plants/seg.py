"""Plants and traps of the SEG pack (rules/seg): segregation of client money and assets, that is
custodian statements that cover client money, no sweeps to the platform's own account, limits on
re-pledging, and acknowledgement letters for the custody account."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from audit.sample.plants.registry import CUSTODY, FLOWS, SNAPSHOTS, account_day_key, plant, trap
from audit.sample.platform import MAIN_ACCOUNT
from audit.sample.terms import CP_OWN, T_COMP, T_SWEEP

if TYPE_CHECKING:
    from audit.sample.book import Book, Day
    from audit.sample.builder import Builder
    from audit.sample.platform import Custody
    from audit.sample.tables import Snapshots


@plant("SEG-001", at=CUSTODY)
def plant_seg_001(b: Builder, custody: Custody) -> None:
    """Days whose custodian statement falls short of client money (by 1,286,400.00, by one cent)
    or is missing."""
    n = min(b.k, 3) if b.plant else 0
    days = b.r_plant.choice(np.arange(b.T), n, replace=False)
    for v, t in enumerate(sorted(days)):
        d = b.dates[t].isoformat()
        if v == 0:
            custody.balance[t] = custody.money[int(t)] - 128_640_000
            note = "custodian balance 1,286,400.00 below client money"
        elif v == 1:
            custody.kept[t] = False
            note = "no custodian statement for the day"
        else:
            custody.balance[t] = custody.money[int(t)] - 1
            note = "custodian balance one cent below client money"
        b.violation("SEG-001", "accounts", {"date": d}, note)


@plant("SEG-002", at=FLOWS)
def plant_seg_002(b: Builder, book: Book, day: Day) -> None:
    """A fifth of a client's cash swept to the platform's own account, once per story."""
    for s in b.by_role["seg002"]:
        if 1 + (s.variant * 3) % (b.T - 1) != day.t:
            continue
        a = s.account
        amount = int(book.cash[a] // 5 // 100 * 100)
        if amount <= 0:
            raise RuntimeError("no cash to sweep for a SEG-002 story")
        book.cash[a] -= amount
        book.add_ledger(day.day, [a], [-amount], CP_OWN, T_SWEEP,
                        tag=b.tag("SEG-002", "client money transferred to the platform's own account"))


@trap("SEG-002", at=FLOWS)
def trap_seg_002_inflow(b: Builder, book: Book, day: Day) -> None:
    """Money from the platform's own account into a client's: compensation, not a sweep."""
    for s in b.by_role["pown_pos"]:
        if (2 + s.variant * 5) % b.T == day.t:
            book.cash[s.account] += 18_800
            book.add_ledger(day.day, [s.account], [18_800], CP_OWN, T_COMP)


@plant("SEG-003", at=SNAPSHOTS)
def plant_seg_003(b: Builder, snap: Snapshots) -> None:
    """Securities re-pledged at 150% of the client's debt (the limit is 140%), on a day the
    account holds that much (cast with holdings worth 2.7 times its debt, see opening.py)."""
    debt, mv = snap.debt, snap.mv
    for s in b.by_role["seg003"]:
        rows = snap.rows_of(s.account)
        rows = rows[debt[rows] > 0]
        ok = rows[mv[rows] * 10 >= debt[rows] * 15]
        if not len(ok):
            raise RuntimeError("SEG-003 plant: the account never holds 150% of its debt")
        j = int(ok[s.variant % len(ok)])
        snap.pledged[j] = debt[j] * 15 // 10
        b.violation("SEG-003", "accounts", account_day_key(b, snap.account[j], snap.t[j]),
                    "securities re-pledged at 150% of the client's debt (limit 140%)")


@trap("SEG-003", at=SNAPSHOTS)
def trap_seg_003_at_the_limit(b: Builder, snap: Snapshots) -> None:
    """Securities re-pledged at exactly 140% of the debt."""
    debt, mv = snap.debt, snap.mv
    for s in b.by_role["tr_pledge_exact"]:
        rows = snap.rows_of(s.account)
        ok = rows[(debt[rows] > 0) & (mv[rows] * 10 >= debt[rows] * 14) & (debt[rows] * 14 % 10 == 0)]
        if len(ok):
            snap.pledged[ok[0]] = debt[ok[0]] * 14 // 10


@plant("SEG-004", at=CUSTODY)
def plant_seg_004(b: Builder, custody: Custody) -> None:
    """Profile eu: statements of a day whose acknowledgement letter is missing, or countersigned
    three days after the statement (days drawn after SEG-001's, among those with a statement)."""
    free = [t for t in range(b.T) if custody.kept[t]]
    m = min(2, len(free)) if b.plant else 0
    for v, t in enumerate(sorted(b.r_plant.choice(free, m, replace=False))):
        if v == 0:
            custody.ack[t], note = -1, "no countersigned acknowledgement letter for the statement"
        else:
            custody.ack[t] = int(b.dnum[t]) + 3
            note = "acknowledgement letter countersigned three days after the statement"
        b.violation("SEG-004", "custody", {"date": b.dates[int(t)].isoformat(),
                                           "custody_account": MAIN_ACCOUNT}, note)
