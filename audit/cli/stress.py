"""`audit stress`: scenario shocks, the deleveraging spiral and the cost of risk control on one export."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import polars as pl
import typer

from audit.cli.common import (
    EXIT_ERROR, EXIT_FINDINGS, DataDir, ImpactCoefficientOpt, ImpactOpt, LimitOpt, MappingOpt,
    ProfileOpt, TimezoneOpt, fail, impact_model, info, limits_from, require_dir,
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
    mapping: Optional[Path] = MappingOpt,
    timezone: Optional[str] = TimezoneOpt,
    as_of: Optional[str] = typer.Option(None, help="Snapshot date YYYY-MM-DD (default: the "
                                        "last snapshot date in the export)."),
    impact: str = ImpactOpt,
    impact_coefficient: float = ImpactCoefficientOpt,
    as_json: bool = typer.Option(False, "--json", help="Print stress.json to stdout too."),
    limit: Optional[list[str]] = LimitOpt,
) -> None:
    """Stress the book in DATA_DIR: every scenario statically and through the deleveraging
    spiral, the book's concentration and liquidity, and what leverage caps and concentration
    limits cost in interest against the shortfall they avoid.

    Exit code: 0 capital covers the severe scenario's stressed shortfall (or no capital table),
    1 it does not, 2 bad usage or unreadable input.
    """
    from audit.disclosure import in_force_at
    from audit.evaluate import reference_date
    from audit.outputs import OutputFolder
    from audit.load.types import file_sha256
    from audit.rules import BUILTINS, RuleFileError, load_profile
    from audit.stress import ScenarioError, StressError, load_scenarios, run_stress, write_stress

    require_dir(data_dir)
    reference = _parse_date(as_of) if as_of else None
    model = impact_model(impact, impact_coefficient)
    limits = limits_from(limit)
    try:
        # NOTE: the profile chooses the scenarios that fit its books, as in `audit run`.
        jurisdictions = load_profile(profile).jurisdictions
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)
    with OutputFolder(out, inputs=(data_dir, mapping), command="stress") as folder:
        try:
            scenarios = load_scenarios(scenario or None, jurisdictions=jurisdictions)
            tables = _load_tables(data_dir, mapping, timezone, limits)
            at = reference or reference_date(tables)
            result = run_stress(tables, in_force_at(tables, at), scenarios, as_of=at,
                                impact=model,
                                line_inclusive=bool(BUILTINS["line_inclusive"].default))
        except (ScenarioError, StressError) as err:
            fail(str(err), EXIT_ERROR)
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
    severe = next(s for s in summary["scenarios"] if s["name"] == summary["spiral"]["scenario"])
    raise typer.Exit(EXIT_FINDINGS if severe["covered_by_capital"] is False else 0)


def _load_tables(data_dir: Path, mapping: Optional[Path], timezone: Optional[str],
                 limits) -> dict[str, pl.DataFrame]:
    """The export's tables; a LoadError ends the command with exit code 2."""
    from audit.load import LoadError, load_export
    from audit.rules import BUILTINS

    try:
        export = load_export(data_dir, mapping, timezone=timezone,
                             default_timezone=str(BUILTINS["timezone"].default), limits=limits)
    except LoadError as err:
        fail(str(err), EXIT_ERROR)
    return {name: t.frame for name, t in export.tables.items()}


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--as-of {text!r}: write the date as YYYY-MM-DD")


def _print_summary(summary: dict, path: Path) -> None:
    book = summary["book"]
    from audit.stress.result import PARTICIPATION

    days_label = f"days @{PARTICIPATION:.0%}"
    info(f"book on {summary['as_of']}: {book['accounts']:,} accounts "
         f"({book['leveraged_accounts']:,} with debt), market value {book['market_value']:,.2f}, "
         f"debt {book['debt']:,.2f}; {book['in_call']:,} in call, {book['near_call']:,} near it")
    header = f"  {'scenario':24} {'in call':>9} {'wiped':>9} {'shortfall':>16} " \
             f"{'after spiral':>16} {'fire-sale loss':>16} {'rounds':>6} {days_label:>10}"
    info(header)
    for s in summary["scenarios"]:
        days = "no ADV" if s["max_days_at_participation"] is None \
            else f"{s['max_days_at_participation']:.1f}"
        mark = "*" if s["severe"] else " "
        info(f"{mark} {s['name']:24} {s['accounts_in_call']:>9,} {s['accounts_wiped_out']:>9,} "
             f"{s['shortfall']:>16,.2f} {s['spiral_shortfall']:>16,.2f} "
             f"{s['fire_sale_loss']:>16,.2f} {s['spiral_rounds']:>6} {days:>10}")
    severe = next(s for s in summary["scenarios"] if s["name"] == summary["spiral"]["scenario"])
    capital = summary["capital"]["net_capital"]
    if capital is None:
        info("no capital table: cannot say whether capital covers the stressed shortfall")
    else:
        verdict = "covers" if severe["covered_by_capital"] else "does NOT cover"
        info(f"net capital {capital:,.2f} {verdict} the stressed shortfall of "
             f"{severe['name']} ({severe['spiral_shortfall']:,.2f})")
    info(f"stress results in {path}")
