"""A licensed Chinese broker's 融资融券 book with planted violations (``audit sample-data
--profile cn``).

``generate_cn()`` writes one file per table the book has (CSV or Parquet), ``mapping.yaml``
(Asia/Shanghai) and ``expected_violations.json`` in the seed book's format: every planted
violation by rule, key and profile ``cn``, and under ``not_planted`` the cn rules this book has
no plant for, with the reason. The audit of the export under ``--profile cn`` finds exactly the
planted violations; everything else is clean by construction, and the engine checks the
single-position concentration limit (LEV-003) on every holding and the call it owes on every
day (CON-003), stopping on any breach not planted.

The book (``market.py``, ``contracts.py``, ``stories.py``, ``book.py``, ``records.py``):

* Calendar: the 40 XSHG sessions from 5 January to 9 March 2026 (exchange-calendars), so the
  exchanges' financing margin ratio for new contracts returns from 80% to 100% on 19 January
  and the Spring Festival closes the market from 16 to 23 February. Times are Beijing time,
  money CNY in integer fen.
* Market: eighteen A-shares and ETFs (random walk with a market factor, their average daily
  volumes, daily moves within the board's limit), a fictional ST stock and fourteen fictional
  ChiNext stocks, one per story, whose closes put the story account's maintenance collateral
  ratio (维持担保比例) where the story wants it, within the 20% daily limit. instrument_terms
  dates the conversion rates (折算率: CSI 300 stocks 70%, other A-shares 60%, ETFs 90%, the
  ST stock 0 and ineligible since its risk warning, one cut from 70% to 50% on 2 February).
* Contracts: each draw is a contract of at most six months (182 or 184 days) with the
  broker's available margin at open (保证金可用余额) at least the regime's financing margin
  ratio of the amount (100% to 8 September 2023, 80% from 11 September 2023 to 16 January
  2026, 100% from 19 January 2026); rollovers (展期) point to the first contract of their chain
  and keep its ratio; lines 150% / 130% by contract, 140% / 120% for clients of good standing.
* Accounts: long A-shares and ETFs, one in five also short a stock (融券, the proceeds held as
  cash); interest on the debt at the contract rate (actual/360) and 融券 fees (10.35%) accrue
  daily (accounts.accrued_interest) and are paid on the last session of each month;
  commission 0.03%, 0.025% from 19 January 2026, at least 5.00 a fill. Clients top up to 200%
  before their ratio falls to 170%. The broker calls at 17:30 the day the ratio closes below
  the contract's call line and gives T+2; sales are at T+3. Clients hold 居民身份证, a few
  港澳台居民居住证 and 外国人永久居留身份证, institutions a unified social credit code; all
  traded six months before their credit account opened (institutions exempt), are verified,
  screened, graded (retail C4-C5; professional investors are not graded) and sign the risk
  disclosure before their first draw; the depository bank holds their cash; net capital is
  reported at each month end.

Planted (one each unless said): LEV-010 (a contract on 8 September 2023 at 85%, and a 2024
rollover at 85% of a contract made in the 100% regime), LEV-011 (available margin 75% of the
amount while own equity was 110%), LEV-012 (a contract on 19 January 2026 at 80%), LEV-013 (a
270-day term), LEV-003 (65% of the assets in one stock on the two days the ratio is under
180%), CON-001 (sold at 125% under a contract line of 120%), CON-002 (sold the morning after
the call), CON-003 (a call two sessions late: two days), CON-008 (a day past the sale date
unsold), CLR-001 (a sale without clearing record), CLR-002 (a short squeezed into a shortfall
nobody pursued), KYC-001..009 (as the us book: pending, late disclosure, unresolved hit, a
resident ID with a wrong check character, a C3 client on an R4 product, an assessment 25 months
old, a high-risk client reviewed eight months ago, never screened, a PEP never approved),
KYC-010 (five months of trading before the credit account), OFX-001 (an account used by
another client), OFX-002 (staff holding a client's password), CON-004 (January interest 2
points over the contract), CON-005 and CLR-004 (the terms in force name no depository bank and
do not disclose the CCP exposure), CON-006 (a commission at 0.05%), CON-007 (a contract at
7.00% when 6.50% was published), SEG-001 (a day 1,234.56 short), SEG-002 (a transfer to the
broker's own account), SEG-003 (securities re-pledged, which cn allows none of), SEG-007 (a
"repayment" that did not reduce the debt), SEG-008 (a transfer to another client without an
instruction), CAP-001 (January's liquid assets under the buffer), CAP-002 (the whale, every
day of March), CAP-004 (the whale at or above the 80% early-warning level on every day before
March), CLR-005 (the latest audit opinion qualified), LEV-015 (the latest stress test
without results).

Traps (clean, must not be flagged): a ratio of exactly 150% (the line is crossed strictly
below) and one of exactly 130% after an unmet call, left unsold; lines of 140% / 120% by
contract: no call at 145%, no sale at 123-125%; a standard sale at T+3 across the rule's
trading days; a short bought in with a shortfall and a recourse claim; one stock as all the
assets at a ratio of 250-270% (no limit) and 69% at 200% (the 70% tier); ETFs above half the
assets; a contract at exactly 80% on 16 January 2026 and on 11 September 2023, and at exactly
100% on 15 August 2023; a rollover on 10 February 2026 at 82% of a contract made in the 80%
regime; a rollover on 13 January 2026 at 6.50% while 5.80% was published but not yet in force;
commissions at 0.03% on 16 January under the same terms and one at the 5.00 minimum; the
whale owing exactly 5% of December's net capital through January (capital read as of the
latest month end); liquid assets exactly at the buffer; a depository balance exactly equal to
client money; a transfer to another client with the client's instruction; a direct repayment
exactly matching the fall in debt; a hit cleared on the day of the draw; an assessment exactly
24 months old; a high-risk client reviewed exactly six months before; a PEP approved on the day
of the draw; exactly six months of trading before the credit account; an institution
without trading history and a professional investor without a grade; valid 港澳台居民居住证
and 外国人永久居留身份证 numbers (no county code); a qualified opinion older than 400 days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from audit import contract
from audit.sample.cn import contracts, market, records, stories
from audit.sample.cn.book import Book
from audit.sample.cn.market import DAYS
from audit.sample.tables import write_profile_book

__all__ = ["DAYS", "generate_cn"]

MAPPING = """\
# How this export is laid out: date-times without an offset are Beijing time.
timezone: Asia/Shanghai
"""
# Optional columns and tables the cn book leaves out, and why.
LEFT_OUT = {
    ("accounts", "day_trades_5d"),  # the US pattern-day-trader count
    *(("clients", c) for c in ("verification_status", "verified_at", "risk_tolerance",
                               "risk_assessed_at", "risk_disclosure_signed_at", "screening_result",
                               "screened_at", "screening_resolved_at", "last_review_at",
                               "pep_approved_at")),  # the history is in kyc_events
    ("platform", "risk_warning_pct"), ("platform", "risk_warning_calculated_at"),
    ("platform", "risk_warning_kind"),  # no CFDs: no ESMA risk warning
    ("custody", "book_balance"),  # the depository bank's statements only
}
LEFT_OUT_TABLES = {"reserve_computations"}  # a US broker-dealer's 15c3-3 computation
NOT_PLANTED = {
    "CAP-003": "the book is far below four times net capital: a plant needs more than 80 clients "
               "each near the 5% single-client limit",
    "CLR-003": "CLR-003 and CLR-005 exclude each other; the book plants CLR-005",
    "LEV-004": "stress: the book holds liquid A-shares and net capital far above its debts",
    "LEV-005": "stress: every holding is a small part of its instrument's daily volume",
    "LEV-024": "stress: LEV-004's complement (a shortfall the model grid does not agree on); none here",
    "OFX-004": "the financing margin ratio caps a contract at 2.25x: whole multiples of 3x or more "
               "on half the book would break LEV-010..012 on every one of them",
    "CAP-005": "the book is far below 80% of four times net capital (CAP-003's limit)",
    "CAP-006": "the book gives no share counts (instruments.total_shares): not evaluable",
    "CAP-007": "the book gives no share counts (instruments.total_shares): not evaluable",
    "LEV-022": "every credit buy in the book is of a security eligible on its trade date",
    "LEV-023": "no account with debt withdraws cash to its bank in the book's window",
}


def build(accounts: int, seed: int) -> tuple[Book, dict[str, pl.DataFrame]]:
    if accounts < stories.MIN_ACCOUNTS:
        raise ValueError(f"the cn book needs at least {stories.MIN_ACCOUNTS} accounts")
    streams = np.random.SeedSequence(seed).spawn(3)
    r_price, r_book, r_rec = (np.random.default_rng(s) for s in streams)
    dates = market.sessions()
    b = Book(r_book, dates)
    prices = market.listed_prices(r_price, len(dates))
    for k, x in enumerate(market.LISTED):
        b.price[x[0]] = prices[k]
    stories.make_accounts(b, accounts)
    contracts.contract_plants(b)
    records.money_plants(b)
    b.simulate()
    records.pledge(b)
    b.rng = r_rec
    client_rows, kyc_rows = records.clients(b)
    house = records.house_records(b)
    return b, tables(b, client_rows, kyc_rows, house)


def _ids(rows: list[dict[str, Any]], prefix: str, key: str, order) -> None:
    rows.sort(key=order)
    for n, r in enumerate(rows, 1):
        r[key] = f"{prefix}{n:06d}"


def _tagged(b: Book, rows: list[dict[str, Any]], table: str, key: str) -> None:
    for r in rows:
        if r.get("_tag"):
            rule, note = r["_tag"]
            b.violation(rule, table, {key: r[key]}, note)


def _frame(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    spec = contract.table(table)
    cols = [c.name for c in spec.columns if (table, c.name) not in LEFT_OUT]
    data = {c: [r.get(c) for r in rows] for c in cols}
    schema = {c.name: (pl.Int64 if c.type == contract.MONEY else c.dtype) for c in spec.columns if c.name in cols}
    return pl.DataFrame(data, schema=schema)


def tables(b: Book, client_rows, kyc_rows, house) -> dict[str, pl.DataFrame]:
    _ids(b.events, "FK", "event_id", lambda e: (e["event_at"], e["account_id"], e["event_type"]))
    for e in b.events:
        e["related_event_id"] = e["_related"]["event_id"] if e.get("_related") else None
    _tagged(b, b.events, "margin_events", "event_id")
    _ids(b.trades, "CJ", "trade_id", lambda r: (r["traded_at"], r["account_id"], r["instrument_id"], r["side"]))
    for r in b.trades:
        r["liquidation_event_id"] = r["_event"]["event_id"] if r["_event"] else None
        r["price"] = r["price"] / 100
        r["order_id"] = "WT" + r["trade_id"][2:]
    seq = {id(r): n for n, r in enumerate(b.ledger)}
    _ids(b.ledger, "LS", "entry_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.ledger, "ledger", "entry_id")
    seq = {id(r): n for n, r in enumerate(b.fees)}
    _ids(b.fees, "FY", "fee_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.fees, "fees", "fee_id")
    _ids(kyc_rows, "KE", "event_id", lambda r: (r["event_date"], r["client_id"]))
    for p in b.positions:
        p["price"] = p["price"] / 100
    b.financings.sort(key=lambda f: f["financing_id"])
    for f in b.financings:
        f.setdefault("account_holder_id", f["client_id"])
        f.setdefault("funder_controls_password", False)
        f.update(product_risk_level="R4", underlying_asset_class="equity")
    snaps = sorted(b.snapshots, key=lambda s: (s["date"], s["account_id"]))
    return {
        "platform": _frame(house["platform"], "platform"),
        "clients": _frame(sorted(client_rows, key=lambda r: r["client_id"]), "clients"),
        "kyc_events": _frame(kyc_rows, "kyc_events"),
        "accounts": _frame(snaps, "accounts"),
        "positions": _frame(sorted(b.positions, key=lambda p: (p["date"], p["account_id"], p["instrument_id"])), "positions"),
        "instruments": _frame(house["instruments"], "instruments"),
        "instrument_terms": _frame(house["instrument_terms"], "instrument_terms"),
        "financings": _frame(b.financings, "financings"),
        "margin_events": _frame(b.events, "margin_events"),
        "ledger": _frame(b.ledger, "ledger"),
        "custody": _frame(house["custody"], "custody"),
        "fees": _frame(b.fees, "fees"),
        "trades": _frame(b.trades, "trades"),
        "audits": _frame(house["audits"], "audits"),
        "capital": _frame(house["capital"], "capital"),
        "stress_tests": _frame(house["stress_tests"], "stress_tests"),
    }


def generate_cn(out_dir: Path, accounts: int = 60, seed: int = 7, fmt: str = "csv") -> dict:
    """Write the cn book into ``out_dir``; same arguments, same bytes. Returns a summary."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    b, frames = build(accounts, seed)
    return write_profile_book(out_dir, "cn", b, frames, fmt, seed, accounts, left_out=LEFT_OUT,
                              left_out_tables=LEFT_OUT_TABLES, mapping=MAPPING,
                              not_planted=NOT_PLANTED)
