"""Common exposures: the other leveraged holders of the platform's stocks (market_leverage),
their synthetic accounts, the platform's share, the shortfall with and without them, and the
closed-form cross-checks (Greenwood, Landier & Thesmar 2015; the INET Oxford exponential
impact convention)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from audit import contract
from audit.stress import (
    ImpactModel, build_book, exponential_fall, glt_vulnerability, platform_lines, run_scenario,
    run_stress, with_other_holders,
)
from audit.stress.exposures import DEFAULT_COLLATERAL_RATIO, common_exposures, market_leverage_at
from audit.stress.spiral import _spiral, shock_factors
from tests.test_stress import DAY, book_tables, scenario

# Close-out at 110% of debt, called at 130% (liquidation below the call line).
LINES = {"margin_call_ratio": 1.3, "liquidation_ratio": 1.1}
# Linear impact, Y * sigma = 0.1: one day of volume sold moves the price 10%.
LINEAR = ImpactModel(kind="linear", daily_vol={"equity": 0.1})


def market_leverage(rows: list[tuple], **columns) -> pl.DataFrame:
    """rows: (instrument_id, margin_balance[, date]); extra columns as lists."""
    frame = pl.DataFrame({
        "date": [r[2] if len(r) > 2 else DAY for r in rows],
        "instrument_id": [r[0] for r in rows],
        "margin_balance": [float(r[1]) for r in rows],
        "source": ["SZSE 融资融券交易明细 (test)"] * len(rows),
    })
    return frame.with_columns(pl.Series(k, v) for k, v in columns.items())


def edge_book(adv: float = 1_000_000.0) -> dict[str, pl.DataFrame]:
    """One platform account: 1,000 units of X at 10 on 8,700 of debt (collateral 114.9%, 4.5%
    above the 110% close-out line). A 3% fall leaves it at 111.5%: not closed on its own."""
    return book_tables([("A", 0, 8700)], [("A", "X", 1000, 10)], [("X", "equity", adv)])


# --- closed forms -----------------------------------------------------------------------------

def test_glt_two_holder_example_by_hand():
    """Assets 100 and 200; M = [[1, 0], [0.5, 0.5]]; b = (10, 5); F = (-10%, 0);
    L = (0.001, 0.002) per unit sold. Returns -10% and -5%; sales b * a * -r = 100 and 50;
    asset sales M' sales = 125 and 25; falls 12.5% and 5%; second-round losses
    100 * 12.5% = 12.5 and 200 * (0.5 * 12.5% + 0.5 * 5%) = 17.5; vulnerability
    30 / (100/11 + 200/6) = 0.7071."""
    r = glt_vulnerability([100, 200], [[1, 0], [0.5, 0.5]], [10, 5], [-0.10, 0.0],
                          [0.001, 0.002])
    assert r["sales"] == pytest.approx([100, 50])
    assert r["asset_sales"] == pytest.approx([125, 25])
    assert r["price_falls"] == pytest.approx([0.125, 0.05])
    assert r["second_round_losses"] == pytest.approx([12.5, 17.5])
    assert r["equity"] == pytest.approx([100 / 11, 200 / 6])
    assert round(r["aggregate_vulnerability"], 4) == 0.7071
    # the sparse form used on books gives the same
    sparse = (np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([1.0, 0.5, 0.5]), (2, 2))
    s = glt_vulnerability([100, 200], sparse, [10, 5], [-0.10, 0.0], [0.001, 0.002])
    assert s["second_round_losses"] == pytest.approx([12.5, 17.5])
    assert s["aggregate_vulnerability"] == pytest.approx(r["aggregate_vulnerability"])


def test_glt_price_falls_can_be_capped():
    r = glt_vulnerability([100, 200], [[1, 0], [0.5, 0.5]], [10, 5], [-0.10, 0.0],
                          [0.01, 0.002], max_fall=0.9)
    assert r["price_falls"][0] == 0.9  # 1.25 uncapped


def test_inet_exponential_convention():
    """c = -ln(0.9) / 0.1 from "10% of the market sold moves the price 10%"; 5% sold then
    moves it 1 - exp(-0.05 c) = 1 - sqrt(0.9) = 5.13%. INET's own default point (5% sold, 5%
    fall; markets.py with PRICE_IMPACTS 0.05) gives 9.75% for 10% sold."""
    assert float(exponential_fall(0.10)) == pytest.approx(0.10)
    assert float(exponential_fall(0.05)) == pytest.approx(1 - 0.9 ** 0.5)
    assert round(float(exponential_fall(0.05)) * 100, 2) == 5.13
    assert float(exponential_fall(0.10, 0.05, 0.05)) == pytest.approx(1 - 0.95 ** 2)
    with pytest.raises(ValueError, match="calibration"):
        exponential_fall(0.1, calibration_fall=1.0)


# --- the table ----------------------------------------------------------------------------------

def test_market_leverage_is_an_optional_contract_table():
    t = contract.table("market_leverage")
    assert t.since == 2 and t.key == ("instrument_id", "date")
    assert "融资余额" in t.column("margin_balance").aliases
    assert "融资融券交易明细" in t.column("margin_balance").description
    for name in ("offexchange_multiple", "collateral_ratio", "liquidation_line", "source"):
        assert t.column(name).nullable and not t.column(name).required


def test_each_stock_takes_its_last_row_on_or_before_the_as_of_date_with_defaults():
    tables = edge_book()
    tables["market_leverage"] = market_leverage(
        [("X", 1000, DAY - timedelta(days=1)), ("X", 2000, DAY),
         ("X", 9999, DAY + timedelta(days=1)), ("NOT_HELD", 5000)],
        offexchange_multiple=[None, 0.5, None, None])
    book = build_book(tables, DAY)
    lines = platform_lines(LINES)
    [row] = market_leverage_at(book, tables, DAY, lines).iter_rows(named=True)
    assert (row["instrument_id"], row["margin_balance"]) == ("X", 2000)
    assert row["other_debt"] == 3000  # 2,000 x (1 + 0.5)
    assert row["collateral_ratio"] == DEFAULT_COLLATERAL_RATIO and row["collateral_ratio_assumed"]
    assert row["other_holdings_value"] == 3000 * DEFAULT_COLLATERAL_RATIO
    assert row["liquidation_line"] == 1.1 and row["line_is_platforms"]


# --- synthetic accounts -------------------------------------------------------------------------

def test_synthetic_accounts_spread_around_the_average_and_stay_out_of_platform_figures():
    tables = edge_book()
    tables["market_leverage"] = market_leverage([("X", 1_000_000)], collateral_ratio=[2.0])
    book = build_book(tables, DAY)
    lines = platform_lines(LINES)
    joint = with_other_holders(book, market_leverage_at(book, tables, DAY, lines), lines)
    ext = joint.external
    assert joint.n_accounts == 21 and ext.sum() == 20 and not ext[0]
    ratios = joint.account_values()[ext] / joint.debt[ext]
    # mid-points of 20 equal bins between the line 1.1 and 2 x 2.0 - 1.1 = 2.9
    assert ratios == pytest.approx(1.1 + 1.8 * (np.arange(20) + 0.5) / 20)
    assert ratios.mean() == pytest.approx(2.0) and ratios.min() > 1.1
    assert joint.debt[ext].sum() == pytest.approx(1_000_000)
    assert joint.account_values()[ext].sum() == pytest.approx(2_000_000)
    # the platform's value, weights and static figures ignore the other holders
    assert joint.held_value == pytest.approx(book.held_value)
    assert joint.value_weights == pytest.approx(book.value_weights)
    s = scenario(-0.30)
    alone, both = (run_scenario(b, s, lines, LINEAR) for b in (book, joint))
    assert (both.accounts_in_call, both.accounts_wiped_out, both.shortfall, both.book_loss) == \
        (alone.accounts_in_call, alone.accounts_wiped_out, alone.shortfall, alone.book_loss)
    # the other holders did sell (ratios 1.145, 1.235, ..., 1.505 are below 1.1 / 0.7 = 1.571
    # at once: five accounts), yet the counts are the platform's one account at most
    spiral = _spiral(joint, shock_factors(joint, s), lines, LINEAR, joint.value_weights)
    assert (spiral["closed"] & ext).sum() >= 5
    assert both.accounts_liquidated <= 1 and both.spiral_wiped_out <= 1
    assert all(r["accounts_liquidated"] <= 1 for r in both.rounds)


def test_the_tables_own_line_closes_the_other_holders():
    """No impact (Y = 0), average 2.0, line 1.5 from the table (the platform's is 1.1): ratios
    1.525, 1.575, ..., 2.475. A 20% fall closes those below 1.5 / 0.8 = 1.875: seven accounts.
    At the platform's line 1.1 the spread is 1.145, 1.235, ..., 2.855 and the same fall closes
    those below 1.1 / 0.8 = 1.375: three."""
    tables = edge_book()
    tables["market_leverage"] = market_leverage([("X", 1_000_000)], collateral_ratio=[2.0],
                                                liquidation_line=[1.5])
    book = build_book(tables, DAY)
    lines = platform_lines(LINES)
    holders = market_leverage_at(book, tables, DAY, lines)
    joint = with_other_holders(book, holders, lines)
    no_impact = ImpactModel(coefficient=0.0)
    s = _spiral(joint, shock_factors(joint, scenario(-0.20)), lines, no_impact,
                joint.value_weights)
    assert int((s["closed"] & joint.external).sum()) == 7
    platform_line = with_other_holders(book, holders.with_columns(pl.lit(1.1).alias(
        "liquidation_line")), lines)
    s = _spiral(platform_line, shock_factors(platform_line, scenario(-0.20)), lines, no_impact,
                platform_line.value_weights)
    assert int((s["closed"] & platform_line.external).sum()) == 3


def test_other_holders_sales_push_the_platform_through_its_line():
    """Alone, a 3% fall leaves A at 9,700 / 8,700 = 111.5%, above its 110% line: no sale, no
    shortfall. The market's other holders of X (30m of margin debt at an average 112%, spread
    over 110%-114%) are mostly below the line after the same fall; their sales (about 3 days
    of volume, -30% at 10% a day) carry X down, and A is closed out below its debt."""
    tables = edge_book()
    tables["market_leverage"] = market_leverage([("X", 30_000_000)], collateral_ratio=[1.12])
    book = build_book(tables, DAY)
    lines = platform_lines(LINES)
    out = common_exposures(book, tables, DAY, lines, LINEAR, scenario(-0.03), net_capital=600.0)
    assert out["available"] and out["stocks_covered"] == 1
    assert out["shortfall_without"] == 0 and out["accounts_liquidated_without"] == 0
    assert out["shortfall_with"] > 1000 and out["shortfall_added"] == out["shortfall_with"]
    assert out["accounts_liquidated_with"] == 1  # A alone: the synthetic accounts not counted
    assert out["other_accounts_liquidated"] > 10 and out["other_sales_value"] > 0
    assert out["covered_by_capital_with"] is False
    [row] = out["stocks"]
    assert row["price_fall_platform_alone"] == 0
    assert row["price_fall_with_other_holders"] > 0.25
    # the platform's share of X's leveraged holdings: 10,000 / (10,000 + 30m x 1.12)
    assert row["platform_share"] == pytest.approx(10_000 / (10_000 + 33_600_000))
    assert out["totals"]["platform_share"] == pytest.approx(row["platform_share"])
    glt = out["glt"]
    assert glt["aggregate_vulnerability"] > glt["aggregate_vulnerability_platform_alone"] > 0
    assert glt["second_round_loss_platform"] > glt["second_round_loss_platform_alone"]


def test_stress_json_section_when_the_table_is_given_and_when_it_is_not():
    plain = edge_book()
    with_table = edge_book()
    with_table["market_leverage"] = market_leverage([("X", 30_000_000)],
                                                    collateral_ratio=[1.12])
    s = [scenario(-0.03, name="small", severe=True)]
    base = run_stress(plain, LINES, s, impact=LINEAR).to_dict()
    data = run_stress(with_table, LINES, s, impact=LINEAR).to_dict()
    assert base["common_exposures"]["available"] is False
    assert "market_leverage" in base["common_exposures"]["reason"]
    assert "shortfall_with" not in base["common_exposures"]  # not tested is never a zero
    # the platform's own figures do not change with the table
    assert {k: v for k, v in data.items() if k != "common_exposures"} == \
        {k: v for k, v in base.items() if k != "common_exposures"}
    ce = data["common_exposures"]
    assert ce["available"] and ce["scenario"] == "small"
    assert ce["shortfall_with"] > ce["shortfall_without"] == 0
    assert ce["shortfall_with"] == round(ce["shortfall_with"], 2)  # money to the cent
    json.dumps(data, allow_nan=False)


def test_a_table_without_rows_for_the_held_stocks_is_not_tested():
    tables = edge_book()
    tables["market_leverage"] = market_leverage([("OTHER", 1_000_000),
                                                 ("X", 1_000, DAY + timedelta(days=3))])
    out = run_stress(tables, LINES, [scenario(-0.03)], impact=LINEAR).to_dict()
    assert out["common_exposures"]["available"] is False
    assert "no row on or before" in out["common_exposures"]["reason"]


def test_top_stocks_are_ranked_by_the_other_holders_debt():
    ids = [f"S{i:02d}" for i in range(12)]
    tables = book_tables([("A", 0, 5000)], [("A", i, 100, 10) for i in ids],
                         [(i, "equity", 1e6) for i in ids])
    tables["market_leverage"] = market_leverage([(i, 1000 * (n + 1)) for n, i in enumerate(ids)])
    book = build_book(tables, DAY)
    out = common_exposures(book, tables, DAY, platform_lines(LINES), LINEAR, scenario(-0.1))
    assert [r["instrument_id"] for r in out["stocks"]] == ids[::-1][:10]
    assert out["stocks_covered"] == 12 and out["totals"]["other_accounts"] == 240
    assert out["totals"]["other_debt"] == pytest.approx(1000 * 78)
