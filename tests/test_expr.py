"""The rule-expression language: what it computes and what it refuses."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from audit.expr import ExprError, Scope, compile_expr, names_used

FRAME = pl.DataFrame({
    "a": [1.0, 2.0, None],
    "b": [1, 5, 3],
    "s": ["x", "y", None],
    "t": [datetime(2024, 1, 1, 9), datetime(2024, 1, 2, 10), None],
    "d": [date(2024, 1, 1), None, date(2024, 1, 3)],
})
SCOPE = Scope(columns=dict(FRAME.schema), params={"tol": 0.5, "n": 3},
              disclosure={"liquidation_ratio": 1.3, "x": None},
              disclosure_columns=frozenset({"liquidation_ratio", "x"}))


def values(text: str, frame: pl.DataFrame = FRAME) -> list:
    return frame.select(compile_expr(text, SCOPE).alias("r"))["r"].to_list()


@pytest.mark.parametrize("text, expected", [
    ("a <= platform.liquidation_ratio + @tol", [True, False, None]),
    ("s IN ('x', 'z')", [True, False, None]),
    ("s IS NOT NULL AND b BETWEEN 1 AND 4", [True, False, False]),
    ("CASE WHEN b > 2 THEN 'big' ELSE 'small' END", ["small", "big", "big"]),
    ("hours_between(t, datetime('2024-01-03'))", [39.0, 14.0, None]),
    ("days_between(d, date('2024-01-10'))", [9, None, 7]),
    ("coalesce(a, 0) + abs(-b)", [2.0, 7.0, 3.0]),
    ("least(a, b, @n)", [1.0, 2.0, 3.0]),
    ("date(t) <= d", [True, None, None]),
    ("t + hours(@n) <= datetime(d)", [False, None, None]),
    ("platform.x IS NULL", [True, True, True]),
    ("if(b > 2, 1, 0)", [0, 1, 1]),
    ("trim(s) <> ''", [True, True, None]),
    ("b % 2 = 1 OR a IS NULL", [True, True, True]),
    ("level('C3') >= level('R2')", [True, True, True]),
])
def test_expressions_compute_sql_semantics(text, expected):
    result = values(text)
    assert result == expected or (len(result) == 1 and result * 3 == expected)


@pytest.mark.parametrize("value, expected", [(2.675, 2.68), (-2.675, -2.68), (0.865, 0.87),
                                             (24.0277, 24.03), (1.004999, 1.0)])
def test_round_is_half_away_from_zero_to_the_cent(value, expected):
    out = pl.select(compile_expr(f"round({value}, 2)", SCOPE)).item()
    assert out == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text, fragment", [
    ("a; drop table x", "not allowed"),
    ("__import__('os')", "unknown function __import__"),
    ("select a from b", "SELECT is not allowed"),
    ("sum(a)", "aggregate"),
    ("a + @nope", "unknown parameter @nope"),
    ("zz > 1", "unknown column 'zz'"),
    ("foo.a > 1", "only platform.<column>"),
    ("platform.nope > 1", "platform has no column 'nope'"),
    ("(select 1) > 0", "not allowed"),
    ("a like 'x%'", "LIKE is not allowed"),
    ("", "empty"),
    ("a >", "cannot parse"),
    ("round(a, b)", "whole-number literal"),
    ("abs(a, b)", "arguments"),
    ("valid_id(a)", "takes 2 argument(s), got 1"),
])
def test_unsafe_or_unknown_expressions_are_refused(text, fragment):
    with pytest.raises(ExprError) as err:
        compile_expr(text, SCOPE)
    assert fragment in str(err.value)


def test_aggregates_only_in_aggregate_scope():
    scope = Scope(columns=dict(FRAME.schema), aggregate=True)
    out = FRAME.select(compile_expr("sum(b)", scope).alias("s"), compile_expr("count(*)", scope).alias("n"),
                       compile_expr("count_if(b > 1)", scope).alias("k"))
    assert out.row(0) == (9, 3, 2)


def test_names_used_separates_columns_parameters_and_disclosure():
    cols, params, disc = names_used("a > @tol AND platform.liquidation_ratio < b")
    assert (cols, params, disc) == ({"a", "b"}, {"tol"}, {"liquidation_ratio"})
