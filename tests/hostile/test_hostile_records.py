"""Hostile exports, records: an unreadable or unplaceable record never turns a rule green. A
rule that read every record in its scope and found no violation is 'passed'; one that could not
read some is 'incomplete', counted in the exit code and the rating, with the count.
"""

from __future__ import annotations

import csv

from harness import audit, edit_rows, lost_findings

OWN_OUT = lambda row: row["counterparty_type"] == "platform_own" and float(row["amount"]) < 0  # noqa: E731
HIT = lambda row: row["event_type"] == "screening" and row["outcome"] == "hit"  # noqa: E731


def _hidden(o, rule: str, n: int) -> None:
    r = o.rule(rule)
    assert r["status"] == "incomplete" and r["violations"] == 0 and r["unreadable"] == n, r
    assert o.code == 1


def test_an_unparseable_date_on_each_violating_row_makes_the_rule_incomplete(export, tmp_path,
                                                                           baseline):
    n = edit_rows(export / "ledger.csv", OWN_OUT, lambda row: row.update(date="2025-13-45"))
    assert n == baseline.rule("SEG-002")["violations"]
    o = audit(export, tmp_path / "out")
    _hidden(o, "SEG-002", n)  # before: passed, the rows silently dropped
    assert o.issue_codes()["unreadable-cell"] == n
    assert not lost_findings(o, baseline)


def test_an_unparseable_amount_on_each_violating_row_makes_the_rule_incomplete(export, tmp_path,
                                                                             baseline):
    n = edit_rows(export / "ledger.csv", OWN_OUT, lambda row: row.update(amount="1e400"))
    o = audit(export, tmp_path / "out")
    _hidden(o, "SEG-002", n)
    assert not lost_findings(o, baseline)


def test_a_ragged_violating_row_makes_the_rule_incomplete(export, tmp_path, baseline):
    path = export / "ledger.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader(lines[:1]))
    n = 0
    for i, line in enumerate(lines[1:], start=1):
        if OWN_OUT(dict(zip(header, next(csv.reader([line]))))):
            lines[i] = line.rstrip("\n") + ",one field too many\n"
            n += 1
    path.write_text("".join(lines), encoding="utf-8")
    o = audit(export, tmp_path / "out")
    assert o.issue_codes()["ragged-row"] == n
    r = o.rule("SEG-002")
    assert r["status"] == "incomplete" and r["unreadable"] == n and "rows of ledger" in r["message"]
    assert not lost_findings(o, baseline)


def test_a_cell_the_rule_does_not_read_leaves_the_row_checked(export, tmp_path, baseline):
    n = edit_rows(export / "kyc_events.csv", HIT, lambda row: row.update(valid_until="someday"))
    o = audit(export, tmp_path / "out")
    assert o.issue_codes()["unreadable-cell"] == n
    assert o.rule("KYC-003")["status"] == "failed"
    assert o.rule("KYC-003")["violations"] == baseline.rule("KYC-003")["violations"]
    kyc = next(i for i in o.findings["inputs"] if i["table"] == "kyc_events")
    assert kyc["rows_partly_unreadable"] == n and kyc["rows_unreadable"] == 0
    assert kyc["rows_read"] == kyc["rows_checked"] + kyc["rows_unreadable"]


def test_an_unreadable_row_of_a_joined_table_sets_its_records_aside(export, tmp_path, baseline):
    edit_rows(export / "kyc_events.csv", HIT, lambda row: row.update(event_date="31/31/2024"))
    o = audit(export, tmp_path / "out")
    r = o.rule("KYC-003")
    assert r["status"] == "incomplete" and r["violations"] == 0, r  # before: passed
    # every financing linked to an unreadable event is set aside, the violating ones among them
    assert r["unreadable"] >= baseline.rule("KYC-003")["violations"]
    assert not lost_findings(o, baseline)


def test_a_wholly_unreadable_table_is_not_a_table_with_nothing_to_check(export, tmp_path):
    edit_rows(export / "ledger.csv", lambda row: True, lambda row: row.update(amount="n/a?"))
    o = audit(export, tmp_path / "out")
    assert o.rule("SEG-002")["status"] == "incomplete"  # never not_applicable, never passed


def test_an_unreadable_disclosure_makes_the_rules_reading_it_incomplete(export, tmp_path,
                                                                        baseline):
    edit_rows(export / "platform.csv", lambda row: True,
              lambda row: row.update(liquidation_ratio="high"))
    o = audit(export, tmp_path / "out")
    assert o.issue_codes()["unreadable-cell"] >= 1
    assert not lost_findings(o, baseline)
    assert not [r["id"] for r in o.findings["rules"] if r["status"] == "passed" and r["unreadable"]]


def test_missing_market_data_is_unknown_never_zero(export, tmp_path, baseline):
    """LEV-005 used to take an instrument without average daily volume as liquidated in zero
    days, and passed."""
    edit_rows(export / "instruments.csv", lambda row: True, lambda row: row.update(adv=""))
    o = audit(export, tmp_path / "out", stress=True)
    r = o.rule("LEV-005")
    assert r["status"] == "not_evaluable" and "average daily volume" in r["message"], r


def test_an_unreadable_holding_makes_the_stress_rules_incomplete_not_passed(export, tmp_path,
                                                                           baseline):
    """The stress test cannot count a loss on a holding it cannot read."""
    last = max(row.split(",")[0] for row in
               (export / "accounts.csv").read_text(encoding="utf-8").splitlines()[1:])
    n = edit_rows(export / "positions.csv", lambda row: row["date"] == last,
                  lambda row: row.update(quantity="lots"))
    o = audit(export, tmp_path / "out", stress=True)
    stress_rules = [r for r in o.findings["rules"] if r["table"] == "stress"]
    assert stress_rules and n
    for r in stress_rules:
        assert r["status"] in ("failed", "incomplete", "not_evaluable", "not_applicable"), r
        if r["status"] == "incomplete":
            assert r["unreadable"] >= n and "stress test's inputs" in r["message"]
    assert any(r["status"] == "incomplete" for r in stress_rules)


def test_violating_rows_moved_to_a_second_file_make_the_rule_incomplete(export, tmp_path,
                                                                       baseline):
    """ledger.csv is read; the violating rows, moved to 'ledger (2).csv', would be audited by
    nobody: the file is reported and the ledger's rules are never 'passed' beside it."""
    path = export / "ledger.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader(lines[:1]))
    moved = [l for l in lines[1:] if OWN_OUT(dict(zip(header, next(csv.reader([l])))))]
    path.write_text("".join(l for l in lines if l not in moved), encoding="utf-8")
    (export / "ledger (2).csv").write_text(lines[0] + "".join(moved), encoding="utf-8")
    o = audit(export, tmp_path / "out")
    (issue,) = [i for i in o.issues if i["code"] == "file-not-loaded"]
    assert (issue["file"], issue["table"]) == ("ledger (2).csv", "ledger")
    r = o.rule("SEG-002")
    assert r["status"] == "incomplete" and "files or sheets holding table ledger" in r["message"], r
    assert "ledger (2).csv" in o.findings["unrecognised_files"]
    assert not lost_findings(o, baseline)


def test_a_forced_sale_with_no_market_fails_and_an_unknown_volume_is_not_evaluable(export,
                                                                                   tmp_path):
    """ADV 0 is a fact (no market: the sale cannot be absorbed); a blank ADV is unknown."""
    edit_rows(export / "instruments.csv", lambda row: True, lambda row: row.update(adv="0"))
    o = audit(export, tmp_path / "zero", stress=True)
    r = o.rule("LEV-005")
    # one violation per severe scenario the seed profile runs (the market and the concentration one)
    from audit.stress import load_scenarios
    severe = [s for s in load_scenarios(jurisdictions=["cn"]) if s.severe]
    assert r["status"] == "failed" and r["violations"] == len(severe) == 2, r
    edit_rows(export / "instruments.csv", lambda row: True, lambda row: row.update(adv=""))
    assert audit(export, tmp_path / "blank", stress=True).rule("LEV-005")["status"] == "not_evaluable"
