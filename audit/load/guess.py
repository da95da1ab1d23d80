"""Guess how an unknown export maps onto the contract, for `audit init`: which file (or sheet)
holds which table, and which header stands for which column, each with a confidence.

Confidence of a header for a column (the best over the column's name and aliases):

* 1.00  the loader matches it already (name or alias, any case or spacing);
* 0.95  the same once a bracketed unit is dropped (``宽限期(小时)`` -> ``宽限期``);
* 0.90  the same once common abbreviations are spelled out (``cust_no`` -> ``client_id``);
* lower a fuzzy match (difflib's ratio; for Chinese also one name inside the other).

Guesses at or above ``SURE`` are written as entries; those between ``MAYBE`` and ``SURE`` are
written commented out for the auditor to confirm; below ``MAYBE`` they are only listed.
A table's file: the file-name evidence (the loader's own name and alias match, else fuzzy) and
the header evidence (how much of the table's required columns its headers cover) combined;
each file goes to one table and each table to one file, best pairs first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from audit import contract
from audit.contract import Table
from audit.load.discover import table_for_name
from audit.load.headers import match_header, normalise_header
from audit.load.peek import Sample

SURE = 0.85  # written as an entry
MAYBE = 0.6  # written commented out, to confirm
TABLE_SURE = 0.6  # a file named under tables.<t>.file
TABLE_MAYBE = 0.35  # a file proposed commented out
FUZZY_HEADERS = 300  # headers of one file guessed fuzzily; a contract table has a few dozen

# NOTE: abbreviations platforms use in English headers and file names, spelled out as the
# contract's words. General vocabulary only, never one export's names.
ABBREVIATIONS = {
    "cust": "client", "customer": "client", "clt": "client", "acct": "account", "acc": "account",
    "no": "id", "num": "number", "nbr": "number", "code": "id", "evt": "event", "mkt": "market",
    "val": "value", "bal": "balance", "amt": "amount", "qty": "quantity", "px": "price",
    "dt": "date", "stmt": "statement", "rtg": "rating", "ver": "version", "eff": "effective",
    "lev": "leverage", "sec": "instrument", "security": "instrument", "ccy": "currency",
    "cap": "capital", "ref": "ref", "pct": "pct", "percent": "pct", "txn": "transaction",
    "tx": "transaction", "fin": "financing", "loan": "financing", "mgn": "margin",
    "liq": "liquidation", "int": "interest", "comm": "commission", "cat": "category",
    "desc": "description", "hist": "history", "info": "", "tbl": "", "t": "", "tb": "",
    "daily": "", "export": "", "data": "", "list": "", "detail": "", "details": "",
}
_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DATE_PART = re.compile(r"(?:^|_)(?:19|20)\d{6}(?=_|$)|(?:^|_)(?:19|20)\d{2}[_\-.]?\d{2}(?=_|$)")


def _words(text: str) -> str:
    """Normalised, CamelCase split, abbreviations spelled out (``AcctNo`` -> ``account_id``)."""
    split = _CAMEL.sub("_", str(text))
    tokens = [ABBREVIATIONS.get(t, t) for t in normalise_header(split).split("_")]
    return "_".join(t for t in tokens if t)


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _similarity(a: str, b: str, floor: float = 0.0) -> float:
    """Fuzzy likeness of two normalised keys in [0, 1] (0 when surely below ``floor``)."""
    if not a or not b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a.replace("_", ""), b.replace("_", ""))
    ratio = matcher.ratio() if matcher.real_quick_ratio() >= floor else 0.0
    if not (a.isascii() and b.isascii()):
        short, long_ = sorted((a, b), key=len)
        if len(short) >= 2 and short in long_:
            ratio = max(ratio, 0.6 + 0.3 * len(short) / len(long_))
    return ratio


@lru_cache(maxsize=None)
def _column_keys(table_name: str) -> dict[str, tuple[str, ...]]:
    t = contract.table(table_name)
    return {c.name: tuple(dict.fromkeys(normalise_header(k) for k in (c.name, *c.aliases)))
            for c in t.columns}


@lru_cache(maxsize=65536)
def header_score(header: str, table_name: str, column: str) -> tuple[float, str]:
    """(confidence, how) that ``header`` stands for ``table.column``."""
    if match_header(header, table_name, {}) == column:
        return 1.0, "name or alias"
    keys = _column_keys(table_name)[column]
    key = normalise_header(header)
    if not key:
        return 0.0, ""
    unbracketed = normalise_header(_BRACKETED.sub("", header))
    if unbracketed and unbracketed != key and match_header(unbracketed, table_name, {}) == column:
        return 0.95, "alias, unit in brackets dropped"
    spelled = _words(header)
    if spelled and any(spelled == _words(k) for k in keys):
        return 0.9, "abbreviations spelled out"
    best, how = 0.0, ""
    for k in keys:
        for mine in {key, unbracketed, spelled}:
            score = _similarity(mine, k, max(best, 0.4))
            if score > best:
                best, how = score, f"like {k!r}"
    return round(min(best, 0.84), 2), how  # NOTE: fuzzy alone never reaches SURE


@dataclass
class ColumnGuess:
    header: str
    index: int
    column: str
    score: float
    how: str


@dataclass
class TableGuess:
    """One file (or sheet) proposed for one table, with its header matches."""

    table: str
    sample: Sample
    score: float
    name_score: float
    header_score: float
    columns: list[ColumnGuess] = field(default_factory=list)
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # other files for it

    @property
    def matched(self) -> dict[str, ColumnGuess]:
        return {g.column: g for g in self.columns}

    def unmatched_headers(self) -> list[tuple[int, str]]:
        used = {g.index for g in self.columns}
        return [(i, h) for i, h in enumerate(self.sample.headers) if i not in used]

    def unmatched_columns(self) -> list[str]:
        return [c for c in contract.table(self.table).column_names if c not in self.matched]

    def missing_required(self) -> list[str]:
        """Required columns no header was matched to, not even as a guess."""
        return [c.name for c in contract.table(self.table).columns
                if c.required and c.name not in self.matched]

    def required_to_confirm(self) -> list[str]:
        """Required columns matched only by a guess short of sure."""
        return [g.column for g in self.columns
                if g.score < SURE and contract.table(self.table).column(g.column).required]


def match_columns(headers: list[str], t: Table, floor: float = MAYBE) -> list[ColumnGuess]:
    """One header per column and one column per header, the most confident pairs first."""
    pairs = []
    for i, header in enumerate(headers):
        if i >= FUZZY_HEADERS:  # NOTE: past it, only what the loader matches (cost is width^1)
            col = match_header(header, t.name, {})
            if col is not None:
                pairs.append((1.0, -i, col, "name or alias", header))
            continue
        for col in t.column_names:
            score, how = header_score(header, t.name, col)
            if score >= floor:
                pairs.append((score, -i, col, how, header))
    pairs.sort(key=lambda p: (-p[0], -p[1]))
    used_h: set[int] = set()
    used_c: set[str] = set()
    out = []
    for score, neg_i, col, how, header in pairs:
        if -neg_i in used_h or col in used_c:
            continue
        used_h.add(-neg_i)
        used_c.add(col)
        out.append(ColumnGuess(header, -neg_i, col, score, how))
    return sorted(out, key=lambda g: g.index)


def name_score(sample: Sample, t: Table) -> float:
    """How well a file or sheet name fits a table: 1 the loader's exact match, 0.9 its loose
    one, else fuzzy on the name with dates, copy numbers and filler words removed."""
    names = [n for n in (sample.sheet, sample.file.rsplit(".", 1)[0]) if n]
    best = 0.0
    for name in names:
        found, loose = table_for_name(name)
        if found == t.name:
            return 0.9 if loose else 1.0
        stem = _DATE_PART.sub("", normalise_header(name))
        mine = "_".join(_singular(w) for w in _words(stem).split("_") if w)
        for key in (t.name, *t.aliases):
            theirs = "_".join(_singular(w) for w in _words(key).split("_") if w)
            best = max(best, _similarity(mine, theirs))
    return round(min(best, 0.85), 2)


def _header_fit(columns: list[ColumnGuess], t: Table, width: int) -> float:
    """How much of the table the headers cover (required columns) and how much of the file
    the table explains (its headers), confidence-weighted."""
    required = [c.name for c in t.columns if c.required]
    scores = {g.column: g.score for g in columns}
    recall = sum(scores.get(c, 0.0) for c in required) / max(len(required), 1)
    precision = sum(scores.values()) / max(width, 1)
    return round(0.6 * recall + 0.4 * precision, 2)


def guess_tables(samples: list[Sample]) -> tuple[list[TableGuess], list[Sample]]:
    """(one guess per table found, samples no table was given to), best pairs first."""
    candidates: list[TableGuess] = []
    for sample in samples:
        headers = sample.headers
        for t in contract.TABLES:
            columns = match_columns(headers, t)
            by_name = name_score(sample, t)
            by_headers = _header_fit(columns, t, len(headers))
            # NOTE: the headers are the stronger evidence: a file named like one table may
            # hold another (kyc_history.csv read as 'kyc' = clients).
            score = round(0.35 * by_name + 0.65 * by_headers
                          + (0.1 if by_name >= 0.9 and by_headers >= 0.3 else 0.0), 2)
            candidates.append(TableGuess(t.name, sample, min(score, 1.0), by_name, by_headers,
                                         columns))
    candidates.sort(key=lambda g: (-g.score, g.sample.label, g.table))
    chosen: dict[str, TableGuess] = {}
    taken: set[int] = set()
    for guess in candidates:
        if guess.score < TABLE_MAYBE:
            break
        if guess.table in chosen or id(guess.sample) in taken:
            continue
        chosen[guess.table] = guess
        taken.add(id(guess.sample))
    for guess in candidates:
        best = chosen.get(guess.table)
        # NOTE: only a rival close to the choice is worth the auditor's look
        if (best is not None and guess.sample is not best.sample
                and guess.score >= max(0.5, best.score - 0.3) and len(best.alternatives) < 3):
            best.alternatives.append((guess.sample.label, guess.score))
    order = {t.name: i for i, t in enumerate(contract.TABLES)}
    left = [s for s in samples if id(s) not in taken]
    return sorted(chosen.values(), key=lambda g: order[g.table]), left
