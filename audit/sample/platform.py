"""The platform's own records: custodian statements, daily net capital and liquid assets, the
third-party audit reports, its quarterly stress tests and the disclosure row. Net capital
follows the book: 15-45% above a quarter of it and twenty times the largest client. The
table-level plants change these records at the points this module names (``plants.CUSTODY`` ...
``plants.PLATFORM``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from audit.sample import plants
from audit.sample.market import date_series, day_number, quarter_end_before
from audit.sample.terms import CUSTODIAN, DISCLOSURE, OLD_PUBLISHED, OLD_TERMS, PLATFORM_ID, ceil_to, floor_to

if TYPE_CHECKING:
    from audit.sample.builder import Builder

MAIN_ACCOUNT = "755915678310888"
SECOND_ACCOUNT = "4000023419200766"
SECOND_CUSTODIAN = "中国工商银行股份有限公司深圳分行"
AUDITORS = ("信达华会计师事务所（特殊普通合伙）", "中衡正信会计师事务所（特殊普通合伙）")


@dataclass
class Custody:
    """One custodian statement per day against the day's client money (``plants.CUSTODY``)."""

    money: np.ndarray  # client money (the accounts' cash), cents
    balance: np.ndarray  # the statement's balance, cents
    kept: np.ndarray  # whether the day has a statement
    ack: np.ndarray  # acknowledgement letter countersigned (day number, -1 never)


@dataclass
class Capital:
    """Net capital per day and what it is measured against (``plants.CAPITAL``)."""

    accounts: pl.DataFrame
    positions: pl.DataFrame
    book: np.ndarray  # the margin book: the day's debt
    top: np.ndarray  # the largest client's debt
    second: np.ndarray  # the second largest client's debt
    need: np.ndarray  # max(book / 4, 20 * top)
    net_capital: np.ndarray
    taken: set[int] = field(default_factory=set)  # days a plant has used


@dataclass
class Liquidity:
    """Liquid assets per day against the disclosed buffer (``plants.LIQUIDITY``)."""

    liquid_assets: np.ndarray
    buffer: int
    free: list[int]  # days no capital plant has used


@dataclass
class Audits:
    """The third-party audit reports on file, oldest first (``plants.AUDITS``)."""

    reports: list[date]
    qualified: set[int]  # positions in ``reports`` with a qualified opinion


def custody_table(b: Builder, accounts: pl.DataFrame) -> pl.DataFrame:
    """The custodian's daily statements: client money plus a small surplus on some days."""
    r = b.r_misc
    money = accounts.group_by("date").agg(pl.col("cash").sum()).sort("date")
    if money.height != b.T:
        raise RuntimeError("custody: a day without snapshots")
    surplus = np.where(r.random(b.T) < 0.3, r.integers(1, 50_000, b.T), 0)
    bal = money["cash"].to_numpy() + surplus
    keep = np.ones(b.T, dtype=bool)
    ack = np.full(b.T, day_number(date(2019, 3, 15)), dtype=np.int64)  # letter on file since 2019
    plants.run(plants.CUSTODY, b, Custody(money["cash"].to_numpy(), bal, keep, ack))
    # NOTE: client money sits in two client-money accounts (多银行存管): the main one holds
    # 80% of each day's balance (and carries the planted shortfalls and letters), the second
    # the rest, with its own letter since 2021.
    second = bal * 2 // 10
    main = pl.DataFrame({
        "date": money["date"],
        "custody_account": [MAIN_ACCOUNT] * b.T,
        "custodian": [CUSTODIAN] * b.T,
        "statement_balance": (bal - second).astype(np.int64),
        "ack_letter_signed_at": date_series(ack),
    }).filter(pl.Series(keep))
    other = pl.DataFrame({
        "date": money["date"],
        "custody_account": [SECOND_ACCOUNT] * b.T,
        "custodian": [SECOND_CUSTODIAN] * b.T,
        "statement_balance": second.astype(np.int64),
        "ack_letter_signed_at": date_series(np.full(b.T, day_number(date(2021, 6, 1)), dtype=np.int64)),
    }).filter(pl.Series(keep))
    return pl.concat([main, other]).sort("date", "custody_account")


def capital_table(b: Builder, accounts: pl.DataFrame, positions: pl.DataFrame) -> pl.DataFrame:
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
    capital = Capital(accounts, positions, book, top, second, need, nc)
    plants.run(plants.CAPITAL, b, capital)
    b.capital_buffer = int(max(floor_to(0.95 * nc.min(), 10_000_000), 1_000_000))
    b.liquidity_buffer = int(ceil_to(np.array([int(0.4 * b.capital_buffer)]), 10_000_000)[0])
    la = (b.liquidity_buffer * la_u).astype(np.int64)
    free = [t for t in range(T) if t not in capital.taken] or list(range(T))
    plants.run(plants.LIQUIDITY, b, Liquidity(la, b.liquidity_buffer, free))
    return pl.DataFrame({"date": pl.Series(b.dnum.astype(np.int32)).cast(pl.Date),
                         "net_capital": nc, "liquid_assets": la})


def audits_table(b: Builder) -> pl.DataFrame:
    """Annual reports for FY(y) signed in April or May of y + 1, the latest exactly 400 days
    old (a trap: the oldest report CLR-005 still reads). A qualified opinion four years ago is
    out of CLR-005's scope in every variant; the plants of CLR-003 and CLR-005 replace the
    latest report."""
    limit = b.as_of - timedelta(days=400)
    audits = Audits([date(2020, 4, 17), date(2021, 4, 20), date(2022, 4, 19), date(2023, 4, 18), limit],
                    qualified={0})
    plants.run(plants.AUDITS, b, audits)
    rows = []
    for j, rep in enumerate(audits.reports):
        y = rep.year - 1
        rows.append({"audit_id": f"AUD-FY{y}", "auditor": AUDITORS[0 if j >= 3 else 1],
                     "period_start": date(y, 1, 1), "period_end": date(y, 12, 31), "report_date": rep,
                     "opinion": "qualified" if j in audits.qualified else "unqualified"})
    b.last_audit = audits.reports[-1]
    return pl.DataFrame(rows)


def stress_tests_table(b: Builder) -> pl.DataFrame:
    """The platform's own stress tests: three scenarios at each of the last eight quarter
    ends, the latest one quarter before the as-of date. No random draws, so adding the
    table moved no other plant."""
    ends = [quarter_end_before(b.as_of)]
    for _ in range(7):
        ends.append(quarter_end_before(ends[-1]))
    scenarios = (("uniform-20", -0.20, 0.01), ("uniform-33", -0.33, 0.06),
                 ("2015-a-share-crash", -0.45, 0.21))
    rows = [{"test_id": f"ST-{q:%Y%m}-{n + 1}", "run_date": q, "scenario": name, "shock": shock,
             "shortfall": int(share * b.capital_buffer), "net_capital": int(1.2 * b.capital_buffer),
             "approved_by": "风险管理委员会"}
            for q in sorted(ends) for n, (name, shock, share) in enumerate(scenarios)]
    plants.run(plants.STRESS_TESTS, b, rows)
    return pl.DataFrame(rows, schema_overrides={"shortfall": pl.Int64, "net_capital": pl.Int64})


def terms_dates(b: Builder) -> tuple[date, date, date]:
    """(publication of the old terms, publication and effective date of the current ones): the
    current terms take effect on the Monday of the week before the window starts, so every day
    of the window is under them, and were published two weeks before."""
    start = b.dates[0]
    effective = start - timedelta(days=start.weekday() + 7)
    return OLD_PUBLISHED, effective - timedelta(days=14), effective


def platform_table(b: Builder) -> pl.DataFrame:
    """The platform's disclosures: the terms published in 2023 (140% liquidation line, periods
    in calendar hours, the clearing chain not yet disclosed: a superseded version, history) and
    the current terms (130%, trading days). The risk-warning loss share was calculated at the
    last quarter end, up to 92 days ago: the edge of ESMA's quarterly recalculation (a trap)."""
    old_published, published, effective = terms_dates(b)
    row = {
        "platform_id": PLATFORM_ID,
        "platform_name": "鼎盛融资服务平台（合成数据）",
        "disclosed_at": published,
        "effective_from": effective,
        **{k: v for k, v in DISCLOSURE.items()},
        "custodian": CUSTODIAN,
        "capital_buffer_min": b.capital_buffer,
        "liquidity_buffer_min": b.liquidity_buffer,
        "clearing_chain": "平台 > 示例证券股份有限公司（经纪商、结算参与人） > 中国证券登记结算有限责任公司（中央对手方）",
        "ccp_exposure_disclosed": True,
        "last_audit_date": b.last_audit,
        "rehypothecation_limit": 1.4,
        "risk_warning_pct": 0.62,
        "risk_warning_calculated_at": quarter_end_before(b.as_of),
    }
    old = {**row, **OLD_TERMS, "disclosed_at": old_published, "effective_from": None,
           "clearing_chain": None, "ccp_exposure_disclosed": False, "last_audit_date": date(2022, 4, 19),
           "risk_warning_pct": None, "risk_warning_calculated_at": None}
    plants.run(plants.PLATFORM, b, row)
    df = pl.DataFrame([old, row], schema_overrides={
        "initial_margin": pl.Float64, "call_response_hours": pl.Float64,
        "notice_period_hours": pl.Float64, "call_response_trading_days": pl.Int64,
        "notice_period_trading_days": pl.Int64, "risk_warning_pct": pl.Float64,
        "risk_warning_calculated_at": pl.Date, "effective_from": pl.Date, "clearing_chain": pl.String})
    return df.with_columns(pl.col("day_count").cast(pl.Int64))


def platform_key(b: Builder) -> dict[str, str]:
    """The key of the disclosure version in force (what table-level plants break)."""
    return {"platform_id": PLATFORM_ID, "disclosed_at": terms_dates(b)[1].isoformat()}
