"""The synthetic export: an independent oracle finds exactly the planted violations.

The oracle (tests/sample_oracle.py) re-implements the rules directly in polars and Python,
without the audit engine, so the generator and the engine can be checked against each other:
every rule of the seed profile but the two stress rules (LEV-004, LEV-005 need the stress model;
tests/test_pipeline.py checks them through the engine), and the jurisdiction rules the cn, us
and eu profiles enable.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from sample_oracle import VALIDATORS, add_months, load, oracle, oracle_jurisdiction

from audit import contract
from audit.errors import UsageError
from audit.sample import PROFILE_OF, generate
from audit.sample.tables import LEFT_OUT, LEFT_OUT_TABLES

ROOT = Path(__file__).resolve().parent.parent
STRESS_RULES = {"LEV-004", "LEV-005", "LEV-024"}
TABLE_LEVEL = {"CLR-004", "CLR-005", "CON-005", "CON-009", "LEV-015", "OFX-004"} | STRESS_RULES


def _first_financing(fin: pl.DataFrame) -> pl.DataFrame:
    return fin.group_by("client_id").agg(pl.col("opened_at").min().dt.date().alias("first"))


def expected(folder: Path, profiles: tuple[str, ...] = ("seed",), skip: set[str] = STRESS_RULES) -> set:
    data = json.loads((folder / "expected_violations.json").read_text(encoding="utf-8"))
    return {(v["rule"], tuple(sorted(v["key"].items()))) for v in data["violations"]
            if v["profile"] in profiles and v["rule"] not in skip}


def _profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "audit" / "packs" / "profiles" / f"{name}.yaml").read_text(encoding="utf-8"))


ALL_RULES = {p.stem for p in (ROOT / "audit" / "packs").glob("*/*.yaml") if re.fullmatch(r"[A-Z]{2,5}-\d{3}", p.stem)}
OFF_BY_DEFAULT = {p.stem for p in (ROOT / "audit" / "packs").glob("*/*.yaml")
                  if re.fullmatch(r"[A-Z]{2,5}-\d{3}", p.stem)
                  and yaml.safe_load(p.read_text(encoding="utf-8")).get("enabled") is False}
SEED_RULES = ALL_RULES - OFF_BY_DEFAULT
# Opt-in rules the sample plants nothing for, and why. A rule here that a profile runs must
# find nothing on the sample, or exactly what the oracle finds.
NOT_PLANTED = {
    "CON-013": "undercharges: opt-in, no bundled profile enables it; the sample charges the schedule",
    "SEG-007": "the sample's fee movements are its charges; its repayments are labelled client_account",
    "SEG-008": "the sample's ledger has no instruction_ref column: not evaluable",
}
# The eu rules read what a CN book does not have (CFD labels, the firm's own record of each
# client bank account, twelve months of retail results); the oracle still re-implements them:
# they find nothing here. The generator lists them as not planted.
EU_NOT_PLANTED = {"CON-012", "LEV-020", "SEG-006", "CLR-007"}
NOT_PLANTED.update({r: "an eu rule the CN sample cannot exercise" for r in EU_NOT_PLANTED})
# The us rules: a CN book gives them nothing to find (the oracle still re-implements them).
US_NOT_PLANTED = {"LEV-016", "LEV-017", "LEV-018", "CON-010", "SEG-005"}
NOT_PLANTED.update({r: "a us rule the CN sample gives nothing to find" for r in US_NOT_PLANTED})
# The cn rules of brokers' indicators and eligibility: no plants; the 配资 book breaks three of
# them on its own (the oracle re-implements them all).
CN_NOT_PLANTED = {"LEV-022", "LEV-023", "CAP-004", "CAP-005", "CAP-006", "CAP-007"}
NOT_PLANTED.update({r: "a cn rule the sample has no plant for" for r in CN_NOT_PLANTED})
LEVERED = {"LEV-007", "LEV-011"}  # the book opens at up to 3x (retail) and 5x (professional)
# Also found without plants: the 80% early warnings and withdrawals under 300% (cn).
EXTRA_OK = LEVERED | {"CAP-004", "CAP-005", "LEV-023"}


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict, dict[str, pl.DataFrame]]:
    folder = tmp_path_factory.mktemp("sample")
    summary = generate(folder, accounts=300, seed=3)
    return folder, summary, load(folder)


# ------------------------------------------------------------------------------------ tests


def test_every_rule_is_planted_under_the_profile_that_runs_it(export):
    folder, summary, _ = export
    data = json.loads((folder / "expected_violations.json").read_text(encoding="utf-8"))
    planted = {v["rule"] for v in data["violations"]}
    # CLR-003 and CLR-005 exclude each other
    assert set(data["not_planted"]) == ({"CLR-003", "LEV-024"} | EU_NOT_PLANTED | US_NOT_PLANTED
                                        | CN_NOT_PLANTED)
    # LEV-024 is LEV-004's complement: the planted shortfall is robust, so LEV-004 reports it
    assert planted == ALL_RULES - {"CLR-003", "LEV-024"} - set(NOT_PLANTED)
    assert set(NOT_PLANTED) <= OFF_BY_DEFAULT
    enabled_by: dict[str, set[str]] = {}
    for name in ("cn", "us", "eu"):
        for r in _profile(name).get("enable", []):
            if r in OFF_BY_DEFAULT:
                enabled_by.setdefault(r, set()).add(name)
    assert set(enabled_by) == set(PROFILE_OF)
    assert all(PROFILE_OF[r] in names for r, names in enabled_by.items())
    for v in data["violations"]:
        assert v["profile"] == PROFILE_OF.get(v["rule"], "seed"), v
    assert summary["violations"] == len(data["violations"])
    assert sum(summary["violations_by_profile"].values()) == summary["violations"]


def test_oracle_finds_exactly_the_planted_violations(export):
    folder, _, tb = export
    planted = expected(folder)
    found = oracle(tb)
    assert found - planted == set(), "violations nobody planted"
    assert planted - found == set(), "planted violations the data does not show"


def test_jurisdiction_rules_find_their_plants_and_extras_only_where_the_book_is_levered(export):
    folder, _, tb = export
    planted = expected(folder, ("cn", "us", "eu"))
    found = oracle_jurisdiction(tb)
    assert planted - found == set()
    extra = found - planted
    assert LEVERED <= {r for r, _ in extra} <= EXTRA_OK
    # Most financings open above 2x (Reg T, us) and above 2.25x (the CN 80% regime).
    n = tb["financings"].height
    assert sum(1 for r, _ in extra if r == "LEV-007") > n / 2
    assert sum(1 for r, _ in extra if r == "LEV-011") > n / 2


def test_per_row_rules_have_plants_and_table_level_ones_one(export):
    folder, _, _ = export
    data = json.loads((folder / "expected_violations.json").read_text(encoding="utf-8"))
    assert data["generator"] == "audit.sample" and data["seed"] == 3 and data["accounts"] == 300
    assert data["plant"] and data["plant_table_level"] and not data["audit_overdue"]
    counts: dict[str, int] = {}
    for v in data["violations"]:
        counts[v["rule"]] = counts.get(v["rule"], 0) + 1
        assert all(isinstance(x, str) for x in v["key"].values())
        assert v["note"]
    # The stress plants: LEV-004 on the concentration scenario, LEV-005 on every severe
    # scenario of every jurisdiction (each audit finds those its profile runs).
    from audit.sample.rulefiles import severe_scenarios
    assert counts.pop("LEV-005") == len(severe_scenarios(None))
    for rule in TABLE_LEVEL - {"LEV-005", "LEV-024"}:
        assert counts.pop(rule) == 1, rule
    original = {"KYC-001", "KYC-002", "KYC-003", "KYC-004", "SEG-001", "SEG-002", "CON-001", "CON-002",
                "CON-003", "CON-004", "LEV-001", "LEV-002", "CLR-001", "CLR-002", "CAP-001"}
    assert all(counts[r] >= 2 for r in original), counts
    assert all(n >= 1 for n in counts.values())


def test_table_level_plants_are_optional(tmp_path):
    summary = generate(tmp_path, accounts=200, seed=11, days=8, plant_table_level=False)
    tb = load(tmp_path)
    planted = expected(tmp_path)
    data = json.loads((tmp_path / "expected_violations.json").read_text(encoding="utf-8"))
    assert set(data["not_planted"]) == (TABLE_LEVEL | {"CLR-003", "LEV-024"} | EU_NOT_PLANTED | US_NOT_PLANTED
                                        | CN_NOT_PLANTED)
    assert {r for r, _ in planted} == SEED_RULES - TABLE_LEVEL - {"CLR-003"}
    assert oracle(tb) == planted
    assert planted | expected(tmp_path, ("cn", "us", "eu"), set()) == expected(tmp_path, ("seed", "cn", "us", "eu"), set())
    assert summary["violations"] == len(expected(tmp_path, ("seed", "cn", "us", "eu"), set()))
    # The trap that replaces the qualified report: the last report is exactly 400 days old.
    assert (date(2025, 6, 30) - tb["audits"]["report_date"].max()).days == 400
    # Without the table-level plants the terms in force are complete.
    current = tb["platform"].sort("disclosed_at").row(-1, named=True)
    assert current["ccp_exposure_disclosed"] and current["initial_margin"] == 0.5


def test_overdue_audit_plants_clr003_instead_of_clr005(tmp_path):
    generate(tmp_path, accounts=200, seed=2, days=7, fmt="parquet", audit_overdue=True)
    planted = expected(tmp_path)
    rules = {r for r, _ in planted}
    assert "CLR-003" in rules and "CLR-005" not in rules
    assert oracle(load(tmp_path, "parquet")) == planted
    assert (date(2025, 6, 30) - load(tmp_path, "parquet")["audits"]["report_date"].max()).days == 437


def test_nothing_planted(tmp_path):
    summary = generate(tmp_path, accounts=80, seed=4, days=6, plant=False)
    data = json.loads((tmp_path / "expected_violations.json").read_text(encoding="utf-8"))
    assert data["violations"] == [] and summary["violations"] == 0 and not data["plant_table_level"]
    tb = load(tmp_path)
    assert oracle(tb) == set()
    assert {r for r, _ in oracle_jurisdiction(tb)} <= EXTRA_OK


def test_parquet_export_is_typed_like_the_contract_and_has_the_same_violations(tmp_path):
    generate(tmp_path, accounts=200, seed=5, days=10, fmt="parquet")
    tb = load(tmp_path, "parquet")
    for t in contract.TABLES:
        if t.name in tb:
            assert dict(tb[t.name].schema) == {c.name: c.dtype for c in t.columns}, t.name
    assert "trades" not in tb  # optional, left out
    assert oracle(tb) == expected(tmp_path)
    assert expected(tmp_path, ("cn", "us", "eu")) <= oracle_jurisdiction(tb)


def test_same_seed_same_bytes(tmp_path):
    for fmt in ("csv", "parquet"):
        a, b = tmp_path / f"a-{fmt}", tmp_path / f"b-{fmt}"
        generate(a, accounts=200, seed=9, days=7, fmt=fmt)
        generate(b, accounts=200, seed=9, days=7, fmt=fmt)
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir())
        # every table the sample writes, expected_violations.json and mapping.yaml
        assert len(names) == len(contract.TABLES) - len(LEFT_OUT_TABLES) + 2
        assert yaml.safe_load((a / "mapping.yaml").read_text(encoding="utf-8")) == {
            "timezone": "Asia/Shanghai"}
        for name in names:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tmp_path / "c"
    generate(c, accounts=200, seed=10, days=7)
    assert (c / "accounts.csv").read_bytes() != (tmp_path / "a-csv" / "accounts.csv").read_bytes()


def test_small_exports_leave_out_the_plants_that_need_a_large_book(tmp_path):
    with pytest.raises(UsageError, match="--accounts 60"):
        generate(tmp_path / "a", accounts=60)
    generate(tmp_path / "b", accounts=40, days=6, plant=False)  # traps alone fit in a small export
    generate(tmp_path / "c", accounts=100, seed=8, days=6)
    data = json.loads((tmp_path / "c" / "expected_violations.json").read_text(encoding="utf-8"))
    left_out = ({"CAP-002", "CAP-003", "LEV-004", "LEV-005", "LEV-024", "CLR-003"} | EU_NOT_PLANTED | US_NOT_PLANTED
                | CN_NOT_PLANTED)
    assert set(data["not_planted"]) == left_out
    assert {v["rule"] for v in data["violations"]} == ALL_RULES - left_out - set(NOT_PLANTED)
    assert oracle(load(tmp_path / "c")) == expected(tmp_path / "c")


def test_files_carry_exactly_the_contract_columns(export):
    folder, _, _ = export
    for t in contract.TABLES:
        if t.name in LEFT_OUT_TABLES:
            assert not (folder / f"{t.name}.csv").exists()
            continue
        header = (folder / f"{t.name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == [c for c in t.column_names if (t.name, c) not in LEFT_OUT]


def test_calendar_is_trading_days_ending_on_the_fixed_date(export):
    _, _, tb = export
    dates = tb["accounts"]["date"].unique().sort().to_list()
    assert len(dates) == 22 and dates[0] == date(2025, 5, 29) and dates[-1] == date(2025, 6, 30)
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
    # Re-pledged securities never exceed what the account holds; day-trade counts are small.
    assert (acc["pledged_value"] <= acc["market_value"] + 0.005).all()
    assert acc["day_trades_5d"].max() <= 4 and (acc["day_trades_5d"] > 0).any()


def test_ledger_explains_every_cash_movement(export):
    _, _, tb = export
    acc = tb["accounts"].sort("account_id", "date").with_columns(
        (pl.col("cash") - pl.col("cash").shift(1).over("account_id")).alias("delta"))
    moves = tb["ledger"].group_by("account_id", "date").agg(pl.col("amount").sum().alias("moved"))
    j = acc.join(moves, on=["account_id", "date"], how="left").with_columns(pl.col("moved").fill_null(0.0))
    j = j.filter(pl.col("delta").is_not_null())
    assert ((j["delta"] - j["moved"]).abs() < 0.005).all()


def test_day_trades_are_the_commission_fees(export):
    _, _, tb = export
    com = tb["fees"].filter(pl.col("fee_type") == "commission")
    liq_days = tb["margin_events"].filter(pl.col("event_type") == "liquidation").select(
        "account_id", pl.col("event_at").dt.date().alias("date")).unique()
    trades = com.join(liq_days, on=["account_id", "date"], how="anti")
    # Two legs a day trade; each day's count enters day_trades_5d for five trading days.
    per_day = trades.group_by("account_id", "date").len()
    assert (per_day["len"] % 2 == 0).all()
    dates = tb["accounts"]["date"].unique().sort().to_list()
    acc = tb["accounts"].filter(pl.col("date") == dates[4]).select("account_id", "day_trades_5d")
    n = per_day.filter(pl.col("date") <= dates[4]).group_by("account_id").agg((pl.col("len").sum() // 2).alias("n"))
    j = acc.join(n, on="account_id", how="left").with_columns(pl.col("n").fill_null(0))
    assert (j["n"] == j["day_trades_5d"]).all()


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


def test_new_columns_are_populated_realistically(export):
    _, _, tb = export
    fin, acc, clients = tb["financings"], tb["accounts"], tb["clients"]
    p = tb["platform"].sort("disclosed_at").row(-1, named=True)
    assert p["rehypothecation_limit"] == 1.4 and 0 < p["risk_warning_pct"] < 1
    assert (fin["underlying_asset_class"] == "equity").mean() > 0.75
    assert (fin["account_holder_id"] == fin["client_id"]).mean() > 0.95
    assert fin["funder_controls_password"].sum() <= 3
    lines = fin.filter(pl.col("warning_line").is_not_null())
    assert 0.5 < lines.height / fin.height < 0.9 and (lines["warning_line"] == 1.5).mean() > 0.95
    debt = acc.filter(pl.col("debt") > 0)
    assert 0.3 < (debt["pledged_value"] > 0).mean() < 0.6
    peps = clients.filter(pl.col("pep"))
    approvals = tb["kyc_events"].filter(pl.col("event_type") == "pep_approval")
    assert peps.height >= 3 and approvals["client_id"].is_in(peps["client_id"].implode()).sum() >= 2
    # Two client-money accounts a day, each with its own acknowledgement letter.
    custody = tb["custody"]
    assert custody.group_by("date").len()["len"].max() == 2 and custody["custody_account"].n_unique() == 2
    assert (custody["ack_letter_signed_at"].drop_nulls() == date(2019, 3, 15)).mean() > 0.4
    # Every instrument has collateral terms; one stops counting as collateral mid-window.
    terms = tb["instrument_terms"]
    assert set(terms["instrument_id"]) == set(tb["instruments"]["instrument_id"])
    assert (terms["haircut"] == 0).sum() == 1 and set(tb["instruments"]["exchange"]) <= {"XSHG", "XSHE", "BJSE"}
    # Two disclosure versions: the old 140% line in hours, the current 130% line in trading days.
    old, new = tb["platform"].sort("disclosed_at").rows(named=True)
    assert (old["liquidation_ratio"], old["notice_period_hours"]) == (1.4, 24.0)
    assert (new["liquidation_ratio"], new["notice_period_trading_days"], new["line_inclusive"]) == (1.3, 1, True)
    assert new["effective_from"] < acc["date"].min()


def test_the_traps_are_there(export):
    folder, _, tb = export
    ev, fees, fin, clients, acc = (tb["margin_events"], tb["fees"], tb["financings"], tb["clients"],
                                   tb["accounts"])
    p = tb["platform"].sort("disclosed_at").row(-1, named=True)
    as_of = date(2025, 6, 30)
    liq = ev.filter(pl.col("event_type") == "liquidation")
    assert (liq["collateral_ratio"] == 1.3).any()  # liquidation exactly at the line
    # A liquidation at 135% before the window, under the 140% line of the terms then in force.
    old = liq.filter(pl.col("event_at").dt.date() < acc["date"].min())
    assert old["collateral_ratio"].to_list() == [1.35]
    recourse = ev.filter(pl.col("event_type") == "recourse")
    assert recourse.height >= 1 and recourse["related_event_id"].is_in(liq["event_id"].implode()).all()
    # Interest whose schedule is exactly half a cent, charged rounded half up.
    cents = (pl.col("base_amount") * 100).round(0).cast(pl.Int64)
    i = fees.filter(pl.col("fee_type") == "interest")
    half = i.filter(cents * 865 * pl.col("days") % 3_600_000 == 1_800_000)  # 1/10,000 x 1/360 of a cent
    assert half.height >= 2
    # Commission whose schedule is exactly half a cent (18,350 x 0.03% = 5.505), charged 5.51.
    com = fees.filter((pl.col("fee_type") == "commission") & (cents * 3 % 10_000 == 5_000))
    assert (com.filter(pl.col("base_amount") == 18_350)["charged"] == 5.51).sum() == 2
    pro = clients.filter(pl.col("category") == "professional")["client_id"]
    assert (fin.filter(pl.col("client_id").is_in(pro.implode()))["leverage_at_open"] == 4.5).any()
    assert (fin.filter(~pl.col("client_id").is_in(pro.implode()))["leverage_at_open"] == 3.0).any()
    ke = tb["kyc_events"]
    cleared = ke.filter((pl.col("event_type") == "screening_resolution") & (pl.col("outcome") == "cleared"))
    assert cleared.height >= 3  # resolved hits are fine
    assert tb["ledger"].filter((pl.col("counterparty_type") == "platform_own") & (pl.col("amount") > 0)).height >= 2
    # Liquid assets exactly at the disclosed buffer.
    assert (tb["capital"]["liquid_assets"] == p["liquidity_buffer_min"]).any()
    # Margin calls go out at 18:00 Beijing time (written in UTC in the file: 10:00Z), each with
    # its T+1 deadline and a delivery record.
    calls = ev.filter(pl.col("event_type") == "margin_call")
    assert (calls["event_at"].dt.hour() == 18).all() and calls["deadline_at"].is_not_null().all()
    assert (calls["deadline_at"].dt.date() > calls["event_at"].dt.date()).all()
    assert (calls["delivered_at"] > calls["event_at"]).all()
    # A Friday at the liquidation line, called that evening and back above it on Monday (met).
    fridays = ev.filter((pl.col("event_type") == "margin_call") & (pl.col("collateral_ratio") <= 1.3)
                        & (pl.col("event_at").dt.weekday() == 5))
    assert fridays.height >= 1
    # A call on the last session before the Dragon Boat holiday, sold on T+2 (Wednesday 4 June).
    before = calls.filter(pl.col("event_at").dt.date() == date(2025, 5, 30))["account_id"]
    sold = liq.filter(pl.col("event_at").dt.date() == date(2025, 6, 4))["account_id"]
    assert set(before) & set(sold)
    # A retail snapshot exactly at the cap.
    ac = acc.join(clients.select("client_id", "category"), on="client_id")
    assert (ac.filter(pl.col("category") == "retail")["leverage"] == 3.0).any()
    # Re-pledged securities exactly at 140% of the debt.
    assert (((acc["pledged_value"] * 100).round(0) * 10 == (acc["debt"] * 100).round(0) * 14)
            & (acc["pledged_value"] > 0)).any()
    # One position exactly 70% of the assets at a collateral ratio between 180% and 240%.
    j = tb["positions"].join(acc.select("account_id", "date", "cash", pl.col("market_value").alias("amv"), "debt"),
                             on=["account_id", "date"]).filter(pl.col("debt") > 0)
    j = j.with_columns(((pl.col("cash") + pl.col("amv")) * 100).round(0).alias("assets_c"),
                       (pl.col("market_value") * 100).round(0).alias("mv_c"))
    exact = j.filter(pl.col("mv_c") * 10 == pl.col("assets_c") * 7)
    assert exact.filter(((pl.col("cash") + pl.col("amv")) / pl.col("debt")).is_between(1.8, 2.4, closed="left")).height
    # KYC dates exactly at their limits, and ongoing due diligence after the financing.
    first = _first_financing(fin)
    ev_first = ke.join(first, on="client_id")
    assess = ev_first.filter(pl.col("event_type") == "risk_assessment")
    assert assess.filter(pl.col("event_date") == pl.col("first").map_elements(
        lambda d: add_months(d, -24), return_dtype=pl.Date)).height  # exactly 24 months old
    reviews = ke.filter((pl.col("event_type") == "periodic_review") & (pl.col("risk_rating") == "high"))
    assert (reviews["event_date"] == add_months(as_of, -12)).any()
    assert ev_first.filter((pl.col("event_type") == "pep_approval") & (pl.col("event_date") == pl.col("first"))).height
    assert ev_first.filter((pl.col("event_type") == "screening") & (pl.col("event_date") == pl.col("first"))).height
    last = fin.group_by("client_id").agg(pl.col("opened_at").max().dt.date().alias("last"))
    after = ke.join(last, on="client_id").filter(pl.col("event_date") > pl.col("last"))
    assert set(after["event_type"]) >= {"verification", "screening", "risk_assessment", "risk_disclosure"}
    c = clients.join(first, on="client_id")
    six = c.filter(pl.col("first_trade_date") == pl.col("credit_account_opened_at").map_elements(
        lambda d: add_months(d, -6), return_dtype=pl.Date))
    assert six.filter((pl.col("first") - pl.col("onboarded_at")).dt.total_days() < 180).height  # KYC-010 (cn)
    assert (fin["term_days"] == 184).any()  # LEV-013 (cn)
    # A pattern day trader with enough equity (LEV-009, us).
    assert acc.filter((pl.col("day_trades_5d") >= 4) & (pl.col("equity") >= 25_000)).height
    # The qualified report 400 days old or more is out of CLR-005's scope; one exactly 400 is in.
    audits = tb["audits"].with_columns((pl.lit(as_of) - pl.col("report_date")).dt.total_days().alias("age"))
    assert audits.filter(pl.col("age") == 400)["opinion"].to_list() == ["unqualified"]
    assert audits.filter((pl.col("age") > 400) & (pl.col("opinion") == "qualified")).height == 1


def test_the_story_is_coherent(export):
    folder, _, tb = export
    ev = tb["margin_events"]
    liq = ev.filter(pl.col("event_type") == "liquidation")
    assert liq.height >= 8
    # Every clean liquidation ends the account's debt: the snapshot that day shows no debt.
    acc = tb["accounts"]
    window = liq.filter(pl.col("event_at").dt.date() >= acc["date"].min())
    j = window.with_columns(pl.col("event_at").dt.date().alias("date")).join(acc, on=["account_id", "date"])
    assert j.height == window.height and (j["debt"] == 0).all() and (j["market_value"] == 0).all()
    # Recourse only against professional clients (negative balance protection for retail), but
    # for the one planted CLR-006 violation (eu).
    rec = ev.filter(pl.col("event_type") == "recourse").join(
        acc.select("account_id", "client_id").unique(), on="account_id").join(tb["clients"], on="client_id")
    planted = {dict(k)["event_id"] for r, k in expected(folder, ("eu",)) if r == "CLR-006"}
    assert set(rec.filter(pl.col("category") == "retail")["event_id"]) == planted
    # The market crash hits many accounts at once.
    calls = ev.filter(pl.col("event_type") == "margin_call").group_by(pl.col("event_at").dt.date()).len()
    assert calls["len"].max() >= 10


def test_the_illiquid_cluster_behind_the_stress_plants(export):
    """LEV-004 / LEV-005 (checked through the engine in test_pipeline): one thinly traded stock
    carries a large part of the book, and net capital on the last day is just above a quarter
    of the book (CAP-003) and twenty times the largest client (CAP-002)."""
    _, _, tb = export
    inst = tb["instruments"]
    pos = tb["positions"].filter(pl.col("date") == date(2025, 6, 30))
    held = pos.group_by("instrument_id").agg(pl.col("quantity").sum()).join(inst, on="instrument_id")
    thin = held.filter(pl.col("quantity") > 1000 * pl.col("adv"))
    assert thin.height == 1
    z = thin["instrument_id"][0]
    acc = tb["accounts"].filter(pl.col("date") == date(2025, 6, 30))
    in_z = acc.join(pos.filter(pl.col("instrument_id") == z).select("account_id"), on="account_id")
    assert in_z.height >= 45 and in_z["debt"].sum() > 0.3 * acc["debt"].sum()
    nc = tb["capital"].filter(pl.col("date") == date(2025, 6, 30))["net_capital"][0]
    assert acc["debt"].sum() / 4 <= nc <= 1.05 * max(acc["debt"].sum() / 4, 20 * acc["debt"].max())
