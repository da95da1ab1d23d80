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
* Time-zone offsets: a column whose values carry one single offset keeps the wall-clock time and
  drops the offset (so it stays comparable with the naive times of other tables); a column mixing
  several offsets is converted to naive UTC and reported. A DATE column always keeps the date as
  written.
* Entirely blank rows carry no data: they are skipped and not counted in ``rows_read``.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from audit import contract
from audit.contract import BOOL, DATE, DATETIME, FLOAT, INT, MONEY, RATE, STRING, Column, Table

ROW = "_row"
MAPPING_NAMES = ("mapping.yaml", "mapping.yml")
TEXT_EXTS = {".csv", ".tsv", ".txt"}
PARQUET_EXTS = {".parquet", ".pq"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
# .txt is often a readme: it is loaded when its stem names a table, but never listed as unknown.
LISTED_EXTS = (TEXT_EXTS - {".txt"}) | PARQUET_EXTS | EXCEL_EXTS
NULL_TOKENS = ("", "na", "n/a", "#n/a", "null", "none", "nan", "nat", "-", "--", "—", "–")
ISSUE_VALUE_CHARS = 200  # issues keep a prefix of a huge cell, never the whole cell
HEADER_SEARCH_ROWS = 20
SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
TYPE_WORDS = {
    STRING: "text", INT: "integer", FLOAT: "number", MONEY: "money", RATE: "rate",
    DATE: "date", DATETIME: "date-time", BOOL: "true/false",
}


# ----------------------------------------------------------------------------- public types


class LoadError(Exception):
    """A fatal input problem; the message is one line naming the file and what to do."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


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


@dataclass
class LoadedTable:
    """One contract table read from one file; ``frame`` holds only the readable rows."""

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


@dataclass
class Export:
    """Every table found in an export directory."""

    root: Path
    tables: dict[str, LoadedTable]
    issues: list[DataIssue]
    unrecognised_files: list[str]


# ----------------------------------------------------------------------------- mapping file


class TableMapping(BaseModel):
    """How one table's file departs from the contract (``tables.<name>`` in mapping.yaml).

    tables:
      clients:
        file: 客户信息.xlsx            # default: <table>.csv|.parquet|.xlsx or an alias
        sheet: 客户                   # default: a sheet named after the table, else the best match
        columns: {客户号: client_id}   # header in the file -> contract column
        values: {category: {零售: retail, 专业: professional}}
        dayfirst: false               # a/b/yyyy dates are month-first
        decimal_comma: true           # 1.234,56
        encoding: big5                # CSV text encoding, when detection gets it wrong
    """

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = {}  # header in the file -> contract column
    values: dict[str, dict[str, str]] = {}  # contract column -> {value in the file: value to use}
    dayfirst: bool | None = None
    decimal_comma: bool | None = None
    encoding: str | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _headers_as_text(cls, value: Any) -> Any:
        # NOTE: YAML reads a header like 2024 or yes as a number or a bool; the user meant text.
        if isinstance(value, dict):
            return {_yaml_text(k): _yaml_text(v) if v is not None else v for k, v in value.items()}
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                _yaml_text(col): (
                    {_yaml_text(k): _yaml_text(v) for k, v in sub.items()}
                    if isinstance(sub, dict) else sub
                )
                for col, sub in value.items()
            }
        return value


class MappingFile(BaseModel):
    """The whole mapping.yaml."""

    model_config = ConfigDict(extra="forbid")

    tables: dict[str, TableMapping | None] = {}


def _yaml_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def read_mapping(path: Path) -> dict[str, TableMapping]:
    """Parse and validate a mapping file; every problem is a LoadError naming the key."""
    name = path.name
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the mapping file ({exc.strerror}); check the path")
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw_bytes.decode("gb18030", errors="replace")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LoadError(f"{name}: not valid YAML{where}; fix the syntax")
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise LoadError(f"{name}: expected a 'tables:' section at the top level")
    try:
        parsed = MappingFile.model_validate(document)
    except ValidationError as exc:
        raise LoadError(f"{name}: {_describe_validation_error(exc)}") from None
    mappings = {t: m or TableMapping() for t, m in parsed.tables.items()}
    for table_name, mapping in mappings.items():
        check_table_mapping(name, table_name, mapping)
    return mappings


def _describe_validation_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(TableMapping.model_fields) if len(error["loc"]) > 1 else "tables"
        return f"unknown key '{location}'; allowed keys: {allowed}"
    return f"{location}: {error['msg']}"


def check_table_mapping(source: str, table_name: str, mapping: TableMapping) -> None:
    """Reject a mapping that names an unknown table, contract column or categorical value."""
    if table_name not in contract.TABLES_BY_NAME:
        raise LoadError(
            f"{source}: unknown table '{table_name}' under tables; "
            f"allowed: {', '.join(contract.TABLES_BY_NAME)}"
        )
    t = contract.TABLES_BY_NAME[table_name]
    if mapping.encoding is not None:
        try:
            codecs.lookup(mapping.encoding)
        except LookupError:
            raise LoadError(f"{source}: tables.{table_name}.encoding: unknown encoding "
                            f"{mapping.encoding!r}; use e.g. utf-8, gb18030, big5, cp1252") from None
    allowed_columns = ", ".join(t.column_names)
    for header, target in mapping.columns.items():
        if target not in t.column_names:
            raise LoadError(
                f"{source}: tables.{table_name}.columns.{header}: '{target}' is not a column of "
                f"table {table_name}; allowed: {allowed_columns} "
                f"(entries read <header in your file>: <contract column>)"
            )
    for column_name, replacements in mapping.values.items():
        if column_name not in t.column_names:
            raise LoadError(
                f"{source}: tables.{table_name}.values: '{column_name}' is not a column of table "
                f"{table_name}; allowed: {allowed_columns}"
            )
        allowed_values = t.column(column_name).allowed
        for source_value, target in replacements.items():
            if allowed_values and target not in allowed_values:
                raise LoadError(
                    f"{source}: tables.{table_name}.values.{column_name}.{source_value}: "
                    f"'{target}' is not allowed; allowed: {', '.join(allowed_values)}"
                )


# ----------------------------------------------------------------------------- header matching


_SEPARATOR_RUN = re.compile(r"[\s\-]+")
_UNDERSCORE_RUN = re.compile(r"_+")


def normalise_header(text: object) -> str:
    """Canonical form of a header (or table name) for matching: NFKC, lower case, underscores."""
    value = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    # NOTE: templates mark required headers with '*' and some tools quote headers twice.
    value = value.strip().strip("\"'*").strip().lower()
    value = _SEPARATOR_RUN.sub("_", value)
    return _UNDERSCORE_RUN.sub("_", value).strip("_")


def _compact(key: str) -> str:
    return key.replace("_", "")


@lru_cache(maxsize=None)
def _header_lookup(table_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(exact, compact) maps from a normalised header to its contract column.

    Names beat aliases; a key that would point at two columns is left out (never guessed).
    The compact map (underscores removed) catches ``ClientID`` / ``clientId`` style headers.
    """
    t = contract.table(table_name)
    exact: dict[str, str] = {normalise_header(c.name): c.name for c in t.columns}
    clashes: set[str] = set()
    for col in t.columns:
        for alias in col.aliases:
            key = normalise_header(alias)
            if key in exact and exact[key] != col.name and key != normalise_header(exact[key]):
                clashes.add(key)
            exact.setdefault(key, col.name)
    for key in clashes:
        exact.pop(key, None)
    compact: dict[str, str] = {}
    compact_clashes: set[str] = set()
    for key, name in exact.items():
        short = _compact(key)
        if short in compact and compact[short] != name:
            compact_clashes.add(short)
        compact.setdefault(short, name)
    for short in compact_clashes:
        compact.pop(short, None)
    return exact, compact


def match_header(header: object, table_name: str, explicit: dict[str, str]) -> str | None:
    """The contract column a header stands for, or None."""
    if header is None:
        return None
    key = normalise_header(header)
    if not key:
        return None
    if key in explicit:
        return explicit[key]
    exact, compact = _header_lookup(table_name)
    return exact.get(key) or compact.get(_compact(key))


def _explicit_lookup(mapping: TableMapping) -> dict[str, str]:
    return {normalise_header(src): dst for src, dst in mapping.columns.items()}


@dataclass
class HeaderMatch:
    """How the headers of a file map onto a contract table."""

    by_index: dict[int, str]  # position in the file -> contract column
    column_map: dict[str, str]  # source header -> contract column
    extra_columns: list[str]
    notes: list[DataIssue]


def match_headers(
    headers: list[str], t: Table, mapping: TableMapping, file: str
) -> HeaderMatch:
    """Map file headers to contract columns; LoadError when a required column is missing."""
    explicit = _explicit_lookup(mapping)
    by_index: dict[int, str] = {}
    taken: dict[str, int] = {}
    # NOTE: explicit mapping first, so a header it names wins over one matched by alias.
    for i, header in enumerate(headers):
        key = normalise_header(header)
        if key and key in explicit:
            _claim(by_index, taken, i, explicit[key], headers, t, file)
    for i, header in enumerate(headers):
        if i in by_index:
            continue
        target = match_header(header, t.name, {})
        if target is None:
            continue
        if target in taken and normalise_header(headers[taken[target]]) in explicit:
            continue  # the mapping chose another header for this column
        _claim(by_index, taken, i, target, headers, t, file)
    extras = [_header_label(h, i) for i, h in enumerate(headers) if i not in by_index]
    _require_columns(t, taken, extras, file)
    present = {normalise_header(h) for h in headers}
    notes = [
        DataIssue(file, t.name, None, target, src,
                  f"mapping names header {src!r} for column '{target}' but the file has no such "
                  f"header")
        for src, target in mapping.columns.items()
        if normalise_header(src) not in present and target not in taken
    ]
    column_map = {headers[i]: name for i, name in by_index.items()}
    return HeaderMatch(by_index, column_map, extras, notes)


def _claim(by_index, taken, index, target, headers, t: Table, file: str) -> None:
    if target in taken:
        first = headers[taken[target]]
        raise LoadError(
            f"{file}: headers {first!r} and {headers[index]!r} both match column '{target}' "
            f"(table {t.name}); name the one to use under tables.{t.name}.columns in mapping.yaml"
        )
    by_index[index] = target
    taken[target] = index


def _header_label(header: str, index: int) -> str:
    return header if header.strip() else f"(blank header, column {index + 1})"


def _require_columns(t: Table, taken: dict[str, int], extras: list[str], file: str) -> None:
    missing = [c.name for c in t.columns if c.required and c.name not in taken]
    if not missing:
        return
    also = f" (also {', '.join(repr(m) for m in missing[1:])})" if missing[1:] else ""
    hint = ""
    unmatched = [h for h in extras if not h.startswith("(blank header")]
    close = difflib.get_close_matches(missing[0], unmatched, n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif unmatched:
        shown = ", ".join(repr(h) for h in unmatched[:8])
        hint = f"; unmatched headers in the file: {shown}" + (" ..." if len(unmatched) > 8 else "")
    raise LoadError(
        f"{file}: missing required column '{missing[0]}'{also} (table {t.name}); map your "
        f"header to it in mapping.yaml{hint}"
    )


def _header_score(cells: Iterable[object], table_name: str, explicit: dict[str, str]) -> int:
    return len({m for c in cells if (m := match_header(c, table_name, explicit)) is not None})


def find_header_row(
    rows: list[list[str | None]], table_name: str, explicit: dict[str, str]
) -> int | None:
    """Index of the header among the first rows: the first row matching the most contract columns.

    Exports often put a title line or a blank line above the header; without any match the first
    non-blank row is the header (and the missing-column error then names what is missing).
    """
    first = best = None
    best_score = 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _is_blank(row):
            continue
        if first is None:
            first = i
        score = _header_score(row, table_name, explicit)
        if score > best_score:
            best, best_score = i, score
    return best if best is not None else first


def _is_blank(row: Iterable[object]) -> bool:
    # NOTE: only truly empty cells: the fast CSV path cannot afford to strip every cell to check.
    return all(v is None or v == "" for v in row)


# ----------------------------------------------------------------------------- raw reading


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


def _frame_fetcher(frame: pl.DataFrame) -> Callable[[list[int]], pl.DataFrame]:
    return lambda indices: frame.select([f"c{i}" for i in indices] + [ROW])


def _clip(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= ISSUE_VALUE_CHARS else text[:ISSUE_VALUE_CHARS] + "…"


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


def read_raw(path: Path, t: Table, mapping: TableMapping) -> tuple[RawTable, str]:
    """Read a file of any supported format; returns the raw table and the file's sha256."""
    name = path.name
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
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
        raw = read_parquet_raw(path)
        digest = _file_sha256(path)
    elif actual == "excel":
        raw = read_excel_raw(path, t, mapping)
        digest = _file_sha256(path)
    else:
        data = _read_bytes(path)
        raw = read_csv_raw(name, data, t, mapping)
        digest = hashlib.sha256(data).hexdigest()
    if actual != declared:
        raw.issues.insert(0, DataIssue(name, t.name, None, None, None,
                                       f"the extension says {declared} but the content is "
                                       f"{actual}; read as {actual}"))
    return raw, digest


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc.strerror})")
    except MemoryError:
        raise LoadError(f"{path.name}: the file is too large to load in memory; export it as "
                        f"Parquet")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- CSV


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(
    name: str, data: bytes, table_name: str, forced: str | None = None
) -> tuple[str, str, bool]:
    """(text, encoding, lossy) of a CSV file; LoadError when it is empty or not text at all."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise LoadError(f"{name}: the file is empty; export the table again with a header row")
    if forced is not None:
        encoding = codecs.lookup(forced).name
        return _decode_as(name, data, "gb18030" if encoding in _GB_FAMILY else encoding)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
                return _textual(name, text), encoding, "\x00" in text
            except UnicodeDecodeError:
                break
    sample = _sample(data)
    encoding = _utf16_without_bom(sample)
    if encoding is None:
        try:
            return _textual(name, data.decode("utf-8")), "utf-8", b"\x00" in data
        except UnicodeDecodeError:
            encoding = _choose_legacy_encoding(sample, table_name)
    if encoding is None:
        raise LoadError(f"{name}: not readable as text (binary content or an unknown encoding); "
                        f"export the table as UTF-8 CSV, Excel (.xlsx) or Parquet")
    return _decode_as(name, data, encoding)


def _decode_as(name: str, data: bytes, encoding: str) -> tuple[str, str, bool]:
    """Decode with a known encoding; a few bad bytes become U+FFFD (their cells are reported)."""
    try:
        text = data.decode(encoding)
        return _textual(name, text), encoding, "\x00" in text
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") > max(10, len(text) // 100):
            raise LoadError(f"{name}: the file is not valid {encoding} text; save it as UTF-8 CSV "
                            f"or set its encoding in mapping.yaml") from None
        return _textual(name, text), encoding, True
    except LookupError:
        raise LoadError(f"{name}: unsupported text encoding {encoding}; save the file as UTF-8 "
                        f"CSV") from None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16/32 text without a byte-order mark is full of NUL bytes; let the detector say."""
    if sample.count(b"\x00") < len(sample) // 8:
        return None
    encoding = _detect_encoding(sample)
    if encoding and encoding.replace("-", "_").startswith(("utf_16", "utf_32")):
        return encoding
    return None


def _sample(data: bytes) -> bytes:
    if len(data) <= SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, SAMPLE_BYTES)
    return data[: cut + 1] if cut > 0 else data[:SAMPLE_BYTES]


# NOTE: when the detector finds several code pages plausible, the one exports commonly use wins.
_PREFERRED_ENCODINGS = ("gb18030", "cp1252", "big5", "shift_jis", "euc_kr", "cp1251", "latin_1")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz"}
COMMON_CHINESE_SHARE = 0.8


def _detect_encoding(sample: bytes) -> str | None:
    """charset-normalizer's guess, moved to a common sibling code page it also found plausible."""
    from charset_normalizer import from_bytes

    results = list(from_bytes(sample))
    if not results:
        return None
    # NOTE: only the guesses as clean as the best one count: cn ranks ties by language hints
    # that mislead on short samples (French text as mac_latin2).
    tied = [m for m in results if m.chaos <= results[0].chaos + 0.01]
    plausible = {e.lower().replace("-", "_") for m in tied for e in m.could_be_from_charset}
    plausible |= {m.encoding.lower() for m in tied}
    if plausible & _GB_FAMILY:
        return "gb18030"
    for preferred in _PREFERRED_ENCODINGS:
        if preferred in plausible:
            return preferred
    return results[0].encoding


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _common_chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese: GB2312 level-1 or punctuation.

    Level 1 (3,755 characters) covers nearly all real Chinese text; other scripts decoded as
    GB18030 land mostly on rare characters.
    """
    wide = [ch for ch in text if ord(ch) > 0x7F][:20_000]
    if not wide:
        return 0.0
    common = 0
    for ch in wide:
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        common += 0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3
    return common / len(wide)


def _choose_legacy_encoding(sample: bytes, table_name: str) -> str | None:
    """Encoding of a non-UTF-8 file: GB18030 for Chinese text, else the detector's guess.

    GB18030 (a superset of GBK and GB2312) decodes many byte strings; it is chosen when the result
    is mostly common simplified Chinese, or when its headers match the contract better. Big5,
    Shift-JIS or Latin text decoded that way is mostly rare characters, so it keeps its own code.
    """
    guess = _detect_encoding(sample)
    if not _decodes(sample, "gb18030"):
        return guess
    if _common_chinese_share(sample.decode("gb18030")) >= COMMON_CHINESE_SHARE or guess is None:
        return "gb18030"
    if _sample_header_score(sample, "gb18030", table_name) > _sample_header_score(
        sample, guess, table_name
    ):
        return "gb18030"
    return guess


def _sample_header_score(sample: bytes, encoding: str, table_name: str) -> int:
    try:
        lines = sample.decode(encoding, errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    except LookupError:
        return -1
    return max(
        (_header_score(re.split(r"[,;\t|]", line), table_name, {}) for line in lines), default=0
    )


def _textual(name: str, text: str) -> str:
    """The text with stray NULs marked undecodable; LoadError when it is really binary data."""
    sample = text[:SAMPLE_BYTES]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(2, len(sample) // 100):
        raise LoadError(f"{name}: binary content, not a text CSV file; export the table as CSV, "
                        f"Excel (.xlsx) or Parquet")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


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
        header = max(_header_score(r, table_name, explicit) for r in records[:HEADER_SEARCH_ROWS])
        score = (header, mode > 1, round(counts.count(mode) / len(counts), 1), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_raw(name: str, data: bytes, t: Table, mapping: TableMapping) -> RawTable:
    """Decode, split and locate the header of a delimited text file; ragged rows are rejected."""
    text, encoding, lossy = decode_text(name, data, t.name, mapping.encoding)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    delimiter = detect_delimiter(text[:SAMPLE_BYTES], t.name, _explicit_lookup(mapping))
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
    header_at = find_header_row(head, t.name, _explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: no header row (the file holds only blank lines); export the "
                        f"table again with a header row")
    headers = [h or "" for h in head[header_at]]
    issues = _title_row_issues(name, t.name, head[:header_at], header_at)
    cols = [f"c{i}" for i in range(frame.width)]
    data = frame.with_row_index(ROW, offset=1).slice(header_at + 1)
    data = data.with_columns(pl.col(ROW).cast(pl.Int64)).filter(
        ~pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.len_bytes() == 0) for c in cols)
    )
    return RawTable(headers, _frame_fetcher(data), "csv", issues=issues)


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
    header_at = find_header_row(records, t.name, _explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: no header row (the file holds only blank lines); export the "
                        f"table again with a header row")
    headers = records[header_at]
    return _raw_from_records(name, records, header_at, headers, t, "csv", delimiter)


def _raw_from_records(
    name: str, records: list[list[Any]], header_at: int, headers: list[Any], t: Table,
    fmt: str, delimiter: str = ",",
) -> RawTable:
    """Build the text columns from records; records of the wrong width become issues."""
    width = len(headers)
    issues = _title_row_issues(name, t.name, records[:header_at], header_at)
    kept: list[list[Any]] = []
    rows: list[int] = []
    rejected = 0
    for index in range(header_at + 1, len(records)):
        record = records[index]
        if _is_blank(record):
            continue
        if len(record) > width and _is_blank(record[width:]):
            record = record[:width]  # trailing empty fields (a trailing delimiter) lose nothing
        if len(record) != width:
            rejected += 1
            issues.append(_ragged_issue(name, t.name, index + 1, record, width, delimiter))
            continue
        kept.append(record)
        rows.append(index + 1)
    columns = list(zip(*kept)) if kept else [() for _ in range(width)]
    frame = pl.DataFrame(
        [pl.Series(f"c{i}", list(values), dtype=pl.String) for i, values in enumerate(columns)]
        + [pl.Series(ROW, rows, dtype=pl.Int64)]
    )
    headers_text = ["" if h is None else str(h) for h in headers]
    return RawTable(headers_text, _frame_fetcher(frame), fmt, issues=issues, rows_rejected=rejected)


def _ragged_issue(name, table_name, row, record, width, delimiter) -> DataIssue:
    joined = delimiter.join("" if v is None else str(v) for v in record)
    hint = "check for an unquoted delimiter in a value or a missing field"
    if any("\n" in str(v) for v in record if v is not None):
        hint = "an unclosed quote may have merged the following lines into this row"
    return DataIssue(name, table_name, row, None, _clip(joined),
                     f"row has {len(record)} fields but the header has {width}; the row was not "
                     f"loaded ({hint})")


def _title_row_issues(name, table_name, above: list[list[Any]], header_at: int) -> list[DataIssue]:
    return [
        DataIssue(name, table_name, i + 1, None,
                  _clip(" ".join(str(v) for v in row if v not in (None, ""))),
                  f"row above the header (row {header_at + 1}) skipped")
        for i, row in enumerate(above)
        if not _is_blank(row)
    ]


# --- Excel


def read_excel_raw(path: Path, t: Table, mapping: TableMapping) -> RawTable:
    """Read one sheet of a workbook as text cells (dates as ISO text, numbers as their digits)."""
    import openpyxl

    name = path.name
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise LoadError(f"{name}: cannot open as an Excel workbook ({_first_line(exc)}); save it "
                        f"again as .xlsx or export CSV")
    try:
        sheet = _choose_sheet(workbook, t, mapping, name)
        records = _sheet_records(sheet)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"{name}: cannot read the workbook ({_first_line(exc)}); save it again "
                        f"as .xlsx or export CSV")
    finally:
        workbook.close()
    header_at = find_header_row(records, t.name, _explicit_lookup(mapping))
    if header_at is None:
        raise LoadError(f"{name}: sheet {sheet.title!r} is empty; put the table with a header row "
                        f"on the first sheet or name the sheet in mapping.yaml")
    width = max((len(r) for r in records), default=0)
    records = [r + [None] * (width - len(r)) for r in records]
    return _raw_from_records(name, records, header_at, records[header_at], t, "excel")


def _choose_sheet(workbook, t: Table, mapping: TableMapping, name: str):
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
    explicit = _explicit_lookup(mapping)
    scores = []
    for sheet in sheets:
        head = [list(r) for _, r in zip(range(HEADER_SEARCH_ROWS),
                                        sheet.iter_rows(values_only=True))]
        scores.append(max((_header_score(r, t.name, explicit) for r in head), default=0))
    return sheets[scores.index(max(scores))]


def _sheet_records(sheet) -> list[list[str | None]]:
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
    records = []
    for row in sheet.iter_rows(values_only=True):
        cells = [_cell_text(v) for v in row]
        while cells and cells[-1] is None:
            cells.pop()
        records.append(cells)
    return records


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


# --- Parquet


def read_parquet_raw(path: Path) -> RawTable:
    """Parquet header now, data later: only the columns the contract needs are read."""
    name = path.name
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"{name}: not a readable Parquet file ({_first_line(exc)}); export it "
                        f"again")
    headers = list(schema)

    def fetch(indices: list[int]) -> pl.DataFrame:
        try:
            if indices:
                frame = pl.read_parquet(path, columns=[headers[i] for i in indices])
            else:  # no contract column at all: only the row count matters
                height = pl.scan_parquet(path).select(pl.len()).collect().item()
                frame = pl.DataFrame({"__n": pl.Series([0] * height, dtype=pl.Int64)})
        except Exception as exc:  # noqa: BLE001
            raise LoadError(f"{name}: cannot read the Parquet data ({_first_line(exc)}); export it "
                            f"again") from None
        frame = frame.rename({headers[i]: f"c{i}" for i in indices}).drop("__n", strict=False)
        numbered = frame.with_row_index("__n", offset=1)
        row = pl.col("__n").cast(pl.Int64).alias(ROW)
        return numbered.select([f"c{i}" for i in indices] + [row])

    return RawTable(headers, fetch, "parquet")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# ----------------------------------------------------------------------------- typing


class ParseContext:
    """What the parsers of one file need beyond the column itself, and the notes they leave.

    The decimal mark and day order of the whole file are worked out only when a column cannot
    tell on its own (most files never need them).
    """

    def __init__(self, file: str, t: Table, fmt: str, mapping: TableMapping,
                 texts: dict[str, pl.Series]):
        self.file, self.table, self.format, self.mapping = file, t, fmt, mapping
        self.texts = texts  # contract column -> cleaned text, for text-typed sources only
        self.notes: list[DataIssue] = []
        self._decimal_comma: bool | None = None
        self._dayfirst: bool | None = None
        self._dayfirst_known = False

    def note(self, column: str, problem: str) -> None:
        self.notes.append(DataIssue(self.file, self.table.name, None, column, None, problem))

    def file_decimal_comma(self) -> bool:
        """Whether the file's other numeric columns show a decimal comma rather than a dot."""
        if self._decimal_comma is None:
            commas = dots = 0
            for name, text in self.texts.items():
                if self.table.column(name).type in (FLOAT, MONEY, RATE, INT):
                    comma, dot = decimal_evidence(split_number_text(text)[0])
                    commas += comma and not dot
                    dots += dot and not comma
            self._decimal_comma = commas > dots
        return self._decimal_comma

    def file_dayfirst(self) -> bool | None:
        """Day order shown unambiguously (and consistently) by the file's other date columns."""
        if not self._dayfirst_known:
            votes = {
                vote for name, text in self.texts.items()
                if self.table.column(name).type in (DATE, DATETIME)
                and (vote := day_order_evidence(text)) is not None
            }
            self._dayfirst = votes.pop() if len(votes) == 1 else None
            self._dayfirst_known = True
        return self._dayfirst


def _when(mask: pl.Series, then: Any, otherwise: Any) -> pl.Series:
    """Vectorised if/else over Series (plain values are literals, never column names)."""
    def lit(v: Any) -> Any:
        return v if isinstance(v, (pl.Series, pl.Expr)) else pl.lit(v)
    return pl.select(pl.when(mask).then(lit(then)).otherwise(lit(otherwise))).to_series()


def _case_variants(words: Iterable[str]) -> frozenset[str]:
    return frozenset(
        "".join(p) for w in words for p in product(*({c.lower(), c.upper()} for c in w))
    )


# NOTE: every spelling is listed so a column is never lower-cased just to find its null markers.
_NULL_SPELLINGS = sorted(_case_variants(NULL_TOKENS))


def clean_text(s: pl.Series) -> pl.Series:
    """Strip surrounding space and turn the usual empty markers (NA, null, -, ...) into null."""
    stripped = s.str.strip_chars()
    is_null_token = stripped.is_in(_NULL_SPELLINGS)
    return _when(is_null_token, None, stripped).cast(pl.String).alias(s.name)


def _has_non_ascii(s: pl.Series) -> bool:
    return bool((s.str.len_bytes() != s.str.len_chars()).any())


def _nfkc_if_needed(s: pl.Series) -> pl.Series:
    # NOTE: full-width digits and punctuation (１２３，４５６．７８) are common in Chinese files.
    if _has_non_ascii(s):
        return s.str.normalize("NFKC").str.replace_all("\u2212", "-", literal=True)
    return s


# --- strings, categories, booleans


def parse_string(s: pl.Series, col: Column) -> pl.Series:
    """Keep text as is (stripped); fix only the case or spacing of a categorical value."""
    if not col.allowed:
        return s
    off = s.filter(s.is_not_null() & ~s.is_in(col.allowed)).unique()
    if off.is_empty():
        return s
    canonical = {normalise_header(a): a for a in col.allowed}
    fixes = {v: canonical[normalise_header(v)] for v in off if normalise_header(v) in canonical}
    return s.replace(fixes) if fixes else s


_BOOL_WORDS = {
    "true": True, "false": False, "t": True, "f": False, "yes": True, "no": False,
    "y": True, "n": False, "1": True, "0": False, "1.0": True, "0.0": False,
    "on": True, "off": False, "是": True, "否": False, "真": True, "假": False,
}


def parse_bool(s: pl.Series) -> pl.Series:
    """true/false, yes/no, y/n, 1/0, t/f, 是/否, 真/假 in any case."""
    words = _nfkc_if_needed(s).str.to_lowercase()
    return words.replace_strict(_BOOL_WORDS, default=None, return_dtype=pl.Boolean)


# --- numbers

_CURRENCY = r"(?i)(?:rmb|cny|usd|hkd|eur|gbp|us\$|hk\$|[¥$€£元￥])"
_CURRENCY_MARKS = ["rmb", "cny", "usd", "hkd", "eur", "gbp", "$", "¥", "€", "£", "元", "￥"]
_SUFFIX = r"\s*(%|‰|万|亿)$"
_SCALE = {"%": 0.01, "‰": 0.001, "万": 1e4, "亿": 1e8}
_SUFFIXES_BY_TYPE = {RATE: "%‰", FLOAT: "%‰万亿", MONEY: "万亿", INT: "万亿"}
_DOT_NUMBER = (r"^[-+]?(?:[0-9]+|[0-9]{1,3}(?:[,\s'][0-9]{3})+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$"
               r"|^[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
_COMMA_NUMBER = (r"^[-+]?(?:[0-9]+|[0-9]{1,3}(?:[.\s'][0-9]{3})+)(?:,[0-9]*)?(?:[eE][-+]?[0-9]+)?$"
                 r"|^[-+]?,[0-9]+$")
# A lone separator followed by exactly three digits is either a decimal or a thousands mark.
_AMBIGUOUS_DOT = r"^[-+]?[1-9][0-9]{0,2}\.[0-9]{3}$"
_AMBIGUOUS_COMMA = r"^[-+]?[1-9][0-9]{0,2},[0-9]{3}$"


def split_number_text(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(body, suffix): currency signs gone, (x) -> -x, and %/‰/万/亿 split off as the suffix."""
    t = _nfkc_if_needed(s)
    # NOTE: each rewrite runs only when some value needs it: clean columns stay fast.
    if t.str.contains_any(_CURRENCY_MARKS, ascii_case_insensitive=True).any():
        t = t.str.replace_all(_CURRENCY, "").str.strip_chars()
    has_parens = bool(t.str.starts_with("(").any())
    if has_parens:
        t = t.str.replace(r"^\((.*)\)$", "-${1}").str.strip_chars()
    suffix = pl.Series(s.name, [None] * len(s), dtype=pl.String)
    if t.str.contains_any(list(_SCALE)).any():
        suffix = t.str.extract(_SUFFIX, 1)
        t = t.str.replace(_SUFFIX, "").str.strip_chars()
        if has_parens:
            t = t.str.replace(r"^\((.*)\)$", "-${1}")
    if t.str.contains(r"^[-+]\s").any():
        t = t.str.replace(r"^([-+])\s+", "${1}")
    return t, suffix


def decimal_evidence(body: pl.Series) -> tuple[bool, bool]:
    """(shows a decimal comma, shows a decimal dot) among a column's number bodies."""
    b = body.str.replace_all(r"[\s']", "")
    comma = (
        (b.str.contains(r"^[-+]?[0-9]*,[0-9]+$") & ~b.str.contains(_AMBIGUOUS_COMMA))
        | b.str.contains(r"^[-+]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]*$")
        | b.str.contains(r"^[-+]?[0-9]{1,3}(?:\.[0-9]{3}){2,}$")
    ).any()
    dot = (
        (b.str.contains(r"^[-+]?[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
         & ~b.str.contains(_AMBIGUOUS_DOT))
        | b.str.contains(r"^[-+]?[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]*$")
        | b.str.contains(r"^[-+]?[0-9]{1,3}(?:,[0-9]{3}){2,}$")
    ).any()
    return bool(comma), bool(dot)


def number_from_body(body: pl.Series, suffix: pl.Series, col: Column, comma: bool) -> pl.Series:
    """Float64 (Int64 for INT columns) from number bodies; anything irregular becomes null."""
    if comma:
        valid = body.str.contains(_COMMA_NUMBER)
        canonical = body.str.replace_all(r"[.\s']", "").str.replace(",", ".", literal=True)
    else:
        valid = body.str.contains(_DOT_NUMBER)
        canonical = body.str.replace_all(r"[,\s']", "")
    allowed = _SUFFIXES_BY_TYPE.get(col.type, "")
    scale = suffix.replace_strict({k: v for k, v in _SCALE.items() if k in allowed},
                                  default=None, return_dtype=pl.Float64)
    valid = valid & (suffix.is_null() | scale.is_not_null())
    canonical = _when(valid, canonical, None).cast(pl.String)
    if col.type == INT:
        return _integer_from_canonical(canonical, scale)
    return _finite_or_null(canonical.cast(pl.Float64, strict=False) * scale.fill_null(1.0))


def _integer_from_canonical(canonical: pl.Series, scale: pl.Series) -> pl.Series:
    # NOTE: digits-only text is cast directly: going through float would lose digits past 2**53.
    plain = canonical.str.contains(r"^[-+]?[0-9]+$") & scale.is_null()
    exact = _when(plain, canonical, None).cast(pl.String).cast(pl.Int64, strict=False)
    approx = _whole_to_int(canonical.cast(pl.Float64, strict=False) * scale.fill_null(1.0))
    return _when(plain.fill_null(False), exact, approx).cast(pl.Int64)


def _whole_to_int(value: pl.Series) -> pl.Series:
    whole = value.is_finite() & (value == value.round(0)) & (value.abs() < 9.2e18)
    return _when(whole.fill_null(False), value, None).cast(pl.Float64).cast(pl.Int64, strict=False)


def _finite_or_null(value: pl.Series) -> pl.Series:
    return _when(value.is_finite().fill_null(False), value, None).cast(pl.Float64)


def plain_number(s: pl.Series, col: Column) -> pl.Series | None:
    """Fast path for plain machine numbers (1234.5); None when the column needs the full parser."""
    value = s.cast(pl.Int64 if col.type == INT else pl.Float64, strict=False)
    if (s.is_not_null() & value.is_null()).any():
        return None
    if col.type == INT:
        return value
    if s.str.contains(_AMBIGUOUS_DOT).any():
        return None  # '1.234' may be a thousands mark in a decimal-comma file
    return _finite_or_null(value)


def parse_number(s: pl.Series, col: Column, ctx: ParseContext) -> pl.Series:
    """Numbers with currency, thousands marks, (negatives), %, 万/亿, full-width digits, 1,5."""
    fast = plain_number(s, col)
    if fast is not None:
        return fast
    body, suffix = split_number_text(s)
    return number_from_body(body, suffix, col, _choose_decimal_comma(body, ctx))


def _choose_decimal_comma(body: pl.Series, ctx: ParseContext) -> bool:
    if ctx.mapping.decimal_comma is not None:
        return ctx.mapping.decimal_comma
    comma, dot = decimal_evidence(body)
    if comma or dot:
        return comma and not dot
    return ctx.file_decimal_comma()


# --- dates

_TIME_PART = (
    r"(?:(?:\s+|T)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>[Zz]|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_YMD = r"^(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})" + _TIME_PART
_COMPACT = r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})" + _TIME_PART
_ABY = r"^(?P<a>[0-9]{1,2})[-/.](?P<b>[0-9]{1,2})[-/.](?P<y>[0-9]{4})" + _TIME_PART
_PART_NAMES = ("y", "m", "d", "H", "M", "S", "f", "ampm", "tz")
_MONTH_NAME_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%Y %b %d", "%Y %B %d")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


def normalise_date_text(s: pl.Series) -> pl.Series:
    """Chinese and full-width date text to Latin form: 2024年1月5日 9时30分 -> 2024-1-5 9:30"""
    if not _has_non_ascii(s):
        return s
    t = s.str.normalize("NFKC")
    t = t.str.replace_all(r"\s*[年月]\s*", "-").str.replace_all(r"\s*[日号]", " ")
    t = t.str.replace_all(r"\s*[时時点點]\s*", ":").str.replace_all(r"\s*分\s*", ":")
    t = t.str.replace_all(r"\s*秒", "").str.replace(r":\s*$", "").str.strip_chars()
    return t.str.replace(r"^上午\s*(.*)$", "${1} AM").str.replace(r"^下午\s*(.*)$", "${1} PM")


def _extract(s: pl.Series, pattern: str) -> pl.DataFrame:
    return s.str.extract_groups(pattern).struct.unnest()


def _merge_parts(primary: pl.DataFrame, fallback: pl.DataFrame) -> pl.DataFrame:
    use_primary = primary["y"].is_not_null()
    return pl.DataFrame(
        [_when(use_primary, primary[c], fallback[c]).cast(pl.String).alias(c) for c in _PART_NAMES]
    )


def _date_valid(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = (
        pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    )
    return y.is_between(1, 9999) & m.is_between(1, 12) & d.is_between(1, 31) & (d <= days)


def _aby_as_ymd(aby: pl.DataFrame, dayfirst: bool) -> pl.DataFrame:
    day, month = ("a", "b") if dayfirst else ("b", "a")
    return aby.rename({day: "d", month: "m"}).select(_PART_NAMES)


def _aby_fits(aby: pl.DataFrame, dayfirst: bool) -> pl.Series:
    """Per a/b/yyyy value (others left out): is it a real date under this day order?"""
    parts = _aby_as_ymd(aby, dayfirst).select(pl.col("y", "m", "d").cast(pl.Int32, strict=False))
    fits = parts.select(_date_valid(pl.col("y"), pl.col("m"), pl.col("d"))).to_series()
    return fits.filter(parts["y"].is_not_null())


def day_order_evidence(s: pl.Series) -> bool | None:
    """True/False when a column's a/b/yyyy dates can only be day-first/month-first, else None."""
    aby = _extract(normalise_date_text(s), _ABY)
    if aby["y"].is_null().all():
        return None
    day_ok, month_ok = _aby_fits(aby, True).all(), _aby_fits(aby, False).all()
    return day_ok if day_ok != month_ok else None


def _choose_dayfirst(aby: pl.DataFrame, col: Column, ctx: ParseContext) -> bool:
    if ctx.mapping.dayfirst is not None:
        return ctx.mapping.dayfirst
    day_fits, month_fits = _aby_fits(aby, True), _aby_fits(aby, False)
    if day_fits.all() != month_fits.all():
        return bool(day_fits.all())
    if not day_fits.all():  # neither order fits every value: take the better, report the rest
        return bool(day_fits.sum() >= month_fits.sum())
    file_choice = ctx.file_dayfirst()
    if file_choice is not None:
        return file_choice
    ctx.note(col.name, f"every a/b/yyyy date in column '{col.name}' fits both day-first and "
                       f"month-first; read as day-first (dd/mm/yyyy); set dayfirst: false under "
                       f"tables.{ctx.table.name} in mapping.yaml if they are month-first")
    return True


def date_parts(s: pl.Series, col: Column, ctx: ParseContext) -> pl.DataFrame:
    """The y/m/d/H/M/S/f/ampm/tz text parts of every recognisable date, nulls elsewhere."""
    parts = _extract(s, _YMD)
    if (s.is_not_null() & parts["y"].is_null()).any():
        parts = _merge_parts(parts, _extract(s, _COMPACT))
    if (s.is_not_null() & parts["y"].is_null()).any():
        aby = _extract(s, _ABY)
        if aby["y"].is_not_null().any():
            parts = _merge_parts(parts, _aby_as_ymd(aby, _choose_dayfirst(aby, col, ctx)))
    return parts


def temporal_from_parts(parts: pl.DataFrame, col: Column, ctx: ParseContext) -> pl.Series:
    """Date or Datetime from the extracted parts; impossible dates and times become null."""
    y, m, d = (pl.col(c).cast(pl.Int32, strict=False) for c in ("y", "m", "d"))
    hour = pl.col("H").cast(pl.Int32, strict=False).fill_null(0)
    minute = pl.col("M").cast(pl.Int32, strict=False).fill_null(0)
    second = pl.col("S").cast(pl.Int32, strict=False).fill_null(0)
    micro = pl.col("f").str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int32, strict=False)
    micro = micro.fill_null(0)
    ampm = pl.col("ampm").str.to_lowercase().str.slice(0, 1)
    hour_ok = pl.when(ampm.is_null()).then(hour.is_between(0, 23)).otherwise(hour.is_between(1, 12))
    hour = (pl.when(ampm == "p").then(hour % 12 + 12)
            .when(ampm == "a").then(hour % 12).otherwise(hour))
    valid = (_date_valid(y, m, d) & hour_ok & minute.is_between(0, 59)
             & second.is_between(0, 59)).fill_null(False)
    safe = [pl.when(valid).then(e).otherwise(1) for e in (y, m, d)]
    if col.type == DATE:
        value = pl.date(*safe)
    else:
        clock = [pl.when(valid).then(e).otherwise(0) for e in (hour, minute, second, micro)]
        value = pl.datetime(*safe, *clock, time_unit="us")
        value = value - pl.duration(minutes=_offset_minutes(parts, col, ctx))
    return parts.select(pl.when(valid).then(value).otherwise(None).alias(col.name)).to_series()


def _offset_minutes(parts: pl.DataFrame, col: Column, ctx: ParseContext) -> pl.Expr:
    """Minutes to subtract to reach UTC: zero unless the column mixes several offsets."""
    tz = parts["tz"].str.to_uppercase().str.replace_all(":", "", literal=True)
    tz = _when(tz.is_in(["Z", "UTC", "GMT"]), "+0000", tz).cast(pl.String)
    sign = _when(tz.str.starts_with("-"), -1, 1)
    total = sign * (tz.str.slice(1, 2).cast(pl.Int32, strict=False) * 60
                    + tz.str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0))
    if total.drop_nulls().n_unique() <= 1:
        return pl.lit(0)
    ctx.note(col.name, f"column '{col.name}' mixes time-zone offsets; times with an offset were "
                       f"converted to UTC, times without one were kept as written")
    return pl.lit(total.fill_null(0))


def _month_name_dates(s: pl.Series, col: Column) -> pl.Series:
    t = s.str.replace_all(r"[,\-/.]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    target = pl.Date() if col.type == DATE else pl.Datetime("us")
    out = pl.Series(col.name, [None] * len(s), dtype=target)
    for fmt in _MONTH_NAME_FORMATS:
        out = out.fill_null(t.str.strptime(pl.Date, fmt, strict=False).cast(target))
    return out


def _excel_serial_dates(s: pl.Series, col: Column) -> pl.Series:
    """Excel day numbers (45296 = 2024-01-05) for cells the workbook did not format as dates."""
    numeric = s.str.contains(r"^[0-9]{1,7}(?:\.[0-9]+)?$").fill_null(False)
    serial = _when(numeric, s, None).cast(pl.String).cast(pl.Float64, strict=False)
    serial = _when(serial.is_between(1, _EXCEL_MAX_SERIAL).fill_null(False), serial, None)
    micros = (serial.cast(pl.Float64) * 86_400_000_000).round(0).cast(pl.Int64)
    value = pl.select(pl.lit(_EXCEL_EPOCH, pl.Datetime("us"))
                      + pl.duration(microseconds=micros)).to_series()
    return value.dt.date() if col.type == DATE else value


def plain_temporal(s: pl.Series, col: Column) -> pl.Series | None:
    """Fast path: every value is exactly ISO 'yyyy-mm-dd' (or 'yyyy-mm-dd hh:mm:ss')."""
    if col.type == DATE:
        fmt, width, dtype = "%Y-%m-%d", 10, pl.Date()
    else:
        fmt, width, dtype = "%Y-%m-%d %H:%M:%S", 19, pl.Datetime("us")
    present = s.is_not_null()
    if not (s.str.len_bytes() == width).filter(present).all():
        return None  # chrono's %Y also takes 2-digit years; the width check rules those out
    value = s.str.strptime(dtype, fmt, strict=False)
    if (present & value.is_null()).any():
        return None
    return value


def parse_temporal(s: pl.Series, col: Column, ctx: ParseContext) -> pl.Series:
    """Date/Datetime from ISO, slashed, dotted, compact, Chinese, d/m/y or m/d/y, month names."""
    fast = plain_temporal(s, col)
    if fast is not None:
        return fast
    text = normalise_date_text(s)
    value = temporal_from_parts(date_parts(text, col, ctx), col, ctx)
    left = text.is_not_null() & value.is_null()
    if left.any() and text.filter(left).str.contains(r"[A-Za-z]{3}").any():
        value = value.fill_null(_month_name_dates(text, col))
        left = text.is_not_null() & value.is_null()
    if left.any() and ctx.format == "excel":
        value = value.fill_null(_excel_serial_dates(text, col))
    return value.alias(col.name)


# --- natively typed (Parquet) columns


def native_value(s: pl.Series, col: Column) -> pl.Series | None:
    """The typed value of a natively typed column, or None when it has to be read as text."""
    dtype = s.dtype
    numeric = dtype.is_numeric()
    if col.type in (FLOAT, MONEY, RATE) and numeric:
        value = s.cast(pl.Float64, strict=False)
        return _finite_or_null(value.fill_nan(None) if dtype.is_float() else value)
    if col.type == INT and numeric:
        if dtype.is_integer():
            return s.cast(pl.Int64, strict=False)
        return _whole_to_int(s.cast(pl.Float64, strict=False).fill_nan(None))
    if col.type == DATE and dtype == pl.Date:
        return s
    if col.type in (DATE, DATETIME) and isinstance(dtype, pl.Datetime):
        # NOTE: an aware column keeps its wall-clock time in its own zone (see module docstring).
        wall = s.dt.replace_time_zone(None) if dtype.time_zone else s
        return wall.dt.date() if col.type == DATE else wall.cast(pl.Datetime("us"))
    if col.type == DATETIME and dtype == pl.Date:
        return s.cast(pl.Datetime("us"))
    if col.type == BOOL and dtype == pl.Boolean:
        return s
    if dtype == pl.Null:
        return s.cast(col.dtype)
    return None


def as_text(s: pl.Series) -> pl.Series:
    """Any flat column as text; whole floats lose their '.0' so numeric IDs read as '1001'."""
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if dtype.is_nested() or dtype == pl.Object:
        raise TypeError(f"nested values ({dtype})")
    if dtype.is_float():
        values = s.fill_nan(None)
        whole = values.is_finite() & (values == values.round(0)) & (values.abs() < 1e15)
        if whole.filter(values.is_not_null()).all():
            return values.cast(pl.Int64, strict=False).cast(pl.String)
    return s.cast(pl.String, strict=False)


def _native_failures(raw: pl.Series, value: pl.Series) -> pl.Series:
    failed = raw.is_not_null() & value.is_null()
    if raw.dtype.is_float():
        failed = failed & ~raw.is_nan()  # NaN is how many writers store a missing number
    return failed


# --- one table


def source_text(raw: pl.Series, col: Column, mapping: TableMapping, file: str) -> pl.Series:
    """Cleaned text of a column that is not natively typed, with mapping.yaml value replacements."""
    try:
        text = as_text(raw)
    except TypeError as exc:
        raise LoadError(f"{file}: the column for '{col.name}' holds {exc}; export it as plain "
                        f"values") from None
    cleaned = clean_text(text)
    replacements = mapping.values.get(col.name)
    return cleaned.replace(replacements) if replacements else cleaned


def parse_cleaned(cleaned: pl.Series, col: Column, ctx: ParseContext) -> pl.Series:
    """Typed values from cleaned text (null where a value does not parse)."""
    if col.type == STRING:
        return parse_string(cleaned, col)
    if col.type == BOOL:
        return parse_bool(cleaned)
    if col.type in (DATE, DATETIME):
        return parse_temporal(cleaned, col, ctx)
    return parse_number(cleaned, col, ctx)


def _null_column(col: Column, height: int) -> pl.Series:
    return pl.Series(col.name, [None] * height, dtype=col.dtype)


def type_table(raw: RawTable, t: Table, match: HeaderMatch, file: str, mapping: TableMapping):
    """(typed frame of readable rows, unreadable row count, cell issues, column notes)."""
    indices = sorted(match.by_index)
    data = raw.fetch(indices)
    height = data.height
    sources = {match.by_index[i]: data[f"c{i}"] for i in indices}
    natives: dict[str, pl.Series] = {}
    texts: dict[str, pl.Series] = {}
    for name, series in sources.items():
        native = native_value(series, t.column(name))
        if native is not None:
            natives[name] = native
        else:
            texts[name] = source_text(series, t.column(name), mapping, file)
    ctx = ParseContext(file, t, raw.format, mapping, texts)
    values: list[pl.Series] = []
    failures: dict[str, pl.Series] = {}  # column -> original text of the cells that failed
    for col in t.columns:
        if col.name in natives:
            value = natives[col.name]
            failed = _native_failures(sources[col.name], value)
        elif col.name in texts:
            value = parse_cleaned(texts[col.name], col, ctx)
            failed = texts[col.name].is_not_null() & value.is_null()
            if raw.lossy_text:
                failed = failed | texts[col.name].str.contains("\ufffd", literal=True)
        else:
            values.append(_null_column(col, height))
            continue
        values.append(value.alias(col.name).cast(col.dtype))
        failed = failed.fill_null(False)
        if failed.any():
            failures[col.name] = _when(failed, as_text(sources[col.name]), None).cast(pl.String)
    frame = pl.DataFrame(values + [data[ROW]])
    if not failures:
        return frame, 0, [], ctx.notes
    bad = pl.DataFrame([s.alias(n) for n, s in failures.items()] + [data[ROW]])
    bad_row = bad.select(pl.any_horizontal(pl.col(c).is_not_null() for c in failures)).to_series()
    issues = _cell_issues(bad.filter(bad_row), t, file, raw.encoding if raw.lossy_text else None)
    readable = frame.filter(~bad_row)
    return readable, height - readable.height, issues, ctx.notes


def _cell_issues(
    bad: pl.DataFrame, t: Table, file: str, lossy_encoding: str | None
) -> list[DataIssue]:
    """One issue per cell that did not parse, in row order then contract column order."""
    order = {c.name: i for i, c in enumerate(t.columns)}
    keyed: list[tuple[int, int, DataIssue]] = []
    rows = bad[ROW].to_list()
    for name in bad.columns:
        if name == ROW:
            continue
        word = TYPE_WORDS[t.column(name).type]
        for row, value in zip(rows, bad[name].to_list()):
            if value is None:
                continue
            shown = _clip(value)
            problem = f"cannot parse {shown!r} as {word}"
            if lossy_encoding and "\ufffd" in value:
                problem = (f"cannot read {shown!r}: the file has bytes here that are not valid "
                           f"{lossy_encoding} text (shown as \ufffd); fix or re-export the file")
            keyed.append((row, order[name], DataIssue(file, t.name, row, name, shown, problem)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [issue for _, _, issue in keyed]


# ----------------------------------------------------------------------------- public entry points


def load_table(
    path: Path, table_name: str, column_mapping: dict[str, str] | None = None
) -> LoadedTable:
    """Read one file as the contract table ``table_name`` (column_mapping: header -> column)."""
    path = Path(path)
    if table_name not in contract.TABLES_BY_NAME:
        raise LoadError(f"{path.name}: unknown table '{table_name}'; known: "
                        f"{', '.join(contract.TABLES_BY_NAME)}")
    mapping = TableMapping(columns=dict(column_mapping or {}))
    check_table_mapping("column mapping", table_name, mapping)
    return load_with_mapping(path, table_name, mapping)


def load_with_mapping(path: Path, table_name: str, mapping: TableMapping) -> LoadedTable:
    """load_table with every mapping.yaml option (sheet, value replacements, dayfirst ...)."""
    t = contract.table(table_name)
    if not path.is_file():
        raise LoadError(f"{path.name}: no such file; check the name in mapping.yaml")
    try:
        raw, digest = read_raw(path, t, mapping)
        match = match_headers(raw.headers, t, mapping, path.name)
        frame, unparsable, cell_issues, notes = type_table(raw, t, match, path.name, mapping)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(f"{path.name}: the file is too large to load in memory; export it as "
                        f"Parquet") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must never end in a traceback
        raise LoadError(f"{path.name}: cannot read the file ({type(exc).__name__}: "
                        f"{_first_line(exc)}); check it is a valid {path.suffix.lstrip('.')} "
                        f"export") from None
    # NOTE: file- and column-level notes first, then row issues in row order (stable sort).
    issues = sorted(raw.issues + match.notes + notes + cell_issues,
                    key=lambda i: (i.row is not None, i.row or 0))
    return LoadedTable(
        name=t.name, path=path, sha256=digest, format=raw.format, encoding=raw.encoding,
        rows_read=frame.height + unparsable + raw.rows_rejected,
        rows_unreadable=unparsable + raw.rows_rejected, frame=frame, issues=issues,
        extra_columns=match.extra_columns, column_map=match.column_map,
    )


def load_export(
    data_dir: Path, mapping: Path | None = None, tables: Iterable[str] | None = None
) -> Export:
    """Find and load every contract table in ``data_dir`` (optionally only ``tables``)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise LoadError(f"{root}: not a directory; point the audit at the folder holding the "
                        f"export")
    wanted = _wanted_tables(tables)
    try:
        mapping_path = Path(mapping) if mapping is not None else _default_mapping(root)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    if mapping_path is not None and not mapping_path.is_file():
        raise LoadError(f"{mapping_path}: mapping file not found; check the path")
    mappings = read_mapping(mapping_path) if mapping_path is not None else {}
    try:
        found, unrecognised = find_table_files(root, mappings, wanted, mapping_path)
    except OSError as exc:
        raise LoadError(f"{root}: cannot list the folder ({exc.strerror}); check its "
                        f"permissions") from None
    loaded: dict[str, LoadedTable] = {}
    for name in wanted:
        if name in found:
            loaded[name] = _load_candidate(found[name], name, mappings.get(name, TableMapping()))
    issues = [issue for lt in loaded.values() for issue in lt.issues]
    return Export(root=root, tables=loaded, issues=issues, unrecognised_files=unrecognised)


def _load_candidate(candidate: Candidate, name: str, mapping: TableMapping) -> LoadedTable:
    if candidate.sheet is not None and mapping.sheet is None:
        mapping = mapping.model_copy(update={"sheet": candidate.sheet})
    loaded = load_with_mapping(candidate.path, name, mapping)
    if candidate.loose:
        loaded.issues.insert(0, DataIssue(
            candidate.path.name, name, None, None, candidate.label,
            f"{candidate.label} was taken as table '{name}' from part of its name; name the file "
            f"under tables.{name}.file in mapping.yaml if that is wrong"))
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


def _default_mapping(root: Path) -> Path | None:
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.name.lower() in MAPPING_NAMES:
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
    name = entry.name
    return (entry.is_file() and not name.startswith((".", "~$"))
            and entry.suffix.lower() in TEXT_EXTS | PARQUET_EXTS | EXCEL_EXTS)


def _candidates_in(entry: Path) -> list[tuple[str, Candidate]]:
    """(table, candidate) pairs a file offers: by its name, else by its sheet names."""
    table_name, loose = table_for_name(entry.stem)
    if table_name is not None and not loose:
        return [(table_name, Candidate(entry))]
    sheets = _workbook_tables(entry) if entry.suffix.lower() in EXCEL_EXTS else {}
    if sheets:
        return [(t, Candidate(entry, sheet, loose)) for t, (sheet, loose) in sheets.items()]
    return [(table_name, Candidate(entry, loose=True))] if table_name is not None else []


def find_table_files(
    root: Path, mappings: dict[str, TableMapping], wanted: list[str], mapping_path: Path | None
) -> tuple[dict[str, Candidate], list[str]]:
    """table -> candidate for each table found, and the data files that match no table.

    A file named in the mapping wins; otherwise an exact name match; a loose match only for a
    table no file matches exactly. Two candidates at the same level are a LoadError.
    """
    named = {
        t: Candidate(_resolve_named_file(root, m.file, t, mapping_path))
        for t, m in mappings.items() if m.file is not None
    }
    named_paths = {c.path.resolve() for c in named.values()}
    offers: dict[str, list[Candidate]] = {}
    listed: list[str] = []
    for entry in sorted(root.iterdir()):
        if not _is_candidate_file(entry) or entry.resolve() in named_paths:
            continue
        pairs = _candidates_in(entry)
        for table_name, candidate in pairs:
            offers.setdefault(table_name, []).append(candidate)
        if not pairs and entry.suffix.lower() in LISTED_EXTS:
            listed.append(entry.name)
    found = {t: c for t, c in named.items() if t in wanted}
    for table_name in wanted:
        if table_name in found or table_name not in offers:
            continue
        exact = [c for c in offers[table_name] if not c.loose]
        chosen = exact or offers[table_name]
        if len(chosen) > 1:
            raise LoadError(
                f"{root}: several files match table '{table_name}': "
                f"{', '.join(c.label for c in chosen)}; keep one, or name the one to use under "
                f"tables.{table_name}.file in mapping.yaml"
            )
        found[table_name] = chosen[0]
    # NOTE: a file that matched a table but lost to a better match is listed, never dropped.
    offered = {c.path.name for t in wanted for c in offers.get(t, [])}
    losers = offered - {c.path.name for c in found.values()}
    return found, sorted(set(listed) | losers)


def _resolve_named_file(root: Path, name: str, table_name: str, mapping_path: Path | None) -> Path:
    bases = [root] + ([mapping_path.parent] if mapping_path is not None else [])
    for base in bases:
        candidate = Path(name) if Path(name).is_absolute() else base / name
        if candidate.is_file():
            return candidate
    # NOTE: file names typed into the mapping often differ from the real one only in case.
    for entry in root.iterdir():
        if entry.is_file() and entry.name.lower() == Path(name).name.lower():
            return entry
    source = mapping_path.name if mapping_path is not None else "mapping"
    raise LoadError(f"{source}: tables.{table_name}.file: no file {name!r} in {root}; fix the "
                    f"file name")


def _workbook_tables(path: Path) -> dict[str, tuple[str, bool]]:
    """table -> (sheet, loosely) for the sheets of a workbook named after a table."""
    try:
        with path.open("rb") as handle:
            if sniff_format(handle.read(8)) != "excel":
                return {}
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True)
        try:
            titles = list(workbook.sheetnames)
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - an unreadable workbook is simply not a table file
        return {}
    found: dict[str, tuple[str, bool]] = {}
    for title in titles:
        table_name, loose = table_for_name(title)
        if table_name is not None and (table_name not in found or found[table_name][1]):
            found[table_name] = (title, loose)
    return found
