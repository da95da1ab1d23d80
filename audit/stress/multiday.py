"""The multi-day engine: a scenario's fall taken day by day under the exchanges' daily price
limits, with forced sales capped by the day's limit and a participation rate of volume.

The one-instant engine (``spiral``) sells every closed-out position at once, however many days
of volume it is, down to a price floor. Here the scenario plays out over a horizon of H trading
days (default 10, the horizon of the Bank of England's system-wide exploratory scenario,
"severe, but plausible, 10-day shocks"):

- **Exogenous path.** Each instrument's scenario move (its total close-to-close factor, the
  array ``spiral.shock_factors`` gives) happens as fast as its daily price limit allows: each
  day the exogenous fall is min(limit, what remains). Markets without daily limits take the
  whole move on day 1.
- **Locked limit-down.** A day whose exogenous fall reaches the limit (within 1e-9) is locked
  limit-down: sellers queue at the limit price and nothing trades (on 7 July 2015 over 1,700
  A-shares closed limit-down). A suspended day (``PathParams.suspensions``, one or more spans
  per instrument; ``suspensions`` reads them from the optional table): nothing trades and the
  price stays at the last close; the exogenous move not yet taken waits for resumption. One
  still suspended at the horizon is marked at the scenario's full move (the gap it reopens
  with), never at its last close.
- **Forced sales** on a trading day add impact on top of the exogenous price: the impact law of
  ``ImpactModel`` on the cumulative units sold Q (impact is permanent over the horizon: nobody
  buys, Cont & Schaanning's asymmetry), executed at the integral of the impact curve. A day's
  total fall from the previous close never exceeds the limit: sales stop at the quantity whose
  impact reaches it, and at ``participation`` x ADV. Sellers of one instrument share the day's
  capacity pro rata to what they still hold.
- **Triggers.** At each day's close (day 0 is the as-of close; the first stressed day is day 1)
  an account with debt whose collateral ratio (cash + sale proceeds + positions marked) / debt
  has crossed the liquidation line is closed out from the next trading day; one in call only is
  closed out after ``grace_days`` more closes if still in call (a call is not met in a crisis).
  Full close-out, executed over days as capacity allows; proceeds repay debt. Positions held at
  the as-of date are all sellable (T+1 is satisfied); sale proceeds settle T+1, which matters
  for funding, not for the shortfall.
- **Horizon.** Units still unsold at day H are marked at the day-H price (on the limit path).

Sources: daily limits, ``boards``; Bank of England, "The Bank of England's system-wide
exploratory scenario exercise final report" (29 Nov 2024) and its scenario (10 Nov 2023);
Cont & Schaanning (2017), Norges Bank WP 2/2017; Caccioli, Bouchaud & Farmer (2012).

Speed: numpy over positions each day; the only Python loop is over the H days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit.stress.boards import daily_limits
from audit.stress.book import Book
from audit.stress.model import ImpactModel, Lines, StressError
from audit.stress.spiral import _shortfall, _wiped_out

LOCK_TOL = 1e-9  # an exogenous fall within this of the limit locks the day
Span = tuple[int, int]  # (first, last) suspended trading day of the horizon, 1-based, inclusive


# The share of a day's volume a forced seller takes (the review's 20%): the default of the path
# and of every days-to-liquidate figure.
PARTICIPATION = 0.20


@dataclass(frozen=True)
class PathParams:
    """Parameters of the multi-day path."""

    horizon: int = 10  # trading days (BoE SWES: 10-day shocks)
    participation: float = PARTICIPATION  # max share of stressed ADV the platform's sales take per day
    grace_days: int = 1  # trading days between a call-line breach and the forced sale when the
    #                      account is above the liquidation line
    # instrument index -> (first, last) suspended day, or a list of such spans
    suspensions: dict[int, Span | list[Span]] | None = None
    # where the suspended days came from (suspensions.py), said in stress.json; None: the caller
    suspension_source: str | None = None

    def __post_init__(self) -> None:
        if int(self.horizon) != self.horizon or self.horizon < 1:
            raise StressError(f"path horizon {self.horizon!r}: give a whole number of trading "
                              "days, at least 1")
        if not 0 < self.participation <= 1:
            raise StressError(f"participation {self.participation!r}: give the share of a day's "
                              "volume the platform's sales may take, in (0, 1]")
        if int(self.grace_days) != self.grace_days or self.grace_days < 0:
            raise StressError(f"grace days {self.grace_days!r}: give a whole number of trading "
                              "days, 0 or more")
        for k, value in (self.suspensions or {}).items():
            spans = suspension_spans(value)
            if spans is None or any(first > last or first < 1 for first, last in spans):
                raise StressError(f"suspension of instrument {k}: give (first, last) trading "
                                  "days with 1 <= first <= last, or a list of such spans")

    def describe(self) -> dict[str, Any]:
        out = {"horizon_days": int(self.horizon), "participation": self.participation,
               "grace_days": int(self.grace_days),
               "suspended_instruments": len(self.suspensions or {})}
        if self.suspension_source is not None:
            out["suspension_days_from"] = self.suspension_source
        return out


def suspension_spans(value: Any) -> list[Span] | None:
    """The (first, last) spans of one instrument's entry in ``PathParams.suspensions``: one
    span, or a list of spans (several suspensions in the horizon). None: neither."""
    def span(v: Any) -> Span | None:
        if isinstance(v, (tuple, list)) and len(v) == 2 and all(
                isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
                and float(x).is_integer() for x in v):
            return int(v[0]), int(v[1])
        return None

    one = span(value)
    if one is not None:
        return [one]
    if not isinstance(value, (tuple, list)) or not value:
        return None
    spans = [span(v) for v in value]
    return None if any(s is None for s in spans) else spans  # type: ignore[return-value]


def grace_days_from(disclosure: dict[str, Any] | None) -> int:
    """Trading days from a call-line breach to the forced sale: the call response plus the
    notice period, each in trading days where the disclosure gives them, else its hours / 24
    rounded up. 1 when the disclosure gives neither (a call answered by the next close)."""
    d = disclosure or {}
    parts = []
    for days_key, hours_key in (("call_response_trading_days", "call_response_hours"),
                                ("notice_period_trading_days", "notice_period_hours")):
        days, hours = d.get(days_key), d.get(hours_key)
        if days is not None and not _nan(days):
            parts.append(max(int(days), 0))
        elif hours is not None and not _nan(hours):
            parts.append(max(math.ceil(float(hours) / 24), 0))
    return sum(parts) if parts else 1


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@dataclass
class PathOutcome:
    """What one scenario does to the book over the horizon."""

    params: PathParams
    shortfall: float  # sum over accounts with debt of max(0, debt - cash - proceeds - held at H)
    static_shortfall: float  # day-H exogenous marks, nobody sold
    value_unsold: float  # closed-out accounts' positions not sold, at the day-H mark
    units_unsold: float
    gap_loss: float  # closed-out accounts: value at the trigger close - realised - held at H
    sales_value: float  # proceeds of every forced sale over the horizon
    accounts_closed: int  # accounts whose close-out was decided by day H's close
    wiped_out: int  # accounts with debt and no equity at day H
    days_locked_max: int
    instruments_locked_every_day: int
    days_to_liquidate: float | None  # max units to sell / (participation x ADV); None: no ADV
    illiquid_instruments_sold: int  # instruments to sell with no positive ADV
    no_market_instruments_sold: int  # of them, ADV 0: no market at all
    unsellable_within_horizon: list[str]  # instruments with units unsold at day H
    daily: list[dict[str, Any]]
    prices: np.ndarray = field(repr=False)  # (H + 1, K) price factor at each close, day 0 = 1
    units_sold: np.ndarray = field(repr=False)  # (H + 1, K) units sold each day
    units_to_sell: np.ndarray = field(repr=False)  # (K,) units of closed-out accounts
    days_locked: np.ndarray = field(repr=False)  # (K,) locked limit-down days
    assets: np.ndarray = field(repr=False)  # (N,) cash + proceeds + held at H
    proceeds: np.ndarray = field(repr=False)  # (N,) what each account's forced sales realised
    closed: np.ndarray = field(repr=False)  # (N,) bool
    # instruments still suspended at the horizon with part of their move untaken: marked at
    # the scenario's full move (the gap they open with), not at their last close; or suspended
    # earlier and marked down to the limit path they would have followed unsuspended
    marked_at_reopening: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"shortfall": self.shortfall, "static_shortfall": self.static_shortfall,
                "value_unsold": self.value_unsold, "units_unsold": self.units_unsold,
                "gap_loss": self.gap_loss, "sales_value": self.sales_value,
                "accounts_closed": self.accounts_closed, "wiped_out": self.wiped_out,
                "days_locked_max": self.days_locked_max,
                "instruments_locked_every_day": self.instruments_locked_every_day,
                "days_to_liquidate": self.days_to_liquidate,
                "illiquid_instruments_sold": self.illiquid_instruments_sold,
                "no_market_instruments_sold": self.no_market_instruments_sold,
                "unsellable_within_horizon": list(self.unsellable_within_horizon)}


def run_path(book: Book, shocked: np.ndarray, lines: Lines, impact: ImpactModel,
             params: PathParams | None = None, weights: np.ndarray | None = None) -> PathOutcome:
    """The scenario whose total price factor per instrument is ``shocked``, day by day over
    ``params.horizon`` trading days (see the module's docstring for the rules)."""
    params = params or PathParams()
    n, k, horizon = book.n_accounts, book.n_instruments, int(params.horizon)
    weights = book.value_weights if weights is None else weights
    target = np.asarray(shocked, dtype=np.float64)
    limit = (np.full(k, np.inf) if book.board is None
             else daily_limits(book.board)).astype(np.float64)
    suspended_on = _suspension_days(params.suspensions, k, horizon)
    vol = np.array([impact.vol_for(c) for c in book.asset_class], dtype=np.float64)
    adv = book.adv
    liquid = adv > 0  # NaN (unknown) and 0 (no market): nothing can be sold
    capacity = np.where(liquid, params.participation * np.where(liquid, adv, 0.0), 0.0)
    leveraged = book.debt > 0
    # NOTE: positions live in two sets: those of open accounts (marked each close) and the
    # queue of closed-out accounts' positions (sold pro rata, marked on what remains). A
    # position moves from the first to the second when its account is closed out, and leaves
    # the queue once sold out, so each day touches only what can still change.
    o_acct, o_inst, o_units, o_value = book.leveraged_positions
    q_acct = np.empty(0, dtype=np.int64)
    q_inst = np.empty(0, dtype=np.int64)
    q_units, q_value, q_rem = np.empty(0), np.empty(0), np.empty(0)  # q_rem: share not yet sold

    exo = np.ones(k)  # exogenous price factor
    price = np.ones(k)  # exo x (1 - impact of the cumulative sales)
    psi = np.zeros(k)
    cum_sold = np.zeros(k)
    queue = np.zeros(k)  # units closed-out accounts still have to sell
    to_sell = np.zeros(k)
    closed = np.zeros(n, dtype=bool)
    call_since = np.full(n, -1, dtype=np.int64)
    proceeds = np.zeros(n)
    value_at_trigger = np.zeros(n)
    days_locked = np.zeros(k, dtype=np.int64)
    prices = np.ones((horizon + 1, k))
    units_sold = np.zeros((horizon + 1, k))
    daily: list[dict[str, Any]] = []
    for day in range(horizon + 1):
        sales, locked, suspended = 0.0, np.zeros(k, dtype=bool), np.zeros(k, dtype=bool)
        before = price
        if day > 0:
            suspended = suspended_on[day]
            step = _exogenous_step(exo, target, limit)
            step[suspended] = 1.0
            locked = ~suspended & (1.0 - step >= limit - LOCK_TOL)
            exo = exo * step
            trading = ~suspended & ~locked & (queue > 0)
            if trading.any():
                room = _room_to_limit(impact, cum_sold, exo, before, limit, adv, vol)
                sell = np.where(trading, np.minimum(np.minimum(queue, capacity), room), 0.0)
                sell = np.maximum(sell, 0.0)
                if sell.any():
                    after = cum_sold + sell
                    executed = exo * (1 - impact.average_fall(cum_sold, after, adv, vol))
                    share = np.divide(sell, queue, out=np.zeros(k), where=queue > 0)
                    # NOTE: pro rata to what each seller still holds: every queued position of
                    # an instrument sells the same share of its remainder.
                    part = q_rem * share[q_inst]
                    got = q_value * part * executed[q_inst]
                    proceeds += np.bincount(q_acct, weights=got, minlength=n)
                    sales = float(got.sum())
                    q_rem = q_rem - part
                    queue = np.where(sell >= queue, 0.0, queue - sell)
                    cum_sold = after
                    psi = impact.impact(cum_sold, adv, vol)
                    units_sold[day] = sell
            price = exo * (1 - psi)
            days_locked += locked
        prices[day] = price
        o_held = o_value * price[o_inst]
        q_held = q_value * q_rem * price[q_inst]
        assets = (book.cash + proceeds + np.bincount(o_acct, weights=o_held, minlength=n)
                  + np.bincount(q_acct, weights=q_held, minlength=n))
        # --- the close: who is closed out from the next trading day -------------------------
        open_ = leveraged & ~closed
        breach = open_ & lines.crossed(assets, lines.liquidation, book.debt)
        in_call = open_ & lines.crossed(assets, lines.call, book.debt)
        call_since = np.where(in_call, np.where(call_since < 0, day, call_since), -1)
        trigger = breach | (in_call & (day - call_since >= params.grace_days))
        if trigger.any():
            new = trigger[o_acct]
            closed |= trigger
            add = np.bincount(o_inst[new], weights=o_units[new], minlength=k)
            queue = queue + add
            to_sell += add
            value_at_trigger += np.bincount(o_acct[new], weights=o_held[new], minlength=n)
            q_acct = np.concatenate([q_acct, o_acct[new]])
            q_inst = np.concatenate([q_inst, o_inst[new]])
            q_units = np.concatenate([q_units, o_units[new]])
            q_value = np.concatenate([q_value, o_value[new]])
            q_rem = np.concatenate([q_rem, np.ones(int(new.sum()))])
            q_held = np.concatenate([q_held, o_held[new]])
            keep = ~new
            o_acct, o_inst, o_units, o_value = o_acct[keep], o_inst[keep], o_units[keep], \
                o_value[keep]
        sold_out = q_rem <= 0
        if sold_out.sum() > len(q_rem) // 4:
            live = ~sold_out
            q_acct, q_inst, q_units, q_value, q_rem, q_held = (
                q_acct[live], q_inst[live], q_units[live], q_value[live], q_rem[live],
                q_held[live])
        move = np.divide(price, before, out=np.ones(k), where=before > 0) - 1
        daily.append({"day": day, "price_move": float(weights @ move), "sales_value": sales,
                      "units_sold": float(units_sold[day].sum()),
                      "accounts_closed": int(trigger.sum()),
                      "instruments_locked": int(locked.sum()),
                      "instruments_suspended": int(suspended.sum()),
                      "shortfall": _shortfall(assets, book.debt, leveraged)})
        # NOTE: nothing left to sell, no move left to take and no account waiting out its
        # grace: every later day repeats this close.
        if day < horizon and not (queue > 0).any() and not (open_ & in_call & ~trigger).any() \
                and np.allclose(exo, target, rtol=1e-12, atol=0.0):
            for later in range(day + 1, horizon + 1):
                prices[later] = price
                daily.append({**daily[-1], "day": later, "price_move": 0.0, "sales_value": 0.0,
                              "units_sold": 0.0, "accounts_closed": 0, "instruments_locked": 0,
                              "instruments_suspended": int(suspended_on[later].sum())})
            break

    # NOTE: a suspension (the export's own table) must never make the book look better. An
    # instrument still suspended at the horizon has not taken its move yet: it is marked at the
    # scenario's full move (the gap on reopening), not at its last close. One suspended earlier
    # in the horizon is marked no higher than the limit path it would have followed unsuspended.
    safe = np.where(exo > 0, exo, 1.0)
    free = np.ones(k)
    for _ in range(horizon):
        free = free * _exogenous_step(free, target, limit)
    mark = np.where(suspended_on[1:].any(axis=0), np.minimum(free / safe, 1.0), 1.0)
    still = suspended_on[horizon] & (target < exo * (1 - 1e-12))
    mark = np.where(still, np.minimum(target / safe, mark), mark)
    pending = mark < 1 - 1e-12
    mark = np.where(pending, mark, 1.0)
    shortfall = daily[-1]["shortfall"]
    if pending.any():
        o_held = o_value * (price * mark)[o_inst]
        q_held = q_value * q_rem * (price * mark)[q_inst]
        assets = (book.cash + proceeds + np.bincount(o_acct, weights=o_held, minlength=n)
                  + np.bincount(q_acct, weights=q_held, minlength=n))
        shortfall = _shortfall(assets, book.debt, leveraged)
    held_closed = q_held
    realised = proceeds + np.bincount(q_acct, weights=q_held, minlength=n)
    static = book.cash + book.account_values(exo * mark)
    illiquid = (to_sell > 0) & ~liquid
    days_needed = np.divide(to_sell, capacity, out=np.zeros(k), where=capacity > 0)
    unsold = np.bincount(q_inst, weights=q_units * q_rem, minlength=k)
    # NOTE: a remainder below a millionth of a unit is float dust from the pro-rata shares.
    unsellable = unsold > 1e-6
    return PathOutcome(
        params=params, shortfall=shortfall,
        static_shortfall=_shortfall(static, book.debt, leveraged),
        value_unsold=float(held_closed.sum()), units_unsold=float(unsold[unsellable].sum()),
        gap_loss=float((value_at_trigger - realised)[closed].sum()),
        sales_value=float(proceeds.sum()), accounts_closed=int(closed.sum()),
        wiped_out=_wiped_out(assets, book.debt, leveraged),
        days_locked_max=int(days_locked.max(initial=0)),
        instruments_locked_every_day=int((days_locked == horizon).sum()),
        days_to_liquidate=None if illiquid.any() else float(days_needed.max(initial=0.0)),
        illiquid_instruments_sold=int(illiquid.sum()),
        no_market_instruments_sold=int(((to_sell > 0) & (adv <= 0)).sum()),
        unsellable_within_horizon=[str(i) for i in book.instrument_ids[unsellable]],
        daily=daily, prices=prices, units_sold=units_sold, units_to_sell=to_sell,
        days_locked=days_locked, assets=assets, proceeds=proceeds, closed=closed,
        marked_at_reopening=[str(i) for i in book.instrument_ids[pending]],
    )


def _suspension_days(suspensions: dict[int, Span | list[Span]] | None, k: int,
                     horizon: int) -> np.ndarray:
    """(H + 1, K) mask: instrument suspended on that day."""
    mask = np.zeros((horizon + 1, k), dtype=bool)
    for index, value in (suspensions or {}).items():
        if not 0 <= int(index) < k:
            raise StressError(f"suspension of instrument index {index}: the book has {k} "
                              f"instruments (indices 0 to {k - 1}); fix the suspensions")
        for first, last in suspension_spans(value) or []:
            mask[max(int(first), 1):int(last) + 1, int(index)] = True
    return mask


def _exogenous_step(exo: np.ndarray, target: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Today's exogenous factor (close / previous close): what remains of the move towards
    ``target``, at most the daily limit either way."""
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(exo > 0, target / np.where(exo > 0, exo, 1.0), 1.0)
    return np.clip(want, 1.0 - np.minimum(limit, 1.0), 1.0 + limit)


def _room_to_limit(impact: ImpactModel, cum_sold: np.ndarray, exo: np.ndarray,
                   prev_close: np.ndarray, limit: np.ndarray, adv: np.ndarray,
                   vol: np.ndarray) -> np.ndarray:
    """Units that can be sold today before the price, exo x (1 - psi(Q)), falls to the limit
    price (1 - limit) x the previous close. Inverts the law: psi = c (Q / V) ** e gives
    Q = V (psi / c) ** (1 / e). No limit, no impact (c = 0), or a limit beyond the impact cap:
    no bound."""
    c = impact.coefficient * vol
    e = 0.5 if impact.kind == "sqrt" else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.where(np.isfinite(limit), (1.0 - limit) * prev_close, 0.0)
        psi_max = np.where(exo > 0, 1.0 - floor / np.where(exo > 0, exo, 1.0), np.inf)
        depth = np.where(adv > 0, adv, 0.0)
        q_max = depth * (np.maximum(psi_max, 0.0) / np.where(c > 0, c, 1.0)) ** (1 / e)
    unbounded = ~np.isfinite(limit) | (c <= 0) | (psi_max >= impact.max_impact) | (exo <= 0)
    return np.where(unbounded, np.inf, np.maximum(q_max - cum_sold, 0.0))
