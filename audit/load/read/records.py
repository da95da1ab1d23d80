"""Records to a raw table: the text columns built from a list of records (CSV's careful path
and Excel), rejecting ragged rows and reporting title rows above the header.
"""

from __future__ import annotations

from typing import Any, Callable

import polars as pl

from audit.contract import Table
from audit.load.headers import is_blank
from audit.load.types import ROW, DataIssue, RawTable, clip


def frame_fetcher(frame: pl.DataFrame) -> Callable[[list[int]], pl.DataFrame]:
    """RawTable.fetch for a frame already in memory: the chosen columns and ``_row``."""
    return lambda indices: frame.select([f"c{i}" for i in indices] + [ROW])


def raw_from_records(
    name: str, records: list[list[Any]], header_at: int, headers: list[Any], t: Table,
    fmt: str, delimiter: str = ",", pad_short: bool = False,
) -> RawTable:
    """Build the text columns from records; records of the wrong width become issues.

    ``pad_short``: a record shorter than the header lost only trailing empty cells (a sheet's
    rows), so it is padded with None instead of being rejected.
    """
    width = len(headers)
    issues = title_row_issues(name, t.name, records[:header_at], header_at)
    kept: list[list[Any]] = []
    rows: list[int] = []
    rejected = 0
    for index in range(header_at + 1, len(records)):
        record = records[index]
        if is_blank(record):
            continue
        if len(record) > width and is_blank(record[width:]):
            record = record[:width]  # trailing empty fields (a trailing delimiter) lose nothing
        elif pad_short and len(record) < width:
            record = list(record) + [None] * (width - len(record))
        if len(record) != width:
            rejected += 1
            issues.append(_ragged_issue(name, t.name, index + 1, record, width, delimiter))
            continue
        kept.append(record)
        rows.append(index + 1)
    columns = list(zip(*kept)) if kept else [() for _ in range(width)]
    frame = pl.DataFrame(
        [pl.Series(f"c{i}", list(values), dtype=pl.String) for i, values in enumerate(columns)]
        + [pl.Series(ROW, rows, dtype=pl.Int64)]
    )
    headers_text = ["" if h is None else str(h) for h in headers]
    return RawTable(headers_text, frame_fetcher(frame), fmt, issues=issues, rows_rejected=rejected)


def _ragged_issue(name, table_name, row, record, width, delimiter) -> DataIssue:
    joined = delimiter.join("" if v is None else str(v) for v in record)
    hint = "check for an unquoted delimiter in a value or a missing field"
    if any("\n" in str(v) for v in record if v is not None):
        hint = "an unclosed quote may have merged the following lines into this row"
    return DataIssue(name, table_name, row, None, clip(joined),
                     f"row has {len(record)} fields but the header has {width}; the row was not "
                     f"loaded ({hint})", "ragged-row")


def title_row_issues(name, table_name, above: list[list[Any]], header_at: int) -> list[DataIssue]:
    return [
        DataIssue(name, table_name, i + 1, None,
                  clip(" ".join(str(v) for v in row if v not in (None, ""))),
                  f"row above the header (row {header_at + 1}) skipped", "title-row")
        for i, row in enumerate(above)
        if not is_blank(row)
    ]
