"""`audit stress`: scenario shocks, the deleveraging spiral and the cost of risk control on one export."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import polars as pl
import typer

from audit.cli.console import summary as summary_line
from audit.cli.console import lang, pad, text_of
from audit.cli.messages import MESSAGES
from audit.cli.progress import Stages
from audit.cli.common import (
    EXIT_ERROR, EXIT_FINDINGS, DataDir, ImpactCoefficientOpt, ImpactOpt, LimitOpt, MappingOpt,
    ProfileOpt, RulesOpt, TimezoneOpt, fail, impact_model, info, limits_from, require_dir,
)


def stress(
    data_dir: Path = DataDir,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for stress.json and "
                             "manifest.json: new, empty, or an earlier run's output folder "
                             "(replaced as a whole)."),
    scenario: Optional[list[str]] = typer.Option(None, "--scenario", "-s", help="Run only this "
                                                 "scenario (repeatable; default: every file in "
                                                 "rules/scenarios that fits the profile's "
                                                 "jurisdictions)."),
    profile: str = ProfileOpt,
    rules: Optional[list[Path]] = RulesOpt,
    mapping: Optional[Path] = MappingOpt,
    timezone: Optional[str] = TimezoneOpt,
    as_of: Optional[str] = typer.Option(None, help="Snapshot date YYYY-MM-DD (default: the "
                                        "last snapshot date in the export)."),
    impact: str = ImpactOpt,
    impact_coefficient: float = ImpactCoefficientOpt,
    as_json: bool = typer.Option(False, "--json", help="Print stress.json to stdout too."),
    limit: Optional[list[str]] = LimitOpt,
) -> None:
    """Stress the book in DATA_DIR: every scenario of the profile's market over a 10-day path
    within the daily price limits (the verdict) and through the one-instant spiral (a
    sensitivity), reverse stress tests, cover-1 / cover-2, a funding stress, the model-risk
    grid and what leverage caps and concentration limits cost and save.

    Exit code: 0 capital covers every severe scenario's stressed shortfall (or no capital
    table), 1 it does not, 2 bad usage or unreadable input.
    """
    from audit.disclosure import in_force_at
    from audit.evaluate import reference_date
    from audit.load import LoadError
    from audit.load.preflight import check_as_of
    from audit.outputs import OutputFolder
    from audit.load.types import file_sha256
    from audit.rules import BUILTINS, RuleFileError
    from audit.rulesources import find_profile, rule_sources
    from audit.stress import ScenarioError, StressError, load_scenarios, run_stress, write_stress

    require_dir(data_dir)
    reference = _parse_date(as_of) if as_of else None
    model = impact_model(impact, impact_coefficient)
    limits = limits_from(limit)
    try:
        # NOTE: the profile chooses the scenarios that fit its books, as in `audit run`.
        jurisdictions = find_profile(profile, rule_sources(rules, data_dir)).jurisdictions
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)
    stages = Stages(["load", "stress", "write"])
    with OutputFolder(out, inputs=(data_dir, mapping), command="stress") as folder, stages:
        try:
            stages.start("load")
            scenarios = load_scenarios(scenario or None, jurisdictions=jurisdictions)
            tables = _load_tables(data_dir, mapping, timezone, limits)
            check_as_of(reference, tables)  # NOTE: exit 2 naming the data's dates, as in run
            at = reference or reference_date(tables)
            stages.start("stress")
            result = run_stress(tables, in_force_at(tables, at), scenarios, as_of=at,
                                impact=model,
                                line_inclusive=bool(BUILTINS["line_inclusive"].default))
        except (ScenarioError, StressError, LoadError) as err:
            fail(str(err), EXIT_ERROR)
        stages.start("write")
        with folder.writing():
            staged = write_stress(result, folder.path)
        # NOTE: stress.json has no run id of its own (findings.json's is a hash of the
        # inputs); the manifest records its content's hash instead.
        written = folder.publish(file_sha256(staged)[:16])
    path = written / staged.name
    summary = result.to_dict()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    _print_summary(summary, path)
    # NOTE: every severe scenario is one capital must cover: one not covered is a finding.
    uncovered = any(s["covered_by_capital"] is False for s in _severe(summary))
    raise typer.Exit(EXIT_FINDINGS if uncovered else 0)


def _load_tables(data_dir: Path, mapping: Optional[Path], timezone: Optional[str],
                 limits) -> dict[str, pl.DataFrame]:
    """The export's tables; a LoadError (no export file found included: audit.load.preflight,
    as in `audit run`) ends the command with exit code 2."""
    from audit.load import LoadError, load_export
    from audit.load.preflight import require_export_files
    from audit.rules import BUILTINS

    try:
        export = load_export(data_dir, mapping, timezone=timezone,
                             default_timezone=str(BUILTINS["timezone"].default), limits=limits)
        require_export_files(export, data_dir)
    except LoadError as err:
        fail(str(err), EXIT_ERROR)
    return {name: t.frame for name, t in export.tables.items()}


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(text_of("bad_date", value=text))


def _print_summary(summary: dict, path: Path) -> None:
    book = summary["book"]
    from audit.stress.multiday import PARTICIPATION

    names = [n.format(p=f"{PARTICIPATION:.0%}") for n in MESSAGES["stress_header"][lang()]]
    info(text_of("stress_book", as_of=summary["as_of"], accounts=f"{book['accounts']:,}",
                 leveraged=f"{book['leveraged_accounts']:,}",
                 value=f"{book['market_value']:,.2f}", debt=f"{book['debt']:,.2f}",
                 in_call=f"{book['in_call']:,}", near_call=f"{book['near_call']:,}"))
    # NOTE: the path (10 days within the daily price limits) is the verdict; the one-instant
    # spiral, every forced sale at once with a price floor, is shown as a sensitivity.
    header = "  " + " ".join(pad(n, w, right=i > 0) for i, (n, w) in
                             enumerate(zip(names, (26, 8, 15, 15, 15, 10))))
    info(header)
    for s in summary["scenarios"]:
        days = s.get("path_days_to_liquidate", s.get("max_days_at_participation"))
        days = text_of("no_adv") if days is None else f"{days:,.1f}"
        stressed = s.get("stressed_shortfall", s["spiral_shortfall"])
        mark = "*" if s["severe"] else " "
        info(f"{mark} {s['name']:26} {s['accounts_in_call']:>8,} {s['shortfall']:>15,.2f} "
             f"{stressed:>15,.2f} {s['spiral_shortfall']:>15,.2f} {days:>10}")
    capital = summary["capital"]["net_capital"]
    if capital is None:
        summary_line(text_of("stress_no_capital"))
    else:
        for s in _severe(summary):
            verdict = text_of("covers" if s["covered_by_capital"] else "does_not_cover")
            stable = text_of({True: "stable_true", False: "stable_false",
                              None: "stable_none"}[s.get("verdict_stable")])
            summary_line(text_of(
                "stress_covers", capital=f"{capital:,.2f}", verdict=verdict, scenario=s["name"],
                shortfall=f"{s.get('stressed_shortfall', s['spiral_shortfall']):,.2f}",
                stable=stable))
    summary_line(text_of("stress_results", path=path))


def _severe(summary: dict) -> list[dict]:
    """The scenarios marked severe (each one capital must cover); without one, the one the
    spiral section follows."""
    marked = [s for s in summary["scenarios"] if s["severe"]]
    return marked or [s for s in summary["scenarios"] if s["name"] == summary["spiral"]["scenario"]]
