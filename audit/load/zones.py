"""Time zones: the export's one zone Z, checked zone names, and date-times brought into Z.

Rules compare date-times across tables, so every date-time of an export is wall-clock time in Z
(naive ``pl.Datetime("us")``): a value written with an offset is converted from that offset, a
value without one is taken in its table's zone (``tables.<name>.timezone``, else Z) and
converted from there. Nothing here reports; it returns what a reporter needs to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from audit.load.types import DEFAULT_ZONE, LoadError

OFFSETS_SHOWN = 4  # a note lists this many offsets, then how many more
# NOTE: real offsets lie within -12:00..+14:00; anything past 18 hours is a typo, not a zone.
_MAX_OFFSET_MINUTES = 18 * 60


@lru_cache(maxsize=None)
def _is_known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    # NOTE: polars has its own zone database; a name only zoneinfo knows (localtime) would fail
    # later, in the middle of a table.
    try:
        pl.Series([datetime(2000, 1, 1)]).dt.replace_time_zone(name)
    except Exception:  # noqa: BLE001 - polars raises ComputeError for an unknown zone
        return False
    return True


def check_zone(name: object, where: str) -> str:
    """``name`` when it is an IANA time zone; else a one-line LoadError naming ``where``."""
    if not isinstance(name, str) or not _is_known_zone(name):
        raise LoadError(f"{where} {name!r}: not a known time zone; use an IANA name such as "
                        f"Asia/Shanghai or UTC")
    return name


@dataclass(frozen=True)
class TableZones:
    """The zones one table's date-times are read with."""

    export: str = DEFAULT_ZONE  # Z: every date-time ends as wall-clock time in this zone
    naive: str = DEFAULT_ZONE  # the zone of values written without an offset


@dataclass
class Converted:
    """Date-times brought into Z, and what a reporter should say about them."""

    value: pl.Series
    notes: list[str]
    nonexistent: pl.Series | None = None  # cells whose local time the clocks skipped (now null)


def offset_minutes(tz: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(minutes east of UTC, null without an offset; offsets out of range) from offset text.

    Offsets are written ``Z``, ``UTC``, ``GMT``, ``+08:00``, ``+0800`` or ``-05``.
    """
    text = tz.str.to_uppercase().str.replace_all(":", "", literal=True)
    utc = text.is_in(["Z", "UTC", "GMT"])
    hours = text.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = text.str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0)
    sign = pl.select(pl.when(text.str.starts_with("-")).then(-1).otherwise(1)).to_series()
    total = pl.select(pl.when(utc).then(0).otherwise(sign * (hours * 60 + minutes))).to_series()
    bad = ((minutes > 59) | (total.abs() > _MAX_OFFSET_MINUTES)).fill_null(False)
    bad = bad & tz.is_not_null()
    total = pl.select(pl.when(bad).then(None).otherwise(total)).to_series()
    return total.cast(pl.Int32).alias(tz.name), bad


def show_offset(minutes: int) -> str:
    """+08:00, -05:00, +00:00."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _shown_offsets(minutes: list[int]) -> str:
    shown = ", ".join(show_offset(m) for m in minutes[:OFFSETS_SHOWN])
    more = len(minutes) - OFFSETS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _utc_to(utc: pl.Series, zone: str) -> pl.Series:
    """Naive UTC times as naive wall-clock times in ``zone``."""
    if zone == "UTC":
        return utc
    return utc.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.replace_time_zone(None)


def naive_to_export(
    wall: pl.Series, zones: TableZones, column: str, rows: pl.Series, among: pl.Series | None = None
) -> Converted:
    """Wall-clock times of the table's zone as wall-clock times of Z (``among``: rows to consider).

    A time the clocks skipped (spring forward) does not exist: it becomes null and is returned in
    ``nonexistent`` for the caller to report as unreadable. A time the clocks repeated (fall back)
    is taken as the earlier of the two, and noted.
    """
    if zones.naive == zones.export:
        return Converted(wall, [])  # NOTE: already in Z, so no conversion and no DST question
    local = wall.dt.replace_time_zone(zones.naive, ambiguous="null", non_existent="null")
    among = wall.is_not_null() if among is None else among & wall.is_not_null()
    notes = []
    skipped = None
    unsure = wall.is_not_null() & local.is_null()
    if unsure.any():  # NOTE: rare, so the common case converts once
        local = wall.dt.replace_time_zone(zones.naive, ambiguous="earliest", non_existent="null")
        repeated = among & unsure & local.is_not_null()
        if repeated.any():
            notes.append(
                f"column '{column}': {repeated.sum()} value(s) fall in the hour repeated when "
                f"the clocks went back in {zones.naive} (first at row "
                f"{rows.filter(repeated)[0]}); the earlier of the two times was taken"
            )
        skipped = among & local.is_null()
        skipped = skipped if skipped.any() else None
    value = local.dt.convert_time_zone(zones.export).dt.replace_time_zone(None)
    return Converted(value.cast(pl.Datetime("us")).alias(wall.name), notes, skipped)


def to_export_zone(
    wall: pl.Series, offsets: pl.Series | None, zones: TableZones, column: str, rows: pl.Series
) -> Converted:
    """Date-times, some perhaps written with an offset (minutes), as wall-clock times of Z."""
    if offsets is None or not (wall.is_not_null() & offsets.is_not_null()).any():
        return naive_to_export(wall, zones, column, rows)
    with_offset = wall.is_not_null() & offsets.is_not_null()
    naive = naive_to_export(wall, zones, column, rows, among=~with_offset)
    frame = pl.DataFrame({"wall": wall, "offset": offsets})
    shift = pl.duration(minutes=pl.col("offset").fill_null(0))
    utc = frame.select((pl.col("wall") - shift).cast(pl.Datetime("us"))).to_series()
    aware = _utc_to(utc, zones.export)
    value = pl.select(pl.when(with_offset).then(aware).otherwise(naive.value)).to_series()
    note = _offset_note(wall, offsets, with_offset, utc, aware, zones, column, rows)
    return Converted(value.cast(pl.Datetime("us")).alias(wall.name),
                     naive.notes + ([note] if note else []), naive.nonexistent)


def _offset_note(wall, offsets, with_offset, utc, aware, zones, column, rows) -> str | None:
    """What was done with a column's offsets, when it is worth saying (one note per column)."""
    seen = sorted(offsets.filter(with_offset).unique().to_list())
    without = wall.is_not_null() & ~with_offset
    z = zones.export
    if without.any():
        taken = f"taken as {zones.naive} time"
        if zones.naive != z:
            taken += f" and converted to {z} time"
        others = (f"the others carry {show_offset(seen[0])}" if len(seen) == 1
                  else f"the others mix offsets ({_shown_offsets(seen)})")
        return (f"column '{column}': {without.sum()} of {wall.is_not_null().sum()} values carry "
                f"no time-zone offset (first at row {rows.filter(without)[0]}), {others}; those "
                f"without were {taken}, the others converted to {z} time")
    if len(seen) > 1:
        return (f"column '{column}' mixes time-zone offsets ({_shown_offsets(seen)}); all values "
                f"were converted to {z} time")
    zone_offset = (aware - utc).dt.total_minutes()
    if (zone_offset != offsets).filter(with_offset).any():
        return (f"column '{column}': every value carries the time-zone offset "
                f"{show_offset(seen[0])} while the export's time zone is {z}; the values were "
                f"converted from {show_offset(seen[0])} to {z} time")
    return None


def aware_to_export(s: pl.Series, zones: TableZones, column: str) -> Converted:
    """A zone-aware column (Parquet) as wall-clock times of Z; a note when its zone is not Z."""
    value = s.dt.convert_time_zone(zones.export).dt.replace_time_zone(None)
    notes = []
    if s.dtype.time_zone != zones.export and s.is_not_null().any():
        notes.append(f"column '{column}' is stored in time zone {s.dtype.time_zone} while the "
                     f"export's time zone is {zones.export}; its values were converted to "
                     f"{zones.export} time")
    return Converted(value.cast(pl.Datetime("us")), notes)
