"""The hostile-export corpus' harness: a clean sample export to attack, and `audit()`, which
runs the real command line in-process (the same `main()` a user runs, last line of defence
included) and reads back what a reviewer would look at: the exit code, the one-line error,
findings.json and data_issues.csv.

Each case copies the clean export, applies one attack the way a platform hiding its breaches
would, and asserts the exact outcome. The base export plants a violation of nearly every rule,
so "the rule still fails (or is reported incomplete)" is the defence against a silent loss.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

CRASHED = -1  # the exit code recorded when the entry point itself let an exception escape
BASE_ACCOUNTS = 90  # the smallest book the sample's planted stories fit in
BASE_SEED = 7


def make_base(target: Path) -> Path:
    """A clean-format sample export with planted violations (CSV, UTF-8)."""
    from audit.sample import generate

    generate(target, accounts=BASE_ACCOUNTS, seed=BASE_SEED, fmt="csv")
    return target


@dataclass
class Outcome:
    """What one run of `audit` left behind."""

    code: int
    stderr: str
    out: Path
    findings: dict | None = None
    issues: list[dict] = field(default_factory=list)

    @property
    def statuses(self) -> dict[str, str]:
        return {r["id"]: r["status"] for r in (self.findings or {}).get("rules", [])}

    def rule(self, rule_id: str) -> dict:
        return next(r for r in self.findings["rules"] if r["id"] == rule_id)

    def issue_codes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.issues:
            counts[row["code"]] = counts.get(row["code"], 0) + 1
        return counts

    @property
    def error_line(self) -> str:
        lines = [l for l in self.stderr.splitlines() if l.startswith(("error", "internal error"))]
        return lines[-1] if lines else ""


def cli(*argv: str) -> tuple[int, str]:
    """(exit code, stderr) of `audit ARGV`, run in this process through the real entry point."""
    from audit.cli import main

    err = io.StringIO()
    old_argv = sys.argv
    sys.argv = ["audit", *argv]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except Exception as exc:  # noqa: BLE001 - the entry point let an exception out
                code = CRASHED
                err.write(f"error: crashed: {type(exc).__name__}: {exc}\n")
    finally:
        sys.argv = old_argv
    return code, err.getvalue()


def audit(data: Path, out: Path, *extra: str, stress: bool = False, report: bool = False) -> Outcome:
    """`audit run DATA --out OUT` (without the stress analytics and the report unless asked:
    the cases are about what is read, not how it is rendered)."""
    args = ["run", str(data), "--out", str(out), "--quiet"]
    if not stress:
        args.append("--no-stress")
    if not report:
        args.append("--no-report")
    code, stderr = cli(*args, *extra)
    outcome = Outcome(code, stderr, out)
    findings = out / "findings.json"
    if findings.is_file():
        outcome.findings = json.loads(findings.read_text(encoding="utf-8"))
    issues = out / "data_issues.csv"
    if issues.is_file():
        with issues.open(encoding="utf-8-sig", newline="") as fh:
            outcome.issues = list(csv.DictReader(fh))
    _log(outcome)
    return outcome


def _log(o: Outcome) -> None:
    """With HOSTILE_LOG set, append what this run left (one JSON line per run) for
    bench/hostile_outcomes.py, which compares the corpus' outcomes before and after a change."""
    target = os.environ.get("HOSTILE_LOG")
    if not target:
        return
    case = os.environ.get("HOSTILE_CASE") or os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    record = {"case": case, "code": o.code, "error": o.error_line[:160],
              "statuses": o.statuses,
              "unreadable": {r["id"]: r.get("unreadable") for r in (o.findings or {}).get("rules", [])
                             if r.get("unreadable")},
              "issues": len(o.issues)}
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def copy_export(base: Path, target: Path) -> Path:
    shutil.copytree(base, target)
    return target


def rewrite_csv(path: Path, edit, *, lineterminator: str = "\n") -> None:
    """Rewrite a CSV file: ``edit(rows)`` gets the header and rows as lists and changes them.

    A cell holding a bare carriage return needs ``lineterminator="\\r\\n"``: the csv module
    quotes a carriage return only when it is part of the line terminator, so with "\\n" the
    cell would be split where it stands.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator=lineterminator).writerows(rows)


def column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def lost_findings(o: Outcome, baseline: Outcome) -> dict[str, str]:
    """Rules that failed on the clean export and now report anything but failed or incomplete:
    a violation the attack made disappear without a trace."""
    return {rule: o.statuses.get(rule) for rule, status in baseline.statuses.items()
            if status == "failed" and o.statuses.get(rule) not in ("failed", "incomplete")}


def edit_rows(path: Path, where, change) -> int:
    """Change, in place, the rows of a CSV file for which ``where(row)`` holds (rows as dicts);
    returns how many were changed."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    hit = 0
    for row in rows:
        if where(row):
            change(row)
            hit += 1
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return hit
