"""Delimited text: detect the delimiter, split the file (polars when it is rectangular, Python's
csv module when it is not) and locate the header row.
"""

from __future__ import annotations

import contextlib
import csv
import io

import polars as pl

from audit.contract import Table
from audit.load.headers import HEADER_SEARCH_ROWS, explicit_lookup, find_header_row, header_score
from audit.load.limits import DEFAULT_LIMITS, Limits, cell_too_long, over_limit
from audit.load.mapping import TableMapping
from audit.load.read.encoding import SAMPLE_BYTES, decode_text
from audit.load.read.records import frame_fetcher, raw_from_records, title_row_issues
from audit.load.types import ROW, DataIssue, LoadError, RawTable, clip

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


def read_csv_raw(
    name: str, data: bytes, t: Table, mapping: TableMapping, limits: Limits = DEFAULT_LIMITS
) -> RawTable:
    """Decode, split and locate the header of a delimited text file; ragged rows are rejected.

    The caps are checked before any frame is built: the line count from the bytes, the width
    from the first lines; a cell's length as the fields are split.
    """
    lines = max(data.count(b"\n"), data.count(b"\r")) + 1
    if lines > limits.max_rows:
        raise over_limit(name, f"{lines:,} lines", "max_rows", "too-many-rows",
                         "split the table over several files or export it as Parquet")
    decoded = decode_text(name, data, t.name, mapping.encoding)
    text, encoding, lossy = decoded.text, decoded.encoding, decoded.lossy
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    delimiter = detect_delimiter(text[:SAMPLE_BYTES], t.name, explicit_lookup(mapping))
    _check_width(name, text[:SAMPLE_BYTES], delimiter, lines, limits)
    if encoding in ("utf-8", "utf-8-sig") and not lossy and not decoded.mixed:
        utf8 = data[3:] if encoding == "utf-8-sig" else data
        if utf8.startswith(b"\xef\xbb\xbf"):
            utf8 = text.lstrip("\ufeff").encode("utf-8")
    else:
        utf8 = text.lstrip("\ufeff").encode("utf-8")
    frame = _read_rectangular_csv(utf8, delimiter)
    del utf8
    if frame is not None:
        _check_cells(name, frame, limits)
        raw = _raw_from_rectangular(name, frame, t, mapping)
    else:
        raw = _raw_from_python_csv(name, text.lstrip("\ufeff"), delimiter, t, mapping, limits)
    raw.encoding, raw.lossy_text = encoding, lossy
    raw.issues[:0] = [
        DataIssue(name, t.name, line, None, clip(value),
                  f"line {line} is {other} text while the rest of the file is {encoding}; read "
                  f"as {other}: check its values, and export the file again in one encoding",
                  "mixed-encoding")
        for line, other, value in decoded.mixed
    ]
    return raw


def _check_width(name: str, sample: str, delimiter: str, lines: int, limits: Limits) -> None:
    """Refuse a file whose first lines are wider than max_columns (or whose lines x width pass
    max_cells) from the sample alone, before a frame is built."""
    head = sample.splitlines()[:HEADER_SEARCH_ROWS * 2]
    with _field_limit(max(len(sample), limits.max_cell_chars) + 1):
        try:
            widths = [len(r) for r in csv.reader(head, delimiter=delimiter, strict=False)]
        except csv.Error:
            return
    widest = max(widths, default=0)
    if widest > limits.max_columns:
        line = widths.index(widest) + 1
        raise over_limit(name, f"line {line} has more than {limits.max_columns:,} fields",
                         "max_columns", "too-many-columns", "export only the table's columns")
    if widest * lines > limits.max_cells:
        raise over_limit(name, f"{lines:,} lines of {widest:,} fields", "max_cells",
                         "too-many-cells", "split the table over several files or export it as "
                         "Parquet")


def _check_cells(name: str, frame: pl.DataFrame, limits: Limits) -> None:
    """Refuse the file when a cell is longer than max_cell_chars, naming the first such cell."""
    longest = frame.select(pl.all().str.len_chars().max()).row(0)
    for index, length in enumerate(longest):
        if length is not None and length > limits.max_cell_chars:
            column = frame.columns[index]
            at = frame.select(pl.col(column).str.len_chars().arg_max()).item()
            raise cell_too_long(name, at + 1, str(index + 1), length)


@contextlib.contextmanager
def _field_limit(chars: int):
    """csv's field-size limit (process-wide) set for one read, then put back."""
    before = csv.field_size_limit(min(chars, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(before)


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
    name: str, text: str, delimiter: str, t: Table, mapping: TableMapping, limits: Limits
) -> RawTable:
    """Careful path for irregular files: Python's csv module, one record at a time."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    records = []
    # NOTE: csv's own field-size limit is the cell cap: a longer field stops the split there.
    with _field_limit(limits.max_cell_chars):
        try:
            for record in reader:
                if len(record) > limits.max_columns:
                    raise over_limit(name, f"row {reader.line_num} has {len(record):,} fields",
                                     "max_columns", "too-many-columns",
                                     "export only the table's columns")
                records.append(record)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise cell_too_long(name, reader.line_num, None,
                                    f"more than {limits.max_cell_chars:,}") from None
            raise LoadError(f"{name}: row {reader.line_num}: {exc}; check the quoting of that "
                            f"row") from None
    header_at = find_header_row(records, t.name, explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: no header row (the file holds only blank lines); export the "
                        f"table again with a header row")
    headers = records[header_at]
    return raw_from_records(name, records, header_at, headers, t, "csv", delimiter)
