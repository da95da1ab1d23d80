"""The financing contracts: one or two draws per financed account opened before the window,
their leverage at open and their terms, with the plants and traps that live on a contract."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from audit.sample.market import day_number
from audit.sample.terms import DAY, DISCLOSURE, HOUR, exact_half_base

if TYPE_CHECKING:
    from audit.sample.builder import Builder


def financings(b: Builder) -> None:
    r = b.r_fin
    N = b.N
    fin_acc = np.nonzero(b.financed)[0]
    two = r.random(len(fin_acc)) < 0.25
    forced_one = np.zeros(N, dtype=bool)
    early = np.zeros(N, dtype=bool)  # opened before the last pre-window interest charge
    for s in b.stories:
        forced_one[s.account] = True
        if s.role not in b.light_roles and s.role not in (
                "kyc001", "kyc002", "kyc003", "kyc004", "kyc_hit_ok", "kyc_same_day", "lev001",
                "lev001_pro45", "pown_pos"):
            early[s.account] = True
    two &= ~forced_one[fin_acc]
    # A second draw only on debts of 50,000 or more, so every draw carries at least 2,000 of
    # the client's own equity (the US minimum of LEV-008 holds but for its plant).
    two &= b.D0[fin_acc] >= 5_000_000
    lev008 = np.array([s.account for s in b.by_role["lev008"]], dtype=np.int64)
    two |= np.isin(fin_acc, lev008)
    # Debt split into draws; the "half" traps need an amount with an exact half-cent interest.
    first_me = next((t for t in range(b.T) if b.month_end[t]), None)
    for s in b.by_role["half"]:
        a = s.account
        days = int(b.dnum[first_me] - b.prev_charge)
        base = exact_half_base(int(b.D0[a]), days)
        b.cash0[a] += base - b.D0[a]  # keep equity: the extra debt sits in cash
        b.D0[a] = base
    f_acc = np.concatenate([fin_acc, fin_acc[two]])
    order = np.argsort(f_acc, kind="stable")
    f_acc = f_acc[order]
    second = np.concatenate([np.zeros(len(fin_acc), bool), np.ones(two.sum(), bool)])[order]
    D = b.D0[f_acc]
    share = np.where(two[np.searchsorted(fin_acc, f_acc)], r.uniform(0.2, 0.5, len(f_acc)), 0.0)
    amt_second = (np.round(D * share / 10_000) * 10_000).astype(np.int64)
    amt_second = np.where(second & np.isin(f_acc, lev008), 300_000, amt_second)  # a 3,000 draw
    # amount: first draw = D - second draw
    sec_amt_by_acc = np.zeros(N, dtype=np.int64)
    sec_amt_by_acc[f_acc[second]] = amt_second[second]
    amount = np.where(second, amt_second, b.D0[f_acc] - sec_amt_by_acc[f_acc])
    # Opening dates (trading days before the window).
    H = len(b.hist_num)
    pc_idx = int(np.searchsorted(b.hist_num, b.prev_charge))  # index of prev charge day
    lo_first = np.where(early[f_acc], max(0, pc_idx - 100), max(0, H - 100))
    hi_first = np.where(early[f_acc], pc_idx, H)
    first_idx = lo_first + (r.random(len(f_acc)) * (hi_first - lo_first)).astype(np.int64)
    first_by_acc = np.full(N, -1, dtype=np.int64)
    first_by_acc[f_acc[~second]] = first_idx[~second]
    fi = first_by_acc[f_acc]
    sec_idx = fi + 1 + (r.random(len(f_acc)) * np.maximum(H - fi - 1, 1)).astype(np.int64)
    open_idx = np.where(second, np.minimum(sec_idx, H - 1), fi)
    open_day = b.hist_num[open_idx]
    open_sec = open_day * DAY + 9 * HOUR + 30 * 60 + r.integers(0, 5 * HOUR, len(f_acc))
    # LEV-010 (cn): a contract opened in September 2023, under the 100% financing margin
    # ratio, and rolled over since.
    old_day = day_number(date(2023, 9, 5))
    for s in b.by_role["lev010"]:
        j = int(np.nonzero((f_acc == s.account) & ~second)[0][0])
        open_day[j] = old_day
        open_sec[j] = old_day * DAY + 10 * HOUR + 12 * 60
    # Leverage at open: mostly continuous, some at the 1:N multiples; capped by category.
    # With the table-level plants most contracts open at a whole multiple of 3x or more
    # (OFX-004, the 配资 hallmark of a fixed multiple).
    n = len(f_acc)
    pro = b.pro[f_acc]
    lev = np.where(pro, np.round(r.uniform(1.5, 4.9, n), 2), np.round(r.uniform(1.3, 2.95, n), 2))
    fixed = r.random(n) < (0.7 if b.plant_table else 0.25)
    pro_mult = r.choice([3.0, 4.0, 5.0] if b.plant_table else [3.0, 4.0, 4.5, 5.0], n)
    ret_mult = np.full(n, 3.0) if b.plant_table else r.choice([2.0, 2.5, 3.0], n)
    lev = np.where(fixed & pro, pro_mult, lev)
    lev = np.where(fixed & ~pro, ret_mult, lev)
    b.fin_acc, b.fin_amount, b.fin_open_sec = f_acc, amount.astype(np.int64), open_sec
    b.fin_open_day = open_day
    b.fin_lev = lev
    rank = np.empty(n, dtype=np.int64)  # ids in order of opening
    rank[np.lexsort((f_acc, open_sec))] = np.arange(1, n + 1)
    b.fin_id = [f"F{i:06d}" for i in rank]
    b.first_fin_row = np.full(N, -1, dtype=np.int64)
    idx_first = np.nonzero(~second)[0]
    b.first_fin_row[f_acc[idx_first]] = idx_first
    # Contract terms (realistic variety; the rules only look at the planted ones).
    b.fin_rate = np.full(n, DISCLOSURE["interest_rate_annual"])
    b.fin_term = r.choice(np.array([180, 90, 182, -1]), n, p=[0.75, 0.1, 0.1, 0.05])
    b.fin_product = np.where(r.random(n) < 0.1, 3, 4)  # R3 / R4
    b.fin_under = r.choice(np.array(["equity", "etf", "gold", "bond"]), n, p=[0.86, 0.09, 0.03, 0.02])
    b.fin_holder = f_acc.copy()  # account holder (client index)
    b.fin_pwd = np.zeros(n, dtype=bool)
    lines = r.random(n) >= 0.3  # contract repeats the published lines, or leaves them out
    b.fin_warn = np.where(lines, DISCLOSURE["margin_call_ratio"], np.nan)
    b.fin_liqline = np.where(lines, DISCLOSURE["liquidation_ratio"], np.nan)
    fid = b.fin_id

    def first(role):
        for s in b.by_role[role]:
            yield s, int(b.first_fin_row[s.account])

    # Plants and traps on financings.
    for s, j in first("lev001"):
        b.fin_lev[j] = (4.0, 6.0, 3.5, 4.2, 7.0)[s.variant % 5]
        b.violation("LEV-001", "financings", {"financing_id": fid[j]},
                        "leverage at open above the cap for the client's category")
    for s, j in first("lev001_pro45"):
        b.fin_lev[j] = 4.5
    for s, j in first("t3_lev3"):
        b.fin_lev[j] = 3.0
    for s, j in first("kyc005"):
        if s.variant % 2:
            b.fin_product[j] = 5
            note = "R5 product sold to a C4 client"
        else:
            b.fin_product[j] = 4
            note = "R4 product sold to a C3 client"
        b.violation("KYC-005", "financings", {"financing_id": fid[j]}, note)
    for s, j in first("con007"):
        b.fin_rate[j] = (0.0965, 0.10)[s.variant % 2]
        b.violation("CON-007", "financings", {"financing_id": fid[j]},
                        f"contract rate {b.fin_rate[j]:.2%} above the published 8.65% "
                        "(billed at the published rate)")
    for s, j in first("ofx001"):
        b.fin_holder[j] = (s.account + 1 + s.variant) % N
        b.violation("OFX-001", "financings", {"financing_id": fid[j]},
                        "trading account held in another client's name")
    for s, j in first("ofx002"):
        b.fin_pwd[j] = True
        b.violation("OFX-002", "financings", {"financing_id": fid[j]},
                        "the funder holds the client's trading password")
    for s, j in first("ofx003"):
        if s.variant % 2:
            b.fin_liqline[j], b.fin_warn[j] = 1.1, DISCLOSURE["margin_call_ratio"]
            note = "contract liquidation line 110% instead of the published 130%"
        else:
            b.fin_warn[j], b.fin_liqline[j] = 1.4, DISCLOSURE["liquidation_ratio"]
            note = "contract warning line 140% instead of the published 150%"
        b.violation("OFX-003", "financings", {"financing_id": fid[j]}, note)
    for s, j in first("lev006"):
        b.fin_lev[j], b.fin_under[j] = 2.5, "crypto"
        b.violation("LEV-006", "financings", {"financing_id": fid[j]},
                        "retail financing on a crypto underlying at 2.5x (ESMA cap 2:1)")
    for s, j in first("lev007"):
        b.fin_lev[j] = 2.6
        b.violation("LEV-007", "financings", {"financing_id": fid[j]},
                        "opened at 2.6x: initial margin 38%, below Regulation T's 50%")
    for s in b.by_role["lev008"]:
        j = int(np.nonzero((f_acc == s.account) & second)[0][0])
        b.fin_lev[j] = 2.6
        b.violation("LEV-008", "financings", {"financing_id": fid[j]},
                        "a 3,000 draw on 1,875 of own equity, below FINRA's 2,000 minimum")
    for s, j in first("lev010"):
        b.fin_lev[j] = 2.4
        b.violation("LEV-010", "financings", {"financing_id": fid[j]},
                        "opened on 5 Sep 2023 at a financing margin ratio of 71% (100% required)")
    for s, j in first("lev011"):
        b.fin_lev[j] = 2.8
        b.violation("LEV-011", "financings", {"financing_id": fid[j]},
                        "opened at a financing margin ratio of 56% (80% required)")
    for s, j in first("lev013"):
        b.fin_term[j] = 365
        b.violation("LEV-013", "financings", {"financing_id": fid[j]},
                        "financing term of 365 days (at most six months)")
    for s, j in first("tr_term184"):
        b.fin_term[j] = 184  # trap: exactly the longest term
    b.fin_equity = np.round(b.fin_amount / (b.fin_lev - 1)).astype(np.int64)
    b.fin_first_day = np.full(N, -1, dtype=np.int64)
    b.fin_first_day[f_acc[idx_first]] = open_day[idx_first]
    b.fin_first_sec = np.full(N, -1, dtype=np.int64)
    b.fin_first_sec[f_acc[idx_first]] = open_sec[idx_first]
    # LEV-012 (cn): a rollover contract signed in advance, starting 20 Jan 2026 under the
    # 100% ratio for new contracts, at 2.4x. Not yet drawn: no debt, interest or fees.
    b.future_fin = None
    for s in b.by_role["lev012"]:
        fid_new = f"F{n + 1:06d}"
        amount = 5_000_000
        b.future_fin = {"financing_id": fid_new, "acc": s.account, "amount": amount,
                           "equity": int(round(amount / 1.4)), "lev": 2.4,
                           "opened_sec": day_number(date(2026, 1, 20)) * DAY + 9 * HOUR + 45 * 60}
        b.violation("LEV-012", "financings", {"financing_id": fid_new},
                        "rollover contract from 20 Jan 2026 at a financing margin ratio of 71% "
                        "(100% for new contracts)")
