"""Stress tests: scenario files, arch-derived 2008 shocks, static and spiral losses by hand,
termination, leverage-cap sensitivity, the derived table and the command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from audit import contract
from audit import stress as st
from audit.cli import stress as stress_cli
from audit.evaluate import Context, evaluate_rule
from audit.rules import RuleFileError, Rule
from audit.stress import (
    ImpactModel, Scenario, ScenarioError, StressError, build_book, capped_book, derive_shock,
    load_scenarios, platform_lines, run_stress, stress_table, write_stress,
)

DAY = date(2024, 1, 2)
# Call at 130%, close-out at 120% of debt: the common broker lines (domain.md 3.1).
DISCLOSURE = {"margin_call_ratio": 1.3, "liquidation_ratio": 1.2, "capital_buffer_min": 100.0,
              "liquidity_buffer_min": 50.0}
# Linear impact with Y * sigma = 0.1: selling one day of volume moves the price 10%.
LINEAR = ImpactModel(kind="linear", daily_vol={"equity": 0.1})


def scenario(shock: float, name: str = "test", **extra) -> Scenario:
    return Scenario(name=name, title=name, kind="uniform", source="test", confidence="derived",
                    shocks={"default": shock}, **extra)


def book_tables(accounts: list[tuple], positions: list[tuple], instruments: list[tuple],
                net_capital: float | None = 600.0) -> dict[str, pl.DataFrame]:
    """accounts: (id, cash, debt); positions: (account, instrument, units, price);
    instruments: (id, asset_class, adv)."""
    value = {a: sum(u * p for acc, _, u, p in positions if acc == a) for a, _, _ in accounts}
    tables = {
        "accounts": pl.DataFrame({
            "date": [DAY] * len(accounts), "account_id": [a for a, _, _ in accounts],
            "client_id": ["C"] * len(accounts), "cash": [float(c) for _, c, _ in accounts],
            "market_value": [value[a] for a, _, _ in accounts],
            "debt": [float(d) for _, _, d in accounts],
            "equity": [c + value[a] - d for a, c, d in accounts], "leverage": [None] * len(accounts),
        }, schema_overrides={"leverage": pl.Float64}),
        "positions": pl.DataFrame({
            "date": [DAY] * len(positions), "account_id": [p[0] for p in positions],
            "instrument_id": [p[1] for p in positions], "quantity": [float(p[2]) for p in positions],
            "price": [float(p[3]) for p in positions],
            "market_value": [float(p[2] * p[3]) for p in positions],
        }),
        "instruments": pl.DataFrame({
            "instrument_id": [i[0] for i in instruments], "name": [i[0] for i in instruments],
            "asset_class": [i[1] for i in instruments], "exchange": [None] * len(instruments),
            "adv": [i[2] for i in instruments],
        }, schema_overrides={"adv": pl.Float64, "exchange": pl.String}),
    }
    if net_capital is not None:
        tables["capital"] = pl.DataFrame({"date": [DAY], "net_capital": [net_capital],
                                          "liquid_assets": [1000.0]})
    return tables


def two_accounts(net_capital: float | None = 600.0, adv: float | None = 1000.0):
    """A: 1,000 units at 10 on 8,000 of debt (collateral 125%); B: 500 units on 3,000 (167%)."""
    return book_tables([("A", 0, 8000), ("B", 0, 3000)],
                       [("A", "X", 1000, 10), ("B", "X", 500, 10)],
                       [("X", "equity", adv)], net_capital)


# --- scenario files ----------------------------------------------------------------------------

# NOTE: the shipped library (labels, severe scenarios, figures) is tested in test_scenarios.py.


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "schema_version: 1\nname: {name}\ntitle: t\nkind: {kind}\nsource: s\nconfidence: derived\n"


@pytest.mark.parametrize("kind, body, words", [
    ("uniform", "shocks: {default: -1.5}\n", "between -1 and 1"),
    ("uniform", "shocks: {equity: -0.2}\n", "needs a `default`"),
    ("uniform", "shocks: {default: -0.2, gold: 0.1}\n", "only a `default`"),
    ("asset_class", "shocks: {default: -0.2, stocks: -0.3}\n", "unknown asset class"),
    ("historical", "shocks: {default: -0.2}\n", "needs dates"),
    ("uniform", "shock: {default: -0.2}\n", "unknown key"),
    ("uniform", "shocks: {default: -0.2}\nconfidence: sure\n", "confidence"),
    ("historical", "dates: {start: 2008-01-01}\nderive: {series: sp500, measure: worst_day, "
                   "start: 2009-01-01, end: 2008-01-01}\n", "must come after"),
    ("historical", "dates: {start: 2008-01-01}\nderive: {series: ftse, measure: worst_day, "
                   "start: 2008-01-01, end: 2009-01-01}\n", "derive.series"),
])
def test_invalid_scenario_files_are_rejected_with_file_and_line(tmp_path, kind, body, words):
    text = BASE.format(name="bad", kind=kind) + body
    if "confidence: sure" in body:
        text = text.replace("confidence: derived\n", "")
    _write(tmp_path, "bad", text)
    with pytest.raises(ScenarioError, match=words) as err:
        load_scenarios(["bad"], directory=tmp_path)
    assert f"{tmp_path / 'bad.yaml'}:" in str(err.value)
    assert isinstance(err.value, RuleFileError)  # `audit run` reports it like a rule file


def test_scenario_name_must_match_its_file(tmp_path):
    _write(tmp_path, "mine", BASE.format(name="other", kind="uniform") + "shocks: {default: -0.1}\n")
    with pytest.raises(ScenarioError, match="must match the file name"):
        load_scenarios(directory=tmp_path)


def test_unknown_scenario_name_lists_the_known_ones():
    with pytest.raises(ScenarioError, match="uniform-10"):
        load_scenarios(["no-such-scenario"])


def test_an_auditor_can_add_a_scenario(tmp_path):
    _write(tmp_path, "gold-crash", BASE.format(name="gold-crash", kind="asset_class")
           + "shocks: {gold: -0.3, default: 0}\n")
    [s] = load_scenarios(directory=tmp_path)
    assert s.shock_for("gold") == -0.3 and s.shock_for("equity") == 0


# --- 2008 derived from arch's S&P 500 data -----------------------------------------------------

def test_2008_scenarios_derived_from_arch_match_domain_md():
    """domain.md section 6: worst day -9.03% on 15 Oct 2008; 1,565.15 (9 Oct 2007) to 676.53
    (9 Mar 2009) = -56.8%. Tolerance: the figures as domain.md rounds them (2 dp for index
    levels and percentages, 1 dp for the -56.8%)."""
    by_name = {s.name: s for s in load_scenarios(
        ["2008-worst-day", "2008-worst-10-days", "2008-peak-to-trough"])}
    day = by_name["2008-worst-day"].derivation
    assert day["to"] == "2008-10-15" and round(day["value"] * 100, 2) == -9.03
    assert by_name["2008-worst-day"].shocks["default"] == day["value"]
    drop = by_name["2008-peak-to-trough"].derivation
    assert (drop["from"], drop["to"]) == ("2007-10-09", "2009-03-09")
    assert (round(drop["from_level"], 2), round(drop["to_level"], 2)) == (1565.15, 676.53)
    assert round(drop["value"] * 100, 1) == -56.8
    ten = by_name["2008-worst-10-days"].derivation
    assert ten["to"] == "2008-10-10" and -0.26 < ten["value"] < -0.25
    # the next-worst days of domain.md come out of the same data
    spec = st.Derive(series="sp500", measure="worst_day", start=date(2008, 11, 1),
                     end=date(2008, 12, 31))
    assert round(derive_shock(spec)["value"] * 100, 2) == -8.93


def test_derived_closes_are_arch_loaders_closes():
    sp500 = pytest.importorskip("arch.data.sp500")
    official = sp500.load()["Close"]
    ours = st.index_closes("sp500")
    assert ours.height == len(official)
    assert ours["date"][0] == official.index[0].date() and ours["date"][-1] == official.index[-1].date()
    assert np.allclose(ours["close"].to_numpy(), official.to_numpy())


def test_missing_arch_is_reported_clearly(monkeypatch):
    st.index_closes.cache_clear()
    monkeypatch.setattr(st.scenarios.importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(ScenarioError, match="pip install arch"):
            load_scenarios(["2008-worst-day"])
    finally:
        st.index_closes.cache_clear()


# --- a book small enough to compute by hand ----------------------------------------------------

def test_static_and_spiral_losses_by_hand():
    """-25%: A's collateral 7,500 < debt 8,000 (static shortfall 500); B 3,750 / 3,000 = 125%,
    in call (< 130%) but above the 120% close-out line.
    Round 1: A closed, sells 1,000 units = 1 day of ADV -> price -10% (linear, 0.1 per day):
    factor 0.75 -> 0.675; A sells at the mid 0.7125 -> 7,125, shortfall 875.
    B is now at 3,375 / 3,000 = 112.5% -> round 2: B closed, 1,500 units sold in all -> -15%:
    factor 0.6375; B sells at 0.65625 -> 3,281.25, no shortfall. Nobody left: 2 rounds."""
    result = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25)], impact=LINEAR)
    o = result.outcomes[0]
    assert (o.accounts_in_call, o.accounts_wiped_out) == (2, 1)
    assert o.shortfall == pytest.approx(500)
    assert o.spiral_shortfall == pytest.approx(875)
    assert o.amplification == pytest.approx(1.75)
    assert o.converged and len(o.rounds) == 2 and o.accounts_liquidated == 2
    r1, r2 = o.rounds
    assert (r1["accounts_liquidated"], r2["accounts_liquidated"]) == (1, 1)
    assert r1["sales_value"] == pytest.approx(7125) and r2["sales_value"] == pytest.approx(3281.25)
    assert r1["avg_price_move"] == pytest.approx(-0.10)
    assert r2["avg_price_move"] == pytest.approx(0.6375 / 0.675 - 1)
    assert r1["shortfall"] == pytest.approx(875) and r2["shortfall"] == pytest.approx(875)
    # fire-sale loss beyond the shock: 11,250 at shocked prices -> 7,125 + 3,281.25
    assert r2["cumulative_loss"] == pytest.approx(11250 - 7125 - 3281.25)
    assert o.max_days_to_liquidate == pytest.approx(1.5)
    row = result.to_dict()["scenarios"][0]
    assert row["spiral_shortfall_vs_capital"] == pytest.approx(875 / 600, abs=1e-6)
    # Capital is judged on the multi-day path's shortfall (the verdict's engine)
    assert row["stressed_engine"] == "multi-day path"
    assert row["stressed_shortfall"] == row["path_shortfall"] > 0
    assert row["shortfall_vs_capital"] == pytest.approx(row["path_shortfall"] / 600, abs=1e-6)
    assert row["covered_by_capital"] is False
    assert row["capital_after"] == pytest.approx(600 - row["path_shortfall"])
    assert row["below_capital_buffer"] is True


def test_accounts_after_the_shock_and_the_spiral():
    result = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25)], impact=LINEAR)
    a, b = result.accounts_after().iter_rows(named=True)
    assert (a["account_id"], a["assets"], a["equity"], a["collateral_ratio"]) == \
        ("A", 7500, -500, 0.9375)
    assert a["in_call"] and a["wiped_out"] and a["shortfall"] == 500 and a["closed_out"]
    assert a["spiral_assets"] == pytest.approx(7125) and a["spiral_shortfall"] == pytest.approx(875)
    assert (b["collateral_ratio"], b["in_call"], b["wiped_out"], b["shortfall"]) == \
        (1.25, True, False, 0)
    assert b["closed_out"] and b["spiral_assets"] == pytest.approx(3281.25)


def test_square_root_impact_is_the_documented_formula():
    model = ImpactModel()
    psi = model.impact(np.array([100.0, 400.0, 1e9, 5.0, 0.0]),
                       np.array([100.0, 100.0, 1.0, 0.0, 0.0]), np.full(5, 0.05))
    assert psi[:2] == pytest.approx([0.05, 0.10])  # Y * sigma * sqrt(days of ADV)
    assert psi[2] == model.max_impact  # the floor
    assert psi[3] == model.max_impact and psi[4] == 0  # no ADV: sold at the floor


def test_no_breach_no_spiral():
    # -1%: A at 9,900 / 8,000 = 124%, above the 120% close-out line
    o = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.01)], impact=LINEAR).outcomes[0]
    assert o.rounds == [] and o.converged and o.shortfall == o.spiral_shortfall == 0
    assert o.amplification is None and o.max_days_to_liquidate == 0


def test_round_guard_stops_and_flags_an_unfinished_spiral():
    impact = ImpactModel(kind="linear", daily_vol={"equity": 0.1}, max_rounds=1)
    result = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25)], impact=impact)
    o = result.outcomes[0]
    assert not o.converged and len(o.rounds) == 1 and o.accounts_liquidated == 1
    assert result.to_dict()["spiral"]["converged"] is False


# --- execution price: the integral of the impact curve (stress review R1) ---------------------

def _one(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


def test_one_seller_under_the_square_root_law_bears_two_thirds_of_the_final_fall():
    """Y*sigma = 0.05, ADV 100, 400 units sold: final fall 10%, average fall 2/3 of it
    (Caccioli, Bouchaud & Farmer 2012: the integral of sqrt is 2/3 Q^1.5)."""
    model = ImpactModel(daily_vol={"equity": 0.05})
    vol, adv = _one(0.05), _one(100)
    assert model.impact(_one(400), adv, vol)[0] == pytest.approx(0.10)
    assert model.average_fall(_one(0), _one(400), adv, vol)[0] == pytest.approx(0.2 / 3)


def test_saturated_average_fall_integrates_the_cap():
    """Y*sigma = 0.05, cap 0.9, 402 days of ADV from zero: the law reaches the cap at
    (0.9 / 0.05)^2 = 324 days, so (0.05 * 2/3 * 324^1.5 + 0.9 * 78) / 402 = 0.65821 (the
    mid-point rule gave 0.45)."""
    model = ImpactModel(daily_vol={"equity": 0.05})
    fall = model.average_fall(_one(0), _one(402), _one(1), _one(0.05))[0]
    assert fall == pytest.approx((0.05 * 2 / 3 * 324 ** 1.5 + 0.9 * 78) / 402)
    assert round(fall, 5) == 0.65821


@pytest.mark.parametrize("kind", ["sqrt", "linear"])
def test_proceeds_do_not_depend_on_how_the_same_sales_are_split_into_rounds(kind):
    """The same cumulative sales in one round or in two (same order) raise the same proceeds."""
    model = ImpactModel(kind=kind, daily_vol={"equity": 0.05})
    vol, adv = _one(0.05), _one(50)
    one = 900 * (1 - model.average_fall(_one(0), _one(900), adv, vol)[0])
    two = (300 * (1 - model.average_fall(_one(0), _one(300), adv, vol)[0])
           + 600 * (1 - model.average_fall(_one(300), _one(900), adv, vol)[0]))
    assert one == pytest.approx(two, rel=1e-12)


def test_shortfall_is_non_decreasing_in_a_uniform_shock():
    """A bigger crash never gives a smaller loss (the mid-point rule broke this: -55% gave
    less than -50% on the sample book)."""
    tables = random_book(3000, seed=7)
    book = build_book(tables, DAY)
    lines = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.2})
    model = ImpactModel()
    losses = [st.run_scenario(book, scenario(-s / 100), lines, model).spiral_shortfall
              for s in range(5, 95, 5)]
    assert all(b >= a - 0.01 for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] > losses[0]


def test_spiral_terminates_on_a_random_book():
    tables = random_book(3000, seed=7)
    o = run_stress(tables, {"margin_call_ratio": 1.15, "liquidation_ratio": 1.1},
                   [scenario(-0.3)]).outcomes[0]
    assert o.converged and 0 < len(o.rounds) < 100
    assert o.spiral_shortfall >= o.shortfall > 0


def test_instruments_without_adv_sell_at_the_floor_and_are_flagged():
    result = run_stress(two_accounts(adv=None), DISCLOSURE, [scenario(-0.25)], impact=LINEAR)
    o = result.outcomes[0]
    assert o.max_days_to_liquidate is None and o.illiquid_instruments_sold == 1
    assert result.flags["instruments_without_adv"] == 1
    # No market: every unit sells at the floor, 0.75 * 0.1: A gets 750 of 8,000 debt, B 375
    # of 3,000 (no mid-point between the shocked price and the floor)
    assert o.spiral_shortfall == pytest.approx(8000 - 1000 * 10 * 0.75 * 0.1
                                               + 3000 - 500 * 10 * 0.075)
    assert stress_table(result)["max_days_to_liquidate"].to_list() == [None]


def test_lines_default_to_maintenance_margin_then_finra():
    lines = platform_lines({"maintenance_margin": 0.25})
    assert lines.call == pytest.approx(4 / 3) and lines.liquidation == lines.call
    assert platform_lines(None).call == pytest.approx(4 / 3)
    assert "default" in platform_lines(None).liquidation_source


def test_asset_class_shocks_apply_per_instrument():
    tables = book_tables([("A", 0, 1000)], [("A", "S", 100, 10), ("A", "G", 100, 10)],
                         [("S", "equity", 1e6), ("G", "gold", 1e6)])
    s = Scenario(name="j", title="j", kind="asset_class", source="s", confidence="derived",
                 shocks={"equity": -0.5, "gold": -0.1, "default": 0})
    o = run_stress(tables, DISCLOSURE, [s]).outcomes[0]
    assert o.book_loss == pytest.approx(500 + 100)


def test_missing_tables_raise_a_stress_error_naming_them():
    tables = two_accounts()
    del tables["positions"], tables["instruments"]
    with pytest.raises(StressError, match="positions, instruments"):
        run_stress(tables, DISCLOSURE, [scenario(-0.1)])
    tables = two_accounts()
    tables["positions"] = tables["positions"].with_columns(pl.lit(date(2023, 1, 1)).alias("date"))
    with pytest.raises(StressError, match="no holdings dated 2024-01-02"):
        run_stress(tables, DISCLOSURE, [scenario(-0.1)])


def test_unknown_instruments_and_orphan_positions_are_flagged():
    tables = book_tables([("A", 0, 500)], [("A", "X", 100, 10), ("A", "Y", 10, 10),
                                           ("Z", "X", 5, 10)], [("X", "equity", 1000.0)])
    flags = run_stress(tables, DISCLOSURE, [scenario(-0.1)]).flags
    assert flags == {"positions_without_account": 1, "instruments_without_reference": 1,
                     "instruments_without_adv": 1}


# --- book shape, caps --------------------------------------------------------------------------

def test_book_summary_histogram_and_near_call():
    result = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.1)], impact=LINEAR)
    book = result.book
    assert (book["accounts"], book["leveraged_accounts"]) == (2, 2)
    assert book["market_value"] == 15000 and book["debt"] == 11000 and book["equity"] == 4000
    buckets = {b["bucket"]: b["accounts"] for b in book["leverage_histogram"]}
    assert buckets["4-5x"] == 1 and buckets["2-3x"] == 1 and sum(buckets.values()) == 2
    # A (125%) is in call; B (167%) is not, and 90% of it (150%) is still above 130%
    assert (book["in_call"], book["near_call"]) == (1, 0)
    assert result.concentration[0]["share_of_book"] == 1.0
    assert result.concentration[0]["days_of_adv"] == 1.5


def test_capped_book_delevers_to_the_cap_keeping_equity():
    book = build_book(two_accounts(), DAY)
    capped, breach = capped_book(book, 2)
    assert breach.tolist() == [True, True]
    # A: equity 2,000 -> positions 4,000, debt 2,000; B: equity 2,000 -> 4,000, debt 2,000
    assert capped.account_values().tolist() == pytest.approx([4000, 4000])
    assert capped.debt.tolist() == pytest.approx([2000, 2000])
    assert capped.pos_units.tolist() == pytest.approx([400, 400])


def random_book(n: int, seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    equity = rng.lognormal(10, 1, n)
    lev = rng.integers(1, 11, n)
    per = rng.integers(1, 4, n)
    owner = np.repeat(np.arange(n), per)
    inst = rng.integers(0, 20, len(owner))
    pair = np.unique(owner * 20 + inst)
    owner, inst = pair // 20, pair % 20
    share = rng.random(len(owner))
    share /= np.bincount(owner, weights=share, minlength=n)[owner]
    value = (equity * lev)[owner] * share
    adv = np.bincount(inst, weights=value / 10, minlength=20) * rng.uniform(0.2, 3, 20)
    return book_tables(
        [(f"A{i:05}", 0.0, float(equity[i] * (lev[i] - 1))) for i in range(n)],
        [(f"A{o:05}", f"I{k:02}", float(v / 10), 10.0) for o, k, v in zip(owner, inst, value)],
        [(f"I{k:02}", "equity" if k < 16 else "gold", float(adv[k])) for k in range(20)],
        net_capital=1e6)


def test_sensitivity_is_monotone_in_the_cap():
    tables = random_book(2000, seed=1)
    lines = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.2})
    result = run_stress(tables, {"margin_call_ratio": 1.3, "liquidation_ratio": 1.2},
                        [scenario(-0.34, severe=True)])
    rows = st.sensitivity(build_book(tables, DAY), result.outcomes[0].scenario, lines,
                          ImpactModel())
    assert [r["cap"] for r in rows] == list(range(2, 11))
    shares = [r["share_breaching"] for r in rows]
    losses = [r["shortfall"] for r in rows]
    assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    assert losses == sorted(losses) and losses[0] < losses[-1]
    assert rows[-1]["shortfall"] == pytest.approx(result.outcomes[0].spiral_shortfall)


# --- outputs -----------------------------------------------------------------------------------

def test_to_dict_shape_is_json_safe_and_deterministic(tmp_path):
    scenarios = [scenario(-0.25, name="a"), scenario(-0.1, name="b", severe=True)]
    first = run_stress(two_accounts(), DISCLOSURE, scenarios, impact=LINEAR)
    second = run_stress(two_accounts(), DISCLOSURE, scenarios, impact=LINEAR)
    data = first.to_dict()
    assert json.dumps(data, allow_nan=False) == json.dumps(second.to_dict(), allow_nan=False)
    assert {"as_of", "model", "book", "scenarios", "spiral", "concentration",
            "frontier"} <= set(data)
    assert {"accounts", "leveraged_accounts", "market_value", "debt", "equity",
            "leverage_histogram", "near_call"} <= set(data["book"])
    assert {"name", "title", "kind", "source", "severe", "accounts_in_call",
            "accounts_wiped_out", "shortfall", "spiral_shortfall", "amplification",
            "spiral_rounds", "shortfall_vs_capital", "max_days_to_liquidate"} <= set(data["scenarios"][0])
    assert data["spiral"]["scenario"] == "b"  # the one marked severe, not the worst
    # the 120% close-out line: no account above it carries more than 1.2 / 0.2 = 6x
    caps = [r["level"] for r in data["frontier"]["rows"] if r["lever"] == "leverage_cap"]
    assert caps == [2, 3, 4, 5] and data["frontier"]["caps_not_binding"] == [6, 7, 8, 9, 10]
    assert {"instrument_id", "share_of_book", "days_of_adv"} <= set(data["concentration"][0])
    path = write_stress(first, tmp_path / "out")
    assert json.loads(path.read_text(encoding="utf-8")) == data


def test_results_do_not_depend_on_the_files_row_order():
    tables = random_book(500, seed=3)
    shuffled = {**tables, "positions": tables["positions"].sample(fraction=1.0, shuffle=True,
                                                                  seed=5)}
    scenarios = [scenario(-0.3, severe=True)]
    assert run_stress(tables, None, scenarios).to_dict() == \
        run_stress(shuffled, None, scenarios).to_dict()


def test_without_a_severe_scenario_the_worst_one_drives_the_spiral_section():
    result = run_stress(two_accounts(), DISCLOSURE,
                        [scenario(-0.1, name="mild"), scenario(-0.25, name="hard")], impact=LINEAR)
    assert result.spiral_scenario == "hard"


def test_stress_table_has_the_contract_columns():
    result = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25, severe=True)], impact=LINEAR)
    table = stress_table(result)
    for col in contract.table("stress").columns:
        assert table.schema[col.name] == col.dtype, col.name
    row = table.row(0, named=True)
    assert row["severe"] is True and row["spiral_shortfall"] == 875 and row["net_capital"] == 600
    assert row["amplification"] == 1.75 and row["spiral_rounds"] == 2


def _stress_rule(assertion: str) -> Rule:
    example = {"tables": {"stress": [{"scenario": "s", "severe": True, "accounts": 1,
                                      "accounts_in_call": 0, "accounts_wiped_out": 0,
                                      "shortfall": 0, "spiral_shortfall": 0, "spiral_rounds": 0,
                                      "net_capital": 1}]}}
    return Rule.model_validate({
        "schema_version": 1, "id": "STR-001", "title": "t", "norms": ["N4", "R4"],
        "references": [{"source": "seed 003", "confidence": "secondary"}], "severity": "critical", "since": "0.1.0",
        "rationale": "r", "remediation": "r", "table": "stress", "filter": "severe",
        "assert": assertion, "examples": {"pass": example, "fail": example}})


def test_a_rule_can_assert_that_capital_covers_the_severe_scenario():
    table = stress_table(run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25, severe=True)],
                                    impact=LINEAR))
    ctx = Context.build({"stress": table}, {})
    assert evaluate_rule(_stress_rule("net_capital >= spiral_shortfall"), ctx).status == "failed"
    # 1,500 units to sell at 20% of an ADV of 1,000: 7.5 days
    assert table["max_days_to_liquidate"].to_list() == [7.5]
    assert evaluate_rule(_stress_rule("max_days_to_liquidate <= 8"), ctx).status == "passed"
    assert evaluate_rule(_stress_rule("max_days_to_liquidate <= 5"), ctx).status == "failed"


# --- the command -------------------------------------------------------------------------------

def _export(tmp_path):
    """An export folder (its tables come from ``_cli``'s patch) beside, not around, OUT."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    return folder


def _cli(monkeypatch, tables, *args: str):
    monkeypatch.setattr(stress_cli, "_load_tables",
                        lambda data_dir, mapping, timezone, limits: tables)
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("stress")(stress_cli.stress)
    return CliRunner().invoke(app, ["stress", *args])


def test_cli_exit_1_when_capital_does_not_cover_the_severe_scenario(monkeypatch, tmp_path):
    result = _cli(monkeypatch, two_accounts(net_capital=1.0), str(_export(tmp_path)), "--out",
                  str(tmp_path / "out"), "--scenario", "2020-dash-for-cash", "--json")
    assert result.exit_code == 1, result.output
    assert (tmp_path / "out" / "stress.json").is_file()
    assert '"2020-dash-for-cash"' in result.stdout


def test_cli_exit_0_when_capital_covers(monkeypatch, tmp_path):
    result = _cli(monkeypatch, two_accounts(net_capital=1e9), str(_export(tmp_path)), "--out",
                  str(tmp_path / "out"), "-s", "uniform-10", "-s", "uniform-33")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "stress.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in data["scenarios"]] == ["uniform-10", "uniform-33"]


@pytest.mark.parametrize("args, tables, words", [
    (("--scenario", "nope"), None, "unknown scenario"),
    (("--as-of", "02/01/2024"), None, "YYYY-MM-DD"),
    ((), "no-positions", "positions"),
    (("--impact", "cubic"), None, "sqrt or linear"),
])
def test_cli_bad_input_exits_2(monkeypatch, tmp_path, args, tables, words):
    data = two_accounts()
    if tables == "no-positions":
        del data["positions"]
    result = _cli(monkeypatch, data, str(_export(tmp_path)), "--out", str(tmp_path / "out"),
                  *args)
    assert result.exit_code == 2
    assert words in result.output


def test_cli_missing_folder_exits_2(monkeypatch, tmp_path):
    result = _cli(monkeypatch, two_accounts(), str(tmp_path / "missing"), "--out", str(tmp_path))
    assert result.exit_code == 2


def test_cli_impact_options_reach_the_spiral(monkeypatch, tmp_path):
    """--impact-coefficient 0 switches price impact off: the spiral adds nothing to the static
    loss. The chosen law is recorded in stress.json."""
    spirals = {}
    for coefficient in ("0", "1"):
        out = tmp_path / coefficient
        result = _cli(monkeypatch, two_accounts(net_capital=1e9), str(_export(tmp_path)),
                      "--out", str(out), "-s", "uniform-50", "--impact", "linear",
                      "--impact-coefficient", coefficient)
        assert result.exit_code == 0, result.output
        data = json.loads((out / "stress.json").read_text(encoding="utf-8"))
        assert data["model"]["impact"] == "linear"
        assert data["model"]["coefficient"] == float(coefficient)
        spirals[coefficient] = data["scenarios"][0]
    assert spirals["0"]["spiral_book_loss"] == pytest.approx(spirals["0"]["book_loss"], abs=0.005)
    assert spirals["1"]["spiral_book_loss"] > spirals["1"]["book_loss"]
