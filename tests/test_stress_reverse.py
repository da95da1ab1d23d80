"""Reverse stress tests and the model-risk grid: thresholds derived by hand on one-account books,
a cliff, the single-name and equity x safe-haven searches, an engine supplied by the caller,
and properties on the shipped sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audit.stress import (
    ImpactModel, build_book, capital_at, load_scenarios, platform_lines, run_stress,
)
from audit.stress.modelrisk import model_grid
from audit.stress.reverse import reverse_stress
from test_stress import DAY, DISCLOSURE, book_tables, scenario

ROOT = Path(__file__).resolve().parent.parent
LINES = platform_lines(DISCLOSURE)  # call 130%, close-out strictly below 120% of debt
NO_IMPACT = ImpactModel(coefficient=0.0)
# One account: cash 13, 1,000 units at 10, debt 7,000. Against capital 612.5 its shortfall
# 6,987 - 10,000 (1 + x) exceeds capital once 1 + x < 0.63745, i.e. x < -36.255%.
CAPITAL = 612.5


def one_account(adv: float = 1e9, extra: list[tuple] = (), instruments: list[tuple] = ()):
    tables = book_tables([("A", 13, 7000), *[(a, 0, d) for a, d, *_ in extra]],
                         [("A", "S", 1000, 10), *[(a, i, u, p) for a, _, i, u, p in extra]],
                         [("S", "equity", adv), *instruments], CAPITAL)
    return build_book(tables, DAY)


def test_without_impact_the_threshold_is_where_debt_less_capital_exceeds_the_assets():
    r = reverse_stress(one_account(), LINES, NO_IMPACT, CAPITAL)
    u = r["uniform"]
    # 0.5-point grid: -36.0% leaves 6,987 - 6,400 = 587, -36.5% gives 637 > 612.5
    assert (u["previous"], u["threshold"]) == (-0.36, -0.365)
    assert u["previous_shortfall"] == pytest.approx(587)
    assert u["threshold_shortfall"] == pytest.approx(637)
    # 0.1-point refinement around -36.255%: 607 at -36.2%, 617 at -36.3%
    assert (u["refined"]["previous"], u["refined"]["threshold"]) == (-0.362, -0.363)
    assert u["refined"]["threshold_shortfall"] == pytest.approx(617)
    assert u["cliff"] is False and u["reached"] and u["scan_monotone"]
    # no forced-sale discount: the static threshold is the same
    assert (u["static"]["previous"], u["static"]["threshold"]) == (-0.36, -0.365)


def test_a_fire_sale_at_the_floor_is_reported_as_a_cliff():
    # ADV of 1 unit: the square-root law (Y sigma = 0.05) saturates at the 0.9 cap after 324
    # units, so the 1,000 units sell on average (0.05 x 2/3 x 324^1.5 + 0.9 x 676) / 1,000 =
    # 80.28% below the shocked price. The account is closed once 13 + 10,000 (1 + x) < 8,400.
    r = reverse_stress(one_account(adv=1.0), LINES, ImpactModel(), CAPITAL)
    u = r["uniform"]
    assert (u["previous"], u["threshold"]) == (-0.16, -0.165)
    assert u["previous_shortfall"] == 0
    assert u["threshold_shortfall"] == pytest.approx(6987 - 8350 * (1 - 0.8028))  # 5,340.38
    assert u["cliff"] is True
    assert (u["refined"]["previous"], u["refined"]["threshold"]) == (-0.161, -0.162)
    assert u["refined"]["threshold_shortfall"] == pytest.approx(6987 - 8380 * (1 - 0.8028))
    # marks only: the static threshold stays where the assets fall short of debt less capital
    assert (u["static"]["previous"], u["static"]["threshold"]) == (-0.36, -0.365)
    assert u["static"]["cliff"] is False


def test_each_top_instrument_is_shocked_alone_in_concentration_order():
    # B holds 500 units of T at 10 without debt: no fall of T alone costs the platform anything
    book = one_account(adv=1.0, extra=[("B", 0, "T", 500, 10)],
                       instruments=[("T", "equity", 1e9)])
    r = reverse_stress(book, LINES, ImpactModel(), CAPITAL)
    names = [s["instrument_id"] for s in r["single_name"]]
    assert names == ["S", "T"]  # S is 2/3 of the book's value
    s, t = r["single_name"]
    assert (s["previous"], s["threshold"], s["cliff"]) == (-0.16, -0.165, True)
    assert t["reached"] is False and t["threshold"] is None and t["previous"] == -1.0
    assert t["previous_shortfall"] == 0


def test_equity_threshold_for_each_safe_haven_leg():
    # 1,000 units of equity and 500 of a bond at 10, debt 9,000, capital 480: the shortfall
    # 9,000 - 10,000 (1 + e) - 5,000 (1 + h) exceeds 480 once e < -(0.648 + h / 2).
    tables = book_tables([("A", 0, 9000)], [("A", "E", 1000, 10), ("A", "B", 500, 10)],
                         [("E", "equity", 1e9), ("B", "bond", 1e9)], 480.0)
    grid = reverse_stress(build_book(tables, DAY), LINES, NO_IMPACT, 480.0)["equity_safe_haven"]
    assert grid["safe_haven_shocks"] == pytest.approx([0.1, 0.05, 0, -0.05, -0.1, -0.15, -0.2,
                                                       -0.25, -0.3])
    thresholds = [t["threshold"] for t in grid["thresholds"]]
    assert thresholds == pytest.approx([-0.70, -0.675, -0.65, -0.625, -0.60, -0.575, -0.55,
                                        -0.525, -0.50])
    assert len(grid["cells"]) == 9 * 19
    cell = next(c for c in grid["cells"] if c["equity_shock"] == -0.9
                and c["safe_haven_shock"] == -0.3)
    assert cell["shortfall"] == pytest.approx(9000 - 1000 - 3500)


def test_other_classes_stay_unchanged_in_the_grid_and_a_book_without_equity_is_skipped():
    tables = book_tables([("A", 0, 9000)], [("A", "G", 1000, 10)], [("G", "gold", 1e9)], 480.0)
    grid = reverse_stress(build_book(tables, DAY), LINES, NO_IMPACT, 480.0)["equity_safe_haven"]
    assert grid["evaluable"] is False and "no equity-like class" in grid["reason"]
    tables = book_tables([("A", 0, 9000)], [("A", "E", 1000, 10), ("A", "C", 100, 10)],
                         [("E", "equity", 1e9), ("C", "crypto", 1e9)], 480.0)
    grid = reverse_stress(build_book(tables, DAY), LINES, NO_IMPACT, 480.0)["equity_safe_haven"]
    # no bond or gold held: one leg; the crypto 1,000 keeps its value, so 9,000 - 480 - 1,000
    assert grid["safe_haven_held"] is False and len(grid["thresholds"]) == 1
    assert grid["thresholds"][0]["threshold"] == pytest.approx(-0.25)  # 7,520 > 10,000 (1 + e)


@pytest.mark.parametrize("capital", [None, float("nan")])
def test_without_net_capital_the_reverse_test_is_not_evaluable(capital):
    assert reverse_stress(one_account(), LINES, NO_IMPACT, capital) == {
        "evaluable": False, "reason": "not evaluable: no net capital"}


def test_a_book_without_debt_never_exhausts_capital():
    tables = book_tables([("A", 0, 0)], [("A", "E", 1000, 10)], [("E", "equity", 1.0)], 1.0)
    r = reverse_stress(build_book(tables, DAY), LINES, ImpactModel(), 1.0)
    assert not r["uniform"]["reached"] and r["uniform"]["previous_shortfall"] == 0
    assert not any(t["reached"] for t in r["equity_safe_haven"]["thresholds"])


def test_capital_already_exhausted_without_a_shock():
    u = reverse_stress(one_account(), LINES, NO_IMPACT, -1.0)["uniform"]
    assert u["threshold"] == 0 and u["previous"] is None and u["refined"] is None


def test_an_engine_supplied_by_the_caller_is_searched_and_a_non_monotone_one_scanned_whole():
    calls = []

    def engine(book, shocked):
        calls.append(shocked.copy())
        x = round(1 - float(shocked.min()), 6)  # the fall applied
        spiral = 100.0 if 0.09 < x <= 0.11 or x >= 0.5 else 0.0
        return 0.0, spiral

    u = reverse_stress(one_account(), LINES, NO_IMPACT, 50.0, engine=engine)["uniform"]
    assert calls and all(c.shape == (1,) for c in calls)
    # the 5-point scan sees 100 at -10% and 0 at -15%: it scans the whole 0.5-point grid
    assert u["scan_monotone"] is False
    assert (u["previous"], u["threshold"]) == (-0.09, -0.095)
    assert (u["refined"]["previous"], u["refined"]["threshold"]) == (-0.09, -0.091)


# --- the model-risk grid ---------------------------------------------------------------------

def average_fall(cap: float, adv: float, units: float, y_sigma: float = 0.05) -> float:
    """Closed form of the capped square-root law's average fall over ``units`` sold from 0:
    (y_sigma x 2/3 x V x (q*/V)^1.5 + cap x (units - q*)) / units, q* = (cap / y_sigma)^2 V."""
    q = (cap / y_sigma) ** 2 * adv
    return (y_sigma * 2 / 3 * adv * (q / adv) ** 1.5 + cap * (units - q)) / units


def test_model_grid_names_the_floor_when_it_alone_decides_the_verdict():
    # 1,000 units against an ADV of 0.001: a million days of volume, so every law and Y >= 0.25
    # reach the cap within the first few units. At -34% the account (13 + 6,600 < 8,400) is
    # closed and its shortfall is 6,987 - 6,600 x (1 - average fall).
    book = one_account(adv=0.001)
    grid = model_grid(book, scenario(-0.34), LINES, 5000.0)
    cells = {(c["coefficient"], c["kind"], c["max_impact"]): c for c in grid["cells"]}
    assert len(cells) == 5 * 2 * 3
    for floor, verdict in ((0.9, "not covered"), (0.5, "covered"), (0.271, "covered")):
        cell = cells[(1.0, "sqrt", floor)]
        assert cell["shortfall"] == pytest.approx(
            6987 - 6600 * (1 - average_fall(floor, 0.001, 1000)))
        assert cell["verdict"] == verdict
    assert grid["default_verdict"] == "not covered"
    assert grid["verdict_stable"] is False and grid["deciding_parameters"] == ["max_impact"]
    assert {(f["parameter"], f["value"]) for f in grid["flips"]} == {("max_impact", 0.271),
                                                                     ("max_impact", 0.5)}
    # Y = 0: impact off, the static loss 7,000 - 6,613: a reference, not a flip
    off = [c for c in cells.values() if c["impact_off"]]
    assert len(off) == 6 and all(c["shortfall"] == pytest.approx(387) for c in off)


def test_model_grid_stable_verdict_and_no_capital():
    book = one_account()
    stable = model_grid(book, scenario(-0.10), LINES, 5000.0)
    assert stable["verdict_stable"] is True and stable["deciding_parameters"] == []
    for capital in (None, float("nan")):
        none = model_grid(book, scenario(-0.34), LINES, capital)
        assert {c["verdict"] for c in none["cells"]} == {"not evaluable"}
        assert none["verdict_stable"] is None and none["deciding_parameters"] is None


def test_assumptions_register_covers_every_parameter():
    grid = model_grid(one_account(adv=1.0), scenario(-0.34), LINES, 5000.0)
    register = grid["assumptions"]
    # the four columns, a stable key (the report translates a row by it) and, where the grid
    # measured it, the range of the parameter as data
    required = {"key", "assumption", "value", "source", "effect"}
    assert all(required <= set(a) <= required | {"range", "source_fields"} for a in register)
    assert len({a["key"] for a in register}) == len(register)
    floor_range = next(a["range"] for a in register if a["key"] == "floor")
    assert [r["value"] for r in floor_range] == [0.271, 0.5, 0.9]
    text = " ".join(a["assumption"] for a in register)
    for word in ("sigma", "coefficient Y", "law", "floor", "full close-out", "liquidation",
                 "participation", "horizon", "no recovery", "no buyers", "historical"):
        assert word in text
    floor = next(a for a in register if a["assumption"].startswith("price floor"))
    assert "0.271" in floor["effect"] and "covered" in floor["effect"]


# --- stress.json and the shipped sample ------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    from audit.disclosure import in_force_at
    from audit.evaluate import reference_date
    from audit.load import load_export
    from audit.rules import BUILTINS
    export = load_export(ROOT / "sample_data", None,
                         default_timezone=str(BUILTINS["timezone"].default))
    tables = {n: t.frame for n, t in export.tables.items()}
    at = reference_date(tables)
    return tables, in_force_at(tables, at), at


def test_sample_reverse_properties(sample):
    tables, disclosure, at = sample
    book = build_book(tables, at)
    capital = capital_at(tables, at)["net_capital"]
    r = reverse_stress(book, platform_lines(disclosure), ImpactModel(), capital)
    u = r["uniform"]
    assert u["reached"] and u["cliff"]
    assert u["previous"] - u["threshold"] == pytest.approx(0.005)
    assert u["previous_shortfall"] <= capital < u["threshold_shortfall"]
    assert u["refined"]["previous"] >= u["refined"]["threshold"] >= u["threshold"]
    assert u["static"]["threshold"] < u["threshold"]  # marks alone need a deeper fall
    top = r["single_name"][0]
    assert len(r["single_name"]) == 10 and top["reached"] and top["threshold"] < u["threshold"]


def test_stress_json_carries_reverse_and_model_risk(sample):
    tables, disclosure, at = sample
    severe = [s for s in load_scenarios() if s.severe]
    result = run_stress(tables, disclosure, severe, as_of=at)
    d = json.loads(json.dumps(result.to_dict()))
    # The one-instant spiral's reverse test shows the floor's cliff; the path's (the verdict's
    # engine, daily price limits instead of a floor) crosses capital much deeper and smoothly
    instant, path = d["reverse_instant"], d["reverse"]
    assert instant["evaluable"] and instant["uniform"]["cliff"]
    assert path["engine"].startswith("multi-day path") and not path["uniform"]["cliff"]
    assert path["uniform"]["threshold"] < instant["uniform"]["threshold"]
    money = path["uniform"]["threshold_shortfall"]
    assert money == round(money, 2)
    assert "max_impact" in d["model_risk"]["deciding_parameters"]
    assert d["model_risk"]["scenario"] == severe[0].name
    assert np.isfinite(d["model_risk"]["default_shortfall"])
