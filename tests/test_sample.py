"""The synthetic export: an independent oracle finds exactly the planted violations.

The oracle below re-implements every rule the generator plants directly in polars, without the
audit engine, so the generator and the engine can be checked against each other.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from stdnum import lei
from stdnum.cn import ric, uscc

from audit import contract
from audit.sample import generate

TOL = 1e-9
VALIDATORS = {"cn_resident_id": ric.is_valid, "uscc": uscc.is_valid, "lei": lei.is_valid}


# ---------------------------------------------------------------------------------- loading


def load(folder: Path, fmt: str = "csv") -> dict[str, pl.DataFrame]:
    """Read every table and type it from the contract (strings parsed by hand for CSV)."""
    out = {}
    for t in contract.TABLES:
        path = folder / f"{t.name}.{fmt}"
        if fmt == "parquet":
            out[t.name] = pl.read_parquet(path)
            continue
        raw = pl.read_csv(path, infer_schema=False)
        exprs = []
        for col in t.columns:
            c = pl.col(col.name)
            if col.type in (contract.MONEY, contract.FLOAT, contract.RATE):
                exprs.append(c.cast(pl.Float64))
            elif col.type == contract.INT:
                exprs.append(c.cast(pl.Int64))
            elif col.type == contract.DATE:
                exprs.append(c.str.to_date("%Y-%m-%d"))
            elif col.type == contract.DATETIME:
                exprs.append(c.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"))
            elif col.type == contract.BOOL:
                exprs.append(c == "true")
            else:
                exprs.append(c)
        out[t.name] = raw.select(exprs)
    return out


# ----------------------------------------------------------------------------------- oracle


def _keys(df: pl.DataFrame, rule: str, cols: list[str]) -> set:
    found = set()
    for row in df.select(cols).iter_rows(named=True):
        found.add((rule, tuple(sorted((k, v.isoformat() if isinstance(v, date) else str(v))
                                      for k, v in row.items()))))
    return found


def oracle(tb: dict[str, pl.DataFrame]) -> set:
    """Every violation of the planted rules, as (rule, sorted key items)."""
    p = tb["platform"].row(0, named=True)
    clients, fin, acc = tb["clients"], tb["financings"], tb["accounts"]
    ev, fees = tb["margin_events"], tb["fees"]
    found: set = set()
    bad = lambda cond: ~cond.fill_null(False)  # noqa: E731  null in an assertion = violation

    # KYC-001
    f = fin.join(clients.select("client_id", "verification_status", "verified_at"), on="client_id", how="left")
    f = f.filter(bad((pl.col("verification_status") == "verified")
                     & (pl.col("verified_at") <= pl.col("opened_at").dt.date())))
    found |= _keys(f, "KYC-001", ["financing_id"])
    first = fin.group_by("client_id").agg(pl.col("opened_at").min().alias("first"))
    # KYC-002
    c = clients.join(first, on="client_id", how="inner")
    found |= _keys(c.filter(bad(pl.col("risk_disclosure_signed_at") <= pl.col("first").dt.date())),
                   "KYC-002", ["client_id"])
    # KYC-003
    c = clients.filter(pl.col("screening_result") == "hit").join(first, on="client_id", how="left")
    found |= _keys(c.filter(bad(pl.col("screening_resolved_at").is_not_null() & (
        pl.col("first").is_null() | (pl.col("screening_resolved_at") <= pl.col("first").dt.date())))),
        "KYC-003", ["client_id"])
    # KYC-004
    c = clients.filter(pl.col("id_type").is_in(list(VALIDATORS)))
    ok = [n is not None and VALIDATORS[t](n) for t, n in c.select("id_type", "id_number").iter_rows()]
    found |= _keys(c.filter(~pl.Series(ok)), "KYC-004", ["client_id"])
    # SEG-001
    money = acc.group_by("date").agg(pl.col("cash").sum().alias("money"))
    s = money.join(tb["custody"].select("date", "statement_balance"), on="date", how="left")
    found |= _keys(s.filter(bad(pl.col("statement_balance") >= pl.col("money") - 0.005)), "SEG-001", ["date"])
    # SEG-002
    found |= _keys(tb["ledger"].filter((pl.col("counterparty_type") == "platform_own") & (pl.col("amount") < 0)),
                   "SEG-002", ["entry_id"])
    liq = ev.filter(pl.col("event_type") == "liquidation")
    calls = ev.filter(pl.col("event_type") == "margin_call").select(
        "account_id", pl.col("event_at").alias("call_at")).sort("call_at")
    # CON-001
    found |= _keys(liq.filter(bad(pl.col("collateral_ratio") <= p["liquidation_ratio"] + TOL)),
                   "CON-001", ["event_id"])
    # CON-002
    l2 = liq.with_columns((pl.col("event_at") - pl.duration(hours=p["notice_period_hours"])).alias("k")).sort("k")
    l2 = l2.join_asof(calls, left_on="k", right_on="call_at", by="account_id", strategy="backward", check_sortedness=False)
    found |= _keys(l2.filter(bad(pl.col("call_at").is_not_null()
                                 & (pl.col("event_at") - pl.col("call_at") <= pl.duration(hours=240)))),
                   "CON-002", ["event_id"])
    # CON-003
    a3 = acc.filter((pl.col("debt") > 0)
                    & ((pl.col("cash") + pl.col("market_value")) / pl.col("debt") <= p["margin_call_ratio"] + TOL))
    a3 = a3.with_columns(pl.col("date").cast(pl.Datetime("us")).alias("d0"))
    a3 = a3.with_columns((pl.col("d0") + pl.duration(hours=24 + p["call_response_hours"])).alias("k")).sort("k")
    a3 = a3.join_asof(calls, left_on="k", right_on="call_at", by="account_id", strategy="backward", check_sortedness=False)
    found |= _keys(a3.filter(bad(pl.col("call_at").is_not_null()
                                 & (pl.col("call_at") >= pl.col("d0") - pl.duration(hours=240)))),
                   "CON-003", ["account_id", "date"])
    # CON-004
    i4 = fees.filter(pl.col("fee_type") == "interest").with_columns(
        (pl.col("base_amount") * p["interest_rate_annual"] * pl.col("days") / p["day_count"]).alias("sched"))
    found |= _keys(i4.filter(bad((pl.col("charged") - pl.col("sched")).abs() <= 0.00500001)), "CON-004", ["fee_id"])
    # LEV-001 / LEV-002
    cap = pl.when(pl.col("category") == "professional").then(p["leverage_cap_professional"]).otherwise(
        p["leverage_cap_retail"])
    cat = clients.select("client_id", "category")
    f = fin.join(cat, on="client_id", how="left")
    found |= _keys(f.filter(bad(pl.col("leverage_at_open") <= cap + TOL)), "LEV-001", ["financing_id"])
    a = acc.filter((pl.col("debt") > 0) & (pl.col("market_value") > 0)).join(cat, on="client_id", how="left")
    found |= _keys(a.filter(bad((pl.col("equity") > 0) & (pl.col("market_value") / pl.col("equity") <= cap + TOL))),
                   "LEV-002", ["account_id", "date"])
    # CLR-001 / CLR-002
    found |= _keys(liq.filter(bad(pl.col("clearing_ref").is_not_null()
                                  & (pl.col("clearing_ref").str.strip_chars() != ""))), "CLR-001", ["event_id"])
    rec = ev.filter(pl.col("event_type") == "recourse")["related_event_id"].drop_nulls().to_list()
    found |= _keys(liq.filter((pl.col("equity_after") < 0) & ~pl.col("event_id").is_in(rec)), "CLR-002", ["event_id"])
    # CLR-003
    as_of = acc["date"].max()
    last = tb["audits"]["report_date"].max()
    if last is None or (as_of - last).days > 400:
        found.add(("CLR-003", ()))
    # CLR-004
    found |= _keys(tb["platform"].filter(bad(pl.col("clearing_chain").is_not_null()
                                             & (pl.col("clearing_chain").str.strip_chars() != "")
                                             & pl.col("ccp_exposure_disclosed"))), "CLR-004", ["platform_id"])
    # CAP-001
    found |= _keys(tb["capital"].filter(bad((pl.col("net_capital") >= p["capital_buffer_min"])
                                            & (pl.col("liquid_assets") >= p["liquidity_buffer_min"]))),
                   "CAP-001", ["date"])
    return found


def expected(folder: Path) -> set:
    data = json.loads((folder / "expected_violations.json").read_text(encoding="utf-8"))
    return {(v["rule"], tuple(sorted(v["key"].items()))) for v in data["violations"]}


PLANTED_RULES = {"KYC-001", "KYC-002", "KYC-003", "KYC-004", "SEG-001", "SEG-002", "CON-001", "CON-002",
                 "CON-003", "CON-004", "LEV-001", "LEV-002", "CLR-001", "CLR-002", "CLR-003", "CLR-004",
                 "CAP-001"}


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict, dict[str, pl.DataFrame]]:
    folder = tmp_path_factory.mktemp("sample")
    summary = generate(folder, accounts=300, seed=3)
    return folder, summary, load(folder)


# ------------------------------------------------------------------------------------ tests


def test_oracle_finds_exactly_the_planted_violations(export):
    folder, summary, tb = export
    planted = expected(folder)
    assert {rule for rule, _ in planted} == PLANTED_RULES
    found = oracle(tb)
    assert found - planted == set(), "violations nobody planted"
    assert planted - found == set(), "planted violations the data does not show"
    assert summary["violations"] == len(planted)


def test_per_row_rules_have_several_plants_and_table_level_ones_one(export):
    folder, _, _ = export
    data = json.loads((folder / "expected_violations.json").read_text(encoding="utf-8"))
    assert data["generator"] == "audit.sample" and data["seed"] == 3 and data["accounts"] == 300
    counts: dict[str, int] = {}
    for v in data["violations"]:
        counts[v["rule"]] = counts.get(v["rule"], 0) + 1
        assert all(isinstance(x, str) for x in v["key"].values())
        assert v["note"]
    assert counts.pop("CLR-003") == 1 and counts.pop("CLR-004") == 1
    assert all(n >= 2 for n in counts.values()), counts


def test_table_level_plants_are_optional(tmp_path):
    summary = generate(tmp_path, accounts=120, seed=11, days=8, plant_table_level=False)
    planted = expected(tmp_path)
    assert {r for r, _ in planted} == PLANTED_RULES - {"CLR-003", "CLR-004"}
    assert oracle(load(tmp_path)) == planted
    assert summary["violations"] == len(planted)
    # The trap that replaces the overdue audit: the last report is exactly 400 days old.
    assert (date(2025, 6, 30) - load(tmp_path)["audits"]["report_date"].max()).days == 400


def test_parquet_export_is_typed_like_the_contract_and_has_the_same_violations(tmp_path):
    generate(tmp_path, accounts=150, seed=5, days=10, fmt="parquet")
    tb = load(tmp_path, "parquet")
    for t in contract.TABLES:
        assert dict(tb[t.name].schema) == {c.name: c.dtype for c in t.columns}, t.name
    assert oracle(tb) == expected(tmp_path)


def test_same_seed_same_bytes(tmp_path):
    for fmt in ("csv", "parquet"):
        a, b = tmp_path / f"a-{fmt}", tmp_path / f"b-{fmt}"
        generate(a, accounts=100, seed=9, days=7, fmt=fmt)
        generate(b, accounts=100, seed=9, days=7, fmt=fmt)
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir())
        assert len(names) == len(contract.TABLES) + 1
        for name in names:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tmp_path / "c"
    generate(c, accounts=100, seed=10, days=7)
    assert (c / "accounts.csv").read_bytes() != (tmp_path / "a-csv" / "accounts.csv").read_bytes()


def test_files_carry_exactly_the_contract_columns(export):
    folder, _, _ = export
    for t in contract.TABLES:
        header = (folder / f"{t.name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == t.column_names


def test_calendar_is_trading_days_ending_on_the_fixed_date(export):
    _, _, tb = export
    dates = tb["accounts"]["date"].unique().sort().to_list()
    assert len(dates) == 20 and dates[-1] == date(2025, 6, 30)
    assert all(d.weekday() < 5 for d in dates) and date(2025, 6, 2) not in dates  # Dragon Boat


def test_account_days_and_money_invariants(export):
    _, _, tb = export
    acc, pos, ev = tb["accounts"], tb["positions"], tb["margin_events"]
    n_days = acc["date"].n_unique()
    dates = acc["date"].unique().sort().to_list()
    per = acc.group_by("account_id").agg(pl.len().alias("n"), pl.col("date").max().alias("last"))
    assert per.height == 300
    closed = per.filter(pl.col("last") < dates[-1])
    # account-days = accounts x days, less the days after an account was closed ...
    lost = sum(n_days - 1 - dates.index(d) for d in closed["last"].to_list())
    assert acc.height == 300 * n_days - lost
    assert (per["n"] == per["last"].map_elements(lambda d: dates.index(d) + 1, return_dtype=pl.Int64)).all()
    # ... and an account closes only after a liquidation left it below zero.
    neg = ev.filter((pl.col("event_type") == "liquidation") & (pl.col("equity_after") < 0))
    assert set(closed["account_id"]) <= set(neg["account_id"])
    # Positions sum to the account's market value, to the cent; market value = qty x price.
    assert ((pos["market_value"] - (pos["quantity"] * pos["price"])).abs() <= 0.005 + 1e-9).all()
    sums = pos.group_by("account_id", "date").agg(pl.col("market_value").sum().alias("pmv"))
    j = acc.join(sums, on=["account_id", "date"], how="left").with_columns(pl.col("pmv").fill_null(0.0))
    assert ((j["market_value"] - j["pmv"]).abs() < 0.005).all()
    n_pos = pos.group_by("account_id", "date").len()
    assert n_pos["len"].max() <= 8
    assert ((acc["equity"] - (acc["cash"] + acc["market_value"] - acc["debt"])).abs() < 0.005).all()
    lev = acc.filter(pl.col("equity") > 0)
    assert ((lev["leverage"] - (lev["market_value"] / lev["equity"]).round(4)).abs() < 1e-9).all()
    assert (acc["cash"] >= 0).all()


def test_ledger_explains_every_cash_movement(export):
    _, _, tb = export
    acc = tb["accounts"].sort("account_id", "date").with_columns(
        (pl.col("cash") - pl.col("cash").shift(1).over("account_id")).alias("delta"))
    moves = tb["ledger"].group_by("account_id", "date").agg(pl.col("amount").sum().alias("moved"))
    j = acc.join(moves, on=["account_id", "date"], how="left").with_columns(pl.col("moved").fill_null(0.0))
    j = j.filter(pl.col("delta").is_not_null())
    assert ((j["delta"] - j["moved"]).abs() < 0.005).all()


def test_clean_clients_have_valid_identity_data(export):
    folder, _, tb = export
    planted = {dict(k)["client_id"] for r, k in expected(folder) if r == "KYC-004"}
    clients = tb["clients"]
    assert clients.height == 300 and clients["client_id"][0] == "C000001"
    for cid, t, n in clients.select("client_id", "id_type", "id_number").iter_rows():
        if t in VALIDATORS and cid not in planted:
            assert VALIDATORS[t](n), (cid, t, n)
    assert clients.filter(pl.col("id_type") == "cn_resident_id").height > 250
    assert all(re.fullmatch(r"1[3-9]\d{9}", x) for x in clients["phone"])
    for card in clients["bank_account"]:  # Luhn
        digits = [int(x) for x in card[::-1]]
        assert sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits)) % 10 == 0
    assert 0.04 <= (clients["category"] == "professional").mean() <= 0.2
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}|.+(公司|Ltd)", x) for x in clients["name"])
    assert all(re.fullmatch(r"\d{6}", x) for x in tb["instruments"]["instrument_id"])


def test_the_traps_are_there(export):
    _, _, tb = export
    ev, fees, fin, clients = tb["margin_events"], tb["fees"], tb["financings"], tb["clients"]
    liq = ev.filter(pl.col("event_type") == "liquidation")
    assert (liq["collateral_ratio"] == 1.3).any()  # liquidation exactly at the line
    recourse = ev.filter(pl.col("event_type") == "recourse")
    assert recourse.height >= 1 and recourse["related_event_id"].is_in(liq["event_id"].implode()).all()
    # Interest whose schedule is exactly half a cent, charged rounded half up.
    cents = (pl.col("base_amount") * 100).round(0).cast(pl.Int64)
    i = fees.filter(pl.col("fee_type") == "interest")
    half = i.filter(cents * 865 * pl.col("days") % 3_600_000 == 1_800_000)  # 1/10,000 x 1/360 of a cent
    assert half.height >= 2
    pro = clients.filter(pl.col("category") == "professional")["client_id"]
    assert (fin.filter(pl.col("client_id").is_in(pro.implode()))["leverage_at_open"] == 4.5).any()
    assert (fin.filter(~pl.col("client_id").is_in(pro.implode()))["leverage_at_open"] == 3.0).any()
    hits = clients.filter(pl.col("screening_result") == "hit")
    assert hits["screening_resolved_at"].is_not_null().sum() >= 3  # resolved hits are fine
    assert tb["ledger"].filter((pl.col("counterparty_type") == "platform_own") & (pl.col("amount") > 0)).height >= 2
    cap = tb["capital"]
    assert (cap["net_capital"] == tb["platform"]["capital_buffer_min"][0]).any()
    # A margin call is sometimes issued less than the notice period before the liquidation it
    # does not count for (daily re-issued calls): the rule must look further back.
    assert (ev.filter(pl.col("event_type") == "margin_call")["event_at"].dt.hour() == 18).all()
    # A retail snapshot exactly at the cap.
    acc = tb["accounts"].join(clients.select("client_id", "category"), on="client_id")
    assert (acc.filter(pl.col("category") == "retail")["leverage"] == 3.0).any()


def test_the_story_is_coherent(export):
    _, _, tb = export
    ev = tb["margin_events"]
    liq = ev.filter(pl.col("event_type") == "liquidation")
    assert liq.height >= 8
    # Every clean liquidation ends the account's debt: the snapshot that day shows no debt.
    acc = tb["accounts"]
    j = liq.with_columns(pl.col("event_at").dt.date().alias("date")).join(acc, on=["account_id", "date"])
    assert j.height == liq.height and (j["debt"] == 0).all() and (j["market_value"] == 0).all()
    # Recourse only against professional clients (negative balance protection for retail).
    rec = ev.filter(pl.col("event_type") == "recourse").join(
        acc.select("account_id", "client_id").unique(), on="account_id").join(tb["clients"], on="client_id")
    assert (rec["category"] == "professional").all()
    # The market crash hits many accounts at once.
    calls = ev.filter(pl.col("event_type") == "margin_call").group_by(pl.col("event_at").dt.date()).len()
    assert calls["len"].max() >= 10


def test_other_seed_rules_stay_silent_on_the_export(export):
    """The export is also clean for the seed profile's other data rules (best effort)."""
    _, _, tb = export
    p = tb["platform"].row(0, named=True)
    acc, pos, clients, fin = tb["accounts"], tb["positions"], tb["clients"], tb["financings"]
    liq = tb["margin_events"].filter(pl.col("event_type") == "liquidation")
    # CON-008: an account at or below the liquidation line is liquidated within the response time.
    low = acc.filter((pl.col("debt") > 0) & (pl.col("market_value") > 0)
                     & ((pl.col("cash") + pl.col("market_value")) / pl.col("debt") <= p["liquidation_ratio"] + TOL))
    assert low.height == 0
    # LEV-003: concentration within the limit for the collateral ratio.
    j = pos.join(acc.select("account_id", "date", "cash", pl.col("market_value").alias("amv"), "debt"),
                 on=["account_id", "date"]).filter((pl.col("debt") > 0) & (pl.col("market_value") > 0))
    r = (pl.col("cash") + pl.col("amv")) / pl.col("debt")
    limit = pl.when(r >= 2.4).then(1.0).when(r >= 1.8).then(0.7).otherwise(0.5)
    assert j.filter(pl.col("market_value") / (pl.col("cash") + pl.col("amv")) > limit + TOL).height == 0
    # CAP-002 / CAP-003: single-client and whole-book financing within net capital.
    cap = tb["capital"]
    book = acc.group_by("date").agg(pl.col("debt").sum(), pl.col("debt").max().alias("top")).join(cap, on="date")
    assert (book["debt"] <= 4 * book["net_capital"]).all() and (book["top"] <= 0.05 * book["net_capital"]).all()
    # SEG-003: re-pledged value within 140% of the debt.
    assert acc.filter(pl.col("pledged_value") > 1.4 * pl.col("debt") + 0.005).height == 0
    # KYC-005..010 on clients with financing.
    first = fin.group_by("client_id").agg(pl.col("opened_at").min().dt.date().alias("first"))
    c = clients.join(first, on="client_id")
    as_of = date(2025, 6, 30)
    assert (c["risk_tolerance"].is_in(["C4", "C5"])).all()
    assert ((c["risk_assessed_at"] <= c["first"]) & (c["risk_assessed_at"] >= as_of - timedelta(days=730))).all()
    assert ((c["screened_at"] <= c["first"]) & (c["screening_result"] != "not_screened")).all()
    assert ((c["onboarded_at"] + timedelta(days=180)) <= c["first"]).all()
    peps = c.filter(pl.col("pep"))
    assert (peps["pep_approved_at"] <= peps["first"]).all()
    interval = {"high": 365, "medium": 1095, "low": 1825}
    for rating, last in clients.select("risk_rating", "last_review_at").iter_rows():
        assert (as_of - last).days <= interval[rating]
    # CON-006 / CON-007 and the off-exchange hallmarks.
    com = tb["fees"].filter(pl.col("fee_type") == "commission")
    assert ((com["charged"] - com["base_amount"] * p["commission_rate"]).abs() <= 0.00500001).all()
    assert (fin["rate_annual"] <= p["interest_rate_annual"]).all()
    assert (fin["account_holder_id"] == fin["client_id"]).all() and not fin["funder_controls_password"].any()
    assert ((fin["leverage_at_open"] >= 3) & (fin["leverage_at_open"] == fin["leverage_at_open"].round(0))).mean() < 0.5
    assert (fin["term_days"] <= 184).all()
    assert liq.height and (tb["custody"]["ack_letter_signed_at"] <= tb["custody"]["date"]).all()
