"""CSV files a spreadsheet opens as they are: UTF-8 with a byte-order mark, CRLF, and no cell a
spreadsheet would run as a formula (the export is hostile)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Iterable


def write_csv(path: Path, fields: list[str], rows: Iterable[dict[str, Any]]) -> Path:
    # NOTE: "utf-8-sig" (a byte-order mark first): without it Excel on Windows reads the file
    # in the machine's ANSI code page and every Chinese name or title turns to mojibake; every
    # other CSV reader (Python's "utf-8-sig", polars, pandas, LibreOffice) skips the mark.
    # "\r\n" line ends, not "\n": the csv module quotes a cell holding a character of
    # the line terminator, so with "\n" alone a bare "\r" inside a hostile cell stayed
    # unquoted, a CSV reader split the row there and the next "record" could start with a live
    # formula. With "\r\n" every cell holding "\r", "\n", a comma or a quote is quoted.
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\r\n",
                                quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_safe(row.get(k)) for k in fields})
    return path


# A cell a spreadsheet would run as a formula: = + - @ first, also behind leading blanks or
# control characters (some spreadsheets strip them on import) and in their full-width forms
# (East-Asian input methods type them; escaping a text cell that starts with one costs only the
# apostrophe); a tab or carriage return first is escaped whatever follows (OWASP).
_FORMULA = re.compile(r"^(?:[\s\x00-\x1f\x7f\u200b-\u200d\u2060\ufeff]*"
                      r"[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r])")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(value: Any) -> Any:
    # NOTE: a value from a hostile export such as "=HYPERLINK(...)" must not become a live
    # formula when an auditor opens the CSV in a spreadsheet (CSV injection): it is prefixed
    # with an apostrophe, which spreadsheets read as "text follows". A plain signed number
    # ("-5", "+1.5e3") is left as it is; "-inf" or "-1+1" are not plain numbers.
    if isinstance(value, str) and _FORMULA.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
