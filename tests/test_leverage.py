"""The leverage arithmetic of norms.md, checked against the seed's own worked examples."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import typer
from typer.testing import CliRunner

from audit.cli.leverage import leverage as leverage_command
from audit.leverage import (
    LeverageError, display_figures, leverage_figures, leverage_table, round_money, round_pct,
)


def test_example_a_call_at_66666_67_after_a_33_33_pct_fall():
    f = leverage_figures(100_000, 50_000, Decimal("0.25"))
    assert f["debt"] == Decimal(50_000)
    assert f["leverage"] == Decimal(2)
    assert f["equity_ratio"] == Decimal("0.5")
    assert f["collateral_ratio"] == Decimal(2)
    assert round_money(f["call_value"]) == Decimal("66666.67")
    assert round_pct(f["call_drop"]) == Decimal("33.33")
    # V* = D / (1 - m) exactly, to the working precision
    assert abs(f["call_value"] * Decimal("0.75") - f["debt"]) < Decimal("1e-40")
    assert not f["in_call_at_open"]


def test_example_b_10x_is_wiped_out_by_a_10_pct_fall():
    f = leverage_figures(1_000_000, 100_000)
    assert f["leverage"] == Decimal(10)
    assert f["wipeout_drop"] == Decimal("0.1")
    assert f["position_value"] * (1 - f["wipeout_drop"]) == f["debt"]


def test_example_c_5x_is_wiped_out_by_20_pct_and_is_in_call_at_open_under_finra():
    f = leverage_figures(1_000_000, 200_000)
    assert f["leverage"] == Decimal(5)
    assert f["wipeout_drop"] == Decimal("0.2")
    assert f["position_value"] * Decimal("0.8") == f["debt"] == Decimal(800_000)
    # domain.md section 1: at L = 5 and m = 25% the account is in call from the start
    assert f["in_call_at_open"] and f["call_drop"] is None
    assert "in call at open" in f["note"]


def test_peizi_1_to_10_is_11x_and_wiped_out_by_9_09_pct():
    f = leverage_figures(110_000, 10_000, 0)
    assert f["leverage"] == Decimal(11)
    assert round_pct(f["wipeout_drop"]) == Decimal("9.09")
    assert f["call_value"] == f["debt"]  # m = 0: the call line is the wipe-out line


def test_leverage_exactly_one_over_m_counts_as_in_call():
    assert leverage_figures(400, 100, "25%")["in_call_at_open"]
    assert not leverage_figures("399.99", 100, "0.25")["in_call_at_open"]


def test_inputs_are_exact_decimals_not_binary_floats():
    f = leverage_figures(0.3, 0.1, 0.1)
    assert f["position_value"] == Decimal("0.3") and f["maintenance"] == Decimal("0.1")
    assert f["leverage"] == Decimal(3)


def test_table_1x_to_10x():
    rows = [display_figures(r) for r in leverage_table()]
    assert [r["leverage"] for r in rows] == [f"{n}.00" for n in range(1, 11)]
    assert [r["wipeout_drop_pct"] for r in rows] == [
        "100.00", "50.00", "33.33", "25.00", "20.00", "16.67", "14.29", "12.50", "11.11", "10.00"]
    assert [r["call_drop_pct"] for r in rows[:3]] == ["100.00", "33.33", "11.11"]
    assert all(r["in_call_at_open"] for r in rows[3:])  # L >= 1/m = 4 under FINRA's 25%
    assert rows[1]["call_value"] == "133333.33"  # equity 100,000 at 2x: debt 100,000 / 0.75


def test_table_with_lower_maintenance_keeps_more_levels_feasible():
    rows = leverage_table(Decimal("0.1"))
    assert [r["in_call_at_open"] for r in rows] == [False] * 9 + [True]


@pytest.mark.parametrize("v, e, m, words", [
    (100, 0, "0.25", "equity must be above 0"),
    (100, -5, "0.25", "equity must be above 0"),
    (0, 10, "0.25", "position value must be above 0"),
    (100, 200, "0.25", "exceeds the position value"),
    (100, 50, "1", "maintenance margin"),
    (100, 50, "25", "write 0.25 or 25%"),
    ("abc", 50, "0.25", "not a number"),
    ("nan", 50, "0.25", "not a finite number"),
])
def test_bad_inputs_raise_a_clear_error(v, e, m, words):
    with pytest.raises(LeverageError, match=words):
        leverage_figures(v, e, m)


# --- the command ---------------------------------------------------------------------------

def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command is called by name as in `audit`
    app.command("leverage")(leverage_command)
    return app


def _run(*args: str):
    return CliRunner().invoke(_app(), ["leverage", *args])


def test_cli_prints_the_worked_example():
    result = _run("--position-value", "100000", "--equity", "50000", "--maintenance", "25%")
    assert result.exit_code == 0, result.output
    assert "66666.67" in result.output and "33.33%" in result.output


def test_cli_json_has_decimal_strings():
    result = _run("--position-value", "100,000", "--equity", "50000", "--json")
    data = json.loads(result.output)
    assert data["call_value"] == "66666.67" and data["call_drop_pct"] == "33.33"
    assert data["leverage"] == "2.00" and data["in_call_at_open"] is False


def test_cli_table_and_in_call_wording():
    result = _run("--table")
    assert result.exit_code == 0
    assert result.output.count("in call at open") == 7
    table = json.loads(_run("--table", "--json", "--maintenance", "0.1").output)
    assert len(table) == 10 and table[-1]["in_call_at_open"] is True


@pytest.mark.parametrize("args", [
    ("--position-value", "100", "--equity", "0"),
    ("--position-value", "-1", "--equity", "10"),
    ("--position-value", "100"),
    ("--table", "--position-value", "100"),
    ("--position-value", "100", "--equity", "50", "--maintenance", "150%"),
])
def test_cli_bad_input_exits_2(args):
    result = _run(*args)
    assert result.exit_code == 2
