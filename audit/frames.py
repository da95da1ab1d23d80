"""Polars helpers the engine shares: the left as-of join every time-aware lookup is built on."""

from __future__ import annotations

import polars as pl

_LEFT, _RIGHT = "__asof_left", "__asof_right"


def asof_left_join(lf: pl.LazyFrame, right: pl.LazyFrame, left_key: pl.Expr, right_key: str,
                   by: list[str], strategy: str = "backward") -> pl.LazyFrame:
    """``lf`` with the columns of the ``right`` row nearest in time (by ``strategy``), per ``by``.

    Every left row is kept: a row whose key is NULL, or that finds no right row, gets NULLs. On
    the right, rows with the same key keep their original order, so the last of several events
    of the same time is the one picked backward.
    """
    # NOTE: an as-of join needs a sort key on every left row; rows whose key is NULL (say, a
    # missing disclosure value) get no match instead of being dropped.
    key_type = pl.Datetime("us") if right.collect_schema()[right_key] != pl.Date else pl.Date
    lf = lf.with_columns(left_key.cast(key_type).alias(_LEFT))
    right = (right.with_columns(pl.col(right_key).cast(key_type).alias(_RIGHT))
             .drop(right_key).drop_nulls(_RIGHT).sort(_RIGHT, maintain_order=True))
    has_key = lf.filter(pl.col(_LEFT).is_not_null()).sort(_LEFT)
    no_key = lf.filter(pl.col(_LEFT).is_null())
    matched = has_key.join_asof(right, left_on=_LEFT, right_on=_RIGHT, by=by or None,
                                strategy=strategy, check_sortedness=False)
    added = [c for c in right.collect_schema().names() if c not in by]
    unmatched = no_key.with_columns(*[pl.lit(None).alias(c) for c in added])
    combined = pl.concat([matched, unmatched], how="diagonal_relaxed")
    return combined.drop(_LEFT, _RIGHT)
