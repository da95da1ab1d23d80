"""The error taxonomy: one base type with a stable code, a one-line message that says what to do,
and the exit code the command line ends with.

Exit codes (one home; the CLI imports them from here):

* 0 ``EXIT_OK``: the audit ran and nothing at or above ``--fail-on`` was found;
* 1 ``EXIT_FINDINGS``: the audit ran and found something at or above ``--fail-on`` (or a rule
  that could not be tested fully);
* 2 ``EXIT_ERROR``: unusable input or bad usage (a file refused, a bad option, an output folder
  that cannot be written);
* 3 ``EXIT_INTERNAL``: a bug; the traceback goes to a log file, never to the screen.
"""

from __future__ import annotations

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3


def one_line(message: object) -> str:
    """A message folded to one line (newlines and runs of spaces become one space)."""
    return " ".join(str(message).split())


class AuditError(Exception):
    """Base of every error the toolkit raises on purpose.

    ``code`` is a stable kebab-case name (for findings, tests and scripts); ``exit_code`` what
    the command line ends with. Subclasses set the defaults; an instance may narrow the code
    (``LoadError("...", code="path-outside-export")``).
    """

    code = "audit-error"
    exit_code = EXIT_ERROR

    def __init__(self, message: object, *, code: str | None = None):
        super().__init__(one_line(message))
        if code is not None:
            self.code = code


class InputError(AuditError):
    """The export (or a file the auditor named) cannot be used as it is."""

    code = "input-error"


class UsageError(AuditError):
    """A command-line option or parameter that has no meaning; the message shows a good one."""

    code = "usage-error"


class OutputError(AuditError):
    """The output folder cannot be written (read-only, a file, out of space ...)."""

    code = "output-error"


class ConfigError(AuditError):
    """A rule pack, profile, scenario or mapping the auditor supplied is malformed."""

    code = "config-error"


class EnvironmentProblem(AuditError):
    """A library or system component the command needs is missing; the message says how to
    install it."""

    code = "missing-dependency"


class InternalError(AuditError):
    """A bug: the command ends with exit code 3 and the traceback in a log file."""

    code = "internal-error"
    exit_code = EXIT_INTERNAL


class Interrupted(BaseException):
    """Ctrl-C or a kill (SIGTERM) while a command runs; ``main()`` ends it with one line and
    exit code 2.

    NOTE: a BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it (an
    output folder being written is removed on the way out); not a KeyboardInterrupt, which
    typer turns into a silent exit 130 before ``main()`` can say what happened.
    """
