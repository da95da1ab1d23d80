"""One home for what the command line prints besides its results: messages, warnings and
errors go to stderr, at the verbosity (-q / -v) and in the language (--lang) of the command,
in colour only on a terminal and never under NO_COLOR (https://no-color.org)."""

from __future__ import annotations

import logging
import os
import sys

import typer

from audit.cli.messages import text

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state = {"level": NORMAL, "lang": "en"}
_LOG = logging.getLogger("audit")


def set_verbosity(level: int) -> None:
    _state["level"] = level
    # NOTE: the library's own loggers (logging.getLogger("audit.<module>")) follow -q / -v too.
    _LOG.setLevel({QUIET: logging.ERROR, NORMAL: logging.WARNING,
                   VERBOSE: logging.DEBUG}[level])
    if not any(isinstance(h, _StderrHandler) for h in _LOG.handlers):
        _LOG.addHandler(_StderrHandler())
        _LOG.propagate = False


def reset() -> None:
    """Normal verbosity, English: the state a command starts from."""
    set_verbosity(NORMAL)
    _state["lang"] = "en"


def verbosity() -> int:
    return _state["level"]


def set_lang(lang: str | None) -> None:
    if lang in ("en", "zh"):
        _state["lang"] = lang


def lang() -> str:
    return _state["lang"]


def colour(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything but ''."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def say(key: str, **values) -> None:
    """A catalogued message (audit.cli.messages) in the command's language, unless -q."""
    info(text(key, _state["lang"], **values))


def info(message: str) -> None:
    """Progress and details of the normal output; -q leaves them out."""
    if _state["level"] >= NORMAL:
        _write(message)


def detail(message: str) -> None:
    """What only -v shows (stage timings, where the defaults came from)."""
    if _state["level"] >= VERBOSE:
        _write(message)


def summary(message: str) -> None:
    """The command's final summary: shown even under -q."""
    _write(message)


def warn(message: str) -> None:
    _write(text("warning", _state["lang"]) + message, fg=typer.colors.YELLOW)


def error(message: str, prefix: bool = True) -> None:
    """``error: ...``: one line, red on a terminal (not under NO_COLOR)."""
    _write((text("error", _state["lang"]) if prefix else "") + message, fg=typer.colors.RED)


def count(n: int | float) -> str:
    """A count with thousands separators: 1,234 (both languages use the comma)."""
    return f"{n:,}"


def _write(message: str, fg: str | None = None) -> None:
    # NOTE: color= is explicit: click strips styles off a pipe but knows nothing of NO_COLOR.
    if fg is not None and colour():
        typer.secho(message, err=True, fg=fg, color=True)
    else:
        typer.echo(message, err=True, color=False)


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never end the command
            self.handleError(record)


def text_of(key: str, **values) -> str:
    """A catalogued message in the command's language, not printed."""
    return text(key, _state["lang"], **values)


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded to ``width`` terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len

    room = " " * max(0, width - cell_len(text))
    return room + text if right else text + room


def honour_no_color() -> None:
    """Under NO_COLOR, typer's help and usage errors (drawn by rich) come without any style:
    rich's own NO_COLOR support drops colours but keeps bold and dim."""
    if os.environ.get("NO_COLOR"):
        from typer import rich_utils

        rich_utils.COLOR_SYSTEM = None
