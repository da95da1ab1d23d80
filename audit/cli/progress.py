"""Stage timings of long work (`run`, `stress`): a progress bar on a terminal, one plain line
per stage elsewhere (CI logs), nothing under -q; all on stderr."""

from __future__ import annotations

import os
import time

from audit.cli import console


class Stages:
    """``with Stages(["load", "contract", ...]) as stages: stages.start("load") ...``; each
    ``start`` ends the stage before it. ``timings`` holds the seconds of the finished ones."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self.timings: dict[str, float] = {}
        self._current: str | None = None
        self._since = 0.0
        self._began = 0.0
        self._bar = None
        self._task = None

    def __enter__(self) -> "Stages":
        self._began = time.perf_counter()
        if console.verbosity() >= console.NORMAL:
            self._bar = _bar()
            if self._bar is not None:
                self._bar.start()
                self._task = self._bar.add_task("", total=len(self.names))
        return self

    def start(self, name: str) -> None:
        self._finish()
        self._current, self._since = name, time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, description=_label(name))

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self._finish()
        if self._bar is not None:
            self._bar.stop()
        if kind is None and self.timings:
            total = time.perf_counter() - self._began
            parts = ", ".join(f"{_label(n)} {s:.1f}" for n, s in self.timings.items())
            console.detail(console.text_of("stage_total", stages=parts, seconds=f"{total:.1f}"))

    def _finish(self) -> None:
        if self._current is None:
            return
        seconds = time.perf_counter() - self._since
        self.timings[self._current] = seconds
        line = console.text_of("stage_done", stage=_label(self._current),
                               seconds=f"{seconds:.1f}")
        if self._bar is not None:
            self._bar.advance(self._task)
            self._bar.console.print(line, highlight=False, markup=False)
        else:
            console.info(line)
        self._current = None


def _label(name: str) -> str:
    key = f"stage_{name}"
    from audit.cli.messages import MESSAGES

    return console.text_of(key) if key in MESSAGES else name


def _bar():
    """A rich progress bar on stderr when stderr is a terminal, else None (plain lines)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    plain = bool(os.environ.get("NO_COLOR"))
    out = Console(stderr=True, no_color=plain, color_system=None if plain else "auto")
    if not out.is_terminal or out.is_dumb_terminal:
        return None
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=out, transient=True)
