"""The loader's shared types: the public results (Export, LoadedTable, DataIssue, LoadError),
the raw table every reader returns, and the small helpers all rooms of the package use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl

from audit.errors import InputError
from audit.vocab import ROW, UNREADABLE  # noqa: F401 - the engine's column names, one home

ISSUE_VALUE_CHARS = 200  # issues keep a prefix of a huge cell, never the whole cell
DEFAULT_ZONE = "UTC"  # the export's time zone when neither the auditor nor mapping.yaml names one


class LoadError(InputError):
    """A fatal input problem; the message is one line naming the file and what to do."""

    code = "unreadable-input"


# The kinds of data issue, code -> what it means (the closed list data_issues.csv uses).
ISSUE_CODES: dict[str, str] = {
    "data-issue": "a data-quality problem of no more specific kind",
    "unreadable-cell": "a cell that does not parse as its column's type",
    "ragged-row": "a row with more or fewer fields than the header; not loaded",
    "title-row": "a row above the header, skipped",
    "format-mismatch": "the file's content is another format than its extension says",
    "sheet-not-loaded": "a non-empty sheet of a workbook in the export that no table was read from",
    "mixed-encoding": "a line of a CSV file in another text encoding than the rest of the file",
    "loose-match": "a file or sheet taken as a table from part of its name",
    "header-note": "a header the mapping names is not in the file",
    "column-note": "a choice the loader made for a whole column (day order, decimal mark, zone)",
    "missing-required": "a required cell is empty",
    "not-in-vocabulary": "a value outside the column's closed list of values",
    "out-of-bounds": "a value outside the column's bounds",
    "duplicate-key": "two rows with the same key",
    "key-normalised": "an identifier read without its invisible, full-width or compatibility characters",
    "key-lookalike": "an identifier in another script than the column's other ids (a look-alike?)",
    "file-not-loaded": "a file named like a table that another file was read for; its rows are not audited",
    "orphan-key": "an identifier naming no record of the table it refers to; the row is set aside",
    "contract-check": "another contract check failed",
    "table-missing": "a table the profile's rules need is not in the export; those rules are not tested",
}


@dataclass(slots=True)
class DataIssue:
    """A non-fatal data-quality problem in one cell or row (or a whole column when row is None).

    ``row`` is the row number a spreadsheet shows: in CSV and Excel the header is row 1 and the
    first data row row 2; in Parquet the first data row is row 1.
    """

    file: str
    table: str
    row: int | None
    column: str | None
    value: str | None
    problem: str
    code: str = "data-issue"  # one of ISSUE_CODES: what kind of problem, for counting and tests


@dataclass
class LoadedTable:
    """One contract table read from one file.

    ``frame`` holds every row the file's layout let the loader place in columns: rows_read =
    frame.height + rows_unreadable (ragged rows, not loaded at all). Of the loaded rows,
    ``rows_partly_unreadable`` have at least one cell that would not parse: the cell is null and
    named in the frame's ``UNREADABLE`` column, and the rest of the row is checked.
    """

    name: str
    path: Path
    sha256: str
    format: str
    encoding: str | None
    rows_read: int
    rows_unreadable: int
    frame: pl.DataFrame
    issues: list[DataIssue]
    extra_columns: list[str]
    column_map: dict[str, str]
    rows_partly_unreadable: int = 0
    relpath: str = ""  # the file's path relative to the export folder (set by load_export)
    replaced: list[dict] = field(default_factory=list)  # the mapping's value replacements
    sheet: str | None = None  # the workbook sheet the table was read from (Excel only)


@dataclass(frozen=True)
class UnloadedSheet:
    """A sheet of a workbook in the export that no table was read from, listed so that every
    sheet offered is accounted for. ``rows`` counts its non-blank rows (None: the workbook could
    not be opened, then ``sheet`` is None too); ``state`` is Excel's visible, hidden or
    veryHidden."""

    file: str
    sheet: str | None
    rows: int | None
    state: str
    reason: str
    holds: str | None = None  # the table whose header and rows it carries, though not read


@dataclass
class Export:
    """Every table found in an export directory.

    ``timezone`` is the export's zone (IANA name): every date-time in the frames is wall-clock
    time there. ``timezone_source`` says who chose it: "option" (the auditor), "mapping"
    (mapping.yaml) or "default" (the profile's default).
    """

    root: Path
    tables: dict[str, LoadedTable]
    issues: list[DataIssue]
    unrecognised_files: list[str]
    timezone: str = DEFAULT_ZONE
    timezone_source: str = "default"
    notes: list[str] = field(default_factory=list)  # what the loader did not apply, and why
    mapping: dict | None = None  # the mapping file: which, applied or not, sha256, replacements
    unloaded_sheets: list[UnloadedSheet] = field(default_factory=list)
    passed_over: dict[str, str] = field(default_factory=dict)  # file -> table another file was read for


@dataclass
class RawTable:
    """A file's header and its data as text (or native Parquet) columns ``c0..cN`` plus ``_row``."""

    headers: list[str]
    fetch: Callable[[list[int]], pl.DataFrame]
    format: str
    encoding: str | None = None
    issues: list[DataIssue] = field(default_factory=list)
    rows_rejected: int = 0  # rows unreadable before typing (ragged)
    lossy_text: bool = False  # undecodable bytes were replaced by U+FFFD
    sheet: str | None = None  # the sheet read, for a workbook


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (never whole into memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def clip(value: object) -> str | None:
    """A cell's text for an issue: a prefix of a huge cell, never the whole cell."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= ISSUE_VALUE_CHARS else text[:ISSUE_VALUE_CHARS] + "…"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for one-line LoadErrors."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
