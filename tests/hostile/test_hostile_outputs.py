"""The outputs side of "the auditee controls the export, never the audit": what a run writes
cannot be turned against the auditor (a cell that splits a CSV row or runs as a formula), and
where and how it is written is the auditor's choice and all-or-nothing (tests follow below)."""

from __future__ import annotations

import csv
import re

import polars as pl

from harness import audit, column, rewrite_csv

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
HOSTILE_CASH = ["x\r=1+1", " =1+1", "\t=2+2", "\r=3+3", "\uff1d4+4", "@SUM(A1)"]


def _live_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@") and not PLAIN_NUMBER.fullmatch(cell)


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
    with (out.out / "violations.csv").open(encoding="utf-8", newline="") as fh:
        violations = list(csv.reader(fh))
    assert len(violations) - 1 == out.findings["summary"]["violations"]
    assert not [c for row in violations[1:] for c in row if _live_formula(c)]
