"""The `audit` command line: one module per command, errors as one line, named exit codes."""

from __future__ import annotations

import sys

import typer

from audit.cli import leverage as leverage_cmd
from audit.cli import run as run_cmd
from audit.cli import rules as rules_cmd
from audit.cli import sample as sample_cmd
from audit.cli import stress as stress_cmd
from audit.cli import validate as validate_cmd
from audit.cli.common import EXIT_ERROR, fail

app = typer.Typer(
    help="Audit a financing platform's data exports against declarative compliance rules.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run_cmd.run)
app.command("validate")(validate_cmd.validate)
app.command("sample-data")(sample_cmd.sample_data)
app.command("stress")(stress_cmd.stress)
app.command("leverage")(leverage_cmd.leverage)
app.add_typer(rules_cmd.app, name="rules")


def main() -> None:
    """Entry point: never let a traceback reach the user."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as err:  # noqa: BLE001 - last line of defence, see docstring
        fail(f"internal error: {type(err).__name__}: {err}. This is a bug; please report it "
             "with the command you ran.", code=EXIT_ERROR)
    sys.exit(0)
