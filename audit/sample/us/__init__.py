"""A US broker-dealer's margin book with planted violations (``audit sample-data --profile us``).

``generate_us()`` writes one file per table the book has (CSV or Parquet), ``mapping.yaml``
(America/New_York) and ``expected_violations.json`` in the seed book's format: every planted
violation by rule, key and profile ``us``, and under ``not_planted`` the us rules this book has
no plant for, with the reason. The audit of the export under ``--profile us`` finds exactly the
planted violations; everything else is clean by construction, and the generator checks it for
the rules it cannot plant by hand (book.py judges LEV-009, LEV-016, LEV-018 and CON-010 on what
it simulated and stops on any record not planted).

The book (``market.py``, ``stories.py``, ``book.py``, ``records.py``):

* Calendar: the 40 XNYS sessions from 4 May to 30 June 2026 (exchange-calendars), so Memorial
  Day and Juneteenth fall inside, the house raises its maintenance requirement from 25% to 30%
  on 18 May, and FINRA's intraday margin standard replaces the pattern-day-trader rule on
  4 June. Times are New York wall-clock time, money USD in integer cents.
* Market: twenty listed US equities and ETFs (random walk with a market factor, their real
  average daily volumes) and fourteen invented small caps, one per story, whose closes put the
  story account's equity at the ratio the story names.
* Accounts: long margin accounts opened on Regulation T terms (at most 2x, at least $2,000),
  one in five also short; interest at the contract rate on the debit, actual/360, capitalised
  at month end; commission 0.05% (minimum $1.00) on every fill; clients top up before their
  equity falls to 36% of their market value. The house calls at 17:30 the day equity closes
  below its requirement (25% / 30% of the long value plus 30% of the short value), gives T+2,
  and sells from T+3. Clients hold passports, other US identity documents or (institutions) an
  LEI, and are verified, screened, assessed and given the margin disclosure statement before
  their loan; the reserve bank account holds their credit balances; net capital and liquid
  assets stay above the disclosed buffers.

Planted (one each unless said): KYC-001 (pending at the loan), KYC-002 (disclosure signed after),
KYC-003 (screening hit never resolved), KYC-004 (an LEI with wrong check digits), KYC-006 (an
assessment 25 months old), KYC-007 (high risk reviewed 14 months ago), KYC-008 (never
screened), KYC-009 (PEP never approved), SEG-001 (a day the reserve account is $1,234.56 short),
SEG-002 (a sweep to the house), SEG-003 (re-pledged at 150% of the debit), SEG-007 ($25.00 of
fee movement above the day's charges), SEG-008 (a journal to another client without an
instruction), SEG-005 (a week's reserve deposit $25,000 short of Exhibit A), CON-002 (sold the
morning after the call), CON-004 (a month's interest 4 points above the contract), CON-005 and
CLR-004 (the terms in force name no custodian and do not disclose the CCP exposure), CON-006
(commission at 0.10%), CON-007 (a contract rate above the published one), CON-010 (a call one
morning late), LEV-007 (a loan at 2.6x), LEV-008 (a loan on $1,500), LEV-009 (a pattern day
trader with about $18,000, on each day of May it counts four day trades), LEV-016 (a deficiency
from 14 May never met nor sold: every day after its 15th business day), LEV-017 (the 2024 terms
at 20%), LEV-018 (an intraday deficit unmet, with opening trades within the 90 days), CLR-001 (a
sell-out without clearing reference), CLR-005 (the latest audit opinion qualified), CAP-001 (a
day of liquid assets under the buffer), LEV-015 (the latest stress test without results).

Traps (clean, must not be flagged): equity exactly 25% of the long value under the 25% house
requirement and exactly 30% under the 30% one; a deficiency called on 1 June and met by a
deposit on 23 June, its 15th business day across Juneteenth (22 calendar days); a short-only
account at 33-38% equity whose collateral ratio (1.33-1.38) is under the long-account line; a
sale at 15% equity without a call and without a stated reason, as the margin agreement allows
(undetermined under us); a standard sell-out at T+3 after an unmet call; a day trader with
$15,000 after 4 June whose opening fills its equity covers; a pattern day trader at exactly
$25,000.00; an intraday deficit met by a deposit within five business days; loans at exactly
2x and on exactly $2,000.00; a commission of exactly $9.175 charged $9.18 and one at the $1.00
minimum; a journal to another client with the client's signed authorisation; re-pledging at
exactly 140% of the debit; a reserve account balance exactly equal to the credit balances; a
week's reserve deposit exactly the Exhibit A requirement; a sale for an unmet call after the
market lifted equity back to 35% (a US agreement lets the firm sell at any time);
liquid assets exactly at the buffer; a screening hit cleared on the day of the loan; an
assessment exactly 24 months old; a high-risk client reviewed exactly 12 months ago; a PEP
approved on the day of the loan; a qualified opinion older than 400 days; valid LEIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from audit import contract
from audit.sample.tables import write_profile_book
from audit.sample.us import market, records, stories
from audit.sample.us.book import Book
from audit.sample.us.market import DAYS

__all__ = ["DAYS", "generate_us"]

MAPPING = """\
# How this export is laid out: date-times without an offset are New York wall-clock time.
timezone: America/New_York
"""
# Optional columns and tables the US book leaves out, and why.
LEFT_OUT = {
    ("financings", "rollover_of"), ("financings", "available_margin_at_open"),  # CN 融资融券 only
    ("financings", "account_holder_id"), ("financings", "funder_controls_password"),  # 配资 only
    ("financings", "warning_line"), ("financings", "liquidation_line"),  # the house terms apply
    ("accounts", "accrued_interest"),  # interest is capitalised into the debit at month end
    *(("clients", c) for c in ("verification_status", "verified_at", "risk_tolerance",
                               "risk_assessed_at", "risk_disclosure_signed_at", "screening_result",
                               "screened_at", "screening_resolved_at", "last_review_at",
                               "pep_approved_at", "first_trade_date")),
    ("platform", "risk_warning_pct"), ("platform", "risk_warning_calculated_at"),
    ("platform", "risk_warning_kind"),  # no CFDs: no ESMA risk warning
    ("custody", "book_balance"),  # the bank's statements only
}
LEFT_OUT_TABLES = {"instrument_terms"}  # Regulation T: every listed equity is marginable
NOT_PLANTED = {
    "CLR-003": "CLR-003 and CLR-005 exclude each other; the book plants CLR-005",
    "LEV-004": "stress: the book holds liquid US stocks and net capital far above its debits",
    "LEV-005": "stress: every holding is a small part of its instrument's daily volume",
    "LEV-024": "stress: LEV-004's complement (a shortfall the model grid does not agree on); none here",
}


def build(accounts: int, seed: int) -> tuple[Book, dict[str, pl.DataFrame]]:
    if accounts < stories.MIN_ACCOUNTS:
        raise ValueError(f"the us book needs at least {stories.MIN_ACCOUNTS} accounts")
    streams = np.random.SeedSequence(seed).spawn(3)
    r_price, r_book, r_rec = (np.random.default_rng(s) for s in streams)
    dates = market.sessions()
    b = Book(r_book, dates)
    prices = market.listed_prices(r_price, len(dates))
    for k, x in enumerate(market.LISTED):
        b.price[x[0]] = prices[k]
    stories.make_accounts(b, accounts)
    records.money_plants(b)
    b.simulate()
    records.pledges(b)
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
    _ids(b.events, "ME", "event_id", lambda e: (e["event_at"], e["account_id"]))
    for e in b.events:
        e["related_event_id"] = e["_related"]["event_id"] if e.get("_related") else None
    _tagged(b, b.events, "margin_events", "event_id")
    _ids(b.trades, "TR", "trade_id", lambda r: (r["traded_at"], r["account_id"], r["side"]))
    for r in b.trades:
        r["liquidation_event_id"] = r["_event"]["event_id"] if r["_event"] else None
        r["price"] = r["price"] / 100
        r["order_id"] = "OR" + r["trade_id"][2:]
    _tagged(b, b.trades, "trades", "trade_id")
    seq = {id(r): n for n, r in enumerate(b.ledger)}
    _ids(b.ledger, "LG", "entry_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.ledger, "ledger", "entry_id")
    seq = {id(r): n for n, r in enumerate(b.fees)}
    _ids(b.fees, "FE", "fee_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.fees, "fees", "fee_id")
    _ids(kyc_rows, "KE", "event_id", lambda r: (r["event_date"], r["client_id"]))
    for p in b.positions:
        p["price"] = p["price"] / 100
    b.financings.sort(key=lambda f: f["financing_id"])
    for f in b.financings:
        f.update(term_days=None, product_risk_level=None, underlying_asset_class="equity")
    snaps = sorted(b.snapshots, key=lambda s: (s["date"], s["account_id"]))
    out = {
        "platform": _frame(house["platform"], "platform"),
        "clients": _frame(sorted(client_rows, key=lambda r: r["client_id"]), "clients"),
        "kyc_events": _frame(kyc_rows, "kyc_events"),
        "accounts": _frame(snaps, "accounts"),
        "positions": _frame(sorted(b.positions, key=lambda p: (p["date"], p["account_id"], p["instrument_id"])), "positions"),
        "instruments": _frame(house["instruments"], "instruments"),
        "financings": _frame(b.financings, "financings"),
        "margin_events": _frame(b.events, "margin_events"),
        "ledger": _frame(b.ledger, "ledger"),
        "custody": _frame(house["custody"], "custody"),
        "fees": _frame(b.fees, "fees"),
        "trades": _frame(b.trades, "trades"),
        "audits": _frame(house["audits"], "audits"),
        "capital": _frame(house["capital"], "capital"),
        "stress_tests": _frame(house["stress_tests"], "stress_tests"),
        "reserve_computations": _frame(house["reserve_computations"], "reserve_computations"),
    }
    return out


def generate_us(out_dir: Path, accounts: int = 60, seed: int = 7, fmt: str = "csv") -> dict:
    """Write the US book into ``out_dir``; same arguments, same bytes. Returns a summary."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    b, frames = build(accounts, seed)
    return write_profile_book(out_dir, "us", b, frames, fmt, seed, accounts, left_out=LEFT_OUT,
                              left_out_tables=LEFT_OUT_TABLES, mapping=MAPPING,
                              not_planted=NOT_PLANTED)
