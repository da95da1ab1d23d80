"""Excel workbooks (.xlsx): choose the sheet, read its cells as text the parsers read back
exactly (dates as ISO text, whole numbers without '.0'), and locate the header row. The workbook
is opened and its rows read under the caps by ``read.workbook``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from audit.contract import Table
from audit.load.headers import (
    HEADER_SEARCH_ROWS, explicit_lookup, find_header_row, header_score, normalise_header,
)
from audit.load.limits import DEFAULT_LIMITS, Limits, over_limit
from audit.load.mapping import TableMapping
from audit.load.read.records import raw_from_records
from audit.load.read.workbook import BLANK, open_workbook, sheet_rows
from audit.load.types import LoadError, RawTable, first_line


def read_excel_raw(
    path: Path, t: Table, mapping: TableMapping, limits: Limits = DEFAULT_LIMITS
) -> RawTable:
    """Read one sheet of a workbook as text cells (dates as ISO text, numbers as their digits)."""
    name = path.name
    workbook = open_workbook(path, limits)
    try:
        sheet = _choose_sheet(workbook, t, mapping, name, limits)
        records = _sheet_records(sheet, name, limits)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"{name}: cannot read the workbook ({first_line(exc)}); save it again "
                        f"as .xlsx or export CSV")
    finally:
        workbook.close()
    header_at = find_header_row(records, t.name, explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: sheet {sheet.title!r} is empty; put the table with a header row "
                        f"on the first sheet or name the sheet in a mapping file given with --mapping")
    # NOTE: the table is as wide as its widest row (a value right of the header gets a blank
    # header, listed as an extra column); rows lost only trailing empty cells and are padded
    # one by one as they are kept, so the padded size is capped before it is built.
    width = max(len(r) for r in records)
    filled = sum(1 for r in records if r)
    if width * filled > limits.max_cells:
        raise over_limit(name, f"sheet {sheet.title!r} spans {filled:,} rows x {width:,} columns",
                         "max_cells", "too-many-cells", "keep only the table on the sheet")
    headers = list(records[header_at]) + [None] * (width - len(records[header_at]))
    raw = raw_from_records(name, records, header_at, headers, t, "excel", pad_short=True)
    raw.sheet = sheet.title
    return raw


def _choose_sheet(workbook, t: Table, mapping: TableMapping, name: str, limits: Limits):
    """The named sheet, else a sheet named after the table, else the best header match."""
    if mapping.sheet is not None:
        if mapping.sheet not in workbook.sheetnames:
            raise LoadError(f"{name}: no sheet {mapping.sheet!r}; sheets: "
                            f"{', '.join(workbook.sheetnames)}; fix tables.{t.name}.sheet")
        return workbook[mapping.sheet]
    sheets = workbook.worksheets
    if not sheets:
        raise LoadError(f"{name}: the workbook has no sheets")
    table_keys = {normalise_header(k) for k in (t.name, *t.aliases)}
    for sheet in sheets:
        if normalise_header(sheet.title) in table_keys:
            return sheet
    if len(sheets) == 1:
        return sheets[0]
    explicit = explicit_lookup(mapping)
    scores = []
    for sheet in sheets:
        head = [list(r) for _, r in zip(range(HEADER_SEARCH_ROWS),
                                        sheet_rows(sheet, name, limits))]
        scores.append(max((header_score(r, t.name, explicit) for r in head), default=0))
    return sheets[scores.index(max(scores))]


def _sheet_records(sheet, name: str, limits: Limits) -> list:
    return [[_cell_text(v) for v in row] if row else BLANK
            for row in sheet_rows(sheet, name, limits)]


def _cell_text(value: Any) -> str | None:
    """Text of a native Excel value, in a form the text parsers read back exactly."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # NOTE: whole numbers lose the '.0' so numeric IDs read as text stay '1001'.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
