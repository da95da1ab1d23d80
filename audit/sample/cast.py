"""Who plays which story: the scripted accounts behind every planted violation and trap, drawn
from the book at random. The order of the roles is load-bearing: it decides which account each
story gets, so a role appended after the last one leaves every other story where it was."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.errors import UsageError

if TYPE_CHECKING:
    from audit.sample.builder import Builder

MIN_ACCOUNTS_ALL = 200  # smaller exports leave out CAP-002, CAP-003, LEV-004 and LEV-005
# Heavy roles whose accounts still deposit, withdraw and day-trade at random like any other.
GENERIC_FLOWS = frozenset((
    "kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_same_day", "lev001", "lev001_pro45",
    "pown_pos"))
# Roles whose balances the stories script day by day: the process never tops them up.
SCRIPTED_BALANCES = frozenset((
    "t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "con003", "lev002",
    "con008", "tr_met_call", "tr_holiday", "lev003", "wipe", "cap002", "cluster"))


@dataclass
class Story:
    """A scripted account: the violation (or trap) it carries and its parameters."""

    role: str
    account: int
    variant: int = 0
    params: dict[str, Any] = field(default_factory=dict)


def roles(b: Builder) -> None:
    """Cast the stories: ``b.stories`` and ``b.by_role``. A role named after a rule (``con001``)
    carries that rule's plant (plants/<pack>.py); ``tr_*``, ``t1_exact130`` ... ``t4_conc``,
    ``half``, ``pown_pos`` and the ``kyc_*`` roles carry traps; ``wipe`` is the S3 story (LEV-014,
    CLR-006, LEV-002), ``cluster`` the illiquid cluster (LEV-004, LEV-005) and ``cap002`` the one
    large client. Per-row rules get ``k`` plants each (2 below 1,000 accounts, then 3, 4, 5)."""
    k, N = b.k, b.N
    one = 1 if b.plant else 0
    # The capital pair (CAP-002 apart from CAP-003) and the illiquid cluster of the stress
    # rules need a book of many similar clients: at least 200 accounts. Smaller exports
    # leave them out, and plant one violation of each rule the larger packs added.
    b.scale = b.plant and N >= MIN_ACCOUNTS_ALL
    p = k if b.plant else 0  # per-row plants per rule
    p2 = k if b.scale else one
    # Heavy roles: scripted economics (positions, cash, debt or the day's process).
    heavy: list[tuple[str, int]] = [
        ("t1_exact130", 1), ("t2_recourse", 1), ("clr001", p), ("con001", p), ("con002", p),
        ("clr002", p), ("con003", p), ("lev002", p), ("t3_lev3", 1), ("debt_nopos", 1),
        ("kyc001", p), ("kyc002", p), ("kyc003", p), ("kyc004", p), ("kyc_hit_ok", 2),
        ("kyc_hit_nofin", 1), ("kyc_same_day", 1), ("lev001", p), ("lev001_pro45", 1),
        ("con004", p), ("half", 2), ("seg002", p), ("pown_pos", 2),
        ("tr_met_call", 1), ("con008", p2), ("lev003", p2), ("cap002", int(b.scale)), ("lev009", one), ("wipe", one),
        ("t4_conc", 1), ("tr_holiday", int(b.before_holiday is not None)),
    ]
    if b.plant and b.x3 is None:
        raise ValueError(f"days={b.T}: no three consecutive calendar days among the trading "
                         "days for the negative-balance story; use more days")
    # The illiquid cluster behind the stress plants (LEV-004, LEV-005): enough accounts that
    # none of them is a large client (CAP-002) while together they are a large part of the book.
    b.n_cluster = max(45, N // 100) if b.plant_table and b.scale else 0
    heavy.append(("cluster", b.n_cluster))
    # Light roles: a generic account whose own records carry one planted field (or a trap).
    light: list[tuple[str, int]] = [
        ("kyc005", p2), ("kyc006", max(p2, 3 * int(b.scale))), ("kyc007", p2), ("kyc008", p2),
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
        raise UsageError(f"--accounts {N} is too small for {total} scripted accounts "
                         f"({n_heavy} with scripted balances); use at least "
                         f"{max(math.ceil(n_heavy / 0.56), total + 5)}")
    pick = b.r_plant.permutation(N)[:total]
    b.stories: list[Story] = []
    i = 0
    b.light_roles = {r for r, _ in light}
    for role, n in heavy + light:
        for v in range(n):
            b.stories.append(Story(role, int(pick[i]), v))
            i += 1
    b.by_role: dict[str, list[Story]] = {r: [] for r, _ in heavy + light}
    for s in b.stories:
        b.by_role[s.role].append(s)
    b.heavy = np.zeros(N, dtype=bool)
    b.light = np.zeros(N, dtype=bool)
    for s in b.stories:
        (b.light if s.role in b.light_roles else b.heavy)[s.account] = True
    b.scripted = np.zeros(N, dtype=bool)  # excluded from random flows
    for s in b.stories:
        if s.role not in b.light_roles and s.role not in GENERIC_FLOWS:
            b.scripted[s.account] = True
