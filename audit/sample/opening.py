"""The book on the eve of the window: each account's category, own money, leverage, cash and
positions, with the scripted accounts given the economics their stories need."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from audit.sample.stories import scripted_states
from audit.sample.terms import DISCLOSURE, ceil_to

if TYPE_CHECKING:
    from audit.sample.builder import Builder


def accounts_init(b: Builder) -> None:
    """Categories, own money, leverage, positions, cash and debt of every account (``b.r_acc``)."""
    r, N = b.r_acc, b.N
    u = r.random(N)
    id_type = np.select([u < 0.91, u < 0.96, u < 0.97, u < 0.99], [0, 2, 3, 1], 4)
    # 0 cn_resident_id, 1 passport, 2 uscc, 3 lei, 4 other
    corp = (id_type == 2) | (id_type == 3)
    pro = np.where(corp, r.random(N) < 0.8, r.random(N) < 0.075)
    financed = r.random(N) >= 0.06
    # Light roles keep generic economics, but every one of them borrows (its records are
    # financings and snapshots with debt), and those whose leverage is set are retail.
    financed |= b.light
    for s in b.stories:
        if s.role in ("lev006", "lev007", "lev008", "lev010", "lev011", "lev012"):
            pro[s.account] = False
    E0 = np.where(pro, np.clip(np.exp(r.normal(np.log(800e3), 0.7, N)), 100e3, 3e6),
                  np.clip(np.exp(r.normal(np.log(150e3), 0.9, N)), 20e3, 2e6))
    L = np.where(pro, 1.3 + 2.4 * r.beta(2.5, 2.5, N), 1.0 + 1.75 * r.beta(2.2, 2.8, N))
    kappa = np.where(pro, r.uniform(0.01, 0.08, N),
                     np.where(r.random(N) < 0.15, r.uniform(0.3, 0.8, N), r.uniform(0.015, 0.12, N)))
    cash_only_L = r.uniform(0.4, 0.95, N)
    L = np.where(financed, np.maximum(L, 1.2 - kappa), cash_only_L)
    kappa = np.where(financed, kappa, 1 - cash_only_L)
    n_pos = np.where(financed, r.choice(np.arange(3, 9), N, p=[.14, .2, .22, .2, .14, .1]),
                     r.choice(np.arange(1, 9), N, p=[.05, .09, .13, .16, .18, .16, .13, .10]))
    # Role overrides: the economics the plants' and traps' accounts need (cast.py).
    # NOTE: these stay here rather than in plants/: calm roles draw their leverage and own
    # money from r_acc in story order, between the generic draws above and below, and moving
    # them would move every later draw.
    calm_roles = ("kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_hit_nofin",
                  "kyc_same_day", "lev001", "lev001_pro45", "con004", "half", "seg002", "pown_pos",
                  "lev009")
    for s in b.stories:
        a = s.account
        if s.role in b.light_roles:
            if s.role == "tr_pdt_ok":
                E0[a] = max(E0[a], 100e3)
            if s.role in ("seg003", "tr_pledge_exact"):  # holdings worth 2.7 times the debt
                L[a], kappa[a] = 1.5, 0.05
            if s.role == "kyc005":  # a professional investor is not graded C1-C5: no mis-sale
                pro[a] = False
        elif s.role in calm_roles:
            pro[a] = s.role in ("lev001_pro45",) or (s.role == "lev001" and s.variant % 3 == 1)
            financed[a] = not (s.role in ("seg002", "kyc_hit_nofin")
                               or (s.role == "kyc003" and s.variant == 2))
            L[a] = r.uniform(1.2, 1.5) if financed[a] else 0.6
            kappa[a] = 0.08 if financed[a] else 0.4
            E0[a] = r.uniform(150e3, 400e3) if s.role != "lev009" else 16e3
            n_pos[a] = 4
            id_type[a] = 0
            if s.role == "kyc004":
                id_type[a] = (0, 2, 3, 0)[s.variant % 4]
        elif s.role in ("t3_lev3", "debt_nopos", "lev002", "lev003", "wipe", "t4_conc"):
            pro[a], financed[a], id_type[a] = False, True, 0
        elif s.role == "cluster":
            pro[a], financed[a] = False, True
        else:  # S1 / S2 stories: professional, financed
            pro[a], financed[a], id_type[a] = True, True, 0
    b.id_type, b.pro, b.financed = id_type, pro, financed
    b.responder = r.random(N) < 0.4  # answers a margin call by topping up the next morning
    b.cap = np.where(pro, DISCLOSURE["leverage_cap_professional"], DISCLOSURE["leverage_cap_retail"])
    # Generic positions (scripted accounts get theirs below).
    s1_roles = ("t1_exact130", "t2_recourse", "clr001", "con001", "con002", "clr002", "cap002")
    s2_roles = ("con003", "lev002", "tr_met_call")
    own_slots = s1_roles + s2_roles + ("lev003", "t3_lev3", "debt_nopos", "t4_conc", "wipe", "cluster",
                                       "con008", "tr_holiday")
    for s in b.stories:
        if s.role in own_slots:
            n_pos[s.account] = 0
    gen = np.arange(b.n_generic)
    pop = 1.0 / (np.arange(1, b.n_generic + 1) ** 0.8)
    pop = pop[r.permutation(b.n_generic)]
    pop /= pop.sum()
    acc = np.repeat(np.arange(N, dtype=np.int64), n_pos)
    inst = r.choice(gen, size=len(acc), p=pop)
    key = np.unique(acc * b.n_inst + inst)
    pos_acc, pos_inst = key // b.n_inst, key % b.n_inst
    # Scripted slots.
    bonds = np.nonzero(b.inst_class == "bond")[0][:3]
    b.bonds = bonds
    extra_acc, extra_inst = [], []
    for s in b.stories:
        if s.role in s1_roles:
            slots = list(b.S1)
        elif s.role in s2_roles:
            slots = list(b.S2)
        elif s.role == "lev003":
            slots = [b.S2[s.variant % 3], bonds[0], bonds[1]]
        elif s.role == "t3_lev3":
            slots = list(np.nonzero(np.isin(b.inst_class, ("bond", "etf")))[0][:3])
        elif s.role in ("t4_conc", "con008", "tr_holiday"):
            slots = list(bonds)
        elif s.role == "wipe":
            slots = list(b.S3)
        elif s.role == "cluster":
            slots = [b.Z, b.S2[0], b.S2[1]] if s.variant < 2 else [b.Z]
        else:
            continue
        extra_acc += [s.account] * len(slots)
        extra_inst += [int(x) for x in slots]
    keep = ~np.isin(pos_acc, np.array(extra_acc, dtype=np.int64))
    pos_acc = np.concatenate([pos_acc[keep], np.array(extra_acc, dtype=np.int64)])
    pos_inst = np.concatenate([pos_inst[keep], np.array(extra_inst, dtype=np.int64)])
    order = np.lexsort((pos_inst, pos_acc))
    b.pos_acc, b.pos_inst = pos_acc[order], pos_inst[order]
    P = len(b.pos_acc)
    # Quantities from near-equal weights (diversified, so concentration limits hold).
    w = 1.0 + 0.6 * r.random(P)
    w /= np.bincount(b.pos_acc, weights=w, minlength=N)[b.pos_acc]
    p_prev = b.pm[b.pos_inst, 0]
    lot_cents = p_prev * b.lot[b.pos_inst] / 10

    def size(E0):
        """Quantities, market value, cash and debt for own money ``E0``."""
        target = (L * E0)[b.pos_acc] * w * 100  # cents
        q = np.maximum(np.round(target / lot_cents), 1).astype(np.int64) * b.lot[b.pos_inst]
        mv = (q * p_prev + 5) // 10
        MV = np.bincount(b.pos_acc, weights=mv, minlength=N).astype(np.int64)
        E = MV / L
        cash = np.round(kappa * E).astype(np.int64)
        D = np.where(financed, np.maximum(ceil_to(np.round(MV + cash - E).astype(np.int64), 10_000), 1_000_000), 0)
        return q, MV, cash, D

    q, MV, cash, D = size(E0)
    # With plants, the platform has a per-client credit limit: no generic client owes more
    # than 0.7% of the generic book, so a day on which net capital is below a quarter of the
    # book still covers every client twenty times (CAP-003 planted apart from CAP-002).
    gen_acc = financed.copy()
    for s in b.stories:
        if s.role in own_slots or s.role == "cap002":  # sized from their stories below
            gen_acc[s.account] = False
    b.ell = 1e15  # no limit (cents)
    if b.scale:
        # The limit solves limit = c * sum(min(debt, limit)): a 95th of the book, which with
        # the illiquid cluster is 1.6 times the rest.
        Dg = D[gen_acc].astype(np.float64)
        c = (1.6 if b.plant_table else 1.0) / 95
        if c * len(Dg) < 1.1:
            raise ValueError(f"accounts={N} is too few for the capital plants (no client may owe "
                             f"more than {c:.2%} of the book); use more accounts")
        lo, hi = 1.0, float(Dg.max())
        if c * Dg.sum() >= hi:
            lo = hi
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if c * np.minimum(Dg, mid).sum() >= mid else (lo, mid)
        ell = lo
        for _ in range(5):
            big = gen_acc & (D > ell)
            if not big.any():
                break
            E0 = np.where(big, E0 * 0.98 * ell / np.maximum(D, 1), E0)
            q, MV, cash, D = size(E0)
        b.ell = ell
    b.E0 = E0
    b.q = q
    cash = np.where(financed, cash, np.maximum(cash, 100_00))
    b.cash0, b.D0 = cash, D.astype(np.int64)
    scripted_states(b)
    # Sanity: every generic starting state is inside the caps and above the liquidation line.
    MV = np.bincount(b.pos_acc, weights=(b.q * p_prev + 5) // 10, minlength=N).astype(np.int64)
    E_act = b.cash0 + MV - b.D0
    lev = np.where(E_act > 0, MV / np.maximum(E_act, 1), np.inf)
    bad = b.financed & ~b.scripted & ((lev > 0.97 * b.cap) | (E_act <= 0))
    if bad.any():  # rare tiny accounts: give them more own money
        b.cash0[bad] += ceil_to(np.round(MV[bad] / (0.8 * b.cap[bad]) - E_act[bad]).astype(np.int64), 10_000)
