"""The pipeline, stage by stage: load -> validate -> evaluate (-> analyse -> report)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable

from audit.disclosure import in_force_at
from audit.evaluate import Context, evaluate, reference_date
from audit.findings import Run
from audit.load import load_export
from audit.load.limits import DEFAULT_LIMITS, Limits
from audit.load.preflight import (
    check_as_of, missing_tables, provided_columns, require_export_files,
)
from audit.rulesources import load_ruleset, rule_sources
from audit.validate import check_contract


def run_audit(
    data_dir: Path,
    profile: str = "seed",
    mapping: Path | None = None,
    as_of: date | None = None,
    fail_on: str = "high",
    params: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    stress: bool = True,
    impact=None,
    timezone: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    rules: list[Path] | None = None,
    stage: Callable[[str], None] | None = None,
) -> Run:
    """Audit the export in ``data_dir``; raises LoadError / RuleFileError for bad input.
    ``impact`` is the spiral's ImpactModel (default: the square-root law with Y = 1);
    ``timezone`` the export's zone when the auditor states it (else mapping.yaml's, else the
    profile's ``timezone`` parameter); ``limits`` the loader's caps (audit.load.limits);
    ``rules`` the auditor's own rule folders (audit.rulesources; entry points load always);
    ``stage`` is told each stage as it begins: load, contract, stress, rules."""
    say = progress or (lambda _msg: None)
    begin = stage or (lambda _name: None)
    begin("load")
    ruleset = load_ruleset(profile, rule_sources(rules, data_dir), overrides=params)
    say(f"rules: {len(ruleset.rules):,} from {len(ruleset.packs)} pack(s), profile {profile}")
    export = load_export(data_dir, mapping, timezone=timezone,
                         default_timezone=str(ruleset.params["timezone"]), limits=limits)
    # NOTE: nothing is audited about nothing: no table file, or an as-of outside the data's
    # dates, ends the run here (exit code 2); a missing table is said up front.
    require_export_files(export, data_dir)
    check_as_of(as_of or ruleset.params.get("as_of"),
                {name: t.frame for name, t in export.tables.items()},
                "--as-of" if as_of else "--param as_of")
    missing = missing_tables(export.tables, ruleset, stress, provided_columns(export))
    for m in missing:
        say(f"warning: {m.message()}")
    for name, t in sorted(export.tables.items()):
        say(f"loaded {name}: {t.rows_read:,} rows read, {t.rows_unreadable:,} unreadable ({t.path.name})")
    say(f"times read in {export.timezone} ({export.timezone_source})")
    for note in export.notes:
        say(note)
    begin("contract")
    issues = list(export.issues) + check_contract(export)
    say(f"data contract: {len(issues):,} data-quality issue(s)")
    tables = {name: t.frame for name, t in export.tables.items()}
    provided = {name: set(t.column_map.values()) for name, t in export.tables.items()}
    as_of = as_of or ruleset.params.get("as_of") or reference_date(tables)
    if stress:
        begin("stress")
    stress_result = (run_stress_analytics(tables, as_of, say, impact, ruleset.params,
                                          jurisdictions=ruleset.profile.jurisdictions)
                     if stress else None)
    if stress_result is not None:
        from audit.stress import stress_table

        tables["stress"] = stress_table(stress_result)
    rejected = {name: t.rows_unreadable for name, t in export.tables.items()}
    if stress_result is not None:
        # NOTE: the stress test runs on the whole book; a holding it could not read is a loss
        # it did not count, so the rules reading its results are never 'passed' on it.
        rejected["stress"] = stress_unreadable(export, as_of)
    unread_files: dict[str, int] = {}
    for table in export.passed_over.values():
        unread_files[table] = unread_files.get(table, 0) + 1
    begin("rules")
    ctx = Context.build(tables, ruleset.params, as_of, provided, rejected=rejected,
                        unread_files=unread_files)
    for note in ctx.notes:
        say(note)
    results = evaluate(ruleset, tables, as_of, ctx=ctx)
    return Run(export=export, ruleset=ruleset, results=results, data_issues=issues,
               as_of=as_of, fail_on=fail_on, stress=stress_result,
               notes=list(export.notes) + ctx.notes,
               calendar=ctx.calendar.describe() if ctx.calendar else None,
               missing_tables=missing)


STRESS_INPUTS = ("accounts", "positions", "instruments", "capital", "platform")
DATED_INPUTS = ("accounts", "positions")  # only the as-of date's rows enter the book


def stress_unreadable(export, as_of: date | None) -> int:
    """Rows the stress test read or might have read that hold an unreadable cell: the as-of
    date's (or an unreadable date's) accounts and positions, every row of the other inputs,
    and every ragged row of them all."""
    from audit.vocab import UNREADABLE
    import polars as pl

    count = 0
    for name in STRESS_INPUTS:
        t = export.tables.get(name)
        if t is None:
            continue
        count += t.rows_unreadable
        frame = t.frame
        if UNREADABLE not in frame.columns:
            continue
        bad = pl.col(UNREADABLE).is_not_null()
        if name in DATED_INPUTS and as_of is not None:
            bad = bad & (pl.col("date").is_null() | (pl.col("date") == as_of))
        count += frame.select(bad.sum()).item()
    return count


def run_stress_analytics(tables, as_of, say, impact=None, params: dict[str, Any] | None = None,
                         jurisdictions=None):
    """The stress tests of the export, or None (said why) when its tables do not allow them.
    ``jurisdictions``: the profile's; only the scenarios that fit its books run (None: all)."""
    from audit.stress import StressError, load_scenarios, run_stress

    inclusive = bool((params or {}).get("line_inclusive", False))
    # NOTE: a malformed scenario file is a RuleFileError, reported like a bad rule file.
    scenarios = load_scenarios(jurisdictions=jurisdictions)
    try:
        result = run_stress(tables, in_force_at(tables, as_of), scenarios, as_of=as_of,
                            impact=impact, line_inclusive=inclusive)
    except StressError as err:
        say(f"stress analytics skipped: {err}")
        return None
    say(f"stress analytics: {len(result.to_dict()['scenarios'])} scenario(s)")
    return result
