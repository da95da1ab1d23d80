"""Trading suspensions for the multi-day path: the optional ``suspensions`` table mapped to the
trading days of the stress horizon.

A suspended stock cannot be sold at any price: on 9 July 2015 1,442 of about 2,781 listed
A-share companies were suspended, and a position in one of them is carried, marked at its last
close, until it resumes and takes the move it missed. ``multiday.run_path`` honours suspensions
given as trading-day spans of the horizon (``PathParams.suspensions``); this module reads them
from the export.

Input: the table ``suspensions`` (audit/contract.py), one row per suspension: the instrument,
the first day without trading (``suspended_from``) and the first trading day again
(``resumed_on``, empty while still suspended), as the exchanges' 停复牌 notices give them.

Days: day 1 is the first trading day after the as-of date, day H the H-th. Each instrument
counts them on its exchange's calendar (exchange-calendars, through ``audit.calendar``): XSHG
for the Shanghai, Shenzhen and Beijing exchanges (one holiday schedule for all mainland
exchanges) and for any instrument of a book that holds Chinese instruments whose exchange is
not known; else the instrument's exchange code (an ISO 10383 MIC such as XNYS) when the
calendar library knows it; else weekdays. Past the calendar's last known session the days
continue as weekdays. A row suspends the instrument on the horizon days d with
suspended_from <= d < resumed_on: a suspension that began on or before the as-of date and has
not resumed by then is suspended from day 1. Several rows of one instrument give several spans.

Reported, not used: rows of instruments the book does not hold and rows whose resumption is
before their suspension (``flags`` in stress.json).

Sources: 上海证券交易所股票上市规则 and 深圳证券交易所股票上市规则 (2024 revisions), chapter on
停牌与复牌; 财新周刊, 10 Jul 2015 (suspensions of 9 July 2015).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from audit.stress.boards import _CODE, _exchange
from audit.stress.book import Book
from audit.stress.model import StressError
from audit.stress.multiday import PathParams, Span

TABLE = "suspensions"
CN_CALENDAR = "XSHG"
WEEKDAYS = "weekdays"


@dataclass(frozen=True)
class Suspensions:
    """The suspensions table read against one book and horizon."""

    spans: dict[int, list[Span]]  # instrument index -> (first, last) suspended horizon days
    source: str  # where the days came from, said in stress.json -> path.params
    flags: dict[str, int]  # rows reported, not used


def suspensions_at(book: Book, tables: dict[str, pl.DataFrame], as_of: date,
                   horizon: int) -> Suspensions | None:
    """The suspensions of the book's instruments over the ``horizon`` trading days after
    ``as_of``; None without a ``suspensions`` table (no instrument suspended)."""
    frame = tables.get(TABLE)
    if frame is None:
        return None
    missing = [c for c in ("instrument_id", "suspended_from") if c not in frame.columns]
    if missing:
        raise StressError(f"the {TABLE} table lacks column(s) {', '.join(missing)}; give "
                          "instrument_id and suspended_from (and resumed_on, empty while still "
                          "suspended), or leave the table out")
    resumed = pl.col("resumed_on") if "resumed_on" in frame.columns else pl.lit(None, pl.Date)
    rows = frame.select(pl.col("instrument_id").cast(pl.String),
                        pl.col("suspended_from").cast(pl.Date).alias("start"),
                        resumed.cast(pl.Date).alias("end"))
    index = pl.DataFrame({"instrument_id": book.instrument_ids.astype(str),
                          "k": np.arange(book.n_instruments, dtype=np.int64)})
    rows = rows.join(index, on="instrument_id", how="left")
    held = rows["k"].is_not_null().to_numpy()
    no_start = rows["start"].is_null().to_numpy()
    backwards = (rows["end"] < rows["start"]).fill_null(False).to_numpy()
    flags = {"suspensions_not_held": int((~held).sum()),
             "suspensions_resumed_before_suspended": int((held & backwards).sum()),
             "suspensions_without_start": int((held & no_start & ~backwards).sum())}
    use = rows.filter(pl.Series(held & ~no_start & ~backwards))

    calendars = instrument_calendars(book, tables.get("instruments"))
    spans: dict[int, list[Span]] = {}
    used: dict[str, int] = {}
    weekday_tail = False
    for name in sorted(set(calendars[use["k"].to_numpy()])) if use.height else []:
        days, tail = horizon_sessions(name, as_of, horizon)
        part = use.filter(pl.Series(calendars[use["k"].to_numpy()] == name))
        start = _day_numbers(part["start"])
        # NOTE: no resumption: suspended past the horizon.
        end = _day_numbers(part["end"], empty=np.iinfo(np.int64).max)
        first = np.searchsorted(days, start, side="left") + 1  # first horizon day >= start
        last = np.searchsorted(days, end, side="left")  # last horizon day < end
        hit = (first <= last) & (first <= horizon) & (last >= 1)
        for k, f, la in zip(part["k"].to_numpy()[hit], first[hit], last[hit]):
            spans.setdefault(int(k), []).append((int(f), int(la)))
        suspended_here = len(set(part["k"].to_numpy()[hit].tolist()))
        if suspended_here:
            used[name] = used.get(name, 0) + suspended_here
            weekday_tail |= tail
    spans = {k: _merge(v) for k, v in sorted(spans.items())}
    return Suspensions(spans=spans, source=_source(used, weekday_tail, as_of), flags=flags)


def with_suspensions(params: PathParams, found: Suspensions | None) -> PathParams:
    """``params`` with the table's suspensions, unless the caller gave suspensions itself (they
    win) or there is no table (no instrument suspended, params unchanged)."""
    if found is None or params.suspensions is not None:
        return params
    return replace(params, suspensions=found.spans or None, suspension_source=found.source)


def instrument_calendars(book: Book, instruments: pl.DataFrame | None) -> np.ndarray:
    """(K,) the calendar each instrument's horizon days are counted on (see the module)."""
    exchange = {}
    if instruments is not None and "exchange" in instruments.columns:
        exchange = dict(instruments.select(pl.col("instrument_id").cast(pl.String),
                                           pl.col("exchange").cast(pl.String))
                        .unique("instrument_id", keep="first").iter_rows())
    names = []
    for iid in book.instrument_ids.astype(str):
        given = exchange.get(iid)
        match = _CODE.search(iid)
        if _exchange(given, match.group(1) if match else None) is not None:
            names.append(CN_CALENDAR)
        elif given and _known_calendar(given.strip().upper()):
            names.append(given.strip().upper())
        else:
            names.append(None)
    # NOTE: a Chinese book's instrument of unknown exchange trades on the mainland's days.
    default = CN_CALENDAR if CN_CALENDAR in names else WEEKDAYS
    return np.array([n or default for n in names], dtype=object)


def _known_calendar(code: str) -> bool:
    from audit.calendar import CalendarError, trading_calendar

    try:
        trading_calendar(code)
    except CalendarError:
        return False
    return True


def horizon_sessions(name: str, as_of: date, horizon: int) -> tuple[np.ndarray, bool]:
    """Day numbers (since 1970-01-01) of the ``horizon`` trading days after ``as_of`` on
    calendar ``name`` (or weekdays), and whether weekdays had to continue past the calendar's
    last known session."""
    from audit.calendar import EPOCH, trading_calendar

    start = as_of.toordinal() - EPOCH.toordinal()
    days = np.empty(0, dtype=np.int64)
    if name != WEEKDAYS:
        sessions = trading_calendar(name).sessions.astype(np.int64)
        days = sessions[sessions > start][:horizon]
        start = int(max(start, sessions[-1]))
    tail = len(days) < horizon
    if tail:
        more = _weekdays_after(date.fromordinal(EPOCH.toordinal() + start), horizon - len(days))
        days = np.concatenate([days, more - EPOCH.toordinal()])
    return days, tail and name != WEEKDAYS


def _weekdays_after(day: date, n: int) -> np.ndarray:
    out = []
    while len(out) < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            out.append(day.toordinal())
    return np.array(out, dtype=np.int64)


def _day_numbers(s: pl.Series, empty: int = 0) -> np.ndarray:
    return s.cast(pl.Int64).fill_null(empty).to_numpy().astype(np.int64)


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping or adjacent spans of one instrument as one."""
    out: list[Span] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _source(used: dict[str, int], weekday_tail: bool, as_of: date) -> str:
    if not used:
        return (f"suspensions table: no suspension of a held instrument on the trading days "
                f"after {as_of.isoformat()}")
    where = "; ".join(f"{n} instrument(s) on " + (
        "weekdays (no known exchange calendar)" if c == WEEKDAYS else f"{c} sessions")
        for c, n in sorted(used.items()))
    tail = "; weekdays past the calendar's last known session" if weekday_tail else ""
    return (f"suspensions table (exchange suspension and resumption notices), day 1 = the first "
            f"trading day after {as_of.isoformat()}: {where}{tail}")
