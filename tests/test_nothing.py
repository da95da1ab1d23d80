"""Nothing about nothing: an empty or wrong folder, a missing table and an as-of outside the
data's dates are said up front, by `validate`, `run` and `stress` alike (audit.load.preflight),
and a norm whose tables are missing is "not tested" in findings.json, the CLI summary and the
report (cover and scorecard), never dropped and never passed."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from audit.sample import generate

ROOT = Path(__file__).resolve().parent.parent
KYC_TABLES = ("clients", "kyc_events")


def audit_cli(*args: str) -> subprocess.CompletedProcess:
    """`audit ARGS` in a child process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "audit", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


@dataclass
class InProcess:
    returncode: int
    stderr: str
    stdout: str = ""


def audit_main(*args: str) -> InProcess:
    """`audit ARGS` through the same entry point in this process (no interpreter start-up: the
    command matrices below would take minutes in child processes)."""
    from audit.cli import main

    err, old = io.StringIO(), sys.argv
    sys.argv = ["audit", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.argv = old
    return InProcess(code, err.getvalue())


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one error line; fails when there is more than one, or a traceback."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("export")
    generate(data, accounts=60, seed=5, plant=False)
    return data


@pytest.fixture(scope="module")
def no_kyc(tmp_path_factory, export) -> Path:
    """The export without its KYC tables (clients, kyc_events)."""
    data = tmp_path_factory.mktemp("no-kyc")
    for f in export.iterdir():
        if f.is_file() and f.stem not in KYC_TABLES:
            (data / f.name).write_bytes(f.read_bytes())
    return data


def snapshots(data: Path) -> list[date]:
    """The accounts table's snapshot dates, read independently of the toolkit."""
    with (data / "accounts.csv").open(encoding="utf-8", newline="") as handle:
        return sorted({date.fromisoformat(row["date"]) for row in csv.DictReader(handle)})


# --- no export file -------------------------------------------------------------------------

COMMANDS = {
    "validate": lambda data, out: ["validate", str(data)],
    "run": lambda data, out: ["run", str(data), "--out", str(out), "--no-report"],
    "stress": lambda data, out: ["stress", str(data), "--out", str(out)],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_folder_exits_2_naming_the_folder_and_the_files_expected(command, tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    result = audit_cli(*COMMANDS[command](data, out))
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith(f"error: {data}: no export file found (it is empty); the data "
                           "contract expects files named after its tables, such as platform.csv, "
                           "clients.csv, kyc_events.csv, accounts.csv, positions.csv")
    assert line.endswith("(or .xlsx, .parquet); give the folder that holds the export, rename "
                         f"the files, or map the files with --mapping (`audit init {data}` "
                         "drafts the mapping)")
    assert not out.exists()  # no report, rated or not, about nothing


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_of_unrelated_files_exits_2_listing_them(command, tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    (data / "notes.txt").write_text("minutes of the board", encoding="utf-8")
    (data / "holiday photos.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = audit_main(*COMMANDS[command](data, out))
    assert result.returncode == 2
    assert (f"error: {data}: no export file found (it holds holiday photos.csv, notes.txt, "
            "none named after a table); ") in error_line(result)
    assert not out.exists()


# --- the as-of date -------------------------------------------------------------------------

AS_OF_COMMANDS = {
    "validate": lambda data, out: ["validate", str(data)],
    "run": lambda data, out: ["run", str(data), "--out", str(out), "--no-report", "--no-stress"],
    "stress": lambda data, out: ["stress", str(data), "--out", str(out)],
}


@pytest.mark.parametrize("command", AS_OF_COMMANDS)
@pytest.mark.parametrize("side", ["after", "before"])
def test_an_as_of_outside_the_data_exits_2_naming_its_dates(command, side, export, tmp_path):
    snaps = snapshots(export)
    first, last = snaps[0], snaps[-1]
    as_of = date(last.year + 1, 1, 2) if side == "after" else date(first.year - 1, 12, 31)
    out = tmp_path / "out"
    result = audit_main(*AS_OF_COMMANDS[command](export, out), "--as-of", as_of.isoformat())
    assert result.returncode == 2
    assert error_line(result) == (
        f"error: --as-of {as_of} is {side} the export's data: the accounts table's {len(snaps)} "
        f"snapshot date(s) run from {first} to {last}; give one of them, or leave --as-of out "
        f"to audit the last one ({last})")
    assert not out.exists()


@pytest.mark.parametrize("command", AS_OF_COMMANDS)
def test_an_as_of_between_two_snapshots_exits_2_naming_the_nearest(command, export, tmp_path):
    snaps = snapshots(export)
    gaps = [(a, b) for a, b in itertools.pairwise(snaps) if (b - a).days > 1]
    assert gaps, "the sample has weekends between its snapshots"
    before, after = gaps[0]
    as_of = date.fromordinal(before.toordinal() + 1)
    result = audit_main(*AS_OF_COMMANDS[command](export, tmp_path / "out"), "--as-of",
                       as_of.isoformat())
    assert result.returncode == 2
    assert error_line(result).startswith(
        f"error: --as-of {as_of} is not a snapshot date of the accounts table (the nearest are "
        f"{before} and {after}; ")


def test_a_snapshot_date_is_accepted_by_validate(export):
    snaps = snapshots(export)
    result = audit_main("validate", str(export), "--as-of", snaps[len(snaps) // 2].isoformat())
    assert result.returncode in (0, 1), result.stderr  # data issues, never a refusal
    assert "error" not in result.stderr


def test_an_as_of_parameter_is_checked_like_the_option(export, tmp_path):
    last = snapshots(export)[-1]
    late = date(last.year + 1, 1, 2)
    result = audit_main("run", str(export), "--out", str(tmp_path / "out"), "--no-report",
                        "--no-stress", "--param", f"as_of={late}")
    assert result.returncode == 2
    assert error_line(result).startswith(f"error: --param as_of {late} is after the export's "
                                         "data")


# --- a missing table ------------------------------------------------------------------------

def test_validate_counts_a_missing_table_and_names_the_rules_it_disables(no_kyc):
    result = audit_cli("validate", str(no_kyc))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (f"  {no_kyc.name}: no kyc_events table in the export: 8 rule(s) cannot be evaluated "
            "(KYC-001, KYC-002, KYC-003, KYC-005, KYC-006, KYC-007, KYC-008, KYC-009) and are "
            "reported not tested; add the kyc_events file, or map the file that holds it with "
            "--mapping") in result.stderr.splitlines()
    assert "no clients table in the export: 6 rule(s)" in result.stderr
    assert ", 2 missing, " in result.stderr.splitlines()[-1]


def test_validate_of_a_whole_export_reports_no_missing_table(export):
    result = audit_main("validate", str(export))
    assert "table in the export" not in result.stderr
    assert ", 0 missing, " in result.stderr.splitlines()[-1]


@pytest.fixture(scope="module")
def run_no_kyc(tmp_path_factory, no_kyc):
    out = tmp_path_factory.mktemp("out") / "run"
    result = audit_cli("run", str(no_kyc), "--out", str(out), "--no-report", "--no-stress")
    return result, json.loads((out / "findings.json").read_text(encoding="utf-8"))


def test_run_warns_up_front_and_carries_on_with_the_rules_not_tested(run_no_kyc):
    result, findings = run_no_kyc
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    warnings = [i for i, line in enumerate(lines) if line.startswith("warning: no ")]
    assert [lines[i].split(":")[1] for i in warnings] == [" no clients table in the export",
                                                          " no kyc_events table in the export"]
    # NOTE: up front: before any rule result is printed.
    first_rule = next(i for i, line in enumerate(lines) if line.startswith("  "))
    assert max(warnings) < first_rule
    statuses = {r["id"]: r["status"] for r in findings["rules"]}
    for rule in ("KYC-001", "KYC-004", "KYC-009", "LEV-001", "LEV-002"):
        assert statuses[rule] == "not_evaluable", rule  # listed, never dropped, never passed
    assert "not tested: N1, 9 of 10 rule(s) (KYC-001, KYC-002, KYC-003, KYC-004, KYC-005, " \
           "KYC-006, KYC-007, KYC-008, KYC-009): the export has no clients, kyc_events table; " \
           "not tested is never a pass" in lines


def test_findings_json_lists_the_missing_tables_and_their_rules(run_no_kyc):
    _, findings = run_no_kyc
    missing = {m["table"]: m for m in findings["missing_tables"]}
    assert list(missing) == ["clients", "kyc_events"]
    assert missing["clients"]["rules"] == ["KYC-004", "KYC-005", "KYC-007", "KYC-009",
                                           "LEV-001", "LEV-002"]
    assert missing["kyc_events"]["norms"] == ["N1"]
    assert findings["summary"]["tables_missing"] == ["clients", "kyc_events"]
    # N1 keeps one rule (OFX-001, on financings) that ran: it is partly, not wholly, untested.
    assert "N1" not in findings["summary"]["norms_not_tested"]


# --- the report -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def audited_no_kyc(no_kyc):
    from audit.pipeline import run_audit

    return run_audit(no_kyc, stress=False)


def test_report_context_shows_the_norm_not_tested_on_the_cover_and_in_the_scorecard(
        audited_no_kyc):
    from audit.report.context import Options, build_context

    ctx = build_context(audited_no_kyc, Options(lang="en"))
    cover = {row["norm"]: row for row in ctx["not_tested"]}
    assert cover["N1"]["rules"] == [f"KYC-00{i}" for i in range(1, 10)]
    assert cover["N1"]["of"] == 10 and cover["N1"]["tables"] == ["clients", "kyc_events"]
    assert cover["N4"]["rules"] == ["LEV-001", "LEV-002"]
    row = next(r for r in ctx["scorecard"] if r["id"] == "N1")
    assert row["untested_rules"] == [f"KYC-00{i}" for i in range(1, 10)]
    assert row["missing_tables"] == ["clients", "kyc_events"]
    assert not set(row["untested_rules"]) & set(row["error_rules"])
    assert row["rules"] == ["KYC-001", "KYC-002", "KYC-003", "KYC-004", "KYC-005", "KYC-006",
                            "KYC-007", "KYC-008", "KYC-009", "OFX-001"]
    assert row["mark"] != "pass"


def test_a_norm_with_every_table_missing_is_not_tested_never_pass(audited_no_kyc):
    from audit.findings import findings_document
    from audit.load.preflight import MissingTable
    from audit.report.context import _scorecard
    from audit.report.i18n import Translator

    entries = [e for e in findings_document(audited_no_kyc)["rules"] if e["id"] != "OFX-001"]
    rows = {r["id"]: r for r in _scorecard(entries, "high", Translator("en"),
                                           audited_no_kyc.missing_tables)}
    assert rows["N1"]["mark"] == "not_tested"
    assert rows["N1"]["evaluated"] == 0 and rows["N1"]["passed"] == 0
    assert isinstance(audited_no_kyc.missing_tables[0], MissingTable)


@pytest.mark.parametrize("lang, cover, scorecard", [
    ("en", ("N1 Customer due diligence (KYC/AML) and risk disclosure: 9 of 10 rules not "
            "tested; the export has no clients, kyc_events table."),
     "not tested (no clients, kyc_events table): KYC-001"),
    ("zh", "10 条规则中有 9 条未测试，导出数据中没有 clients、kyc_events 表。",
     "未测试（没有 clients、kyc_events 表）：KYC-001"),
])
def test_the_report_says_not_tested_on_the_cover_and_in_the_scorecard(
        lang, cover, scorecard, audited_no_kyc, tmp_path):
    from html import unescape

    from audit.report import render_report

    paths = render_report(audited_no_kyc, tmp_path, lang=lang, formats=("html",))
    html = unescape(paths["html"].read_text(encoding="utf-8"))
    start = html.index('class="cover-not-tested"')
    # NOTE: tags dropped: in zh the table names are marked as ids (kept as written).
    cover_html = html[start:html.index("<p class=\"muted\">", start)]
    assert cover in " ".join(re.sub(r"<[^>]+>", "", cover_html).split())
    # NOTE: in the scorecard each rule id is a link to its finding.
    assert '<a href="#finding-KYC-001">KYC-001</a>' in html
    assert scorecard in re.sub(r"<[^>]+>", "", html)


def test_a_table_derived_from_version_1_columns_is_not_missing():
    """A version-1 export has no kyc_events: the toolkit derives them from the clients table's
    step dates (audit.compat), so its rules run and nothing is said missing."""
    from audit import contract
    from audit.load.preflight import missing_tables
    from audit.rules import load_ruleset

    ruleset = load_ruleset("seed")
    present = [t.name for t in contract.TABLES if t.name != "kyc_events"]
    provided = {name: set(contract.table(name).column_names) for name in present}
    provided["clients"] = {"client_id", "category", "verified_at"}
    assert missing_tables(present, ruleset, provided=provided) == []
    provided["clients"] = {"client_id", "category"}  # no step date: nothing to derive from
    assert [m.table for m in missing_tables(present, ruleset, provided=provided)] == [
        "kyc_events"]
