"""Header matching: which header of a file stands for which contract column (names, aliases,
mapping.yaml), and which of the first rows is the header at all.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from audit import contract
from audit.contract import Table
from audit.load.mapping import TableMapping
from audit.load.types import DataIssue, LoadError

HEADER_SEARCH_ROWS = 20
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


def explicit_lookup(mapping: TableMapping) -> dict[str, str]:
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
    explicit = explicit_lookup(mapping)
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
                  f"header", "header-note")
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
            f"(table {t.name}); name the one to use under tables.{t.name}.columns in a mapping file given with --mapping"
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
        f"header to it in a mapping file given with --mapping{hint}"
    )


def header_score(cells: Iterable[object], table_name: str, explicit: dict[str, str]) -> int:
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
        if is_blank(row):
            continue
        if first is None:
            first = i
        score = header_score(row, table_name, explicit)
        if score > best_score:
            best, best_score = i, score
    return best if best is not None else first


def is_blank(row: Iterable[object]) -> bool:
    # NOTE: only truly empty cells: the fast CSV path cannot afford to strip every cell to check.
    return all(v is None or v == "" for v in row)
