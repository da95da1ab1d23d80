"""Raw reading: tell a file's real format from its first bytes, refuse what cannot be a table
(or is past a cap of audit.load.limits) with a one-line LoadError, and hand the file to the
CSV, Excel or Parquet reader.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from audit.contract import Table
from audit.load.limits import DEFAULT_LIMITS, Limits, over_limit, size_text
from audit.load.mapping import TableMapping
from audit.load.read.csv import read_csv_raw
from audit.load.read.excel import read_excel_raw
from audit.load.read.parquet import read_parquet_raw
from audit.load.types import DataIssue, LoadError, RawTable, file_sha256

TEXT_EXTS = {".csv", ".tsv", ".txt"}
PARQUET_EXTS = {".parquet", ".pq"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}


def sniff_format(head: bytes) -> str | None:
    """The container format the first bytes reveal, or None for (presumably) text."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole2"
    if head.startswith((b"\x1f\x8b", b"7z\xbc\xaf")) or (head[:3] == b"BZh" and head[3:4].isdigit()):
        return "compressed"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<html", b"<!doctype", b"<table", b"<?xml")):
        return "markup"
    return None


def _format_from_extension(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in PARQUET_EXTS:
        return "parquet"
    if ext in EXCEL_EXTS:
        return "excel"
    return "csv"


def read_raw(
    path: Path, t: Table, mapping: TableMapping, limits: Limits = DEFAULT_LIMITS
) -> tuple[RawTable, str]:
    """Read a file of any supported format; returns the raw table and the file's sha256."""
    name = path.name
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror}); check it exists and is "
                        f"readable")
    declared = _format_from_extension(path)
    actual = sniff_format(head)
    if actual == "ole2":
        raise LoadError(f"{name}: legacy Excel 97-2003 or password-protected workbook; open it "
                        f"in Excel and save it as .xlsx (without password) or CSV")
    if actual == "compressed":
        raise LoadError(f"{name}: the file is compressed; extract it and point the audit at the "
                        f"extracted file")
    if actual == "markup":
        raise LoadError(f"{name}: the file is an HTML/XML page, not a data table; open it in Excel "
                        f"and save it as .xlsx or CSV")
    if actual is None and declared != "csv" and b"\x00" in head:
        raise LoadError(f"{name}: not a readable {declared} file (damaged, or another format); "
                        f"export it again")
    actual = actual or "csv"
    if actual == "parquet":
        raw = read_parquet_raw(path, limits)
        digest = file_sha256(path)
    elif actual == "excel":
        raw = read_excel_raw(path, t, mapping, limits)
        digest = file_sha256(path)
    else:
        # NOTE: a text file is read whole into memory: its size is checked before a byte is.
        if size > limits.max_text_bytes:
            raise over_limit(name, f"a text file of {size_text(size)} (cap "
                             f"{size_text(limits.max_text_bytes)})", "max_text_bytes",
                             "too-large", "export the table as Parquet or split it")
        data = _read_bytes(path)
        raw = read_csv_raw(name, data, t, mapping, limits)
        digest = hashlib.sha256(data).hexdigest()
    if actual != declared:
        raw.issues.insert(0, DataIssue(name, t.name, None, None, None,
                                       f"the extension says {declared} but the content is "
                                       f"{actual}; read as {actual}", "format-mismatch"))
    return raw, digest


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc.strerror})")
    except MemoryError:
        raise LoadError(f"{path.name}: the file is too large to load in memory; export it as "
                        f"Parquet")
