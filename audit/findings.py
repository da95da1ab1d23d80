"""Findings: what a run found, as data (the findings.json document, the summary, the violating
records); the files that carry them are written by ``audit.formats``.

Outputs are deterministic for the same inputs, rules and profile: the run id is a hash of those,
rows are sorted, and the only clock reading honours SOURCE_DATE_EPOCH (reproducible builds).
Personal data never enters these files: evidence columns flagged personal in the contract are
dropped by the evaluator, and keys are identifiers, not names or document numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

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
        for r in self.results:
            if r.status in (FAILED, INCOMPLETE, ERROR, NOT_EVALUABLE) and self.gates(r.severity):
                return 1
        return 0

    def gates(self, severity: str) -> bool:
        """Whether a rule of ``severity`` that is not passed fails the run (``fail_on``)."""
        return SEVERITY_ORDER.index(severity) <= SEVERITY_ORDER.index(self.fail_on)


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
            "profile": _profile_provenance(ruleset.profile.name, ruleset.profile.path),
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


def _profile_provenance(name: str, path: str) -> dict[str, Any]:
    # NOTE: never relative to the working directory (the same audit run from two folders
    # must write the same findings.json) nor absolute (the auditor's folders are not the
    # audit's business), nor the package's own layout (a reader cannot look that up): a
    # built-in profile by its name (path null), any other by its file name; the sha256 of
    # the file's bytes pins either.
    p = Path(path).resolve() if path else None
    digest = hashlib.sha256(p.read_bytes()).hexdigest() if p and p.is_file() else None
    builtin = p is not None and p.parent == PROFILES_DIR.resolve()
    return {"name": name, "builtin": builtin, "path": None if builtin or p is None else p.name,
            "sha256": digest}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Violation:
    """One violating record, split for follow-up: which rule, where it came from, the business
    key that names it, and the evidence."""

    result: RuleResult
    severity: str  # of this record, after escalation
    source_row: int | None  # row number in the rule's table file (None: an aggregate)
    key: dict[str, Any]  # every key column of the contract the record carries
    evidence: dict[str, Any]  # every other column shown with the violation

    @property
    def rule(self):
        return self.result.rule


def violations(results: list[RuleResult]) -> Iterator[Violation]:
    """Every violating record of every failed rule, rules in order, records sorted by key."""
    for r in results:
        if r.records is None or r.status != FAILED:
            continue
        for rec in r.sample(size=r.records.height):
            # NOTE: every key column the record carries is kept, not only the rule's own key:
            # a financing's violation also names its client and account, so an auditor can
            # filter one client's violations across rules (they used to stay empty).
            key = {k: rec[k] for k in KEY_COLUMNS if rec.get(k) is not None}
            evidence = {k: v for k, v in rec.items()
                        if k not in key and k not in ("_row", SEVERITY) and k not in KEY_COLUMNS}
            yield Violation(r, rec.get(SEVERITY) or r.rule.severity, rec.get("_row"), key,
                            evidence)


def violation_rows(results: list[RuleResult]) -> list[dict[str, Any]]:
    """One row per violating record, keyed for follow-up (``detail``: the evidence as JSON)."""
    rows = []
    for v in violations(results):
        row = {"rule_id": v.rule.id, "severity": v.severity, "table": v.rule.table,
               "source_row": v.source_row}
        row.update({k: v.key.get(k) for k in KEY_COLUMNS})
        row["detail"] = json.dumps(v.evidence, ensure_ascii=False, sort_keys=True, default=str)
        rows.append(row)
    return rows
