"""The cost of risk control: what a tighter leverage cap or a single-instrument concentration
limit costs the platform in interest, against the stressed shortfall it avoids (the frontier).

Each lever is applied to today's book as if it had been enforced beforehand (positions sold at
today's prices, proceeds repaying debt), then every frontier scenario runs with the spiral on
the changed book. The cost side is the interest the removed debt no longer earns: debt removed
x the platform's disclosed annual rate. Without a disclosed rate the money is left unknown
(null), never 0: a free lever and an unpriced one are different findings."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from audit.stress.book import Book
from audit.stress.model import ImpactModel, Lines
from audit.stress.scenarios import Scenario
from audit.stress.spiral import (
    CAPS, EQUITY_TOL, Outcome, capped_book, run_scenario, shock_factors,
)

CONCENTRATION_LIMITS = (0.5, 0.3, 0.2)  # at most this share of an account's holdings in one name
UNIFORM_FALLS = (0.40, 0.50)  # uniform scenarios run next to the severe one
LEVERAGE_CAP, CONCENTRATION = "leverage_cap", "concentration_limit"


# --- where a cap can bind --------------------------------------------------------------------

def binding_cap_limit(lines: Lines) -> float:
    """The highest leverage (positions / equity) an account still above the liquidation line can
    carry: with cash c >= 0, equity = assets - debt = debt (R - 1) and positions <= assets =
    R debt, so leverage <= R / (R - 1), largest at R = the line. A cap at or above it removes
    nothing the close-out rule has not already removed. Infinite for a line at or below 100%."""
    line = lines.liquidation
    return line / (line - 1) if line > 1 else math.inf


def split_caps(caps, lines: Lines) -> tuple[list[float], list[float]]:
    """(caps that can bind, caps at or above the binding limit)."""
    limit = binding_cap_limit(lines)
    # NOTE: a relative tolerance, so a cap typed as 4.3333 next to a 130% line counts as the limit.
    binding = [c for c in caps if c < limit * (1 - 1e-9)]
    return binding, [c for c in caps if c not in binding]


# --- the second lever: a single-instrument concentration limit --------------------------------

def concentration_book(book: Book, limit: float) -> tuple[Book, np.ndarray]:
    """The book if every account with debt had held at most ``limit`` of its holdings (market
    value) in any one instrument *after* the sale: the excess sold at today's prices, proceeds
    repaying debt (beyond the debt they stay as cash). Returns the book and the mask of
    accounts that had to sell.

    The holding left, T, solves T = sum_i min(v_i, limit * T): with the k largest positions cut
    to limit * T, T = (sum of the others) / (1 - k limit). An account with fewer than 1 / limit
    instruments cannot comply by selling (nothing short of T = 0 does), so it sells out."""
    if not 0 < limit < 1:
        raise ValueError(f"concentration limit {limit!r}: give a share between 0 and 1")
    n = book.n_accounts
    acct, value = book.pos_account, book.pos_value
    # positions by account, largest first: rank r = number of larger positions in the account
    order = np.lexsort((-value, acct))
    a, v = acct[order], value[order]
    count = np.bincount(a, minlength=n)
    start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
    rank = np.arange(len(a)) - start[a]
    prefix = np.concatenate(([0.0], np.cumsum(v)))
    total = np.bincount(a, weights=v, minlength=n)
    rest = total[a] - (prefix[np.arange(len(a))] - prefix[start[a]])  # positions ranked >= r
    room = 1 - rank * limit
    cand = np.divide(rest, room, out=np.zeros_like(rest), where=room > 0)
    tol = 1e-9 * np.maximum(total[a], 1.0)
    larger = np.where(rank > 0, v[np.maximum(np.arange(len(a)) - 1, 0)], np.inf)
    valid = (room > 0) & (v <= limit * cand + tol) & (larger >= limit * cand - tol)
    kept_total = np.zeros(n)
    np.maximum.at(kept_total, a[valid], cand[valid])
    kept_total = np.minimum(kept_total, total)
    # NOTE: only accounts with debt: a cash account owes nothing and no limit on it changes the
    # platform's loss; forcing it to sell would only inflate the count of clients affected.
    sells = (book.debt > 0) & (total - kept_total > EQUITY_TOL)
    kept_total = np.where(sells, kept_total, total)
    keep_pos = np.ones(len(value))
    cap_value = limit * kept_total[acct]
    cut = sells[acct] & (value > cap_value)
    np.divide(cap_value, value, out=keep_pos, where=cut & (value > 0))
    # an account that cannot comply sells everything
    keep_pos[sells[acct] & (kept_total[acct] <= 0)] = 0.0
    sale = total - np.bincount(acct, weights=value * keep_pos, minlength=n)
    debt = book.debt - sale
    cash = book.cash + np.maximum(-debt, 0)
    limited = replace(book, cash=cash, debt=np.maximum(debt, 0),
                      pos_units=book.pos_units * keep_pos, pos_value=value * keep_pos)
    return limited, sells


# --- the frontier ----------------------------------------------------------------------------

def frontier_scenarios(severe: Scenario, loaded: list[Scenario]) -> list[Scenario]:
    """The severe scenario and uniform falls of 40% and 50%: a loaded scenario with the same
    shocks is used under its own name, else one is made here."""
    chosen = [severe]
    for fall in UNIFORM_FALLS:
        shocks = {"default": -fall}
        same = next((s for s in loaded if s.shocks == shocks and s.derive is None), None)
        made = same or Scenario(
            name=f"uniform-{round(fall * 100)}", title=f"Every holding falls {fall:.0%}",
            title_zh=f"全部持仓下跌{fall:.0%}",
            kind="uniform", source="Sensitivity grid of the toolkit; no historical episode",
            source_zh="本工具的敏感性网格，非历史事件",
            confidence="derived", shocks=shocks)
        if all(made.shocks != c.shocks and made.name != c.name for c in chosen):
            chosen.append(made)
    return chosen


def annual_rate(disclosure: dict[str, Any] | None) -> float | None:
    """The disclosed annual financing rate, or None when the disclosure gives none."""
    rate = (disclosure or {}).get("interest_rate_annual")
    try:
        rate = None if rate is None else float(rate)
    except (TypeError, ValueError):
        return None
    return rate if rate is not None and math.isfinite(rate) and rate >= 0 else None


def _clients(book: Book, mask: np.ndarray) -> int:
    """Distinct clients among the accounts in ``mask``; an account without a client id counts
    as its own client."""
    if book.client_ids is None:
        return int(mask.sum())
    ids = pl.Series("c", book.client_ids[mask], dtype=pl.String)
    return int(ids.drop_nulls().n_unique() + ids.null_count())


def cost_of_control(book: Book, severe: Outcome, loaded: list[Outcome], lines: Lines,
                    impact: ImpactModel, disclosure: dict[str, Any] | None, caps=CAPS,
                    limits=CONCENTRATION_LIMITS, path=None) -> dict[str, Any]:
    """The frontier: for each binding leverage cap and each concentration limit, the debt it
    removes, the interest forgone a year, the accounts and clients affected, and the stressed
    shortfall of each frontier scenario with the shortfall avoided against today's book.

    The shortfall is the verdict's: the multi-day path with ``path`` (multiday.PathParams), or
    the one-instant spiral when ``path`` is None."""
    from audit.stress.multiday import run_path

    weights = book.value_weights
    scenarios = frontier_scenarios(severe.scenario, [o.scenario for o in loaded])
    # NOTE: every severe scenario is one capital must cover (the concentration one too): each
    # gets its line on the frontier, after the one the spiral section follows.
    names = {s.name for s in scenarios}
    scenarios[1:1] = [o.scenario for o in loaded if o.scenario.severe
                      and o.scenario.name not in names]
    known = {o.scenario.name: o for o in loaded}

    def stressed(on: Book, s: Scenario, outcome: Outcome | None = None) -> float:
        if path is None:
            return (outcome or run_scenario(on, s, lines, impact, weights)).spiral_shortfall
        if outcome is not None and outcome.path is not None:
            return outcome.path.shortfall
        return run_path(on, shock_factors(on, s), lines, impact, path, weights).shortfall

    base = {s.name: stressed(book, s, known.get(s.name)) for s in scenarios}
    rate = annual_rate(disclosure)
    debt_today = float(book.debt.sum())
    binding, dropped = split_caps(caps, lines)

    def row(lever: str, level: float, changed: Book, mask: np.ndarray) -> dict[str, Any]:
        removed = debt_today - float(changed.debt.sum())
        outcomes = {s.name: base[s.name] if not mask.any() else stressed(changed, s)
                    for s in scenarios}
        return {"lever": lever, "level": level, "accounts_affected": int(mask.sum()),
                "clients_affected": _clients(book, mask), "debt_removed": removed,
                "interest_forgone": None if rate is None else removed * rate,
                "scenarios": [{"name": s.name, "shortfall": outcomes[s.name],
                               "shortfall_avoided": base[s.name] - outcomes[s.name]}
                              for s in scenarios]}

    rows = [row(LEVERAGE_CAP, float(c), *capped_book(book, c)) for c in binding]
    rows += [row(CONCENTRATION, float(x), *concentration_book(book, x)) for x in limits]
    limit = binding_cap_limit(lines)
    return {
        "engine": "multi-day path" if path is not None else "one-instant spiral",
        "interest_rate_annual": rate,
        "rate_source": "disclosure.interest_rate_annual" if rate is not None
        else "no rate disclosed: interest forgone is unknown",
        "debt": debt_today,
        "scenarios": [{"name": s.name, "title": s.title, "title_zh": s.title_zh,
                       "shortfall": base[s.name]}
                      for s in scenarios],
        "binding_cap_limit": None if math.isinf(limit) else limit,
        "caps_not_binding": [float(c) for c in dropped],
        "caps_note": None if not dropped else (
            f"caps of {limit:.2f}x and above cannot bind: an account above the "
            f"{lines.liquidation:.0%} liquidation line carries at most line / (line - 1) = "
            f"{limit:.2f}x leverage, so the close-out rule already removes any account above "
            "such a cap"),
        "rows": rows,
    }
