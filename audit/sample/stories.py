"""The scripted accounts' opening cash and debt, solved from their price paths so that each
story happens on its day: the S1 crash, the S2 dip, the S3 wipe-out, the illiquid cluster and
the one large client, and the traps that sit exactly on a line."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from audit.sample.terms import NOTICE_DAYS, ceil_to, floor_to, interest_cents

if TYPE_CHECKING:
    from audit.sample.builder import Builder


def _sl(b: Builder, account: int) -> np.ndarray:
    """The rows of an account's positions."""
    lo, hi = np.searchsorted(b.pos_acc, [account, account + 1])
    return np.arange(lo, hi)


def _pos_path(b: Builder, account: int) -> np.ndarray:
    """Value (cents) of each of an account's positions at each window close: (positions, T)."""
    sl = _sl(b, account)
    return (b.q[sl, None] * b.pm[b.pos_inst[sl], 1:] + 5) // 10


def _mv_path(b: Builder, account: int) -> np.ndarray:
    """Market value (cents) of an account's fixed holdings at each window close."""
    return _pos_path(b, account).sum(axis=0)


def _set_qty(b: Builder, account: int, value_cents: float) -> None:
    """Equal lots worth ``value_cents`` in all at the close before day ``c0``."""
    sl = _sl(b, account)
    p = b.pm[b.pos_inst[sl], b.c0]  # close of day c0-1
    each = value_cents / len(sl)
    b.q[sl] = np.maximum(np.round(each * 10 / (p * 100)), 1).astype(np.int64) * 100


def _set_values(b: Builder, account: int, values: dict[int, float], col: int) -> None:
    """Whole lots worth about ``values[instrument]`` cents each at price column ``col``."""
    sl = _sl(b, account)
    inst = b.pos_inst[sl]
    p, lots = b.pm[inst, col], b.lot[inst]
    want = np.array([values[int(k)] for k in inst])
    b.q[sl] = np.maximum(np.round(want * 10 / (p * lots)), 1).astype(np.int64) * lots


def _cash_path(b: Builder, cash: int, debt: int, flows: dict[int, int] | None = None) -> np.ndarray:
    """Cash at each snapshot of a scripted account whose only flows are month-end interest
    on one draw of ``debt`` opened before the window (as the simulation charges it), and the
    client's own ``flows`` (window day -> cents, before the interest)."""
    out, last = np.empty(b.T, dtype=np.int64), b.prev_charge
    for t in range(b.T):
        cash += (flows or {}).get(t, 0)
        if b.month_end[t]:
            due = int(interest_cents(debt, int(b.dnum[t]) - last))
            last = int(b.dnum[t])
            if due > cash:
                cash += int(ceil_to(np.array([due - cash]), 10_000)[0])
            cash -= due
        out[t] = cash
    return out


def ceil_div(x: float, step: int) -> int:
    """``x`` rounded up to a whole ``step``."""
    return int(ceil_to(np.array([int(math.ceil(x))]), step)[0])


def _bond_withdrawal(b: Builder, a: int, rm, ell: float, day: int, withdrawn: float):
    """A professional's account of three bonds whose cash withdrawal on ``day`` (``withdrawn``
    of the debt) takes the collateral ratio to about 128%: the market values, the debt, the
    withdrawal, the opening cash, and the ratio, equity and largest-position share by day."""
    v = min(rm.uniform(0.6e6, 1.5e6) * 100, rm.uniform(0.6, 1.2) * ell)
    _set_values(b, a, {int(i): v / 3 for i in b.bonds}, day + 1)
    pp = _pos_path(b, a)
    mv = pp.sum(axis=0)
    D = ceil_div(mv[day] / 1.262, 10_000)
    W = int(round(withdrawn * D / 10_000)) * 10_000
    cash = int(round(0.02 * D)) + W
    cp = _cash_path(b, cash, D, {day: -W})
    R, E = (cp + mv) / D, cp + mv - D
    share = pp.max(axis=0) / (cp + mv)
    return mv, D, W, cash, R, E, share


def _story_check(b: Builder, ok: bool, what: str) -> None:
    """Fail loudly when a story's solved balances do not do what it needs."""
    if not ok:
        raise RuntimeError(f"scripted story {what} does not hold for seed {b.seed}, "
                           f"{b.N} accounts, {b.T} days")


def scripted_states(b: Builder) -> None:
    """Initial cash and debt of the scripted accounts, solved from their price paths."""
    c0, dv, T = b.c0, b.dv, b.T
    me_days = [t for t in range(b.T) if b.month_end[t]]
    rm, ell = b.r_misc, b.ell
    s1_ratio = {"t2_recourse": (1.66,), "clr001": (1.50, 1.52), "con001": (1.60, 1.62),
                "clr002": (1.63, 1.67)}

    # NOTE: one loop over the stories in cast order, because each story draws its size from
    # r_misc as it comes; the plants that use these accounts (plants/con.py, lev.py, clr.py)
    # rely on the ratios solved here.
    for s in b.stories:
        a, role = s.account, s.role
        if role in ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002"):
            _set_qty(b, a, min(rm.uniform(1.2e6, 3e6) * 100, rm.uniform(1.0, 2.0) * ell))
            mv = _mv_path(b, a)
            pre = mv[c0 - 1]
            if role == "t1_exact130":
                liq_day = c0 + 2
                c_target = int(pre * 0.01)
                k10 = -(-(mv[liq_day] + c_target) // 13)  # D = 10 * k10 cents
                D = 10 * k10
                interest, last = 0, b.prev_charge
                for t in me_days:  # month-end charges before the liquidation come out of cash
                    if t < liq_day:
                        interest += int(interest_cents(D, int(b.dnum[t]) - last))
                        last = int(b.dnum[t])
                cash = 13 * k10 - int(mv[liq_day]) + interest
                s.params = {"liq_day": liq_day}
            else:
                if role == "con002":
                    # Odd variants: first call on c0+2, liquidated on the next calendar day.
                    # Even ones: never called (the ratio only crosses the call line on c0+3).
                    kind = "call_too_recent" if s.variant % 2 and b.consecutive else "no_call"
                    ratio = 1.74 if kind == "call_too_recent" else 2.0 - 0.02 * s.variant
                    s.params = {"force_day": c0 + 3, "kind": kind}
                else:
                    ratios = s1_ratio[role]
                    ratio = ratios[s.variant % len(ratios)] + 0.004 * (s.variant // len(ratios))
                cash = int(round(pre * 0.01))
                D = int(ceil_to(np.array([round((cash + pre) / ratio)]), 10_000)[0])
                if role == "con001":
                    s.params = {"force_day": c0 + 2}
                if role == "clr001":
                    s.params = {"ref": ("null", "blank")[s.variant % 2]}
            b.cash0[a], b.D0[a] = cash, D
        elif role in ("con003", "lev002"):
            _set_qty(b, a, min(rm.uniform(0.6e6, 1.5e6) * 100, rm.uniform(0.6, 1.2) * ell))
            mv = _mv_path(b, a)
            ratio = (1.47, 1.455, 1.465, 1.46, 1.45)[s.variant % 5]
            cash = int(round(mv[dv] * 0.01))
            D = int(round((cash + mv[dv]) / ratio / 100)) * 100
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"day": dv}
        elif role == "con008":
            # Professional, three bonds, about 140% (in call, above the line) until the client
            # withdraws cash on day ``day``: about 127% from then on, and the platform neither
            # liquidates nor tops up to the window's end (CON-008 once the grace has run out).
            day = min(b.crash + 1, T - 4)
            mv, D, W, cash, R, E, share = _bond_withdrawal(b, a, rm, ell, day, 0.125)
            _story_check(b, (R[:day] > 1.3 + 3e-3).all() and (R[day:] <= 1.297).all()
                         and (E > 0).all() and (mv / E <= 5 - 0.05).all()
                         and (share <= 0.5 - 0.01).all(), "CON-008")
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"day": day, "withdraw": W}
        elif role == "tr_holiday":
            # Professional, three bonds, about 160% (no call) until the client withdraws cash on
            # the last session before an exchange holiday: about 128%, called that evening. The
            # client's day (T+1) comes after the holiday; the platform sells on T+2, some five
            # calendar days after the call (in calendar hours it would look late).
            day = b.before_holiday
            mv, D, W, cash, R, E, share = _bond_withdrawal(b, a, rm, ell, day, 0.34)
            sold = day + NOTICE_DAYS + 1
            _story_check(b, (R[:day] > 1.5 + 3e-3).all() and (R[day:sold + 1] <= 1.297).all()
                         and (E > 0).all() and (mv[:sold + 1] / E[:sold + 1] <= 5 - 0.05).all()
                         and (share <= 0.5 - 0.01).all(), "holiday notice")
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"day": day, "withdraw": W, "sold": sold}
        elif role == "tr_met_call":
            # In call every day (about 137%), 128.5% on the dip day (a Friday): at the
            # liquidation line, called that evening, and back above it on Monday (a met call:
            # no liquidation is due).
            v = min(rm.uniform(0.6e6, 1.5e6) * 100, rm.uniform(0.6, 1.2) * ell)
            _set_values(b, a, {int(i): v / 3 for i in b.S2}, dv)
            mv = _mv_path(b, a)
            cash = int(round(mv[dv] * 0.01))
            D = ceil_div((cash + mv[dv]) / 1.285, 100)
            cp = _cash_path(b, cash, D)
            R, E = (cp + mv) / D, cp + mv - D
            others = np.arange(T) != dv
            _story_check(b, R[dv] <= 1.3 - 1e-4 and (R[others] > 1.3 + 2e-3).all()
                              and (E > 0).all() and (mv / E <= 5 - 0.05).all(), "met call")
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"day": dv}
        elif role == "lev003":
            # 60% of its assets in one V-dip stock at about 186%: the dip takes the ratio
            # below 180%, where one position may be at most half the assets (LEV-003).
            A = min(rm.uniform(0.8e6, 1.6e6) * 100, rm.uniform(0.6, 1.1) * ell)
            big = int(b.S2[s.variant % 3])
            _set_values(b, a, {big: 0.6 * A, int(b.bonds[0]): 0.195 * A,
                                 int(b.bonds[1]): 0.195 * A}, dv)
            pp = _pos_path(b, a)
            mv = pp.sum(axis=0)
            row = list(b.pos_inst[_sl(b, a)]).index(big)
            cash = int(round(0.01 * A))
            D = ceil_div((cash + mv[dv]) / 1.79, 100)
            cp = _cash_path(b, cash, D)
            R, E = (cp + mv) / D, cp + mv - D
            share = pp[row] / (cp + mv)
            others = np.arange(T) != dv
            _story_check(b, 
                R[dv] < 1.8 - 1e-3 and R[dv] > 1.5 + 0.01 and share[dv] > 0.5 + 0.01
                and (R[others] >= 1.8 + 2e-3).all() and (share[others] <= 0.7 - 0.01).all()
                and (E > 0).all() and (mv / E <= 3 - 0.05).all(), "LEV-003")
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"day": dv, "inst": big}
        elif role == "wipe":
            # Retail, just inside the 3x cap (153%), then two limit-down days: 107% (about
            # 15x) and below zero; liquidated on the third day with negative equity, and the
            # platform pursues the retail client for it.
            x3 = b.x3
            v = min(rm.uniform(0.3e6, 0.8e6) * 100, rm.uniform(0.5, 1.0) * ell)
            _set_values(b, a, {int(i): v / 3 for i in b.S3}, x3)
            mv = _mv_path(b, a)
            pre = int(((b.q[_sl(b, a)] * b.pm[b.pos_inst[_sl(b, a)], x3] + 5) // 10).sum())
            cash = int(round(pre * 0.01))
            D = ceil_div((cash + pre) / 1.53, 100)
            cp = _cash_path(b, cash, D)
            R, E = (cp + mv) / D, cp + mv - D
            before = np.arange(T) < x3
            _story_check(b, 
                (R[before] > 1.5 + 3e-3).all() and (E[before] > 0).all()
                and (mv[before] / np.maximum(E[before], 1) <= 3 - 0.02).all()
                and R[x3] <= 1.3 and E[x3] <= 0.1 * mv[x3] and E[x3 + 1] < 0, "negative balance")
            b.cash0[a], b.D0[a] = cash, D
            s.params = {"days": (x3, x3 + 1)}
        elif role == "t3_lev3":
            sl = _sl(b, a)
            p = b.pm[b.pos_inst[sl], 1]
            lots = b.lot[b.pos_inst[sl]]
            each = min(80_000_00, 0.35 * ell)
            base_q = np.maximum(np.round(each * 10 / (p * lots)), 1).astype(np.int64) * lots
            for extra in itertools.product(range(3), repeat=len(sl)):  # day-0 value divisible by 3
                b.q[sl] = base_q + np.array(extra) * lots
                mv0 = int(((b.q[sl] * p + 5) // 10).sum())
                if mv0 % 3 == 0:
                    break
            E = -(-mv0 // 3)  # leverage exactly 3 when mv0 divides by 3, a hair below otherwise
            cash = int(mv0 * 0.01)
            b.cash0[a], b.D0[a] = cash, cash + mv0 - E
        elif role == "t4_conc":
            # One bond exactly 70% of the assets at a collateral ratio of about 200%: exactly
            # the concentration limit for 180-240%, on the first snapshot.
            sl = _sl(b, a)
            inst = b.pos_inst[sl]
            p, lots = b.pm[inst, 1], b.lot[inst]
            A = min(2e7, 0.5 * ell)
            _set_values(b, a, {int(inst[0]): 0.7 * A, int(inst[1]): 0.1 * A, int(inst[2]): 0.1 * A}, 1)
            for _ in range(100):
                vals = (b.q[sl] * p + 5) // 10
                if vals[0] % 7 == 0:
                    break
                b.q[sl[0]] += lots[0]
            _story_check(b, vals[0] % 7 == 0, "concentration exactly at the limit")
            assets = int(vals[0]) * 10 // 7
            cash = assets - int(vals.sum())
            D = int(ceil_to(np.array([assets // 2]), 10_000)[0])
            due = int(interest_cents(D, int(b.dnum[0]) - b.prev_charge)) if b.month_end[0] else 0
            _story_check(b, cash > 0, "concentration exactly at the limit (cash)")
            b.cash0[a], b.D0[a] = cash + due, D
            s.params = {"day": 0, "inst": int(inst[0])}
        elif role == "debt_nopos":
            b.D0[a] = int(min(5_000_000, floor_to(0.5 * ell, 10_000)))
            b.cash0[a] = 26 * b.D0[a] // 10
    for s in b.by_role["half"]:
        s.params = {"half": True}
    _cluster_states(b)
    _whale_state(b)


def _cluster_states(b: Builder) -> None:
    """The illiquid cluster (with ``plant_table_level``): accounts whose financing sits in one
    thinly traded stock Z, sized so that the severe scenario's spiral shortfall exceeds net
    capital (LEV-004) while net capital still covers a quarter of the book (CAP-003) and
    twenty times any one client (CAP-002). Two of them, at 162% with Z under half their
    assets, are closed out by the severe shock alone and start Z's fall."""
    stories = b.by_role["cluster"]
    if not stories:
        return
    dies = {"t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "wipe", "cap002"}
    gone = np.zeros(b.N, dtype=bool)
    for s in b.stories:
        if s.role in dies or s.role == "cluster":
            gone[s.account] = True
    alive_book = int(b.D0[~gone].sum())
    d = 0.7 * alive_book / len(stories)
    Z, s2a, s2b = int(b.Z), int(b.S2[0]), int(b.S2[1])
    for s in stories:
        a = s.account
        trigger = s.variant < 2
        A = (1.62 if trigger else 2.6) * d
        vals = {Z: 0.45 * A, s2a: 0.27 * A, s2b: 0.27 * A} if trigger else {Z: 0.99 * A}
        _set_values(b, a, vals, 1)
        pp = _pos_path(b, a)
        mv = pp.sum(axis=0)
        cash = int(round(0.01 * A))
        D = int(ceil_to(np.array([int((cash + mv[0]) / (1.62 if trigger else 2.6))]), 10_000)[0])
        cp = _cash_path(b, cash, D)
        R, E = (cp + mv) / D, cp + mv - D
        if trigger:
            share = pp / (cp + mv)
            ok = ((R > 1.5 + 0.01) & (R < 1.8 - 0.01)).all() and (share <= 0.5 - 0.01).all()
        else:
            ok = (R >= 2.4 + 0.02).all()
        _story_check(b, ok and (E > 0).all() and (mv / E <= 3 - 0.05).all(), "illiquid cluster")
        b.cash0[a], b.D0[a] = cash, D


def _whale_state(b: Builder) -> None:
    """CAP-002: one professional client financed far above everyone else (a fortieth of the
    book or 1.6 times the next client), in the S1 stocks: closed out in the crash (with a
    recourse record for its negative balance), so net capital can dip below twenty times
    its debt on a day before the crash without any other rule noticing."""
    for s in b.by_role["cap002"]:
        a = s.account
        others = b.D0.copy()
        others[a] = 0
        target = max(1.6 * int(others.max()), 0.025 * int(others.sum()))
        _set_qty(b, a, target * 1.66 / 1.01)
        mv = _mv_path(b, a)
        pre = mv[b.c0 - 1]
        cash = int(round(pre * 0.01))
        b.cash0[a] = cash
        b.D0[a] = int(ceil_to(np.array([round((cash + pre) / 1.66)]), 10_000)[0])
