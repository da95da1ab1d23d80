"""The outputs side of "the auditee controls the export, never the audit": what a run writes
cannot be turned against the auditor (a cell that splits a CSV row or runs as a formula), and
where and how it is written is the auditor's choice and all-or-nothing, and a bad option is
one line with exit code 2, never a traceback."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import re
import shutil
import signal
from pathlib import Path

import polars as pl
import pytest

from harness import audit, cli, column, rewrite_csv

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
HOSTILE_CASH = ["x\r=1+1", " =1+1", "\t=2+2", "\r=3+3", "\uff1d4+4", "@SUM(A1)"]


def _live_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@") and not PLAIN_NUMBER.fullmatch(cell)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    """Partial or replaced run folders left next to an output folder."""
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name
                  or ".replaced-" in p.name)


def _assert_whole(out: Path) -> dict:
    """OUT is one complete run: its manifest lists exactly the files in it, each with its
    sha256 and size, and the run id findings.json carries."""
    manifest = _manifest(out)
    on_disk = sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    assert [f["path"] for f in manifest["files"]] == on_disk
    for entry in manifest["files"]:
        path = out / entry["path"]
        assert entry["sha256"] == _sha256(path) and entry["bytes"] == path.stat().st_size
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == findings["run"]["id"]
    assert manifest["tool"]["name"] == "platform-audit" and manifest["command"] == "run"
    return manifest


def test_a_carriage_return_or_a_formula_in_a_cell_never_splits_or_arms_the_csv(export, tmp_path):
    def plant(rows):
        cash = column(rows, "cash")
        for i, value in enumerate(HOSTILE_CASH, start=1):
            rows[i][cash] = value

    rewrite_csv(export / "accounts.csv", plant, lineterminator="\r\n")
    out = audit(export, tmp_path / "out")
    assert out.code == 1, out.stderr
    unreadable = [i for i in out.issues if i["table"] == "accounts" and i["column"] == "cash"]
    assert len(unreadable) == len(HOSTILE_CASH)
    assert {i["value"] for i in unreadable} == {"x\r=1+1", "' =1+1", "'\t=2+2", "'\r=3+3",
                                                "'\uff1d4+4", "'@SUM(A1)"}
    path = out.out / "data_issues.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) - 1 == out.findings["data_quality"]["issues"] == len(out.issues)
    frame = pl.read_csv(path, infer_schema=False)
    assert frame.height == len(out.issues)
    cells = [c for row in rows[1:] for c in row] + [
        c for name in frame.columns for c in frame[name].drop_nulls().to_list()]
    assert not [c for c in cells if _live_formula(c)]
    with (out.out / "violations.csv").open(encoding="utf-8-sig", newline="") as fh:
        violations = list(csv.reader(fh))
    assert len(violations) - 1 == out.findings["summary"]["violations"]
    assert not [c for row in violations[1:] for c in row if _live_formula(c)]


# --- bad parameters -------------------------------------------------------------------------

@pytest.mark.parametrize("param, message", [
    ("audit_max_age_days=[1,2]", "--param audit_max_age_days='[1,2]': not a single value; give "
     "one number, date, true/false or word, e.g. --param audit_max_age_days=365"),
    ("x={a: 1}", "--param x='{a: 1}': not a single value; give one number, date, true/false or "
     "word, e.g. --param audit_max_age_days=365"),
    ("x=" + "[" * 5000, "--param x: the value is 5,000 characters long; give one number, date, "
     "true/false or word (at most 200)"),
    ("x=" + "[" * 100 + "]" * 100, "--param x='" + "[" * 40 + "': not a single value; give one "
     "number, date, true/false or word, e.g. --param audit_max_age_days=365"),
    ("x=&a [*a, *a]", "--param x='&a [*a, *a]': not a single value; give one number, date, "
     "true/false or word, e.g. --param audit_max_age_days=365"),
    ("audit_max_age_days=abc", "--param audit_max_age_days: 'abc' is not a number; give a "
     "number, like the default 400"),
    ("line_inclusive=5", "--param line_inclusive: 5 is not true or false; give true or false, "
     "like the default false"),
    ("as_of=yesterday", "--param as_of: 'yesterday' is not a date YYYY-MM-DD; give a date "
     "YYYY-MM-DD"),
    ("money_tolerance=.nan", "--param money_tolerance: nan is not a number; give a number, like "
     "the default 0.005"),
    ("audit_max_age_dayz=30", "--param 'audit_max_age_dayz' is not defined by any selected "
     "pack; did you mean audit_max_age_days? known: "),
    ("=30", "--param '=30': write it as name=value, e.g. --param audit_max_age_days=365"),
])
def test_a_bad_param_is_one_line_exit_2_naming_it(export, tmp_path, param, message):
    result = audit(export, tmp_path / "out", "--param", param)
    assert result.code == 2
    assert result.error_line.startswith("error: " + message), result.error_line
    assert len(result.stderr.strip().splitlines()) == 1
    assert not result.out.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("args, message", [
    (("--as-of", "2025-13-45"), "--as-of '2025-13-45': write the date as YYYY-MM-DD"),
    (("--fail-on", "severe"), "--fail-on 'severe': use one of critical, high, medium, low"),
    (("--lang", "fr"), "--lang 'fr': use en or zh"),
])
def test_bad_options_are_one_line_exit_2(export, tmp_path, args, message):
    result = audit(export, tmp_path / "out", *args)
    assert result.code == 2
    assert result.error_line == "error: " + message
    assert not result.out.exists()


def test_a_number_written_as_yaml_text_is_taken_as_the_number(export, tmp_path):
    result = audit(export, tmp_path / "out", "--param", "audit_max_age_days=4e2")
    assert result.code == 1, result.stderr
    assert result.findings["run"]["parameters"]["audit_max_age_days"] == 400


# --- what findings.json says does not depend on where the audit was started from -----------

def test_findings_do_not_depend_on_the_working_directory(export, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    profile = tmp_path / "profiles" / "mine.yaml"
    profile.parent.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "audit" / "packs" / "profiles" / "seed.yaml", profile)
    outputs = []
    for cwd, name in ((tmp_path, "first"), (tmp_path / "profiles", "second")):
        monkeypatch.chdir(cwd)
        rel = lambda p: os.path.relpath(p, cwd)  # noqa: E731 - the same paths, as typed there
        result = audit(Path(rel(export)), Path(rel(tmp_path / name)), "--profile", rel(profile))
        assert result.code == 1, result.stderr
        outputs.append(tmp_path / name)
    first, second = ({p.name: p.read_bytes() for p in o.iterdir()} for o in outputs)
    assert first == second  # every byte, findings.json and the manifest included
    findings = json.loads(first["findings.json"])
    profile_doc = findings["run"]["profile"]
    assert profile_doc == {"name": "seed", "builtin": False, "path": "mine.yaml",
                           "sha256": hashlib.sha256(profile.read_bytes()).hexdigest()}
    assert str(tmp_path) not in first["findings.json"].decode("utf-8")


# --- where the outputs go, and that they are whole ----------------------------------------

def test_the_manifest_lists_every_output_with_its_sha256_and_is_written_last(export, tmp_path):
    out = audit(export, tmp_path / "out", "--format", "junit", stress=True, report=True)
    assert out.code == 1, out.stderr
    manifest = _assert_whole(out.out)
    assert [f["path"] for f in manifest["files"]] == [
        "data_issues.csv", "findings.json", "report.html", "report.pdf", "rules.junit.xml",
        "stress.json", "violations.csv"]
    assert _leftovers(tmp_path) == []


def test_an_earlier_run_in_out_is_replaced_as_a_whole(export, tmp_path):
    first = audit(export, tmp_path / "out", "--format", "junit")
    assert first.code == 1 and (first.out / "rules.junit.xml").is_file()
    second = audit(export, tmp_path / "out", "--as-of", "2025-06-27")  # an earlier snapshot
    assert second.code == 1, second.stderr
    # Nothing of the first run survives next to the second: its JUnit file is gone.
    assert not (second.out / "rules.junit.xml").exists()
    assert second.findings["run"]["as_of"] == "2025-06-27"
    assert [f["path"] for f in _assert_whole(second.out)["files"]] == [
        "data_issues.csv", "findings.json", "violations.csv"]
    assert _leftovers(tmp_path) == []


def test_a_folder_of_other_files_is_refused_and_left_as_it_was(export, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = audit(export, out)
    assert result.code == 2
    assert result.error_line == (
        f"error: --out {out.resolve()} is not empty (notes.txt) and holds no earlier output of "
        "this tool (no manifest.json of ours); nothing was written: choose a new or empty folder")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert _leftovers(tmp_path) == []


def test_an_earlier_run_with_a_file_it_did_not_write_is_not_replaced(export, tmp_path):
    first = audit(export, tmp_path / "out")
    assert first.code == 1
    (first.out / "my-notes.txt").write_text("mine", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in first.out.iterdir()}
    again = audit(export, tmp_path / "out")
    assert again.code == 2
    assert again.error_line == (
        f"error: --out {first.out.resolve()} holds an earlier audit's outputs and files that "
        "run did not write (my-notes.txt), which replacing it would delete: move them out or "
        "choose a new or empty folder")
    assert {p.name: p.read_bytes() for p in first.out.iterdir()} == before


def test_out_that_is_a_file_is_refused(export, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    result = audit(export, out)
    assert result.code == 2
    assert result.error_line == (f"error: --out {out.resolve()} is a file, not a folder: choose "
                                 "a new or empty folder for the outputs")
    assert out.read_text(encoding="utf-8") == "not a folder"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["same", "inside", "holding"])
def test_out_may_not_be_in_or_around_the_export(export, tmp_path, where):
    before = sorted(p.name for p in export.iterdir())
    out = {"same": export, "inside": export / "audit-out", "holding": tmp_path}[where]
    result = audit(export, out)
    assert result.code == 2
    expected = {
        "same": f"--out {out.resolve()} is the export folder itself; outputs written there would "
                "be read as input by the next audit: choose a new or empty folder outside it",
        "inside": f"--out {out.resolve()} is inside the export folder {export.resolve()}; outputs "
                  "written there would be read as input by the next audit: choose a new or "
                  "empty folder outside it",
        "holding": f"--out {out.resolve()} holds the export folder {export.resolve()}, and a "
                   "run replaces its output folder as a whole: choose a new or empty folder "
                   "that does not hold the export folder",
    }[where]
    assert result.error_line == "error: " + expected
    assert sorted(p.name for p in export.iterdir()) == before
    assert _leftovers(tmp_path) == [] and _leftovers(export) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_parent_is_one_line_exit_2(export, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = audit(export, parent / "out")
    finally:
        parent.chmod(0o755)
    assert result.code == 2
    assert result.error_line == (f"error: cannot write in {parent.resolve()}: Permission denied; "
                                 "choose --out in a folder you can write to (nothing was written)")
    assert list(parent.iterdir()) == []


def test_out_of_space_is_one_line_exit_2_and_keeps_the_earlier_run(export, tmp_path, monkeypatch):
    earlier = audit(export, tmp_path / "out")
    assert earlier.code == 1
    before = {p.name: p.read_bytes() for p in earlier.out.iterdir()}

    def full_disk(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("audit.formats.csvfile.write_csv", full_disk)
    result = audit(export, tmp_path / "out")
    assert result.code == 2
    assert result.error_line == (
        f"error: cannot write the outputs in {earlier.out.resolve()}: No space left on device; "
        "free space there or choose --out on another disk (nothing was written)")
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in earlier.out.iterdir()} == before
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_or_killed_run_leaves_no_folder(export, tmp_path, monkeypatch, signum):
    """Ctrl-C or a kill while the last output is written: no OUT, no partial folder, one line
    and exit 2 (not typer's silent 130), and the signal handlers are put back."""
    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signum)
        raise AssertionError("the signal did not interrupt the run")

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr("audit.stress.write_stress", interrupted)
    result = audit(export, tmp_path / "out", stress=True)
    assert result.code == 2, result.stderr
    assert result.error_line == "error: interrupted; nothing was left in the output folder"
    assert not result.out.exists()
    assert _leftovers(tmp_path) == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_bug_in_the_report_is_exit_3_with_its_log_and_keeps_the_earlier_run(
        export, tmp_path, monkeypatch):
    earlier = audit(export, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in earlier.out.iterdir()}

    def broken(*args, **kwargs):
        raise ValueError("a bug while rendering")

    monkeypatch.setattr("audit.report.render_report", broken)
    result = audit(export, tmp_path / "out", report=True)
    assert result.code == 3
    line = result.error_line
    assert line.startswith("internal error: ValueError: a bug while rendering. This is a bug; "
                           "the details are in ")
    log = Path(line.split("the details are in ")[1].split(";")[0])
    try:
        assert "ValueError: a bug while rendering" in log.read_text(encoding="utf-8")
    finally:
        log.unlink()
    assert {p.name: p.read_bytes() for p in earlier.out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_audit_stress_writes_its_folder_the_same_way(export, tmp_path):
    code, stderr = cli("stress", str(export), "--out", str(export / "stress"))
    assert code == 2 and f"--out {(export / 'stress').resolve()} is inside the export" in stderr
    out = tmp_path / "stress"
    code, stderr = cli("stress", str(export), "--out", str(out))
    assert code in (0, 1), stderr
    manifest = _manifest(out)
    assert manifest["command"] == "stress"
    assert [f["path"] for f in manifest["files"]] == ["stress.json"]
    assert manifest["files"][0]["sha256"] == _sha256(out / "stress.json")
    assert manifest["run_id"] == _sha256(out / "stress.json")[:16]
    assert _leftovers(tmp_path) == []
