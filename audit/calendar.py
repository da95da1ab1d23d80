"""Trading calendars and calendar arithmetic: the days an exchange trades, counted for deadlines.

Margin contracts count their periods in trading days (a T+2 top-up skips the weekend and the
Spring Festival) and eligibility rules in calendar months ("six months of trading"). Rule
expressions reach both through the functions below, compiled to polars by ``audit.expr``. The
sessions come from exchange-calendars (XSHG, XNYS, XLON, XETR, XHKG ...), chosen per profile by
the ``trading_calendar`` parameter and overridable per run with ``--param``.

Trading days are counted by index: ``index(d)`` is the number of sessions on or before ``d``, so a
Saturday counts as the Friday before it. Then

* ``trading_days_between(a, b) = index(b) - index(a)``: Friday to Monday is 1, Friday 10:00 to
  Friday 18:00 is 0;
* ``trading_day(t, n)`` is the session whose index is ``index(t) + n``: the n-th trading day after
  t (before t for negative n), counted from t's own trading day, which is t's date when it is a
  session and else the last session before it; so ``trading_days_between(t, trading_day(t, n))``
  is always n;
* ``next_trading_day(t)`` is the first session on or after t's date.

A date outside the calendar's range (exchange-calendars records holidays only so far ahead) has
no answer: the functions return NULL and the rule engine counts the record as not evaluable
rather than guess a holiday-free week.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import polars as pl

from audit.errors import UsageError

EPOCH = date(1970, 1, 1)
EARLIEST = "1990-01-01"
# NOTE: exchange-calendars has one calendar for the Shanghai exchange (XSHG); the Shenzhen and
# Beijing exchanges close on the same days (one holiday schedule for all mainland exchanges,
# published each year by the CSRC), so their codes read the XSHG sessions.
ALIASES = {"XSHE": "XSHG", "BJSE": "XSHG"}


class CalendarError(UsageError, ValueError):
    """A trading calendar that does not exist; the message lists what to use instead."""


@dataclass(frozen=True)
class TradingCalendar:
    """The sessions of one exchange, as day numbers since 1970-01-01 (sorted)."""

    name: str  # as asked for (XSHE)
    source: str  # the exchange-calendars calendar that supplies the sessions (XSHG)
    sessions: np.ndarray  # int32 day numbers

    @property
    def first(self) -> date:
        return date.fromordinal(EPOCH.toordinal() + int(self.sessions[0]))

    @property
    def last(self) -> date:
        return date.fromordinal(EPOCH.toordinal() + int(self.sessions[-1]))

    def describe(self) -> str:
        via = f" (sessions of {self.source})" if self.source != self.name else ""
        return f"{self.name}{via}, {self.first} to {self.last}"

    # --- numpy kernels over day numbers; -1 marks "no answer" ---------------------------------
    def _in_range(self, days: np.ndarray) -> np.ndarray:
        return (days >= self.sessions[0]) & (days <= self.sessions[-1])

    def index(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.sessions, days, side="right")

    def shift(self, days: np.ndarray, n: np.ndarray) -> np.ndarray:
        target = self.index(days) + n
        ok = self._in_range(days) & (target >= 1) & (target <= len(self.sessions))
        out = np.full(days.shape, -1, dtype=np.int64)
        out[ok] = self.sessions[target[ok] - 1]
        return out

    def between(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = self._in_range(a) & self._in_range(b)
        return self.index(b) - self.index(a), ok

    def closed_days(self, days: list[date]) -> list[date]:
        """The dates among ``days`` inside the calendar's range on which it has no session."""
        nums = np.array([d.toordinal() - EPOCH.toordinal() for d in days], dtype=np.int64)
        closed = self._in_range(nums) & ~np.isin(nums, self.sessions)
        return sorted(d for d, c in zip(days, closed) if c)

    def next_session(self, days: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.sessions, days, side="left")
        ok = self._in_range(days) & (i < len(self.sessions))
        out = np.full(days.shape, -1, dtype=np.int64)
        out[ok] = self.sessions[i[ok]]
        return out


def known_calendars() -> list[str]:
    import exchange_calendars as xc

    return sorted(set(xc.get_calendar_names(include_aliases=False)) | set(ALIASES))


@lru_cache(maxsize=None)
def trading_calendar(name: str) -> TradingCalendar:
    """The calendar called ``name`` (an ISO 10383 MIC such as XSHG or XNYS), widest range."""
    import exchange_calendars as xc
    import pandas as pd

    code = str(name).strip().upper()
    source = ALIASES.get(code, code)
    # NOTE: exchange-calendars builds its calendars with pandas calls that newer pandas marks
    # deprecated; those warnings are the library's, not the user's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            default = xc.get_calendar(source)
        except xc.errors.InvalidCalendarName:
            known = ", ".join(c for c in known_calendars() if c.startswith("X"))
            raise CalendarError(f"unknown trading calendar {name!r}; use an exchange code such "
                                f"as XSHG, XNYS, XLON, XETR, XHKG (known: {known})") from None
        bound = default.bound_min()
        start = pd.Timestamp(EARLIEST) if bound is None else max(pd.Timestamp(EARLIEST), bound)
        try:
            cal = xc.get_calendar(source, start=start, end=default.last_session)
        except ValueError:
            cal = default
        days = np.array([d.toordinal() - EPOCH.toordinal() for d in cal.sessions.date],
                        dtype=np.int32)
    return TradingCalendar(name=code, source=source, sessions=np.ascontiguousarray(days))


# --- polars builders (used by the expression compiler) -------------------------------------

def _day_numbers(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Date).cast(pl.Int32).fill_null(0).to_numpy().astype(np.int64)


def _as_dates(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    out = pl.Series(values.astype(np.int32)).cast(pl.Date)
    return out.scatter(np.flatnonzero(~valid), None) if (~valid).any() else out


def trading_day(cal: TradingCalendar, t: pl.Expr, n: pl.Expr) -> pl.Expr:
    def kernel(s: pl.Series) -> pl.Series:
        days, steps = s.struct.field("t"), s.struct.field("n")
        known = (days.is_not_null() & steps.is_not_null()).to_numpy()
        shifted = cal.shift(_day_numbers(days), steps.cast(pl.Int64).fill_null(0).to_numpy())
        return _as_dates(shifted, known & (shifted >= 0))

    return pl.struct(t.cast(pl.Date).alias("t"), n.cast(pl.Int64).alias("n")).map_batches(
        kernel, return_dtype=pl.Date)


def trading_days_between(cal: TradingCalendar, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    def kernel(s: pl.Series) -> pl.Series:
        first, second = s.struct.field("a"), s.struct.field("b")
        known = (first.is_not_null() & second.is_not_null()).to_numpy()
        count, ok = cal.between(_day_numbers(first), _day_numbers(second))
        out = pl.Series(count.astype(np.int64))
        bad = np.flatnonzero(~(known & ok))
        return out.scatter(bad, None) if len(bad) else out

    return pl.struct(a.cast(pl.Date).alias("a"), b.cast(pl.Date).alias("b")).map_batches(
        kernel, return_dtype=pl.Int64)


def next_trading_day(cal: TradingCalendar, t: pl.Expr) -> pl.Expr:
    def kernel(s: pl.Series) -> pl.Series:
        nxt = cal.next_session(_day_numbers(s))
        return _as_dates(nxt, s.is_not_null().to_numpy() & (nxt >= 0))

    return t.cast(pl.Date).map_batches(kernel, return_dtype=pl.Date)


def is_trading_day(cal: TradingCalendar, t: pl.Expr) -> pl.Expr:
    def kernel(s: pl.Series) -> pl.Series:
        days = _day_numbers(s)
        hit = np.isin(days, cal.sessions)
        ok = s.is_not_null().to_numpy() & cal._in_range(days)
        out = pl.Series(hit)
        bad = np.flatnonzero(~ok)
        return out.scatter(bad, None) if len(bad) else out

    return t.cast(pl.Date).map_batches(kernel, return_dtype=pl.Boolean)


def add_months(d: pl.Expr, n: pl.Expr) -> pl.Expr:
    """``d`` plus ``n`` calendar months, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    return d.cast(pl.Date).dt.offset_by(pl.format("{}mo", n.cast(pl.Int64)))


def end_of_day(t: pl.Expr) -> pl.Expr:
    """The last microsecond of ``t``'s date: a deadline "by the end of that day"."""
    return (t.cast(pl.Date).cast(pl.Datetime("us")) + pl.duration(days=1)
            - pl.duration(microseconds=1))
