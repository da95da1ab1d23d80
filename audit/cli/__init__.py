"""The `audit` command line: one module per command, errors as one line, named exit codes."""

from __future__ import annotations

import os
import signal
import sys

import typer

from audit.cli import init as init_cmd
from audit.cli import leverage as leverage_cmd
from audit.cli import run as run_cmd
from audit.cli import rules as rules_cmd
from audit.cli import sample as sample_cmd
from audit.cli import stress as stress_cmd
from audit.cli import validate as validate_cmd
from audit.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_OK, AuditError, Interrupted, one_line

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
app.command("init")(init_cmd.init)
app.add_typer(rules_cmd.app, name="rules")


def main() -> None:
    """Entry point: never let a traceback reach the user.

    An ``AuditError`` is one line and its own exit code (2 for input and usage); anything else
    is a bug: its traceback goes to a log file and the command ends with exit code 3.
    """
    previous = _interrupts()
    try:
        app()
    except SystemExit:
        raise
    except (Interrupted, KeyboardInterrupt):
        _exit("error: interrupted; nothing was left in the output folder", EXIT_ERROR)
    except AuditError as err:
        _exit(f"error: {err}", err.exit_code)
    except MemoryError:
        _exit("error: out of memory; audit a smaller export or on a machine with more memory",
              EXIT_ERROR)
    except Exception as err:  # noqa: BLE001 - last line of defence, see docstring
        log = _crash_log()
        _exit(f"internal error: {type(err).__name__}: {one_line(err)[:300]}. This is a bug; "
              f"the details are in {log}; please report it with that file and the command you "
              f"ran.", EXIT_INTERNAL)
    finally:
        _restore(previous)
    sys.exit(EXIT_OK)


def _interrupts() -> dict:
    """Ctrl-C and a kill (SIGTERM) raise ``Interrupted`` while the command runs; returns the
    handlers they replace. Without this a kill would end the process where it stands, leaving
    a partial output folder behind (still named as partial, see audit.outputs)."""
    def interrupt(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, interrupt)
        except ValueError:  # not the main thread: Python cannot set handlers there
            break
    return previous


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        # NOTE: None means the handler was not set from Python: the default one.
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _exit(message: str, code: int) -> None:
    # NOTE: printed and exited here, not through typer: outside click's context typer.Exit
    # itself ends in a traceback.
    typer.secho(message, err=True, fg=typer.colors.RED)
    sys.exit(code)


def _crash_log() -> str:
    """Write the current traceback to a fresh log file and return its path."""
    import tempfile
    import traceback

    try:
        fd, path = tempfile.mkstemp(prefix="platform-audit-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"command: {' '.join(sys.argv)}\n\n")
            traceback.print_exc(file=fh)
        return path
    except OSError:
        return "(no log: the temporary folder is not writable)"
