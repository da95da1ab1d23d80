"""`audit run`: the full audit of one export."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from audit.cli.common import (
    EXIT_ERROR, SEVERITIES, DataDir, ImpactCoefficientOpt, ImpactOpt, LimitOpt, MappingOpt,
    ProfileOpt, TimezoneOpt, fail, impact_model, info, limits_from, parse_params, require_dir,
)


def run(
    data_dir: Path = DataDir,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for findings.json, violations.csv, "
                             "data_issues.csv, stress.json, the report and manifest.json: new, "
                             "empty, or an earlier run's output folder (replaced as a whole)."),
    profile: str = ProfileOpt,
    mapping: Optional[Path] = MappingOpt,
    timezone: Optional[str] = TimezoneOpt,
    fail_on: str = typer.Option("high", help="Exit 1 when a rule of this severity or above "
                                "fails: critical, high, medium or low."),
    as_of: Optional[str] = typer.Option(None, help="Reference date YYYY-MM-DD (default: the "
                                        "last snapshot date in the export)."),
    param: Optional[list[str]] = typer.Option(None, "--param", help="Override a rule parameter: "
                                              "name=value (repeatable)."),
    stress: bool = typer.Option(True, "--stress/--no-stress", help="Run the stress analytics "
                                "(scenarios, deleveraging spiral) and the rules that read them."),
    impact: str = ImpactOpt,
    impact_coefficient: float = ImpactCoefficientOpt,
    report: bool = typer.Option(True, "--report/--no-report", help="Render report.pdf and "
                                "report.html into OUT."),
    lang: str = typer.Option("en", "--lang", help="Report language: en or zh."),
    mask: bool = typer.Option(True, "--mask/--no-mask", help="Mask names, ID numbers, phones "
                              "and bank accounts in the report (default). --no-mask must be "
                              "explicit."),
    prepared_by: Optional[str] = typer.Option(None, "--prepared-by", help="Shown on the cover."),
    auditor: Optional[str] = typer.Option(None, "--auditor", help="Shown on the cover."),
    formats: Optional[list[str]] = typer.Option(None, "--format", help="Extra output: junit "
                                                "(rules as JUnit XML, for a platform's CI)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print the summary line."),
    limit: Optional[list[str]] = LimitOpt,
) -> None:
    """Audit DATA_DIR against the rule packs and write machine-readable findings to OUT.

    Exit code: 0 no finding at or above `--fail-on`, 1 at least one (a rule of that severity
    that failed, or could not be evaluated on this export), 2 bad usage or unreadable input.
    """
    from audit.findings import write_outputs
    from audit.load import LoadError
    from audit.outputs import OutputFolder
    from audit.pipeline import run_audit
    from audit.rules import RuleFileError

    require_dir(data_dir)
    if fail_on not in SEVERITIES:
        fail(f"--fail-on {fail_on!r}: use one of {', '.join(SEVERITIES)}")
    reference = _parse_date(as_of) if as_of else None
    if lang not in ("en", "zh"):
        fail(f"--lang {lang!r}: use en or zh")
    unknown = sorted(set(formats or []) - {"junit"})
    if unknown:
        fail(f"--format {unknown[0]!r}: the extra format available is junit")
    model = impact_model(impact, impact_coefficient)
    limits = limits_from(limit)
    params = parse_params(param)
    # NOTE: the output folder is checked and its partial sibling made before the audit, so a
    # wrong --out is said at once, not after minutes of work; every output is written there
    # and moved into place only when the last one (the report) is done.
    with OutputFolder(out, inputs=(data_dir, mapping)) as folder:
        try:
            result = run_audit(data_dir, profile=profile, mapping=mapping, as_of=reference,
                               fail_on=fail_on, params=params,
                               progress=None if quiet else info, stress=stress,
                               impact=model, timezone=timezone, limits=limits)
        except (LoadError, RuleFileError) as err:
            fail(str(err), EXIT_ERROR)
        with folder.writing():
            paths = write_outputs(result, folder.path)
            if result.stress is not None:
                from audit.stress import write_stress

                paths["stress"] = write_stress(result.stress, folder.path)
            if "junit" in (formats or []):
                from audit.report.junit import write_junit

                paths["junit"] = write_junit(result, folder.path / "rules.junit.xml")
            if report:
                paths.update(_render(result, folder.path, lang, mask, prepared_by, auditor))
        written = folder.publish(result.run_id)
    paths = {kind: written / path.relative_to(folder.path) for kind, path in paths.items()}
    if report and not quiet:
        info("report: " + ", ".join(str(paths[k]) for k in ("html", "pdf") if k in paths))
    _print_summary(result, paths, quiet)
    raise typer.Exit(result.exit_code())


def _render(result, out: Path, lang: str, mask: bool, prepared_by, auditor) -> dict:
    from audit.report import render_report
    from audit.report.pdf import ReportDependencyError

    stress = result.stress.to_dict() if result.stress is not None else None
    # NOTE: only the missing renderer is the user's to fix; any other error of rendering is
    # a bug and ends as one (exit code 3, traceback in a log), not as bad usage.
    try:
        return render_report(result, out, lang=lang, mask=mask, prepared_by=prepared_by,
                             auditor=auditor, stress=stress)
    except ReportDependencyError as err:
        fail(str(err))


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--as-of {text!r}: write the date as YYYY-MM-DD")


def _print_summary(result, paths, quiet: bool) -> None:
    from audit.findings import summary

    s = summary(result)
    if not quiet:
        for r in result.results:
            mark = {"passed": "PASS", "failed": "FAIL", "incomplete": "INCMP", "error": "ERROR",
                    "not_evaluable": "N/E", "not_applicable": "N/A"}[r.status]
            detail = f"{r.violations}/{r.checked}" if r.checked else (r.message or "")
            if r.checked and r.not_evaluable:
                detail += f", {r.not_evaluable} not evaluable"
            if r.unreadable:
                detail += f", {r.unreadable} unreadable"
            info(f"  {mark:5} {r.rule.id:8} {r.rule.severity:8} {r.rule.title} [{detail}]")
    info(f"{s['rules']} rules: {s['passed']} passed, {s['failed']} failed, "
         f"{s['incomplete']} incomplete, {s['error']} error, "
         f"{s['not_evaluable']} not evaluable, {s['not_applicable']} not applicable; "
         f"{s['violations']} violation(s), "
         f"{s['data_issues']} data issue(s); findings in {paths['findings'].parent}")
    from audit.load.preflight import not_tested_lines

    for line in not_tested_lines(result.missing_tables, result.ruleset.rules):
        info(line)
