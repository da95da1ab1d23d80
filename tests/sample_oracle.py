"""An independent oracle for the synthetic export: the rules re-implemented in plain polars and
Python, without the audit engine (no rule files, no expression compiler, no audit.calendar).

It reads the export as files (the margin events in UTC, every other time in Beijing time), and
judges every record against the disclosure version in force at its own time, the due-diligence
history on or before each financing, and trading days from exchange-calendars directly. Used by
tests/test_sample.py; the stress rules (LEV-004, LEV-005) need the stress model and are checked
through the engine in tests/test_pipeline.py.
"""

from __future__ import annotations

import bisect
import warnings
import calendar as pycal
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import exchange_calendars as xc
import polars as pl
from stdnum import lei
from stdnum.cn import ric, uscc

from audit import contract

TOL = 1e-9
FEE_TOL = 0.00500001
LOCAL = "Asia/Shanghai"


def _gb11643(prefix: tuple[str, ...]):
    """GB 11643's MOD 11-2 check character (weights 2^(17-i) mod 11) and a real birth date at
    positions 7-14, for numbers starting with one of ``prefix``: no county lookup."""
    def ok(n: str) -> bool:
        n = n.strip().upper()
        if len(n) != 18 or not n[:17].isdigit() or not n.startswith(prefix):
            return False
        try:
            date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        except ValueError:
            return False
        check = (12 - sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(n[:17])) % 11) % 11
        return n[17] == ("X" if check == 10 else str(check))
    return ok


VALIDATORS = {"cn_resident_id": ric.is_valid, "uscc": uscc.is_valid, "lei": lei.is_valid,
              "cn_hmt_residence_permit": _gb11643(("810000", "820000", "830000")),
              "cn_foreigner_prc": _gb11643(("9",))}


class Profile(NamedTuple):
    """The numbers a profile audits with, written out again here rather than read from
    rules/profiles/*.yaml, so the oracle also checks those files."""

    calendar: str
    cap_retail: float  # leverage caps (LEV-001, LEV-002), bound with the disclosure's
    cap_professional: float
    rehypothecation: float  # times the debt (SEG-003), bound with the disclosure's
    review_months: dict  # ongoing due diligence by risk rating (KYC-007)
    call_by_default: bool = True  # a sale without a reason needs a prior call (CON-002)
    aggregate_pledges: bool = False  # the day's pledges within all customers' debits (SEG-003, us)
    margin_lines: bool = True  # the terms must state a lender's margin lines (CON-005)


PROFILES = {
    "seed": Profile("XSHG", 5, 10, 1.4, {"high": 12, "medium": 36, "low": 60}),
    "cn": Profile("XSHG", 2, 2, 0.0, {"high": 6, "medium": 36, "low": 60}),
    "us": Profile("XNYS", 2, 2, 1.4, {"high": 12, "medium": 36, "low": 60}, False, True),
    "eu": Profile("XLON", 30, 100, 0.0, {"high": 12, "medium": 36, "low": 60}, False, margin_lines=False),
}


@lru_cache(maxsize=None)
def sessions(name: str) -> list[int]:
    with warnings.catch_warnings():  # exchange-calendars' own pandas deprecations
        warnings.simplefilter("ignore")
        return [d.toordinal() for d in xc.get_calendar(name, start="2015-01-05").sessions.date]


SESSIONS = sessions("XSHG")


@contextmanager
def _calendar(name: str):
    """Count trading days on ``name``'s sessions for the duration (the helpers read SESSIONS)."""
    global SESSIONS
    saved, SESSIONS = SESSIONS, sessions(name)
    try:
        yield
    finally:
        SESSIONS = saved


# ----------------------------------------------------------------------------------- reading

def load(folder: Path, fmt: str = "csv") -> dict[str, pl.DataFrame]:
    """Every table of the export, typed from the contract; date-times in Beijing wall time."""
    out = {}
    absent: dict[str, list[str]] = {"table": [], "column": []}
    for t in contract.TABLES:
        path = folder / f"{t.name}.{fmt}"
        if not path.exists():
            continue
        if fmt == "parquet":
            frame = pl.read_parquet(path)
            frame = frame.with_columns([
                pl.col(c).dt.convert_time_zone(LOCAL).dt.replace_time_zone(None)
                for c, dt in frame.schema.items() if isinstance(dt, pl.Datetime) and dt.time_zone])
        else:
            raw = pl.read_csv(path, infer_schema=False)
            frame = raw.select([_typed(raw, col) for col in t.columns if col.name in raw.columns])
        missing = [pl.lit(None, dtype=c.dtype).alias(c.name) for c in t.columns if c.name not in frame.columns]
        for c in t.columns:
            if c.name not in frame.columns:
                absent["table"].append(t.name)
                absent["column"].append(c.name)
        out[t.name] = frame.with_columns(missing)
    # The columns the export lacks (filled with NULL above): a rule reading one is not evaluable.
    out[ABSENT] = pl.DataFrame(absent, schema={"table": pl.String, "column": pl.String})
    return out


ABSENT = "_absent_columns"


def has_column(tb: dict[str, pl.DataFrame], table: str, column: str) -> bool:
    a = tb[ABSENT]
    return table in tb and a.filter((pl.col("table") == table) & (pl.col("column") == column)).height == 0


def _typed(raw: pl.DataFrame, col: contract.Column) -> pl.Expr:
    c = pl.col(col.name)
    if col.type in (contract.MONEY, contract.FLOAT, contract.RATE):
        return c.cast(pl.Float64)
    if col.type == contract.INT:
        return c.cast(pl.Int64)
    if col.type == contract.DATE:
        return c.str.to_date("%Y-%m-%d")
    if col.type == contract.DATETIME:
        local = c.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)
        zulu = (c.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", strict=False)
                .dt.replace_time_zone("UTC").dt.convert_time_zone(LOCAL).dt.replace_time_zone(None))
        return pl.when(c.str.ends_with("Z")).then(zulu).otherwise(local).alias(col.name)
    if col.type == contract.BOOL:
        return pl.when(c.is_null()).then(None).otherwise(c == "true").alias(col.name)
    return c


# ------------------------------------------------------------------------ time arithmetic

def t_index(d: date) -> int:
    """Sessions on or before ``d``."""
    return bisect.bisect_right(SESSIONS, d.toordinal())


def t_day(d: date, n: int) -> date:
    return date.fromordinal(SESSIONS[t_index(d) + n - 1])


def t_between(a: date, b: date) -> int:
    return t_index(b) - t_index(a)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return d.replace(year=y, month=m, day=min(d.day, pycal.monthrange(y, m)[1]))


def end_of(d: date) -> datetime:
    return datetime(d.year, d.month, d.day) + timedelta(days=1) - timedelta(microseconds=1)


def midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


# ------------------------------------------------------------------------------ disclosure

def versions(platform: pl.DataFrame) -> list[dict]:
    rows = []
    for r in platform.iter_rows(named=True):
        start = r["effective_from"] or r["disclosed_at"]
        rows.append({**r, "_from": start})
    return sorted(rows, key=lambda r: r["_from"])


def in_force(vs: list[dict], d: date) -> dict | None:
    found = None
    for v in vs:
        if v["_from"] <= d:
            found = v
    return found


def crossed(ratio: float, line: float, inclusive: bool) -> bool:
    return ratio <= line + TOL if inclusive else ratio < line - TOL


# ---------------------------------------------------------------------------------- helpers

def key(rule: str, row: dict, cols: list[str]) -> tuple:
    return (rule, tuple(sorted((k, v.isoformat() if isinstance(v, date) else str(v)) for k, v in
                               ((c, row[c]) for c in cols))))


def _events_by_client(tb) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for r in tb["kyc_events"].iter_rows(named=True):
        by.setdefault(r["client_id"], []).append(r)
    for rows in by.values():
        rows.sort(key=lambda r: r["event_date"])  # stable: file order within a date
    return by


def latest(events: list[dict], kinds: tuple[str, ...], on: date, ok=lambda r: True) -> dict | None:
    found = None
    for r in events:
        if r["event_type"] in kinds and r["event_date"] <= on and ok(r):
            found = r
    return found


def _level(code: str | None) -> int | None:
    return None if code is None else int(code[1:])


# ----------------------------------------------------------------------------------- oracle

def oracle(tb: dict[str, pl.DataFrame], profile: str = "seed") -> set:
    """Every violation of the seed profile's rules but the stress ones, as (rule, key items),
    with ``profile``'s numbers and trading calendar."""
    with _calendar(PROFILES[profile].calendar):
        return _oracle(tb, PROFILES[profile])


def _oracle(tb: dict[str, pl.DataFrame], prof: Profile) -> set:
    vs = versions(tb["platform"])
    clients = {r["client_id"]: r for r in tb["clients"].iter_rows(named=True)}
    fin = list(tb["financings"].iter_rows(named=True))
    acc, ev = tb["accounts"], tb["margin_events"]
    as_of = acc["date"].max()
    ke = _events_by_client(tb)
    found: set = set()

    # KYC: each financing against the due diligence on or before its day.
    for f in fin:
        d, events = f["opened_at"].date(), ke.get(f["client_id"], [])
        v = latest(events, ("verification",), d)
        if v is None or v["outcome"] != "verified" or (v["valid_until"] and v["valid_until"] < d):
            found.add(key("KYC-001", f, ["financing_id"]))
        if latest(events, ("risk_disclosure",), d, lambda r: r["outcome"] in (None, "signed")) is None:
            found.add(key("KYC-002", f, ["financing_id"]))
        s = latest(events, ("screening",), d)
        if s is not None and s["outcome"] == "hit":
            r = latest(events, ("screening_resolution",), d)
            if not (r and r["event_date"] >= s["event_date"] and r["outcome"] == "cleared"):
                found.add(key("KYC-003", f, ["financing_id"]))
        a = latest(events, ("risk_assessment",), d)
        # Professional investors are not graded C1-C5: only ordinary investors are matched.
        if f["product_risk_level"] is not None and clients[f["client_id"]]["category"] != "professional":
            grade = a["risk_grade"] if a else None
            # A signed special warning after the assessment allows a riskier sale, except to C1.
            w = latest(events, ("suitability_warning",), d, lambda r: r["outcome"] in (None, "signed"))
            warned = (w is not None and grade is not None and _level(grade) > 1
                      and w["event_date"] >= a["event_date"])
            if grade is None or (_level(f["product_risk_level"]) > _level(grade) and not warned):
                found.add(key("KYC-005", f, ["financing_id"]))
        if a is None or (a["valid_until"] or add_months(a["event_date"], 24)) < d:
            found.add(key("KYC-006", f, ["financing_id"]))
        if latest(events, ("screening",), d, lambda r: r["outcome"] in ("clear", "hit")) is None:
            found.add(key("KYC-008", f, ["financing_id"]))
        sp = latest(events, ("screening",), d, lambda r: r["pep"] is not None)
        pep = sp["pep"] if sp else clients[f["client_id"]]["pep"]
        if pep:
            ap = latest(events, ("pep_approval",), d)
            if ap is None or ap["outcome"] != "approved":
                found.add(key("KYC-009", f, ["financing_id"]))
    for c in clients.values():
        events = ke.get(c["client_id"], [])
        reviews = [r["event_date"] for r in events if r["event_type"] == "periodic_review"
                   and r["outcome"] in (None, "completed") and r["event_date"] <= as_of]
        verified = [r["event_date"] for r in events if r["event_type"] == "verification"
                    and r["outcome"] == "verified" and r["event_date"] <= as_of]
        last = max(reviews) if reviews else (min(verified) if verified else c["onboarded_at"])
        if add_months(last, prof.review_months[c["risk_rating"]]) < as_of:
            found.add(key("KYC-007", c, ["client_id"]))
        if c["id_type"] in VALIDATORS and not (c["id_number"] and VALIDATORS[c["id_type"]](c["id_number"])):
            found.add(key("KYC-004", c, ["client_id"]))

    # SEG-001: each client's own credit balance, every client-money account of the day.
    per_client = acc.group_by("date", "client_id").agg(pl.col("cash").sum().clip(lower_bound=0).alias("c"))
    money = per_client.group_by("date").agg(pl.col("c").sum().alias("money"))
    held = tb["custody"].group_by("date").agg(pl.col("statement_balance").sum().alias("held"))
    for r in money.join(held, on="date", how="left").iter_rows(named=True):
        if r["held"] is None or r["held"] < r["money"] - 0.005:
            found.add(key("SEG-001", r, ["date"]))
    for r in tb["ledger"].iter_rows(named=True):
        if r["counterparty_type"] == "platform_own" and r["amount"] < 0:
            found.add(key("SEG-002", r, ["entry_id"]))

    accounts = list(acc.sort("account_id", "date").iter_rows(named=True))
    calls: dict[str, list[dict]] = {}
    sales: dict[str, list[dict]] = {}
    for e in ev.sort("event_at").iter_rows(named=True):
        if e["event_type"] == "margin_call":
            calls.setdefault(e["account_id"], []).append(e)
        elif e["event_type"] == "liquidation":
            sales.setdefault(e["account_id"], []).append(e)

    day_pledged: dict[date, float] = {}
    day_debt: dict[date, float] = {}
    for r in accounts:
        day_pledged[r["date"]] = day_pledged.get(r["date"], 0.0) + (r["pledged_value"] or 0)
        day_debt[r["date"]] = day_debt.get(r["date"], 0.0) + r["debt"]
    for r in accounts:
        v = in_force(vs, r["date"])
        over_day = prof.aggregate_pledges and day_pledged[r["date"]] > day_debt[r["date"]] + 0.005
        if (r["pledged_value"] or 0) > 0 and (over_day or not r["pledged_value"] <= min(v["rehypothecation_limit"], prof.rehypothecation) * r["debt"] + 0.005):
            found.add(key("SEG-003", r, ["account_id", "date"]))

    # CON-001, CON-002: liquidations against the terms of their own time.
    for account, rows in sales.items():
        for e in rows:
            if (e["reason"] or "call_unmet") not in ("call_unmet", "immediate_line"):
                continue
            v = in_force(vs, e["event_at"].date())
            ratio = e["trigger_ratio"] if e["trigger_ratio"] is not None else e["collateral_ratio"]
            if not crossed(ratio, v["liquidation_ratio"], bool(v["line_inclusive"])):
                found.add(key("CON-001", e, ["event_id"]))
            if (e["reason"] or "call_unmet") != "call_unmet":
                continue
            if v["notice_period_trading_days"] is None and v["notice_period_hours"] == 0:
                continue
            # Where a firm may sell without notice (us, eu), a sale without a reason and without
            # a timely call is undecided: neither found nor passed.
            undecided_without_call = e["reason"] is None and not prof.call_by_default
            best = None
            for c in calls.get(account, []):
                cv = in_force(vs, c["event_at"].date())
                if cv["notice_period_trading_days"] is not None:
                    ends = midnight(t_day(c["event_at"].date(), cv["notice_period_trading_days"] + 1))
                else:
                    ends = c["event_at"] + timedelta(hours=cv["notice_period_hours"])
                if ends <= e["event_at"] and (best is None or ends >= best[0]):
                    best = (ends, c)
            if best is None or t_between(best[1]["event_at"].date(), e["event_at"].date()) > 10:
                if not undecided_without_call:
                    found.add(key("CON-002", e, ["event_id"]))

    # CON-003, CON-008: spells below a line, per account in date order.
    by_account: dict[str, list[dict]] = {}
    for r in accounts:
        by_account.setdefault(r["account_id"], []).append(r)
    for account, rows in by_account.items():
        first = rows[0]["date"]
        call_since = sale_since = None
        for r in rows:
            v = in_force(vs, r["date"])
            incl = bool(v["line_inclusive"])
            liab = r["debt"] + (r["short_market_value"] or 0)
            ratio = (r["cash"] + r["market_value"]) / liab if liab > 0 else None
            in_call = ratio is not None and crossed(ratio, v["margin_call_ratio"], incl)
            below = ratio is not None and r["market_value"] > 0 and crossed(ratio, v["liquidation_ratio"], incl)
            call_since = (call_since or r["date"]) if in_call else None
            sale_since = (sale_since or r["date"]) if below else None
            if in_call:
                if v["call_response_trading_days"] is not None:
                    due = max(end_of(t_day(r["date"], v["call_response_trading_days"])), end_of(r["date"]))
                else:
                    due = end_of(r["date"]) + timedelta(hours=v["call_response_hours"])
                made = [c["event_at"] for c in calls.get(account, []) if c["event_at"] <= due]
                ok = bool(made) and made[-1] >= midnight(call_since)
                if not ok and call_since != first:
                    found.add(key("CON-003", r, ["account_id", "date"]))
            if below:
                s = sale_since
                if v["call_response_trading_days"] is not None:
                    call_due = max(end_of(t_day(s, v["call_response_trading_days"])), end_of(s))
                else:
                    call_due = end_of(s) + timedelta(hours=v["call_response_hours"])
                if v["notice_period_trading_days"] is not None:
                    allowed = t_day(call_due.date(), v["notice_period_trading_days"] + 1)
                else:
                    allowed = t_day((call_due + timedelta(hours=v["notice_period_hours"])).date(), 1)
                if t_between(allowed, r["date"]) >= 1:
                    sold = [e["event_at"] for e in sales.get(account, []) if e["event_at"] <= end_of(r["date"])]
                    if not (sold and sold[-1] >= midnight(s)) and s != first:
                        found.add(key("CON-008", r, ["account_id", "date"]))

    # CON-004, CON-006: charges against the contract or the schedule of their day.
    contract_rate = {f["financing_id"]: f["rate_annual"] for f in fin}
    for r in tb["fees"].iter_rows(named=True):
        v = in_force(vs, r["date"])
        if r["fee_type"] == "interest":
            if r["financing_id"] is not None and r["financing_id"] not in contract_rate:
                continue  # a contract whose rate the export does not give: undetermined
            rate = (v["interest_rate_annual"] if r["financing_id"] is None
                    else contract_rate[r["financing_id"]])
            scheduled = r["base_amount"] * rate * r["days"] / v["day_count"]
            if not r["charged"] <= scheduled + FEE_TOL * max(r["days"] or 1, 1):
                found.add(key("CON-004", r, ["fee_id"]))
        elif r["fee_type"] == "commission":
            scheduled = max(r["base_amount"] * v["commission_rate"], v["commission_min"] or 0)
            if not r["charged"] <= scheduled + FEE_TOL:
                found.add(key("CON-006", r, ["fee_id"]))
    current = in_force(vs, as_of)
    lines = ("initial_margin", "maintenance_margin", "margin_call_ratio", "liquidation_ratio")
    terms = ((lines if prof.margin_lines else ())
             + ("interest_rate_annual", "commission_rate", "day_count", "leverage_cap_retail", "custodian"))
    missing = [t for t in terms if current[t] is None]
    if prof.margin_lines and current["notice_period_hours"] is None and current["notice_period_trading_days"] is None:
        missing.append("notice")
    if prof.margin_lines and current["call_response_hours"] is None and current["call_response_trading_days"] is None:
        missing.append("response")
    ordered = (current["liquidation_ratio"] is not None and current["margin_call_ratio"] is not None
               and current["liquidation_ratio"] <= current["margin_call_ratio"])
    unlined = not prof.margin_lines and (current["liquidation_ratio"] is None or current["margin_call_ratio"] is None)
    if missing or not (ordered or unlined):
        found.add(key("CON-005", current, ["platform_id", "disclosed_at"]))
    if not (current["clearing_chain"] and current["clearing_chain"].strip() and current["ccp_exposure_disclosed"]):
        found.add(key("CLR-004", current, ["platform_id", "disclosed_at"]))

    # LEV-001, CON-007, OFX-003 at the opening; LEV-002 on each snapshot.
    cat = {c: r["category"] for c, r in clients.items()}
    for f in fin:
        v = in_force(vs, f["opened_at"].date())
        pro = cat[f["client_id"]] == "professional"
        cap = (min(v["leverage_cap_professional"], prof.cap_professional) if pro
               else min(v["leverage_cap_retail"], prof.cap_retail))
        if not f["leverage_at_open"] <= cap + TOL:
            found.add(key("LEV-001", f, ["financing_id"]))
        if not f["rate_annual"] <= v["interest_rate_annual"] + TOL:
            found.add(key("CON-007", f, ["financing_id"]))
        w, li = f["warning_line"], f["liquidation_line"]
        if not ((w is None or abs(w - v["margin_call_ratio"]) <= TOL)
                and (li is None or abs(li - v["liquidation_ratio"]) <= TOL)):
            found.add(key("OFX-003", f, ["financing_id"]))
    for r in accounts:
        if r["debt"] > 0 and r["market_value"] > 0:
            v = in_force(vs, r["date"])
            pro = cat[r["client_id"]] == "professional"
            cap = (min(v["leverage_cap_professional"], prof.cap_professional) if pro
                   else min(v["leverage_cap_retail"], prof.cap_retail))
            if not (r["equity"] > 0 and r["market_value"] / r["equity"] <= cap + TOL):
                found.add(key("LEV-002", r, ["account_id", "date"]))

    # LEV-003: concentration by the account's collateral ratio.
    j = tb["positions"].join(acc.select("account_id", "date", "cash", pl.col("market_value").alias("amv"),
                                        "debt", "short_market_value"), on=["account_id", "date"], how="left")
    # Broad funds and bonds are exempt from the single-stock tiers.
    j = j.join(tb["instruments"].select("instrument_id", "asset_class"), on="instrument_id", how="left")
    j = j.filter((pl.col("debt") > 0) & (pl.col("market_value") > 0)
                 & ~pl.col("asset_class").is_in(["etf", "bond"]))
    ratio = (pl.col("cash") + pl.col("amv")) / (pl.col("debt") + pl.col("short_market_value").fill_null(0))
    lim = pl.when(ratio >= 2.4).then(1.0).when(ratio >= 1.8).then(0.7).otherwise(0.5)
    for r in j.filter(~(pl.col("market_value") / (pl.col("cash") + pl.col("amv")) <= lim + TOL)).iter_rows(named=True):
        found.add(key("LEV-003", r, ["account_id", "instrument_id", "date"]))

    # CLR-001 .. CLR-005.
    recourse = set(ev.filter(pl.col("event_type") == "recourse")["related_event_id"].drop_nulls())
    for rows in sales.values():
        for e in rows:
            if not (e["clearing_ref"] and e["clearing_ref"].strip()):
                found.add(key("CLR-001", e, ["event_id"]))
            if e["equity_after"] is not None and e["equity_after"] < 0 and e["event_id"] not in recourse:
                found.add(key("CLR-002", e, ["event_id"]))
    audits = tb["audits"].with_columns((pl.lit(as_of) - pl.col("report_date")).dt.total_days().alias("age"))
    if audits.height == 0 or audits["age"].min() > 400:
        found.add(("CLR-003", ()))
    for r in audits.filter((pl.col("age") <= 400) & (pl.col("opinion") != "unqualified")).iter_rows(named=True):
        found.add(key("CLR-005", r, ["audit_id"]))

    # CAP-001 .. CAP-003.
    capital = tb["capital"]
    for r in capital.iter_rows(named=True):
        v = in_force(vs, r["date"])
        if not (r["net_capital"] >= v["capital_buffer_min"] and r["liquid_assets"] >= v["liquidity_buffer_min"]):
            found.add(key("CAP-001", r, ["date"]))
    # Each day against the latest capital figure on or before it; 融资 and 融券 each limited.
    figures = sorted((r["date"], r["net_capital"]) for r in capital.iter_rows(named=True))

    def capital_on(d: date):
        known = [nc for day, nc in figures if day <= d]
        return known[-1] if known else None

    short = pl.col("short_market_value").fill_null(0)
    for r in acc.group_by("date", "client_id").agg(pl.col("debt").sum(), short.sum().alias("short")).iter_rows(named=True):
        nc = capital_on(r["date"])
        if nc is not None and (r["debt"] > 0.05 * nc or r["short"] > 0.05 * nc):
            found.add(key("CAP-002", r, ["client_id", "date"]))
    for r in acc.group_by("date").agg((pl.col("debt").sum() + short.sum()).alias("book")).iter_rows(named=True):
        nc = capital_on(r["date"])
        if nc is not None and r["book"] > 4 * nc:
            found.add(key("CAP-003", r, ["date"]))

    # OFX-001, OFX-002, OFX-004.
    for f in fin:
        if not (f["account_holder_id"] is None or f["account_holder_id"] == f["client_id"]):
            found.add(key("OFX-001", f, ["financing_id"]))
        if f["funder_controls_password"]:
            found.add(key("OFX-002", f, ["financing_id"]))
    lev = tb["financings"]["leverage_at_open"]
    if ((lev >= 3) & ((lev - lev.round(0)).abs() < 1e-9)).sum() > 0.5 * len(lev):
        found.add(("OFX-004", ()))

    # LEV-015: an own stress test within 365 days, each with its result recorded.
    st = tb["stress_tests"].with_columns((pl.lit(as_of) - pl.col("run_date")).dt.total_days().alias("age"))
    recent = st.filter(pl.col("age") <= 365)
    if recent.height == 0 or recent.filter(pl.col("shortfall").is_null() | pl.col("net_capital").is_null()).height:
        found.add(("LEV-015", ()))
    return found


def oracle_jurisdiction(tb: dict[str, pl.DataFrame]) -> set:
    """Every violation of the rules that only the cn, us or eu profile runs."""
    clients = {r["client_id"]: r for r in tb["clients"].iter_rows(named=True)}
    fin = list(tb["financings"].iter_rows(named=True))
    acc = tb["accounts"]
    vs = versions(tb["platform"])
    as_of = acc["date"].max()
    found: set = set()
    first: dict[str, date] = {}
    for f in fin:
        d = f["opened_at"].date()
        first[f["client_id"]] = min(first.get(f["client_id"], d), d)
    # KYC-010 (cn): six calendar months of trading at any broker when the margin account opened.
    for cid, d in first.items():
        c = clients[cid]
        if c["category"] == "professional" and c["entity_type"] == "institution":
            continue
        opened = c["credit_account_opened_at"] or d
        if c["first_trade_date"] is None or add_months(c["first_trade_date"], 6) > opened:
            found.add(key("KYC-010", c, ["client_id"]))
    esma = {"fx_major": 30, "fx": 20, "gold": 20, "index_major": 20, "commodity": 10, "index": 10, "crypto": 2}
    for f in fin:
        opened, eq, amt = f["opened_at"].date(), f["equity_at_open"], f["amount"]
        c = clients[f["client_id"]]
        if c["category"] == "retail" and f["underlying_asset_class"] and opened >= date(2018, 8, 1):
            if not f["leverage_at_open"] <= esma.get(f["underlying_asset_class"], 5) + TOL:
                found.add(key("LEV-006", f, ["financing_id"]))
        if not eq >= 0.5 * (eq + amt) - TOL:
            found.add(key("LEV-007", f, ["financing_id"]))
        if amt > 0 and not eq >= 2000:
            found.add(key("LEV-008", f, ["financing_id"]))
        # The regime of the day the contract was made: 100% through the 8 Sep 2023 session,
        # 80% from the next session (11 Sep) through 16 Jan 2026, 100% from 19 Jan 2026.
        for rule, lo, hi, ratio in (("LEV-010", date(2015, 11, 23), date(2023, 9, 8), 1.0),
                                    ("LEV-011", date(2023, 9, 11), date(2026, 1, 16), 0.8),
                                    ("LEV-012", date(2026, 1, 19), date(9999, 1, 1), 1.0)):
            if amt > 0 and lo <= opened <= hi and not eq >= ratio * amt - TOL:
                found.add(key(rule, f, ["financing_id"]))
        if f["term_days"] is not None and f["term_days"] > 184:
            found.add(key("LEV-013", f, ["financing_id"]))
    for r in acc.iter_rows(named=True):
        cat = clients[r["client_id"]]["category"]
        # LEV-009: every margin account, until the intraday margin standard (4 Jun 2026); the
        # sample has no trades, so the six-percent condition is taken to hold.
        if (r["day_trades_5d"] or 0) >= 4 and r["date"] < date(2026, 6, 4) and not r["equity"] >= 25_000:
            found.add(key("LEV-009", r, ["account_id", "date"]))
    for r in tb["custody"].iter_rows(named=True):
        if not (r["ack_letter_signed_at"] is not None and r["ack_letter_signed_at"] <= r["date"]):
            found.add(key("SEG-004", r, ["date", "custody_account"]))
        if r["book_balance"] is not None and abs(r["statement_balance"] - r["book_balance"]) > 0.005:
            found.add(key("SEG-006", r, ["date", "custody_account"]))
    found |= _eu_close_out(tb, clients)
    found |= _eu_labels(tb)
    with _calendar("XLON"):
        found |= _eu_negative_balances(tb, clients, as_of)
    found |= _eu_loss_share(tb, clients, in_force(vs, as_of), as_of)
    owner = {r["account_id"]: r["client_id"] for r in acc.iter_rows(named=True)}
    for e in tb["margin_events"].iter_rows(named=True):
        if e["event_type"] == "recourse" and e["event_at"].date() >= date(2018, 8, 1):
            if clients[owner[e["account_id"]]]["category"] != "professional":
                found.add(key("CLR-006", e, ["event_id"]))
    # SEG-007: per account and day, client money paid out as fees against the fees charged, and
    # as financing repayments against the fall in debt between the snapshot before the day
    # and the day's (undecided without both snapshots or with a draw between them).
    fee_out: dict[tuple, float] = {}
    repaid: dict[tuple, float] = {}
    for r in tb["ledger"].iter_rows(named=True):
        k = (r["account_id"], r["date"])
        if r["counterparty_type"] == "fee":
            fee_out[k] = fee_out.get(k, 0.0) - r["amount"]
        elif r["counterparty_type"] == "financing_repayment":
            repaid[k] = repaid.get(k, 0.0) - r["amount"]
    charged: dict[tuple, float] = {}
    for r in tb["fees"].iter_rows(named=True):
        k = (r["account_id"], r["date"])
        charged[k] = charged.get(k, 0.0) + r["charged"]
    debt = {(r["account_id"], r["date"]): r["debt"] for r in acc.iter_rows(named=True)}
    snaps: dict[str, list[date]] = {}
    for a, d in sorted(debt):
        snaps.setdefault(a, []).append(d)
    draws: dict[str, list[datetime]] = {}
    for f in fin:
        draws.setdefault(f["account_id"], []).append(f["opened_at"])
    for k in set(fee_out) | set(repaid):
        a, d = k
        out, rep = fee_out.get(k, 0.0), repaid.get(k, 0.0)
        if not (out > 0.005 or rep > 0.005):
            continue
        fee_bad = out > charged.get(k, 0.0) + 0.005
        rep_bad = False
        if rep > 0.005:
            before = [s for s in snaps.get(a, []) if s < d]
            after = debt.get(k)
            drawn = before and any(end_of(before[-1]) < t <= end_of(d) for t in draws.get(a, []))
            if after is None or not before or drawn:
                if not fee_bad:
                    continue  # undecided
            else:
                rep_bad = rep > debt[(a, before[-1])] - after + 0.005
        if fee_bad or rep_bad:
            found.add(key("SEG-007", {"account_id": a, "date": d}, ["account_id", "date"]))
    # SEG-008: transfers to another client's account carry the paying client's instruction
    # (not evaluable without the column).
    if has_column(tb, "ledger", "instruction_ref"):
        for r in tb["ledger"].iter_rows(named=True):
            if r["counterparty_type"] == "client_account" and r["amount"] < 0 \
                    and not (r["instruction_ref"] and r["instruction_ref"].strip()):
                found.add(key("SEG-008", r, ["entry_id"]))
    with _calendar("XSHG"):
        found |= _cn_extra(tb)
    current = in_force(vs, as_of)
    pct, calc = current["risk_warning_pct"], current["risk_warning_calculated_at"]
    if not (pct is not None and 0 <= pct <= 1 and calc is not None and (as_of - calc).days <= 92):
        found.add(key("CON-009", current, ["platform_id", "disclosed_at"]))
    return found


# ----------------------------------------------------------- cn: eligibility, 300%, warnings

def _cn_extra(tb) -> set:
    """LEV-022, LEV-023, CAP-004 .. CAP-007 (cn), each record judged only where the data
    decides it."""
    found: set = set()
    acc = tb["accounts"]
    shorts = has_column(tb, "accounts", "short_market_value")
    accrued = has_column(tb, "accounts", "accrued_interest")
    snap, debt_of = {}, {}
    for r in acc.iter_rows(named=True):
        debt_of[(r["account_id"], r["date"])] = r["debt"]
        liab = r["debt"] + ((r["short_market_value"] or 0) if shorts else 0) \
            + ((r["accrued_interest"] or 0) if accrued else 0)
        snap[(r["account_id"], r["date"])] = (r["cash"] + r["market_value"], liab)
    days_of: dict[str, list[date]] = {}
    for a, d in sorted(snap):
        days_of.setdefault(a, []).append(d)
    # LEV-023: a cash withdrawal by an account with debt, below 300% after it both from the
    # previous trading day's close less the withdrawal and at the day's close.
    for r in tb["ledger"].iter_rows(named=True):
        if not (r["amount"] < 0 and r["counterparty_type"] == "client_bank"):
            continue
        a, d = r["account_id"], r["date"]
        before = [x for x in days_of.get(a, []) if x < d]
        close = snap.get((a, d))
        prev = snap[(a, before[-1])] if before else None
        if (prev is not None and prev[1] <= 0) or (close is not None and close[1] <= 0):
            continue  # debt-free at a close: not a withdrawal against debt
        if close is None or prev is None or t_between(before[-1], d) > 1:
            continue  # undecided
        after_prev = (prev[0] + r["amount"]) / prev[1]
        after_close = close[0] / close[1]
        if after_prev < 3 - TOL and after_close < 3 - TOL:
            found.add(key("LEV-023", r, ["entry_id"]))
    # CAP-004, CAP-005: at or under the limit and at 80% of it or more (half a cent's grace),
    # against the latest net capital on or before the day.
    cap = sorted((r["date"], r["net_capital"]) for r in tb["capital"].iter_rows(named=True))
    cap_days = [c[0] for c in cap]

    def net_capital(d: date) -> float | None:
        i = bisect.bisect_right(cap_days, d)
        return cap[i - 1][1] if i else None

    client: dict[tuple, list[float]] = {}
    book: dict[date, float] = {}
    for r in acc.iter_rows(named=True):
        short = (r["short_market_value"] or 0) if shorts else 0
        c = client.setdefault((r["client_id"], r["date"]), [0.0, 0.0])
        c[0] += r["debt"]
        c[1] += short
        book[r["date"]] = book.get(r["date"], 0.0) + r["debt"] + short
    for (cid, d), (debt, short) in client.items():
        nc = net_capital(d)
        if nc is None or debt > 0.05 * nc or short > 0.05 * nc:
            continue
        warn = 0.8 * 0.05 * nc - 0.005
        if debt >= warn or short >= warn:
            found.add(key("CAP-004", {"client_id": cid, "date": d}, ["client_id", "date"]))
    for d, total in book.items():
        nc = net_capital(d)
        if nc is not None and total <= 4 * nc and total >= 0.8 * 4 * nc - 0.005:
            found.add(key("CAP-005", {"date": d}, ["date"]))
    # CAP-006: the stock's shares held by accounts with debt against 20% of its total shares.
    if has_column(tb, "instruments", "total_shares"):
        inst = {r["instrument_id"]: r for r in tb["instruments"].iter_rows(named=True)}
        held: dict[tuple, float] = {}
        for r in tb["positions"].iter_rows(named=True):
            debt = debt_of.get((r["account_id"], r["date"]))
            if debt is not None and debt > 0 and inst[r["instrument_id"]]["asset_class"] == "equity":
                k = (r["date"], r["instrument_id"])
                held[k] = held.get(k, 0.0) + r["quantity"]
        for (d, iid), q in held.items():
            total = inst[iid]["total_shares"]
            if total is not None and q > 0.2 * total:
                found.add(key("CAP-006", {"date": d, "instrument_id": iid}, ["date", "instrument_id"]))
            # CAP-007: at or above the early-warning 16% (80% of 20%) without passing 20%.
            elif total is not None and q * 100 >= 16 * total:
                found.add(key("CAP-007", {"date": d, "instrument_id": iid}, ["date", "instrument_id"]))
    # LEV-022: a credit buy of a security whose term in force that day says not margin-eligible.
    if "trades" in tb and has_column(tb, "trades", "on_margin"):
        terms: dict[str, list[dict]] = {}
        for r in tb["instrument_terms"].sort("effective_from").iter_rows(named=True):
            terms.setdefault(r["instrument_id"], []).append(r)
        for r in tb["trades"].iter_rows(named=True):
            if r["side"] != "buy" or r["on_margin"] is False:
                continue
            d = r["traded_at"].date()
            t = None
            for row in terms.get(r["instrument_id"], []):
                if row["effective_from"] <= d:
                    t = row
            if t is None or (t["effective_to"] is not None and t["effective_to"] < d):
                continue
            if t["margin_eligible"] is False and r["on_margin"] is True:
                found.add(key("LEV-022", r, ["trade_id"]))
    return found


# ------------------------------------------------------------------------------ eu (CFDs)

MAJOR_CCY = {"USD", "EUR", "JPY", "GBP", "CAD", "CHF"}
KNOWN_CCY = MAJOR_CCY | {"AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "HUF", "CZK", "TRY", "ZAR", "MXN",
                         "HKD", "SGD", "CNH", "CNY", "KRW", "INR", "RUB", "ILS", "THB", "BRL", "RON",
                         "XAU", "XAG", "XPT", "XPD"}
MAJOR_INDEX = {"FTSE100", "UK100", "UKX", "CAC40", "FRA40", "FR40", "DAX", "DAX30", "DAX40", "GER30",
               "GER40", "DE30", "DE40", "DJIA", "US30", "DOWJONES", "DOWJONESINDUSTRIALAVERAGE", "SP500",
               "SANDP500", "SPX", "US500", "NASDAQ", "NASDAQCOMPOSITE", "NASDAQ100", "NAS100", "NDX", "US100",
               "NIKKEI225", "NIKKEI", "N225", "JP225", "ASX200", "SPASX200", "AUS200", "EUROSTOXX50",
               "SX5E", "EU50"}
OTHER_INDEX = {"HSI", "HK50", "HANGSENG", "IBEX35", "FTSEMIB", "SMI", "AEX", "RUSSELL2000", "US2000",
               "CSI300", "KOSPI", "FTSE250", "MDAX", "STOXX600"}


def _squeeze(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def _pair(inst: dict) -> tuple[str, str] | None:
    for text in (_squeeze(inst["instrument_id"]), _squeeze(inst["name"])):
        if len(text) == 6:
            return text[:3], text[3:]
    return None


def _is_major_pair(inst: dict) -> bool:
    p = _pair(inst)
    return p is not None and p[0] in MAJOR_CCY and p[1] in MAJOR_CCY and p[0] != p[1]


def _on_index_list(inst: dict) -> bool:
    return bool({_squeeze(inst["instrument_id"]), _squeeze(inst["name"])} & MAJOR_INDEX)


def _initial_margin(inst: dict | None) -> float | None:
    """Decision (EU) 2018/796 Annex I by the instrument's class; a major pair or index filed
    under the generic class takes the major margin."""
    cls = inst and inst["asset_class"]
    if cls == "fx":
        return 0.0333 if _is_major_pair(inst) else 0.05
    if cls == "index":
        return 0.05 if _on_index_list(inst) else 0.10
    return {"fx_major": 0.0333, "gold": 0.05, "index_major": 0.05, "commodity": 0.10, "crypto": 0.50,
            "equity": 0.20, "etf": 0.20, "bond": 0.20, "other": 0.20}.get(cls)


def _eu_close_out(tb, clients) -> set:
    """LEV-014: a retail account below half the initial margin of its positions at the close."""
    inst = {r["instrument_id"]: r for r in tb["instruments"].iter_rows(named=True)}
    acc = {(r["account_id"], r["date"]): r for r in tb["accounts"].iter_rows(named=True)}
    book: dict[tuple, list[dict]] = {}
    for r in tb["positions"].iter_rows(named=True):
        book.setdefault((r["account_id"], r["date"]), []).append(r)
    found = set()
    for (account, day), rows in book.items():
        a = acc.get((account, day))
        if a is None or day < date(2018, 8, 1) or clients[a["client_id"]]["category"] != "retail":
            continue
        margins = [_initial_margin(inst.get(r["instrument_id"])) for r in rows]
        if None in margins or abs(sum(r["market_value"] for r in rows) - a["market_value"]) > 0.005:
            continue  # undecided
        protection = sum(r["market_value"] * m for r, m in zip(rows, margins))
        if a["equity"] < 0.5 * protection - 0.005:
            found.add(key("LEV-014", a, ["account_id", "date"]))
    return found


def _eu_labels(tb) -> set:
    """LEV-020: an fx_major or index_major label that the id or name contradicts."""
    found = set()
    for r in tb["instruments"].iter_rows(named=True):
        if r["asset_class"] == "fx_major":
            p = _pair(r)
            if p and p[0] in KNOWN_CCY and p[1] in KNOWN_CCY and not _is_major_pair(r):
                found.add(key("LEV-020", r, ["instrument_id"]))
        elif r["asset_class"] == "index_major":
            names = {_squeeze(r["instrument_id"]), _squeeze(r["name"])}
            if names & OTHER_INDEX and not names & MAJOR_INDEX:
                found.add(key("LEV-020", r, ["instrument_id"]))
    return found


def _eu_negative_balances(tb, clients, as_of: date, days: int = 2) -> set:
    """CLR-007: a retail account still negative more than ``days`` trading days after it went
    negative, or left negative on its last snapshot with no write-off from the platform's own
    money by then."""
    credits: dict[str, list[date]] = {}
    for r in tb["ledger"].iter_rows(named=True):
        if r["counterparty_type"] == "platform_own" and r["amount"] > 0:
            credits.setdefault(r["account_id"], []).append(r["date"])
    found = set()
    by_account: dict[str, list[dict]] = {}
    for r in tb["accounts"].sort("account_id", "date").iter_rows(named=True):
        by_account.setdefault(r["account_id"], []).append(r)
    for account, rows in by_account.items():
        since = None
        for i, r in enumerate(rows):
            negative = r["equity"] < -0.005
            since = (since or r["date"]) if negative else None
            if not negative or r["date"] < date(2018, 8, 1) or clients[r["client_id"]]["category"] != "retail":
                continue
            deadline = t_day(since, days)
            last = i == len(rows) - 1
            written_off = any(r["date"] <= d <= deadline for d in credits.get(account, []))
            if r["date"] > deadline or (last and deadline < as_of and not written_off):
                found.add(key("CLR-007", r, ["account_id", "date"]))
    return found


def _eu_loss_share(tb, clients, current: dict, as_of: date, tolerance: float = 0.01) -> set:
    """CON-012: the published share of losing retail accounts against the accounts, over the
    twelve months before its calculation; the standard warning only without a year of retail
    business. Nothing when the export does not span those twelve months."""
    acc = tb["accounts"]
    kind = current["risk_warning_kind"] or "provider_specific"
    end = current["risk_warning_calculated_at"] or as_of
    start = add_months(end, -12)
    if acc["date"].min() > start or acc["date"].max() < end:
        return set()
    flows: dict[str, float] = {}
    for r in tb["ledger"].iter_rows(named=True):
        if r["counterparty_type"] == "client_bank" and start < r["date"] <= end:
            flows[r["account_id"]] = flows.get(r["account_id"], 0.0) + r["amount"]
    counted = lost = old = 0
    by_account: dict[str, list[dict]] = {}
    for r in acc.sort("account_id", "date").iter_rows(named=True):
        by_account.setdefault(r["account_id"], []).append(r)
    for account, rows in by_account.items():
        if clients[rows[0]["client_id"]]["category"] != "retail":
            continue
        old += sum(1 for r in rows if r["date"] <= start and r["market_value"] > 0)
        before = [r for r in rows if r["date"] <= start]
        during = [r for r in rows if start < r["date"] <= end]
        if not (any(r["market_value"] > 0 for r in during) or (before and before[-1]["market_value"] > 0)):
            continue
        counted += 1
        result = (during or before)[-1]["equity"] - (before[-1]["equity"] if before else 0.0) - flows.get(account, 0.0)
        lost += result < 0
    if kind == "standard":
        bad = old > 0 and counted > 0
    elif current["risk_warning_pct"] is None or counted == 0:
        return set()
    else:
        bad = abs(lost / counted - current["risk_warning_pct"]) > tolerance
    return {key("CON-012", current, ["platform_id", "disclosed_at"])} if bad else set()


def oracle_us_maintenance(tb: dict[str, pl.DataFrame]) -> set:
    """LEV-016, LEV-017 and CON-010 (us): FINRA 4210(c) on equity against the long and short
    market value, with the house requirement in force; XNYS business days. Nothing is planted
    for them: on the sample (a CN book) they find what the book's numbers give."""
    vs = versions(tb["platform"])
    as_of = tb["accounts"]["date"].max()
    found: set = set()
    # LEV-017: every version in force up to the as-of date, house maintenance at least 25%.
    for v in vs:
        if (v["_from"] is None or v["_from"] <= as_of) and v["maintenance_margin"] is not None \
                and v["maintenance_margin"] < 0.25 - TOL:
            found.add(key("LEV-017", v, ["platform_id", "disclosed_at"]))
    with _calendar("XNYS"):
        return found | _us_maintenance(tb, vs)


def _us_maintenance(tb: dict[str, pl.DataFrame], vs: list[dict]) -> set:
    found: set = set()
    calls: dict[str, list[datetime]] = {}
    sales: dict[str, list[datetime]] = {}
    for e in tb["margin_events"].sort("event_at").iter_rows(named=True):
        if e["event_type"] == "margin_call":
            calls.setdefault(e["account_id"], []).append(e["event_at"])
        elif e["event_type"] == "liquidation":
            sales.setdefault(e["account_id"], []).append(e["event_at"])
    by_account: dict[str, list[dict]] = {}
    for r in tb["accounts"].sort("account_id", "date").iter_rows(named=True):
        by_account.setdefault(r["account_id"], []).append(r)
    for account, rows in by_account.items():
        first, since, call_since = rows[0]["date"], None, None
        for r in rows:
            v = in_force(vs, r["date"])
            short = r["short_market_value"] or 0
            requirement = max(0.25, v["maintenance_margin"] or 0) * r["market_value"] + 0.3 * short
            equity = r["cash"] + r["market_value"] - r["debt"] - short
            exposed = r["market_value"] + short > 0
            deficient = exposed and equity < requirement - 0.005
            incl = bool(v["line_inclusive"])
            in_call = exposed and (equity <= requirement + 0.005 if incl else equity < requirement - 0.005)
            since = (since or r["date"]) if deficient else None
            call_since = (call_since or r["date"]) if in_call else None
            if deficient and t_between(since, r["date"]) > 15:
                sold = [t for t in sales.get(account, []) if midnight(since) <= t <= end_of(r["date"])]
                if not sold:
                    found.add(key("LEV-016", r, ["account_id", "date"]))
            if in_call:
                if v["call_response_trading_days"] is not None:
                    due = max(end_of(t_day(r["date"], v["call_response_trading_days"])), end_of(r["date"]))
                else:
                    due = end_of(r["date"]) + timedelta(hours=v["call_response_hours"])
                made = [t for t in calls.get(account, []) if t <= due]
                if not (made and made[-1] >= midnight(call_since)) and call_since != first:
                    found.add(key("CON-010", r, ["account_id", "date"]))
    return found
