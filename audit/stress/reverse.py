"""Reverse stress tests: the shock at which the stressed shortfall first exceeds net capital.

Three directions are searched: a uniform fall of every holding, each of the book's largest
instruments alone (the rest unchanged), and an equity x safe-haven grid (for each bond and gold
move, the equity fall that exhausts capital). Each search reports the first point of a
0.5-point grid where the shortfall exceeds capital, the last point where it does not, the
shortfall at both, a 0.1-point refinement, and whether the crossing is a cliff.

The loss engine is a callable ``(book, shocked_factors) -> (static_shortfall,
spiral_shortfall)``, so any engine (the one-instant spiral here, a multi-day one elsewhere) can
be searched the same way; ``one_instant_engine`` builds the default.

Reverse stress testing: EBA Guidelines on institutions' stress testing (EBA/GL/2018/04),
section 4.7; ESMA's EU-wide CCP stress tests raise shocks "to identify at which point
resources are exhausted"."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from audit.stress.book import Book, concentration
from audit.stress.model import ImpactModel, Lines
from audit.stress.spiral import _spiral

Engine = Callable[[Book, np.ndarray], tuple[float, float]]

# Shocks are handled as integers in tenths of a percentage point (a unit is a 0.1% fall), so the
# grids are exact and the cache keys do not drift with float sums.
UNITS = 1000  # units per 1.0 of shock
COARSE = 50  # a 5-point scan brackets the crossing
GRID = 5  # the reported grid: 0.5 point
FINE = 1  # bisection down to 0.1 point
CLIFF_FROM = 0.10  # a cliff: from below 10% of capital to above capital within one grid step
EQUITY_LIKE = ("equity", "etf", "index", "index_major")
SAFE_HAVENS = ("bond", "gold")
EQUITY_DEPTH = 900  # the grid's equity falls: 0 to -90%
HAVEN_LEGS = tuple(range(100, -301, -50))  # bond and gold legs: +10% to -30% by 5 points
DEPTH = 1000  # uniform and single-name falls: 0 to -100%
ONE_INSTANT = "one instant: static shock, then the deleveraging spiral"
TOL = 0.005  # half a cent: float noise when checking the scan is non-decreasing


def one_instant_engine(lines: Lines, impact: ImpactModel) -> Engine:
    """The one-instant engine as a reverse-test engine: static shock, then the spiral."""
    def engine(book: Book, shocked: np.ndarray) -> tuple[float, float]:
        s = _spiral(book, shocked, lines, impact, book.value_weights)
        return s["static_shortfall"], s["shortfall"]
    engine.label = ONE_INSTANT  # type: ignore[attr-defined]
    return engine


PATH = ("multi-day path: the scenario's move within the daily price limits over the horizon, "
        "forced sales at the participation rate, unsold holdings marked at the horizon")
# NOTE: the path costs seconds a run on a book of a million accounts (and the spiral most of
# one); beyond this many accounts each reverse test searches the uniform fall and the three
# largest names only, without the equity x safe-haven grid, and says so.
PATH_FULL_UP_TO = 200_000


def path_engine(lines: Lines, impact: ImpactModel, params) -> Engine:
    """The multi-day path (the verdict's engine) as a reverse-test engine."""
    from audit.stress.multiday import run_path

    def engine(book: Book, shocked: np.ndarray) -> tuple[float, float]:
        o = run_path(book, shocked, lines, impact, params, book.value_weights)
        return o.static_shortfall, o.shortfall
    engine.label = PATH  # type: ignore[attr-defined]
    return engine


class _Curve:
    """Static and spiral shortfalls along one direction of shocks, cached by shock (in units)."""

    def __init__(self, engine: Engine, book: Book, factors: Callable[[int], np.ndarray]):
        self.engine, self.book, self.factors = engine, book, factors
        self.cache: dict[int, tuple[float, float]] = {}

    def __call__(self, k: int) -> tuple[float, float]:
        if k not in self.cache:
            static, spiral = self.engine(self.book, self.factors(k))
            self.cache[k] = (float(static), float(spiral))
        return self.cache[k]


def _bisect(curve: _Curve, capital: float, which: int, lo: int, hi: int, step: int) -> int:
    """The first point of ``lo + step``, ..., ``hi`` whose shortfall exceeds ``capital``, given
    that ``lo`` does not and ``hi`` does and the shortfall is non-decreasing in between."""
    while hi - lo > step:
        mid = lo + (hi - lo) // (2 * step) * step
        if curve(mid)[which] > capital:
            hi = mid
        else:
            lo = mid
    return hi


def _search(curve: _Curve, capital: float, depth: int, which: int,
            deepest_first: bool = False) -> dict[str, Any]:
    """The first 0.5-point grid shock (0 to ``depth`` units) whose shortfall (``which``: 0
    static, 1 spiral) exceeds ``capital``, the last one that does not, and a 0.1-point
    refinement between them. ``deepest_first``: try the deepest shock first and stop there
    when even it leaves capital standing (the ten single names, most of which never do)."""
    out: dict[str, Any] = {"reached": False, "scan_monotone": None}
    if deepest_first and not curve(depth)[which] > capital:
        out.update(threshold=None, threshold_shortfall=None, previous=-depth / UNITS,
                   previous_shortfall=curve(depth)[which], cliff=False, refined=None)
        return out
    coarse = sorted({*range(0, depth + 1, COARSE), depth})
    values = [curve(k)[which] for k in coarse]
    # NOTE: exact execution prices make the shortfall non-decreasing in the shock, so a 5-point
    # scan brackets the first crossing and bisection finds it on the 0.5-point grid. An engine
    # whose scan is not non-decreasing gets the whole 0.5-point grid scanned instead.
    monotone = all(b >= a - TOL for a, b in zip(values, values[1:]))
    out["scan_monotone"] = monotone
    if monotone:
        first = next((i for i, v in enumerate(values) if v > capital), None)
        if first is None:
            threshold = None
        elif first == 0:
            threshold = coarse[0]
        else:
            threshold = _bisect(curve, capital, which, coarse[first - 1], coarse[first], GRID)
    else:
        threshold = next((k for k in range(0, depth + 1, GRID) if curve(k)[which] > capital),
                         None)
    if threshold is None:
        out.update(threshold=None, threshold_shortfall=None, previous=-depth / UNITS,
                   previous_shortfall=curve(depth)[which], cliff=False, refined=None)
        return out
    out["reached"] = True
    previous = threshold - GRID if threshold > 0 else None
    after = curve(threshold)[which]
    before = None if previous is None else curve(previous)[which]
    out.update(threshold=-threshold / UNITS, threshold_shortfall=after,
               previous=None if previous is None else -previous / UNITS,
               previous_shortfall=before,
               cliff=before is not None and before < CLIFF_FROM * capital and after > capital)
    if previous is None:
        out["refined"] = None
        return out
    hi = _bisect(curve, capital, which, previous, threshold, FINE)
    out["refined"] = {"threshold": -hi / UNITS, "threshold_shortfall": curve(hi)[which],
                      "previous": -(hi - FINE) / UNITS,
                      "previous_shortfall": curve(hi - FINE)[which]}
    return out


def _both(curve: _Curve, capital: float, depth: int, deepest_first: bool = False
          ) -> dict[str, Any]:
    """The spiral threshold, with the static-only one (marks only, no forced sales) beside it."""
    return {**_search(curve, capital, depth, 1, deepest_first),
            "static": _search(curve, capital, depth, 0, deepest_first)}


def reverse_stress(book: Book, lines: Lines, impact: ImpactModel, capital: float | None,
                   engine: Engine | None = None,
                   top: list[dict[str, Any]] | None = None, grid: bool = True) -> dict[str, Any]:
    """The reverse stress tests of ``book`` against net ``capital`` (None: not evaluable).

    ``engine``: ``(book, shocked_factors) -> (static_shortfall, spiral_shortfall)``, by default
    the one-instant spiral with ``lines`` and ``impact``. ``top``: the concentration rows whose
    instruments are shocked one at a time (default: ``concentration(book)``'s top ten).
    ``grid``: False leaves the equity x safe-haven grid out (said in the result)."""
    if capital is None or not math.isfinite(float(capital)):
        return {"evaluable": False, "reason": "not evaluable: no net capital"}
    capital = float(capital)
    engine = engine or one_instant_engine(lines, impact)
    k = book.n_instruments

    def uniform(units: int) -> np.ndarray:
        return np.full(k, 1 - units / UNITS)

    result: dict[str, Any] = {
        "evaluable": True, "net_capital": capital,
        "engine": getattr(engine, "label", "engine supplied by the caller"),
        "grid_step": GRID / UNITS, "refined_step": FINE / UNITS,
        "cliff_rule": f"the shortfall goes from below {CLIFF_FROM:.0%} of net capital to above "
                      "net capital within one grid step",
        "method": "a 5-point scan brackets the first crossing (the shortfall is non-decreasing "
                  "in the shock when sales are priced on the integrated impact curve), "
                  "bisection finds it on the 0.5-point grid, then to 0.1 point; a scan that is "
                  "not non-decreasing is flagged (scan_monotone false) and the whole 0.5-point "
                  "grid is scanned; a single name that leaves capital standing at -100% is not "
                  "scanned (scan_monotone null)",
        "static_meaning": "marks only: the shock's first pass, before any forced sale",
        "uniform": _both(_Curve(engine, book, uniform), capital, DEPTH),
    }

    rows = concentration(book)[0] if top is None else top
    index = {str(i): n for n, i in enumerate(book.instrument_ids.tolist())}
    singles = []
    for row in rows:
        at = index.get(str(row["instrument_id"]))
        if at is None:
            continue

        def alone(units: int, at: int = at) -> np.ndarray:
            f = np.ones(k)
            f[at] = 1 - units / UNITS
            return f
        singles.append({"instrument_id": row["instrument_id"], "asset_class": row["asset_class"],
                        "share_of_book": row["share_of_book"],
                        **_both(_Curve(engine, book, alone), capital, DEPTH, True)})
    result["single_name"] = singles
    result["equity_safe_haven"] = _grid(book, engine, capital) if grid else {
        "evaluable": False, "reason": f"not run on this engine for a book of "
                                      f"{book.n_accounts:,} accounts (see reverse_instant)"}
    return result


def _grid(book: Book, engine: Engine, capital: float) -> dict[str, Any]:
    """Equity-like classes fall 0 to -90% against bond and gold legs from +10% to -30%; for each
    leg, the equity fall that exhausts capital. Other classes are left unchanged."""
    classes = book.asset_class.astype(str)
    equity = np.isin(classes, EQUITY_LIKE)
    haven = np.isin(classes, SAFE_HAVENS)
    out: dict[str, Any] = {"equity_classes": list(EQUITY_LIKE), "safe_haven_classes":
                           list(SAFE_HAVENS), "other_classes": "unchanged",
                           "equity_shocks": [-u / UNITS for u in
                                             range(0, EQUITY_DEPTH + 1, COARSE)],
                           "safe_haven_shocks": [leg / UNITS for leg in HAVEN_LEGS]}
    if not equity.any():
        out.update(evaluable=False, reason="not evaluable: the book holds no equity-like class")
        return out
    out["evaluable"] = True
    out["safe_haven_held"] = bool(haven.any())
    # NOTE: without bond or gold holdings every leg gives the same numbers; one leg is enough.
    legs = HAVEN_LEGS if haven.any() else (0,)
    cells, thresholds = [], []
    for leg in legs:
        def factors(units: int, leg: int = leg) -> np.ndarray:
            f = np.ones(book.n_instruments)
            f[equity] = 1 - units / UNITS
            f[haven] = 1 + leg / UNITS
            return f
        curve = _Curve(engine, book, factors)
        found = _search(curve, capital, EQUITY_DEPTH, 1)  # fills the 5-point cells first
        cells += [{"equity_shock": -u / UNITS, "safe_haven_shock": leg / UNITS,
                   "static_shortfall": curve(u)[0], "shortfall": curve(u)[1]}
                  for u in range(0, EQUITY_DEPTH + 1, COARSE)]
        thresholds.append({"safe_haven_shock": leg / UNITS, **found})
    out["cells"] = cells
    out["thresholds"] = thresholds
    return out
