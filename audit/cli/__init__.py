"""The `audit` command line: one module per command, errors as one line, named exit codes."""

from __future__ import annotations

import os
import signal
import sys

import typer

from audit.cli import init as init_cmd
from audit.cli import console
from audit.cli.group import AuditGroup
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
    cls=AuditGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"audit (platform-audit) {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Audit a financing platform's data exports against declarative compliance rules."""


def package_version() -> str:
    """The installed distribution's version; the source tree's when run from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("platform-audit")
    except PackageNotFoundError:
        from audit import __version__

        return __version__

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
        _exit(console.text_of("interrupted"), EXIT_ERROR)
    except AuditError as err:
        _exit(str(err), err.exit_code)
    except MemoryError:
        _exit(console.text_of("out_of_memory"), EXIT_ERROR)
    except Exception as err:  # noqa: BLE001 - last line of defence, see docstring
        log = _crash_log()
        _exit(console.text_of("internal", kind=type(err).__name__, detail=one_line(err)[:300],
                              log=log), EXIT_INTERNAL, prefix=False)
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


def _exit(message: str, code: int, prefix: bool = True) -> None:
    # NOTE: printed and exited here, not through typer: outside click's context typer.Exit
    # itself ends in a traceback.
    console.error(message, prefix=prefix)
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
