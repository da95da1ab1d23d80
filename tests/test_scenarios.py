"""The scenario library: close-to-close figures checked against the published closes, board and
limit-down legs, single-name shocks, safe-haven legs, labels, jurisdictions and the severe
scenario of each jurisdiction family."""

from __future__ import annotations

import json

import pytest

from audit.pipeline import run_stress_analytics
from audit.stress import ScenarioError, build_book, load_scenarios, shock_factors
from audit.stress.scenarios import Scenario
from audit.stress.spiral import top_names
from test_stress import DAY, _cli, _export, book_tables, two_accounts


def by_name(*names: str) -> dict[str, Scenario]:
    return {s.name: s for s in load_scenarios(list(names))}


def closes(a: float, b: float) -> float:
    """The close-to-close move from a to b, at the 4 dp the files give."""
    return round(b / a - 1, 4)


# --- the shipped library: labels, severe scenarios, jurisdictions ------------------------------

def test_shipped_library_labels():
    scenarios = load_scenarios()
    names = [s.name for s in scenarios]
    assert len(names) == len(set(names))
    uniform = {s.name: s.shocks["default"] for s in scenarios if s.kind == "uniform"}
    assert uniform == {"uniform-10": -0.10, "uniform-20": -0.20, "uniform-33": -0.33,
                       "uniform-50": -0.50}
    kinds = {s.name: s.kind for s in scenarios}
    # historical only for an episode of the market whose book it is: A-share episodes, cn only
    historical = {n for n, k in kinds.items() if k == "historical"}
    assert historical == {"2015-a-share-crash", "2015-small-cap-leg", "2007-2008-a-share",
                          "2016-circuit-breaker"}
    assert all(s.jurisdictions == ["cn"] and s.dates and s.source
               for s in scenarios if s.kind == "historical")
    # US episodes applied elsewhere and derived ones are hypothetical
    for name in ("1987-black-monday", "2008-worst-day", "2008-worst-10-days",
                 "2008-peak-to-trough", "2020-dash-for-cash", "joint-deleveraging",
                 "a-share-3-limit-down", "top-name-5-limit-downs", "top-name-10-limit-downs",
                 "top-3-names-5-limit-downs"):
        assert kinds[name] == "hypothetical", name
    # sorted: uniform, by class, historical, hypothetical
    order = ["uniform", "asset_class", "historical", "hypothetical"]
    assert [order.index(s.kind) for s in scenarios] == sorted(order.index(s.kind) for s in scenarios)


@pytest.mark.parametrize("jurisdictions, market, concentration", [
    (["cn"], "2015-a-share-crash", ["top-name-10-limit-downs"]),
    (["us"], "2020-dash-for-cash", []),
    (["eu", "uk"], "2020-dash-for-cash", []),
])
def test_one_severe_market_scenario_per_jurisdiction_family(jurisdictions, market,
                                                            concentration):
    severe = [s for s in load_scenarios(jurisdictions=jurisdictions) if s.severe]
    assert [s.name for s in severe if s.single_name is None] == [market]
    assert [s.name for s in severe if s.single_name is not None] == concentration
    # the engine takes the first severe one: the market scenario comes first
    assert severe[0].name == market


def test_jurisdictions_filter_the_library_but_not_named_scenarios():
    us = {s.name for s in load_scenarios(jurisdictions=["us"])}
    cn = {s.name for s in load_scenarios(jurisdictions=["cn"])}
    assert "2015-a-share-crash" not in us and "2020-dash-for-cash" not in cn
    assert "2015-a-share-crash" in cn and "2020-dash-for-cash" in us
    assert {"uniform-10", "joint-deleveraging", "1987-black-monday"} <= us & cn  # everywhere
    everything = {s.name for s in load_scenarios()}
    assert us | cn == everything
    # an auditor who names a scenario runs it, whatever the profile
    assert [s.name for s in load_scenarios(["2015-a-share-crash"], jurisdictions=["us"])] == \
        ["2015-a-share-crash"]


# --- figures against the published closes (review R6 acceptance) -------------------------------

def test_2015_crash_is_close_to_close_with_the_intraday_figure_for_information():
    """(a) SSE Composite 5,166.35 (12 Jun) -> 2,927.29 (26 Aug 2015) = -43.34%; intraday
    5,178.19 -> 2,850.71 = -44.95% recorded as `intraday` only."""
    s = by_name("2015-a-share-crash")["2015-a-share-crash"]
    assert s.shock_for("equity") == closes(5166.35, 2927.29) == -0.4334
    assert s.intraday == closes(5178.19, 2850.71) == -0.4495
    assert s.boards["main"] == -0.4334
    # ChiNext 3,899.59 (12 Jun, implied by -5.22% to 3,696.03 on 15 Jun) -> 1,890.04
    assert s.boards["chinext"] == closes(3696.03 / (1 - 0.0522), 1890.04) == -0.5153
    assert s.index_moves["szse_component"] == closes(17702.55 / (1 - 0.0219), 9899.72)
    assert s.severe and s.jurisdictions == ["cn"]


def test_2015_small_cap_leg_records_the_published_figures():
    """(b) 15 Jun -> 7 Jul 2015: SSE -27.86%, SZSE Component -37.15%, SME -37.22%, ChiNext
    -39.69%; the SSE figure is the fall from 5,166.35 to the 7 Jul close of 3,727.13."""
    s = by_name("2015-small-cap-leg")["2015-small-cap-leg"]
    assert s.index_moves == {"sse_composite": -0.2786, "szse_component": -0.3715,
                             "sme": -0.3722, "chinext": -0.3969}
    assert closes(5166.35, 3727.13) == -0.2786
    assert s.boards["chinext"] == -0.3969 and s.boards["main"] == -0.3722
    assert s.shock_for("equity") == -0.2786


def test_2007_2008_close_to_close_and_intraday():
    """(d) 6,124.04 -> 1,664.93 = -72.8% is intraday high to intraday low: recorded as such;
    the shock is close to close, 6,092.06 (16 Oct 2007) -> 1,723.35 (27 Oct 2008)."""
    s = by_name("2007-2008-a-share")["2007-2008-a-share"]
    assert round(s.intraday, 3) == round(1664.93 / 6124.04 - 1, 3) == -0.728
    assert s.shock_for("equity") == closes(6092.06, 1723.35) == -0.7171
    assert not s.boards  # ChiNext opened in October 2009: no source for a board leg


def test_2016_circuit_breaker_figures():
    s = by_name("2016-circuit-breaker")["2016-circuit-breaker"]
    moves = s.index_moves
    assert (moves["csi300_2016_01_04"], moves["csi300_2016_01_07"]) == (-0.0702, -0.0721)
    assert (moves["sse_composite_2016_01_04"], moves["sse_composite_2016_01_07"]) == \
        (-0.0686, -0.0732)
    # 31 Dec 2015 -> 7 Jan 2016, the closes implied by 4 Jan's percentages
    assert s.shock_for("equity") == closes(3469.07 / (1 - 0.0702), 3284.74) == -0.1196
    assert closes(3296.26 / (1 - 0.0686), 3115.89) == -0.1196
    assert s.boards["chinext"] == closes(2714.05, 2468.37 * (1 - 0.0866)) == -0.1693


def test_2008_derived_figures_unchanged_and_safe_havens_not_copied():
    """(e) the arch-derived S&P 500 figures: -9.035%, -25.885%, -56.775%; bonds no longer
    take the equity fall (they took -56.8%)."""
    s = by_name("2008-worst-day", "2008-worst-10-days", "2008-peak-to-trough")
    assert round(s["2008-worst-day"].shock_for("equity") * 100, 3) == -9.035
    assert round(s["2008-worst-10-days"].shock_for("equity") * 100, 3) == -25.885
    assert round(s["2008-peak-to-trough"].shock_for("equity") * 100, 3) == -56.775
    for scenario in s.values():
        assert scenario.shock_for("bond") == 0 and scenario.shock_for("gold") == 0


# --- safe havens (f) ---------------------------------------------------------------------------

def test_no_historical_file_copies_the_equity_leg_to_bonds_or_gold():
    for s in load_scenarios():
        if s.kind != "historical":
            continue
        assert {"bond", "gold"} <= set(s.shocks), s.name  # stated, not the default
        for haven in ("bond", "gold"):
            assert s.shocks[haven] != s.shock_for("equity") or s.safe_haven_note, s.name
        assert s.safe_haven_note  # every shipped one says where its legs come from


def test_board_legs_never_reach_bonds_or_gold():
    """No historical file shocks a bond by more than its documented leg: the board and
    limit-down legs apply to equities and ETFs only."""
    book = build_book(board_book(), DAY)
    for s in load_scenarios():
        if s.single_name is not None:
            continue
        f = shock_factors(book, s)
        for k, cls in enumerate(book.asset_class):
            if cls in ("bond", "gold"):
                assert f[k] == pytest.approx(1 + s.shock_for(cls)), (s.name, cls)


HIST = ("schema_version: 1\nname: {name}\ntitle: t\nkind: historical\nsource: s\n"
        "confidence: secondary\ndates: {{start: 2015-06-12, end: 2015-08-26}}\n")


@pytest.mark.parametrize("body, words", [
    ("shocks: {default: -0.4}\n", "states its safe-haven legs"),
    ("shocks: {default: -0.4, bond: -0.4, gold: 0}\n", "bond leg equals the equity leg"),
    ("shocks: {equity: -0.4, default: -0.1, bond: 0, gold: -0.4}\n", "gold leg equals"),
    ("shocks: {bond: 0, gold: 0}\nderive: {series: sp500, measure: worst_day, "
     "start: 2008-01-01, end: 2009-12-31, apply_to: [default, bond]}\n", "set both"),
    ("shocks: {default: 0, bond: 0, gold: 0.1}\n", "bond leg equals"),
])
def test_validator_rejects_copied_safe_havens(tmp_path, body, words):
    (tmp_path / "h.yaml").write_text(HIST.format(name="h") + body, encoding="utf-8")
    with pytest.raises(ScenarioError, match=words):
        load_scenarios(["h"], directory=tmp_path)


def test_validator_rejects_a_derived_equity_leg_copied_to_bonds(tmp_path):
    body = ("derive: {series: sp500, measure: worst_day, start: 2008-01-01, end: 2009-12-31}\n"
            "shocks: {bond: -0.09034977815503076, gold: 0}\n")
    (tmp_path / "h.yaml").write_text(HIST.format(name="h") + body, encoding="utf-8")
    with pytest.raises(ScenarioError, match="bond leg equals"):
        load_scenarios(["h"], directory=tmp_path)


def test_a_safe_haven_note_allows_an_equal_leg(tmp_path):
    body = ("shocks: {default: -0.4, bond: -0.4, gold: -0.4}\n"
            "safe_haven_note: everything was sold for cash (source ...)\n")
    (tmp_path / "h.yaml").write_text(HIST.format(name="h") + body, encoding="utf-8")
    [s] = load_scenarios(directory=tmp_path)
    assert s.shock_for("bond") == -0.4


BASE = "schema_version: 1\nname: {name}\ntitle: t\nkind: {kind}\nsource: s\nconfidence: derived\n"


@pytest.mark.parametrize("kind, body, words", [
    ("hypothetical", "shocks: {default: 0}\nboards: {nasdaq: -0.2}\n", "unknown board"),
    ("hypothetical", "shocks: {default: 0}\nboards: {main: -1.2}\n", "between -1 and 1"),
    ("hypothetical", "shocks: {default: 0}\nboards: {main: -0.2}\nlimit_downs: 3\n", "not both"),
    ("uniform", "shocks: {default: -0.1}\nboards: {main: -0.2}\n", "only a `default`"),
    ("hypothetical", "shocks: {default: 0}\nsingle_name: {top: 0, limit_downs: 3}\n", "top"),
    ("hypothetical", "shocks: {default: 0}\njurisdictions: [fr]\n", "jurisdictions"),
    ("hypothetical", "shocks: {default: 0}\nintraday: -3\n", "between -1 and 1"),
])
def test_invalid_new_fields_are_rejected(tmp_path, kind, body, words):
    (tmp_path / "bad.yaml").write_text(BASE.format(name="bad", kind=kind) + body,
                                       encoding="utf-8")
    with pytest.raises(ScenarioError, match=words):
        load_scenarios(["bad"], directory=tmp_path)


# --- board, limit-down and single-name legs on a book ------------------------------------------

def board_book(net_capital: float | None = 1e9):
    """One account holding, by value: main board 600000 (4,000), ChiNext 300001 (3,000), STAR
    688001 (2,000), Beijing 830001 (1,500), main-board ST 000002 (1,000), a bond (5,000, the
    largest holding) and gold (500)."""
    instruments = [("600000", "equity"), ("300001", "equity"), ("688001", "equity"),
                   ("830001", "equity"), ("000002", "equity"), ("B1", "bond"), ("G1", "gold")]
    values = [4000, 3000, 2000, 1500, 1000, 5000, 500]
    tables = book_tables([("A", 0, 1000)],
                         [("A", i, v, 1) for (i, _), v in zip(instruments, values)],
                         [(i, c, 1e9) for i, c in instruments], net_capital)
    tables["instruments"] = tables["instruments"].with_columns(
        tables["instruments"]["name"].replace({"000002": "*ST Two"}))
    return tables


def factors(scenario: Scenario) -> dict[str, float]:
    book = build_book(board_book(), DAY)
    return dict(zip(book.instrument_ids.tolist(), shock_factors(book, scenario).tolist()))


def test_three_limit_downs_by_board():
    """(c) three limit-downs: 0.9^3 = -27.1% on the main board, 0.8^3 = -48.8% on ChiNext and
    STAR, 0.7^3 on the Beijing exchange, 0.95^3 for ST; bonds and gold by their legs."""
    f = factors(by_name("a-share-3-limit-down")["a-share-3-limit-down"])
    assert f["600000"] == pytest.approx(0.729)
    assert f["300001"] - 1 == pytest.approx(-0.488) and f["688001"] - 1 == pytest.approx(-0.488)
    assert f["830001"] == pytest.approx(0.343)
    assert f["000002"] == pytest.approx(0.95 ** 3)
    assert (f["B1"], f["G1"]) == (pytest.approx(0.95), pytest.approx(0.86))


def test_board_legs_take_precedence_over_the_class_shock():
    s = by_name("2015-a-share-crash")["2015-a-share-crash"]
    f = factors(s)
    assert f["600000"] == pytest.approx(1 - 0.4334)
    assert f["300001"] == pytest.approx(1 - 0.5153) == pytest.approx(f["688001"])
    assert f["000002"] == pytest.approx(1 - 0.4334)  # no main_st leg: the equity leg
    assert f["B1"] == 1.0 and f["G1"] == pytest.approx(1 - 0.107)
    # a book without boards (an older Book) takes the class shock everywhere
    book = build_book(board_book(), DAY)
    book.board = None
    assert shock_factors(book, s)[0] == pytest.approx(1 - 0.4334)


def test_top_name_ten_limit_downs_hits_the_largest_equity_alone():
    """After ten limit-downs a main-board stock is at 0.9^10 = 0.3487 of its close; the bond,
    the largest holding, is not a name a limit-down applies to; everything else is unchanged."""
    f = factors(by_name("top-name-10-limit-downs")["top-name-10-limit-downs"])
    assert round(f["600000"], 4) == 0.3487
    assert all(v == 1.0 for k, v in f.items() if k != "600000")
    f5 = factors(by_name("top-name-5-limit-downs")["top-name-5-limit-downs"])
    assert f5["600000"] == pytest.approx(0.9 ** 5)


def test_top_three_names_fall_on_their_own_boards():
    f = factors(by_name("top-3-names-5-limit-downs")["top-3-names-5-limit-downs"])
    assert f["600000"] == pytest.approx(0.9 ** 5)
    assert f["300001"] == pytest.approx(0.8 ** 5) == pytest.approx(f["688001"])
    assert f["830001"] == f["000002"] == f["B1"] == 1.0


def test_top_names_ties_are_broken_by_instrument_id():
    tables = book_tables([("A", 0, 0)], [("A", "600002", 1, 10), ("A", "600001", 1, 10)],
                         [("600002", "equity", 1e9), ("600001", "equity", 1e9)])
    book = build_book(tables, DAY)
    assert book.instrument_ids[top_names(book, 1)].tolist() == ["600001"]


def test_single_name_scenario_on_the_two_account_book_costs_capital():
    """A: 1,000 units at 10 on 8,000 of debt; B: 500 on 3,000. Ten limit-downs of X (no
    exchange, so the main board's 10%): A keeps 3,486.78 against 8,000, B 1,743.39 against 3,000
    (no impact: Y = 0)."""
    from audit.stress import ImpactModel, run_stress

    s = by_name("top-name-10-limit-downs")["top-name-10-limit-downs"]
    result = run_stress(two_accounts(), None, [s], impact=ImpactModel(coefficient=0.0))
    o = result.outcomes[0]
    assert o.shortfall == pytest.approx(8000 - 10000 * 0.9 ** 10 + 3000 - 5000 * 0.9 ** 10)
    row = result.to_dict()["scenarios"][0]
    assert row["single_name"] == {"top": 1, "limit_downs": 10, "instruments": ["X"]}
    assert row["jurisdictions"] == ["cn"] and row["kind"] == "hypothetical"


# --- the profile's jurisdictions reach the stress run ------------------------------------------

def test_pipeline_runs_only_the_profiles_scenarios():
    said = []
    us = run_stress_analytics(two_accounts(), DAY, said.append, jurisdictions=["us"])
    cn = run_stress_analytics(two_accounts(), DAY, said.append, jurisdictions=["cn"])
    us_names = {o.scenario.name for o in us.outcomes}
    cn_names = {o.scenario.name for o in cn.outcomes}
    assert "2020-dash-for-cash" in us_names and "2015-a-share-crash" not in us_names
    assert "2015-a-share-crash" in cn_names and "2020-dash-for-cash" not in cn_names
    assert us.spiral_scenario == "2020-dash-for-cash"
    assert cn.spiral_scenario == "2015-a-share-crash"


def test_cli_profile_option_chooses_the_scenarios(monkeypatch, tmp_path):
    names = {}
    for profile in ("seed", "us"):
        out = tmp_path / profile
        result = _cli(monkeypatch, two_accounts(net_capital=1e9), str(_export(tmp_path)),
                      "--out", str(out), "--profile", profile)
        assert result.exit_code in (0, 1), result.output
        data = json.loads((out / "stress.json").read_text(encoding="utf-8"))
        names[profile] = {s["name"] for s in data["scenarios"]}
        assert data["spiral"]["scenario"] == ("2015-a-share-crash" if profile == "seed"
                                              else "2020-dash-for-cash")
    assert "2016-circuit-breaker" in names["seed"] and "2016-circuit-breaker" not in names["us"]


def test_cli_unknown_profile_exits_2(monkeypatch, tmp_path):
    result = _cli(monkeypatch, two_accounts(), str(_export(tmp_path)), "--out",
                  str(tmp_path / "out"), "--profile", "nowhere")
    assert result.exit_code == 2
    assert "unknown profile" in result.output
