"""Delimited text: detect the delimiter, split the file (polars when it is rectangular, Python's
csv module when it is not) and locate the header row.
"""

from __future__ import annotations

import csv
import io

import polars as pl

from audit.contract import Table
from audit.load.headers import HEADER_SEARCH_ROWS, explicit_lookup, find_header_row, header_score
from audit.load.mapping import TableMapping
from audit.load.read.encoding import SAMPLE_BYTES, decode_text
from audit.load.read.records import frame_fetcher, raw_from_records, title_row_issues
from audit.load.types import ROW, LoadError, RawTable

DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(sample: str, table_name: str, explicit: dict[str, str]) -> str:
    """The delimiter under which the first lines hold the best header and a steady field count.

    The header matching contract columns is the strongest evidence (a ';' file with decimal commas
    splits into many fields on ',' too); then how steady the field count is, then how many fields.
    """
    lines = sample.splitlines()[:HEADER_SEARCH_ROWS * 2]
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut
    best, best_score = ",", (0, False, 0.0, 0)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines, delimiter=delimiter, strict=False) if r]
        except csv.Error:
            continue
        if not records:
            continue
        counts = [len(r) for r in records]
        mode = max(set(counts), key=counts.count)
        header = max(header_score(r, table_name, explicit) for r in records[:HEADER_SEARCH_ROWS])
        score = (header, mode > 1, round(counts.count(mode) / len(counts), 1), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_raw(name: str, data: bytes, t: Table, mapping: TableMapping) -> RawTable:
    """Decode, split and locate the header of a delimited text file; ragged rows are rejected."""
    text, encoding, lossy = decode_text(name, data, t.name, mapping.encoding)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    delimiter = detect_delimiter(text[:SAMPLE_BYTES], t.name, explicit_lookup(mapping))
    if encoding in ("utf-8", "utf-8-sig") and not lossy and not text.startswith("\ufeff"):
        utf8 = data[3:] if encoding == "utf-8-sig" else data
    else:
        utf8 = text.lstrip("\ufeff").encode("utf-8")
    frame = _read_rectangular_csv(utf8, delimiter)
    if frame is not None:
        raw = _raw_from_rectangular(name, frame, t, mapping)
    else:
        raw = _raw_from_python_csv(name, text.lstrip("\ufeff"), delimiter, t, mapping)
    raw.encoding, raw.lossy_text = encoding, lossy
    return raw


def _read_rectangular_csv(utf8: bytes, delimiter: str) -> pl.DataFrame | None:
    """Fast path: polars reads every field as text; None unless every record has the same width.

    polars pads short records silently, so the width is verified by counting delimiters: in a
    rectangular file the separators number (width - 1) per record, plus those inside quoted values.
    """
    try:
        frame = pl.read_csv(
            io.BytesIO(utf8), has_header=False, separator=delimiter, infer_schema=False,
            empty_string_is_null=False, quote_char='"', raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # noqa: BLE001 - any polars failure sends the file to the careful reader
        return None
    if frame.width == 0:
        return None
    separators = utf8.count(delimiter.encode())
    inside = 0
    if b'"' in utf8 and separators:
        inside = frame.select(
            pl.sum_horizontal(pl.col(c).str.count_matches(delimiter, literal=True).sum()
                              for c in frame.columns)
        ).item() or 0
    if separators - inside != (frame.width - 1) * frame.height:
        return None
    return frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})


def _raw_from_rectangular(
    name: str, frame: pl.DataFrame, t: Table, mapping: TableMapping
) -> RawTable:
    head = [list(r) for r in frame.head(HEADER_SEARCH_ROWS).rows()]
    header_at = find_header_row(head, t.name, explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: no header row (the file holds only blank lines); export the "
                        f"table again with a header row")
    headers = [h or "" for h in head[header_at]]
    issues = title_row_issues(name, t.name, head[:header_at], header_at)
    cols = [f"c{i}" for i in range(frame.width)]
    data = frame.with_row_index(ROW, offset=1).slice(header_at + 1)
    data = data.with_columns(pl.col(ROW).cast(pl.Int64)).filter(
        ~pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.len_bytes() == 0) for c in cols)
    )
    return RawTable(headers, frame_fetcher(data), "csv", issues=issues)


def _raw_from_python_csv(
    name: str, text: str, delimiter: str, t: Table, mapping: TableMapping
) -> RawTable:
    """Careful path for irregular files: Python's csv module, one record at a time."""
    # NOTE: the whole file is in memory already, so a field may be as long as the file.
    csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, 2**31 - 1)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise LoadError(f"{name}: row {reader.line_num}: {exc}; check the quoting of that row")
    header_at = find_header_row(records, t.name, explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: no header row (the file holds only blank lines); export the "
                        f"table again with a header row")
    headers = records[header_at]
    return raw_from_records(name, records, header_at, headers, t, "csv", delimiter)
