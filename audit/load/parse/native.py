"""Natively typed columns (Parquet): numbers, dates and booleans taken as they are, and any other
column turned back into text for the text parsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from audit.contract import BOOL, DATE, DATETIME, FLOAT, INT, MONEY, RATE, Column
from audit.load.parse.numbers import finite_or_null, whole_to_int

if TYPE_CHECKING:
    from audit.load.parse.context import ParseContext


def native_value(s: pl.Series, col: Column, ctx: ParseContext) -> pl.Series | None:
    """The typed value of a natively typed column, or None when it has to be read as text.

    Date-times end as wall-clock times of the export zone: an aware column is converted from its
    own zone, a naive one is taken in the table's zone.
    """
    dtype = s.dtype
    numeric = dtype.is_numeric()
    if col.type in (FLOAT, MONEY, RATE) and numeric:
        value = s.cast(pl.Float64, strict=False)
        return finite_or_null(value.fill_nan(None) if dtype.is_float() else value)
    if col.type == INT and numeric:
        if dtype.is_integer():
            return s.cast(pl.Int64, strict=False)
        return whole_to_int(s.cast(pl.Float64, strict=False).fill_nan(None))
    if col.type == DATE and dtype == pl.Date:
        return s
    if col.type == DATE and isinstance(dtype, pl.Datetime):
        # NOTE: a DATE column keeps the date as written: an aware column's own wall-clock date.
        wall = s.dt.replace_time_zone(None) if dtype.time_zone else s
        return wall.dt.date()
    if col.type == DATETIME and isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            return ctx.aware_in_export_zone(s, col.name)
        return ctx.in_export_zone(s.cast(pl.Datetime("us")), None, col.name)
    if col.type == DATETIME and dtype == pl.Date:
        return ctx.in_export_zone(s.cast(pl.Datetime("us")), None, col.name)
    if col.type == BOOL and dtype == pl.Boolean:
        return s
    if dtype == pl.Null:
        return s.cast(col.dtype)
    return None


def as_text(s: pl.Series) -> pl.Series:
    """Any flat column as text; whole floats lose their '.0' so numeric IDs read as '1001'."""
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if dtype.is_nested() or dtype == pl.Object:
        raise TypeError(f"nested values ({dtype})")
    if dtype.is_float():
        values = s.fill_nan(None)
        whole = values.is_finite() & (values == values.round(0)) & (values.abs() < 1e15)
        if whole.filter(values.is_not_null()).all():
            return values.cast(pl.Int64, strict=False).cast(pl.String)
    return s.cast(pl.String, strict=False)


def native_failures(raw: pl.Series, value: pl.Series) -> pl.Series:
    failed = raw.is_not_null() & value.is_null()
    if raw.dtype.is_float():
        failed = failed & ~raw.is_nan()  # NaN is how many writers store a missing number
    return failed
