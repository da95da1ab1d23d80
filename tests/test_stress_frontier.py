"""The cost of risk control (leverage caps and concentration limits against the shortfall they
avoid) and the bounded stress figures (fire-sale loss, days at a participation rate), on books
small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audit.stress import (
    ImpactModel, binding_cap_limit, build_book, concentration_book, platform_lines, run_stress,
)
from audit.stress.frontier import frontier_scenarios, split_caps
from test_stress import DAY, DISCLOSURE, LINEAR, book_tables, scenario, two_accounts

# Call 150%, close-out 130% (the sample platform's lines), 8% a year on the debt.
LINES = {"margin_call_ratio": 1.5, "liquidation_ratio": 1.3, "interest_rate_annual": 0.08}
NO_IMPACT = ImpactModel(coefficient=0.0)  # prices move only by the shock: losses by hand


def capped_pair():
    """A: 1,000 units at 10 on 7,500 of debt (equity 2,500, 4x, collateral 133%);
    B: 1,000 units on 5,000 (equity 5,000, 2x)."""
    return book_tables([("A", 0, 7500), ("B", 0, 5000)],
                       [("A", "X", 1000, 10), ("B", "X", 1000, 10)],
                       [("X", "equity", 1e9)], net_capital=10_000.0)


def frontier(tables, disclosure, severe=-0.40, caps=(2, 3, 5)):
    return run_stress(tables, disclosure, [scenario(severe, name="uniform-40", severe=True)],
                      impact=NO_IMPACT, caps=caps).to_dict()["frontier"]


# --- the leverage cap ------------------------------------------------------------------------

def test_cap_removes_debt_and_interest_by_hand():
    """Cap 2: A keeps 2 x 2,500 = 5,000 of positions, sells 5,000 and repays it: debt removed
    5,000, interest forgone 5,000 x 8% = 400 a year; B is at 2x and keeps everything.
    Cap 3: A keeps 7,500, repays 2,500 (200 a year).
    -40%: A's 10,000 -> 6,000 against 7,500 of debt: shortfall 1,500 (B: 6,000 vs 5,000, none).
    Capped at 2: 500 units -> 3,000 vs 2,500: none. At 3: 750 units -> 4,500 vs 5,000: 500.
    -50%: uncapped 5,000 vs 7,500 = 2,500; at 2: 2,500 vs 2,500 = 0; at 3: 3,750 vs 5,000 = 1,250."""
    f = frontier(capped_pair(), LINES)
    assert f["interest_rate_annual"] == 0.08
    assert [(s["name"], s["shortfall"]) for s in f["scenarios"]] == \
        [("uniform-40", 1500), ("uniform-50", 2500)]
    caps = {r["level"]: r for r in f["rows"] if r["lever"] == "leverage_cap"}
    assert set(caps) == {2, 3}  # 5x is above the 4.33x a 130% line allows
    two, three = caps[2], caps[3]
    assert (two["debt_removed"], two["interest_forgone"]) == (5000, 400)
    assert (three["debt_removed"], three["interest_forgone"]) == (2500, 200)
    assert two["accounts_affected"] == three["accounts_affected"] == 1
    assert two["clients_affected"] == 1
    by_name = {s["name"]: s for s in two["scenarios"]}
    assert by_name["uniform-40"] == {"name": "uniform-40", "shortfall": 0,
                                     "shortfall_avoided": 1500}
    assert by_name["uniform-50"]["shortfall"] == 0
    by_name = {s["name"]: s for s in three["scenarios"]}
    assert (by_name["uniform-40"]["shortfall"], by_name["uniform-40"]["shortfall_avoided"]) == \
        (500, 1000)
    assert by_name["uniform-50"]["shortfall"] == 1250


def test_a_cap_above_the_binding_limit_is_dropped_and_said_so():
    f = frontier(capped_pair(), LINES, caps=(2, 4, 4.5, 10))
    assert [r["level"] for r in f["rows"] if r["lever"] == "leverage_cap"] == [2, 4]
    assert f["caps_not_binding"] == [4.5, 10]
    assert f["binding_cap_limit"] == pytest.approx(1.3 / 0.3, abs=1e-6)
    assert "4.33x" in f["caps_note"] and "cannot bind" in f["caps_note"]


def test_binding_limit_is_the_leverage_at_the_liquidation_line():
    assert binding_cap_limit(platform_lines({"liquidation_ratio": 1.2})) == pytest.approx(6)
    assert math.isinf(binding_cap_limit(platform_lines({"liquidation_ratio": 1.0})))
    lines = platform_lines({"liquidation_ratio": 1.25})  # 1.25 / 0.25 = 5x exactly
    assert split_caps([2, 4, 5, 6], lines) == ([2, 4], [5, 6])


def test_without_a_disclosed_rate_interest_is_unknown_not_zero():
    f = frontier(capped_pair(), {k: v for k, v in LINES.items() if k != "interest_rate_annual"})
    assert f["interest_rate_annual"] is None and "no rate disclosed" in f["rate_source"]
    row = next(r for r in f["rows"] if r["level"] == 2)
    assert row["debt_removed"] == 5000 and row["interest_forgone"] is None


# --- the concentration limit -----------------------------------------------------------------

def concentrated():
    """A: X 8,000 + Y 2,000 on 5,000 of debt; B: X 5,000, Y 3,000, Z 2,000 on 4,000;
    C: X 10,000 and no debt."""
    return book_tables([("A", 0, 5000), ("B", 0, 4000), ("C", 0, 0)],
                       [("A", "X", 800, 10), ("A", "Y", 200, 10), ("B", "X", 500, 10),
                        ("B", "Y", 300, 10), ("B", "Z", 200, 10), ("C", "X", 1000, 10)],
                       [("X", "equity", 1e9), ("Y", "equity", 1e9), ("Z", "equity", 1e9)])


def test_concentration_limit_holds_after_the_sale_by_hand():
    """50%: A keeps T = 2,000 / (1 - 0.5) = 4,000 (X cut to 2,000), sells 6,000: debt 5,000
    repaid, 1,000 left as cash. B's X is exactly 50%: untouched. C has no debt: untouched.
    40%: B keeps T = 5,000 / 0.6 = 8,333.33 with X at 3,333.33 = 40% of it."""
    book = build_book(concentrated(), DAY)
    limited, sold = concentration_book(book, 0.5)
    assert sold.tolist() == [True, False, False]
    assert limited.debt.tolist() == [0, 4000, 0] and limited.cash.tolist() == [1000, 0, 0]
    assert limited.account_values().tolist() == pytest.approx([4000, 10000, 10000])
    assert limited.pos_units[:2].tolist() == pytest.approx([200, 200])  # A's X and Y
    limited, sold = concentration_book(book, 0.4)
    assert sold.tolist() == [True, True, False]
    b = limited.pos_value[limited.pos_account == 1]
    assert b.tolist() == pytest.approx([10_000 / 3, 3000, 2000])
    assert b.max() / b.sum() == pytest.approx(0.4)
    assert limited.debt[1] == pytest.approx(4000 - (10_000 - 25_000 / 3))


def test_an_account_with_too_few_instruments_sells_out():
    # 30% needs at least four instruments: A's two cannot comply short of selling everything
    limited, sold = concentration_book(build_book(concentrated(), DAY), 0.3)
    assert sold[0] and limited.account_values()[0] == 0
    assert limited.debt[0] == 0 and limited.cash[0] == 5000


def test_concentration_rows_in_the_frontier():
    f = run_stress(concentrated(), LINES, [scenario(-0.4, severe=True)],
                   impact=NO_IMPACT).to_dict()["frontier"]
    half = next(r for r in f["rows"] if r["lever"] == "concentration_limit" and r["level"] == 0.5)
    assert (half["accounts_affected"], half["debt_removed"], half["interest_forgone"]) == \
        (1, 5000, 400)
    assert [r["level"] for r in f["rows"] if r["lever"] == "concentration_limit"] == \
        [0.5, 0.3, 0.2]


def test_frontier_scenarios_reuse_a_loaded_uniform_fall():
    severe = scenario(-0.34, name="severe", severe=True)
    loaded = [severe, scenario(-0.5, name="every-holding-half")]
    names = [s.name for s in frontier_scenarios(severe, loaded)]
    assert names == ["severe", "uniform-40", "every-holding-half"]
    forty = scenario(-0.4, name="forty", severe=True)
    assert [s.name for s in frontier_scenarios(forty, [forty])] == ["forty", "uniform-50"]


# --- bounded figures in the scenario rows ----------------------------------------------------

def test_fire_sale_loss_replaces_unbounded_ratios():
    """The worked example: static shortfall 500, spiral 875. Fire-sale loss 375 = 62.5% of net
    capital 600 and 375 / 11,000 of debt. The whole book's fire-sale loss: 11,250 at shocked
    prices sold for 7,125 + 3,281.25 = 843.75, over client equity 15,000 - 11,000 = 4,000.
    Days: 1,500 units / (20% x 1,000 ADV) = 7.5."""
    row = run_stress(two_accounts(), DISCLOSURE, [scenario(-0.25, severe=True)],
                     impact=LINEAR).to_dict()
    s = row["scenarios"][0]
    assert s["fire_sale_loss"] == 375 and s["fire_sale_loss_vs_capital"] == 0.625
    assert s["fire_sale_loss_vs_debt"] == pytest.approx(375 / 11_000, abs=1e-6)
    assert s["book_fire_sale_loss"] == 843.75
    assert s["book_fire_sale_loss_vs_equity"] == pytest.approx(843.75 / 4000, abs=1e-6)
    assert s["amplification"] == 1.75  # static 500 is at least 1% of capital 600
    assert s["max_days_to_liquidate"] == 1.5 and s["max_days_at_participation"] == 7.5
    assert row["concentration"][0]["days_at_participation"] == pytest.approx(7.5)
    assert "1%" in row["model"]["amplification"] and "20%" in row["model"]["participation"]


@pytest.mark.parametrize("capital", [50_001.0, None])
def test_amplification_is_null_below_one_percent_of_capital(capital):
    s = run_stress(two_accounts(net_capital=capital), DISCLOSURE, [scenario(-0.25, severe=True)],
                   impact=LINEAR).to_dict()["scenarios"][0]
    assert s["amplification"] is None and s["fire_sale_loss"] == 375
    assert (s["fire_sale_loss_vs_capital"] is None) == (capital is None)


def test_frontier_money_is_rounded_to_the_cent():
    f = frontier(capped_pair(), {**LINES, "interest_rate_annual": 0.0865 + 1e-12})
    row = next(r for r in f["rows"] if r["level"] == 3)
    assert row["interest_forgone"] == round(2500 * 0.0865, 2)
    assert np.isfinite([r["debt_removed"] for r in f["rows"]]).all()
