"""The JSON summary of a command (`--json`): one document on stdout for a script or CI step;
every log line goes to stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.findings import Run


def json_summary(run: "Run", paths: dict[str, Path]) -> str:
    from audit import __version__
    from audit.findings import summary

    document: dict[str, Any] = {
        "tool": {"name": "platform-audit", "version": __version__},
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "profile": run.ruleset.profile.name,
        "summary": summary(run),
        "outputs": {kind: str(path) for kind, path in sorted(paths.items())},
        "rules": [{"id": r.rule.id, "severity": r.severity, "status": r.status,
                   "checked": r.checked, "violations": r.violations,
                   "not_evaluable": r.not_evaluable, "gates": run.gates(r.severity)}
                  for r in run.results],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def validate_summary(export, issues: list, exit_code: int) -> str:
    """`audit validate --json`: the tables read and every data-quality issue (personal values
    masked, as in data_issues.csv)."""
    from audit.findings import _issue_order, _issue_row

    document = {
        "tables": [{"table": name, "file": t.relpath or t.path.name, "rows_read": t.rows_read,
                    "rows_checked": t.frame.height, "rows_unreadable": t.rows_unreadable}
                   for name, t in sorted(export.tables.items())],
        "timezone": export.timezone,
        "unrecognised_files": sorted(export.unrecognised_files),
        "data_issues": len(issues),
        "issues": [_issue_row(i) for i in sorted(issues, key=_issue_order)],
        "exit_code": exit_code,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)
