"""The pipeline, stage by stage: load -> validate -> evaluate (-> analyse -> report)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable

from audit.evaluate import evaluate, reference_date
from audit.findings import Run
from audit.load import load_export
from audit.rules import load_ruleset
from audit.validate import check_contract


def run_audit(
    data_dir: Path,
    profile: str = "seed",
    mapping: Path | None = None,
    as_of: date | None = None,
    fail_on: str = "high",
    params: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Run:
    """Audit the export in ``data_dir``; raises LoadError / RuleFileError for bad input."""
    say = progress or (lambda _msg: None)
    ruleset = load_ruleset(profile, overrides=params)
    say(f"rules: {len(ruleset.rules)} from {len(ruleset.packs)} pack(s), profile {profile}")
    export = load_export(data_dir, mapping)
    for name, t in sorted(export.tables.items()):
        say(f"loaded {name}: {t.rows_read} rows read, {t.rows_unreadable} unreadable ({t.path.name})")
    issues = list(export.issues) + check_contract(export)
    say(f"data contract: {len(issues)} data-quality issue(s)")
    tables = {name: t.frame for name, t in export.tables.items()}
    as_of = as_of or reference_date(tables)
    results = evaluate(ruleset, tables, as_of)
    return Run(export=export, ruleset=ruleset, results=results, data_issues=issues,
               as_of=as_of, fail_on=fail_on)
