"""File discovery: which file (and sheet) of an export folder holds which contract table, by
mapping.yaml, by name or alias, or loosely by part of its name; and the mapping file itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from audit import contract
from audit.load.headers import normalise_header
from audit.load.limits import DEFAULT_LIMITS, Limits
from audit.load.mapping import TableMapping
from audit.load.paths import confined, named_input
from audit.load.read import EXCEL_EXTS, PARQUET_EXTS, TEXT_EXTS, sniff_format
from audit.load.read.workbook import sheet_titles
from audit.load.types import LoadError

MAPPING_NAMES = ("mapping.yaml", "mapping.yml")


def mapping_in_export(root: Path) -> Path | None:
    """A mapping.yaml (or .yml, any case) the export folder holds, or None. It is never applied
    on its own: the export is the auditee's and must not configure the audit."""
    for entry in sorted(root.iterdir()):
        if entry.name.lower() in MAPPING_NAMES:
            return entry
    return None


@lru_cache(maxsize=None)
def _table_by_stem() -> dict[str, str]:
    stems: dict[str, str] = {}
    for t in contract.TABLES:
        for key in (t.name, *t.aliases):
            stems.setdefault(normalise_header(key), t.name)
    return stems


_NUMBERED_SUFFIX = re.compile(r"(?:[_.]*(?:\(\d+\)|\d[\d_.]*))+$")


def table_for_name(name: str) -> tuple[str | None, bool]:
    """(table, loosely) for a file stem or sheet name; loosely when only part of it matched.

    Exact: the table's name or an alias. Loose: the same with a date or copy number appended
    (positions_20240131, clients (1)), a word before or after it (acme_clients, clients_export),
    or for Chinese names contained anywhere (客户信息表). A name matching two tables matches none.
    """
    key = normalise_header(name)
    stems = _table_by_stem()
    if key in stems:
        return stems[key], False
    trimmed = _NUMBERED_SUFFIX.sub("", key).strip("_")
    if trimmed in stems:
        return stems[trimmed], True
    hits = {
        table for stem, table in stems.items()
        if (stem.isascii() and (trimmed.startswith(stem + "_") or trimmed.endswith("_" + stem)))
        or (not stem.isascii() and stem in trimmed)
    }
    return (hits.pop(), True) if len(hits) == 1 else (None, False)


@dataclass(frozen=True)
class Candidate:
    """A file (and sheet) that may hold a table."""

    path: Path
    sheet: str | None = None
    loose: bool = False  # matched on part of its name only

    @property
    def label(self) -> str:
        return self.path.name + (f" (sheet {self.sheet})" if self.sheet else "")


def _is_candidate_file(entry: Path) -> bool:
    """A data file by its name (opened later only if it is a regular file inside the export)."""
    return entry.suffix.lower() in TEXT_EXTS | PARQUET_EXTS | EXCEL_EXTS


def _candidates_in(entry: Path, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, Candidate]]:
    """(table, candidate) pairs a file offers: by its name, else by its sheet names."""
    table_name, loose = table_for_name(entry.stem)
    if table_name is not None and not loose:
        return [(table_name, Candidate(entry))]
    sheets = _workbook_tables(entry, limits) if entry.suffix.lower() in EXCEL_EXTS else []
    if sheets:
        return [(t, Candidate(entry, sheet, loose)) for t, sheet, loose in sheets]
    return [(table_name, Candidate(entry, loose=True))] if table_name is not None else []


def find_table_files(
    root: Path, mappings: dict[str, TableMapping], wanted: list[str], mapping_name: str | None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[dict[str, Candidate], list[str], dict[str, str]]:
    """(table -> candidate for each table found, what the folder holds that is not read, and
    file -> table for the files among them that match a table another file was read for).

    ``root`` is the resolved data folder. A file named in the mapping wins; otherwise an exact
    name match; a loose match only for a table no file matches exactly. Two candidates at the
    same level are a LoadError. Every data file is confined to the export (paths.confined), and
    files are compared by resolved path: a link to a file inside counts as that file, once.
    """
    source = mapping_name or "mapping"
    named = {
        t: Candidate(named_input(root, m.file, f"{source}: tables.{t}.file"))
        for t, m in mappings.items() if m.file is not None
    }
    named_paths = {c.path for c in named.values()}
    offers: dict[str, list[Candidate]] = {}
    listed: list[str] = []
    seen: set[Path] = set(named_paths)
    for entry in sorted(root.iterdir()):
        if entry.name.lower() in MAPPING_NAMES:
            continue  # reported by the loader: applied only when the auditor names it
        if entry.is_dir() and not entry.is_symlink():
            listed.append(entry.name + "/")  # NOTE: sub-folders are never read; say so
            continue
        if not _is_candidate_file(entry):
            listed.append(entry.name)  # NOTE: every file offered is accounted for, read or not
            continue
        real = confined(root, entry)
        if real in seen:
            continue
        seen.add(real)
        if entry.name.startswith((".", "~$")):
            listed.append(entry.name)  # a hidden or lock file is not read, but it is listed
            continue
        pairs = _candidates_in(real if entry.is_symlink() else entry, limits)
        for table_name, candidate in pairs:
            offers.setdefault(table_name, []).append(candidate)
        if not pairs:
            listed.append(entry.name)
    found = {t: c for t, c in named.items() if t in wanted}
    for table_name in wanted:
        if table_name in found or table_name not in offers:
            continue
        exact = [c for c in offers[table_name] if not c.loose]
        chosen = exact or offers[table_name]
        if len(chosen) > 1:
            raise LoadError(
                f"{root.name}: several files match table '{table_name}': "
                f"{', '.join(c.label for c in chosen)}; keep one, or name the one to use under "
                f"tables.{table_name}.file in a mapping file given with --mapping",
                code="ambiguous-table",
            )
        found[table_name] = chosen[0]
    # NOTE: a file that matched a table but lost to a better match is listed, never dropped.
    read = {c.path.name for c in found.values()}
    passed_over = {c.path.name: t for t in wanted for c in offers.get(t, [])
                   if c.path.name not in read and t in found}
    return found, sorted(set(listed) | set(passed_over)), passed_over


def _workbook_tables(path: Path, limits: Limits) -> list[tuple[str, str, bool]]:
    """(table, sheet, loosely) for each sheet (hidden ones too) named after a table; two sheets
    for one table are both offered, so they are refused like two files."""
    try:
        with path.open("rb") as handle:
            if sniff_format(handle.read(8)) != "excel":
                return []
    except OSError:  # an unreadable file is simply not a table file
        return []
    titles = sheet_titles(path, limits) or []  # NOTE: LoadError past a cap (a zip bomb)
    return [(table_name, title, loose) for title in titles
            for table_name, loose in [table_for_name(title)] if table_name is not None]
