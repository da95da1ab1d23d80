"""Dates and date-times: ISO, slashed, dotted, compact, Chinese, day- or month-first, month
names and Excel serials, with a fast path for plain ISO values.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from audit.contract import DATE, DATETIME, Column
from audit.load.parse.text import has_non_ascii, when
from audit.load.zones import offset_minutes

if TYPE_CHECKING:
    from audit.load.parse.context import ParseContext

_TIME_PART = (
    r"(?:(?:\s+|T)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>[Zz]|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_YMD = r"^(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})" + _TIME_PART
_COMPACT = r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})" + _TIME_PART
_ABY = r"^(?P<a>[0-9]{1,2})[-/.](?P<b>[0-9]{1,2})[-/.](?P<y>[0-9]{4})" + _TIME_PART
_PART_NAMES = ("y", "m", "d", "H", "M", "S", "f", "ampm", "tz")
_MONTH_NAME_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%Y %b %d", "%Y %B %d")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


def normalise_date_text(s: pl.Series) -> pl.Series:
    """Chinese and full-width date text to Latin form: 2024年1月5日 9时30分 -> 2024-1-5 9:30"""
    if not has_non_ascii(s):
        return s
    t = s.str.normalize("NFKC")
    t = t.str.replace_all(r"\s*[年月]\s*", "-").str.replace_all(r"\s*[日号]", " ")
    t = t.str.replace_all(r"\s*[时時点點]\s*", ":").str.replace_all(r"\s*分\s*", ":")
    t = t.str.replace_all(r"\s*秒", "").str.replace(r":\s*$", "").str.strip_chars()
    return t.str.replace(r"^上午\s*(.*)$", "${1} AM").str.replace(r"^下午\s*(.*)$", "${1} PM")


def _extract(s: pl.Series, pattern: str) -> pl.DataFrame:
    return s.str.extract_groups(pattern).struct.unnest()


def _merge_parts(primary: pl.DataFrame, fallback: pl.DataFrame) -> pl.DataFrame:
    use_primary = primary["y"].is_not_null()
    return pl.DataFrame(
        [when(use_primary, primary[c], fallback[c]).cast(pl.String).alias(c) for c in _PART_NAMES]
    )


def _date_valid(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = (
        pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    )
    return y.is_between(1, 9999) & m.is_between(1, 12) & d.is_between(1, 31) & (d <= days)


def _aby_as_ymd(aby: pl.DataFrame, dayfirst: bool) -> pl.DataFrame:
    day, month = ("a", "b") if dayfirst else ("b", "a")
    return aby.rename({day: "d", month: "m"}).select(_PART_NAMES)


def _aby_fits(aby: pl.DataFrame, dayfirst: bool) -> pl.Series:
    """Per a/b/yyyy value (others left out): is it a real date under this day order?"""
    parts = _aby_as_ymd(aby, dayfirst).select(pl.col("y", "m", "d").cast(pl.Int32, strict=False))
    fits = parts.select(_date_valid(pl.col("y"), pl.col("m"), pl.col("d"))).to_series()
    return fits.filter(parts["y"].is_not_null())


def day_order_evidence(s: pl.Series) -> bool | None:
    """True/False when a column's a/b/yyyy dates can only be day-first/month-first, else None."""
    aby = _extract(normalise_date_text(s), _ABY)
    if aby["y"].is_null().all():
        return None
    day_ok, month_ok = _aby_fits(aby, True).all(), _aby_fits(aby, False).all()
    return day_ok if day_ok != month_ok else None


def _choose_dayfirst(aby: pl.DataFrame, col: Column, ctx: ParseContext) -> bool:
    if ctx.mapping.dayfirst is not None:
        return ctx.mapping.dayfirst
    day_fits, month_fits = _aby_fits(aby, True), _aby_fits(aby, False)
    if day_fits.all() != month_fits.all():
        return bool(day_fits.all())
    if not day_fits.all():  # neither order fits every value: take the better, report the rest
        return bool(day_fits.sum() >= month_fits.sum())
    file_choice = ctx.file_dayfirst()
    if file_choice is not None:
        return file_choice
    ctx.note(col.name, f"every a/b/yyyy date in column '{col.name}' fits both day-first and "
                       f"month-first; read as day-first (dd/mm/yyyy); set dayfirst: false under "
                       f"tables.{ctx.table.name} in a mapping file given with --mapping if they are month-first")
    return True


def date_parts(s: pl.Series, col: Column, ctx: ParseContext) -> pl.DataFrame:
    """The y/m/d/H/M/S/f/ampm/tz text parts of every recognisable date, nulls elsewhere."""
    parts = _extract(s, _YMD)
    if (s.is_not_null() & parts["y"].is_null()).any():
        parts = _merge_parts(parts, _extract(s, _COMPACT))
    if (s.is_not_null() & parts["y"].is_null()).any():
        aby = _extract(s, _ABY)
        if aby["y"].is_not_null().any():
            parts = _merge_parts(parts, _aby_as_ymd(aby, _choose_dayfirst(aby, col, ctx)))
    return parts


def temporal_from_parts(parts: pl.DataFrame, col: Column) -> pl.Series:
    """Date or (wall-clock) Datetime from the extracted parts; impossible ones become null."""
    y, m, d = (pl.col(c).cast(pl.Int32, strict=False) for c in ("y", "m", "d"))
    hour = pl.col("H").cast(pl.Int32, strict=False).fill_null(0)
    minute = pl.col("M").cast(pl.Int32, strict=False).fill_null(0)
    second = pl.col("S").cast(pl.Int32, strict=False).fill_null(0)
    micro = pl.col("f").str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int32, strict=False)
    micro = micro.fill_null(0)
    ampm = pl.col("ampm").str.to_lowercase().str.slice(0, 1)
    hour_ok = pl.when(ampm.is_null()).then(hour.is_between(0, 23)).otherwise(hour.is_between(1, 12))
    hour = (pl.when(ampm == "p").then(hour % 12 + 12)
            .when(ampm == "a").then(hour % 12).otherwise(hour))
    valid = (_date_valid(y, m, d) & hour_ok & minute.is_between(0, 59)
             & second.is_between(0, 59)).fill_null(False)
    safe = [pl.when(valid).then(e).otherwise(1) for e in (y, m, d)]
    if col.type == DATE:
        value = pl.date(*safe)
    else:
        clock = [pl.when(valid).then(e).otherwise(0) for e in (hour, minute, second, micro)]
        value = pl.datetime(*safe, *clock, time_unit="us")
    return parts.select(pl.when(valid).then(value).otherwise(None).alias(col.name)).to_series()


def _month_name_dates(s: pl.Series, col: Column) -> pl.Series:
    t = s.str.replace_all(r"[,\-/.]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    target = pl.Date() if col.type == DATE else pl.Datetime("us")
    out = pl.Series(col.name, [None] * len(s), dtype=target)
    for fmt in _MONTH_NAME_FORMATS:
        out = out.fill_null(t.str.strptime(pl.Date, fmt, strict=False).cast(target))
    return out


def _excel_serial_dates(s: pl.Series, col: Column) -> pl.Series:
    """Excel day numbers (45296 = 2024-01-05) for cells the workbook did not format as dates."""
    numeric = s.str.contains(r"^[0-9]{1,7}(?:\.[0-9]+)?$").fill_null(False)
    serial = when(numeric, s, None).cast(pl.String).cast(pl.Float64, strict=False)
    serial = when(serial.is_between(1, _EXCEL_MAX_SERIAL).fill_null(False), serial, None)
    micros = (serial.cast(pl.Float64) * 86_400_000_000).round(0).cast(pl.Int64)
    value = pl.select(pl.lit(_EXCEL_EPOCH, pl.Datetime("us"))
                      + pl.duration(microseconds=micros)).to_series()
    return value.dt.date() if col.type == DATE else value


def plain_temporal(s: pl.Series, col: Column) -> pl.Series | None:
    """Fast path: every value is exactly ISO 'yyyy-mm-dd' (or 'yyyy-mm-dd hh:mm:ss')."""
    if col.type == DATE:
        fmt, width, dtype = "%Y-%m-%d", 10, pl.Date()
    else:
        fmt, width, dtype = "%Y-%m-%d %H:%M:%S", 19, pl.Datetime("us")
    present = s.is_not_null()
    if not (s.str.len_bytes() == width).filter(present).all():
        return None  # chrono's %Y also takes 2-digit years; the width check rules those out
    value = s.str.strptime(dtype, fmt, strict=False)
    if (present & value.is_null()).any():
        return None
    return value


def parse_temporal(s: pl.Series, col: Column, ctx: ParseContext) -> pl.Series:
    """Date/Datetime from ISO, slashed, dotted, compact, Chinese, d/m/y or m/d/y, month names.

    A DATE keeps the date as written, offset or not. A DATETIME ends as wall-clock time in the
    export's zone: converted from its offset when it has one, else from the table's zone.
    """
    fast = plain_temporal(s, col)
    if fast is not None:
        return fast if col.type == DATE else ctx.in_export_zone(fast, None, col.name)
    text = normalise_date_text(s)
    parts = date_parts(text, col, ctx)
    value = temporal_from_parts(parts, col)
    offsets = None
    if col.type == DATETIME:
        offsets, bad_offset = offset_minutes(parts["tz"])
        if bad_offset.any():
            value = when(bad_offset, None, value).cast(value.dtype)  # +25:00 is no offset
    left = text.is_not_null() & value.is_null()
    if left.any() and text.filter(left).str.contains(r"[A-Za-z]{3}").any():
        value = value.fill_null(_month_name_dates(text, col))
        left = text.is_not_null() & value.is_null()
    if left.any() and ctx.format == "excel":
        value = value.fill_null(_excel_serial_dates(text, col))
    if col.type == DATETIME:
        value = ctx.in_export_zone(value.alias(col.name), offsets, col.name)
    return value.alias(col.name)
