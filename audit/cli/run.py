"""`audit run`: the full audit of one export."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from audit.cli.console import summary as summary_line
from audit.cli.console import text_of
from audit.cli.progress import Stages
from audit.cli.common import (
    EXIT_ERROR, SEVERITIES, DataDir, ImpactCoefficientOpt, ImpactOpt, LimitOpt, MappingOpt,
    ProfileOpt, RulesOpt, TimezoneOpt, fail, impact_model, info, limits_from, parse_params,
    require_dir,
)
from audit.formats import EXTRA, FORMATS

# NOTE: an Enum built from the registry, so `--help` lists the formats there are and a
# misspelt one is refused by the parser (exit 2) with the list.
ExtraFormat = Enum("ExtraFormat", {name: name for name in EXTRA}, type=str)


def run(
    data_dir: Path = DataDir,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for findings.json, violations.csv, "
                             "data_issues.csv, stress.json, the report and manifest.json: new, "
                             "empty, or an earlier run's output folder (replaced as a whole)."),
    profile: str = ProfileOpt,
    rules: Optional[list[Path]] = RulesOpt,
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
    prepared_by: Optional[str] = typer.Option(None, "--prepared-by", help="Who prepared the "
                                              "report: named in the cover's attestation block."),
    reviewed_by: Optional[str] = typer.Option(None, "--reviewed-by", help="Who reviewed the "
                                              "report: named in the cover's attestation block."),
    # NOTE: --auditor was the cover's reviewer before --reviewed-by; kept so scripts still run.
    auditor: Optional[str] = typer.Option(None, "--auditor", hidden=True),
    formats: Optional[list[ExtraFormat]] = typer.Option(
        None, "--format", help="Extra output (repeatable): " + "; ".join(
            f"{f.name}: {f.help}" for f in (FORMATS[n] for n in EXTRA)) + "."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print the summary line."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout "
                                 "(every log line stays on stderr)."),
    limit: Optional[list[str]] = LimitOpt,
) -> None:
    """Audit DATA_DIR against the rule packs and write machine-readable findings to OUT.

    Exit code: 0 no finding at or above `--fail-on`, 1 at least one (a rule of that severity
    that failed, or could not be evaluated on this export), 2 bad usage or unreadable input.
    """
    from audit.formats import Options, default_formats, write_outputs
    from audit.load import LoadError
    from audit.outputs import OutputFolder
    from audit.pipeline import run_audit
    from audit.rules import RuleFileError

    require_dir(data_dir)
    if fail_on not in SEVERITIES:
        fail(text_of("bad_fail_on", value=fail_on, choices=", ".join(SEVERITIES)))
    reference = _parse_date(as_of) if as_of else None
    if lang not in ("en", "zh"):
        fail(text_of("bad_lang", value=lang))
    extra = [f.value for f in formats or []]
    if as_json and "github" in extra:
        fail("--json and --format github both write to stdout; choose one (the JSON summary "
             "is also in findings.json)")
    model = impact_model(impact, impact_coefficient)
    limits = limits_from(limit)
    params = parse_params(param)
    options = Options(lang=lang, mask=mask, prepared_by=prepared_by,
                      reviewed_by=reviewed_by or auditor,
                      source_root=str(data_dir))
    # NOTE: the output folder is checked and its partial sibling made before the audit, so a
    # wrong --out is said at once, not after minutes of work; every output is written there
    # and moved into place only when the last one (the report) is done.
    stages = Stages(["load", "contract", *(["stress"] if stress else []), "rules",
                     "report" if report else "write"])
    with OutputFolder(out, inputs=(data_dir, mapping)) as folder, stages:
        try:
            result = run_audit(data_dir, profile=profile, mapping=mapping, as_of=reference,
                               fail_on=fail_on, params=params,
                               progress=None if quiet else info, stress=stress,
                               impact=model, timezone=timezone, limits=limits,
                               rules=rules, stage=stages.start)
        except (LoadError, RuleFileError) as err:
            fail(str(err), EXIT_ERROR)
        stages.start("report" if report else "write")
        with folder.writing():
            paths = write_outputs(result, folder.path,
                                  default_formats(report=report, stress=stress) + extra, options)
        written = folder.publish(result.run_id)
    paths = {kind: written / path.relative_to(folder.path) for kind, path in paths.items()}
    if report and not quiet:
        info(text_of("run_report", paths=", ".join(str(paths[k]) for k in ("html", "pdf")
                                                   if k in paths)))
    _print_summary(result, paths, quiet)
    if as_json:
        from audit.cli.summary import json_summary

        typer.echo(json_summary(result, paths))
    raise typer.Exit(result.exit_code())


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(text_of("bad_date", value=text))


def _print_summary(result, paths, quiet: bool) -> None:
    from audit.findings import summary

    s = summary(result)
    if not quiet:
        for r in result.results:
            mark = {"passed": "PASS", "failed": "FAIL", "incomplete": "INCMP", "error": "ERROR",
                    "not_evaluable": "N/E", "not_applicable": "N/A"}[r.status]
            detail = f"{r.violations:,}/{r.checked:,}" if r.checked else (r.message or "")
            if r.checked and r.not_evaluable:
                detail += f", {r.not_evaluable:,} not evaluable"
            if r.unreadable:
                detail += f", {r.unreadable:,} unreadable"
            info(f"  {mark:5} {r.rule.id:8} {r.rule.severity:8} {r.rule.title} [{detail}]")
    counts = {k: f"{s[k]:,}" for k in ("rules", "passed", "failed", "incomplete", "error",
                                        "not_evaluable", "not_applicable", "violations",
                                        "data_issues")}
    summary_line(text_of("run_summary", folder=paths["findings"].parent, **counts))
    from audit.load.preflight import not_tested_lines

    # NOTE: printed even with -q: "not tested" must never read as "passed".
    for line in not_tested_lines(result.missing_tables, result.ruleset.rules):
        summary_line(line)
