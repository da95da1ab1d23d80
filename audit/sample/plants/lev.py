"""Plants and traps of the LEV pack (rules/lev): leverage caps at open and on every snapshot,
concentration, stress scenarios, and the jurisdiction rules of the cn, us and eu profiles."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from audit.sample.market import day_number
from audit.sample.plants.registry import (
    CAPITAL, CLIENTS, FINANCING_DATES, FINANCING_DRAWS, FINANCINGS, INSTRUMENTS, SIMULATION, SNAPSHOTS,
    STRESS_TESTS, TOP_UPS, account_day_key, first_financings, hook, plant, trap,
)
from audit.sample.rulefiles import concentration_scenario, severe_scenarios
from audit.sample.terms import DAY, HOUR

if TYPE_CHECKING:
    from audit.sample.book import Book, Day
    from audit.sample.builder import Builder
    from audit.sample.financings import Draws, Openings
    from audit.sample.platform import Capital
    from audit.sample.tables import Snapshots


@plant("LEV-001", at=FINANCINGS)
def plant_lev_001(b: Builder) -> None:
    """Leverage at open above the cap for the client's category (4x, 6x, 3.5x, 4.2x, 7x; every
    third one professional, see opening.py)."""
    for s, j in first_financings(b, "lev001"):
        b.fin_lev[j] = (4.0, 6.0, 3.5, 4.2, 7.0)[s.variant % 5]
        b.violation("LEV-001", "financings", {"financing_id": b.fin_id[j]},
                    "leverage at open above the cap for the client's category")


@trap("LEV-001", at=FINANCINGS)
def trap_lev_001_at_the_caps(b: Builder) -> None:
    """A professional financing at 4.5x, and the retail account of the 3.0x snapshot trap opened
    at exactly 3.0x."""
    for _, j in first_financings(b, "lev001_pro45"):
        b.fin_lev[j] = 4.5
    for _, j in first_financings(b, "t3_lev3"):
        b.fin_lev[j] = 3.0


@plant("LEV-002", at=TOP_UPS)
def plant_lev_002(b: Builder, book: Book, day: Day) -> None:
    """No top-up on the dip day: retail accounts in the S2 stocks at about 3.2x, above the 3x
    cap, left there (LEV-014's account is a LEV-002 plant too)."""
    for s in b.by_role["lev002"]:
        if s.params["day"] == day.t:
            day.hold(s.account, "lev", ("LEV-002", None, "leverage above the cap on the daily snapshot, no "
                                                       "top-up or de-leveraging"))


@plant("LEV-003", at=TOP_UPS)
def plant_lev_003(b: Builder, book: Book, day: Day) -> None:
    """A position of 60% of the assets when the dip takes the ratio under 180%, where one
    position may be at most half of them (stories.py), left there."""
    for s in b.by_role["lev003"]:
        if s.params["day"] == day.t:
            day.hold(s.account, "conc", ("LEV-003", s.params["inst"], "one position above half the assets at a "
                                                                     "collateral ratio under 180%"))
    b.expect("LEV-003", len(b.by_role["lev003"]))


def _severe_shortfall_floor(b: Builder, accounts: pl.DataFrame, positions: pl.DataFrame) -> float:
    """A floor under the concentration scenario's stressed shortfall on the last day, assuming
    only what the stress model guarantees: Z, the book's largest holding, takes N limit-down
    days on its 20% board and trades nothing on them (a locked limit-down day), so it is marked
    at 0.8^N of its close at the horizon; everything else is unchanged and, sold or not, brings
    at most its market value. Each cluster account then owes at least
    debt - cash - (holdings - Z) - 0.8^N * Z."""
    stories = b.by_role["cluster"]
    _, limit_downs = concentration_scenario()
    mark = (1 - float(b.inst_limit[b.Z])) ** limit_downs
    ids = pl.DataFrame({"account_id": [f"A{s.account + 1:06d}" for s in stories]})
    z_code = b.inst_code[b.Z]
    last = positions.lazy().filter(pl.col("date") == b.as_of)
    top = last.group_by("instrument_id").agg(pl.col("market_value").sum()).sort(
        ["market_value", "instrument_id"], descending=[True, False]).first().collect()
    if top["instrument_id"][0] != z_code:
        raise RuntimeError("LEV-004 plant: Z is not the book's largest holding on the last day")
    pos = (last.join(ids.lazy(), on="account_id", how="semi")
           .group_by("account_id").agg(
               pl.col("market_value").sum().alias("mv"),
               pl.col("market_value").filter(pl.col("instrument_id") == z_code).sum().alias("z")))
    book = (accounts.lazy().filter(pl.col("date") == b.as_of)
            .join(ids.lazy(), on="account_id", how="inner")
            .join(pos, on="account_id", how="left").collect())
    if book.height != len(stories):
        raise RuntimeError("LEV-004 plant: a cluster account is missing on the last day")
    gap = book["debt"] - book["cash"] - (book["mv"] - book["z"]) - mark * book["z"]
    return float(gap.clip(lower_bound=0).sum())


@plant("LEV-004", at=CAPITAL)
def plant_lev_004(b: Builder, capital: Capital) -> None:
    """With the illiquid cluster (stories.py): on the last day net capital has the smallest
    margin the capital rules allow, below the concentration scenario's stressed shortfall
    (the book's largest name, Z, locked limit-down for the whole horizon)."""
    if not b.by_role["cluster"]:
        return
    floor = _severe_shortfall_floor(b, capital.accounts, capital.positions)
    b.violation("LEV-004", "stress", {"scenario": concentration_scenario()[0]},
                "concentration scenario: the book's largest name, thinly traded, locked "
                "limit-down for the horizon; the stressed shortfall exceeds net capital")
    nc, last = capital.net_capital, b.T - 1
    nc[last] = int(math.ceil(capital.need[last] * 1.02))
    if nc[last] >= 0.97 * floor:
        raise RuntimeError(f"LEV-004 plant: net capital {nc[last]} not below the severe "
                           f"shortfall {floor:.0f}")
    capital.taken.add(last)


@plant("LEV-005", at=INSTRUMENTS)
def plant_lev_005(b: Builder, adv: np.ndarray) -> None:
    """With the illiquid cluster: Z trades a few hundred shares a day, so the two accounts
    every severe scenario closes out hold 400 days of its whole volume, 2,000 days at the
    participation rate the stress model allows: no severe scenario's forced sales can be
    absorbed. Planted for the severe scenarios of every jurisdiction (an audit of this book
    under a us or eu profile runs theirs); each audit finds the ones its profile runs."""
    if not b.by_role["cluster"]:
        return
    trig = [s.account for s in b.by_role["cluster"] if s.variant < 2]
    z_rows = np.isin(b.pos_acc, trig) & (b.pos_inst == b.Z)
    adv[b.Z] = max(1.0, float(b.q[z_rows].sum() // 400))
    for name, _ in severe_scenarios(None):
        b.violation("LEV-005", "stress", {"scenario": name},
                    "severe scenario: the forced sales of one stock need thousands of days of "
                    "its volume")


@plant("LEV-006", at=FINANCINGS)
def plant_lev_006(b: Builder) -> None:
    """Profile eu: a retail financing on a crypto underlying at 2.5x (ESMA caps crypto at 2:1)."""
    for _, j in first_financings(b, "lev006"):
        b.fin_lev[j], b.fin_under[j] = 2.5, "crypto"
        b.violation("LEV-006", "financings", {"financing_id": b.fin_id[j]},
                    "retail financing on a crypto underlying at 2.5x (ESMA cap 2:1)")


@plant("LEV-007", at=FINANCINGS)
def plant_lev_007(b: Builder) -> None:
    """Profile us: a contract opened at 2.6x, under Regulation T's 50% initial margin."""
    for _, j in first_financings(b, "lev007"):
        b.fin_lev[j] = 2.6
        b.violation("LEV-007", "financings", {"financing_id": b.fin_id[j]},
                    "opened at 2.6x: initial margin 38%, below Regulation T's 50%")


@hook("LEV-008", at=FINANCING_DRAWS)
def second_draw_lev_008(b: Builder, draws: Draws) -> None:
    """The LEV-008 accounts draw twice, whatever their debt."""
    lev008 = np.array([s.account for s in b.by_role["lev008"]], dtype=np.int64)
    draws.two |= np.isin(draws.accounts, lev008)


@plant("LEV-008", at=FINANCINGS)
def plant_lev_008(b: Builder) -> None:
    """Profile us: a second draw of 3,000 at 2.6x, on 1,875 of own equity (FINRA wants 2,000)."""
    for s in b.by_role["lev008"]:
        j = int(np.nonzero((b.fin_acc == s.account) & b.fin_second)[0][0])
        b.fin_amount[int(b.first_fin_row[s.account])] = b.D0[s.account] - 300_000
        b.fin_amount[j] = 300_000
        b.fin_lev[j] = 2.6
        b.violation("LEV-008", "financings", {"financing_id": b.fin_id[j]},
                    "a 3,000 draw on 1,875 of own equity, below FINRA's 2,000 minimum")


def _pattern_day(b: Builder) -> int:
    """The first of the four days on which the pattern day traders trade."""
    return max(0, min(b.T - 4, b.T // 2 - 2))


@plant("LEV-009", at=SIMULATION)
def plant_lev_009(b: Builder, book: Book) -> None:
    """Profile us: a pattern day trader (four day trades in five days) with about 16,000 of
    equity, under the 25,000 minimum."""
    t9 = _pattern_day(b)
    for s in b.by_role["lev009"]:
        for d in range(t9, t9 + 4):
            book.script_trade(d, s.account, 800_000)


@trap("LEV-009", at=SIMULATION)
def trap_lev_009_enough_equity(b: Builder, book: Book) -> None:
    """A pattern day trader with at least 100,000 of equity."""
    t9 = _pattern_day(b)
    for s in b.by_role["tr_pdt_ok"]:
        for d in range(t9, t9 + 4):
            book.script_trade(d, s.account, 3_000_000)


@hook("LEV-009", at=SNAPSHOTS)
def record_lev_009(b: Builder, snap: Snapshots) -> None:
    """The snapshots of the pattern day trader with four day trades in five days."""
    for s in b.by_role["lev009"]:
        rows = snap.rows_of(s.account)
        rows = rows[(snap.day_trades[rows] >= 4) & (snap.debt[rows] > 0)]
        if not len(rows) or (snap.eq[rows] >= 2_500_000).any():
            raise RuntimeError("the pattern-day-trader story did not produce a small-equity day trader")
        for j in rows:
            b.violation("LEV-009", "accounts", account_day_key(b, snap.account[j], snap.t[j]),
                        f"{int(snap.day_trades[j])} day trades in five days on {snap.eq[j] / 100:,.2f} of equity "
                        "(pattern day trader minimum 25,000)")


@hook("LEV-010", at=FINANCING_DATES)
def open_in_2023_lev_010(b: Builder, openings: Openings) -> None:
    """The LEV-010 contracts were opened on 5 September 2023 and rolled over since."""
    old_day = day_number(date(2023, 9, 5))
    for s in b.by_role["lev010"]:
        j = int(np.nonzero((openings.accounts == s.account) & ~openings.second)[0][0])
        openings.day[j] = old_day
        openings.sec[j] = old_day * DAY + 10 * HOUR + 12 * 60


@plant("LEV-010", at=FINANCINGS)
def plant_lev_010(b: Builder) -> None:
    """Profile cn: a contract of September 2023, under the 100% financing margin ratio then in
    force, at 2.4x (a 71% ratio)."""
    for _, j in first_financings(b, "lev010"):
        b.fin_lev[j] = 2.4
        b.violation("LEV-010", "financings", {"financing_id": b.fin_id[j]},
                    "opened on 5 Sep 2023 at a financing margin ratio of 71% (100% required)")


@plant("LEV-011", at=FINANCINGS)
def plant_lev_011(b: Builder) -> None:
    """Profile cn: a contract at 2.8x, a financing margin ratio of 56% (80% required)."""
    for _, j in first_financings(b, "lev011"):
        b.fin_lev[j] = 2.8
        b.violation("LEV-011", "financings", {"financing_id": b.fin_id[j]},
                    "opened at a financing margin ratio of 56% (80% required)")


@plant("LEV-012", at=FINANCINGS)
def plant_lev_012(b: Builder) -> None:
    """Profile cn: a rollover contract signed in advance, starting 20 Jan 2026 under the 100%
    ratio for new contracts, at 2.4x. Not yet drawn: no debt, interest or fees."""
    for s in b.by_role["lev012"]:
        fid_new = f"F{len(b.fin_acc) + 1:06d}"
        amount = 5_000_000
        b.future_fin = {"financing_id": fid_new, "acc": s.account, "amount": amount,
                        "equity": int(round(amount / 1.4)), "lev": 2.4,
                        "opened_sec": day_number(date(2026, 1, 20)) * DAY + 9 * HOUR + 45 * 60}
        b.violation("LEV-012", "financings", {"financing_id": fid_new},
                    "rollover contract from 20 Jan 2026 at a financing margin ratio of 71% "
                    "(100% for new contracts)")


@plant("LEV-013", at=FINANCINGS)
def plant_lev_013(b: Builder) -> None:
    """Profile cn: a financing term of 365 days (at most six months)."""
    for _, j in first_financings(b, "lev013"):
        b.fin_term[j] = 365
        b.violation("LEV-013", "financings", {"financing_id": b.fin_id[j]},
                    "financing term of 365 days (at most six months)")


@trap("LEV-013", at=FINANCINGS)
def trap_lev_013_184_days(b: Builder) -> None:
    """A term of exactly 184 days, the longest allowed."""
    for _, j in first_financings(b, "tr_term184"):
        b.fin_term[j] = 184


@plant("LEV-014", at=TOP_UPS)
def plant_lev_014(b: Builder, book: Book, day: Day) -> None:
    """Profile eu: the retail account of the S3 story, after two limit-down days at about 15x
    and then below zero, not closed out: under ESMA's margin close-out level, and above the 3x
    cap (LEV-002) too."""
    for s in b.by_role["wipe"]:
        if day.t in s.params["days"]:
            day.hold(s.account, "wipe",
                     ("LEV-002", None, "retail account at about 15x or with negative equity after limit-down days, "
                                       "not closed out"),
                     ("LEV-014", None, "retail account below the ESMA margin close-out level (50% of initial "
                                       "margin)"))
    b.expect("LEV-014", 2 * len(b.by_role["wipe"]))


@plant("LEV-015", at=STRESS_TESTS)
def plant_lev_015(b: Builder, rows: list[dict[str, Any]]) -> None:
    """Table-level: the results of the platform's latest quarterly stress test were not recorded."""
    if b.plant_table:
        latest = max(row["run_date"] for row in rows)
        for row in rows:
            if row["run_date"] == latest:
                row["shortfall"] = None
        b.violation("LEV-015", "stress_tests", {}, "the latest quarter's stress-test results were not recorded")


@hook("LEV-012", at=CLIENTS)
def reassess_lev_012(b: Builder, kyc) -> None:
    """The rollover starts in January 2026: its client was re-assessed a month before the as-of
    date, so the assessment is still valid when the new contract starts (KYC-006)."""
    for s in b.by_role["lev012"]:
        a = s.account
        kyc.reassessed[a], kyc.regrade[a] = kyc.as_of - 30, kyc.tolerance[a]
