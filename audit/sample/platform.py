"""The platform's own records: custodian statements, daily net capital and liquid assets, the
third-party audit reports, its quarterly stress tests and the disclosure row. Net capital
follows the book; the table-level plants live here."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from audit.sample.market import date_series, day_number, quarter_end_before
from audit.sample.rulefiles import severe_scenario
from audit.sample.terms import CUSTODIAN, DISCLOSURE, PLATFORM_ID, ceil_to, floor_to

if TYPE_CHECKING:
    from audit.sample.builder import Builder


AUDITORS = ("信达华会计师事务所（特殊普通合伙）", "中衡正信会计师事务所（特殊普通合伙）")


def custody_table(b: Builder, accounts: pl.DataFrame) -> pl.DataFrame:
    r = b.r_misc
    money = accounts.group_by("date").agg(pl.col("cash").sum()).sort("date")
    if money.height != b.T:
        raise RuntimeError("custody: a day without snapshots")
    surplus = np.where(r.random(b.T) < 0.3, r.integers(1, 50_000, b.T), 0)
    bal = money["cash"].to_numpy() + surplus
    keep = np.ones(b.T, dtype=bool)
    ack = np.full(b.T, day_number(date(2019, 3, 15)), dtype=np.int64)  # letter on file since 2019
    n = min(b.k, 3) if b.plant else 0
    days = b.r_plant.choice(np.arange(b.T), n, replace=False)
    for v, t in enumerate(sorted(days)):
        d = b.dates[t].isoformat()
        if v == 0:
            bal[t] = money["cash"][int(t)] - 128_640_000
            note = "custodian balance 1,286,400.00 below client money"
        elif v == 1:
            keep[t] = False
            note = "no custodian statement for the day"
        else:
            bal[t] = money["cash"][int(t)] - 1
            note = "custodian balance one cent below client money"
        b.violation("SEG-001", "accounts", {"date": d}, note)
    # SEG-004 (eu): statements of a sub-account whose acknowledgement letter was missing or
    # countersigned only after the statement.
    free = [t for t in range(b.T) if keep[t]]
    m = min(2, len(free)) if b.plant else 0
    for v, t in enumerate(sorted(b.r_plant.choice(free, m, replace=False))):
        if v == 0:
            ack[t], note = -1, "no countersigned acknowledgement letter for the statement"
        else:
            ack[t], note = int(b.dnum[t]) + 3, "acknowledgement letter countersigned three days after the statement"
        b.violation("SEG-004", "custody", {"date": b.dates[int(t)].isoformat()}, note)
    df = pl.DataFrame({
        "date": money["date"],
        "custodian": [CUSTODIAN] * b.T,
        "statement_balance": bal.astype(np.int64),
        "ack_letter_signed_at": date_series(ack),
    })
    return df.filter(pl.Series(keep))


def capital_table(b: Builder, accounts: pl.DataFrame, stress_book: dict[str, Any] | None) -> pl.DataFrame:
    """Net capital follows the book: at least a quarter of it and twenty times the largest
    client (CAP-003, CAP-002), with a margin of 15-45% on a normal day. Planted days dip
    below one of the two (never both), and with the table-level plants the last day has the
    smallest margin the rules allow, below the severe scenario's shortfall (LEV-004)."""
    r, T = b.r_misc, b.T
    per = accounts.group_by("date").agg(
        pl.col("debt").sum().alias("book"), pl.col("debt").top_k(2).alias("top")).sort("date")
    book = per["book"].to_numpy().astype(np.float64)
    tops = per["top"].to_list()
    top = np.array([max(t) if t else 0 for t in tops], dtype=np.float64)
    second = np.array([min(t) if len(t) > 1 else 0 for t in tops], dtype=np.float64)
    need = np.maximum(book / 4, 20 * top)
    nc = np.ceil(need * (1.15 + 0.3 * r.random(T))).astype(np.int64)
    la_u = 1.2 + 0.5 * r.random(T)
    taken: set[int] = set()
    if b.scale:
        whale = [s.account for s in b.by_role["cap002"]]
        w_debt = accounts.filter(pl.col("account_id").is_in([f"A{a + 1:06d}" for a in whale])) \
            .group_by("date").agg(pl.col("debt").sum()).sort("date")
        w = dict(zip(w_debt["date"].to_list(), w_debt["debt"].to_list()))
        cand_q = [t for t in range(T - 1) if w.get(b.dates[t], 0) > 0 and top[t] == w[b.dates[t]]]
        cand_p = [t for t in range(T - 1) if w.get(b.dates[t], 0) == 0 and t not in cand_q
                  and 20 * top[t] < 0.96 * book[t] / 4]
        if not cand_q or not cand_p:
            raise RuntimeError(f"capital plants: no day for CAP-002 ({cand_q}) or CAP-003 ({cand_p})")
        tq = cand_q[int(r.integers(len(cand_q)))]
        nc[tq] = int(math.ceil(max(book[tq] / 4, 20 * second[tq]) * 1.01))
        if nc[tq] >= 20 * top[tq]:
            raise RuntimeError("CAP-002 plant: the largest client is not far enough ahead")
        b.violation("CAP-002", "accounts", {"client_id": f"C{whale[0] + 1:06d}",
                                                "date": b.dates[tq].isoformat()},
                        "one client's financing above 5% of net capital")
        tp = cand_p[int(r.integers(len(cand_p)))]
        nc[tp] = int(book[tp] * 0.97 / 4)
        if nc[tp] <= 20 * top[tp]:
            raise RuntimeError("CAP-003 plant would also break CAP-002")
        b.violation("CAP-003", "accounts", {"date": b.dates[tp].isoformat()},
                        "margin book above four times net capital")
        taken = {tq, tp}
    if stress_book is not None:  # LEV-004 / LEV-005
        last = T - 1
        nc[last] = int(math.ceil(need[last] * 1.02))
        if nc[last] >= 0.97 * stress_book["shortfall_floor"]:
            raise RuntimeError(f"LEV-004 plant: net capital {nc[last]} not below the severe "
                               f"shortfall {stress_book['shortfall_floor']:.0f}")
        taken.add(last)
    b.capital_buffer = int(max(floor_to(0.95 * nc.min(), 10_000_000), 1_000_000))
    b.liquidity_buffer = int(ceil_to(np.array([int(0.4 * b.capital_buffer)]), 10_000_000)[0])
    la = (b.liquidity_buffer * la_u).astype(np.int64)
    free = [t for t in range(T) if t not in taken] or list(range(T))
    n = min(b.k, 3) if b.plant else 0
    days = b.r_plant.choice(free, min(n + 1, len(free)), replace=False)
    la[days[-1]] = b.liquidity_buffer  # trap: exactly at the buffer
    for v, t in enumerate(sorted(days[:-1])):
        if v == 0:
            la[t], note = b.liquidity_buffer * 8 // 10, "liquid assets 20% below the disclosed buffer"
        elif v == 1:
            la[t], note = b.liquidity_buffer - 1, "liquid assets one cent below the disclosed buffer"
        else:
            la[t], note = b.liquidity_buffer * 95 // 100, "liquid assets 5% below the disclosed buffer"
        b.violation("CAP-001", "capital", {"date": b.dates[t].isoformat()}, note)
    return pl.DataFrame({"date": pl.Series(b.dnum.astype(np.int32)).cast(pl.Date),
                         "net_capital": nc, "liquid_assets": la})


def stress_floor(b: Builder, accounts: pl.DataFrame, positions: pl.DataFrame) -> dict[str, Any] | None:
    """With the illiquid cluster: a floor under the severe scenario's spiral shortfall on
    the last day, assuming only what the stress model guarantees. The two trigger accounts
    are closed out by the shock alone (their collateral ratio falls below the liquidation
    line), their sale of Z needs 400 days of its volume, so Z drops to the floor (10% of its
    shocked price); every other cluster account then owes at least debt - cash - Z at the
    floor. Records the LEV-004 and LEV-005 plants."""
    stories = b.by_role["cluster"]
    if not stories:
        return None
    name, shocks = severe_scenario()
    eq = 1 + shocks.get("equity", shocks["default"])
    ids = pl.DataFrame({"account_id": [f"A{s.account + 1:06d}" for s in stories],
                        "trigger": [s.variant < 2 for s in stories]})
    z_code = b.inst_code[b.Z]
    pos = (positions.lazy().filter(pl.col("date") == b.as_of)
           .join(ids.lazy(), on="account_id", how="semi")
           .group_by("account_id").agg(
               pl.col("market_value").sum().alias("mv"),
               pl.col("market_value").filter(pl.col("instrument_id") == z_code).sum().alias("z")))
    book = (accounts.lazy().filter(pl.col("date") == b.as_of)
            .join(ids.lazy(), on="account_id", how="inner")
            .join(pos, on="account_id", how="left").collect())
    if book.height != len(stories):
        raise RuntimeError("LEV-004 plant: a cluster account is missing on the last day")
    trig = book.filter(pl.col("trigger"))
    if (trig["cash"] + eq * trig["mv"] > DISCLOSURE["liquidation_ratio"] * 0.99 * trig["debt"]).any():
        raise RuntimeError("LEV-004 plant: a trigger account survives the severe shock")
    rest = book.filter(~pl.col("trigger"))
    gap = rest["debt"] - rest["cash"] - (rest["mv"] - rest["z"]) - 0.1 * eq * rest["z"]
    floor = float(gap.clip(lower_bound=0).sum())
    key = {"scenario": name}
    b.violation("LEV-004", "stress", key,
                    "severe scenario: forced sales of an illiquid stock push the spiral shortfall above net capital")
    b.violation("LEV-005", "stress", key,
                    "severe scenario: the forced sales of one stock need thousands of days of its volume")
    return {"shortfall_floor": floor}


def audits_table(b: Builder) -> pl.DataFrame:
    """Annual reports for FY(y) signed in April or May of y + 1.

    - Default plants (CLR-005): the latest report, 73 days old, is qualified; the one before
      is exactly 400 days old and unqualified (the oldest report CLR-005 still reads).
    - ``audit_overdue`` (CLR-003): the latest report is 437 days old. No report is then
      recent enough for CLR-005 to read, which is why the two cannot be planted together.
    - Without table-level plants: the latest report is exactly 400 days old (a trap).
    A qualified opinion four years ago is out of CLR-005's scope in every variant.
    """
    as_of = b.as_of
    limit = as_of - timedelta(days=400)
    if b.audit_overdue:
        reports = [date(2020, 4, 17), date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18),
                   date(2024, 4, 19)]  # 437 days before 2025-06-30
        b.violation("CLR-003", "audits", {}, "last third-party audit report older than 400 days")
    elif b.plant_table:
        reports = [date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18), limit, date(2025, 4, 18)]
    else:
        reports = [date(2020, 4, 17), date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18), limit]
    rows = []
    for j, rep in enumerate(reports):
        y = rep.year - 1
        opinion = "qualified" if j == 0 else "unqualified"
        if b.plant_table and not b.audit_overdue and j == len(reports) - 1:
            opinion = "qualified"
            b.violation("CLR-005", "audits", {"audit_id": f"AUD-FY{y}"},
                            "latest audit report carries a qualified opinion")
        rows.append({"audit_id": f"AUD-FY{y}", "auditor": AUDITORS[0 if j >= 3 else 1],
                     "period_start": date(y, 1, 1), "period_end": date(y, 12, 31),
                     "report_date": rep, "opinion": opinion})
    b.last_audit = reports[-1]
    return pl.DataFrame(rows)


def stress_tests_table(b: Builder) -> pl.DataFrame:
    """The platform's own stress tests: three scenarios at each of the last eight quarter
    ends, the latest one quarter before the as-of date. No random draws, so adding the
    table moved no other plant. With the table-level plants the latest quarter's results
    were not recorded (LEV-015)."""
    ends = [quarter_end_before(b.as_of)]
    for _ in range(7):
        ends.append(quarter_end_before(ends[-1]))
    scenarios = (("uniform-20", -0.20, 0.01), ("uniform-33", -0.33, 0.06),
                 ("2015-a-share-crash", -0.45, 0.21))
    rows = [{"test_id": f"ST-{q:%Y%m}-{n + 1}", "run_date": q, "scenario": name, "shock": shock,
             "shortfall": int(share * b.capital_buffer), "net_capital": int(1.2 * b.capital_buffer),
             "approved_by": "风险管理委员会"}
            for q in sorted(ends) for n, (name, shock, share) in enumerate(scenarios)]
    if b.plant_table:
        for row in rows[-len(scenarios):]:
            row["shortfall"] = None
        b.violation("LEV-015", "stress_tests", {},
                        "the latest quarter's stress-test results were not recorded")
    return pl.DataFrame(rows, schema_overrides={"shortfall": pl.Int64, "net_capital": pl.Int64})


def platform_table(b: Builder) -> pl.DataFrame:
    ccp, initial = True, DISCLOSURE["initial_margin"]
    if b.plant_table:
        ccp = False
        b.violation("CLR-004", "platform", {"platform_id": PLATFORM_ID},
                        "central-counterparty exposure not disclosed")
        initial = None
        b.violation("CON-005", "platform", {"platform_id": PLATFORM_ID},
                        "initial margin not published")
    # Trap: the clean figure was calculated at the last quarter end, up to 92 days ago,
    # the edge of ESMA's quarterly recalculation; the plant skips one quarter.
    warning_at = quarter_end_before(b.as_of)
    if b.plant_table:
        warning_at = quarter_end_before(warning_at)
        b.violation("CON-009", "platform", {"platform_id": PLATFORM_ID},
                        "risk-warning loss share last calculated two quarter ends ago")
    row = {
        "platform_id": PLATFORM_ID,
        "platform_name": "鼎盛融资服务平台（合成数据）",
        "disclosed_at": date(2025, 1, 2),
        **{k: v for k, v in DISCLOSURE.items()},
        "initial_margin": initial,
        "custodian": CUSTODIAN,
        "capital_buffer_min": b.capital_buffer,
        "liquidity_buffer_min": b.liquidity_buffer,
        "clearing_chain": "平台 > 示例证券股份有限公司（经纪商、结算参与人） > 中国证券登记结算有限责任公司（中央对手方）",
        "ccp_exposure_disclosed": ccp,
        "last_audit_date": b.last_audit,
        "rehypothecation_limit": 1.4,
        "risk_warning_pct": 0.62,
        "risk_warning_calculated_at": warning_at,
    }
    df = pl.DataFrame([row], schema_overrides={"initial_margin": pl.Float64})
    return df.with_columns(pl.col("day_count").cast(pl.Int64))
