"""The financing contracts: one or two draws per financed account, opened on trading days
before the window, with their leverage at open and their terms. Plants change contracts at the
points this module names (``plants.FINANCING_DRAWS`` ... ``plants.FINANCINGS``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from audit.sample import plants
from audit.sample.market import day_number
from audit.sample.platform import terms_dates
from audit.sample.terms import DAY, DISCLOSURE, HOUR

if TYPE_CHECKING:
    from audit.sample.builder import Builder


@dataclass
class Draws:
    """The financed accounts and which of them draw twice (``plants.FINANCING_DRAWS``)."""

    accounts: np.ndarray
    two: np.ndarray


@dataclass
class Openings:
    """One row per draw: its account, whether it is the second one, and when it was opened
    (day number, and seconds since the epoch) (``plants.FINANCING_DATES``)."""

    accounts: np.ndarray
    second: np.ndarray
    day: np.ndarray
    sec: np.ndarray


@dataclass
class Multiples:
    """How often a contract opens at a whole multiple instead of a leverage of its own, and the
    multiples professional and retail clients get (``plants.CONTRACT_MULTIPLES``)."""

    share: float = 0.25
    professional: list[float] = field(default_factory=lambda: [3.0, 4.0, 4.5, 5.0])
    retail: list[float] = field(default_factory=lambda: [2.0, 2.5, 3.0])


def financings(b: Builder) -> None:
    """Draw the contracts (from ``b.r_fin``): ``b.fin_*``, one row per draw."""
    r = b.r_fin
    N = b.N
    fin_acc = np.nonzero(b.financed)[0]
    two = r.random(len(fin_acc)) < 0.25
    forced_one = np.zeros(N, dtype=bool)
    for s in b.stories:
        forced_one[s.account] = True
    # Scripted balances were solved for one draw opened before the last pre-window interest
    # charge (stories.py charges it that way).
    early = b.scripted
    two &= ~forced_one[fin_acc]
    # A second draw only on debts of 50,000 or more, so every draw carries at least 2,000 of
    # the client's own equity (the US minimum of LEV-008 holds but for its plant).
    two &= b.D0[fin_acc] >= 5_000_000
    draws = Draws(fin_acc, two)
    plants.run(plants.FINANCING_DRAWS, b, draws)
    two = draws.two
    f_acc = np.concatenate([fin_acc, fin_acc[two]])
    order = np.argsort(f_acc, kind="stable")
    f_acc = f_acc[order]
    second = np.concatenate([np.zeros(len(fin_acc), bool), np.ones(two.sum(), bool)])[order]
    D = b.D0[f_acc]
    share = np.where(two[np.searchsorted(fin_acc, f_acc)], r.uniform(0.2, 0.5, len(f_acc)), 0.0)
    amt_second = (np.round(D * share / 10_000) * 10_000).astype(np.int64)
    # amount: first draw = D - second draw
    sec_amt_by_acc = np.zeros(N, dtype=np.int64)
    sec_amt_by_acc[f_acc[second]] = amt_second[second]
    amount = np.where(second, amt_second, b.D0[f_acc] - sec_amt_by_acc[f_acc])
    # Opening dates (trading days before the window).
    H = len(b.hist_num)
    pc_idx = int(np.searchsorted(b.hist_num, b.prev_charge))  # index of prev charge day
    lo_first = np.where(early[f_acc], max(0, pc_idx - 100), max(0, H - 100))
    hi_first = np.where(early[f_acc], pc_idx, H)
    first_idx = lo_first + (r.random(len(f_acc)) * (hi_first - lo_first)).astype(np.int64)
    first_by_acc = np.full(N, -1, dtype=np.int64)
    first_by_acc[f_acc[~second]] = first_idx[~second]
    fi = first_by_acc[f_acc]
    sec_idx = fi + 1 + (r.random(len(f_acc)) * np.maximum(H - fi - 1, 1)).astype(np.int64)
    open_idx = np.where(second, np.minimum(sec_idx, H - 1), fi)
    open_day = b.hist_num[open_idx]
    open_sec = open_day * DAY + 9 * HOUR + 30 * 60 + r.integers(0, 5 * HOUR, len(f_acc))
    plants.run(plants.FINANCING_DATES, b, Openings(f_acc, second, open_day, open_sec))
    # Leverage at open: mostly continuous, some at the 1:N multiples; capped by category.
    n = len(f_acc)
    pro = b.pro[f_acc]
    lev = np.where(pro, np.round(r.uniform(1.5, 4.9, n), 2), np.round(r.uniform(1.3, 2.95, n), 2))
    menu = Multiples()
    plants.run(plants.CONTRACT_MULTIPLES, b, menu)
    fixed = r.random(n) < menu.share
    pro_mult = r.choice(menu.professional, n)
    # NOTE: a single multiple is not drawn at all (a draw would move every later one).
    ret_mult = np.full(n, menu.retail[0]) if len(menu.retail) == 1 else r.choice(menu.retail, n)
    lev = np.where(fixed & pro, pro_mult, lev)
    lev = np.where(fixed & ~pro, ret_mult, lev)
    b.fin_acc, b.fin_amount, b.fin_open_sec = f_acc, amount.astype(np.int64), open_sec
    b.fin_second = second
    b.fin_open_day = open_day
    b.fin_lev = lev
    rank = np.empty(n, dtype=np.int64)  # ids in order of opening
    rank[np.lexsort((f_acc, open_sec))] = np.arange(1, n + 1)
    b.fin_id = [f"F{i:06d}" for i in rank]
    b.first_fin_row = np.full(N, -1, dtype=np.int64)
    idx_first = np.nonzero(~second)[0]
    b.first_fin_row[f_acc[idx_first]] = idx_first
    # Contract terms (realistic variety; the rules only look at the planted ones).
    b.fin_rate = np.full(n, DISCLOSURE["interest_rate_annual"])
    b.fin_term = r.choice(np.array([180, 90, 182, -1]), n, p=[0.75, 0.1, 0.1, 0.05])
    b.fin_product = np.where(r.random(n) < 0.1, 3, 4)  # R3 / R4
    b.fin_under = r.choice(np.array(["equity", "etf", "gold", "bond"]), n, p=[0.86, 0.09, 0.03, 0.02])
    b.fin_holder = f_acc.copy()  # account holder (client index)
    b.fin_pwd = np.zeros(n, dtype=bool)
    lines = r.random(n) >= 0.3  # contract repeats the published lines, or leaves them out
    # NOTE: contracts signed under the old terms repeat the warning line only (the old 140%
    # liquidation line written into them would bind them where a profile accepts contract lines).
    _, _, effective = terms_dates(b)
    current = open_day >= day_number(effective)
    b.fin_warn = np.where(lines, DISCLOSURE["margin_call_ratio"], np.nan)
    b.fin_liqline = np.where(lines & current, DISCLOSURE["liquidation_ratio"], np.nan)
    b.future_fin = None  # a contract signed for a later start, not yet drawn (LEV-012)
    plants.run(plants.FINANCINGS, b)
    b.fin_equity = np.round(b.fin_amount / (b.fin_lev - 1)).astype(np.int64)
    b.fin_first_day = np.full(N, -1, dtype=np.int64)
    b.fin_first_day[f_acc[idx_first]] = open_day[idx_first]
    b.fin_first_sec = np.full(N, -1, dtype=np.int64)
    b.fin_first_sec[f_acc[idx_first]] = open_sec[idx_first]
