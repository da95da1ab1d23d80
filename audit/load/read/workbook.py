"""Workbooks as containers: the zip directory checked against the caps before openpyxl opens a
workbook, its rows read under the caps, and every sheet of every workbook in the export
accounted for (read as a table, or listed as not loaded with its row count).

Which sheets are tables (the loader's rule, docs/data-contract.md):

* a sheet named after a table (or an alias, loosely: ``clients (2)``), or the one mapping.yaml
  names (``tables.<name>.sheet``), or, in a workbook named after a table, the sheet whose header
  fits it best. Two sheets that match one table by name are refused like two files are;
* a table's rows split over sheets are refused: when a table was read from a workbook and
  another sheet of the same workbook also carries that table's header with rows under it
  (hidden sheets included), the export is refused (``split-table``), because reading one sheet
  would silently drop the others' rows. Only the auditor's mapping file (``--mapping``) may
  choose the sheet to read then: a mapping.yaml inside the export is written by the auditee;
* every other sheet is listed in ``Export.unloaded_sheets`` (findings.json
  ``unloaded_sheets``) with its non-blank row count and state; a non-empty one is also a
  ``sheet-not-loaded`` data issue, so it is counted.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterator

from audit import contract
from audit.load.headers import HEADER_SEARCH_ROWS, explicit_lookup, is_blank, match_header
from audit.load.limits import Limits, cell_too_long, over_limit, size_text
from audit.load.mapping import TableMapping
from audit.load.types import DataIssue, LoadError, LoadedTable, UnloadedSheet, first_line


def check_workbook(path: Path, limits: Limits) -> None:
    """Refuse a workbook whose zip directory promises more than the caps, before it is opened.

    Reads only the central directory. A file that is not a zip is left to openpyxl to refuse.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    unzipped = sum(m.file_size for m in members)
    zipped = sum(m.compress_size for m in members)
    name = path.name
    if unzipped > limits.max_workbook_bytes:
        raise over_limit(name, f"the workbook unzips to {size_text(unzipped)} (cap "
                         f"{size_text(limits.max_workbook_bytes)})", "max_workbook_bytes",
                         "too-large", "export the table as Parquet or CSV")
    ratio = unzipped / max(zipped, 1)
    if ratio > limits.max_compression_ratio:
        raise over_limit(name, f"the workbook unzips {ratio:,.0f} times its zipped size to "
                         f"{size_text(unzipped)}, which real workbooks never do (a zip bomb; cap "
                         f"{limits.max_compression_ratio:g})", "max_compression_ratio",
                         "zip-bomb", "export the table again as .xlsx, CSV or Parquet")


def open_workbook(path: Path, limits: Limits):
    """The workbook opened read-only (cell values, not formulas), after the zip check."""
    import openpyxl

    check_workbook(path, limits)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise LoadError(f"{path.name}: cannot open as an Excel workbook ({first_line(exc)}); "
                        f"save it again as .xlsx or export CSV") from None


def sheet_titles(path: Path, limits: Limits) -> list[str] | None:
    """A workbook's sheet names (hidden ones included), or None when it cannot be opened;
    LoadError when it is past a cap."""
    check_workbook(path, limits)  # past a cap: raised, never taken for "not a workbook"
    try:
        workbook = open_workbook(path, limits)
    except LoadError:
        return None
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


BLANK: tuple = ()


def sheet_rows(sheet, file: str, limits: Limits) -> Iterator[tuple | list]:
    """The sheet's rows, one per row number from row 1 (a blank row as ``()``, trailing empty
    cells dropped), as native values; LoadError as soon as a row, column, cell or cell count
    passes a cap."""
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
    cells = 0
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > limits.max_sheet_rows:
            raise over_limit(file, f"sheet {sheet.title!r} has more than "
                             f"{limits.max_sheet_rows:,} rows", "max_sheet_rows", "too-many-rows",
                             "split the table over several files or export it as Parquet")
        width = len(row)
        while width and row[width - 1] is None:
            width -= 1
        if not width:
            yield BLANK
            continue
        if width > limits.max_columns:
            raise over_limit(file, f"sheet {sheet.title!r}, row {number} has {width:,} columns",
                             "max_columns", "too-many-columns",
                             "keep only the table's columns on the sheet")
        cells += width
        if cells > limits.max_cells:
            raise over_limit(file, f"sheet {sheet.title!r} has more than {limits.max_cells:,} "
                             f"cells", "max_cells", "too-many-cells",
                             "split the table over several files or export it as Parquet")
        values = list(row[:width])
        for index, value in enumerate(values):
            if isinstance(value, str) and len(value) > limits.max_cell_chars:
                raise cell_too_long(file, number, _column_letter(index), len(value),
                                    f"sheet {sheet.title!r}")
        yield values


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ------------------------------------------------------------------- every sheet accounted for


def account_for_sheets(
    workbooks: list[Path], loaded: dict[str, LoadedTable], mappings: dict[str, TableMapping],
    chosen: set[str], limits: Limits,
) -> tuple[list[UnloadedSheet], list[DataIssue]]:
    """The sheets of ``workbooks`` that no table was read from, and a data issue for each
    non-empty one; LoadError when a table read from a workbook also fills another of its
    sheets, unless the table is in ``chosen`` (the auditor's mapping named its sheet)."""
    unloaded: list[UnloadedSheet] = []
    issues: list[DataIssue] = []
    seen: set[Path] = set()
    for path in workbooks:
        key = path.resolve()
        if key in seen or not _is_zip(path):
            continue
        seen.add(key)
        read_here = {lt.sheet: lt.name for lt in loaded.values()
                     if lt.sheet is not None and lt.path.resolve() == key}
        for sheet in _survey(path, read_here, mappings, chosen, limits):
            unloaded.append(sheet)
            if sheet.rows != 0:
                tables = sorted(set(read_here.values()))
                issues.append(DataIssue(
                    path.name, tables[0] if len(tables) == 1 else "", None, None, None,
                    _issue_text(sheet), "sheet-not-loaded"))
    return unloaded, issues


def _issue_text(sheet: UnloadedSheet) -> str:
    if sheet.sheet is None:
        return f"the workbook was not read: {sheet.reason}"
    state = "" if sheet.state == "visible" else f", {sheet.state}"
    return (f"sheet {sheet.sheet!r} ({sheet.rows:,} non-blank rows{state}) was not loaded: "
            f"{sheet.reason}; if it holds a table, name it under tables.<table>.sheet in a "
            f"mapping file given with --mapping")


def _survey(
    path: Path, read_here: dict[str, str], mappings: dict[str, TableMapping], chosen: set[str],
    limits: Limits,
) -> Iterator[UnloadedSheet]:
    name = path.name
    check_workbook(path, limits)  # past a cap: the export is refused, not listed
    try:
        workbook = open_workbook(path, limits)
    except LoadError as exc:
        yield UnloadedSheet(name, None, None, "unknown",
                            f"it cannot be opened ({str(exc).partition(': ')[2]})")
        return
    try:
        for sheet in workbook.worksheets:
            if sheet.title in read_here:
                continue
            head: list[Any] = []
            rows = 0
            for row in sheet_rows(sheet, name, limits):
                if len(head) < HEADER_SEARCH_ROWS:
                    head.append(row)
                rows += not is_blank(row)
            state = getattr(sheet, "sheet_state", "visible") or "visible"
            holds = _refuse_split(name, sheet.title, head, rows, read_here, mappings, chosen)
            reason = ("it is empty" if not rows else
                      "its name and place match no table" if not read_here else
                      f"tables were read from other sheets ({', '.join(sorted(read_here))})")
            yield UnloadedSheet(name, sheet.title, rows, state, reason, holds)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet is reported, never a traceback
        raise LoadError(f"{name}: cannot read the workbook ({first_line(exc)}); save it again "
                        f"as .xlsx or export CSV") from None
    finally:
        workbook.close()


def _refuse_split(
    file: str, title: str, head: list, rows: int, read_here: dict[str, str],
    mappings: dict[str, TableMapping], chosen: set[str],
) -> None:
    """LoadError when this unread sheet carries the header of a table read from another sheet
    of the same workbook, with rows under it, and the auditor did not choose the sheet; when
    the auditor did, the table it holds (its rows go unaudited, so the table's rules are never
    'passed' beside it), else None."""
    for used, table_name in sorted(read_here.items()):
        mapping = mappings.get(table_name) or TableMapping()
        at = _header_at(head, table_name, explicit_lookup(mapping))
        if at is None or rows <= sum(not is_blank(r) for r in head[:at + 1]):
            continue
        if table_name in chosen:
            return table_name
        raise LoadError(
            f"{file}: sheets {used!r} and {title!r} both hold table '{table_name}' (same header); "
            f"ask for all its rows on one sheet, or name the sheet to read under "
            f"tables.{table_name}.sheet in a mapping file given with --mapping",
            code="split-table")


def _header_at(head: list, table_name: str, explicit: dict[str, str]) -> int | None:
    """The first of the rows that carries every required column of the table, or None."""
    required = {c.name for c in contract.table(table_name).columns if c.required}
    for index, row in enumerate(head):
        matched = {m for cell in row if (m := match_header(cell, table_name, explicit))}
        if matched and required <= matched:
            return index
    return None


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False
