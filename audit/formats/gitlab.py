"""gl-code-quality-report.json: GitLab's code quality report (the Code Climate issue format), so
a merge request shows the violations.

One issue per violation: ``check_name`` the rule id, ``location`` its source file and row (the
export folder when the record is an aggregate of several files), ``severity`` critical ->
critical, high -> major, medium -> minor, low -> info, and ``fingerprint`` the rule id and the
business key (never the row number, so a violation keeps its identity when the export is
re-cut); records sharing a rule and key (a rule over a whole table) are told apart by their
order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.formats.located import key_text, located, plain
from audit.formats.sarif import fingerprint
from audit.mask import mask_row

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options

SEVERITY = {"critical": "critical", "high": "major", "medium": "minor", "low": "info"}


def issues(run: "Run", options: "Options") -> list[dict[str, Any]]:
    out = []
    seen: dict[str, int] = {}
    root = (options.source_root or ".").replace("\\", "/").rstrip("/") or "."
    for loc in located(run, options.source_root):
        v, rule = loc.violation, loc.rule
        base = fingerprint(v)
        n = seen[base] = seen.get(base, 0) + 1
        evidence = ", ".join(f"{k}={plain(x)}"
                             for k, x in mask_row(v.evidence, options.mask).items())
        key = key_text(mask_row(v.key, options.mask)) or "the whole table"
        out.append({
            "type": "issue",
            "check_name": rule.id,
            "description": f"{rule.id} {rule.title}: {key}" + (f" ({evidence})" if evidence
                                                              else ""),
            "categories": ["Compliance"],
            "severity": SEVERITY[v.severity],
            "fingerprint": base if n == 1 else f"{base}-{n}",
            "location": {"path": loc.path or root,
                         "lines": {"begin": int(v.source_row) if v.source_row else 1}},
        })
    return out


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    path = out_dir / "gl-code-quality-report.json"
    path.write_text(json.dumps(issues(run, options), ensure_ascii=False, indent=2, default=str)
                    + "\n", encoding="utf-8")
    return path
