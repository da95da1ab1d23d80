"""Hostile exports, configuration and paths: the auditee's files never configure the audit and
never make it read outside the export folder.

Each case is one attack on a copy of the planted sample; the assertion is the exact outcome.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil

import pytest

from harness import audit, rewrite_csv

HIDING_MAPPING = (
    "tables:\n"
    "  ledger: {values: {counterparty_type: {platform_own: client_bank}}}\n"
    "  kyc_events: {values: {outcome: {hit: clear}}}\n"
)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mapping_shipped_in_the_export_is_not_applied(export, tmp_path, baseline):
    (export / "mapping.yaml").write_text(HIDING_MAPPING)
    o = audit(export, tmp_path / "out")
    assert o.code == 1, o.stderr
    # the two critical findings the mapping tried to hide are still there, unchanged
    for rule in ("SEG-002", "KYC-003"):
        assert o.rule(rule)["status"] == "failed"
        assert o.rule(rule)["violations"] == baseline.rule(rule)["violations"]
    assert o.findings["mapping"] == {
        "file": "mapping.yaml", "inside_export": True, "applied": False,
        "sha256": _sha(export / "mapping.yaml"), "value_replacements": []}
    assert any("mapping.yaml in the export folder was not applied" in n
               for n in o.findings["contract"]["notes"])


def test_a_mapping_the_auditor_names_is_applied_and_every_replacement_is_recorded(export, tmp_path,
                                                                                  baseline):
    mapping = tmp_path / "reviewed.yaml"
    mapping.write_text(HIDING_MAPPING)
    o = audit(export, tmp_path / "out", "--mapping", str(mapping))
    assert o.code == 1, o.stderr
    assert o.statuses["SEG-002"] == "passed"  # the auditor asked for it: visible below
    m = o.findings["mapping"]
    assert (m["file"], m["inside_export"], m["applied"], m["sha256"]) == (
        "reviewed.yaml", False, True, _sha(mapping))
    changes = {(r["table"], r["column"], r["from"], r["to"]): r["cells"]
               for r in m["value_replacements"]}
    planted = baseline.rule("SEG-002")["violations"]
    assert changes[("ledger", "counterparty_type", "platform_own", "client_bank")] >= planted
    with (export / "kyc_events.csv").open(encoding="utf-8") as fh:
        hits = sum(1 for row in csv.DictReader(fh) if row["outcome"] == "hit")
    assert hits and changes[("kyc_events", "outcome", "hit", "clear")] == hits


def test_value_replacements_apply_to_categorical_columns_only(export, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables: {ledger: {values: {account_id: {A000081: A000001}}}}\n")
    o = audit(export, tmp_path / "out", "--mapping", str(mapping))
    assert o.code == 2 and o.findings is None
    assert "value replacements apply only to columns with a closed list" in o.error_line


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside/ledger.csv", "sub/../../ledger.csv",
                                  "C:\\\\Windows\\\\ledger.csv"])
def test_a_mapping_cannot_name_a_file_outside_the_export(export, tmp_path, name):
    (tmp_path / "outside").mkdir()
    shutil.copy(export / "ledger.csv", tmp_path / "outside" / "ledger.csv")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(f"tables:\n  ledger: {{file: {json.dumps(name)}}}\n")
    o = audit(export, tmp_path / "out", "--mapping", str(mapping))
    assert o.code == 2 and o.findings is None, o.stderr
    assert "tables.ledger.file" in o.error_line
    assert ("absolute path" in o.error_line or "'..'" in o.error_line)


def test_a_link_out_of_the_export_is_refused(export, tmp_path):
    other = tmp_path / "other-platform"
    other.mkdir()
    shutil.copy(export / "ledger.csv", other / "ledger.csv")
    (export / "ledger.csv").unlink()
    (export / "ledger.csv").symlink_to(other / "ledger.csv")
    o = audit(export, tmp_path / "out")
    assert o.code == 2 and o.findings is None
    assert o.error_line.startswith("error: ledger.csv: leads outside the export folder")


def test_a_link_to_a_system_file_is_refused_before_it_is_opened(export, tmp_path):
    (export / "clients.csv").unlink()
    (export / "clients.csv").symlink_to("/etc/passwd")
    o = audit(export, tmp_path / "out")
    assert o.code == 2 and "leads outside the export folder" in o.error_line


def test_a_dangling_or_looping_link_is_refused(export, tmp_path):
    (export / "fees.csv").unlink()
    (export / "fees.csv").symlink_to(export / "fees.csv")  # a loop
    o = audit(export, tmp_path / "out")
    assert o.code == 2 and o.error_line.startswith("error: fees.csv: ")


def test_a_named_pipe_is_refused_not_waited_on(export, tmp_path):
    (export / "custody.csv").unlink()
    os.mkfifo(export / "custody.csv")
    o = audit(export, tmp_path / "out")  # would hang forever if the pipe were opened
    assert o.code == 2 and "custody.csv: is a named pipe (FIFO), not a file" in o.error_line


def test_a_link_inside_the_export_counts_once(export, tmp_path, baseline):
    (export / "customers.csv").symlink_to(export / "clients.csv")  # an alias of clients
    o = audit(export, tmp_path / "out")
    assert o.code == 1, o.stderr
    assert o.statuses == baseline.statuses
    assert [i["path"] for i in o.findings["inputs"]] == [i["path"] for i in baseline.findings["inputs"]]


def test_files_in_sub_folders_and_hidden_files_are_listed_not_read(export, tmp_path, baseline):
    (export / "old").mkdir()
    shutil.copy(export / "ledger.csv", export / "old" / "ledger.csv")
    shutil.copy(export / "ledger.csv", export / ".ledger.csv")
    o = audit(export, tmp_path / "out")
    assert o.statuses == baseline.statuses
    assert {"old/", ".ledger.csv", "expected_violations.json"} <= set(o.findings["unrecognised_files"])


def test_mapping_files_resolve_in_the_export_not_beside_the_mapping(export, tmp_path, baseline):
    """A decoy next to the auditor's mapping never replaces the export's own file."""
    beside = tmp_path / "auditor"
    beside.mkdir()
    rewrite_csv(export / "ledger.csv", lambda rows: None)
    decoy = beside / "ledger_2025.csv"
    decoy.write_text("entry_id,date,account_id,amount,counterparty_type,description\n")
    (export / "sub").mkdir()
    shutil.move(export / "ledger.csv", export / "sub" / "ledger_2025.csv")
    (beside / "m.yaml").write_text("tables: {ledger: {file: sub/ledger_2025.csv}}\n")
    o = audit(export, tmp_path / "out", "--mapping", str(beside / "m.yaml"))
    assert o.code == 1, o.stderr
    ledger = next(i for i in o.findings["inputs"] if i["table"] == "ledger")
    assert ledger["path"] == "sub/ledger_2025.csv"
    assert ledger["sha256"] == _sha(export / "sub" / "ledger_2025.csv")
    assert o.statuses["SEG-002"] == "failed"


@pytest.mark.parametrize("text, message", [
    ("tables: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("tables: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", "unknown key"),
])
def test_a_hostile_mapping_file_is_a_one_line_error(export, tmp_path, text, message):
    (tmp_path / "m.yaml").write_text(text)
    o = audit(export, tmp_path / "out", "--mapping", str(tmp_path / "m.yaml"))
    assert o.code == 2 and message in o.error_line, o.stderr
    assert "Traceback" not in o.stderr


def test_a_deeply_nested_profile_is_a_one_line_error(export, tmp_path):
    profile = tmp_path / "deep.yaml"
    profile.write_text("schema_version: 1\nname: x\nparameters: " + "[" * 5000 + "]" * 5000 + "\n")
    o = audit(export, tmp_path / "out", "--profile", str(profile))
    assert o.code == 2 and "nested too deeply" in o.error_line, o.stderr


def test_validate_and_stress_refuse_a_link_out_too(export, tmp_path):
    from harness import cli

    (export / "positions.csv").unlink()
    (export / "positions.csv").symlink_to("/etc/hostname")
    for argv in (["validate", str(export)], ["stress", str(export), "--out", str(tmp_path / "s")]):
        code, stderr = cli(*argv)
        assert code == 2 and "positions.csv: leads outside the export folder" in stderr, stderr


def test_an_export_folder_reached_through_a_link_is_audited(export, tmp_path, baseline):
    """The auditor names the folder: a link to it is the auditor's choice, not the auditee's."""
    link = tmp_path / "link-to-export"
    link.symlink_to(export)
    o = audit(link, tmp_path / "out")
    assert o.code == 1 and o.statuses == baseline.statuses
