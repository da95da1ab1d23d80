"""Stress tests of a book: scenario shocks, the deleveraging spiral, the cost of risk control (docs/stress-model.md).

One module per stage: ``scenarios`` (the files), ``model`` (impact law and lines), ``book``
(the export as arrays), ``spiral`` (the one-instant engine), ``multiday`` (the multi-day path),
``exposures`` (the market's other leveraged holders), ``cover`` and ``funding`` (who bears the
loss, can the platform pay), ``reverse`` (the shocks that exhaust capital), ``modelrisk`` (the
parameter grid and the assumptions register), ``frontier`` (what leverage caps and
concentration limits cost and save), ``result`` (stress.json and the derived table); this
module runs them in order."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from audit.stress.book import (  # noqa: F401
    LEVERAGE_BUCKETS, NEAR_CALL_FALL, REQUIRED_TABLES, TOP_N, Book, _as_of, book_summary,
    build_book, capital_at, concentration,
)
from audit.stress.cover import (  # noqa: F401
    Groups, account_shortfalls, client_groups, concentration_detail, cover,
)
from audit.stress.exposures import (  # noqa: F401
    common_exposures, exponential_fall, glt_vulnerability, with_other_holders,
)
from audit.stress.frontier import (  # noqa: F401
    CONCENTRATION_LIMITS, binding_cap_limit, concentration_book, cost_of_control,
)
from audit.stress.funding import funding_stress  # noqa: F401
from audit.stress.model import (  # noqa: F401
    FINRA_CALL_LINE, STRESSED_DAILY_VOL, ImpactModel, Lines, StressError, platform_lines,
)
from audit.stress.modelrisk import model_grid, path_grid  # noqa: F401
from audit.stress.multiday import (  # noqa: F401
    PARTICIPATION, PathOutcome, PathParams, grace_days_from, run_path,
)
from audit.stress.result import (  # noqa: F401
    AMPLIFICATION_MIN, MONEY_KEYS, StressResult, _jsonable, _money, _num, _ratio, stress_table,
    write_stress,
)
from audit.stress.reverse import (  # noqa: F401
    PATH_FULL_UP_TO, one_instant_engine, path_engine, reverse_stress,
)
from audit.stress.scenarios import (  # noqa: F401
    ASSET_CLASSES, DEFAULT, KIND_ORDER, SCENARIOS_DIR, Dates, Derive, Scenario, ScenarioError,
    derive_shock, index_closes, load_scenario, load_scenarios,
)
from audit.stress.spiral import (  # noqa: F401
    CAPS, EQUITY_TOL, Outcome, _spiral, capped_book, run_scenario, sensitivity, shock_factors,
)
from audit.stress.suspensions import Suspensions, suspensions_at, with_suspensions  # noqa: F401

# --- the entry points ------------------------------------------------------------------------

def run_stress(tables: dict[str, pl.DataFrame], disclosure: dict[str, Any] | None,
               scenarios: list[Scenario] | None = None, as_of: date | str | None = None,
               impact: ImpactModel | None = None, caps=CAPS,
               line_inclusive: bool = False, funding_runoff: float | None = None,
               path: PathParams | None = None) -> StressResult:
    """Every scenario on the book of the as-of date: the static shock, the multi-day path and
    the one-instant spiral; concentration and leverage caps, cover-1 / cover-2 by client group
    and the funding stress. ``path`` defaults to PathParams() with the grace days the
    disclosure gives. ``funding_runoff`` (else the disclosure's): share of the lending funded by
    others who can withdraw it in 30 days. The path's suspensions, when ``path`` gives none,
    come from the optional ``suspensions`` table. Raises StressError when a table it needs is
    missing or empty."""
    as_of = _as_of(tables, as_of)
    impact = impact or ImpactModel()
    scenarios = load_scenarios() if scenarios is None else scenarios
    if not scenarios:
        raise StressError("no scenario to run; add files to rules/scenarios or name one")
    book = build_book(tables, as_of)
    lines = platform_lines(disclosure, inclusive=line_inclusive)
    weights = book.value_weights
    outcomes = [run_scenario(book, s, lines, impact, weights) for s in scenarios]
    path = path or PathParams(grace_days=grace_days_from(disclosure))
    # NOTE: the optional suspensions table, as trading-day spans of the horizon.
    suspended = suspensions_at(book, tables, as_of, int(path.horizon))
    path = with_suspensions(path, suspended)
    for o in outcomes:
        o.path = run_path(book, shock_factors(book, o.scenario), lines, impact, path, weights)
    severe = pick_severe(outcomes)
    top_share, top_days = concentration(book)
    capital = capital_at(tables, as_of)
    # NOTE: LEV-004's verdict comes from the path; whether it holds under other model settings
    # decides its severity (a finding on the toolkit's own parameters is not a critical one).
    for o in outcomes:
        if o.scenario.severe:
            o.path_grid = path_grid(book, shock_factors(book, o.scenario), lines,
                                    capital["net_capital"], impact, path, weights, known=o.path)
    d = disclosure or {}
    capital.update(capital_buffer_min=d.get("capital_buffer_min"),
                   liquidity_buffer_min=d.get("liquidity_buffer_min"))
    # NOTE: who bears the loss and what the forced sales bring in follow the verdict's engine:
    # the severe scenario's path per account (assets at the horizon, what was realised).
    # NOTE: of several severe scenarios, the one with the largest stressed loss binds: who
    # bears it is the question cover-1 / cover-2 answers.
    binding = max((o for o in outcomes if o.scenario.severe), default=severe,
                  key=lambda o: o.path.shortfall)
    assets_after, closed_after = binding.path.assets, binding.path.closed
    realised_after = book.cash + binding.path.proceeds
    groups = client_groups(book, tables.get("financings"), as_of)
    runoff = funding_runoff if funding_runoff is not None else d.get("funding_runoff")
    model = {**impact.describe(), "call_line": lines.call, "call_line_source": lines.call_source,
             "liquidation_line": lines.liquidation,
             "liquidation_line_source": lines.liquidation_source,
             "line_crossed": "at or below the line" if lines.inclusive else "strictly below the line",
             "near_call": f"not in call, but a {NEAR_CALL_FALL:.0%} fall of its holdings "
                          "would put it in call",
             "frontier": "each leverage cap that can bind (accounts above it de-levered to it) "
                         "and each single-instrument concentration limit (an account's excess "
                         "over the limit sold) applied beforehand: pro-rata sales at today's "
                         "prices repaying debt; then the severe scenario and uniform 40% and "
                         "50% falls with the spiral. Interest forgone = debt removed x the "
                         "disclosed annual rate",
             "fire_sale_loss": "spiral shortfall minus static shortfall: the platform's loss "
                               "from forced sales beyond the shock itself, in money and over "
                               "net capital and debt; book_fire_sale_loss_vs_equity is the "
                               "whole book's fire-sale loss over client equity (Greenwood, "
                               "Landier & Thesmar 2015)",
             "amplification": f"spiral / static shortfall, given only when the static "
                              f"shortfall is at least {AMPLIFICATION_MIN:.0%} of net capital: "
                              "below that the ratio has a near-zero denominator and says "
                              "nothing",
             "participation": f"days to liquidate = units sold / ({PARTICIPATION:.0%} x ADV): "
                              "a forced seller takes at most that share of normal volume a day"}
    full = book.n_accounts <= PATH_FULL_UP_TO
    # NOTE: the other holders enter only this section; the scenarios above stay the platform's.
    exposures = common_exposures(book, tables, as_of, lines, impact, severe.scenario,
                                 net_capital=capital["net_capital"])
    return StressResult(
        as_of=as_of, model=model, book=book_summary(book, lines), outcomes=outcomes,
        spiral_scenario=severe.scenario.name, concentration=top_share, liquidity=top_days,
        frontier=cost_of_control(book, severe, outcomes, lines, impact, disclosure, caps,
                                 path=path),
        capital=capital,
        flags={**book.flags, **(suspended.flags if suspended else {})},
        arrays=book, lines=lines, impact=impact,
        common_exposures=exposures,
        cover=cover(book, groups, account_shortfalls(book, assets_after),
                    capital["net_capital"], binding.scenario.name),
        concentration_detail=concentration_detail(book),
        funding=funding_stress(book, lines, realised_after, closed_after,
                               capital["liquid_assets"], runoff, binding.scenario.name),
        # NOTE: the reverse test searches the verdict's engine (the path); the one-instant
        # spiral's, with its floor-driven cliffs, is kept beside it as a sensitivity.
        reverse=reverse_stress(book, lines, impact, capital["net_capital"],
                               engine=path_engine(lines, impact, path),
                               top=top_share if full else top_share[:3], grid=full),
        reverse_instant=reverse_stress(book, lines, impact, capital["net_capital"],
                                       top=top_share if full else top_share[:3], grid=full),
        model_risk=model_grid(book, severe.scenario, lines, capital["net_capital"], impact),
    )


def pick_severe(outcomes: list[Outcome]) -> Outcome:
    """The first scenario marked severe; without one, the one with the largest stressed loss."""
    marked = [o for o in outcomes if o.scenario.severe]
    if marked:
        return marked[0]
    return max(outcomes, key=lambda o: (o.spiral_shortfall, o.spiral_book_loss))


