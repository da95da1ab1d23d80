"""The daily simulation of the book: the platform's own risk process run day by day over the
window, collecting the rows of the margin events, ledger and fees and the close-of-business
snapshots. Plants bend the process at the named points of the day (``plants.LIQUIDATIONS`` ...
``plants.MARGIN_CALLS``) through the ``Day`` they are handed; the order of the steps is in
``Book.run_day`` and the package docstring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audit.sample import plants
from audit.sample.cast import SCRIPTED_BALANCES
from audit.sample.terms import (
    CALL, CALL_VALIDITY_DAYS, CONC_FREE, CONC_LOW_SHARE, CONC_MID, CONC_MID_SHARE, CP_BANK,
    CP_EXCHANGE, CP_FEE, CP_LOAN, DAY, DISCLOSURE, HOUR, LIQ, RATIO_TOL, RECOURSE, T_COMMISSION,
    T_DEPOSIT, T_INT_TOPUP, T_INTEREST, T_REPAY, T_SALE, T_TOPUP, T_WITHDRAW, ceil_to, half_up_div,
    interest_cents, NOTICE_DAYS,
)

if TYPE_CHECKING:
    from audit.sample.builder import Builder

NEG = np.iinfo(np.int64).min // 4  # "never", for times of margin calls
# What a held account must breach on its day ("lev" leverage only, "conc" concentration only,
# "liq" the liquidation line only, "wipe" leverage and the liquidation line).
BREACHES = ("lev", "conc", "liq", "wipe")


@dataclass
class Interest:
    """Month-end interest on the outstanding draws, before it is charged (``plants.MONTH_END``):
    the financing rows, their days, the rate billed, the amount charged and a tag per row."""

    rows: np.ndarray
    days: np.ndarray
    rate: np.ndarray
    charged: np.ndarray
    tag: np.ndarray


class Day:
    """One trading day as the plants' hooks see it: its index ``t`` in the window, its day
    number, and what the step at hand lets a plant change. Per-account arrays are indexed by
    account."""

    def __init__(self, t: int, day: int, N: int):
        self.t, self.day = t, day
        # Liquidations: the engine's candidates (read only), and the exceptions plants make.
        self.engine = np.zeros(N, dtype=bool)
        self.force = np.zeros(N, dtype=bool)  # closed out today whatever the engine says
        self.skip = np.zeros(N, dtype=bool)  # the engine leaves the account alone today
        self.liq_tag = np.zeros(N, dtype=np.int8)  # a planted violation on the liquidation record
        self.ref = np.zeros(N, dtype=np.int8)  # its clearing reference: 0 normal, 1 null, 2 blank
        self.no_recourse = np.zeros(N, dtype=bool)  # a negative balance left without recourse
        self.recourse_tag = np.zeros(N, dtype=np.int8)  # a planted violation on the recourse record
        # Month-end interest (month ends only).
        self.interest: Interest | None = None
        # Top-ups: accounts left outside the limits, what they must breach, what they plant.
        self.holds: dict[int, tuple[str, list[tuple[str, int | None, str]]]] = {}
        # Margin calls: accounts at the call line (plants may take one out).
        self.zone = np.zeros(N, dtype=bool)

    def hold(self, account: int, breach: str, *records: tuple[str, int | None, str]) -> None:
        """Leave ``account`` outside the limits today instead of topping it up. It must breach
        exactly as ``breach`` says; each record (rule, instrument or None, note) becomes a
        planted violation on its snapshot (or position, with an instrument)."""
        if breach not in BREACHES:
            raise ValueError(f"unknown breach {breach!r}; known: {', '.join(BREACHES)}")
        self.holds[int(account)] = (breach, list(records))


class Book:
    """The running state of the book over the window, and the rows it collects."""

    def __init__(self, b: Builder):
        self.b = b
        N, P = b.N, len(b.pos_acc)
        self.cash, self.debt = b.cash0.copy(), b.D0.copy()
        self.alive = np.ones(N, dtype=bool)  # not yet closed out with a negative balance
        self.live = np.ones(P, dtype=bool)  # positions still held
        # Window days of each account's last two margin calls (a call on day i allows a forced
        # sale from trading day i + NOTICE_DAYS + 1; window days are consecutive sessions).
        self.last_call = np.full(N, NEG, dtype=np.int64)
        self.prev_call = np.full(N, NEG, dtype=np.int64)
        self.called_yday = np.zeros(N, dtype=bool)
        self.mv_yday = np.zeros(N, dtype=np.int64)
        self.fin_out = np.ones(len(b.fin_acc), dtype=bool)  # draws not yet repaid
        self.fin_last = np.maximum(b.fin_open_day, b.prev_charge)  # interest charged up to
        self.starts = np.searchsorted(b.pos_acc, np.arange(N))
        self.has_pos = np.bincount(b.pos_acc, minlength=N) > 0
        # Accounts whose balances a story scripted: the process must never top them up.
        self.story_acc = np.zeros(N, dtype=bool)
        for s in b.stories:
            if s.role in SCRIPTED_BALANCES:
                self.story_acc[s.account] = True
        # Day trades (buy and sell the same day; positions unchanged, commission on both legs).
        # Random ones keep every generic account at three or fewer in five days; scripted ones
        # carry the commission plants and traps and the pattern day traders.
        self.dt_hist = np.zeros((N, 5), dtype=np.int64)  # day trades of the last five days, ring
        self.dt_script: dict[int, list[tuple[int, int, tuple[int, int], tuple[int, int]]]] = {}
        self.dt_scripted = np.zeros(N, dtype=bool)
        # Collected output.
        self.acc_rows: list[tuple] = []
        self.pos_rows: list[tuple] = []
        self.ev: dict[str, list] = {k: [] for k in ("type", "acc", "at", "ratio", "amount", "eq", "ref", "rel", "tag")}
        self.led: dict[str, list] = {k: [] for k in ("day", "acc", "amount", "cp", "text", "tag")}
        self.fee: dict[str, list] = {k: [] for k in ("day", "acc", "fin", "type", "base", "rate", "days", "charged",
                                                     "tag")}
        self.n_events = 0

    # ------------------------------------------------------------------------ recording rows

    def script_trade(self, t: int, a: int, value_cents: int, charges: tuple[int, int] | None = None,
                     tags: tuple[int, int] = (0, 0)) -> None:
        """A day trade of ``value_cents`` by account ``a`` on window day ``t``, charged the
        published commission on both legs unless ``charges`` says otherwise (tags: per leg)."""
        comm = int(half_up_div(value_cents * 3, 10_000))
        self.dt_script.setdefault(t, []).append((a, value_cents, charges or (comm, comm), tags))
        self.dt_scripted[a] = True

    def add_ledger(self, day, accs, amounts, cp, text, tag=0) -> None:
        """Ledger entries of day number ``day``: counterparty and description codes of terms.py."""
        accs = np.asarray(accs, dtype=np.int64)
        if not len(accs):
            return
        led = self.led
        led["day"].append(np.full(len(accs), day, dtype=np.int64))
        led["acc"].append(accs)
        led["amount"].append(np.asarray(amounts, dtype=np.int64))
        led["cp"].append(np.full(len(accs), cp, dtype=np.int8))
        led["text"].append(np.full(len(accs), text, dtype=np.int8))
        led["tag"].append(np.full(len(accs), tag, dtype=np.int8))

    def add_fee(self, day, accs, fins, ftype, base, rate, days, charged, tag=None) -> None:
        """Fee rows: interest (``ftype`` 0, per draw) or commission (1, ``fins`` -1)."""
        n = len(accs)
        if not n:
            return
        fee = self.fee
        fee["day"].append(np.full(n, day, dtype=np.int64))
        fee["acc"].append(np.asarray(accs, dtype=np.int64))
        fee["fin"].append(np.asarray(fins, dtype=np.int64))
        fee["type"].append(np.full(n, ftype, dtype=np.int8))
        fee["base"].append(np.asarray(base, dtype=np.int64))
        fee["rate"].append(np.asarray(rate, dtype=np.float64) * np.ones(n))
        fee["days"].append(np.asarray(days, dtype=np.int64) * np.ones(n, dtype=np.int64))
        fee["charged"].append(np.asarray(charged, dtype=np.int64))
        fee["tag"].append(np.zeros(n, dtype=np.int8) if tag is None else np.asarray(tag, dtype=np.int8))

    def add_events(self, etype, accs, at, ratio, amount, eq, ref, rel, tag) -> np.ndarray:
        """Margin events; returns their indices (a recourse record points at its liquidation)."""
        n = len(accs)
        ev = self.ev
        ev["type"].append(np.full(n, etype, dtype=np.int8))
        ev["acc"].append(np.asarray(accs, dtype=np.int64))
        ev["at"].append(np.asarray(at, dtype=np.int64))
        ev["ratio"].append(np.asarray(ratio, dtype=np.float64))
        ev["amount"].append(np.asarray(amount, dtype=np.int64))
        ev["eq"].append(np.asarray(eq, dtype=np.float64))
        ev["ref"].append(np.asarray(ref, dtype=np.int8))
        ev["rel"].append(np.asarray(rel, dtype=np.int64))
        ev["tag"].append(np.asarray(tag, dtype=np.int8))
        first = self.n_events
        self.n_events += n
        return np.arange(first, first + n)

    # ---------------------------------------------------------------------------- one day

    def run_day(self, t: int) -> None:
        """Window day ``t``, step by step (the order is the process)."""
        b, N = self.b, self.b.N
        day = Day(t, int(b.dnum[t]), N)
        pm = b.pm[:, t + 1]
        u_call = b.r_day.integers(0, 1800, N)
        u_liq = b.r_day.integers(0, 17_400, N)
        u_rec = b.r_day.integers(0, 3600, N)
        u_flow = b.r_day.random(N)
        z_flow = b.r_day.normal(0, 0.5, N)
        self.pos_mv = np.where(self.live, (b.q * pm[b.pos_inst] + 5) // 10, 0)
        self.MV = np.bincount(b.pos_acc, weights=self.pos_mv, minlength=N).astype(np.int64)
        self.morning_top_ups(day)
        liq, closed_today = self.liquidations(day, u_liq, u_rec)
        if b.month_end[t]:
            self.month_end_interest(day)
        self.flows(day, u_flow, z_flow)
        dt_count = self.day_trades(day, liq)
        self.top_ups(day)
        # Snapshot (closed-today accounts appear with zeros one last time).
        cash, MV, debt = self.cash, self.MV, self.debt
        ai = np.nonzero(self.alive)[0]
        self.acc_rows.append((t, ai, cash[ai].copy(), MV[ai].copy(), debt[ai].copy(), dt_count[ai].copy()))
        self.pos_rows.append((t, np.nonzero(self.live)[0].astype(np.int32)))
        self.mv_yday = MV.copy()
        self.alive[closed_today] = False
        self.margin_calls(day, u_call)

    def morning_top_ups(self, day: Day) -> None:
        """1. Clients called yesterday top up in the morning (some of them)."""
        b, cash, debt = self.b, self.cash, self.debt
        resp = self.alive & self.called_yday & (debt > 0) & ~b.scripted & b.responder
        need = ceil_to(np.maximum(17 * debt // 10 - (cash + self.mv_yday), 0), 10_000)
        resp &= need > 0
        idx = np.nonzero(resp)[0]
        cash[idx] += need[idx]
        self.add_ledger(day.day, idx, need[idx], CP_BANK, T_TOPUP)

    def liquidations(self, day: Day, u_liq: np.ndarray, u_rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """2. Liquidations at or below the line, once the notice of a margin call has run out
        (a call on trading day T allows a sale from T + 2) and the call is at most ten trading
        days old; recourse for a negative balance. Returns who was liquidated and who was
        closed out with a negative balance."""
        b, N, t, cash, debt, MV, alive = self.b, self.b.N, day.t, self.cash, self.debt, self.MV, self.alive
        fin_acc, fin_amount = b.fin_acc, b.fin_amount
        day_s = day.day * DAY
        R = ratio_of(cash, MV, debt)
        liq_at = day_s + 10 * HOUR + u_liq
        last_call, prev_call = self.last_call, self.prev_call
        ripe = t - (NOTICE_DAYS + 1)
        cand = np.where(last_call <= ripe, last_call, np.where(prev_call <= ripe, prev_call, NEG))
        call_ok = (cand > NEG) & (t - cand <= CALL_VALIDITY_DAYS)
        gen = alive & (debt > 0) & (MV > 0) & call_ok & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
        day.engine = gen.copy()
        plants.run(plants.LIQUIDATIONS, b, self, day)
        gen &= ~day.skip
        forced = alive & day.force & (debt > 0)
        liq = gen | forced
        li = np.nonzero(liq)[0]
        if not len(li):
            return liq, np.empty(0, dtype=np.int64)
        fmask = liq[fin_acc] & self.fin_out
        fj = np.nonzero(fmask)[0]
        fdays = day.day - self.fin_last[fj]
        fj, fdays = fj[fdays > 0], fdays[fdays > 0]
        icharge = interest_cents(fin_amount[fj], fdays, rate_bp=rate_bp(b.fin_rate[fj]))
        self.add_fee(day.day, fin_acc[fj], fj, 0, fin_amount[fj], b.fin_rate[fj], fdays, icharge)
        int_by_acc = np.bincount(fin_acc[fj], weights=icharge, minlength=N).astype(np.int64)[li]
        proceeds = MV[li]
        comm = half_up_div(proceeds * 3, 10_000)
        avail = cash[li] + proceeds - comm - int_by_acc
        repay = np.clip(avail, 0, debt[li])
        eq_after = avail - debt[li]
        self.add_ledger(day.day, li, proceeds, CP_EXCHANGE, T_SALE)
        self.add_fee(day.day, li, np.full(len(li), -1), 1, proceeds, DISCLOSURE["commission_rate"], -1, comm)
        self.add_ledger(day.day, li, -comm, CP_FEE, T_COMMISSION)
        self.add_ledger(day.day, fin_acc[fj], -icharge, CP_FEE, T_INTEREST)
        self.add_ledger(day.day, li, -repay, CP_LOAN, T_REPAY)
        cash[li] = np.maximum(eq_after, 0)
        debt[li] = 0
        self.fin_out[fmask] = False
        self.fin_last[fmask] = day.day
        self.live &= ~liq[b.pos_acc]
        MV[li] = 0
        ids = self.add_events(LIQ, li, liq_at[li], np.round(R[li], 4), proceeds, eq_after.astype(np.float64),
                              day.ref[li], np.full(len(li), -1), day.liq_tag[li])
        neg = eq_after < 0
        no_recourse = day.no_recourse[li]
        if (neg & forced[li]).any() or (no_recourse & ~neg).any():
            raise RuntimeError("a liquidation story ended with the wrong sign of equity")
        rec = neg & ~no_recourse
        if rec.any():
            ra = li[rec]
            self.add_events(RECOURSE, ra, day_s + 17 * HOUR + u_rec[ra], np.full(len(ra), np.nan),
                            -eq_after[rec], eq_after[rec].astype(np.float64), np.full(len(ra), 3),
                            ids[rec], day.recourse_tag[ra])
        return liq, li[neg]

    def month_end_interest(self, day: Day) -> None:
        """3. Month-end interest on every outstanding draw; clients short of cash top up."""
        b, cash = self.b, self.cash
        fin_acc, fin_amount = b.fin_acc, b.fin_amount
        fj = np.nonzero(self.fin_out & self.alive[fin_acc])[0]
        fdays = day.day - self.fin_last[fj]
        fj, fdays = fj[fdays > 0], fdays[fdays > 0]
        # Each contract's own rate (the published one unless negotiated).
        rate = b.fin_rate[fj].copy()
        charged = interest_cents(fin_amount[fj], fdays, rate_bp=rate_bp(rate))
        day.interest = Interest(fj, fdays, rate, charged, np.zeros(len(fj), dtype=np.int8))
        plants.run(plants.MONTH_END, b, self, day)
        self.add_fee(day.day, fin_acc[fj], fj, 0, fin_amount[fj], rate, fdays, charged, day.interest.tag)
        due = np.bincount(fin_acc[fj], weights=charged, minlength=b.N).astype(np.int64)
        short = np.nonzero(due > cash)[0]
        top = ceil_to(due[short] - cash[short], 10_000)
        cash[short] += top
        self.add_ledger(day.day, short, top, CP_BANK, T_INT_TOPUP)
        cash -= due
        self.add_ledger(day.day, fin_acc[fj], -charged, CP_FEE, T_INTEREST)
        self.fin_last[fj] = day.day

    def flows(self, day: Day, u_flow: np.ndarray, z_flow: np.ndarray) -> None:
        """4. Deposits and withdrawals (withdrawals only that leave the account well inside the
        limits), then the plants' own client-money movements."""
        b, cash, debt, MV = self.b, self.cash, self.debt, self.MV
        free = self.alive & ~b.scripted
        dep = free & (u_flow < 0.02)
        amt = np.maximum(np.round(b.E0 * 0.05 * np.exp(z_flow) / 100).astype(np.int64) * 10_000, 100_000)
        di = np.nonzero(dep)[0]
        cash[di] += amt[di]
        self.add_ledger(day.day, di, amt[di], CP_BANK, T_DEPOSIT)
        wamt = np.minimum(amt, (cash * 4 // 10) // 10_000 * 10_000)
        c_after = cash - wamt
        E_after = c_after + MV - debt
        ok_lev = (debt == 0) | ((ratio_of(c_after, MV, debt) >= CONC_FREE + 0.05)
                                & (lev_of(MV, E_after) <= 0.8 * b.cap) & (c_after >= debt // 50))
        wd = free & (u_flow > 0.985) & (wamt >= 10_000) & ok_lev & ~dep
        wi = np.nonzero(wd)[0]
        cash[wi] -= wamt[wi]
        self.add_ledger(day.day, wi, -wamt[wi], CP_BANK, T_WITHDRAW)
        plants.run(plants.FLOWS, b, self, day)

    def day_trades(self, day: Day, liq: np.ndarray) -> np.ndarray:
        """Day trades: random ones for generic accounts (at most three in five days), then the
        scripted ones. Returns each account's day trades in the last five days."""
        b, N, t, cash, dt_hist = self.b, self.b.N, day.t, self.cash, self.dt_hist
        free = self.alive & ~b.scripted
        u_dt = b.r_day.random(N)
        v_dt = b.r_day.uniform(0.1, 0.6, N)
        slot = t % 5
        recent = dt_hist.sum(axis=1) - dt_hist[:, slot]
        dt_hist[:, slot] = 0
        value = np.maximum(np.round(b.E0 * v_dt), 1_000).astype(np.int64) * 100
        comm = half_up_div(value * 3, 10_000)
        dti = np.nonzero(free & ~liq & ~self.dt_scripted & (u_dt < 0.03) & (recent <= 2) & (cash >= 2 * comm))[0]
        for _leg in range(2):
            self.add_fee(day.day, dti, np.full(len(dti), -1), 1, value[dti], DISCLOSURE["commission_rate"], -1,
                         comm[dti])
            self.add_ledger(day.day, dti, -comm[dti], CP_FEE, T_COMMISSION)
        cash[dti] -= 2 * comm[dti]
        dt_hist[dti, slot] += 1
        for a, val, charges, tags in self.dt_script.get(t, []):
            if not self.alive[a] or cash[a] < sum(charges):
                raise RuntimeError("a scripted day trade has no live account or cash")
            for ch, tg in zip(charges, tags):
                self.add_fee(day.day, [a], [-1], 1, [val], DISCLOSURE["commission_rate"], -1, [ch], [tg])
                self.add_ledger(day.day, [a], [-ch], CP_FEE, T_COMMISSION)
                cash[a] -= ch
            dt_hist[a, slot] += 1
        return dt_hist.sum(axis=1)

    def top_ups(self, day: Day) -> None:
        """5. Keep the snapshot inside the caps: top-ups where leverage, the liquidation line or
        concentration would be breached, but for the accounts a plant holds out today."""
        b, N, t, cash, debt, MV, cap = self.b, self.b.N, day.t, self.cash, self.debt, self.MV, self.b.cap
        P = len(b.pos_acc)
        plants.run(plants.TOP_UPS, b, self, day)
        held = np.array(list(day.holds), dtype=np.int64)
        for _round in range(3):
            A = cash + MV
            E = A - debt
            lev = lev_of(MV, E)
            R = ratio_of(cash, MV, debt)
            lev_bad = (debt > 0) & (MV > 0) & ~((E > 0) & (lev <= cap + RATIO_TOL))
            r_bad = (debt > 0) & (MV > 0) & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
            maxpos = np.zeros(N, dtype=np.int64)
            if P:
                mx = np.maximum.reduceat(self.pos_mv * self.live, np.minimum(self.starts, P - 1))
                maxpos = np.where(self.has_pos, mx, 0)
            limit = np.where(R >= CONC_FREE, 1.0, np.where(R >= CONC_MID, CONC_MID_SHARE, CONC_LOW_SHARE))
            with np.errstate(divide="ignore", invalid="ignore"):
                share = (maxpos / 100) / (A / 100)
            c_bad = (debt > 0) & (MV > 0) & (share > limit + RATIO_TOL)
            bad = self.alive & (lev_bad | r_bad | c_bad)
            if _round == 0:
                for a, (breach, records) in day.holds.items():
                    want = {"lev": lev_bad[a] and not r_bad[a] and not c_bad[a],
                            "conc": c_bad[a] and not lev_bad[a] and not r_bad[a],
                            "liq": r_bad[a] and not lev_bad[a] and not c_bad[a],
                            "wipe": lev_bad[a] and r_bad[a]}[breach]
                    if not (self.alive[a] and want):
                        raise RuntimeError(f"story {breach!r} of account {a} does not breach as "
                                           f"scripted on day {t}")
                    for rule, inst, note in records:
                        b.planted_on(rule, a, t, note, inst)
            if len(held):
                bad[held] = False
            if not bad.any():
                break
            if (bad & self.story_acc).any():
                raise RuntimeError("a scripted story needed a top-up")
            x = np.zeros(N)
            x = np.where(lev_bad, MV / (0.85 * cap) - E, x)
            x = np.maximum(x, np.where(r_bad, 1.33 * debt - A, 0))
            x = np.maximum(x, np.where(c_bad, maxpos / limit - A, 0))
            bi = np.nonzero(bad)[0]
            top = ceil_to(np.ceil(x[bi]).astype(np.int64) + 1, 10_000)
            cash[bi] += top
            self.add_ledger(day.day, bi, top, CP_BANK, T_TOPUP)
        else:
            raise RuntimeError("top-ups did not bring every account inside the caps")

    def margin_calls(self, day: Day, u_call: np.ndarray) -> None:
        """7. Margin calls at the close for every account at or below the call line."""
        b, cash, debt, MV = self.b, self.cash, self.debt, self.MV
        R = ratio_of(cash, MV, debt)
        day.zone = self.alive & (debt > 0) & (R <= DISCLOSURE["margin_call_ratio"] + RATIO_TOL)
        plants.run(plants.MARGIN_CALLS, b, self, day)
        zone = day.zone
        zi = np.nonzero(zone)[0]
        at = day.day * DAY + 18 * HOUR + u_call[zi]
        amount = np.maximum(ceil_to(15 * debt[zi] - 10 * (cash[zi] + MV[zi]), 10), 0) // 10
        self.add_events(CALL, zi, at, np.round(R[zi], 4), amount, np.full(len(zi), np.nan),
                        np.full(len(zi), 3), np.full(len(zi), -1), np.zeros(len(zi), dtype=np.int8))
        self.prev_call[zi] = self.last_call[zi]
        self.last_call[zi] = day.t
        self.called_yday = zone


def rate_bp(rate) -> np.ndarray:
    """An annual rate in 1/10,000 (0.0865 -> 865), for exact integer interest."""
    return np.round(np.asarray(rate) * 10_000).astype(np.int64)


def ratio_of(c, mv, d):
    """Collateral ratio (cash + market value) / debt; inf or nan without debt."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (c / 100 + mv / 100) / (d / 100)


def lev_of(mv, e):
    """Leverage: market value / equity."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mv / 100) / (e / 100)


def simulate(b: Builder) -> None:
    """Run the window day by day and leave its rows on the builder (acc_rows, pos_rows, ev, led,
    fee)."""
    book = Book(b)
    plants.run(plants.SIMULATION, b, book)
    for t in range(b.T):
        book.run_day(t)
    b.acc_rows, b.pos_rows = book.acc_rows, book.pos_rows
    b.ev = {k: np.concatenate(v) if v else np.empty(0) for k, v in book.ev.items()}
    b.led = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in book.led.items()}
    b.fee = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in book.fee.items()}
    plants.run(plants.SIMULATED, b)
