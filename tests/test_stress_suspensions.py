"""Suspensions from the optional `suspensions` table on the multi-day path: rows mapped to the
trading days of the horizon on the exchange's calendar, a suspended stock keeping its price and
trading nothing until it resumes, rows reported, and no table = no suspensions."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest

from audit import contract
from audit.load import load_export
from audit.stress import (
    ImpactModel, PathParams, Scenario, StressError, build_book, platform_lines, run_path,
    run_stress, write_stress,
)
from audit.stress.suspensions import (
    horizon_sessions, instrument_calendars, suspensions_at, with_suspensions,
)

DAY = date(2024, 1, 2)  # a Tuesday; XSHG days 1..10: 3, 4, 5, 8, 9, 10, 11, 12, 15, 16 Jan
NO_IMPACT = ImpactModel(coefficient=0)
DISCLOSURE = {"margin_call_ratio": 1.3, "liquidation_ratio": 1.3}
LINES_130 = platform_lines(DISCLOSURE)


def tables_of(accounts, positions, instruments, as_of: date = DAY) -> dict[str, pl.DataFrame]:
    """accounts: (id, cash, debt); positions: (account, instrument, units, price);
    instruments: (id, adv, exchange)."""
    value = {a: sum(u * p for acc, _, u, p in positions if acc == a) for a, _, _ in accounts}
    return {
        "accounts": pl.DataFrame({
            "date": [as_of] * len(accounts), "account_id": [a for a, _, _ in accounts],
            "client_id": [a for a, _, _ in accounts], "cash": [float(c) for _, c, _ in accounts],
            "market_value": [value[a] for a, _, _ in accounts],
            "debt": [float(d) for _, _, d in accounts]}),
        "positions": pl.DataFrame({
            "date": [as_of] * len(positions), "account_id": [p[0] for p in positions],
            "instrument_id": [p[1] for p in positions],
            "quantity": [float(p[2]) for p in positions],
            "price": [float(p[3]) for p in positions],
            "market_value": [float(p[2] * p[3]) for p in positions]}),
        "instruments": pl.DataFrame({
            "instrument_id": [i[0] for i in instruments], "name": [i[0] for i in instruments],
            "asset_class": ["equity"] * len(instruments), "adv": [i[1] for i in instruments],
            "exchange": [i[2] for i in instruments]},
            schema_overrides={"adv": pl.Float64, "exchange": pl.String}),
        "capital": pl.DataFrame({"date": [as_of], "net_capital": [1e6], "liquid_assets": [1e6]}),
    }


def suspensions(rows: list[tuple]) -> pl.DataFrame:
    """rows: (instrument, suspended_from, resumed_on or None)."""
    return pl.DataFrame({"instrument_id": [r[0] for r in rows],
                         "suspended_from": [r[1] for r in rows],
                         "resumed_on": [r[2] for r in rows],
                         "reason": ["重大资产重组"] * len(rows)},
                        schema_overrides={"suspended_from": pl.Date, "resumed_on": pl.Date})


def hand_tables(debt: float = 7600) -> dict[str, pl.DataFrame]:
    """1,000 units of a main-board stock at 10 on ``debt``; another stock, not suspended."""
    return tables_of([("A", 0, debt), ("B", 0, 0)],
                     [("A", "600000", 1000, 10), ("B", "600036", 100, 10)],
                     [("600000", 1e6, "XSHG"), ("600036", 1e6, "XSHG")])


def scenario(shock: float, name: str = "test", severe: bool = True) -> Scenario:
    return Scenario(name=name, title=name, kind="uniform", source="test", confidence="derived",
                    shocks={"default": shock}, severe=severe)


def spans_of(tables, rows, as_of: date = DAY, horizon: int = 10):
    tables = {**tables, "suspensions": suspensions(rows)}
    book = build_book(tables, as_of)
    return suspensions_at(book, tables, as_of, horizon), book


# --- the table --------------------------------------------------------------------------------

def test_suspensions_is_an_optional_contract_table():
    t = contract.table("suspensions")
    assert t.since == 2 and t.key == ("instrument_id", "suspended_from")
    assert {"停牌", "停牌记录", "停复牌"} <= set(t.aliases)
    assert t.column("resumed_on").nullable and t.column("reason").nullable
    assert not t.column("suspended_from").nullable
    assert "停复牌" in t.description and "停复牌" in t.column("suspended_from").description
    assert "first trading day again" in t.column("resumed_on").description.lower()


def test_a_chinese_export_file_loads_as_the_table(tmp_path):
    (tmp_path / "停牌.csv").write_text(
        "证券代码,停牌日期,复牌日期,停牌原因\n600000,2024-01-03,2024-01-08,重大资产重组\n"
        "000001,2023-12-20,,\n", encoding="utf-8")
    loaded = load_export(tmp_path).tables["suspensions"].frame
    assert loaded["resumed_on"].to_list() == [date(2024, 1, 8), None]
    assert loaded.schema["suspended_from"] == pl.Date


# --- the days of the horizon --------------------------------------------------------------------

def test_rows_become_trading_days_of_the_horizon():
    found, _ = spans_of(hand_tables(), [
        ("600000", date(2024, 1, 3), date(2024, 1, 8)),  # days 1-3 (Wed-Fri)
        ("600036", date(2024, 1, 9), date(2024, 1, 11)),  # days 5-6
        ("600036", date(2024, 1, 13), date(2024, 1, 16))])  # a Saturday: day 9 (15 Jan) only
    assert found.spans == {0: [(1, 3)], 1: [(5, 6), (9, 9)]}
    assert found.flags == {"suspensions_not_held": 0, "suspensions_resumed_before_suspended": 0,
                           "suspensions_without_start": 0}
    assert "2 instrument(s) on XSHG sessions" in found.source


def test_a_suspension_begun_before_the_as_of_date_and_still_running_starts_on_day_one():
    found, _ = spans_of(hand_tables(), [
        ("600000", date(2023, 12, 20), None),  # never resumed: the whole horizon
        ("600036", date(2023, 12, 20), date(2024, 1, 5))])  # resumes on day 3
    assert found.spans == {0: [(1, 10)], 1: [(1, 2)]}


def test_suspensions_over_before_or_after_the_horizon_suspend_nothing():
    found, _ = spans_of(hand_tables(), [
        ("600000", date(2023, 12, 1), date(2024, 1, 2)),  # resumed on the as-of date
        ("600000", date(2023, 12, 28), date(2024, 1, 3)),  # resumed on day 1
        ("600036", date(2024, 1, 17), None)])  # begins after day 10 (16 Jan)
    assert found.spans == {}
    assert "no suspension of a held instrument" in found.source


def test_overlapping_rows_of_one_instrument_are_one_span():
    found, _ = spans_of(hand_tables(), [("600000", date(2024, 1, 3), date(2024, 1, 5)),
                                        ("600000", date(2024, 1, 4), date(2024, 1, 9)),
                                        ("600000", date(2024, 1, 9), date(2024, 1, 10))])
    assert found.spans == {0: [(1, 5)]}


def test_the_days_are_counted_on_the_exchange_calendar():
    # Spring Festival 2024: XSHG closed 9-16 Feb; XNAS closed 19 Feb (Presidents' Day)
    as_of = date(2024, 2, 7)
    rows = [(i, date(2024, 2, 19), date(2024, 2, 21)) for i in ("600000", "AAPL", "ZZZ")]
    cn = tables_of([("A", 0, 0)], [("A", "600000", 1, 10), ("A", "AAPL", 1, 10),
                                   ("A", "ZZZ", 1, 10)],
                   [("600000", 1e6, "XSHG"), ("AAPL", 1e6, "XNAS"), ("ZZZ", 1e6, "NOWHERE")],
                   as_of)
    found, book = spans_of(cn, rows, as_of)
    assert book.instrument_ids.tolist() == ["600000", "AAPL", "ZZZ"]
    # XSHG: 8 Feb is day 1, 19 Feb day 2, 20 Feb day 3; XNAS: 20 Feb is day 8. ZZZ: a Chinese
    # book's instrument of unknown exchange trades on the mainland's days
    assert found.spans == {0: [(2, 3)], 1: [(8, 8)], 2: [(2, 3)]}
    us = {k: v.filter(pl.col("instrument_id") != "600000") if "instrument_id" in v.columns
          else v for k, v in cn.items()}
    found, book = spans_of(us, rows[1:], as_of)
    assert instrument_calendars(book, us["instruments"]).tolist() == ["XNAS", "weekdays"]
    # weekdays: 8, 9, 12, 13, 14, 15, 16, 19 (day 8), 20 (day 9) Feb
    assert found.spans == {0: [(8, 8)], 1: [(8, 9)]}
    assert "weekdays (no known exchange calendar)" in found.source


def test_past_the_calendars_last_session_the_days_continue_as_weekdays():
    days, tail = horizon_sessions("XSHG", date(2026, 12, 28), 5)
    last = date.fromordinal(date(1970, 1, 1).toordinal() + int(days[-1]))
    assert tail and len(days) == 5 and last.weekday() < 5
    assert date.fromordinal(date(1970, 1, 1).toordinal() + int(days[0])) == date(2026, 12, 29)
    assert (np.diff(days) > 0).all()
    assert not horizon_sessions("XSHG", DAY, 10)[1]


# --- the path -----------------------------------------------------------------------------------

def test_a_suspended_stock_keeps_its_price_trades_nothing_then_takes_the_rest_of_the_move():
    tables = {**hand_tables(), "suspensions": suspensions(
        [("600000", date(2024, 1, 3), date(2024, 1, 8))])}  # days 1-3
    result = run_stress(tables, DISCLOSURE, [scenario(-0.25)], impact=NO_IMPACT)
    path = result.outcome("test").path
    assert path.params.suspensions == {0: [(1, 3)]}
    # suspended days 1-3 at the last close (10); resumes on day 4: -10% locked (9, the account
    # at 9,000 / 7,600 = 118% is closed at the close), day 5: -10% locked (8.10), day 6: the
    # rest of the move, 7.50 / 8.10 = -7.4%, and the 1,000 units are sold at 7.50
    assert path.prices[:8, 0].tolist() == pytest.approx([1, 1, 1, 1, 0.9, 0.81, 0.75, 0.75])
    assert [d["instruments_suspended"] for d in path.daily[:6]] == [0, 1, 1, 1, 0, 0]
    # locked days: the stock on days 4 and 5, the other one on days 1 and 2
    assert [d["instruments_locked"] for d in path.daily[:7]] == [0, 1, 1, 0, 1, 1, 0]
    assert path.days_locked.tolist() == [2, 2]
    assert path.units_sold[:6].sum() == 0 and path.units_sold[6, 0] == pytest.approx(1000)
    assert path.daily[4]["accounts_closed"] == 1
    # the other stock is not suspended: on the limit path from day 1
    assert path.prices[1:4, 1].tolist() == pytest.approx([0.9, 0.81, 0.75])
    assert path.shortfall == pytest.approx(100.0)  # 7,600 - 7,500
    assert path.gap_loss == pytest.approx(1500.0)  # 9,000 at day 4's close - 7,500


def test_a_suspension_running_past_the_horizon_is_marked_at_the_full_move_not_its_last_close():
    tables = {**hand_tables(debt=8000), "suspensions": suspensions(
        [("600000", date(2023, 12, 20), None)])}
    path = run_stress(tables, DISCLOSURE, [scenario(-0.25)], impact=NO_IMPACT) \
        .outcome("test").path
    # 10,000 / 8,000 = 125%: closed out at the as-of close, but nothing can be sold
    assert path.units_sold.sum() == 0 and path.unsellable_within_horizon == ["600000"]
    assert path.prices[:, 0].tolist() == [1.0] * 11
    # its last close (10,000) would cover the debt; it reopens with the scenario's -25%:
    # 7,500 against 8,000 of debt
    assert path.marked_at_reopening == ["600000"]
    assert path.value_unsold == pytest.approx(7500) and path.shortfall == pytest.approx(500)
    assert path.daily[-1]["instruments_suspended"] == 1


def test_path_params_take_a_list_of_spans_and_keep_a_single_one():
    book = build_book(hand_tables(), DAY)
    shocked = np.array([0.75, 0.75])
    one = run_path(book, shocked, LINES_130, NO_IMPACT, PathParams(suspensions={0: (1, 3)}))
    listed = run_path(book, shocked, LINES_130, NO_IMPACT,
                      PathParams(suspensions={0: [(1, 3)]}))
    assert np.array_equal(one.prices, listed.prices)
    two = run_path(book, shocked, LINES_130, NO_IMPACT,
                   PathParams(suspensions={0: [(1, 1), (3, 4)]}))
    assert [d["instruments_suspended"] for d in two.daily[:6]] == [0, 1, 0, 1, 1, 0]
    assert two.prices[:6, 0].tolist() == pytest.approx([1, 1, 0.9, 0.9, 0.9, 0.81])
    for bad in ([(3, 2)], [(0, 2)], [], [(1, 2), "x"], (1,)):
        with pytest.raises(StressError):
            PathParams(suspensions={0: bad})


def test_suspensions_the_caller_gives_win_over_the_table():
    found, _ = spans_of(hand_tables(), [("600000", date(2024, 1, 3), None)])
    given = PathParams(suspensions={1: (2, 2)})
    assert with_suspensions(given, found) is given
    assert with_suspensions(PathParams(), None) == PathParams()
    assert with_suspensions(PathParams(), found).suspensions == {0: [(1, 10)]}


# --- stress.json --------------------------------------------------------------------------------

def test_bad_rows_are_reported_and_not_used(tmp_path):
    tables = {**hand_tables(), "suspensions": suspensions([
        ("600000", date(2024, 1, 8), date(2024, 1, 3)),  # resumes before it is suspended
        ("000001", date(2024, 1, 3), None),  # not held
        ("300750", date(2023, 12, 1), None),  # not held
        ("600036", date(2024, 1, 4), date(2024, 1, 5))])}  # day 2
    result = run_stress(tables, DISCLOSURE, [scenario(-0.25)], impact=NO_IMPACT)
    data = json.loads(write_stress(result, tmp_path).read_text(encoding="utf-8"))
    assert data["flags"]["suspensions_not_held"] == 2
    assert data["flags"]["suspensions_resumed_before_suspended"] == 1
    assert data["flags"]["suspensions_without_start"] == 0
    params = data["path"]["params"]
    assert params["suspended_instruments"] == 1
    assert params["suspension_days_from"].startswith("suspensions table")
    assert "1 instrument(s) on XSHG sessions" in params["suspension_days_from"]
    assert result.outcome("test").path.params.suspensions == {1: [(2, 2)]}
    assert [d["instruments_suspended"] for d in data["path"]["daily"][:4]] == [0, 0, 1, 0]


def test_without_the_table_nothing_is_suspended_and_results_are_unchanged(tmp_path):
    plain = hand_tables()
    s = [scenario(-0.25), scenario(-0.05, "mild", severe=False)]
    base = run_stress(plain, DISCLOSURE, s, impact=NO_IMPACT)
    assert base.outcome("test").path.params == PathParams(grace_days=1)
    data = json.loads(write_stress(base, tmp_path).read_text(encoding="utf-8"))
    assert data["path"]["params"] == {"horizon_days": 10, "participation": 0.2,
                                      "grace_days": 1, "suspended_instruments": 0}
    assert not any(k.startswith("suspensions") for k in data["flags"])
    # a table whose rows all lie outside the horizon changes no figure, only says it was read
    old = {**plain, "suspensions": suspensions([("600000", date(2023, 6, 1),
                                                 date(2023, 7, 3))])}
    other = run_stress(old, DISCLOSURE, s, impact=NO_IMPACT).to_dict()
    base_dict = base.to_dict()
    assert other["scenarios"] == base_dict["scenarios"]
    assert other["path"]["daily"] == base_dict["path"]["daily"]
    assert other["path"]["params"]["suspended_instruments"] == 0
    assert "no suspension" in other["path"]["params"]["suspension_days_from"]
    # and the suspension does change the figures when it falls in the horizon
    now = {**plain, "suspensions": suspensions([("600000", date(2023, 6, 1), None)])}
    changed = run_stress(now, DISCLOSURE, s, impact=NO_IMPACT).outcome("test").path
    assert changed.marked_at_reopening == ["600000"]
    assert changed.prices[:, 0].tolist() == [1.0] * 11
    assert base.outcome("test").path.shortfall == pytest.approx(100)
    # sold at -25% after a few days, or unsold and marked at the same -25% when it reopens:
    # the same 100 of loss, never the last close's 0
    assert changed.units_sold[:, 0].sum() == 0 and changed.shortfall == pytest.approx(100)


def test_a_suspension_inside_the_horizon_never_makes_the_book_look_better():
    """The review's hand example (1,000 units at 10 on 7,000 of debt, four limit-downs):
    unsuspended it sells at 6.561 on day 5, shortfall 439. Suspended on days 1-9, it reopens on
    day 10 with one limit-down (9.00): marked there, the export's own suspension table would
    acquit the book. It is marked no higher than the unsuspended limit path, 6.561."""
    book = build_book(hand_tables(debt=7000), DAY)
    shocked = np.array([0.9 ** 4, 1.0])
    plain = run_path(book, shocked, LINES_130, NO_IMPACT)
    assert plain.shortfall == pytest.approx(439)
    held = run_path(book, shocked, LINES_130, NO_IMPACT, PathParams(suspensions={0: (1, 9)}))
    assert held.prices[10, 0] == pytest.approx(0.9)  # the price path itself is the real one
    assert held.marked_at_reopening == ["600000"]
    assert held.shortfall == pytest.approx(439) and held.shortfall >= plain.shortfall - 0.01
