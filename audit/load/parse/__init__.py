"""Typing: turn a raw table into a frame of contract-typed columns, keeping the readable rows and
reporting every cell that does not parse (by row, in contract column order).
"""

from __future__ import annotations

import polars as pl

from audit.contract import BOOL, DATE, DATETIME, FLOAT, INT, MONEY, RATE, STRING, Column, Table
from audit.load.headers import HeaderMatch
from audit.load.mapping import TableMapping
from audit.load.parse.context import ParseContext
from audit.load.parse.dates import parse_temporal
from audit.load.parse.native import as_text, native_failures, native_value
from audit.load.parse.numbers import parse_number
from audit.load.parse.text import clean_text, parse_bool, parse_string, when
from audit.load.types import ROW, UNREADABLE, DataIssue, LoadError, RawTable, clip
from audit.load.zones import TableZones

TYPE_WORDS = {
    STRING: "text", INT: "integer", FLOAT: "number", MONEY: "money", RATE: "rate",
    DATE: "date", DATETIME: "date-time", BOOL: "true/false",
}


def source_text(raw: pl.Series, col: Column, mapping: TableMapping, file: str,
                replaced: list[dict] | None = None) -> pl.Series:
    """Cleaned text of a column that is not natively typed, with the mapping's value
    replacements; each replacement that changed cells is appended to ``replaced`` (column,
    from, to, cells), so the findings show every value the mapping rewrote."""
    try:
        text = as_text(raw)
    except TypeError as exc:
        raise LoadError(f"{file}: the column for '{col.name}' holds {exc}; export it as plain "
                        f"values") from None
    cleaned = clean_text(text)
    replacements = mapping.values.get(col.name)
    if not replacements:
        return cleaned
    if replaced is not None:
        hits = cleaned.filter(cleaned.is_in(list(replacements))).value_counts()
        for source, cells in sorted(hits.iter_rows()):
            replaced.append({"column": col.name, "from": source, "to": replacements[source],
                             "cells": int(cells)})
    return cleaned.replace(replacements)


def parse_cleaned(cleaned: pl.Series, col: Column, ctx: ParseContext) -> pl.Series:
    """Typed values from cleaned text (null where a value does not parse)."""
    if col.type == STRING:
        return parse_string(cleaned, col)
    if col.type == BOOL:
        return parse_bool(cleaned)
    if col.type in (DATE, DATETIME):
        return parse_temporal(cleaned, col, ctx)
    return parse_number(cleaned, col, ctx)


def _null_column(col: Column, height: int) -> pl.Series:
    return pl.Series(col.name, [None] * height, dtype=col.dtype)


def type_table(
    raw: RawTable, t: Table, match: HeaderMatch, file: str, mapping: TableMapping,
    zones: TableZones | None = None,
):
    """(typed frame of every row, how many rows have an unreadable cell, cell issues, column
    notes, value replacements the mapping made). The frame names each row's unreadable
    columns in ``UNREADABLE`` (a list; null for a clean row) when any cell failed."""
    indices = sorted(match.by_index)
    data = raw.fetch(indices)
    height = data.height
    sources = {match.by_index[i]: data[f"c{i}"] for i in indices}
    natives: dict[str, pl.Series] = {}
    texts: dict[str, pl.Series] = {}
    ctx = ParseContext(file, t, raw.format, mapping, texts, zones, data[ROW])
    for name, series in sources.items():
        native = native_value(series, t.column(name), ctx)
        if native is not None:
            natives[name] = native
        else:
            texts[name] = source_text(series, t.column(name), mapping, file, ctx.replaced)
    values: list[pl.Series] = []
    failures: dict[str, pl.Series] = {}  # column -> original text of the cells that failed
    reasons: dict[str, pl.Series] = {}  # column -> why a cell failed, when more than its text
    for col in t.columns:
        if col.name in natives:
            value = natives[col.name]
            failed = native_failures(sources[col.name], value)
        elif col.name in texts:
            value = parse_cleaned(texts[col.name], col, ctx)
            failed = texts[col.name].is_not_null() & value.is_null()
            if raw.lossy_text:
                failed = failed | texts[col.name].str.contains("\ufffd", literal=True)
        else:
            values.append(_null_column(col, height))
            continue
        values.append(value.alias(col.name).cast(col.dtype))
        failed = failed.fill_null(False)
        if failed.any():
            failures[col.name] = when(failed, as_text(sources[col.name]), None).cast(pl.String)
            if col.name in ctx.cell_problems:
                cells, reason = ctx.cell_problems[col.name]
                reasons[col.name] = when(cells & failed, reason, None).cast(pl.String)
    frame = pl.DataFrame(values + [data[ROW]])
    if not failures:
        return frame, 0, [], ctx.notes, ctx.replaced
    bad = pl.DataFrame([s.alias(n) for n, s in failures.items()] + [data[ROW]])
    bad_row = bad.select(pl.any_horizontal(pl.col(c).is_not_null() for c in failures)).to_series()
    why = {name: reason.filter(bad_row).to_list() for name, reason in reasons.items()}
    issues = _cell_issues(bad.filter(bad_row), t, file, raw.encoding if raw.lossy_text else None,
                          why)
    # NOTE: a row with an unreadable cell stays, its cell null and named in UNREADABLE: the
    # rules that do not read that cell still check the row, and those that do set it aside as
    # unreadable (never as a pass, never as a violation of a requirement it may meet).
    named = bad.select(pl.concat_list([
        pl.when(pl.col(c).is_not_null()).then(pl.lit(c)).otherwise(pl.lit(None, pl.String))
        for c in failures]).list.drop_nulls().alias(UNREADABLE)).to_series()
    frame = frame.with_columns(pl.when(bad_row).then(named).otherwise(None).alias(UNREADABLE))
    return frame, int(bad_row.sum()), issues, ctx.notes, ctx.replaced


def _cell_issues(
    bad: pl.DataFrame, t: Table, file: str, lossy_encoding: str | None,
    why: dict[str, list[str | None]] | None = None,
) -> list[DataIssue]:
    """One issue per cell that did not parse, in row order then contract column order.

    ``why`` holds, per column and bad row, the reason a cell failed when its text alone does not
    say (a local time the clocks skipped).
    """
    why = why or {}
    order = {c.name: i for i, c in enumerate(t.columns)}
    keyed: list[tuple[int, int, DataIssue]] = []
    rows = bad[ROW].to_list()
    for name in bad.columns:
        if name == ROW:
            continue
        word = TYPE_WORDS[t.column(name).type]
        reasons = why.get(name) or [None] * len(rows)
        for row, value, reason in zip(rows, bad[name].to_list(), reasons):
            if value is None:
                continue
            shown = clip(value)
            problem = f"cannot parse {shown!r} as {word}" + (f": {reason}" if reason else "")
            if lossy_encoding and "\ufffd" in value:
                problem = (f"cannot read {shown!r}: the file has bytes here that are not valid "
                           f"{lossy_encoding} text (shown as \ufffd); fix or re-export the file")
            keyed.append((row, order[name], DataIssue(file, t.name, row, name, shown, problem,
                                                          "unreadable-cell")))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [issue for _, _, issue in keyed]
