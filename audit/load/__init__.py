"""Load stage: find an export's table files and read CSV, Parquet or Excel into typed frames.

Row numbers (``DataIssue.row`` and the ``_row`` column) are the numbers a person sees when opening
the file: for CSV and Excel the header is row 1 and the first data row is row 2 (rows above the
header, such as a title line, keep their numbers); for Parquet the first data row is row 1.

Choices the loader makes on its own (``dayfirst`` and ``decimal_comma`` in mapping.yaml force
the first two per table):

* Dates written ``a/b/yyyy`` are read day-first unless a value only fits month-first (or another
  date column of the same file is unambiguously month-first); ``dayfirst: false`` forces
  month-first. An ambiguous column is reported as an issue so the choice is visible.
* A numeric column uses a decimal comma when its values show it (``0,25``, ``1.234,56``) and none
  shows a decimal dot; an undecidable column follows the rest of the file; ``decimal_comma``
  forces either way.
* Time zones: the export has one zone Z (``load_export(timezone=...)``, the auditor's choice,
  else ``timezone:`` in mapping.yaml, else ``default_timezone``, the profile's), and every
  date-time ends as naive wall-clock time in Z, so tables exported in different zones compare
  correctly. A value with an offset (``Z``, ``+08:00``, ``+0800``, ``-05``) is converted from
  it; a value without one is taken in its table's zone (``tables.<name>.timezone``, else Z);
  zone-aware Parquet columns are converted from their own zone. Nothing is dropped; a column
  mixing values with and without an offset, mixing offsets, or carrying one offset that is not
  Z's is reported. A local time the clocks skipped makes its cell unreadable; a repeated one is
  taken as the earlier. A DATE column always keeps the date as written.
* Entirely blank rows carry no data: they are skipped and not counted in ``rows_read``.

The package's rooms, in the order a file passes through them: ``discover`` (which file holds
which table), ``mapping`` (mapping.yaml), ``read`` (format sniffing; ``read.encoding``,
``read.csv``, ``read.excel``, ``read.parquet``), ``headers`` (header row and column matching) and
``parse`` (typing: ``parse.text``, ``parse.numbers``, ``parse.dates``, ``parse.native``), with
``zones`` bringing date-times into the export's zone. ``types`` holds what they share; this
module is the public face.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from audit import contract
from audit.load.discover import Candidate, default_mapping, find_table_files, table_for_name
from audit.load.headers import match_header, match_headers, normalise_header
from audit.load.limits import DEFAULT_LIMITS, Limits
from audit.load.mapping import ExportMapping, TableMapping, check_table_mapping, read_mapping
from audit.load.parse import type_table
from audit.load.read import read_raw
from audit.load.read.workbook import account_for_sheets
from audit.load.types import (
    DEFAULT_ZONE, ISSUE_CODES, ROW, DataIssue, Export, LoadError, LoadedTable, UnloadedSheet,
    first_line,
)
from audit.load.zones import TableZones, check_zone

__all__ = [
    "DEFAULT_ZONE", "ISSUE_CODES", "ROW", "DataIssue", "Export", "LoadError", "LoadedTable",
    "Limits", "TableMapping", "UnloadedSheet",
    "load_export", "load_table", "load_with_mapping", "match_header", "normalise_header",
    "read_mapping", "table_for_name",
]


def load_table(
    path: Path, table_name: str, column_mapping: dict[str, str] | None = None, *,
    timezone: str = DEFAULT_ZONE, limits: Limits = DEFAULT_LIMITS,
) -> LoadedTable:
    """Read one file as the contract table ``table_name`` (column_mapping: header -> column).

    Date-times end as wall-clock times in ``timezone``; those without an offset are taken in it.
    """
    path = Path(path)
    if table_name not in contract.TABLES_BY_NAME:
        raise LoadError(f"{path.name}: unknown table '{table_name}'; known: "
                        f"{', '.join(contract.TABLES_BY_NAME)}")
    mapping = TableMapping(columns=dict(column_mapping or {}))
    check_table_mapping("column mapping", table_name, mapping)
    return load_with_mapping(path, table_name, mapping, timezone=timezone, limits=limits)


def load_with_mapping(
    path: Path, table_name: str, mapping: TableMapping, *, timezone: str = DEFAULT_ZONE,
    limits: Limits = DEFAULT_LIMITS,
) -> LoadedTable:
    """load_table with every mapping.yaml option (sheet, value replacements, dayfirst ...).

    ``timezone`` is the export's zone Z; ``mapping.timezone``, when set, is the zone of this
    table's date-times written without an offset (else they are taken in Z).
    """
    t = contract.table(table_name)
    zones = TableZones(
        export=check_zone(timezone, "timezone"),
        naive=check_zone(mapping.timezone, f"tables.{table_name}.timezone")
        if mapping.timezone is not None else timezone,
    )
    if not path.is_file():
        raise LoadError(f"{path.name}: no such file; check the name in mapping.yaml")
    try:
        raw, digest = read_raw(path, t, mapping, limits)
        match = match_headers(raw.headers, t, mapping, path.name)
        frame, unparsable, cell_issues, notes = type_table(raw, t, match, path.name, mapping,
                                                           zones)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(f"{path.name}: the file is too large to load in memory; export it as "
                        f"Parquet") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must never end in a traceback
        raise LoadError(f"{path.name}: cannot read the file ({type(exc).__name__}: "
                        f"{first_line(exc)}); check it is a valid {path.suffix.lstrip('.')} "
                        f"export") from None
    # NOTE: file- and column-level notes first, then row issues in row order (stable sort).
    issues = sorted(raw.issues + match.notes + notes + cell_issues,
                    key=lambda i: (i.row is not None, i.row or 0))
    return LoadedTable(
        name=t.name, path=path, sha256=digest, format=raw.format, encoding=raw.encoding,
        rows_read=frame.height + unparsable + raw.rows_rejected,
        rows_unreadable=unparsable + raw.rows_rejected, frame=frame, issues=issues,
        extra_columns=match.extra_columns, column_map=match.column_map, sheet=raw.sheet,
    )


def load_export(
    data_dir: Path, mapping: Path | None = None, tables: Iterable[str] | None = None, *,
    timezone: str | None = None, default_timezone: str = DEFAULT_ZONE,
    limits: Limits = DEFAULT_LIMITS,
) -> Export:
    """Find and load every contract table in ``data_dir`` (optionally only ``tables``).

    Every date-time ends as wall-clock time in the export's zone: ``timezone`` (the auditor's
    choice) when given, else ``timezone:`` in mapping.yaml, else ``default_timezone`` (the
    profile's). Zone names are IANA names (Asia/Shanghai, UTC). ``limits`` caps what one file
    may cost (audit.load.limits); a file past a cap is a LoadError.
    """
    if timezone is not None:
        check_zone(timezone, "timezone")
    check_zone(default_timezone, "default_timezone")
    root = Path(data_dir)
    if not root.is_dir():
        raise LoadError(f"{root}: not a directory; point the audit at the folder holding the "
                        f"export")
    wanted = _wanted_tables(tables)
    try:
        mapping_path = Path(mapping) if mapping is not None else default_mapping(root)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    if mapping_path is not None and not mapping_path.is_file():
        raise LoadError(f"{mapping_path}: mapping file not found; check the path")
    export_mapping = read_mapping(mapping_path) if mapping_path is not None else ExportMapping()
    zone, zone_source = _export_zone(timezone, export_mapping.timezone, default_timezone)
    mappings = export_mapping.tables
    try:
        found, unrecognised = find_table_files(root, mappings, wanted, mapping_path, limits)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    loaded: dict[str, LoadedTable] = {}
    for name in wanted:
        if name in found:
            loaded[name] = _load_candidate(found[name], name, mappings.get(name, TableMapping()),
                                           zone, limits)
    # NOTE: every sheet of every workbook is read as a table or listed with its row count.
    # NOTE: a mapping.yaml inside the export is the auditee's; only the auditor's (--mapping)
    # may choose one sheet of a table whose rows fill several.
    unloaded, sheet_issues = account_for_sheets(
        [lt.path for lt in loaded.values()] + [root / f for f in unrecognised], loaded, mappings,
        {t for t, m in mappings.items() if m.sheet is not None} if mapping is not None else set(),
        limits)
    issues = sheet_issues + [issue for lt in loaded.values() for issue in lt.issues]
    return Export(root=root, tables=loaded, issues=issues, unrecognised_files=unrecognised,
                  timezone=zone, timezone_source=zone_source, unloaded_sheets=unloaded)


def _export_zone(option: str | None, mapping: str | None, default: str) -> tuple[str, str]:
    """(zone, where it came from): the auditor's option, else mapping.yaml, else the default."""
    if option is not None:
        return option, "option"
    if mapping is not None:
        return mapping, "mapping"
    return default, "default"


def _load_candidate(
    candidate: Candidate, name: str, mapping: TableMapping, zone: str, limits: Limits
) -> LoadedTable:
    if candidate.sheet is not None and mapping.sheet is None:
        mapping = mapping.model_copy(update={"sheet": candidate.sheet})
    loaded = load_with_mapping(candidate.path, name, mapping, timezone=zone, limits=limits)
    if candidate.loose:
        loaded.issues.insert(0, DataIssue(
            candidate.path.name, name, None, None, candidate.label,
            f"{candidate.label} was taken as table '{name}' from part of its name; name the file "
            f"under tables.{name}.file in mapping.yaml if that is wrong", "loose-match"))
    return loaded


def _wanted_tables(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(contract.TABLES_BY_NAME)
    wanted = list(tables)
    unknown = [t for t in wanted if t not in contract.TABLES_BY_NAME]
    if unknown:
        raise LoadError(f"unknown table '{unknown[0]}'; known: "
                        f"{', '.join(contract.TABLES_BY_NAME)}")
    return [t for t in contract.TABLES_BY_NAME if t in wanted]
