"""A realistic synthetic platform export with planted violations (``audit sample-data``).

``generate()`` writes one file per contract table (CSV or Parquet) plus
``expected_violations.json``, which names every planted violation by rule, key and the profile
that runs the rule (``seed``, or ``cn`` / ``us`` / ``eu`` for the rules only those enable), and
lists under ``not_planted`` the rules this export has no plant for, with the reason. Everything
else is clean by construction: the generator runs the platform's own risk process day by day
(margin calls at the call line, liquidation only at or below the liquidation line and after the
notice period, recourse for shortfalls, top-ups that keep every snapshot inside the leverage
cap and the concentration limit) and plants each violation so that it breaks exactly one rule
of the seed profile, or none for a jurisdiction rule's plant (LEV-014's plants are also LEV-002
plants: a retail account below the ESMA close-out level is always above the 3x cap).

How the data is built:

* Calendar: Shanghai trading days (weekdays minus the exchange holidays listed below) ending on
  the fixed date ``END`` (2025-06-30), so the output never depends on today. The default 22
  days start on 29 May 2025, so the Dragon Boat holiday (2 June) falls inside the window.
* Time: the platform's terms changed. The 2023 terms (``OLD_TERMS``) liquidated at 140% and
  counted 24 calendar hours for a call and for its notice; the current terms, in force from
  the week before the window, liquidate at 130% ("at or below") and count trading days: a call
  the evening of the day the ratio closes below the call line, the client's day T+1, a forced
  sale from T+2. Contracts signed under the old terms repeat only the warning line. The due
  diligence is a history (``kyc_events``): ongoing re-verification, re-screening,
  re-assessment and re-signed disclosures after a client's last financing. The margin events
  are written in UTC (``2025-06-18T02:28:01Z``), every other table in Beijing time.
* Prices: a geometric random walk per instrument with a common market factor that contains a
  three-day crash (so a drawdown hits many accounts at once; bonds and gold fall with it, the
  "dash for cash"), daily price limits by board, and ticks. Scripted instruments carry the
  stories: S1, three Beijing Stock Exchange stocks with a -30% limit-down day; S2, three
  Shanghai stocks with a one-day V-shaped dip; S3, three BSE stocks with two limit-down days
  in a row; Z, a flat, thinly traded Shanghai stock.
* Money is integer cents throughout, so ``accounts.market_value`` is the sum of the day's
  position values to the cent and ``equity = cash + market_value - debt`` exactly.
* Each day, in this order: prices; morning top-ups by clients called the day before;
  liquidations (ratio <= liquidation line and a margin call at least two trading days and at
  most ten old); month-end interest; deposits and withdrawals; day trades (both legs
  charged commission, at most three in five days); top-ups that keep the snapshot inside the
  leverage cap, above the liquidation line and within the concentration limit; the
  close-of-business snapshot; a margin call at 18:00 for every account at or below the call
  line.
* Net capital follows the book: 15-45% above a quarter of it and twenty times the largest
  client. With plants the platform also has a per-client credit limit (no client above a
  95th of the book), which lets one day's capital fall below a quarter of the book while still
  covering every client twenty times (CAP-003 apart from CAP-002).

Planted (``k`` per per-row rule: 2 below 1,000 accounts, 3, 4, 5 from 100,000; one for the
rules the larger packs added below 200 accounts; the KYC plants are recorded on every
financing the missing or late step fails to cover): KYC-001 (pending / verified late /
rejected), KYC-002 (never signed / signed late), KYC-003 (hit never resolved / resolved late /
a confirmed true match financed anyway), KYC-004 (resident ID, USCC and LEI check characters),
KYC-005 (R4 to a C3 client, R5 to a C4; and a product sold with no assessment before it),
KYC-006 (assessed after the financing / 25 months old when the financing opened / never),
KYC-007 (high risk reviewed 400 days ago / medium never reviewed in 1,200 days), KYC-008 (never
screened / screened after the financing), KYC-009 (PEP never approved / approved late), SEG-001
(a shortfall, a missing statement, a one-cent shortfall), SEG-002 (a sweep to the platform's
own account), SEG-003 (re-pledged at 150% of the debt), CON-001 (liquidated at 134-136%, as if
the old 140% line still applied),
CON-002 (no call at all / liquidated the morning after the first call), CON-003 (call
suppressed on a dip day), CON-004 (wrong rate, one day too many, the published rate on a
contract at a negotiated lower one), CON-006
(commission at 5 bp / an unpublished 5.00 minimum), CON-007 (contract rate above the published
one), CON-008 (a professional bond account taken below the liquidation line by a withdrawal
and left there, called every evening but never liquidated: a violation on each snapshot from the
second trading day after a sale was allowed), LEV-001, LEV-002 (no
top-up on a dip day; the retail account of the S3 story), LEV-003 (a 60% position when the dip
takes the ratio under 180%), CLR-001 (null and blank clearing reference), CLR-002 (no recourse
record), CAP-001 (liquid assets under the buffer), CAP-002 (one large client, on a day before
it is closed out in the crash), CAP-003 (a day of net capital under a quarter of the book),
OFX-001 (account in another client's name), OFX-002 (funder holds the password), OFX-003
(contract lines of 140% / 110%).

Table-level, with ``plant_table_level`` (one each): CLR-004 (CCP exposure not disclosed),
CON-005 (initial margin not published), CON-009 (profile ``eu``: the risk-warning loss share
last calculated two quarter ends before the as-of date), LEV-015 (the platform's own latest
quarterly stress test without recorded results), OFX-004 (70% of contracts at 3x, 4x or 5x), CLR-005
(the latest audit report is qualified) or, with ``audit_overdue``, CLR-003 (the latest report
437 days old): no export can break both, since CLR-005 reads only reports at most 400 days old
and CLR-003 fails only when there is none.
LEV-004 and LEV-005 (severe stress scenario) come from one story, the illiquid cluster: 45 or
more retail accounts whose financing sits in Z, together 60% of the rest of the book. Two of
them, at 162% with Z under half their assets, are closed out by the severe shock alone; their
sale of Z needs 400 days of its volume and takes it to the model's floor price, which closes
out the rest with a shortfall above net capital. The two rules cannot be planted apart: net
capital is at least a quarter of the book (CAP-003), and with every account above the 130%
line a loss that large needs a larger price impact than equities sold within five days of
volume can have (5% stressed daily volatility x sqrt(5) = 11%: at most 24% of the debt lost),
while an instrument without any volume leaves LEV-005 nothing to read (no days to liquidate).
The cluster and the capital pair need a book of many similar clients: with fewer than 200
accounts CAP-002, CAP-003, LEV-004 and LEV-005 are left out.

Jurisdiction rules (profile ``cn``): KYC-010 (a margin account opened four months after the
client's first trade), LEV-010 (a
contract of September 2023 at a 71% financing margin ratio), LEV-011 (a contract at 2.8x),
LEV-012 (a rollover contract signed for January 2026 at 2.4x), LEV-013 (a 365-day term);
(``us``): LEV-007 (a contract at 2.6x), LEV-008 (a 3,000 draw on 1,875 of equity), LEV-009 (a
pattern day trader with about 16,000 of equity); (``eu``): SEG-004 (a statement without, or
before, its acknowledgement letter), LEV-006 (a retail crypto financing at 2.5x), LEV-014 (the
S3 retail account at about 15x and below zero), CLR-006 (the recourse record for its negative
balance). The book opens at up to 3x (retail) and 5x (professional), so LEV-007 (2x) and
LEV-011 (2.25x) also find most other contracts; the other jurisdiction rules find only their
plants.

Traps (clean, must not be flagged): a liquidation at exactly 130%; a liquidation with
negative equity and its recourse record; daily re-issued margin calls less than the notice
period before a liquidation (the rule must look back to an older call); interest whose schedule
is exactly half a cent, rounded half up; a commission of exactly x.xx5 (18,350 x 0.03%),
rounded half up; a professional financing at 4.5x and retail ones at exactly 3.0x; a retail
snapshot at exactly 3.0x; an account with debt and no positions; a position exactly 70% of its
account's assets at a ratio between 180% and 240%; securities re-pledged at exactly 140% of the
debt; screening hits resolved before (or on the day of) the first financing; verification,
disclosure, screening and PEP approval on the day of the first financing; a risk assessment
exactly 24 months old at the financing; a high-risk client reviewed exactly twelve months ago;
re-screened, re-assessed (some a grade lower), re-verified and re-signed after the financing;
a liquidation at 135% under the old terms' 140% line (lawful then, though today's line is 130%);
a Friday at the liquidation line, called that evening and back above it on Monday (a met call);
a call on the last session before the Dragon Boat holiday, sold on T+2 five calendar days
later; a negotiated contract rate charged at that rate; platform-own inflows
(compensation); custody balances exactly equal to client money (in two client-money
accounts); liquid assets exactly at the
buffer; an audit report exactly 400 days old (the latest one without ``plant_table_level``);
a qualified opinion out of CLR-005's scope; for the jurisdiction rules, a risk-warning loss
share calculated at the last quarter end (91 days before the as-of date, inside CON-009's 92), a
margin account opened exactly six months after the client's first trade (and 90 days after
onboarding here), a 184-day term and a pattern day trader with enough equity.

The audit of this export under the seed profile finds exactly the planted violations. Under cn,
us and eu the profile's own rules find exactly theirs; rules that read another jurisdiction's
limits into this 配资 book find more (its 3x-5x contracts under 2x caps, re-pledging where the
profile allows none, yearly high-risk reviews where cn wants six months, and under us the New
York calendar against Shanghai deadlines): pass ``--param trading_calendar=XSHG`` to judge a
Shanghai platform's deadlines under another profile.

Everything is vectorised over accounts and positions; the only Python loops run per trading
day, per planted violation or per scripted story.

Other books: ``audit sample-data --profile us`` writes a US broker-dealer's margin book instead
(audit/sample/us/, ``generate_us``), planted for the us profile's rules; its docstring lists the
plants and traps. A cn or eu book would follow it: its own package beside this one, reusing
``tables.finish`` and the expected_violations.json format.

Where things are: builder.py holds the state of one export and the order it is built in;
market.py the calendar, instruments and prices; cast.py who plays which story; opening.py and
stories.py the book on the eve of the window; financings.py, clients.py (with identity.py) the
contracts and clients; book.py the daily simulation; tables.py and platform.py the tables;
terms.py the published terms; rulefiles.py what is read from audit/packs/. Every planted rule has one
function in plants/<pack>.py, registered in ``plants.PLANTS`` under its id (with ``HOOKS`` for
a plant's second step and ``TRAPS`` for the traps), so that audit/packs/<pack>/<ID>.yaml, its plant
and its oracle in tests/test_sample.py can be found from the id.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from audit import contract
from audit.sample.builder import Builder
from audit.sample.rulefiles import profile_of
from audit.sample.tables import LEFT_OUT_TABLES, finish, write_table

__all__ = ["PROFILE_OF", "generate"]

# NOTE: the platform's risk system writes its margin events in UTC (2025-06-18T02:28:01Z) while
# every other table keeps Beijing wall-clock time: the audit must read both as the same instants.
UTC_TABLES = {"margin_events"}
LOCAL_ZONE = "Asia/Shanghai"


def in_utc(df: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """The table's date-times moved from Beijing time to UTC: ISO text with a Z (CSV) or a
    zone-aware column (Parquet)."""
    out = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            utc = col.dt.replace_time_zone(LOCAL_ZONE).dt.convert_time_zone("UTC")
            col = utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ") if fmt == "csv" else utc
        out.append(col.alias(name))
    return df.select(out)


# Rules no seed audit runs, by the profile that enables them (read from audit/packs/profiles/*.yaml).
PROFILE_OF: dict[str, str] = profile_of()


SAMPLE_MAPPING = """\
# How this export is laid out: date-times without an offset are Shanghai wall-clock time
# (the margin events carry their own UTC offset).
timezone: Asia/Shanghai
"""


def generate(out_dir: Path, accounts: int = 200, seed: int = 7, days: int = 22, fmt: str = "csv",
             *, plant: bool = True, plant_table_level: bool = True, audit_overdue: bool = False) -> dict:
    """Write a synthetic export of every contract table into ``out_dir``.

    ``<table>.csv`` (UTF-8) or ``<table>.parquet`` per table, ``mapping.yaml`` (the export's
    time zone) and ``expected_violations.json``
    naming each planted violation by rule, key and the profile that runs the rule. Same
    arguments, same bytes.

    - ``plant=False``: nothing is planted (the traps stay); every rule passes.
    - ``plant_table_level=False``: no table-level plants (CLR-004, CLR-005, CON-005, CON-009,
      LEV-015, OFX-004 and the stress rules LEV-004 / LEV-005, with the illiquid cluster behind them).
    - ``audit_overdue=True`` (with the table-level plants): plant CLR-003 (the latest audit
      report 437 days old) instead of CLR-005. No export can break both: CLR-005 reads only
      reports at most 400 days old, and CLR-003 fails only when there is none.

    Returns a summary: rows per table and the planted violations, by rule and by profile.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if days < 6:
        raise ValueError("days must be at least 6 (the scripted crash needs five trading days)")
    out_dir = Path(out_dir)
    builder = Builder(accounts, seed, days, plant, plant_table_level, audit_overdue)
    tables, violations = builder.build()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for t in contract.TABLES:
        if t.name in LEFT_OUT_TABLES:
            continue
        df = finish(t.name, tables[t.name], fmt)
        if t.name in UTC_TABLES:
            df = in_utc(df, fmt)
        rows[t.name] = df.height
        write_table(df, out_dir / f"{t.name}.{fmt}", fmt)
    # NOTE: the platform states its zone, as a real export should: a Shanghai platform audited
    # under another jurisdiction's profile keeps its own clock.
    (out_dir / "mapping.yaml").write_text(SAMPLE_MAPPING, encoding="utf-8")
    violations = [{**v, "profile": PROFILE_OF.get(v["rule"], "seed")} for v in violations]
    not_planted = builder.not_planted()
    violations = sorted(violations, key=lambda v: (v["rule"], sorted(v["key"].items())))
    payload = {
        "generator": "audit.sample",
        "seed": seed,
        "accounts": accounts,
        "days": days,
        "as_of": builder.as_of.isoformat(),
        "plant": plant,
        "plant_table_level": builder.plant_table,
        "audit_overdue": builder.audit_overdue,
        "not_planted": not_planted,
        "violations": violations,
    }
    (out_dir / "expected_violations.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    by_rule: dict[str, int] = {}
    by_profile: dict[str, int] = {}
    for v in violations:
        by_rule[v["rule"]] = by_rule.get(v["rule"], 0) + 1
        by_profile[v["profile"]] = by_profile.get(v["profile"], 0) + 1
    return {"out_dir": str(out_dir), "format": fmt, "seed": seed, "accounts": accounts, "days": days,
            "rows": rows, "violations": len(violations), "violations_by_rule": dict(sorted(by_rule.items())),
            "violations_by_profile": dict(sorted(by_profile.items()))}
