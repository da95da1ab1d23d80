"""The engine's time and evidence mechanics: not evaluable is never passed.

Covers what rule examples cannot: a rule whose inputs the export lacks, records the data cannot
decide (no disclosure in force, dates outside the trading calendar), the disclosure version in
force, the version-1 due-diligence columns read as a partial history, and caveats.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from audit import compat, disclosure
from audit.evaluate import Context, evaluate_rule, frame_from_records
from audit.rules import RuleFileError, example_params, load_packs
from audit.vocab import FAILED, NOT_EVALUABLE, PASSED

PACKS = load_packs()
RULES = {r.id: r for p in PACKS for r in p.rules}
PARAMS = example_params("seed", PACKS)


def run(rule_id: str, tables: dict[str, list[dict]], provided=None, **params):
    frames = {name: frame_from_records(name, rows) for name, rows in tables.items()}
    ctx = Context.build(frames, {**PARAMS, **params}, provided=provided)
    return evaluate_rule(RULES[rule_id], ctx)


LIQUIDATION = {"event_id": "E1", "account_id": "A1", "event_type": "liquidation",
               "event_at": "2024-06-03 10:00:00", "collateral_ratio": 1.2}


def test_a_missing_table_makes_the_rule_not_evaluable_naming_it():
    result = run("CON-001", {"margin_events": [LIQUIDATION]})
    assert result.status == NOT_EVALUABLE
    assert "platform" in result.message and result.violations == 0


def test_a_missing_column_makes_the_rule_not_evaluable_naming_it():
    tables = {"platform": [{"platform_id": "P", "liquidation_ratio": 1.3}],
              "margin_events": [LIQUIDATION]}
    provided = {"platform": {"platform_id", "disclosed_at"},  # no liquidation_ratio column
                "margin_events": {"event_id", "account_id", "event_type", "event_at",
                                  "collateral_ratio"}}
    result = run("CON-001", tables, provided=provided)
    assert result.status == NOT_EVALUABLE
    assert "platform.liquidation_ratio" in result.message


def test_records_before_every_disclosure_version_are_set_aside_not_passed():
    platform = [{"platform_id": "P", "disclosed_at": date(2024, 1, 2), "liquidation_ratio": 1.3}]
    early = {**LIQUIDATION, "event_id": "E0", "event_at": "2023-06-01 10:00:00", "collateral_ratio": 1.5}
    only_early = run("CON-001", {"platform": platform, "margin_events": [early]})
    assert only_early.status == NOT_EVALUABLE and only_early.not_evaluable == 1
    assert "2024-01-02" in only_early.message
    both = run("CON-001", {"platform": platform, "margin_events": [early, LIQUIDATION]})
    assert both.status == PASSED and both.checked == 1 and both.not_evaluable == 1
    assert "could not be judged" in both.message


def test_the_version_in_force_is_the_latest_started_on_or_before_the_record():
    platform = pl.DataFrame({
        "platform_id": ["P", "P", "P"],
        "disclosed_at": [date(2024, 1, 2), date(2025, 1, 2), date(2024, 6, 1)],
        "effective_from": [None, None, date(2024, 7, 1)],  # published in June, in force July
        "liquidation_ratio": [1.4, 1.3, 1.35],
    })
    assert disclosure.in_force_at({"platform": platform}, date(2024, 6, 15))["liquidation_ratio"] == 1.4
    assert disclosure.in_force_at({"platform": platform}, date(2024, 7, 1))["liquidation_ratio"] == 1.35
    assert disclosure.in_force_at({"platform": platform}, date(2026, 1, 1))["liquidation_ratio"] == 1.3
    assert disclosure.in_force_at({"platform": platform}, date(2023, 1, 1)) is None
    flags = disclosure.with_in_force(platform, date(2024, 7, 1))["in_force"].to_list()
    assert flags == [False, False, True]


def test_one_undated_version_is_always_in_force_but_several_cannot_be_ordered():
    one = pl.DataFrame({"platform_id": ["P"], "disclosed_at": pl.Series([None], dtype=pl.Date),
                        "liquidation_ratio": [1.3]})
    assert disclosure.in_force_at({"platform": one}, date(2001, 1, 1))["liquidation_ratio"] == 1.3
    two = pl.concat([one, one.with_columns(pl.lit(1.2).alias("liquidation_ratio"))])
    ordered, undated = disclosure.versions(two)
    assert ordered.height == 0 and undated == 2
    ctx = Context.build({"platform": two}, PARAMS)
    assert any("undated disclosure" in note for note in ctx.notes)


def test_dates_outside_the_trading_calendar_are_not_evaluable():
    platform = [{"platform_id": "P", "margin_call_ratio": 1.5, "call_response_trading_days": 1}]
    accounts = [{"date": date(2026, 12, 30), "account_id": "A1", "cash": 0, "market_value": 160, "debt": 100},
                {"date": date(2026, 12, 31), "account_id": "A1", "cash": 0, "market_value": 140, "debt": 100}]
    result = run("CON-003", {"platform": platform, "accounts": accounts, "margin_events": []})
    assert result.status == NOT_EVALUABLE and result.not_evaluable == 1
    assert "trading calendar XSHG" in result.message


def test_snapshots_on_days_the_calendar_has_no_session_are_noted():
    """A Shanghai book valued on 2025-06-19 (Juneteenth, NYSE shut): read on the XNYS
    calendar the auditor hears that the calendar may be the wrong one."""
    accounts = [{"date": date(2025, 6, d), "account_id": "A1", "cash": 0, "market_value": 160,
                 "debt": 100} for d in (18, 19, 20)]
    frames = {"accounts": frame_from_records("accounts", accounts)}
    notes = Context.build(frames, {**PARAMS, "trading_calendar": "XNYS"}).notes
    assert len(notes) == 1 and "1 snapshot date(s) on which XNYS has no session (2025-06-19)" in notes[0]
    assert "--param trading_calendar=" in notes[0]
    assert Context.build(frames, {**PARAMS, "trading_calendar": "XSHG"}).notes == []


def test_version_1_clients_read_as_a_partial_history():
    clients = frame_from_records("clients", [
        {"client_id": "C1", "verification_status": "verified", "verified_at": date(2024, 3, 1),
         "screening_result": "not_screened", "screened_at": date(2024, 1, 1)},
        {"client_id": "C2", "verification_status": "pending"},
    ])
    tables, notes = compat.upgrade({"clients": clients}, None)
    events = tables["kyc_events"]
    assert events.select("event_type", "outcome", "history_complete").rows() == [
        ("verification", "verified", False)]  # not_screened is no screening; no date, no event
    assert notes and "version-1" in notes[0]
    own = frame_from_records("kyc_events", [{"event_id": "K1", "client_id": "C1",
                                             "event_type": "screening", "event_date": date(2024, 1, 1)}])
    tables, notes = compat.upgrade({"clients": clients, "kyc_events": own}, None)
    assert tables["kyc_events"]["history_complete"].to_list() == [True] and not notes


def test_a_computed_column_states_what_it_assumes_when_inputs_are_missing():
    tables = {"platform": [{"platform_id": "P", "margin_call_ratio": 1.5, "call_response_hours": 24}],
              "accounts": [{"date": date(2024, 1, 1), "account_id": "A1", "cash": 0, "market_value": 160, "debt": 100}],
              "margin_events": []}
    provided = {"platform": {"platform_id", "disclosed_at", "margin_call_ratio", "call_response_hours"},
                "accounts": {"date", "account_id", "client_id", "cash", "market_value", "debt", "equity"},
                "margin_events": {"event_id", "account_id", "event_type", "event_at"}}
    result = run("CON-003", tables, provided=provided)
    assert result.status in (PASSED, "not_applicable")
    assert any("short_market_value" in c and "no short positions" in c for c in result.caveats)


def test_short_positions_and_accrued_interest_count_in_the_collateral_ratio():
    accounts = frame_from_records("accounts", [
        {"date": date(2024, 1, 2), "account_id": "A1", "cash": 0, "market_value": 150, "debt": 100,
         "short_market_value": 20, "accrued_interest": 5}])
    ctx = Context.build({"accounts": accounts}, PARAMS)
    assert ctx.tables["accounts"]["collateral_ratio"][0] == pytest.approx(150 / 125)


def test_a_rule_reading_the_disclosure_must_say_when(rules_copy):
    path = rules_copy / "cap" / "CAP-001.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("disclosure_at: date", "# no disclosure time"), encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_packs(rules_copy)
    assert "CAP-001.yaml" in str(err.value) and "disclosure_at" in str(err.value)


def test_a_not_evaluable_rule_at_the_threshold_sets_the_exit_code():
    from audit.findings import Run
    from audit.load import Export
    from audit.rules import load_ruleset

    ruleset = load_ruleset("seed")
    result = run("CON-001", {"margin_events": [LIQUIDATION]})
    export = Export(root=None, tables={}, issues=[], unrecognised_files=[])
    assert Run(export=export, ruleset=ruleset, results=[result], data_issues=[], as_of=None,
               fail_on="high").exit_code() == 1
    assert Run(export=export, ruleset=ruleset, results=[result], data_issues=[], as_of=None,
               fail_on="critical").exit_code() == 0
    assert result.rule.severity == "high" and FAILED != result.status
