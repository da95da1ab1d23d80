"""The report's view of the verdict's engine and of how far the verdict can be trusted.

Three blocks of stress.json and a few keys of each scenario row: ``path`` (the severe scenario
played out day by day within the daily price limits), ``reverse`` (the shock at which capital is
exhausted), ``model_risk`` (the one-instant engine under a grid of model settings, and the
assumptions register), and per scenario the multi-day path's shortfall, the capital verdict and
``path_grid`` (the verdict under Y x law x participation). This module turns each into the
fields ``partials/stress_path.html.j2`` and ``partials/stress_reverse.html.j2`` lay out, every
field present (None when absent), so an older stress.json renders without error.

Rules kept here rather than in the templates:

- a verdict is ``covered`` only on an explicit JSON true or the string ``"covered"``;
- a block not run is *not tested* (``path``, ``model_risk``) or *not evaluable* (``reverse``
  without net capital) with its reason, never blank and never a pass;
- a crossing the JSON marks as a cliff is shown as a cliff, beside its threshold.
"""

from __future__ import annotations

from typing import Any

from audit.report.html import finite_number
from audit.report.stress_sections import not_tested

PATH_ENGINE = "multi-day path"
ONE_INSTANT = "one-instant spiral"
ROWS_SHOWN = 10  # single names in the reverse table: stress.json holds the top 10
UNSELLABLE_SHOWN = 5  # instrument ids named in the path's summary sentence
# The path's rule sentences as run_stress writes them (audit/stress/result.py): one that
# matches is said in the report's language (``stress_p.rules.<i>``), any other as written.
try:
    from audit.stress.result import PATH_RULES
except ImportError:  # pragma: no cover - the report renders without the stress package
    PATH_RULES = []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def verdict_of(value: Any) -> str:
    """``covered`` / ``not_covered`` / ``not_tested`` from a JSON bool or a grid cell's text."""
    if value is True or value == "covered":
        return "covered"
    if value is False or value == "not covered":
        return "not_covered"
    return "not_tested"


# --- the scenario table's verdict -------------------------------------------------------------

def scenario_verdict(row: dict[str, Any]) -> dict[str, Any]:
    """The headline loss of a scenario row (the verdict's engine), its engine, the capital
    verdict and whether the model grid agrees on it."""
    path = row.get("path_shortfall")
    stressed = row.get("stressed_shortfall")
    engine = row.get("stressed_engine")
    if stressed is None:
        # NOTE: a file without the key: the path is the verdict's engine when it was run,
        # else the one-instant spiral (what such a file's shortfall_vs_capital read).
        stressed = path if path is not None else row.get("spiral_shortfall")
        engine = PATH_ENGINE if path is not None else ONE_INSTANT
    grid = _dict(row.get("path_grid"))
    stable = row.get("verdict_stable")
    if stable is None:
        stable = grid.get("verdict_stable")
    robustness = None
    if stable is True:
        robustness = "robust"
    elif stable is False:
        robustness = "depends"
    elif row.get("severe"):
        robustness = "no_grid"
    days = row.get("path_days_to_liquidate") if engine == PATH_ENGINE \
        else row.get("max_days_at_participation")
    return {
        "headline": stressed,
        "engine": "path" if engine == PATH_ENGINE else "spiral",
        "verdict": verdict_of(row.get("covered_by_capital")),
        "robustness": robustness,
        "deciding": deciding(grid.get("cells"), grid.get("default"),
                             ("coefficient", "kind", "participation"))
        if robustness == "depends" else [],
        "days": days,
        "days_unknown": engine == PATH_ENGINE and days is None
        and bool(row.get("path_illiquid_instruments_sold") or
                 row.get("path_no_market_instruments_sold")),
        "range": [grid.get("shortfall_range", [None, None])[0],
                  grid.get("shortfall_range", [None, None])[-1]]
        if isinstance(grid.get("shortfall_range"), list) and grid.get("shortfall_range")
        else None,
    }


def deciding(cells: Any, default: Any, parameters: tuple[str, ...]) -> list[dict[str, Any]]:
    """For each parameter whose change alone flips the default cell's verdict: the values at
    which capital covers the shortfall and those at which it does not, the others at the
    default. ``[{"parameter", "covers": [...], "fails": [...], "default"}]``."""
    default = _dict(default)
    cells = [c for c in _list(cells) if isinstance(c, dict) and not c.get("impact_off")]
    if not default or not cells:
        return []
    out = []
    for p in parameters:
        line = [c for c in cells
                if all(c.get(q) == default.get(q) for q in parameters if q != p)]
        covers = [c.get(p) for c in line if verdict_of(c.get("verdict")) == "covered"]
        fails = [c.get(p) for c in line if verdict_of(c.get("verdict")) == "not_covered"]
        if covers and fails:
            out.append({"parameter": p, "covers": _sorted(covers), "fails": _sorted(fails),
                        "default": default.get(p)})
    return out


def _sorted(values: list) -> list:
    try:
        return sorted(dict.fromkeys(values))
    except TypeError:
        return list(dict.fromkeys(values))


# --- the multi-day path -----------------------------------------------------------------------

DAY_FIELDS = ("day", "price_move", "sales_value", "units_sold", "accounts_closed",
              "instruments_locked", "instruments_suspended", "shortfall")


def path_view(path: Any, scenarios: Any = None, capital: Any = None) -> dict[str, Any]:
    """The severe scenario day by day: rows with a chain-linked price index, the parameters,
    the rules (``key``: the index of a known rule sentence) and the horizon's figures."""
    if not isinstance(path, dict) or not path:
        return not_tested()
    days, index = [], 1.0
    for item in _list(path.get("daily")):
        if not isinstance(item, dict):
            continue
        row = {f: item.get(f) for f in DAY_FIELDS}
        move = finite_number(row["price_move"])
        # NOTE: the daily moves are value-weighted at the as-of weights; chained, they give
        # the book's price index (1 at the as-of close).
        index = index * (1 + move) if move is not None and index is not None else None
        row["index"] = index
        days.append(row)
    name = path.get("scenario")
    title = next((s.get("title") for s in _list(scenarios)
                  if isinstance(s, dict) and s.get("name") == name), None)
    params = _dict(path.get("params"))
    unsellable = [str(i) for i in _list(path.get("unsellable_within_horizon"))]
    rules = []
    for text in _list(path.get("rules")):
        key = PATH_RULES.index(text) if text in PATH_RULES else None
        rules.append({"key": key, "text": str(text)})
    return {
        "tested": True, "scenario": name, "title": title,
        "horizon": params.get("horizon_days"), "participation": params.get("participation"),
        "grace_days": params.get("grace_days"),
        "suspended": params.get("suspended_instruments"),
        "suspension_source": params.get("suspension_days_from"),
        "shortfall": path.get("shortfall"), "static_shortfall": path.get("static_shortfall"),
        "value_unsold": path.get("value_unsold"), "units_unsold": path.get("units_unsold"),
        "gap_loss": path.get("gap_loss"), "sales_value": path.get("sales_value"),
        "accounts_closed": path.get("accounts_closed"), "wiped_out": path.get("wiped_out"),
        "days_locked_max": path.get("days_locked_max"),
        "locked_every_day": path.get("instruments_locked_every_day"),
        "days_to_liquidate": path.get("days_to_liquidate"),
        "no_market": path.get("no_market_instruments_sold"),
        "illiquid": path.get("illiquid_instruments_sold"),
        "unsellable": unsellable[:UNSELLABLE_SHOWN], "unsellable_count": len(unsellable),
        "net_capital": capital,
        "vs_capital": None if not finite_number(capital) or finite_number(path.get("shortfall")) is None
        else finite_number(path.get("shortfall")) / finite_number(capital),
        "verdict": "not_tested" if capital is None or finite_number(path.get("shortfall")) is None
        else verdict_of(finite_number(capital) >= finite_number(path.get("shortfall"))),
        "days": days,
        "rules": rules,
        "sources": [str(s) for s in _list(path.get("sources"))],
    }


# --- reverse stress ----------------------------------------------------------------------------

def _crossing(found: Any) -> dict[str, Any]:
    found = _dict(found)
    refined = _dict(found.get("refined"))
    static = _dict(found.get("static"))
    return {"reached": found.get("reached") is True, "threshold": found.get("threshold"),
            "refined": refined.get("threshold"),
            "threshold_shortfall": found.get("threshold_shortfall"),
            "previous": found.get("previous"),
            "previous_shortfall": found.get("previous_shortfall"),
            "cliff": found.get("cliff") is True,
            "monotone": found.get("scan_monotone"),
            "static_reached": static.get("reached") is True,
            "static_threshold": static.get("threshold"),
            "static_previous": static.get("previous"),
            "known": bool(found)}


def reverse_view(reverse: Any) -> dict[str, Any]:
    """The uniform fall and each top name alone (rows), and the equity x safe-haven legs."""
    if not isinstance(reverse, dict) or not reverse:
        return not_tested()
    if reverse.get("evaluable") is not True:
        return not_tested(reverse.get("reason") or "not evaluable: no net capital")
    rows = [{"kind": "uniform", "instrument_id": None, "share_of_book": None,
             **_crossing(reverse.get("uniform"))}]
    for item in _list(reverse.get("single_name"))[:ROWS_SHOWN]:
        if isinstance(item, dict):
            rows.append({"kind": "single", "instrument_id": item.get("instrument_id"),
                         "share_of_book": item.get("share_of_book"), **_crossing(item)})
    grid = _dict(reverse.get("equity_safe_haven"))
    if not grid:
        legs = not_tested()
    elif grid.get("evaluable") is not True:
        legs = not_tested(grid.get("reason") or "not evaluable")
    else:
        legs = {"tested": True, "held": grid.get("safe_haven_held"),
                "equity_classes": [str(c) for c in _list(grid.get("equity_classes"))],
                "haven_classes": [str(c) for c in _list(grid.get("safe_haven_classes"))],
                "legs": [{"leg": t.get("safe_haven_shock"), **_crossing(t)}
                         for t in _list(grid.get("thresholds")) if isinstance(t, dict)]}
    return {"tested": True, "engine": reverse.get("engine"),
            "engine_is_spiral": str(reverse.get("engine") or "").startswith("one instant"),
            "net_capital": reverse.get("net_capital"), "grid_step": reverse.get("grid_step"),
            "refined_step": reverse.get("refined_step"), "rows": rows,
            "cliffs": sum(1 for r in rows if r["cliff"]),
            "not_monotone": sum(1 for r in rows if r["monotone"] is False),
            "grid": legs}


# --- model risk ---------------------------------------------------------------------------------

def pivot(cells: Any, row_keys: tuple[str, ...], column: str,
          default: Any) -> dict[str, Any]:
    """Grid cells as a table: one row per value of ``row_keys``, one column per value of
    ``column``; a pair the grid did not run is None."""
    cells = [c for c in _list(cells) if isinstance(c, dict)]
    default = _dict(default)
    columns = _sorted([c.get(column) for c in cells])
    keys = list(dict.fromkeys(tuple(c.get(k) for k in row_keys) for c in cells))
    # NOTE: rows grouped by their first key in the order the grid gives it (the run's law
    # first), then by the others ascending.
    first = {k[0]: n for n, k in reversed(list(enumerate(keys)))}
    try:
        keys.sort(key=lambda k: (first[k[0]], *k[1:]))
    except TypeError:
        pass
    rows = []
    for key in keys:
        mine = {c.get(column): c for c in cells if tuple(c.get(k) for k in row_keys) == key}
        rows.append({**dict(zip(row_keys, key)),
                     "impact_off": any(c.get("impact_off") for c in mine.values()),
                     "cells": [None if v not in mine else {
                         "shortfall": mine[v].get("shortfall"),
                         "verdict": verdict_of(mine[v].get("verdict")),
                         "default": bool(default) and all(mine[v].get(k) == default.get(k)
                                                          for k in (*row_keys, column))}
                         for v in columns]})
    return {"columns": columns, "rows": rows}


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def model_risk_view(model_risk: Any, scenarios: Any = None) -> dict[str, Any]:
    """The one-instant engine's grid (Y x law rows, price-floor columns), the deciding
    parameters, the register of assumptions, and the verdict's own grid (the multi-day path
    under Y x participation) for each severe scenario that ran one."""
    path_grids = []
    for s in _list(scenarios):
        grid = _dict(s.get("path_grid")) if isinstance(s, dict) else {}
        if grid.get("cells"):
            path_grids.append({
                "scenario": s.get("name"), "title": s.get("title"),
                "verdict": verdict_of(grid.get("verdict")),
                "stable": grid.get("verdict_stable"),
                "deciding": deciding(grid.get("cells"), grid.get("default"),
                                     ("coefficient", "kind", "participation")),
                "range": grid.get("shortfall_range"),
                "table": pivot(grid.get("cells"), ("kind", "coefficient"), "participation",
                               grid.get("default"))})
    if not isinstance(model_risk, dict) or not model_risk:
        return {**not_tested(), "path_grids": path_grids}
    mr = model_risk
    default = _dict(mr.get("default"))
    register = [{"assumption": _plain(a.get("assumption")), "value": _plain(a.get("value")),
                 "source": _plain(a.get("source")), "effect": _plain(a.get("effect")),
                 "cite": _plain(a.get("cite")), "lang": a.get("lang") or "en",
                 "range": [r for r in _list(a.get("range")) if isinstance(r, dict)]}
                for a in _list(mr.get("assumptions")) if isinstance(a, dict)]
    return {
        "tested": True, "scenario": mr.get("scenario"), "net_capital": mr.get("net_capital"),
        "default": default, "default_shortfall": mr.get("default_shortfall"),
        "default_verdict": verdict_of(mr.get("default_verdict")),
        "stable": mr.get("verdict_stable"),
        "deciding": deciding(mr.get("cells"), default, ("coefficient", "kind", "max_impact")),
        "impact_off_shortfall": _dict(mr.get("impact_off")).get("shortfall"),
        "table": pivot(mr.get("cells"), ("kind", "coefficient"), "max_impact", default),
        "assumptions": register,
        "path_grids": path_grids,
    }
