"""The daily simulation of the book: the platform's own risk process run day by day over the
window (top-ups, liquidations, recourse, interest, client flows, day trades, the snapshot and
margin calls), collecting the rows of the ledger, fees and margin events."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from audit.sample.terms import (
    CALL, CALL_VALIDITY_HOURS, CONC_FREE, CONC_LOW_SHARE, CONC_MID, CONC_MID_SHARE, CP_BANK,
    CP_EXCHANGE, CP_FEE, CP_LOAN, CP_OWN, DAY, DISCLOSURE, HOUR, LIQ, RATE_BP, RATIO_TOL, RECOURSE,
    T_COMMISSION, T_COMP, T_DEPOSIT, T_INT_TOPUP, T_INTEREST, T_REPAY, T_SALE, T_SWEEP, T_TOPUP,
    T_WITHDRAW, ceil_to, half_up_div, interest_cents,
)

if TYPE_CHECKING:
    from audit.sample.builder import Builder


def simulate(b: Builder) -> None:
    N, T, P = b.N, b.T, len(b.pos_acc)
    pos_acc, pos_inst, q = b.pos_acc, b.pos_inst, b.q
    cash, debt = b.cash0.copy(), b.D0.copy()
    alive = np.ones(N, dtype=bool)
    live = np.ones(P, dtype=bool)
    NEG = np.iinfo(np.int64).min // 4
    last_call = np.full(N, NEG, dtype=np.int64)
    prev_call = np.full(N, NEG, dtype=np.int64)
    called_yday = np.zeros(N, dtype=bool)
    mv_yday = np.zeros(N, dtype=np.int64)
    cap = b.cap
    fin_acc, fin_amount = b.fin_acc, b.fin_amount
    fin_out = np.ones(len(fin_acc), dtype=bool)
    fin_last = np.maximum(b.fin_open_day, b.prev_charge)
    starts = np.searchsorted(pos_acc, np.arange(N))
    has_pos = np.bincount(pos_acc, minlength=N) > 0
    # Story controls.
    force_day = np.full(N, -1)
    sup_call = np.full(N, -1)
    # Days on which a story's account is left outside the limits instead of being topped up:
    # {day: {account: what it must breach}} ("lev" leverage only, "conc" concentration only,
    # "liq" the liquidation line only, "wipe" leverage and the liquidation line).
    sup: dict[int, dict[int, str]] = {}
    no_liq = np.full(N, -1)  # a day the liquidation engine skips the account (CON-008)
    ref_kind = np.zeros(N, dtype=np.int64)  # 0 normal, 1 null, 2 blank
    no_recourse = np.zeros(N, dtype=bool)
    tag_liq = {}
    for s in b.stories:
        a = s.account
        if s.role in ("con001", "con002"):
            force_day[a] = s.params["force_day"]
            tag_liq[a] = s.role
        elif s.role == "con003":
            sup_call[a] = s.params["day"]
        elif s.role == "lev002":
            sup.setdefault(s.params["day"], {})[a] = "lev"
        elif s.role == "lev003":
            sup.setdefault(s.params["day"], {})[a] = "conc"
        elif s.role == "con008":
            sup.setdefault(s.params["day"], {})[a] = "liq"
            no_liq[a] = s.params["day"]
        elif s.role == "wipe":
            for d in s.params["days"]:
                sup.setdefault(d, {})[a] = "wipe"
        elif s.role == "clr001":
            ref_kind[a] = 1 if s.params["ref"] == "null" else 2
            tag_liq[a] = "clr001"
        elif s.role == "clr002":
            no_recourse[a] = True
            tag_liq[a] = "clr002"
    story_acc = np.zeros(N, dtype=bool)
    for s in b.stories:
        if s.role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002",
                      "con003", "lev002", "con008", "lev003", "wipe", "cap002", "cluster"):
            story_acc[s.account] = True
    wipe_acc = np.zeros(N, dtype=bool)
    for s_ in b.by_role["wipe"]:
        wipe_acc[s_.account] = True
    # Day trades (buy and sell the same day; positions unchanged, commission on both legs).
    # Random ones keep every generic account at three or fewer in five days; scripted ones
    # carry the commission plants and traps and the pattern day traders.
    dt_hist = np.zeros((N, 5), dtype=np.int64)  # day trades of the last five days, ring
    dt_script: dict[int, list[tuple[int, int, tuple[int, int], tuple[int, int]]]] = {}
    dt_scripted = np.zeros(N, dtype=bool)

    def script_trade(t, a, value_cents, charges=None, tags=(0, 0)):
        comm = int(half_up_div(value_cents * 3, 10_000))
        dt_script.setdefault(t, []).append((a, value_cents, charges or (comm, comm), tags))
        dt_scripted[a] = True

    t9 = max(0, min(T - 4, T // 2 - 2))
    for s_ in b.by_role["lev009"]:
        for d in range(t9, t9 + 4):
            script_trade(d, s_.account, 800_000)
    for s_ in b.by_role["tr_pdt_ok"]:
        for d in range(t9, t9 + 4):
            script_trade(d, s_.account, 3_000_000)
    for s_ in b.by_role["tr_com_half"]:
        script_trade((3 + s_.variant) % T, s_.account, 1_835_000)  # 18,350 x 0.03% = 5.505
    for s_ in b.by_role["con006"]:
        d = (1 + 2 * s_.variant) % T
        if s_.variant % 2 == 0:
            value = 4_236_700
            script_trade(d, s_.account, value, (int(half_up_div(value * 5, 10_000)),
                                               int(half_up_div(value * 3, 10_000))), (8, 0))
            s_.params = {"note": "commission at 0.05% instead of the published 0.03%"}
        else:
            script_trade(d, s_.account, 300_000, (500, 90), (8, 0))
            s_.params = {"note": "a minimum commission of 5.00 the published schedule does not have"}
    seg002_day = {s.account: 1 + (s.variant * 3) % (T - 1) for s in b.by_role["seg002"]}
    pown_day = {s.account: (2 + s.variant * 5) % T for s in b.by_role["pown_pos"]}
    con004 = {int(b.first_fin_row[s.account]): s for s in b.by_role["con004"]}
    half_rows = np.array([b.first_fin_row[s.account] for s in b.by_role["half"]], dtype=np.int64)
    b.half_found = 0
    E_scale = b.E0
    # Collected output.
    acc_rows, pos_rows = [], []
    ev: dict[str, list] = {k: [] for k in ("type", "acc", "at", "ratio", "amount", "eq", "ref", "rel", "tag")}
    led: dict[str, list] = {k: [] for k in ("day", "acc", "amount", "cp", "text", "tag")}
    fee: dict[str, list] = {k: [] for k in ("day", "acc", "fin", "type", "base", "rate", "days", "charged", "tag")}
    n_events = 0
    b.planted_acc_days: list[tuple[str, int, int, int | None]] = []

    def add_ledger(day, accs, amounts, cp, text, tag=0):
        accs = np.asarray(accs, dtype=np.int64)
        if not len(accs):
            return
        led["day"].append(np.full(len(accs), day, dtype=np.int64))
        led["acc"].append(accs)
        led["amount"].append(np.asarray(amounts, dtype=np.int64))
        led["cp"].append(np.full(len(accs), cp, dtype=np.int8))
        led["text"].append(np.full(len(accs), text, dtype=np.int8))
        led["tag"].append(np.full(len(accs), tag, dtype=np.int8))

    def add_fee(day, accs, fins, ftype, base, rate, days, charged, tag=None):
        n = len(accs)
        if not n:
            return
        fee["day"].append(np.full(n, day, dtype=np.int64))
        fee["acc"].append(np.asarray(accs, dtype=np.int64))
        fee["fin"].append(np.asarray(fins, dtype=np.int64))
        fee["type"].append(np.full(n, ftype, dtype=np.int8))
        fee["base"].append(np.asarray(base, dtype=np.int64))
        fee["rate"].append(np.asarray(rate, dtype=np.float64) * np.ones(n))
        fee["days"].append(np.asarray(days, dtype=np.int64) * np.ones(n, dtype=np.int64))
        fee["charged"].append(np.asarray(charged, dtype=np.int64))
        fee["tag"].append(np.zeros(n, dtype=np.int8) if tag is None else np.asarray(tag, dtype=np.int8))

    def add_events(etype, accs, at, ratio, amount, eq, ref, rel, tag):
        nonlocal n_events
        n = len(accs)
        ev["type"].append(np.full(n, etype, dtype=np.int8))
        ev["acc"].append(np.asarray(accs, dtype=np.int64))
        ev["at"].append(np.asarray(at, dtype=np.int64))
        ev["ratio"].append(np.asarray(ratio, dtype=np.float64))
        ev["amount"].append(np.asarray(amount, dtype=np.int64))
        ev["eq"].append(np.asarray(eq, dtype=np.float64))
        ev["ref"].append(np.asarray(ref, dtype=np.int8))
        ev["rel"].append(np.asarray(rel, dtype=np.int64))
        ev["tag"].append(np.asarray(tag, dtype=np.int8))
        first = n_events
        n_events += n
        return np.arange(first, first + n)

    TAGS = {"con001": 1, "con002": 2, "clr001": 3, "clr002": 4}
    b.TAG_RULE = {1: "CON-001", 2: "CON-002", 3: "CLR-001", 4: "CLR-002", 7: "CLR-006"}

    def ratio_of(c, mv, d):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (c / 100 + mv / 100) / (d / 100)

    def lev_of(mv, e):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (mv / 100) / (e / 100)

    for t in range(T):
        day = int(b.dnum[t])
        day_s = day * DAY
        pm = b.pm[:, t + 1]
        u_call = b.r_day.integers(0, 1800, N)
        u_liq = b.r_day.integers(0, 17_400, N)
        u_rec = b.r_day.integers(0, 3600, N)
        u_flow = b.r_day.random(N)
        z_flow = b.r_day.normal(0, 0.5, N)
        pos_mv = np.where(live, (q * pm[pos_inst] + 5) // 10, 0)
        MV = np.bincount(pos_acc, weights=pos_mv, minlength=N).astype(np.int64)

        # 1. Clients called yesterday top up in the morning (some of them).
        resp = alive & called_yday & (debt > 0) & ~b.scripted & b.responder
        need = ceil_to(np.maximum(17 * debt // 10 - (cash + mv_yday), 0), 10_000)
        resp &= need > 0
        idx = np.nonzero(resp)[0]
        cash[idx] += need[idx]
        add_ledger(day, idx, need[idx], CP_BANK, T_TOPUP)

        # 2. Liquidations.
        R = ratio_of(cash, MV, debt)
        liq_at = day_s + 10 * HOUR + u_liq
        deadline = liq_at - int(DISCLOSURE["notice_period_hours"] * HOUR)
        cand = np.where(last_call <= deadline, last_call, np.where(prev_call <= deadline, prev_call, NEG))
        call_ok = (cand > NEG) & (liq_at - cand <= CALL_VALIDITY_HOURS * HOUR)
        gen = alive & (debt > 0) & (MV > 0) & call_ok & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
        gen &= no_liq != t  # the CON-008 story: the engine skips the account today
        forced = alive & (force_day == t) & (debt > 0)
        if (forced & gen).any() or (alive & (force_day > t) & gen).any():
            raise RuntimeError("a forced-liquidation story was liquidated by the normal process")
        liq = gen | forced
        li = np.nonzero(liq)[0]
        if len(li):
            fmask = liq[fin_acc] & fin_out
            fj = np.nonzero(fmask)[0]
            fdays = day - fin_last[fj]
            fj, fdays = fj[fdays > 0], fdays[fdays > 0]
            icharge = interest_cents(fin_amount[fj], fdays)
            add_fee(day, fin_acc[fj], fj, 0, fin_amount[fj], DISCLOSURE["interest_rate_annual"], fdays, icharge)
            int_by_acc = np.bincount(fin_acc[fj], weights=icharge, minlength=N).astype(np.int64)[li]
            proceeds = MV[li]
            comm = half_up_div(proceeds * 3, 10_000)
            avail = cash[li] + proceeds - comm - int_by_acc
            repay = np.clip(avail, 0, debt[li])
            eq_after = avail - debt[li]
            add_ledger(day, li, proceeds, CP_EXCHANGE, T_SALE)
            add_fee(day, li, np.full(len(li), -1), 1, proceeds, DISCLOSURE["commission_rate"], -1, comm)
            add_ledger(day, li, -comm, CP_FEE, T_COMMISSION)
            add_ledger(day, fin_acc[fj], -icharge, CP_FEE, T_INTEREST)
            add_ledger(day, li, -repay, CP_LOAN, T_REPAY)
            cash[li] = np.maximum(eq_after, 0)
            debt[li] = 0
            fin_out[fmask] = False
            fin_last[fmask] = day
            live &= ~liq[pos_acc]
            MV[li] = 0
            tags = np.array([TAGS.get(tag_liq.get(int(a), ""), 0) for a in li], dtype=np.int8)
            # Only planted accounts carry a tag, and only their own violation.
            tags = np.where(np.isin(tags, [1, 2]) & ~forced[li], 0, tags)
            ref = np.where(ref_kind[li] == 1, 1, np.where(ref_kind[li] == 2, 2, 0))
            ids = add_events(LIQ, li, liq_at[li], np.round(R[li], 4), proceeds,
                             eq_after.astype(np.float64), ref, np.full(len(li), -1), tags)
            neg = eq_after < 0
            if (neg & np.isin(tags, [1, 2])).any() or (no_recourse[li] & ~neg).any():
                raise RuntimeError("a liquidation story ended with the wrong sign of equity")
            rec = neg & ~no_recourse[li]
            if rec.any():
                ra = li[rec]
                add_events(RECOURSE, ra, day_s + 17 * HOUR + u_rec[ra], np.full(len(ra), np.nan),
                           -eq_after[rec], eq_after[rec].astype(np.float64), np.full(len(ra), 3),
                           ids[rec], np.where(wipe_acc[ra], 7, 0).astype(np.int8))
            closed_today = li[neg]
        else:
            closed_today = np.empty(0, dtype=np.int64)

        # 3. Month-end interest on every outstanding draw.
        if b.month_end[t]:
            fj = np.nonzero(fin_out & alive[fin_acc])[0]
            fdays = day - fin_last[fj]
            fj, fdays = fj[fdays > 0], fdays[fdays > 0]
            charged = interest_cents(fin_amount[fj], fdays)
            rate = np.full(len(fj), DISCLOSURE["interest_rate_annual"])
            ftag = np.zeros(len(fj), dtype=np.int8)
            hm = np.isin(fj, half_rows)
            b.half_found += int(((fin_amount[fj[hm]] * RATE_BP * fdays[hm]) % 3_600_000 == 1_800_000).sum())
            if con004:
                for j, s in con004.items():
                    n_ = int(np.searchsorted(fj, j))
                    if n_ >= len(fj) or fj[n_] != j or s.params.get("done"):
                        continue
                    v = s.variant % 3
                    if v == 0:
                        rate[n_] = 0.0965
                        charged[n_] = interest_cents(fin_amount[j], fdays[n_], rate_bp=965)
                        note = "interest charged at 9.65% instead of the published 8.65%"
                    elif v == 1:
                        charged[n_] = interest_cents(fin_amount[j], fdays[n_] + 1)
                        note = "interest charged for one day more than the period"
                    else:
                        charged[n_] = interest_cents(fin_amount[j], fdays[n_], basis=365)
                        note = "interest computed on a 365-day basis instead of the published 360"
                    ftag[n_] = 5
                    s.params["done"] = True
                    s.params["note"] = note
            add_fee(day, fin_acc[fj], fj, 0, fin_amount[fj], rate, fdays, charged, ftag)
            due = np.bincount(fin_acc[fj], weights=charged, minlength=N).astype(np.int64)
            short = np.nonzero(due > cash)[0]
            top = ceil_to(due[short] - cash[short], 10_000)
            cash[short] += top
            add_ledger(day, short, top, CP_BANK, T_INT_TOPUP)
            cash -= due
            add_ledger(day, fin_acc[fj], -charged, CP_FEE, T_INTEREST)
            fin_last[fj] = day

        # 4. Deposits, withdrawals and the planted client-money movements.
        free = alive & ~b.scripted
        dep = free & (u_flow < 0.02)
        amt = np.maximum(np.round(E_scale * 0.05 * np.exp(z_flow) / 100).astype(np.int64) * 10_000, 100_000)
        di = np.nonzero(dep)[0]
        cash[di] += amt[di]
        add_ledger(day, di, amt[di], CP_BANK, T_DEPOSIT)
        wamt = np.minimum(amt, (cash * 4 // 10) // 10_000 * 10_000)
        c_after = cash - wamt
        E_after = c_after + MV - debt
        ok_lev = (debt == 0) | ((ratio_of(c_after, MV, debt) >= CONC_FREE + 0.05)
                                & (lev_of(MV, E_after) <= 0.8 * cap) & (c_after >= debt // 50))
        wd = free & (u_flow > 0.985) & (wamt >= 10_000) & ok_lev & ~dep
        wi = np.nonzero(wd)[0]
        cash[wi] -= wamt[wi]
        add_ledger(day, wi, -wamt[wi], CP_BANK, T_WITHDRAW)
        for a, d in seg002_day.items():
            if d == t:
                amount = int(cash[a] // 5 // 100 * 100)
                if amount <= 0:
                    raise RuntimeError("no cash to sweep for a SEG-002 story")
                cash[a] -= amount
                add_ledger(day, [a], [-amount], CP_OWN, T_SWEEP, tag=6)
        for a, d in pown_day.items():
            if d == t:
                cash[a] += 18_800
                add_ledger(day, [a], [18_800], CP_OWN, T_COMP)
        # Day trades: random ones for generic accounts (at most three in five days), then
        # the scripted ones.
        u_dt = b.r_day.random(N)
        v_dt = b.r_day.uniform(0.1, 0.6, N)
        slot = t % 5
        recent = dt_hist.sum(axis=1) - dt_hist[:, slot]
        dt_hist[:, slot] = 0
        value = np.maximum(np.round(E_scale * v_dt), 1_000).astype(np.int64) * 100
        comm = half_up_div(value * 3, 10_000)
        dti = np.nonzero(free & ~liq & ~dt_scripted & (u_dt < 0.03) & (recent <= 2) & (cash >= 2 * comm))[0]
        for _leg in range(2):
            add_fee(day, dti, np.full(len(dti), -1), 1, value[dti], DISCLOSURE["commission_rate"], -1, comm[dti])
            add_ledger(day, dti, -comm[dti], CP_FEE, T_COMMISSION)
        cash[dti] -= 2 * comm[dti]
        dt_hist[dti, slot] += 1
        for a, val, charges, tags in dt_script.get(t, []):
            if not alive[a] or cash[a] < sum(charges):
                raise RuntimeError("a scripted day trade has no live account or cash")
            for ch, tg in zip(charges, tags):
                add_fee(day, [a], [-1], 1, [val], DISCLOSURE["commission_rate"], -1, [ch], [tg])
                add_ledger(day, [a], [-ch], CP_FEE, T_COMMISSION)
                cash[a] -= ch
            dt_hist[a, slot] += 1
        dt_count = dt_hist.sum(axis=1)

        # 5. Keep the snapshot inside the caps: top-ups where leverage, the liquidation line
        #    or concentration would be breached.
        for _round in range(3):
            A = cash + MV
            E = A - debt
            lev = lev_of(MV, E)
            R = ratio_of(cash, MV, debt)
            lev_bad = (debt > 0) & (MV > 0) & ~((E > 0) & (lev <= cap + RATIO_TOL))
            r_bad = (debt > 0) & (MV > 0) & (R <= DISCLOSURE["liquidation_ratio"] + RATIO_TOL)
            maxpos = np.zeros(N, dtype=np.int64)
            if P:
                mx = np.maximum.reduceat(pos_mv * live, np.minimum(starts, P - 1))
                maxpos = np.where(has_pos, mx, 0)
            limit = np.where(R >= CONC_FREE, 1.0, np.where(R >= CONC_MID, CONC_MID_SHARE, CONC_LOW_SHARE))
            with np.errstate(divide="ignore", invalid="ignore"):
                share = (maxpos / 100) / (A / 100)
            c_bad = (debt > 0) & (MV > 0) & (share > limit + RATIO_TOL)
            bad = alive & (lev_bad | r_bad | c_bad)
            if _round == 0:
                today = sup.get(t, {})
                for a, kind in today.items():
                    want = {"lev": lev_bad[a] and not r_bad[a] and not c_bad[a],
                            "conc": c_bad[a] and not lev_bad[a] and not r_bad[a],
                            "liq": r_bad[a] and not lev_bad[a] and not c_bad[a],
                            "wipe": lev_bad[a] and r_bad[a]}[kind]
                    if not (alive[a] and want):
                        raise RuntimeError(f"story {kind!r} of account {a} does not breach as "
                                           f"scripted on day {t}")
                    if kind == "lev":
                        b.planted_acc_days.append(("LEV-002", int(a), t, None))
                    elif kind == "liq":
                        b.planted_acc_days.append(("CON-008", int(a), t, None))
                    elif kind == "conc":
                        b.planted_acc_days.append(("LEV-003", int(a), t, b.role_of[a].params["inst"]))
                    elif kind == "wipe":
                        b.planted_acc_days.append(("LEV-002", int(a), t, None))
                        b.planted_acc_days.append(("LEV-014", int(a), t, None))
                held = np.array(list(today), dtype=np.int64)
            if len(held):
                bad[held] = False
            if not bad.any():
                break
            if (bad & story_acc).any():
                raise RuntimeError("a scripted story needed a top-up")
            x = np.zeros(N)
            x = np.where(lev_bad, MV / (0.85 * cap) - E, x)
            x = np.maximum(x, np.where(r_bad, 1.33 * debt - A, 0))
            x = np.maximum(x, np.where(c_bad, maxpos / limit - A, 0))
            bi = np.nonzero(bad)[0]
            top = ceil_to(np.ceil(x[bi]).astype(np.int64) + 1, 10_000)
            cash[bi] += top
            add_ledger(day, bi, top, CP_BANK, T_TOPUP)
        else:
            raise RuntimeError("top-ups did not bring every account inside the caps")

        # 6. Snapshot (closed-today accounts appear with zeros one last time).
        ai = np.nonzero(alive)[0]
        acc_rows.append((t, ai, cash[ai].copy(), MV[ai].copy(), debt[ai].copy(), dt_count[ai].copy()))
        pos_rows.append((t, np.nonzero(live)[0].astype(np.int32)))
        mv_yday = MV.copy()

        # 7. Margin calls at the close for every account at or below the call line.
        alive[closed_today] = False
        R = ratio_of(cash, MV, debt)
        zone = alive & (debt > 0) & (R <= DISCLOSURE["margin_call_ratio"] + RATIO_TOL)
        for a in np.nonzero(sup_call == t)[0]:
            if not zone[a]:
                raise RuntimeError("CON-003 story is not at the call line on its day")
            b.planted_acc_days.append(("CON-003", int(a), t, None))
        zone &= sup_call != t
        zi = np.nonzero(zone)[0]
        at = day_s + 18 * HOUR + u_call[zi]
        amount = np.maximum(ceil_to(15 * debt[zi] - 10 * (cash[zi] + MV[zi]), 10), 0) // 10
        add_events(CALL, zi, at, np.round(R[zi], 4), amount, np.full(len(zi), np.nan),
                   np.full(len(zi), 3), np.full(len(zi), -1), np.zeros(len(zi), dtype=np.int8))
        prev_call[zi] = last_call[zi]
        last_call[zi] = at
        called_yday = zone

    b.acc_rows, b.pos_rows = acc_rows, pos_rows
    b.ev = {k: np.concatenate(v) if v else np.empty(0) for k, v in ev.items()}
    b.led = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in led.items()}
    b.fee = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in fee.items()}
    b.final_alive = alive
    # Every story must have produced what it was scripted for.
    tags = b.ev["tag"]
    expected_tags = {1: len(b.by_role["con001"]), 2: len(b.by_role["con002"]),
                     3: len(b.by_role["clr001"]), 4: len(b.by_role["clr002"])}
    for tg, n in expected_tags.items():
        if int((tags == tg).sum()) != n:
            raise RuntimeError(f"story {b.TAG_RULE[tg]}: {(tags == tg).sum()} of {n} planted")
    if b.half_found < len(b.by_role["half"]):
        raise RuntimeError("exact half-cent interest trap not produced")
    if sum(1 for s in b.by_role["con004"] if s.params.get("done")) != len(b.by_role["con004"]):
        raise RuntimeError("CON-004 plant not produced")
    if int((tags == 7).sum()) != len(b.by_role["wipe"]):
        raise RuntimeError("the negative-balance story produced no recourse against the retail client")
    made = {}
    for rule, *_ in b.planted_acc_days:
        made[rule] = made.get(rule, 0) + 1
    for rule, role, per in (("CON-008", "con008", 1), ("LEV-003", "lev003", 1), ("LEV-014", "wipe", 2)):
        if made.get(rule, 0) != per * len(b.by_role[role]):
            raise RuntimeError(f"story {rule}: {made.get(rule, 0)} planted")
    check_traps(b)


def check_traps(b: Builder) -> None:
    ev = b.ev
    liq = ev["type"] == LIQ
    t1 = b.by_role["t1_exact130"][0].account
    m = liq & (ev["acc"] == t1)
    if m.sum() != 1 or ev["ratio"][m][0] != 1.3:
        raise RuntimeError("the exact-130% liquidation trap was not produced")
    t2 = b.by_role["t2_recourse"][0].account
    m = liq & (ev["acc"] == t2)
    if m.sum() != 1 or not ev["eq"][m][0] < 0:
        raise RuntimeError("the recourse trap was not produced")
