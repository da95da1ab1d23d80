"""What a stress run found: stress.json, the derived `stress` table rules read, JSON rounding."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from audit import contract
from audit.stress.book import Book
from audit.stress.model import ImpactModel, Lines
from audit.stress.multiday import PARTICIPATION
from audit.stress.spiral import EQUITY_TOL, Outcome, _spiral, shock_factors, top_names

# NOTE: a forced seller cannot take all of a stock's normal volume: the one-instant engine's
# days are stated at the multi-day path's participation rate (20% of ADV a day by default).
# Spiral / static shortfall is shown only when the static shortfall is at least this share of
# net capital; below it the ratio is a near-zero denominator (thousands of "x").
AMPLIFICATION_MIN = 0.01


# --- the result ------------------------------------------------------------------------------

@dataclass
class StressResult:
    """Everything one stress run found; ``to_dict()`` is what stress.json holds."""

    as_of: date
    model: dict[str, Any]
    book: dict[str, Any]
    outcomes: list[Outcome]
    spiral_scenario: str
    concentration: list[dict[str, Any]]
    liquidity: list[dict[str, Any]]
    frontier: dict[str, Any]
    capital: dict[str, Any]
    flags: dict[str, int]
    arrays: Book | None = field(default=None, repr=False)  # for accounts_after()
    lines: Lines | None = None
    impact: ImpactModel | None = None
    # the other leveraged holders of the platform's stocks (exposures.py); None: not run
    common_exposures: dict[str, Any] | None = None
    cover: dict[str, Any] | None = None  # cover-1 / cover-2 by client group (stress.cover)
    concentration_detail: dict[str, Any] | None = None
    funding: dict[str, Any] | None = None  # the funding stress (stress.funding)
    reverse: dict[str, Any] | None = None  # reverse.reverse_stress on the multi-day path
    reverse_instant: dict[str, Any] | None = None  # the same on the one-instant spiral
    model_risk: dict[str, Any] | None = None  # modelrisk.model_grid

    def outcome(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.scenario.name == name)

    def accounts_after(self, name: str | None = None) -> pl.DataFrame:
        """Per account with debt, after scenario ``name`` (default: the severe one): assets,
        equity and collateral ratio after the shock, in call, wiped out, the static
        shortfall, and after the spiral: closed out, assets and shortfall."""
        name = name or self.spiral_scenario
        book, lines = self.arrays, self.lines
        s = _spiral(book, shock_factors(book, self.outcome(name).scenario), lines, self.impact,
                    book.value_weights)
        static, final, debt = s["static_assets"], s["assets"], book.debt
        has_debt = debt > 0
        frame = pl.DataFrame({
            "account_id": book.account_ids, "debt": debt, "assets": static,
            "equity": static - debt,
            "collateral_ratio": np.divide(static, debt, out=np.full_like(debt, np.nan),
                                          where=has_debt),
            "in_call": lines.crossed(static, lines.call, debt),
            "wiped_out": static - debt <= EQUITY_TOL,
            "shortfall": np.where(debt - static > EQUITY_TOL, debt - static, 0.0),
            "closed_out": s["closed"], "spiral_assets": final,
            "spiral_shortfall": np.where(debt - final > EQUITY_TOL, debt - final, 0.0),
        })
        return frame.filter(pl.Series(has_debt)).with_columns(
            pl.col("collateral_ratio").fill_nan(None))

    def scenario_row(self, o: Outcome) -> dict[str, Any]:
        s, cap = o.scenario, self.capital
        net, liquid = cap["net_capital"], cap["liquid_assets"]
        # NOTE: the verdict's loss is the multi-day path's (LEV-004); the one-instant spiral,
        # with no price limits and a price floor no source fixes, is a sensitivity.
        stressed = o.spiral_shortfall if o.path is None else o.path.shortfall
        after = None if net is None else net - stressed
        buffer_min, liquid_min = cap.get("capital_buffer_min"), cap.get("liquidity_buffer_min")
        fire_sale = o.spiral_shortfall - o.shortfall
        book_fire_sale = o.spiral_book_loss - o.book_loss
        equity = self.book.get("equity")
        days = o.max_days_to_liquidate
        rate = PARTICIPATION if o.path is None else o.path.params.participation
        return {
            "name": s.name, "title": s.title, "kind": s.kind, "source": s.source,
            "title_zh": s.title_zh, "source_zh": s.source_zh,
            "confidence": s.confidence, "severe": s.severe,
            "dates": None if s.dates is None else {
                "start": s.dates.start.isoformat(),
                "end": s.dates.end.isoformat() if s.dates.end else None},
            "shocks": {c: _num(v, 6) for c, v in sorted(s.shocks.items())},
            "derivation": _jsonable(s.derivation),
            **self.scenario_legs(s),
            "accounts": self.book["accounts"],
            "accounts_in_call": o.accounts_in_call, "accounts_wiped_out": o.accounts_wiped_out,
            "shortfall": _money(o.shortfall), "spiral_shortfall": _money(o.spiral_shortfall),
            "fire_sale_loss": _money(fire_sale),
            "fire_sale_loss_vs_capital": _ratio(fire_sale, net),
            "fire_sale_loss_vs_debt": _ratio(fire_sale, self.book.get("debt")),
            "book_fire_sale_loss": _money(book_fire_sale),
            "book_fire_sale_loss_vs_equity": None if not equity or equity <= 0
            else _ratio(book_fire_sale, equity),
            # NOTE: unknown capital leaves the ratio unjudged, hence null.
            "amplification": _num(o.amplification, 4)
            if net and o.shortfall >= AMPLIFICATION_MIN * net else None,
            "spiral_rounds": len(o.rounds),
            "converged": o.converged, "accounts_liquidated": o.accounts_liquidated,
            "spiral_accounts_wiped_out": o.spiral_wiped_out,
            "book_loss": _money(o.book_loss), "spiral_book_loss": _money(o.spiral_book_loss),
            "stressed_shortfall": _money(stressed),
            "stressed_engine": "one-instant spiral" if o.path is None else "multi-day path",
            "shortfall_vs_capital": _ratio(stressed, net),
            "spiral_shortfall_vs_capital": _ratio(o.spiral_shortfall, net),
            "static_shortfall_vs_capital": _ratio(o.shortfall, net),
            "shortfall_vs_liquidity": _ratio(stressed, liquid),
            "capital_after": _money(after),
            "covered_by_capital": None if net is None else bool(net >= stressed),
            "below_capital_buffer": None if after is None or buffer_min is None
            else bool(after < buffer_min),
            "below_liquidity_buffer": None if liquid is None or liquid_min is None
            else bool(liquid - stressed < liquid_min),
            "max_days_to_liquidate": _num(days, 4),
            "max_days_at_participation": None if days is None else _num(days / rate, 4),
            "illiquid_instruments_sold": o.illiquid_instruments_sold,
            "no_market_instruments_sold": o.no_market_instruments_sold,
            **_path_keys(o.path),
            "participation": rate,  # the path's rate, stated also where no path was run
            "verdict_stable": None if o.path_grid is None else o.path_grid["verdict_stable"],
            "path_grid": _jsonable(o.path_grid),
        }

    def scenario_legs(self, s) -> dict[str, Any]:
        """The scenario's board, limit-down and single-name legs, its jurisdictions and the
        intraday figure (information only); for a single-name scenario, the names it hit."""
        hit = None
        if s.single_name is not None and self.arrays is not None:
            hit = [str(self.arrays.instrument_ids[k])
                   for k in top_names(self.arrays, s.single_name.top)]
        return {"jurisdictions": list(s.jurisdictions),
                "boards": {b: _num(v, 6) for b, v in sorted(s.boards.items())},
                "limit_downs": s.limit_downs,
                "single_name": None if s.single_name is None else {
                    **s.single_name.model_dump(), "instruments": hit},
                "intraday": _num(s.intraday, 6)}

    def to_dict(self) -> dict[str, Any]:
        spiral = self.outcome(self.spiral_scenario)
        return {
            "as_of": self.as_of.isoformat(),
            "model": _jsonable(self.model),
            "book": _jsonable(self.book),
            "capital": _jsonable(self.capital),
            "flags": dict(self.flags),
            "scenarios": [self.scenario_row(o) for o in self.outcomes],
            "spiral": {"scenario": self.spiral_scenario, "converged": spiral.converged,
                       "rounds": [_jsonable(r) for r in spiral.rounds]},
            "concentration": [_jsonable(_at_participation(r)) for r in self.concentration],
            "liquidity": [_jsonable(_at_participation(r)) for r in self.liquidity],
            "frontier": _jsonable(self.frontier),
            # NOTE: never absent and never a zero when not tested: the report says so.
            "common_exposures": _jsonable(self.common_exposures or {
                "available": False, "reason": "the common exposures were not run"}),
            "cover": _jsonable(self.cover),
            "concentration_detail": _jsonable(self.concentration_detail),
            "funding": _jsonable(self.funding),
            "path": _path_block(spiral),
            "reverse": _jsonable(self.reverse),
            "reverse_instant": _jsonable(self.reverse_instant),
            "model_risk": _jsonable(self.model_risk),
        }


MONEY_KEYS = {"cash", "market_value", "debt", "equity", "sales_value", "cumulative_loss",
              "shortfall", "static_shortfall", "net_capital", "liquid_assets",
              "capital_buffer_min", "liquidity_buffer_min",
              # honest figures and the cost-of-control frontier (frontier.py)
              "fire_sale_loss", "book_fire_sale_loss", "debt_removed", "interest_forgone",
              "shortfall_avoided",
              # common exposures (exposures.py)
              "margin_balance", "other_debt", "other_holdings_value", "platform_leveraged_value",
              "shortfall_without", "shortfall_with", "shortfall_added", "other_sales_value",
              "second_round_loss_platform", "second_round_loss_platform_alone",
              "second_round_loss_others", "equity_platform", "equity_others",
              # cover-1 / cover-2, concentration detail, funding stress
              "cover_1", "cover_2", "group_shortfall", "group_shortfall_total", "held_value",
              "debt_secured", "accounts_without_debt", "excess_over_call_line", "withdrawable",
              "withdrawals", "funder_run", "outflow", "outflows", "forced_sale_inflows", "gap",
              "gap_after_settlement",
              # the multi-day path (multiday.py)
              "value_unsold", "gap_loss", "path_shortfall", "path_gap_loss", "path_value_unsold",
              "stressed_shortfall", "path_shortfall_min", "path_shortfall_max",
              # reverse stress and the model grid (reverse.py, modelrisk.py)
              "threshold_shortfall", "previous_shortfall", "default_shortfall"}

# What the multi-day path assumes, said once in stress.json -> path.
PATH_RULES = [
    ("each instrument's scenario move happens as fast as its daily price limit allows (10% main "
     "board, 5% ST, 20% ChiNext and STAR, 30% Beijing; no limit elsewhere: the whole move on day 1)"),
    ("a day whose exogenous fall reaches the limit is locked limit-down: nothing trades; a "
     "suspended instrument trades nothing and keeps its last close until it resumes"),
    ("forced sales add impact on top of the exogenous price (cumulative, permanent over the "
     "horizon), executed at the integral of the impact curve, at most the participation rate "
     "x ADV a day and never past the day's limit price; sellers of one instrument share the "
     "day's capacity pro rata to what they still hold"),
    ("an account crossing the liquidation line at a close is closed out from the next trading "
     "day; one in call only after the grace days if still in call; full close-out, proceeds "
     "repay debt"),
    ("units unsold at the horizon are marked at the horizon's price on the limit path"),
    ("days to liquidate = units closed-out accounts must sell / (participation x ADV)"),
]


def _path_keys(path) -> dict[str, Any]:
    """The multi-day path's figures for one scenario row (None where no path was run)."""
    if path is None:
        return dict.fromkeys(("path_shortfall", "path_static_shortfall", "path_gap_loss",
                              "path_value_unsold", "path_days_to_liquidate",
                              "path_unsellable_instruments", "path_accounts_closed",
                              "path_illiquid_instruments_sold",
                              "path_no_market_instruments_sold", "horizon_days",
                              "participation"))
    return {"path_shortfall": _money(path.shortfall),
            "path_static_shortfall": _money(path.static_shortfall),
            "path_gap_loss": _money(path.gap_loss),
            "path_value_unsold": _money(path.value_unsold),
            "path_days_to_liquidate": _num(path.days_to_liquidate, 4),
            "path_unsellable_instruments": len(path.unsellable_within_horizon),
            "path_accounts_closed": path.accounts_closed,
            "path_illiquid_instruments_sold": path.illiquid_instruments_sold,
            "path_no_market_instruments_sold": path.no_market_instruments_sold,
            "horizon_days": int(path.params.horizon),
            "participation": path.params.participation}


def _path_block(outcome: Outcome) -> dict[str, Any] | None:
    """stress.json -> path: the severe scenario day by day, with the path's parameters."""
    path = outcome.path
    if path is None:
        return None
    return {"scenario": outcome.scenario.name, "params": path.params.describe(),
            "rules": PATH_RULES,
            "sources": ["Bank of England, system-wide exploratory scenario (10 Nov 2023): "
                        "\"severe, but plausible, 10-day shocks\"",
                        "SSE, SZSE and BSE trading rules: daily price limits",
                        "Cont & Schaanning (2017), Norges Bank WP 2/2017: forced sellers only, "
                        "no recovery"],
            **_jsonable(path.summary()),
            "daily": [_jsonable(r) for r in path.daily]}


def _at_participation(row: dict[str, Any]) -> dict[str, Any]:
    """A concentration row with its days at the participation rate (units / (p x ADV))."""
    days = row.get("days_of_adv")
    return {**row, "days_at_participation": None if days is None else days / PARTICIPATION}


def _money(value: float | None) -> float | None:
    return _num(value, 2)


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def _ratio(part: float, whole: float | None) -> float | None:
    return None if not whole else _num(part / whole, 6)


def _jsonable(value: Any, key: str = "") -> Any:
    """Plain JSON types, money to the cent and other floats to 6 dp, so output is stable."""
    if isinstance(value, dict):
        return {k: _jsonable(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date,)):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return _money(value) if key in MONEY_KEYS else _num(value, 6)
    return value


def stress_table(result: StressResult) -> pl.DataFrame:
    """One row per scenario: the derived ``stress`` table that rules read."""
    rows = []
    for o in result.outcomes:
        r = result.scenario_row(o)
        if o.path is not None:
            # NOTE: days to liquidate are read at the path's participation rate of ADV, the
            # figure LEV-005 states; the one-instant engine's (100% of ADV) stays in stress.json.
            r = {**r, "max_days_to_liquidate": r["path_days_to_liquidate"],
                 "illiquid_instruments_sold": r["path_illiquid_instruments_sold"],
                 "no_market_instruments_sold": r["path_no_market_instruments_sold"]}
        rows.append({
            "scenario": r["name"], "title": r["title"], "kind": r["kind"], "severe": r["severe"],
            "accounts": r["accounts"], "accounts_in_call": r["accounts_in_call"],
            "accounts_wiped_out": r["accounts_wiped_out"], "shortfall": r["shortfall"],
            "spiral_shortfall": r["spiral_shortfall"], "amplification": r["amplification"],
            "path_shortfall": r["path_shortfall"], "spiral_rounds": r["spiral_rounds"],
            "verdict_stable": None if o.path_grid is None else o.path_grid["verdict_stable"],
            "path_shortfall_min": None if o.path_grid is None
            else _money(o.path_grid["shortfall_range"][0]),
            "path_shortfall_max": None if o.path_grid is None
            else _money(o.path_grid["shortfall_range"][1]),
            "net_capital": result.capital["net_capital"],
            "liquid_assets": result.capital["liquid_assets"],
            "max_days_to_liquidate": r["max_days_to_liquidate"],
            "accounts_liquidated": r["accounts_liquidated"], "converged": r["converged"],
            "shortfall_vs_capital": r["shortfall_vs_capital"],
            "illiquid_instruments_sold": r["illiquid_instruments_sold"],
            "no_market_instruments_sold": r["no_market_instruments_sold"],
            "model": _model_label(result.impact or ImpactModel(), o.path),
        })
    schema = {c.name: c.dtype for c in contract.table("stress").columns}
    extra = {"accounts_liquidated": pl.Int64, "converged": pl.Boolean,
             "shortfall_vs_capital": pl.Float64, "illiquid_instruments_sold": pl.Int64}
    columns = {**schema, **{k: v for k, v in extra.items() if k not in schema}}
    return pl.DataFrame(rows, schema=columns)


def _model_label(impact: ImpactModel, path) -> str:
    """The model behind a row's figures: the multi-day path (LEV-004's shortfall, LEV-005's
    days), then the one-instant spiral it keeps as a sensitivity."""
    law = "square-root" if impact.kind == "sqrt" else "linear"
    if path is None:
        return impact.label()
    p = path.params
    return (f"this toolkit's multi-day stress path: {p.horizon} trading days, the scenario's move "
            f"within the exchanges' daily price limits, forced sales at most "
            f"{p.participation:.0%} of average daily volume a day at the integrated {law} price "
            f"impact (Y = {impact.coefficient:g}), locked limit-down days trading nothing, "
            f"unsold holdings marked at the horizon, {p.grace_days} grace day(s) after a call; "
            f"sensitivity: {impact.label()}")


def write_stress(result: StressResult, out_dir: Path) -> Path:
    """Write ``out_dir/stress.json`` (created if missing) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "stress.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path
