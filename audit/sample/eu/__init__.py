"""A UK/EU CFD provider's retail and professional book with planted violations
(``audit sample-data --profile eu``).

``generate_eu()`` writes one file per table the book has (CSV or Parquet), ``mapping.yaml``
(Europe/London) and ``expected_violations.json`` in the seed book's format: every planted
violation by rule, key and profile ``eu``, and under ``not_planted`` the eu rules this book has
no plant for, with the reason. The audit of the export under ``--profile eu`` finds exactly the
planted violations; everything else is clean by construction, and the generator checks it for
the rules it cannot plant by hand (book.py judges LEV-001, LEV-006, LEV-014 and CLR-007 on
what it simulated and stops on any record not planted).

The book (``market.py``, ``stories.py``, ``book.py``, ``records.py``):

* Calendar: the 337 XLON sessions from 31 December 2024 to 30 April 2026: the twelve months
  the risk warning calculated on 31 December 2025 covers, and four months after. Times are
  London wall-clock time, money GBP in integer pence (quotes are read as sterling: the book
  does not model currency conversion).
* Market: 37 CFDs labelled as the provider files them (instruments.asset_class): major pairs
  (EURUSD, GBPJPY ...) ``fx_major``, minor pairs ``fx``, gold, commodities, major indices
  (UK100, GER40, US500 ...) ``index_major``, other indices, UK and US shares, crypto; random
  walks, and thirteen CFDs one story each scripts.
* Accounts: retail and (about one in seven) professional clients, long CFDs only. Each CFD
  opened is a ``financings`` row: its notional against the margin the client posted for it,
  within the ESMA cap of its class for retail clients (30/20/10/5/2:1) and the published 30:1
  and 100:1. Accounts carry no debt: ``debt`` is 0, ``market_value`` the notional of the open
  CFDs (the positions' sum), ``cash`` the balance (deposits, realised profit and loss settled
  into client money, charges) and ``equity`` the balance plus the unrealised profit and loss,
  the funds ESMA's close-out counts. Overnight financing on the notional at the contract rate
  (actual/365, to the next session), commission 0.10% (minimum £10.00) on share CFDs. The
  provider closes an account out when its equity closes below half its initial margin
  protection, calls it at 17:30 below the protection itself (T+1 to restore, sale from T+2),
  and writes a negative retail balance off the next day. Clients hold passports, institutions
  an LEI; client money sits in two, from February 2026 three, client bank accounts, with the
  provider's own record of each beside the bank's statement.

Planted (one each unless said): KYC-001 (pending at the CFD), KYC-002 (risk warning signed
after), KYC-003 (screening hit never resolved), KYC-004 (an LEI with wrong check digits),
KYC-006 (an assessment 25 months old), KYC-007 (high risk reviewed 14 months ago), KYC-008
(never screened), KYC-009 (PEP never approved), SEG-001 (a day £1,234.56 short), SEG-002 (a
transfer to the house), SEG-004 (the third bank's letter countersigned four days after it
first held client money: each of those days), SEG-006 (a day one bank's statement is £2,000
under the provider's record and another's £2,000 over: two records, totals agreeing), SEG-007
(£25.00 of fee without a charge), SEG-008 (a transfer to another client without an
instruction), CON-002 (sold for an unmet call the morning after it), CON-004 (a Friday's
overnight financing 3 points above the contract), CON-005 and CLR-004 (the terms in force name
no client bank and do not disclose the hedging exposure), CON-006 (commission at 0.15%),
CON-007 (a CFD contracted 1 point above the published rate), CON-009 (the loss share in force
calculated 120 days before the audit date), CON-012 (the published share 9 points under the
accounts'), LEV-001 (a professional CFD at 200:1), LEV-006 (a retail share CFD at 10:1),
LEV-014 (a retail account below half its protection at two closes, not closed out), LEV-015
(the latest stress test without results), LEV-020 (AUD/JPY filed as a major pair), CLR-001 (a
close-out without clearing record), CLR-005 (the latest audit opinion qualified), CLR-006 (a
negative balance claimed from a retail client), CLR-007 (a retail balance left negative: every
close from its third session), CAP-001 (a day of liquid assets under the buffer).

Traps (clean, must not be flagged): retail CFDs at exactly 30:1 (EUR/USD, USD/CAD), 20:1
(gold, the FTSE 100, the CAC 40, AUD/USD), 10:1 (the Hang Seng), 5:1 (Apple, its commission at
the £10.00 minimum) and 2:1 (Bitcoin); a professional at exactly 100:1 and at 10:1 on Ether;
equity exactly half the protection at a close (CAC 40); a major pair at 2% equity (above its
1.67% close-out, below a flat 5%); a professional at 30-38% of its protection for three closes;
an ESMA close-out on the 7 April 2025 gap without a call; a sale at T+2 after an unmet call; a
call met the next day; a negative retail balance written off the next day; a professional's
negative balance claimed and paid; GBP/JPY and the indices on ESMA's lists filed as majors,
EUR/TRY, the Hang Seng, FTSE 250 and IBEX filed as minors; a transfer to another client on the
client's instruction; the second bank's letter countersigned on the day it first held money;
a day the banks hold exactly the client money; liquid assets exactly at the buffer; a
screening hit cleared on the day of the CFD; an assessment exactly 24 months old; a high-risk
client reviewed exactly 12 months ago; a PEP approved on the day of the CFD; a qualified
opinion older than 400 days; valid LEIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from audit import contract
from audit.sample.eu import market, records, stories
from audit.sample.eu.book import Book
from audit.sample.eu.market import DAYS
from audit.sample.tables import write_profile_book

__all__ = ["DAYS", "generate_eu"]

MAPPING = """\
# How this export is laid out: date-times without an offset are London wall-clock time.
timezone: Europe/London
"""
# Optional columns and tables the EU book leaves out, and why.
LEFT_OUT = {
    ("financings", "rollover_of"), ("financings", "available_margin_at_open"),  # CN 融资融券 only
    ("financings", "account_holder_id"), ("financings", "funder_controls_password"),  # 配资 only
    ("financings", "warning_line"), ("financings", "liquidation_line"),  # no collateral-ratio lines
    ("accounts", "accrued_interest"),  # overnight financing is charged every night
    ("accounts", "pledged_value"),  # a CFD account holds no securities to re-pledge
    ("accounts", "day_trades_5d"), ("accounts", "short_market_value"),  # US rules; long CFDs only
    *(("clients", c) for c in ("verification_status", "verified_at", "risk_tolerance",
                               "risk_assessed_at", "risk_disclosure_signed_at", "screening_result",
                               "screened_at", "screening_resolved_at", "last_review_at",
                               "pep_approved_at", "first_trade_date")),
}
LEFT_OUT_TABLES = {"instrument_terms", "reserve_computations"}  # CN collateral terms; US 15c3-3
NOT_PLANTED = {
    "CLR-003": "CLR-003 and CLR-005 exclude each other; the book plants CLR-005",
    "SEG-003": "a CFD account holds no securities the provider could re-pledge (no pledged_value)",
    "LEV-004": "stress: the toolkit's stress model values securities against a debt; a CFD book carries none",
    "LEV-005": "stress: the toolkit's stress model values securities against a debt; a CFD book carries none",
    "LEV-024": "stress: LEV-004's complement (a shortfall the model grid does not agree on); none here",
}


def build(accounts: int, seed: int) -> tuple[Book, dict[str, pl.DataFrame]]:
    if accounts < stories.MIN_ACCOUNTS:
        raise ValueError(f"the eu book needs at least {stories.MIN_ACCOUNTS} accounts")
    streams = np.random.SeedSequence(seed).spawn(3)
    r_price, r_book, r_rec = (np.random.default_rng(s) for s in streams)
    b = Book(r_book, market.sessions())
    if len(b.dates) != market.DAYS:
        raise RuntimeError(f"the XLON calendar gives {len(b.dates)} sessions, not {market.DAYS}")
    walks = market.prices(r_price, len(b.dates))
    b.price = {k: v.copy() for k, v in walks.items()}
    b.walk = {k: v.astype(np.float64) for k, v in walks.items()}
    stories.make_accounts(b, accounts)
    records.money_plants(b)
    b.simulate()
    b.rng = r_rec
    client_rows, kyc_rows = records.clients(b)
    platform = records.versions(b)
    house = records.house_records(b)
    b.violation("LEV-020", "instruments", {"instrument_id": "AUDJPY"},
                "AUD/JPY filed as a major pair: the Australian dollar is not on ESMA's list")
    return b, tables(b, client_rows, kyc_rows, platform, house)


def _ids(rows: list[dict[str, Any]], prefix: str, key: str, order) -> None:
    rows.sort(key=order)
    for n, r in enumerate(rows, 1):
        r[key] = f"{prefix}{n:07d}"


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


def tables(b: Book, client_rows, kyc_rows, platform, house) -> dict[str, pl.DataFrame]:
    seq = {id(e): n for n, e in enumerate(b.events)}
    _ids(b.events, "ME", "event_id", lambda e: (e["event_at"], e["account_id"], seq[id(e)]))
    for e in b.events:
        e["related_event_id"] = e["_related"]["event_id"] if e.get("_related") else None
    _tagged(b, b.events, "margin_events", "event_id")
    seq = {id(r): n for n, r in enumerate(b.trades)}
    _ids(b.trades, "TR", "trade_id", lambda r: (r["traded_at"], r["account_id"], seq[id(r)]))
    for r in b.trades:
        r["liquidation_event_id"] = r["_event"]["event_id"] if r["_event"] else None
        r["price"] = r["price"] / (100 * r["_scale"])
        r["order_id"] = "OR" + r["trade_id"][2:]
        r["on_margin"] = True
    seq = {id(r): n for n, r in enumerate(b.ledger)}
    _ids(b.ledger, "LG", "entry_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.ledger, "ledger", "entry_id")
    seq = {id(r): n for n, r in enumerate(b.fees)}
    _ids(b.fees, "FE", "fee_id", lambda r: (r["date"], r["account_id"], seq[id(r)]))
    _tagged(b, b.fees, "fees", "fee_id")
    _ids(kyc_rows, "KE", "event_id", lambda r: (r["event_date"], r["client_id"]))
    for p in b.positions:
        p["price"] = p["price"] / (100 * p["_scale"])
    b.financings.sort(key=lambda f: f["financing_id"])
    for f in b.financings:
        f.update(term_days=None, product_risk_level=None)
    return {
        "platform": _frame(platform, "platform"),
        "clients": _frame(sorted(client_rows, key=lambda r: r["client_id"]), "clients"),
        "kyc_events": _frame(kyc_rows, "kyc_events"),
        "accounts": _frame(sorted(b.snapshots, key=lambda s: (s["date"], s["account_id"])), "accounts"),
        "positions": _frame(sorted(b.positions, key=lambda p: (p["date"], p["account_id"], p["instrument_id"])),
                            "positions"),
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
    }


def generate_eu(out_dir: Path, accounts: int = 60, seed: int = 7, fmt: str = "csv") -> dict:
    """Write the EU book into ``out_dir``; same arguments, same bytes. Returns a summary."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    b, frames = build(accounts, seed)
    return write_profile_book(out_dir, "eu", b, frames, fmt, seed, accounts, left_out=LEFT_OUT,
                              left_out_tables=LEFT_OUT_TABLES, mapping=MAPPING,
                              not_planted=NOT_PLANTED)
