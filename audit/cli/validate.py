"""`audit validate`: check an export against the data contract only."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from audit.cli.console import summary, text_of
from audit.cli.common import (
    EXIT_ERROR, EXIT_FINDINGS, DataDir, LimitOpt, MappingOpt, ProfileOpt, RulesOpt, TimezoneOpt,
    fail, info, limits_from, require_dir,
)


def validate(
    data_dir: Path = DataDir,
    mapping: Optional[Path] = MappingOpt,
    timezone: Optional[str] = TimezoneOpt,
    profile: str = ProfileOpt,
    rules: Optional[list[Path]] = RulesOpt,
    show: int = typer.Option(20, help="How many issues to print."),
    limit: Optional[list[str]] = LimitOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout "
                                 "(every log line stays on stderr)."),
) -> None:
    """Load DATA_DIR and check every table against the data contract (no rules).

    Exit code: 0 clean, 1 data-quality issues, 2 unreadable input.
    """
    from audit.load import LoadError, load_export
    from audit.rules import RuleFileError
    from audit.rulesources import load_ruleset, rule_sources
    from audit.validate import check_contract

    require_dir(data_dir)
    limits = limits_from(limit)
    try:
        default_zone = str(load_ruleset(profile, rule_sources(rules, data_dir)).params["timezone"])
        export = load_export(data_dir, mapping, timezone=timezone, default_timezone=default_zone,
                             limits=limits)
    except (LoadError, RuleFileError) as err:
        fail(str(err), EXIT_ERROR)
    info(f"times read in {export.timezone} ({export.timezone_source})")
    issues = list(export.issues) + check_contract(export)
    for name, t in sorted(export.tables.items()):
        info(f"{name:14} {t.path.name:28} rows read {t.rows_read:>10,}  checked "
             f"{t.frame.height:>10,}  unreadable {t.rows_unreadable:>8,}")
    for issue in issues[:show]:
        where = f"{Path(issue.file).name}, row {issue.row}, column {issue.column}"
        info(f"  {where}: {issue.problem}" + (f" (value {issue.value!r})" if issue.value else ""))
    if len(issues) > show:
        info(text_of("validate_more", n=f"{len(issues) - show:,}"))
    if export.unrecognised_files:
        info(f"not recognised as any table: {', '.join(export.unrecognised_files)}")
    for s in export.unloaded_sheets:
        info(f"not loaded: {s.file}" + (f", sheet {s.sheet!r} ({s.rows:,} rows, {s.state})"
                                        if s.sheet is not None else "") + f": {s.reason}")
    summary(text_of("validate_summary", tables=f"{len(export.tables):,}",
                    issues=f"{len(issues):,}"))
    code = EXIT_FINDINGS if issues else 0
    if as_json:
        from audit.cli.summary import validate_summary

        typer.echo(validate_summary(export, issues, code))
    raise typer.Exit(code)
