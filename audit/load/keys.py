"""Identifiers: an id means the same record in every table, however the export spelt it.

A platform hiding a record from a join needs only to spell its id differently in one table: a
zero-width space, full-width letters, a Cyrillic look-alike. So, for every identifier column
(the ``*_id`` text columns and the text columns of a table's key):

* the value is normalised: Unicode NFKC (full-width letters and digits become ASCII ones) and
  format characters removed (zero-width spaces, byte-order marks, bidirectional controls);
  every cell this changes is reported, with its value as written (``key-normalised``);
* a value whose letters are of a script other than the column's usual one, or of several
  scripts (a Cyrillic ``С`` among Latin ``C`` ids), is reported and left as it is
  (``key-lookalike``): a look-alike is not a typo the audit may correct.

Case is never changed (ids may be case-sensitive); a lower-case copy of an id is caught by the
referential checks of the validate stage, as an orphan.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import polars as pl

from audit.contract import STRING, Table
from audit.load.types import ROW, DataIssue, clip

FORMAT_CHARS = r"\p{Cf}"


def identifier_columns(t: Table) -> list[str]:
    """The text columns of ``t`` that identify a record (its own or another table's)."""
    return [c.name for c in t.columns
            if c.type == STRING and (c.name.endswith("_id") or c.name in t.key)]


def normalise_ids(frame: pl.DataFrame, t: Table, file: str) -> tuple[pl.DataFrame, list[DataIssue]]:
    """(frame with its identifier columns normalised, one issue per changed or look-alike cell)."""
    issues: list[DataIssue] = []
    updates = []
    for name in identifier_columns(t):
        if name not in frame.columns or frame[name].null_count() == frame.height:
            continue
        raw = frame[name]
        clean = raw.str.normalize("NFKC").str.replace_all(FORMAT_CHARS, "").str.strip_chars()
        clean = pl.select(pl.when(clean == "").then(None).otherwise(clean)).to_series()
        changed = (raw != clean).fill_null(raw.is_not_null() & clean.is_null())
        if changed.any():
            updates.append(clean.alias(name))
            for row, before, after in zip(frame.filter(changed)[ROW].to_list(),
                                          raw.filter(changed).to_list(),
                                          clean.filter(changed).to_list()):
                issues.append(DataIssue(
                    file, t.name, row, name, clip(_visible(before)),
                    f"identifier {_visible(before)!r} was read as {after!r} (width, compatibility "
                    f"or invisible characters removed) so that it matches the same id elsewhere",
                    "key-normalised"))
        issues.extend(_lookalikes(frame[ROW], clean, t.name, name, file))
    if updates:
        frame = frame.with_columns(updates)
    return frame, issues


def _visible(text: str) -> str:
    """The text with invisible characters written as \\uXXXX, so a reader sees them."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cf", "Zs", "Cc")
                   and ch != " " else ch for ch in text)


def _script(ch: str) -> str | None:
    """The script of a letter (LATIN, CYRILLIC, GREEK, CJK ...), from its Unicode name."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else "UNKNOWN"


def _lookalikes(rows: pl.Series, values: pl.Series, table: str, column: str,
                file: str) -> list[DataIssue]:
    unique = values.drop_nulls().unique()
    if unique.str.contains(r"^[\x00-\x7f]*$").all():
        return []  # NOTE: the common case, ASCII ids, costs one vectorised test
    scripts = {v: {s for s in map(_script, v) if s} for v in unique.to_list()}
    usual = Counter(s for found in scripts.values() for s in found)
    if not usual:
        return []
    main = usual.most_common(1)[0][0]
    odd = {v for v, found in scripts.items() if len(found) > 1 or (found and main not in found)}
    if not odd:
        return []
    hit = values.is_in(list(odd)).fill_null(False)
    return [DataIssue(file, table, row, column, clip(value),
                      f"identifier {value!r} mixes scripts or uses another script than the "
                      f"column's other ids ({main.lower()}): a look-alike of another id? It is "
                      f"left as written; check it against the platform's system",
                      "key-lookalike")
            for row, value in zip(rows.filter(hit).to_list(), values.filter(hit).to_list())]
