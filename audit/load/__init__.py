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

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from audit import contract
from audit.load.discover import Candidate, find_table_files, mapping_in_export, table_for_name
from audit.load.headers import match_header, match_headers, normalise_header
from audit.load.keys import normalise_ids
from audit.load.limits import DEFAULT_LIMITS, Limits
from audit.load.mapping import ExportMapping, TableMapping, check_table_mapping, read_mapping
from audit.load.parse import type_table
from audit.load.paths import export_root, relative
from audit.load.read import EXCEL_EXTS, read_raw
from audit.load.read.workbook import account_for_sheets
from audit.load.types import (
    DEFAULT_ZONE, ISSUE_CODES, ROW, DataIssue, Export, LoadError, LoadedTable, UnloadedSheet,
    file_sha256, first_line,
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
        raise LoadError(f"{path.name}: no such file; check the name in the mapping file")
    try:
        raw, digest = read_raw(path, t, mapping, limits)
        match = match_headers(raw.headers, t, mapping, path.name)
        frame, partly, cell_issues, notes, replaced = type_table(raw, t, match, path.name,
                                                                     mapping, zones)
        frame, key_issues = normalise_ids(frame, t, path.name)
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
    issues = sorted(raw.issues + match.notes + notes + cell_issues + key_issues,
                    key=lambda i: (i.row is not None, i.row or 0))
    return LoadedTable(
        name=t.name, path=path, sha256=digest, format=raw.format, encoding=raw.encoding,
        rows_read=frame.height + raw.rows_rejected, rows_unreadable=raw.rows_rejected,
        rows_partly_unreadable=partly, frame=frame, issues=issues,
        extra_columns=match.extra_columns, column_map=match.column_map, relpath=path.name,
        sheet=raw.sheet,
        replaced=replaced,
    )


def load_export(
    data_dir: Path, mapping: Path | None = None, tables: Iterable[str] | None = None, *,
    timezone: str | None = None, default_timezone: str = DEFAULT_ZONE,
    limits: Limits = DEFAULT_LIMITS,
) -> Export:
    """Find and load every contract table in ``data_dir`` (optionally only ``tables``).

    ``mapping`` is the mapping file the auditor names; a mapping file inside the export is never
    applied on its own (the auditee does not configure the audit): it is reported instead.
    Every date-time ends as wall-clock time in the export's zone: ``timezone`` (the auditor's
    choice) when given, else ``timezone:`` in the named mapping, else ``default_timezone`` (the
    profile's). Zone names are IANA names (Asia/Shanghai, UTC). ``limits`` caps what one file
    may cost (audit.load.limits); a file past a cap is a LoadError.
    """
    if timezone is not None:
        check_zone(timezone, "timezone")
    check_zone(default_timezone, "default_timezone")
    root = export_root(data_dir)
    wanted = _wanted_tables(tables)
    try:
        shipped = mapping_in_export(root)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    used = _named_mapping(root, mapping) if mapping is not None else None
    export_mapping = read_mapping(used.path) if used is not None else ExportMapping()
    zone, zone_source = _export_zone(timezone, export_mapping.timezone, default_timezone)
    mappings = export_mapping.tables
    try:
        found, unrecognised, passed_over = find_table_files(root, mappings, wanted,
                                               used.label if used is not None else None,
                                               limits)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    loaded: dict[str, LoadedTable] = {}
    for name in wanted:
        if name in found:
            loaded[name] = _load_candidate(found[name], name, mappings.get(name, TableMapping()),
                                           zone, root, limits)
    # NOTE: every sheet of every workbook is read as a table or listed with its row count;
    # only the auditor's mapping may choose one sheet of a table whose rows fill several.
    unloaded, sheet_issues = account_for_sheets(
        # NOTE: only workbooks: a listed entry may be a folder or a pipe, never to be opened.
        [lt.path for lt in loaded.values()]
        + [root / f for f in unrecognised if Path(f).suffix.lower() in EXCEL_EXTS
           and (root / f).is_file()], loaded, mappings,
        {t for t, m in mappings.items() if m.sheet is not None}, limits)
    issues = sheet_issues + [issue for lt in loaded.values() for issue in lt.issues]
    # NOTE: a file named like a table that another file was read for holds rows nobody
    # audited (a violating row moved to ledger (2).csv): counted, and the table's rules are
    # never 'passed' while it is there.
    for file, table in sorted(passed_over.items()):
        issues.insert(0, DataIssue(
            file, table, None, None, None,
            f"{file} matches table '{table}' by its name, but {found[table].label} was read for "
            f"it: its rows were not audited; merge them into one file, or remove the file that "
            f"does not belong to the export", "file-not-loaded"))
    notes = []
    if shipped is not None and (used is None or used.path != shipped.resolve()):
        notes.append(f"{shipped.name} in the export folder was not applied: a mapping configures "
                     f"the audit, so only one the auditor names with --mapping is used; review "
                     f"it and pass --mapping <export folder>/{shipped.name} to apply it")
    record = used.describe(loaded) if used is not None else None
    if record is None and shipped is not None:
        record = MappingUse(shipped.resolve(), shipped.name, inside=True,
                            applied=False).describe(loaded)
    return Export(root=root, tables=loaded, issues=issues, unrecognised_files=unrecognised,
                  timezone=zone, timezone_source=zone_source, notes=notes, mapping=record,
                  unloaded_sheets=unloaded,
                  passed_over={**passed_over, **{f"{s.file} (sheet {s.sheet})": s.holds
                                                 for s in unloaded if s.holds}})


@dataclass
class MappingUse:
    """The mapping file of a run: which file, whether it was applied, and what it changed."""

    path: Path
    label: str  # its path relative to the export folder when inside it, else its name
    inside: bool
    applied: bool = True

    def describe(self, loaded: dict[str, LoadedTable]) -> dict:
        """For findings.json and the report: the file, its sha256 and every value it rewrote."""
        return {
            "file": self.label,
            "inside_export": self.inside,
            "applied": self.applied,
            "sha256": _sha256(self.path),
            "value_replacements": [
                {"table": name, **change}
                for name, t in sorted(loaded.items()) for change in t.replaced
            ] if self.applied else [],
        }


def _named_mapping(root: Path, mapping: Path) -> MappingUse:
    path = Path(mapping)
    if not path.is_file():
        raise LoadError(f"{mapping}: mapping file not found; check the path")
    real = path.resolve()
    inside = real.is_relative_to(root)
    return MappingUse(real, relative(root, real) if inside else real.name, inside)


def _sha256(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _export_zone(option: str | None, mapping: str | None, default: str) -> tuple[str, str]:
    """(zone, where it came from): the auditor's option, else mapping.yaml, else the default."""
    if option is not None:
        return option, "option"
    if mapping is not None:
        return mapping, "mapping"
    return default, "default"


def _load_candidate(
    candidate: Candidate, name: str, mapping: TableMapping, zone: str, root: Path,
    limits: Limits = DEFAULT_LIMITS,
) -> LoadedTable:
    if candidate.sheet is not None and mapping.sheet is None:
        mapping = mapping.model_copy(update={"sheet": candidate.sheet})
    loaded = load_with_mapping(candidate.path, name, mapping, timezone=zone, limits=limits)
    loaded.relpath = relative(root, candidate.path)
    if candidate.loose:
        loaded.issues.insert(0, DataIssue(
            candidate.path.name, name, None, None, candidate.label,
            f"{candidate.label} was taken as table '{name}' from part of its name; name the file "
            f"under tables.{name}.file in a mapping file given with --mapping if that is wrong", "loose-match"))
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
