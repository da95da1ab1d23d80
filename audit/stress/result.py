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
from audit.stress.spiral import EQUITY_TOL, Outcome, _spiral, shock_factors


# NOTE: a forced seller cannot take all of a stock's normal volume; 20% of ADV a day is the
# participation cap of the multi-day engine and of common liquidation-horizon practice.
PARTICIPATION = 0.20
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
        after = None if net is None else net - o.spiral_shortfall
        buffer_min, liquid_min = cap.get("capital_buffer_min"), cap.get("liquidity_buffer_min")
        fire_sale = o.spiral_shortfall - o.shortfall
        book_fire_sale = o.spiral_book_loss - o.book_loss
        equity = self.book.get("equity")
        days = o.max_days_to_liquidate
        return {
            "name": s.name, "title": s.title, "kind": s.kind, "source": s.source,
            "confidence": s.confidence, "severe": s.severe,
            "dates": None if s.dates is None else {
                "start": s.dates.start.isoformat(),
                "end": s.dates.end.isoformat() if s.dates.end else None},
            "shocks": {c: _num(v, 6) for c, v in sorted(s.shocks.items())},
            "derivation": _jsonable(s.derivation),
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
            # NOTE: against capital we use the spiral (stressed) shortfall, the larger one.
            "shortfall_vs_capital": _ratio(o.spiral_shortfall, net),
            "static_shortfall_vs_capital": _ratio(o.shortfall, net),
            "shortfall_vs_liquidity": _ratio(o.spiral_shortfall, liquid),
            "capital_after": _money(after),
            "covered_by_capital": None if net is None else bool(net >= o.spiral_shortfall),
            "below_capital_buffer": None if after is None or buffer_min is None
            else bool(after < buffer_min),
            "below_liquidity_buffer": None if liquid is None or liquid_min is None
            else bool(liquid - o.spiral_shortfall < liquid_min),
            "max_days_to_liquidate": _num(days, 4),
            "max_days_at_participation": None if days is None else _num(days / PARTICIPATION, 4),
            "participation": PARTICIPATION,
            "illiquid_instruments_sold": o.illiquid_instruments_sold,
            "no_market_instruments_sold": o.no_market_instruments_sold,
        }

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
        }


MONEY_KEYS = {"cash", "market_value", "debt", "equity", "sales_value", "cumulative_loss",
              "shortfall", "static_shortfall", "net_capital", "liquid_assets",
              "capital_buffer_min", "liquidity_buffer_min", "fire_sale_loss",
              "book_fire_sale_loss", "debt_removed", "interest_forgone", "shortfall_avoided"}


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
        rows.append({
            "scenario": r["name"], "title": r["title"], "kind": r["kind"], "severe": r["severe"],
            "accounts": r["accounts"], "accounts_in_call": r["accounts_in_call"],
            "accounts_wiped_out": r["accounts_wiped_out"], "shortfall": r["shortfall"],
            "spiral_shortfall": r["spiral_shortfall"], "amplification": r["amplification"],
            "spiral_rounds": r["spiral_rounds"],
            "net_capital": result.capital["net_capital"],
            "liquid_assets": result.capital["liquid_assets"],
            "max_days_to_liquidate": r["max_days_to_liquidate"],
            "accounts_liquidated": r["accounts_liquidated"], "converged": r["converged"],
            "shortfall_vs_capital": r["shortfall_vs_capital"],
            "illiquid_instruments_sold": r["illiquid_instruments_sold"],
            "no_market_instruments_sold": r["no_market_instruments_sold"],
            "model": (result.impact or ImpactModel()).label(),
        })
    schema = {c.name: c.dtype for c in contract.table("stress").columns}
    extra = {"accounts_liquidated": pl.Int64, "converged": pl.Boolean,
             "shortfall_vs_capital": pl.Float64, "illiquid_instruments_sold": pl.Int64}
    columns = {**schema, **{k: v for k, v in extra.items() if k not in schema}}
    return pl.DataFrame(rows, schema=columns)


def write_stress(result: StressResult, out_dir: Path) -> Path:
    """Write ``out_dir/stress.json`` (created if missing) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "stress.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path
