"""Plants and traps of the CON pack (rules/con): the conduct of the risk process (margin calls,
the notice period, liquidation at the line) and of the charges (interest, commission, the
published terms)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from audit.sample.market import quarter_end_before
from audit.sample.plants.registry import (
    FINANCING_DRAWS, FINANCINGS, FLOWS, LIQUIDATIONS, MARGIN_CALLS, MONTH_END, PLATFORM, SIMULATED,
    SIMULATION, first_financings, hook, plant, trap,
)
from audit.sample.platform import platform_key, terms_dates
from audit.sample.market import date_of, day_number, next_trading

from audit.sample.terms import (
    CALL, CP_BANK, DAY, HOUR, LIQ, NOTICE_DAYS, RATE_BP, T_WITHDRAW, exact_half_base, half_up_div,
    interest_cents,
)

if TYPE_CHECKING:
    from audit.sample.book import Book, Day
    from audit.sample.builder import Builder
    from audit.sample.cast import Story
    from audit.sample.financings import Draws


def _force_liquidation(book: Book, day: Day, s: Story, tag: int) -> None:
    """Close the story's account out on its ``force_day`` by hand: the engine must not have got
    there first."""
    a, on = s.account, s.params["force_day"]
    if day.t <= on and book.alive[a] and day.engine[a]:
        raise RuntimeError("a forced-liquidation story was liquidated by the normal process")
    if day.t == on:
        day.force[a] = True
        day.liq_tag[a] = tag


@plant("CON-001", at=LIQUIDATIONS)
def plant_con_001(b: Builder, book: Book, day: Day) -> None:
    """Liquidated above the line in force: S1 accounts closed out by hand on the crash's third
    day at about 135% (stories.py), as if the old 140% line still applied; the terms in force
    since before the window say 130%."""
    for s in b.by_role["con001"]:
        _force_liquidation(book, day, s, b.tag(
            "CON-001", "liquidated above the 130% line in force (the old terms' 140% line no longer applied)"))
    b.expect("CON-001", len(b.by_role["con001"]))


@trap("CON-001", "CON-002", at=SIMULATION)
def trap_con_001_old_line(b: Builder, book: Book) -> None:
    """A liquidation at 135% under the old terms (the earliest-financed generic account, a few
    weeks after it drew): its margin call, then the sale two sessions later. Lawful under the
    terms of the day (a 140% line, 24 hours' notice), though the line in force today is 130%."""
    story = np.zeros(b.N, dtype=bool)
    for s in b.stories:
        story[s.account] = True
    ok = np.nonzero(~story & b.financed & (b.fin_first_day >= 0))[0]
    if not len(ok):
        return
    a = int(ok[np.argmin(b.fin_first_day[ok])])
    call = next_trading(date_of(int(b.fin_first_day[a]) + 14))
    sale = next_trading(next_trading(call))
    if sale >= terms_dates(b)[2]:
        return
    amount = int(b.D0[a]) * 135 // 100
    book.add_events(CALL, [a], [day_number(call) * DAY + 18 * HOUR + 305], [1.4185],
                    [int(b.D0[a]) // 20], [np.nan], [3], [-1], [0])
    book.add_events(LIQ, [a], [day_number(sale) * DAY + 10 * HOUR + 1250], [1.35], [amount],
                    [float(amount - int(b.D0[a]))], [0], [-1], [0])
    b.old_line_trap = (a, sale)


@trap("CON-001", at=SIMULATED)
def check_con_001_at_the_line(b: Builder) -> None:
    """The trap of stories.py: one liquidation at exactly 130%, the line itself."""
    ev = b.ev
    m = (ev["type"] == LIQ) & (ev["acc"] == b.by_role["t1_exact130"][0].account)
    if m.sum() != 1 or ev["ratio"][m][0] != 1.3:
        raise RuntimeError("the exact-130% liquidation trap was not produced")


@plant("CON-002", at=LIQUIDATIONS)
def plant_con_002(b: Builder, book: Book, day: Day) -> None:
    """Liquidated without a valid margin call: S1 accounts closed out on the crash's fourth day
    either never called, or called the evening before, less than the notice period earlier
    (stories.py picks the kind)."""
    for s in b.by_role["con002"]:
        if s.params["kind"] == "call_too_recent":
            note = "liquidated less than the notice period after the margin call"
        else:
            note = "liquidated without a margin call at least the notice period before"
        _force_liquidation(book, day, s, b.tag("CON-002", note))
    b.expect("CON-002", len(b.by_role["con002"]))


@plant("CON-003", at=MARGIN_CALLS)
def plant_con_003(b: Builder, book: Book, day: Day) -> None:
    """A margin call suppressed on the dip day: S2 accounts at 145-147% at the close (under the
    150% call line), and no call goes out."""
    for s in b.by_role["con003"]:
        if s.params["day"] == day.t:
            if not day.zone[s.account]:
                raise RuntimeError("CON-003 story is not at the call line on its day")
            b.planted_on("CON-003", s.account, day.t, "account at the call line with no margin call issued")
            day.zone[s.account] = False


@plant("CON-004", at=MONTH_END)
def plant_con_004(b: Builder, book: Book, day: Day) -> None:
    """Interest mis-charged on a financing at its first month end (the window always ends on
    one, 30 June): at 9.65% instead of the published 8.65%, for one day more than the period,
    or at the published rate on a contract whose negotiated rate is lower."""
    it = day.interest
    for s in b.by_role["con004"]:
        j = int(b.first_fin_row[s.account])
        n_ = int(np.searchsorted(it.rows, j))
        if n_ >= len(it.rows) or it.rows[n_] != j or s.params.get("done"):
            continue
        v = s.variant % 3
        if v == 0:
            it.rate[n_] = 0.0965
            it.charged[n_] = interest_cents(b.fin_amount[j], it.days[n_], rate_bp=965)
            note = "interest charged at 9.65% instead of the published 8.65%"
        elif v == 1:
            it.charged[n_] = interest_cents(b.fin_amount[j], it.days[n_] + 1)
            note = "interest charged for one day more than the period"
        else:
            b.fin_rate[j] = 0.0665  # the contract's negotiated rate; billed at the published one
            note = "interest charged at the published 8.65% on a contract at a negotiated 6.65%"
        it.tag[n_] = b.tag("CON-004", note)
        s.params["done"] = True
    b.expect("CON-004", len(b.by_role["con004"]))


@trap("CON-004", at=MONTH_END)
def trap_con_004_negotiated(b: Builder, book: Book, day: Day) -> None:
    """A contract at a negotiated 6.65%, charged at that rate (an undercharge against the
    published 8.65% is no violation): a generic account far from any line, first month end."""
    if getattr(b, "negotiated", None) is not None:
        return
    it = day.interest
    story = np.zeros(b.N, dtype=bool)
    for s in b.stories:
        story[s.account] = True
    acc = b.fin_acc[it.rows]
    from audit.sample.book import ratio_of
    R = ratio_of(book.cash, book.MV, book.debt)
    pick = np.nonzero(~story[acc] & (R[acc] >= 2.4) & ~b.fin_second[it.rows])[0]
    if not len(pick):
        return
    n_ = int(pick[0])
    j = int(it.rows[n_])
    b.fin_rate[j] = 0.0665
    it.rate[n_] = 0.0665
    it.charged[n_] = interest_cents(b.fin_amount[j], it.days[n_], rate_bp=665)
    b.negotiated = j


@trap("CON-004", at=FINANCING_DRAWS)
def trap_con_004_half_cent(b: Builder, draws: Draws) -> None:
    """Interest whose schedule is exactly half a cent, rounded half up: the "half" accounts owe an
    amount whose first month-end interest is x.xx5 before rounding (the extra debt sits in cash,
    so their equity does not move)."""
    first_me = next((t for t in range(b.T) if b.month_end[t]), None)
    for s in b.by_role["half"]:
        a = s.account
        days = int(b.dnum[first_me] - b.prev_charge)
        base = exact_half_base(int(b.D0[a]), days)
        b.cash0[a] += base - b.D0[a]  # keep equity: the extra debt sits in cash
        b.D0[a] = base
    b.half_found = 0


@trap("CON-004", at=MONTH_END)
def count_con_004_half_cents(b: Builder, book: Book, day: Day) -> None:
    """Count the month-end charges of the "half" accounts that are exactly x.xx5 before rounding."""
    it = day.interest
    half_rows = np.array([b.first_fin_row[s.account] for s in b.by_role["half"]], dtype=np.int64)
    hm = np.isin(it.rows, half_rows)
    b.half_found += int(((b.fin_amount[it.rows[hm]] * RATE_BP * it.days[hm]) % 3_600_000 == 1_800_000).sum())


@trap("CON-004", at=SIMULATED)
def check_con_004_half_cents(b: Builder) -> None:
    """Every "half" account had its x.xx5 charge."""
    if b.half_found < len(b.by_role["half"]):
        raise RuntimeError("exact half-cent interest trap not produced")


@plant("CON-005", at=PLATFORM)
def plant_con_005(b: Builder, row: dict[str, Any]) -> None:
    """Table-level: the initial margin is not published."""
    if b.plant_table:
        row["initial_margin"] = None
        b.violation("CON-005", "platform", platform_key(b), "initial margin not published")


@plant("CON-006", at=SIMULATION)
def plant_con_006(b: Builder, book: Book) -> None:
    """Day trades charged off the published schedule: a commission at 5 bp instead of 3, or a
    5.00 minimum the schedule does not have (on the first leg)."""
    for s in b.by_role["con006"]:
        d = (1 + 2 * s.variant) % b.T
        if s.variant % 2 == 0:
            value = 4_236_700
            tag = b.tag("CON-006", "commission at 0.05% instead of the published 0.03%")
            book.script_trade(d, s.account, value, (int(half_up_div(value * 5, 10_000)),
                                                    int(half_up_div(value * 3, 10_000))), (tag, 0))
        else:
            tag = b.tag("CON-006", "a minimum commission of 5.00 the published schedule does not have")
            book.script_trade(d, s.account, 300_000, (500, 90), (tag, 0))


@trap("CON-006", at=SIMULATION)
def trap_con_006_half_up(b: Builder, book: Book) -> None:
    """A commission of exactly x.xx5 (18,350 x 0.03% = 5.505), rounded half up."""
    for s in b.by_role["tr_com_half"]:
        book.script_trade((3 + s.variant) % b.T, s.account, 1_835_000)


@plant("CON-007", at=FINANCINGS)
def plant_con_007(b: Builder) -> None:
    """A contract rate above the published one (9.65%, 10%), billed at the contract's rate."""
    for s, j in first_financings(b, "con007"):
        b.fin_rate[j] = (0.0965, 0.10)[s.variant % 2]
        b.violation("CON-007", "financings", {"financing_id": b.fin_id[j]},
                    f"contract rate {b.fin_rate[j]:.2%} above the published 8.65% "
                    "(billed at the contract's rate)")


@plant("CON-008", at=LIQUIDATIONS)
def plant_con_008(b: Builder, book: Book, day: Day) -> None:
    """Below the liquidation line from the day the client withdrew cash (about 127%,
    stories.py) to the window's end; the platform calls every evening but neither liquidates
    nor tops up. A violation on every snapshot from the second trading day after a sale was
    allowed (the call on T, the client's day T+1, a sale from T+2, one day's slack)."""
    for s in b.by_role["con008"]:
        start = s.params["day"]
        if day.t >= start:
            day.skip[s.account] = True
            late = day.t >= start + NOTICE_DAYS + 2
            records = [("CON-008", None, "below the liquidation line past the notice period, neither "
                                         "liquidated nor topped up")] if late else []
            day.hold(s.account, "liq", *records)
    late_days = sum(max(0, b.T - (s.params["day"] + NOTICE_DAYS + 2)) for s in b.by_role["con008"])
    b.expect("CON-008", late_days)


@hook("CON-008", at=FLOWS)
def withdraw_con_008(b: Builder, book: Book, day: Day) -> None:
    """The client's withdrawal that takes the CON-008 account below the liquidation line."""
    for s in b.by_role["con008"]:
        if s.params["day"] == day.t:
            book.cash[s.account] -= s.params["withdraw"]
            book.add_ledger(day.day, [s.account], [-s.params["withdraw"]], CP_BANK, T_WITHDRAW)


@trap("CON-008", "CON-003", at=LIQUIDATIONS)
def trap_con_008_met_call(b: Builder, book: Book, day: Day) -> None:
    """A Friday at 128.5% (the dip day, stories.py), called that evening and back above the line
    on Monday: the platform rightly waits for the client's day; no liquidation is due."""
    for s in b.by_role["tr_met_call"]:
        if s.params["day"] == day.t:
            day.skip[s.account] = True
            day.hold(s.account, "liq")


@plant("CON-009", at=PLATFORM)
def plant_con_009(b: Builder, row: dict[str, Any]) -> None:
    """Table-level, profile eu: the risk-warning loss share was last calculated two quarter ends
    before the as-of date (the clean figure is one quarter end old, inside ESMA's 92 days)."""
    if b.plant_table:
        row["risk_warning_calculated_at"] = quarter_end_before(row["risk_warning_calculated_at"])
        b.violation("CON-009", "platform", platform_key(b),
                    "risk-warning loss share last calculated two quarter ends ago")


@trap("CON-002", "CON-008", at=FLOWS)
def trap_holiday_withdraw(b: Builder, book: Book, day: Day) -> None:
    """The withdrawal that takes the holiday trap's account below the liquidation line on the
    last session before an exchange holiday (stories.py)."""
    for s in b.by_role.get("tr_holiday", []):
        if s.params["day"] == day.t:
            book.cash[s.account] -= s.params["withdraw"]
            book.add_ledger(day.day, [s.account], [-s.params["withdraw"]], CP_BANK, T_WITHDRAW)


@trap("CON-002", "CON-008", at=LIQUIDATIONS)
def trap_holiday_notice(b: Builder, book: Book, day: Day) -> None:
    """Called before the holiday, the client's day after it, sold on T+2 by the engine: below
    the line meanwhile, no top-up (the platform waits, as its terms say)."""
    for s in b.by_role.get("tr_holiday", []):
        a = s.account
        if s.params["day"] <= day.t < s.params["sold"]:
            if day.engine[a]:
                raise RuntimeError("the holiday trap was sold before its notice ran out")
            day.hold(a, "liq")
        elif day.t == s.params["sold"] and not day.engine[a]:
            raise RuntimeError("the holiday trap was not sold on T+2")
