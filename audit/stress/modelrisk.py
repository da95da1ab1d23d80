"""Model risk of the stress test: the severe scenario under a grid of model parameters, the
capital verdict in each cell, which parameter decides it, and an assumptions register.

A model that drives a decision should show how its answer moves with the choices it rests on
(Board of Governors of the Federal Reserve System, SR 11-7, Supervisory Guidance on Model Risk
Management, 2011: sensitivity analysis and disclosure of assumptions and limitations). The grid
varies the impact coefficient Y, the impact law and the price floor (``max_impact``); the
register lists every other assumption with its source and the direction of its effect."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

from audit.stress.book import Book
from audit.stress.model import ImpactModel, Lines
from audit.stress.reverse import Engine, one_instant_engine
from audit.stress.scenarios import Scenario
from audit.stress.spiral import shock_factors

COEFFICIENTS = (0.0, 0.25, 0.5, 1.0, 2.0)
LAWS = ("sqrt", "linear")
# NOTE: 0.271 is the fall of three successive 10% limit-downs (1 - 0.9 ** 3), the main-board
# daily limit of the Shanghai and Shenzhen trading rules; 0.5 a middle value; 0.9 the default.
FLOORS = (0.271, 0.5, 0.9)
PARAMETERS = ("coefficient", "kind", "max_impact")

EngineFactory = Callable[[ImpactModel], Engine]


def verdict(shortfall: float, capital: float | None) -> str:
    """covered / not covered / not evaluable: the same test as a scenario's covered_by_capital."""
    if capital is None or not math.isfinite(capital):
        return "not evaluable"
    return "covered" if capital >= shortfall else "not covered"


def model_grid(book: Book, scenario: Scenario, lines: Lines, capital: float | None,
               impact: ImpactModel | None = None,
               engine_for: EngineFactory | None = None) -> dict[str, Any]:
    """``scenario``'s shortfall and the capital verdict in each cell of Y x law x floor.

    ``impact``: the run's model, the default cell (its other settings, such as sigma, are kept in
    every cell). ``engine_for``: builds the engine ``(book, shocked) -> (static, spiral)`` for
    one impact model; by default the one-instant spiral with ``lines``."""
    if capital is not None and not math.isfinite(float(capital)):
        capital = None
    base = impact or ImpactModel()
    engine_for = engine_for or (lambda model: one_instant_engine(lines, model))
    shocked = shock_factors(book, scenario)
    values = {"coefficient": sorted({*COEFFICIENTS, base.coefficient}),
              "kind": list(dict.fromkeys((base.kind, *LAWS))),
              "max_impact": sorted({*FLOORS, base.max_impact})}
    default = {p: getattr(base, p) for p in PARAMETERS}
    cells = []
    for y in values["coefficient"]:
        for kind in values["kind"]:
            for floor in values["max_impact"]:
                model = replace(base, coefficient=y, kind=kind, max_impact=floor)
                static, shortfall = engine_for(model)(book, shocked)
                cells.append({"coefficient": y, "kind": kind, "max_impact": floor,
                              # NOTE: Y = 0 turns impact off: the static loss plus sales of
                              # instruments with no market. A reference, not a calibration.
                              "impact_off": y == 0,
                              "static_shortfall": float(static), "shortfall": float(shortfall),
                              "verdict": verdict(float(shortfall), capital)})

    def cell(**change: Any) -> dict[str, Any]:
        want = {**default, **change}
        return next(c for c in cells if all(c[p] == want[p] for p in PARAMETERS))

    home = cell()
    model_cells = [c for c in cells if not c["impact_off"]]
    flips = [{"parameter": p, "value": c[p], "shortfall": c["shortfall"], "verdict": c["verdict"]}
             for p in PARAMETERS for v in values[p] if v != default[p]
             for c in [cell(**{p: v})] if not c["impact_off"] and c["verdict"] != home["verdict"]]
    evaluable = capital is not None
    return {
        "scenario": scenario.name, "net_capital": capital, "default": default,
        "values": values, "cells": cells,
        "default_shortfall": home["shortfall"], "default_verdict": home["verdict"],
        "verdict_stable": (len({c["verdict"] for c in model_cells}) == 1) if evaluable else None,
        "deciding_parameters": list(dict.fromkeys(f["parameter"] for f in flips))
        if evaluable else None,
        "flips": flips,
        "impact_off": {"shortfall": cell(coefficient=0.0)["shortfall"] if 0.0 in values[
            "coefficient"] else None,
            "note": "Y = 0 (impact off) is shown for reference and left out of the verdict's "
                    "stability and of the deciding parameters: empirical Y is of order 1"},
        "reading": "the verdict is stable when every cell with impact on gives the same one; a "
                   "deciding parameter flips the default cell's verdict when changed alone",
        "assumptions": assumptions(base, lines, cells, default),
    }


def _range(cells: list[dict[str, Any]], default: dict[str, Any], parameter: str) -> str:
    """The shortfall over ``parameter``'s values, the others at the default, for the register."""
    parts = [f"{c[parameter]}: {c['shortfall']:,.2f} ({c['verdict']})"
             for c in _row(cells, default, parameter)]
    return "severe shortfall with the other parameters at the default: " + "; ".join(parts)


def assumptions(impact: ImpactModel, lines: Lines, cells: list[dict[str, Any]] | None = None,
                default: dict[str, Any] | None = None,
                engine_notes: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """Every assumption of the stress model: value, source (or "toolkit assumption"), effect.

    ``engine_notes``: entries for the time dimension (participation, horizon) that replace the
    one-instant engine's, for another engine."""
    measured = cells is not None and default is not None

    def effect(parameter: str, text: str) -> str:
        return f"{text}; {_range(cells, default, parameter)}" if measured else text

    rows: list[dict[str, Any]] = [
        {"key": "sigma", "assumption": "stressed daily volatility sigma by asset class",
         "value": dict(sorted(impact.daily_vol.items())),
         "source": "index and ETF: S&P 500 realised daily volatility, 15 Sep to 31 Dec 2008 "
                   "(S&P Dow Jones Indices, S&P 500 index daily closes); other classes: toolkit "
                   "assumption",
         "effect": "sigma enters only as Y x sigma, so the sweep over Y also spans a common "
                   "rescaling of sigma"},
        {"key": "coefficient", "assumption": "impact coefficient Y", "value": impact.coefficient,
         "source": "Almgren, Thum, Hauptmann & Li (2005), Risk; Toth et al. (2011), Phys. Rev. "
                   "X 1, 021006: Y of order 1 for metaorders up to a fraction of a day's volume",
         "effect": effect("coefficient", "a larger Y moves prices further per unit sold")},
        {"key": "law", "assumption": "impact law", "value": impact.kind,
         "source": "square root: Toth et al. (2011); linear: the functional form of Greenwood, "
                   "Landier & Thesmar (2015), JFE 115(3), not their calibration",
         "effect": effect("kind", "linear impact is smaller than square-root impact below one "
                                  "day of volume and larger above it")},
        {"key": "floor",
         "assumption": "price floor (max_impact): the largest fall fire sales alone can cause",
         "value": impact.max_impact,
         "source": "toolkit assumption (Cont & Schaanning (2017), Norges Bank WP 2/2017, use a "
                   "floor price in an exponential impact law, not this value); three 10% "
                   "limit-downs of the Shanghai and Shenzhen main boards are a 27.1% fall",
         "effect": effect("max_impact", "for a position of many days of volume the floor, not "
                                        "Y or the law, sets the fire-sale price")},
        {"key": "close_out", "assumption": "full close-out",
         "value": "an account at or below the liquidation line is sold out entirely",
         "source": "toolkit assumption (Cont & Schaanning (2017) sell down to a leverage target "
                   "instead)",
         "effect": "conservative in one instant: more units are sold than restoring the line "
                   "needs"},
        {"key": "lines",
         "assumption": "call and liquidation lines (collateral ratio: assets / debt)",
         "value": {"call": lines.call, "liquidation": lines.liquidation,
                   "crossed": "at or below the line" if lines.inclusive
                   else "strictly below the line"},
         "source": f"call: {lines.call_source}; liquidation: {lines.liquidation_source}",
         "source_fields": {"call": lines.call_source, "liquidation": lines.liquidation_source},
         "effect": "a higher liquidation line closes accounts at a smaller fall, with more "
                   "equity left to absorb the fire-sale discount"},
        *(engine_notes or [
            {"key": "participation", "assumption": "participation",
             "value": "all forced sales execute at once; impact is measured in days of "
                      "normal-times volume (no participation cap)",
             "source": "toolkit assumption",
             "effect": "days of volume are a size measure, not a time to sell; no cap on the "
                       "share of stressed volume sold per day"},
            {"key": "horizon", "assumption": "horizon",
             "value": "one instant: the spiral's rounds are not days",
             "source": "toolkit assumption",
             "effect": "no daily price limits, no locked limit-down days, no T+1 settlement, no "
                       "grace period: losses on positions that cannot be sold for days are "
                       "not captured, and prices can fall further than the limits allow in a "
                       "day"},
        ]),
        {"key": "no_volume", "assumption": "instruments without volume",
         "value": "sold at the floor price",
         "source": "toolkit assumption", "effect": "conservative"},
        {"key": "no_recovery", "assumption": "no recovery",
         "value": "prices stay at the peak of the impact; unsold holdings are marked there",
         "source": "toolkit assumption; fire-sale price declines reverse afterwards in the 2015 "
                   "A-share data (Bian, He, Shue & Zhou (2018), NBER WP 25040)",
         "effect": "conservative: the permanent part of impact is smaller than its peak"},
        {"key": "no_buyers", "assumption": "no buyers",
         "value": "no one buys against the fire sale (no arbitrageurs, no official support)",
         "source": "Cont & Schaanning (2017): forced sellers only",
         "effect": "conservative"},
        {"key": "own_sales", "assumption": "only the platform's own sales move prices",
         "value": "other leveraged holders of the same stocks do not sell",
         "source": "toolkit assumption; stocks held by accounts near their leverage limits fell "
                   "further in 2015 (Bian, He, Shue & Zhou (2018), NBER WP 25040)",
         "effect": "not conservative: understates the fall of stocks that other leveraged "
                   "accounts also hold"},
        {"key": "double_count", "assumption": "historical moves include that episode's fire sales",
         "value": "the platform's impact is added on top of a historical price move",
         "source": "toolkit assumption",
         "effect": "partial double counting: overstates the loss by the part of the historical "
                   "move that forced selling itself caused"},
    ]
    if measured:
        # NOTE: the same range as the effect's sentence, as data, so a report in another
        # language can state it without parsing English.
        for row in rows:
            parameter = MEASURED.get(row.get("key"))
            if parameter:
                row["range"] = [{"parameter": parameter, "value": c[parameter],
                                 "shortfall": c["shortfall"], "verdict": c["verdict"]}
                                for c in _row(cells, default, parameter)]
    return rows


MEASURED = {"coefficient": "coefficient", "law": "kind", "floor": "max_impact"}


def _row(cells: list[dict[str, Any]], default: dict[str, Any], parameter: str) -> list[dict]:
    return [c for c in cells if not c["impact_off"]
            and all(c[p] == default[p] for p in PARAMETERS if p != parameter)]


# --- the multi-day path's grid: the verdict LEV-004 gives ------------------------------------

# NOTE: the path's verdict rests on the impact law and its coefficient (how far the platform's
# own sales move prices within the daily limit) and on the participation rate (how much it can
# sell a day). Y = 0 is left out: impact off is a reference, not a calibration.
PATH_COEFFICIENTS = (0.5, 1.0, 2.0)
PATH_PARTICIPATION = (0.10, 0.20, 0.40)
PATH_PARAMETERS = ("coefficient", "kind", "participation")


def path_grid(book: Book, shocked, lines: Lines, capital: float | None, impact: ImpactModel,
              params, weights=None, known=None) -> dict[str, Any]:
    """One scenario's multi-day path shortfall and capital verdict in each cell of Y (0.5, 1,
    2) x participation (10%, 20%, 40%) under the square-root law, plus the linear law at the
    run's Y and participation: is the verdict the same whatever these choices? ``known``: the
    path already run with ``impact`` and ``params`` (the default cell), not run again."""
    from audit.stress.multiday import run_path

    if capital is not None and not math.isfinite(float(capital)):
        capital = None
    default = {"coefficient": impact.coefficient, "kind": impact.kind,
               "participation": params.participation}
    settings = [{"coefficient": y, "kind": "sqrt", "participation": p}
                for y in sorted({*PATH_COEFFICIENTS, impact.coefficient})
                for p in sorted({*PATH_PARTICIPATION, params.participation})]
    settings.append({**default, "kind": "linear" if impact.kind == "sqrt" else "sqrt"})
    if default not in settings:
        settings.append(default)
    cells = []
    for s in settings:
        if known is not None and s == default:
            outcome = known
        else:
            model = replace(impact, coefficient=s["coefficient"], kind=s["kind"])
            outcome = run_path(book, shocked, lines, model,
                               replace(params, participation=s["participation"]), weights)
        cells.append({**s, "shortfall": float(outcome.shortfall),
                      "verdict": verdict(float(outcome.shortfall), capital)})
    home = next(c for c in cells if all(c[p] == default[p] for p in PATH_PARAMETERS))
    verdicts = {c["verdict"] for c in cells}
    flips = [{p: c[p] for p in PATH_PARAMETERS} | {"shortfall": c["shortfall"],
                                                   "verdict": c["verdict"]}
             for c in cells if c["verdict"] != home["verdict"]]
    deciding = [p for p in PATH_PARAMETERS
                if any(c["verdict"] != home["verdict"]
                       and all(c[q] == default[q] for q in PATH_PARAMETERS if q != p)
                       for c in cells)]
    return {"engine": "multi-day path", "default": default, "cells": cells,
            "verdict": home["verdict"],
            "verdict_stable": None if capital is None else len(verdicts) == 1,
            "shortfall_range": [min(c["shortfall"] for c in cells),
                                max(c["shortfall"] for c in cells)],
            "deciding_parameters": deciding, "flips": flips}
