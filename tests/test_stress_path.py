"""The multi-day stress path: the hand examples of locked limit-down days, price limits on the
day's total fall, participation, suspensions, grace days, and the wiring into run_stress."""

from __future__ import annotations

import functools
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audit.evaluate import Context, evaluate_rule
from audit.rules import load_pack
from audit.stress import (
    ImpactModel, PathParams, Scenario, StressError, build_book, grace_days_from, platform_lines,
    run_path, run_stress, shock_factors, stress_table, write_stress,
)
from audit.stress.boards import DAILY_LIMIT
from audit.stress.spiral import _spiral

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2024, 1, 2)
NO_IMPACT = ImpactModel(coefficient=0)  # Y = 0
LINES_130 = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.3})


def tables_of(accounts: list[tuple], positions: list[tuple], instruments: list[tuple],
              net_capital: float | None = 1e6) -> dict[str, pl.DataFrame]:
    """accounts: (id, cash, debt); positions: (account, instrument, units, price);
    instruments: (id, asset_class, adv, exchange)."""
    value = {a: sum(u * p for acc, _, u, p in positions if acc == a) for a, _, _ in accounts}
    tables = {
        "accounts": pl.DataFrame({
            "date": [DAY] * len(accounts), "account_id": [a for a, _, _ in accounts],
            "client_id": [a for a, _, _ in accounts], "cash": [float(c) for _, c, _ in accounts],
            "market_value": [value[a] for a, _, _ in accounts],
            "debt": [float(d) for _, _, d in accounts],
            "equity": [c + value[a] - d for a, c, d in accounts],
            "leverage": [None] * len(accounts)}, schema_overrides={"leverage": pl.Float64}),
        "positions": pl.DataFrame({
            "date": [DAY] * len(positions), "account_id": [p[0] for p in positions],
            "instrument_id": [p[1] for p in positions],
            "quantity": [float(p[2]) for p in positions], "price": [float(p[3]) for p in positions],
            "market_value": [float(p[2] * p[3]) for p in positions]}),
        "instruments": pl.DataFrame({
            "instrument_id": [i[0] for i in instruments], "name": [i[0] for i in instruments],
            "asset_class": [i[1] for i in instruments], "adv": [i[2] for i in instruments],
            "exchange": [i[3] for i in instruments]},
            schema_overrides={"adv": pl.Float64, "exchange": pl.String}),
    }
    if net_capital is not None:
        tables["capital"] = pl.DataFrame({"date": [DAY], "net_capital": [net_capital],
                                          "liquid_assets": [1e6]})
    return tables


def hand_book(adv: float | None = 1e6, instrument: str = "600000", exchange: str = "XSHG"):
    """The review's example: 1,000 units at 10 on 7,000 of debt."""
    return build_book(tables_of([("A", 0, 7000)], [("A", instrument, 1000, 10)],
                                [(instrument, "equity", adv, exchange)]), DAY)


def scenario(shock: float, name: str = "test", severe: bool = True) -> Scenario:
    return Scenario(name=name, title=name, kind="uniform", source="test", confidence="derived",
                    shocks={"default": shock}, severe=severe)


# --- the review's hand examples ----------------------------------------------------------------

def test_four_locked_limit_down_days_then_a_sale_leave_439():
    book = hand_book()
    assert book.board.tolist() == ["main"]
    o = run_path(book, np.array([0.9 ** 4]), LINES_130, NO_IMPACT)
    # 9,000 < 130% x 7,000 at day 1's close; days 1-4 locked; sold on day 5 at 6.561
    assert o.shortfall == pytest.approx(439.00, abs=1e-9)
    assert [r["instruments_locked"] for r in o.daily[1:6]] == [1, 1, 1, 1, 0]
    assert o.units_sold[:5].sum() == 0 and o.units_sold[5, 0] == pytest.approx(1000)
    assert o.daily[1]["accounts_closed"] == 1 and o.accounts_closed == 1
    assert o.sales_value == pytest.approx(6561)
    assert o.value_unsold == 0 and o.unsellable_within_horizon == []
    # the sale could not happen at day 1's close (9,000): 9,000 - 6,561
    assert o.gap_loss == pytest.approx(2439)


def test_three_locked_days_leave_no_shortfall():
    o = run_path(hand_book(), np.array([0.9 ** 3]), LINES_130, NO_IMPACT)
    assert o.shortfall == 0
    assert o.sales_value == pytest.approx(7290)


def test_ten_locked_days_mark_at_0_9_to_the_10th_and_sell_nothing():
    o = run_path(hand_book(), np.array([0.1]), LINES_130, NO_IMPACT)
    assert o.prices[-1, 0] == pytest.approx(0.3487, abs=5e-5)
    assert o.prices[-1, 0] == pytest.approx(0.9 ** 10)
    assert o.days_locked.tolist() == [10] and o.instruments_locked_every_day == 1
    assert o.units_sold.sum() == 0 and o.units_unsold == pytest.approx(1000)
    assert o.value_unsold == pytest.approx(10000 * 0.9 ** 10)
    assert o.unsellable_within_horizon == ["600000"]
    assert o.shortfall == pytest.approx(7000 - 10000 * 0.9 ** 10)
    # nobody sold, so the path's shortfall is the static one at the day-10 marks
    assert o.static_shortfall == pytest.approx(o.shortfall)


@pytest.mark.parametrize("board_code, limit", [("300750", 0.20), ("688001", 0.20),
                                               ("830799", 0.30)])
def test_wider_boards_fall_faster(board_code, limit):
    book = hand_book(instrument=board_code, exchange=None)
    o = run_path(book, np.array([0.5]), LINES_130, NO_IMPACT)
    expected = max(0.5, (1 - limit) ** 1)
    assert o.prices[1, 0] == pytest.approx(expected)
    assert o.prices[-1, 0] == pytest.approx(0.5)


def test_no_daily_limit_takes_the_whole_move_on_day_one():
    book = hand_book(instrument="AAPL", exchange="XNAS")
    o = run_path(book, np.array([0.6]), LINES_130, NO_IMPACT)
    assert o.prices[1, 0] == pytest.approx(0.6) and o.days_locked.tolist() == [0]
    # closed at day 1's close, sold on day 2 at 6: 7,000 - 6,000
    assert o.units_sold[2, 0] == pytest.approx(1000) and o.shortfall == pytest.approx(1000)


# --- price limits, participation, suspensions, grace ---------------------------------------------

def test_sales_stop_where_the_days_total_fall_reaches_the_limit():
    # Exogenous fall 5% on a main-board stock; Y * sigma = 0.1 under the square-root law. The
    # close may not go below 0.9 x 1, so psi <= 1 - 0.9 / 0.95 and Q = V (psi / 0.1) ** 2.
    book = build_book(tables_of([("A", 0, 9000)], [("A", "600000", 1000, 10)],
                                [("600000", "equity", 1000.0, "XSHG")]), DAY)
    impact = ImpactModel(daily_vol={"equity": 0.1})
    lines = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.3})
    o = run_path(book, np.array([0.95]), lines, impact, PathParams(participation=1.0))
    psi_max = 1 - 0.9 / 0.95
    assert o.units_sold[1, 0] == pytest.approx(1000 * (psi_max / 0.1) ** 2)
    assert o.prices[1, 0] == pytest.approx(0.9)
    # day 2: no exogenous move left; the rest sells within the day's limit (room to
    # psi = 1 - 0.81 / 0.95 is 2,160 units): close 0.95 x (1 - 0.1 x sqrt(1,000 / 1,000))
    assert o.units_sold[2, 0] == pytest.approx(1000 - o.units_sold[1, 0])
    assert o.prices[2, 0] == pytest.approx(0.855) and o.units_unsold == 0


def test_a_position_of_100_days_of_adv_sells_20_percent_of_adv_a_day():
    adv = 50.0
    book = hand_book(adv=adv, instrument="AAPL", exchange="XNAS")
    book.pos_units[:] = 100 * adv  # 5,000 units at 2 = 10,000 of value
    o = run_path(book, np.array([0.6]), LINES_130, NO_IMPACT, PathParams(participation=0.2))
    assert o.units_sold[2:, 0] == pytest.approx([0.2 * adv] * 9)
    assert o.days_to_liquidate == pytest.approx(100 / 0.2)
    assert o.units_unsold == pytest.approx(100 * adv - 9 * 0.2 * adv)
    assert o.unsellable_within_horizon == ["AAPL"]


def test_sellers_share_the_days_capacity_pro_rata_to_what_they_still_hold():
    tables = tables_of([("A", 0, 7000), ("B", 0, 2100)],
                       [("A", "AAPL", 1000, 10), ("B", "AAPL", 300, 10)],
                       [("AAPL", "equity", 100.0, "XNAS")])
    book = build_book(tables, DAY)
    o = run_path(book, np.array([0.8]), LINES_130, NO_IMPACT, PathParams(participation=0.5))
    # both closed at day 1's close; 50 units a day shared 1000 : 300, nine selling days
    sold = 9 * 50
    assert o.proceeds.tolist() == pytest.approx([sold * 1000 / 1300 * 8, sold * 300 / 1300 * 8])
    assert o.assets.tolist() == pytest.approx([8000, 2400])  # sold or held, all at 8
    assert o.units_unsold == pytest.approx(1300 - sold)
    assert o.value_unsold == pytest.approx((1300 - sold) * 8)


def test_a_later_seller_shares_pro_rata_to_what_each_still_holds():
    # A is below the line at the as-of close and sells alone on day 1; B joins from day 2
    tables = tables_of([("A", 0, 8000), ("B", 0, 2100)],
                       [("A", "AAPL", 1000, 10), ("B", "AAPL", 300, 10)],
                       [("AAPL", "equity", 100.0, "XNAS")])
    o = run_path(build_book(tables, DAY), np.array([0.8]), LINES_130, NO_IMPACT,
                 PathParams(participation=0.5))
    # day 1: A sells 50 of its 1,000; days 2-10: 450 shared 950 : 300
    assert o.proceeds.tolist() == pytest.approx([(50 + 450 * 950 / 1250) * 8,
                                                 450 * 300 / 1250 * 8])


def test_a_suspended_stock_trades_nothing_and_keeps_its_price_until_it_resumes():
    book = hand_book()
    o = run_path(book, np.array([0.9 ** 2]), LINES_130, NO_IMPACT,
                 PathParams(suspensions={0: (1, 3)}))
    assert o.prices[:4, 0].tolist() == [1, 1, 1, 1]
    assert [r["instruments_suspended"] for r in o.daily[:5]] == [0, 1, 1, 1, 0]
    # the move waits for resumption, then takes the limit path: day 4 -10%, day 5 -10%
    assert o.prices[4, 0] == pytest.approx(0.9) and o.prices[5, 0] == pytest.approx(0.81)
    assert o.units_sold[:6].sum() == 0 and o.units_sold[6, 0] == pytest.approx(1000)


@pytest.mark.parametrize("grace", [0, 1, 3])
def test_an_account_in_call_only_is_sold_after_the_grace_days(grace):
    # call 150%, liquidation 120%: after -15% the account (8,500 on 6,000) is at 141.7%
    lines = platform_lines({"margin_call_ratio": 1.5, "liquidation_ratio": 1.2})
    book = build_book(tables_of([("A", 0, 6000)], [("A", "AAPL", 1000, 10)],
                                [("AAPL", "equity", 1e6, "XNAS")]), DAY)
    o = run_path(book, np.array([0.85]), lines, NO_IMPACT, PathParams(grace_days=grace))
    sale_day = 1 + grace + 1
    assert np.flatnonzero(o.units_sold[:, 0]).tolist() == [sale_day]
    assert o.daily[1 + grace]["accounts_closed"] == 1


def test_an_account_already_below_the_line_at_the_as_of_close_sells_on_day_one():
    book = build_book(tables_of([("A", 0, 8000)], [("A", "AAPL", 1000, 10)],
                                [("AAPL", "equity", 1e6, "XNAS")]), DAY)
    o = run_path(book, np.array([0.9]), LINES_130, NO_IMPACT)
    assert o.daily[0]["accounts_closed"] == 1 and o.units_sold[1, 0] == pytest.approx(1000)


def test_grace_days_from_the_disclosure():
    assert grace_days_from(None) == 1
    assert grace_days_from({"call_response_hours": 24}) == 1
    assert grace_days_from({"call_response_hours": 30}) == 2
    assert grace_days_from({"call_response_hours": 24, "notice_period_hours": 48}) == 3
    # trading days take precedence over hours
    assert grace_days_from({"call_response_trading_days": 0, "call_response_hours": 72,
                            "notice_period_trading_days": 1}) == 1
    assert grace_days_from({"call_response_trading_days": 0}) == 0


def test_path_params_are_checked():
    for bad in ({"horizon": 0}, {"participation": 0}, {"participation": 1.5},
                {"grace_days": -1}, {"suspensions": {0: (3, 2)}}):
        with pytest.raises(StressError):
            PathParams(**bad)
    with pytest.raises(StressError, match="instrument index 5"):
        run_path(hand_book(), np.array([0.9]), LINES_130, NO_IMPACT,
                 PathParams(suspensions={5: (1, 2)}))


# --- properties on generated books ------------------------------------------------------------

CODES = ["6000{:02}", "0000{:02}", "3000{:02}", "6880{:02}", "8300{:02}"]


def random_board_book(n: int, seed: int):
    """Like tests/test_stress.py::random_book, with instruments on every board."""
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
    adv = np.bincount(inst, weights=value / 10, minlength=20) * rng.uniform(0.02, 3, 20)
    ids = [CODES[k % 5].format(k) for k in range(20)]
    names = [f"ST{k}" if k == 0 else ids[k] for k in range(20)]
    tables = tables_of(
        [(f"A{i:05}", 0.0, float(equity[i] * (lev[i] - 1))) for i in range(n)],
        [(f"A{o:05}", ids[k], float(v / 10), 10.0) for o, k, v in zip(owner, inst, value)],
        [(ids[k], "equity", float(adv[k]), None) for k in range(20)])
    tables["instruments"] = tables["instruments"].with_columns(pl.Series("name", names))
    return build_book(tables, DAY)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_price_falls_faster_than_its_limit(seed):
    book = random_board_book(1500, seed)
    rng = np.random.default_rng(seed)
    limit = np.array([DAILY_LIMIT[b] for b in book.board])
    assert set(book.board) == {"main", "main_st", "chinext", "star", "bse"}
    shocked = 1 - rng.uniform(0.0, 0.8, book.n_instruments)
    susp = {int(k): (int(rng.integers(1, 5)), int(rng.integers(5, 9))) for k in
            rng.choice(book.n_instruments, 3, replace=False)}
    lines = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.15})
    o = run_path(book, shocked, lines, ImpactModel(), PathParams(suspensions=susp))
    days = np.arange(o.params.horizon + 1)[:, None]
    assert (o.prices >= (1 - limit) ** days * (1 - 1e-9)).all()
    assert (o.prices[1:] >= (1 - limit) * o.prices[:-1] * (1 - 1e-9)).all()
    assert o.units_sold.sum() > 0 and o.accounts_closed > 0  # the test exercises sales
    # every unit to sell is either sold or left at the horizon
    assert o.units_sold.sum() + o.units_unsold == pytest.approx(o.units_to_sell.sum())
    for k, (first, last) in susp.items():
        assert (o.prices[first:last + 1, k] == o.prices[first - 1, k]).all()
        assert o.units_sold[first:last + 1, k].sum() == 0


def test_without_impact_or_limits_the_path_matches_the_static_and_one_instant_losses():
    book = random_board_book(1500, 4)
    book.board = None  # no daily limits: the whole move on day 1
    lines = platform_lines({"margin_call_ratio": 1.3, "liquidation_ratio": 1.2})
    shocked = np.full(book.n_instruments, 0.7)
    o = run_path(book, shocked, lines, NO_IMPACT)
    s = _spiral(book, shocked, lines, NO_IMPACT, book.value_weights)
    assert o.static_shortfall == pytest.approx(s["static_shortfall"])
    assert o.shortfall == pytest.approx(s["shortfall"]) and o.shortfall > 0


# --- wiring: run_stress, stress.json, the stress table, LEV-005 --------------------------------

def test_run_stress_carries_a_path_per_scenario_and_writes_it(tmp_path):
    tables = tables_of([("A", 0, 7000), ("B", 0, 400)],
                       [("A", "600000", 1000, 10), ("B", "600000", 100, 10)],
                       [("600000", "equity", 1e6, "XSHG")])
    result = run_stress(tables, {"margin_call_ratio": 1.3, "liquidation_ratio": 1.3},
                        [scenario(0.9 ** 4 - 1), scenario(-0.01, "mild", severe=False)],
                        impact=NO_IMPACT)
    o = result.outcome("test")
    assert o.path.params == PathParams(grace_days=1)
    data = json.loads(write_stress(result, tmp_path).read_text(encoding="utf-8"))
    row = next(r for r in data["scenarios"] if r["name"] == "test")
    assert row["path_shortfall"] == 439.0 and row["path_gap_loss"] == 2439.0
    assert row["path_value_unsold"] == 0 and row["path_unsellable_instruments"] == 0
    assert row["horizon_days"] == 10 and row["participation"] == 0.2
    assert row["path_days_to_liquidate"] == pytest.approx(1000 / 2e5)
    path = data["path"]
    assert path["scenario"] == "test" and len(path["daily"]) == 11
    assert path["params"] == {"horizon_days": 10, "participation": 0.2, "grace_days": 1,
                              "suspended_instruments": 0}
    assert [d["shortfall"] for d in path["daily"]][4:6] == [439.0, 439.0]
    assert path["daily"][1]["price_move"] == pytest.approx(-0.1)
    assert stress_table(result)["max_days_to_liquidate"].to_list() == pytest.approx(
        [1000 / 2e5, 0.0])


@functools.cache
def _lev_005():
    pack = load_pack(ROOT / "audit" / "packs" / "lev")
    return next(r for r in pack.rules if r.id == "LEV-005"), {
        k: v.default for k, v in pack.parameters.items()}


@pytest.mark.parametrize("adv, status", [(0.0, "failed"), (None, "not_evaluable"),
                                         (1000.0, "passed"), (500.0, "failed")])
def test_lev_005_reads_days_at_the_participation_rate(adv, status):
    tables = tables_of([("A", 0, 7000)], [("A", "AAPL", 1000, 10)],
                       [("AAPL", "equity", adv, "XNAS")])
    result = run_stress(tables, {"margin_call_ratio": 1.3, "liquidation_ratio": 1.3},
                        [scenario(-0.4)], impact=NO_IMPACT)
    table = stress_table(result)
    rule, params = _lev_005()
    assert evaluate_rule(rule, Context.build({"stress": table}, params)).status == status
    if adv:  # 1,000 units at 20% of the ADV a day; the limit is 5 days
        assert table["max_days_to_liquidate"].to_list() == [1000 / (0.2 * adv)]


def test_lev_005_text_states_the_participation_rate():
    rule, _ = _lev_005()
    assert "participation" in rule.title and "participation rate" in rule.rationale


def test_sample_thin_stock_days_to_liquidate_at_20_percent_of_adv():
    """R3: the planted thin stock's units held by accounts with debt / (0.2 x ADV), when the
    whole position must be sold (a -50% uniform fall closes every account holding it)."""
    from audit.load import load_export
    tables = {n: t.frame for n, t in load_export(ROOT / "sample_data").tables.items()}
    as_of = tables["accounts"]["date"].max()
    with_debt = tables["accounts"].filter((pl.col("date") == as_of) & (pl.col("debt") > 0))
    held = (tables["positions"].filter(pl.col("date") == as_of)
            .join(with_debt.select("account_id"), on="account_id")
            .group_by("instrument_id").agg(pl.col("quantity").sum())
            .join(tables["instruments"].select("instrument_id", "adv"), on="instrument_id")
            .with_columns((pl.col("quantity") / pl.col("adv")).alias("days"))
            .sort("days", descending=True))
    thin, units, adv = held["instrument_id"][0], held["quantity"][0], held["adv"][0]
    book = build_book(tables, as_of)
    lines = platform_lines({"margin_call_ratio": 1.5, "liquidation_ratio": 1.3})
    o = run_path(book, shock_factors(book, scenario(-0.5)), lines, ImpactModel())
    k = int(np.flatnonzero(book.instrument_ids == thin)[0])
    assert o.units_to_sell[k] == pytest.approx(units)
    assert o.days_to_liquidate == pytest.approx(units / (0.2 * adv))
    assert thin in o.unsellable_within_horizon
