"""The disclosure in force: which version of the platform's published terms applied at a time.

A platform publishes its margin lines, notice periods, rates and caps, and changes them. A
liquidation in 2024 is judged against the line published for 2024, not the one on the website
today (a contract is governed by the terms in force when it was made or acted on). The
``platform`` table holds one row per version; a version is in force from its ``effective_from``
date, else its ``disclosed_at`` date, until the next version starts. A record dated before every
version has no disclosure in force: it cannot be judged, and rules count it as not evaluable.

One undated row is taken as in force at every date (a single-version export that gives no
date); several versions without dates cannot be ordered, so undated rows are then left out and
said so.

Rules reach this through ``disclosure_at:`` (the record's time); ``platform.<column>`` then reads
the version in force at that time. The stress analytics and the report use ``in_force_at``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from audit.vocab import DISCLOSURE_PREFIX, UNDETERMINED_PREFIX

IN_FORCE_FROM = "in_force_from"
IN_FORCE = "in_force"
NO_DISCLOSURE = UNDETERMINED_PREFIX + "disclosure"
_FOREVER = date(1, 1, 1)


def versions(platform: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(the versions that can be in force, sorted by ``in_force_from``; undated rows left out)."""
    starts = pl.coalesce(_col_or_null(platform, "effective_from"),
                         _col_or_null(platform, "disclosed_at")).cast(pl.Date)
    frame = platform.with_columns(starts.alias(IN_FORCE_FROM))
    if frame.height == 1 and frame[IN_FORCE_FROM][0] is None:
        return frame.with_columns(pl.lit(_FOREVER, dtype=pl.Date).alias(IN_FORCE_FROM)), 0
    dated = frame.filter(pl.col(IN_FORCE_FROM).is_not_null())
    return dated.sort(IN_FORCE_FROM, maintain_order=True), frame.height - dated.height


def with_in_force(platform: pl.DataFrame, as_of: date | None) -> pl.DataFrame:
    """The platform table with the computed ``in_force_from`` and ``in_force`` columns."""
    starts = pl.coalesce(_col_or_null(platform, "effective_from"),
                         _col_or_null(platform, "disclosed_at")).cast(pl.Date)
    frame = platform.with_columns(starts.alias(IN_FORCE_FROM))
    current = in_force_row_number(platform, as_of)
    if current is None:
        return frame.with_columns(pl.lit(False).alias(IN_FORCE))
    row_number = pl.int_range(0, pl.len(), dtype=pl.Int64)
    return frame.with_columns((row_number == current).alias(IN_FORCE))


def in_force_row_number(platform: pl.DataFrame, at: date | None) -> int | None:
    """Position (0-based, file order) of the version in force at ``at`` (None: the latest)."""
    indexed = platform.with_row_index("__position")
    ordered, _ = versions(indexed)
    if at is not None:
        ordered = ordered.filter(pl.col(IN_FORCE_FROM) <= at)
    return None if ordered.height == 0 else int(ordered["__position"][-1])


def in_force_at(tables: dict[str, pl.DataFrame], at: date | None) -> dict[str, Any] | None:
    """The disclosure row in force at ``at`` (None: the latest), or None when none was."""
    frame = tables.get("platform")
    if frame is None or frame.height == 0:
        return None
    position = in_force_row_number(frame, at)
    return None if position is None else frame.row(position, named=True)


def attach(lf: pl.LazyFrame, at: pl.Expr, fields: list[str], platform: pl.DataFrame) -> pl.LazyFrame:
    """``lf`` with ``DISCLOSURE_PREFIX + field`` columns of the version in force at ``at`` and a
    flag column marking records whose time precedes every version."""
    ordered, _ = versions(platform)
    wanted = list(dict.fromkeys([IN_FORCE_FROM, *fields]))
    # NOTE: a binary search of the few version dates, then a gather of each field by the
    # version's number: no sort of, and no join on, the (possibly million-row) records.
    starts = ordered[IN_FORCE_FROM]
    day = at.cast(pl.Date)
    number = pl.lit(starts).search_sorted(day.fill_null(_FOREVER), side="right").cast(pl.Int64) - 1
    known = day.is_not_null() & (number >= 0)
    picks = [pl.when(known).then(pl.lit(ordered[f]).gather(number.clip(0))).otherwise(None)
             .alias(DISCLOSURE_PREFIX + f) for f in wanted]
    return lf.with_columns(*picks, (day.is_not_null() & (number < 0)).alias(NO_DISCLOSURE))


def earliest(platform: pl.DataFrame) -> date | None:
    ordered, _ = versions(platform)
    return None if ordered.height == 0 else ordered[IN_FORCE_FROM][0]


def _col_or_null(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.Date)
