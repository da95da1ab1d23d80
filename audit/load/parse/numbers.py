"""Numbers: currency signs, thousands marks, (negatives), %, ‰, 万 and 亿, full-width digits and a
decimal comma, with a fast path for plain machine numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from audit.contract import FLOAT, INT, MONEY, RATE, Column
from audit.load.parse.text import nfkc_if_needed, when

if TYPE_CHECKING:
    from audit.load.parse.context import ParseContext

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
    t = nfkc_if_needed(s)
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
    canonical = when(valid, canonical, None).cast(pl.String)
    if col.type == INT:
        return _integer_from_canonical(canonical, scale)
    return finite_or_null(canonical.cast(pl.Float64, strict=False) * scale.fill_null(1.0))


def _integer_from_canonical(canonical: pl.Series, scale: pl.Series) -> pl.Series:
    # NOTE: digits-only text is cast directly: going through float would lose digits past 2**53.
    plain = canonical.str.contains(r"^[-+]?[0-9]+$") & scale.is_null()
    exact = when(plain, canonical, None).cast(pl.String).cast(pl.Int64, strict=False)
    approx = whole_to_int(canonical.cast(pl.Float64, strict=False) * scale.fill_null(1.0))
    return when(plain.fill_null(False), exact, approx).cast(pl.Int64)


def whole_to_int(value: pl.Series) -> pl.Series:
    whole = value.is_finite() & (value == value.round(0)) & (value.abs() < 9.2e18)
    return when(whole.fill_null(False), value, None).cast(pl.Float64).cast(pl.Int64, strict=False)


def finite_or_null(value: pl.Series) -> pl.Series:
    return when(value.is_finite().fill_null(False), value, None).cast(pl.Float64)


def plain_number(s: pl.Series, col: Column) -> pl.Series | None:
    """Fast path for plain machine numbers (1234.5); None when the column needs the full parser."""
    value = s.cast(pl.Int64 if col.type == INT else pl.Float64, strict=False)
    if (s.is_not_null() & value.is_null()).any():
        return None
    if col.type == INT:
        return value
    if s.str.contains(_AMBIGUOUS_DOT).any():
        return None  # '1.234' may be a thousands mark in a decimal-comma file
    return finite_or_null(value)


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
