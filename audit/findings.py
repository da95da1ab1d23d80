"""Findings: the machine-readable outputs of a run (findings.json, violations.csv, data_issues.csv).

Outputs are deterministic for the same inputs, rules and profile: the run id is a hash of those,
rows are sorted, and the only clock reading honours SOURCE_DATE_EPOCH (reproducible builds).
Personal data never enters these files: evidence columns flagged personal in the contract are
dropped by the evaluator, and keys are identifiers, not names or document numbers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from audit import __version__, contract
from audit.evaluate import SEVERITY, RuleResult
from audit.vocab import ERROR, FAILED, INCOMPLETE, NOT_EVALUABLE, PASSED, SEVERITIES, STATUSES
from audit.load import DataIssue, Export
from audit.mask import mask_issue
from audit.rules import NORM_IDS, PROFILES_DIR, RuleSet, pack_hash

FINDINGS_SCHEMA_VERSION = 3
SEVERITY_ORDER = SEVERITIES
DATA_ISSUE_SAMPLE = 200
# Key columns of violations.csv, in a fixed order: the union of every table's key.
KEY_COLUMNS = tuple(dict.fromkeys(k for t in (*contract.TABLES, *contract.DERIVED) for k in t.key))


@dataclass
class Run:
    """Everything a run produced, ready to be written or rendered."""

    export: Export
    ruleset: RuleSet
    results: list[RuleResult]
    data_issues: list[DataIssue]  # unreadable cells and contract failures
    as_of: date | None
    fail_on: str = "high"
    stress: Any = None  # audit.stress.StressResult when the stress analytics ran
    notes: list[str] = field(default_factory=list)  # how the export was read (derived tables ...)
    calendar: str | None = None  # the trading calendar the deadlines were counted on, described
    missing_tables: list = field(default_factory=list)  # audit.load.preflight.MissingTable

    @property
    def run_id(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.export.tables):
            digest.update(self.export.tables[name].sha256.encode())
        digest.update(pack_hash(self.ruleset.packs).encode())
        digest.update(json.dumps(self.ruleset.params, sort_keys=True, default=str).encode())
        digest.update(str(self.as_of).encode())
        return digest.hexdigest()[:16]

    def exit_code(self) -> int:
        """1 when a rule at or above ``fail_on`` failed, errored or could not be evaluated
        (a rule not tested is never a pass), else 0."""
        threshold = SEVERITY_ORDER.index(self.fail_on)
        for r in self.results:
            if (r.status in (FAILED, INCOMPLETE, ERROR, NOT_EVALUABLE)
                    and SEVERITY_ORDER.index(r.severity) <= threshold):
                return 1
        return 0


def generated_at() -> str:
    """Now, or SOURCE_DATE_EPOCH when set, in UTC ISO form."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (datetime.fromtimestamp(int(epoch), tz=timezone.utc) if epoch and epoch.isdigit()
              else datetime.now(tz=timezone.utc))
    return moment.replace(microsecond=0).isoformat()


def summary(run: Run) -> dict[str, Any]:
    counts = {s: 0 for s in STATUSES}
    by_severity = {s: 0 for s in SEVERITY_ORDER}
    for r in run.results:
        counts[r.status] += 1
        if r.status == FAILED:
            by_severity[r.severity] += 1
    return {
        "rules": len(run.results),
        **counts,
        "failed_by_severity": by_severity,
        "violations": sum(r.violations for r in run.results),
        "records_not_evaluable": sum(r.not_evaluable for r in run.results),
        "data_issues": len(run.data_issues),
        "rows_unreadable": sum(t.rows_unreadable for t in run.export.tables.values()),
        "rows_partly_unreadable": sum(t.rows_partly_unreadable
                                      for t in run.export.tables.values()),
        # NOTE: what the export lacks is said, never left to be read as a pass.
        "tables_missing": [m.table for m in run.missing_tables],
        "norms_not_tested": _norms_not_tested(run),
        "fail_on": run.fail_on,
        "exit_code": run.exit_code(),
    }


def _norms_not_tested(run: Run) -> list[str]:
    """The norms no rule of which was evaluated (passed, failed or incomplete) on this export."""
    tested = {n for r in run.results if r.status in (PASSED, FAILED, INCOMPLETE)
              for n in r.rule.norms}
    cited = {n for r in run.results for n in r.rule.norms}
    return [n for n in NORM_IDS if n in cited and n not in tested]


def findings_document(run: Run) -> dict[str, Any]:
    """The findings.json document (schema: docs/findings-schema.md)."""
    ruleset = run.ruleset
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "tool": {"name": "platform-audit", "version": __version__},
        "run": {
            "id": run.run_id,
            "generated_at": generated_at(),
            "as_of": run.as_of.isoformat() if run.as_of else None,
            "profile": {"name": ruleset.profile.name, "path": _profile_path(ruleset.profile.path)},
            "parameters": {k: _plain(v) for k, v in sorted(ruleset.params.items())},
        },
        "contract": {
            "version": contract.CONTRACT_VERSION,
            "timezone": getattr(run.export, "timezone", None),
            "timezone_source": getattr(run.export, "timezone_source", None),
            "trading_calendar": run.calendar,
            "notes": list(run.notes),
        },
        "inputs": [_input(t) for _, t in sorted(run.export.tables.items())],
        "unrecognised_files": sorted(run.export.unrecognised_files),
        "missing_tables": [m.to_dict() for m in run.missing_tables],
        "mapping": getattr(run.export, "mapping", None),
        "unloaded_sheets": [
            {"file": s.file, "sheet": s.sheet, "rows": s.rows, "state": s.state,
             "reason": s.reason}
            for s in getattr(run.export, "unloaded_sheets", [])
        ],
        "rule_packs": {
            "sha256": pack_hash(ruleset.packs),
            "packs": [{"name": p.name, "version": p.version, "sha256": p.sha256,
                       "rules": len(p.rules)} for p in ruleset.packs],
        },
        "summary": summary(run),
        "data_quality": _data_quality(run.data_issues),
        "rules": [_rule_entry(r) for r in run.results],
    }


def _input(t) -> dict[str, Any]:
    return {
        "table": t.name,
        "path": t.relpath or t.path.name,
        "format": t.format,
        "encoding": t.encoding,
        "sha256": t.sha256,
        "rows_read": t.rows_read,
        "rows_checked": t.frame.height,
        "rows_unreadable": t.rows_unreadable,
        "rows_partly_unreadable": t.rows_partly_unreadable,
        "extra_columns": list(t.extra_columns),
    }


def _data_quality(issues: list[DataIssue]) -> dict[str, Any]:
    by_table: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for i in issues:
        by_table[i.table] = by_table.get(i.table, 0) + 1
        by_code[i.code] = by_code.get(i.code, 0) + 1
    return {
        "issues": len(issues),
        "by_table": dict(sorted(by_table.items())),
        "by_code": dict(sorted(by_code.items())),
        "sample": [_issue_row(i) for i in sorted(issues, key=_issue_order)[:DATA_ISSUE_SAMPLE]],
        "complete_list": "data_issues.csv" if issues else None,
    }


def _rule_entry(r: RuleResult) -> dict[str, Any]:
    rule = r.rule
    return {
        "id": rule.id,
        "title": rule.title,
        "title_zh": rule.title_zh,
        "pack": rule.pack,
        "norms": rule.norms,
        "severity": r.severity,
        "base_severity": rule.severity,
        "confidence": rule.confidence,
        "status": r.status,
        "checked": r.checked,
        "violations": r.violations,
        "rate": None if r.rate is None else round(r.rate, 6),
        "not_evaluable": r.not_evaluable,
        "unreadable": r.unreadable,
        "not_evaluable_reasons": dict(r.not_evaluable_reasons),
        "caveats": list(r.caveats),
        "message": r.message or None,
        "table": rule.table,
        "key": rule.key_columns,
        "references": [ref.model_dump(exclude_none=True) for ref in rule.references],
        "sample": r.sample(),
    }


def _issue_order(i: DataIssue) -> tuple:
    return (i.table, i.row if i.row is not None else -1, i.column or "", i.problem)


def _issue_row(i: DataIssue) -> dict[str, Any]:
    # NOTE: an unreadable cell of a personal column (or a whole ragged row of the clients
    # table) would otherwise carry a name or ID number into the outputs.
    return mask_issue({"file": Path(i.file).name, "table": i.table, "row": i.row,
                       "column": i.column, "code": i.code, "value": i.value,
                       "problem": i.problem})


def _profile_path(path: str) -> str:
    # NOTE: never relative to the working directory (the same audit run from two folders
    # must write the same findings.json) nor absolute (the auditor's folders are not the
    # audit's business): a built-in profile as the tool ships it, rules/profiles/<name>.yaml,
    # any other by its file name.
    p = Path(path).resolve()
    if p.parent == PROFILES_DIR.resolve():
        return f"rules/profiles/{p.name}"
    return p.name


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def violation_rows(results: list[RuleResult]) -> list[dict[str, Any]]:
    """One row per violating record, keyed for follow-up."""
    rows = []
    for r in results:
        if r.records is None or r.status != FAILED:
            continue
        key_cols = r.rule.key_columns
        for rec in r.sample(size=r.records.height):
            row = {"rule_id": r.rule.id, "severity": rec.get(SEVERITY) or r.rule.severity,
                   "table": r.rule.table, "source_row": rec.get("_row")}
            row.update({k: rec.get(k) if k in key_cols else None for k in KEY_COLUMNS})
            detail = {k: v for k, v in rec.items()
                      if k not in key_cols and k not in ("_row", SEVERITY)}
            row["detail"] = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
            rows.append(row)
    return rows


def write_outputs(run: Run, out_dir: Path) -> dict[str, Path]:
    """Write findings.json, violations.csv and data_issues.csv into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "findings": out_dir / "findings.json",
        "violations": out_dir / "violations.csv",
        "data_issues": out_dir / "data_issues.csv",
    }
    document = findings_document(run)
    paths["findings"].write_text(
        json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    fields = ["rule_id", "severity", "table", "source_row", *KEY_COLUMNS, "detail"]
    _write_csv(paths["violations"], fields, violation_rows(run.results))
    issue_fields = ["file", "table", "row", "column", "code", "value", "problem"]
    _write_csv(paths["data_issues"], issue_fields,
               [_issue_row(i) for i in sorted(run.data_issues, key=_issue_order)])
    return paths


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    # NOTE: "\r\n" line ends, not "\n": the csv module quotes a cell holding a character of
    # the line terminator, so with "\n" alone a bare "\r" inside a hostile cell stayed
    # unquoted, a CSV reader split the row there and the next "record" could start with a live
    # formula. With "\r\n" every cell holding "\r", "\n", a comma or a quote is quoted.
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\r\n",
                                quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_safe(row.get(k)) for k in fields})


# A cell a spreadsheet would run as a formula: = + - @ first, also behind leading blanks or
# control characters (some spreadsheets strip them on import) and in their full-width forms
# (East-Asian input methods type them; escaping a text cell that starts with one costs only the
# apostrophe); a tab or carriage return first is escaped whatever follows (OWASP).
_FORMULA = re.compile(r"^(?:[\s\x00-\x1f\x7f\u200b-\u200d\u2060\ufeff]*"
                      r"[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r])")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _csv_safe(value: Any) -> Any:
    # NOTE: a value from a hostile export such as "=HYPERLINK(...)" must not become a live
    # formula when an auditor opens the CSV in a spreadsheet (CSV injection): it is prefixed
    # with an apostrophe, which spreadsheets read as "text follows". A plain signed number
    # ("-5", "+1.5e3") is left as it is; "-inf" or "-1+1" are not plain numbers.
    if isinstance(value, str) and _FORMULA.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
