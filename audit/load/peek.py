"""Peek at an unknown export for `audit init`: the first rows of every file (and every sheet), read
through the loader's own guards (confinement, format sniffing, encodings, caps), never a whole
file: a multi-gigabyte export is surveyed in seconds.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from audit.load.discover import MAPPING_NAMES
from audit.load.headers import HEADER_SEARCH_ROWS, is_blank
from audit.load.limits import DEFAULT_LIMITS, Limits, over_limit
from audit.load.paths import confined
from audit.load.read import EXCEL_EXTS, PARQUET_EXTS, TEXT_EXTS, sniff_format
from audit.load.read.csv import _field_limit, detect_delimiter
from audit.load.read.encoding import SAMPLE_BYTES, decode_text
from audit.load.types import LoadError, first_line

PEEK_ROWS = 200  # rows sampled per file or sheet: enough to see a header and its values
# NOTE: an export has a few dozen tables; a folder of thousands of files is not surveyed whole
# (each costs a guess against every table), the rest is listed as not read.
MAX_FILES = 200

_REFUSED_FORMATS = {
    "ole2": "legacy Excel 97-2003 or password-protected workbook; save it as .xlsx or CSV",
    "compressed": "compressed; extract it into the export folder",
    "markup": "an HTML/XML page, not a data table; save it as .xlsx or CSV",
}


@dataclass
class Sample:
    """The first rows of one file or sheet, as text cells."""

    file: str  # the file's name in the export folder
    sheet: str | None
    rows: list[list[str | None]]
    header_at: int = 0  # index of the header row in ``rows``

    @property
    def label(self) -> str:
        return self.file + (f" (sheet {self.sheet})" if self.sheet else "")

    @property
    def headers(self) -> list[str]:
        return ["" if h is None else str(h) for h in self.rows[self.header_at]]

    def column_values(self, index: int) -> list[str]:
        """The non-blank values under header ``index`` in the sampled rows."""
        return [str(r[index]).strip() for r in self.rows[self.header_at + 1:]
                if index < len(r) and r[index] is not None and str(r[index]).strip()]


@dataclass
class Survey:
    """What the export folder holds: samples of its tables, and every entry not read, with why."""

    samples: list[Sample] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, why it was not read)


def survey(root: Path, limits: Limits = DEFAULT_LIMITS) -> Survey:
    """Sample every data file directly in ``root`` (resolved); list everything else with why."""
    result = Survey()
    seen: set[Path] = set()
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.lower() in MAPPING_NAMES:
            # NOTE: the auditee's own mapping is the export configuring the audit: never read.
            result.skipped.append((name, "a mapping inside the export is never read; the "
                                         "auditor's mapping is the file init writes"))
            continue
        if entry.is_dir() and not entry.is_symlink():
            result.skipped.append((name + "/", "sub-folders are not read"))
            continue
        if entry.suffix.lower() not in TEXT_EXTS | PARQUET_EXTS | EXCEL_EXTS:
            result.skipped.append((name, "not a data file (.csv, .tsv, .txt, .xlsx, .parquet)"))
            continue
        if name.startswith((".", "~$")):
            result.skipped.append((name, "a hidden or lock file"))
            continue
        if len(seen) >= MAX_FILES:
            result.skipped.append((name, f"init samples at most {MAX_FILES:,} files; name "
                                         f"this one under tables.<table>.file if it holds one"))
            continue
        try:
            real = confined(root, entry)
            if real in seen:
                result.skipped.append((name, "another name for a file already read"))
                continue
            seen.add(real)
            result.samples.extend(_peek(real, name, limits))
        except LoadError as err:
            why = str(err)
            result.skipped.append((name, why[len(name) + 2:] if why.startswith(name + ": ")
                                   else why))
    return result


def _peek(path: Path, name: str, limits: Limits) -> list[Sample]:
    try:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror})") from None
    kind = sniff_format(head[:8]) if head else None
    if kind in _REFUSED_FORMATS:
        raise LoadError(f"{name}: {_REFUSED_FORMATS[kind]}")
    try:
        if kind == "parquet":
            samples = [_peek_parquet(path, name, limits)]
        elif kind == "excel":
            samples = _peek_workbook(path, name, limits)
        else:
            samples = [_peek_text(head, size, name, limits)]
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile file is listed, never a traceback
        raise LoadError(f"{name}: cannot read the file ({type(exc).__name__}: "
                        f"{first_line(exc)})") from None
    kept = []
    for sample in samples:
        sample.rows = [r for r in sample.rows if not is_blank(r)]
        if sample.rows:
            sample.header_at = _header_row(sample.rows)
            kept.append(sample)
    return kept


def _peek_text(head: bytes, size: int, name: str, limits: Limits) -> Sample:
    truncated = size > len(head)
    if truncated and b"\x00" in head[:512]:  # UTF-16/32: whole code units, never half of one
        head = head[:len(head) - len(head) % 4]
    elif truncated:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        head = head[:cut] if cut > 0 else head  # NOTE: never decode half a character
    decoded = decode_text(name, head, "platform")
    text = decoded.text.lstrip("\ufeff")
    delimiter = detect_delimiter(text, "platform", {})
    rows: list[list[str | None]] = []
    with _field_limit(limits.max_cell_chars + 1):
        try:
            # NOTE: newline="" as the loader reads: a line break inside quotes stays in the cell
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
            for number, record in enumerate(reader, start=1):
                if len(record) > limits.max_columns:
                    raise over_limit(name, f"row {number} has {len(record):,} columns",
                                     "max_columns", "too-many-columns",
                                     "keep only the table's columns in the file")
                rows.append([c if c != "" else None for c in record])
                if len(rows) >= PEEK_ROWS:
                    break
        except csv.Error as exc:  # a cell past max_cell_chars, a NUL byte
            raise LoadError(f"{name}: cannot split the file ({first_line(exc)}); check it is a "
                            f"delimited text export") from None
    if truncated and len(rows) > 1 and len(rows) < PEEK_ROWS:
        rows.pop()  # the last line read may be cut short
    return Sample(name, None, rows)


def _peek_workbook(path: Path, name: str, limits: Limits) -> list[Sample]:
    from audit.load.read.excel import _cell_text
    from audit.load.read.workbook import open_workbook, sheet_rows

    workbook = open_workbook(path, limits)
    try:
        samples = []
        for sheet in workbook.worksheets:
            rows = []
            for row in sheet_rows(sheet, name, limits):
                rows.append([_cell_text(v) for v in row])
                if len(rows) >= PEEK_ROWS:
                    break
            samples.append(Sample(name, sheet.title, rows))
        return samples
    finally:
        workbook.close()


def _peek_parquet(path: Path, name: str, limits: Limits) -> Sample:
    import polars as pl

    schema = pl.read_parquet_schema(path)
    if len(schema) > limits.max_columns:
        raise over_limit(name, f"{len(schema):,} columns", "max_columns", "too-many-columns",
                         "export only the table's columns")
    frame = pl.scan_parquet(path).head(PEEK_ROWS).collect()
    rows = [list(schema)] + [[None if v is None else str(v) for v in row]
                             for row in frame.iter_rows()]
    return Sample(name, None, rows)


def _header_row(rows: list[list[str | None]]) -> int:
    """The header among the first rows: the first with the most text cells (a title line above
    it has one; data rows hold numbers and dates)."""
    def texts(row: list[str | None]) -> int:
        return sum(1 for c in row if c is not None and str(c).strip()
                   and not _numeric(str(c)))
    scored = [(texts(r), -i) for i, r in enumerate(rows[:HEADER_SEARCH_ROWS])]
    return -max(scored)[1]


def _numeric(text: str) -> bool:
    stripped = text.strip().replace(",", "").replace("-", "").replace("/", "").replace(":", "")
    return stripped.replace(".", "").replace(" ", "").isdigit()
