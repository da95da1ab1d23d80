"""Shared CLI pieces: exit codes, error output, reusable options."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NoReturn

import typer

from audit.errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK  # noqa: F401
from audit.errors import UsageError
from audit.vocab import SEVERITIES  # noqa: F401 - re-exported for the commands


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One line on stderr, then exit: the user sees what is wrong and what to do."""
    from audit.cli.console import error

    error(message)
    raise typer.Exit(code)


def info(message: str) -> None:
    """A progress or detail line on stderr; -q leaves it out (audit.cli.console)."""
    from audit.cli.console import info as say

    say(message)


# NOTE: a parameter is one number, date, true/false or short word; a longer value is not one,
# and capping it keeps a hostile or mistaken value (a pasted file, nested brackets thousands
# deep) away from the YAML parser.
MAX_PARAM_CHARS = 200


def parse_params(values: list[str] | None) -> dict[str, object]:
    """`--param name=value` pairs; values parse as YAML scalars (numbers, dates, true).

    Whether the name exists and the value has the parameter's type is the rule packs' to say
    (``audit.rules.check_parameter``); here a value that is not one scalar is refused.
    """
    import yaml

    params: dict[str, object] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param {item[:60]!r}: write it as name=value, e.g. "
                             "--param audit_max_age_days=365")
        if len(raw) > MAX_PARAM_CHARS:
            raise UsageError(f"--param {name}: the value is {len(raw):,} characters long; give "
                             f"one number, date, true/false or word (at most {MAX_PARAM_CHARS})")
        try:
            value = yaml.safe_load(raw)
        except (yaml.YAMLError, RecursionError):
            value = _NOT_SCALAR
        if not isinstance(value, (bool, int, float, str, date, type(None))):
            raise UsageError(f"--param {name}={raw[:40]!r}: not a single value; give one number, "
                             "date, true/false or word, e.g. --param audit_max_age_days=365")
        params[name] = value
    return params


_NOT_SCALAR = object()


DataDir = typer.Argument(..., metavar="DATA_DIR",
                         help="Folder holding the platform's export files.",
                         exists=False, file_okay=False)
def _profile(value):
    from audit.cli.names import profile_name

    try:
        return profile_name(value)
    except UsageError as err:
        raise typer.BadParameter(str(err).split(": ", 1)[1]) from None


ProfileOpt = typer.Option("seed", "--profile", "-p", callback=_profile,
                          help="Built-in profile name or a profile YAML file.")
RulesOpt = typer.Option(None, "--rules",
                        help="A folder of your own rule packs and profiles, laid out like the "
                             "built-in ones (<pack>/pack.yaml and its rules, profiles/), added to "
                             "them (repeatable; never inside DATA_DIR). See docs/rule-format.md.")
MappingOpt = typer.Option(None, "--mapping", "-m",
                          help="Mapping YAML the auditor reviewed (file names, headers, value "
                               "translations, zone). A mapping.yaml inside DATA_DIR is never "
                               "applied unless named here.")


TimezoneOpt = typer.Option(None, "--timezone",
                           help="Time zone the export's times are in, as an IANA name "
                                "(Asia/Shanghai, UTC ...); wins over mapping.yaml and the "
                                "profile's default. Times with an offset are converted to it.")


LimitOpt = typer.Option(None, "--limit", help="Raise or lower a cap on what one export file may "
                        "cost, as name=value (repeatable), e.g. --limit max_rows=50000000 or "
                        "--limit max_text_bytes=4GiB; the caps and their defaults are in "
                        "docs/data-contract.md.")


def limits_from(values: list[str] | None):
    """The loader's caps with the `--limit name=value` overrides; a bad one ends with exit 2."""
    from audit.errors import UsageError
    from audit.load.limits import DEFAULT_LIMITS

    try:
        return DEFAULT_LIMITS.with_options(values)
    except UsageError as err:
        fail(str(err))


def require_dir(path: Path) -> None:
    from audit.cli.console import text_of

    if not path.is_dir():
        fail(text_of("no_such_folder", path=path))


ImpactOpt = typer.Option("sqrt", "--impact",
                         help="Price-impact law of the deleveraging spiral: sqrt (the square-root "
                              "law, default) or linear (docs/stress-model.md).")
ImpactCoefficientOpt = typer.Option(1.0, "--impact-coefficient", min=0.0,
                                    help="Y, the prefactor of the impact law (default 1.0, of "
                                         "order 1 in the empirical studies).")


def impact_model(kind: str, coefficient: float):
    """The spiral's price-impact model from the command line; bad values end with exit code 2."""
    from audit.stress import ImpactModel, StressError

    try:
        return ImpactModel(kind=kind, coefficient=coefficient)
    except StressError as err:
        fail(f"--impact: {err}")
