"""Text cells: null markers, surrounding space, full-width forms, categorical values and
booleans; plus the vectorised if/else the other parsers share.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Iterable

import polars as pl

from audit.contract import Column
from audit.load.headers import normalise_header

NULL_TOKENS = ("", "na", "n/a", "#n/a", "null", "none", "nan", "nat", "-", "--", "—", "–")


def when(mask: pl.Series, then: Any, otherwise: Any) -> pl.Series:
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
    return when(is_null_token, None, stripped).cast(pl.String).alias(s.name)


def has_non_ascii(s: pl.Series) -> bool:
    return bool((s.str.len_bytes() != s.str.len_chars()).any())


def nfkc_if_needed(s: pl.Series) -> pl.Series:
    # NOTE: full-width digits and punctuation (１２３，４５６．７８) are common in Chinese files.
    if has_non_ascii(s):
        return s.str.normalize("NFKC").str.replace_all("\u2212", "-", literal=True)
    return s


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
    words = nfkc_if_needed(s).str.to_lowercase()
    return words.replace_strict(_BOOL_WORDS, default=None, return_dtype=pl.Boolean)
