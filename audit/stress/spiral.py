"""The one-instant engine: a static shock, then the deleveraging spiral to its fixed point; leverage caps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from audit.stress.boards import DAILY_LIMIT, LIMITED_CLASSES
from audit.stress.book import Book
from audit.stress.model import ImpactModel, Lines
from audit.stress.scenarios import Scenario

EQUITY_TOL = 0.005  # half a cent: equity at or below this is wiped out (float sums)
CAPS = tuple(range(2, 11))


# --- one scenario: static shock, then the spiral ---------------------------------------------

@dataclass
class Outcome:
    """What one scenario does to the book."""

    scenario: Scenario
    accounts_in_call: int
    accounts_wiped_out: int
    shortfall: float
    book_loss: float  # value the shock takes from the whole book
    spiral_shortfall: float
    spiral_book_loss: float
    spiral_wiped_out: int
    accounts_liquidated: int
    rounds: list[dict[str, Any]]
    converged: bool
    max_days_to_liquidate: float | None  # None: an instrument without ADV was sold
    illiquid_instruments_sold: int
    no_market_instruments_sold: int = 0  # of them, with an ADV of 0: no market at all
    path: Any = None  # multiday.PathOutcome: the same scenario day by day (run_stress sets it)
    # modelrisk.path_grid for a severe scenario: its path verdict under other model settings
    path_grid: dict[str, Any] | None = None

    @property
    def amplification(self) -> float | None:
        # NOTE: undefined (None) when the static shock leaves no shortfall to amplify.
        return self.spiral_shortfall / self.shortfall if self.shortfall > EQUITY_TOL else None


def shock_factors(book: Book, scenario: Scenario) -> np.ndarray:
    """Price factor (1 + shock) per instrument, by precedence: the asset-class shock; for an
    equity or ETF, its board's leg (``boards``) or N limit-downs of its board (``limit_downs``);
    then, for the book's largest equity/ETF names, N limit-downs of their own board
    (``single_name``). A limit-down factor is (1 - daily limit)^N."""
    per_class = {c: 1.0 + scenario.shock_for(c) for c in set(book.asset_class.tolist())}
    factor = np.array([per_class[c] for c in book.asset_class], dtype=np.float64)
    if not (scenario.boards or scenario.limit_downs or scenario.single_name):
        return factor
    board = (book.board if book.board is not None
             else np.full(book.n_instruments, "none", dtype=object))
    limited = np.isin(book.asset_class, list(LIMITED_CLASSES))
    if scenario.boards:
        for name, shock in scenario.boards.items():
            factor[limited & (board == name)] = 1.0 + shock
    if scenario.limit_downs:
        on_board = limited & np.isin(board, list(DAILY_LIMIT))
        factor[on_board] = limit_down_factor(board[on_board], scenario.limit_downs)
    if scenario.single_name:
        top = top_names(book, scenario.single_name.top)
        factor[top] = limit_down_factor(board[top], scenario.single_name.limit_downs)
    return factor


def limit_down_factor(board: np.ndarray, n: int) -> np.ndarray:
    """(1 - limit)^n per instrument: the close after n limit-down days on its board. An
    instrument without a daily limit (not an A-share) is given the main board's 10%, so that
    "n limit-downs" stays a defined fall wherever it is listed."""
    limit = np.array([DAILY_LIMIT.get(b, DAILY_LIMIT["main"]) for b in board], dtype=np.float64)
    return (1.0 - limit) ** n


def top_names(book: Book, top: int) -> np.ndarray:
    """Indices of the ``top`` largest equity/ETF holdings by share of the book's value; ties
    broken by instrument id, so the choice does not depend on the file's row order."""
    limited = np.isin(book.asset_class, list(LIMITED_CLASSES)) & (book.held_value > 0)
    # NOTE: one row per instrument (thousands at most), so a Python sort is cheap here.
    ranked = sorted(np.flatnonzero(limited).tolist(),
                    key=lambda k: (-book.held_value[k], str(book.instrument_ids[k])))
    return np.array(ranked[:top], dtype=np.int64)


def run_scenario(book: Book, scenario: Scenario, lines: Lines, impact: ImpactModel,
                 weights: np.ndarray | None = None) -> Outcome:
    """The static shock on every account, then the deleveraging spiral to its fixed point."""
    shocked = shock_factors(book, scenario)
    s = _spiral(book, shocked, lines, impact, book.value_weights if weights is None else weights)
    start_value = float(book.held_value.sum())
    shocked_value = float(book.held_value @ shocked)
    return Outcome(
        scenario=scenario, accounts_in_call=s["static_in_call"],
        accounts_wiped_out=s["static_wiped_out"], shortfall=s["static_shortfall"],
        book_loss=start_value - shocked_value, spiral_shortfall=s["shortfall"],
        spiral_book_loss=start_value - shocked_value + s["fire_sale_loss"],
        spiral_wiped_out=s["wiped_out"], accounts_liquidated=s["liquidated"],
        rounds=s["rounds"], converged=s["converged"], max_days_to_liquidate=s["max_days"],
        illiquid_instruments_sold=s["illiquid_sold"],
        no_market_instruments_sold=s["no_market_sold"],
    )


def _spiral(book: Book, shocked: np.ndarray, lines: Lines, impact: ImpactModel,
            weights: np.ndarray) -> dict[str, Any]:
    """Close out accounts at or below the liquidation line, move prices by their cumulative
    sales, and repeat until no new account is closed (or ``impact.max_rounds``). The first
    pass, before any sale, gives the static figures."""
    n, k = book.n_accounts, book.n_instruments
    vol = np.array([impact.vol_for(c) for c in book.asset_class], dtype=np.float64)
    leveraged = book.debt > 0
    # NOTE: other holders' synthetic accounts (book.external) are closed out and sell like the
    # platform's, but every figure (shortfall, counts, losses) counts the platform's only.
    own = book.platform
    counted = leveraged & own
    acct, inst, units, value = book.leveraged_positions
    factor = shocked
    sold = np.zeros(k)
    held_value = book.held_value.copy()  # initial value still held, by instrument
    shocked_value = float(held_value @ shocked)
    closed = np.zeros(n, dtype=bool)
    closed_assets = np.zeros(n)
    realised = 0.0
    rounds: list[dict[str, Any]] = []
    static: dict[str, Any] = {}
    converged = False
    for number in range(1, impact.max_rounds + 2):
        marked = book.cash + np.bincount(acct, weights=value * factor[inst], minlength=n)
        assets = np.where(closed, closed_assets, marked)
        shortfall = _shortfall(assets, book.debt, counted)
        if not static:
            static = {"static_shortfall": shortfall, "static_assets": assets,
                      "static_in_call": int((counted & lines.crossed(assets, lines.call, book.debt)).sum()),
                      "static_wiped_out": _wiped_out(assets, book.debt, counted)}
        if rounds:
            rounds[-1]["shortfall"] = shortfall
        breach = leveraged & ~closed & lines.crossed(assets, lines.liquidation, book.debt)
        if not breach.any():
            converged = True
            break
        if number > impact.max_rounds:
            break
        selling = breach[acct]
        at = np.flatnonzero(selling)
        s_acct, s_inst, s_value = acct[at], inst[at], value[at]
        sold_before = sold
        sold = sold + np.bincount(s_inst, weights=units[at], minlength=k)
        before = factor
        factor = shocked * (1 - impact.impact(sold, book.adv, vol))
        # Sellers execute at the average of the impact curve over the units they add (exact
        # for any law, so proceeds do not depend on how sellers are split into rounds).
        executed = shocked * (1 - impact.average_fall(sold_before, sold, book.adv, vol))
        proceeds = np.bincount(s_acct, weights=s_value * executed[s_inst], minlength=n)
        closed_assets[breach] = book.cash[breach] + proceeds[breach]
        closed |= breach
        if book.external is not None:
            proceeds = np.where(own, proceeds, 0.0)
            s_value = np.where(own[s_acct], s_value, 0.0)
        held_value -= np.bincount(s_inst, weights=s_value, minlength=k)
        realised += float(proceeds.sum())
        # NOTE: closed accounts' positions are masked by `closed`; dropping them costs a copy,
        # worth it only once they are a large part of what is left.
        if len(at) > len(acct) // 4:
            rest = ~selling
            acct, inst, units, value = acct[rest], inst[rest], units[rest], value[rest]
        move = np.divide(factor, before, out=np.ones(k), where=before > 0) - 1
        rounds.append({"round": number, "accounts_liquidated": int((breach & own).sum()),
                       "sales_value": float(proceeds.sum()),
                       "avg_price_move": float(weights @ move),
                       "cumulative_loss": shocked_value - float(held_value @ factor) - realised})
    liquid = book.adv > 0
    days = np.divide(sold, book.adv, out=np.zeros(k), where=liquid)
    illiquid_sold = int(((sold > 0) & ~liquid).sum())
    # NOTE: a forced sale of an instrument with no market (ADV 0) cannot be absorbed in any
    # number of days; one whose ADV the export does not give leaves the days unknown.
    no_market_sold = int(((sold > 0) & (book.adv <= 0)).sum())
    return {**static, "shortfall": shortfall,
            "fire_sale_loss": rounds[-1]["cumulative_loss"] if rounds else 0.0,
            "wiped_out": _wiped_out(assets, book.debt, counted),
            "liquidated": int((closed & own).sum()), "rounds": rounds, "converged": converged,
            "max_days": None if illiquid_sold else float(days.max(initial=0.0)),
            "illiquid_sold": illiquid_sold, "no_market_sold": no_market_sold,
            "assets": assets, "closed": closed, "sold": sold, "factor": factor}


def _shortfall(assets: np.ndarray, debt: np.ndarray, leveraged: np.ndarray) -> float:
    """Debt the accounts' assets no longer cover: the platform's loss. Gaps under half a cent
    are float noise (a 10x account after a 10% fall), not losses."""
    gap = debt - assets
    return float(gap[leveraged & (gap > EQUITY_TOL)].sum())


def _wiped_out(assets: np.ndarray, debt: np.ndarray, leveraged: np.ndarray) -> int:
    return int((leveraged & (assets - debt <= EQUITY_TOL)).sum())


# --- leverage caps ---------------------------------------------------------------------------

def capped_book(book: Book, cap: float) -> tuple[Book, np.ndarray]:
    """The book if every account above ``cap`` (positions / equity) had been de-levered to it:
    positions sold pro rata at today's prices, proceeds repaying debt (equity unchanged).
    Returns the capped book and the mask of accounts that breached the cap."""
    value = book.account_values()
    equity = book.cash + value - book.debt
    breach = (value > 0) & ((equity <= 0) | (value > cap * np.maximum(equity, 0)))
    keep = np.ones(book.n_accounts)
    # NOTE: an account with no equity cannot reach any cap; it is sold out entirely.
    np.divide(cap * equity, value, out=keep, where=breach & (equity > 0))
    keep[breach & (equity <= 0)] = 0.0
    sale = value * (1 - keep)
    debt = book.debt - sale
    cash = book.cash + np.maximum(-debt, 0)  # proceeds beyond the debt stay as cash
    scale = keep[book.pos_account]
    capped = replace(book, cash=cash, debt=np.maximum(debt, 0),
                     pos_units=book.pos_units * scale, pos_value=book.pos_value * scale)
    return capped, breach


def sensitivity(book: Book, scenario: Scenario, lines: Lines, impact: ImpactModel,
                caps=CAPS, uncapped: Outcome | None = None) -> list[dict[str, Any]]:
    """For each cap: the share of accounts above it today, and the stressed shortfall of
    ``scenario`` (spiral included) had they been de-levered to the cap beforehand.
    ``uncapped``: the scenario's outcome on the book as it is, reused where no account breaches."""
    weights = book.value_weights
    rows = []
    for cap in caps:
        capped, breach = capped_book(book, cap)
        if uncapped is not None and not breach.any():
            outcome = uncapped
        else:
            outcome = run_scenario(capped, scenario, lines, impact, weights)
        rows.append({"cap": cap, "accounts_breaching": int(breach.sum()),
                     "share_breaching": float(breach.mean()) if len(breach) else 0.0,
                     "static_shortfall": outcome.shortfall,
                     "shortfall": outcome.spiral_shortfall})
    return rows


