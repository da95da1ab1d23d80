"""GitHub Actions annotations: one ``::error`` / ``::warning`` / ``::notice`` line per violation
on stdout, at its file and row, so a workflow step shows them on the run and on the files.

Levels follow ``--fail-on``: a violation of a rule that fails the run is an error, one below
the threshold a warning (medium) or notice (low). A rule at or above the threshold that could
not be tested is an error too (never silence). Values are escaped as the workflow-command
format requires, so a hostile cell cannot end the line and start a command of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from audit.formats.located import key_text, located, plain
from audit.mask import mask_row
from audit.vocab import ERROR, INCOMPLETE, NOT_EVALUABLE

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options

BELOW = {"critical": "warning", "high": "warning", "medium": "warning", "low": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, title: str, file: str | None = None,
            line: int | None = None) -> str:
    props = []
    if file is not None:
        props.append(f"file={_property(file)}")
        if line is not None:
            props.append(f"line={int(line)}")
    props.append(f"title={_property(title)}")
    return f"::{level} {','.join(props)}::{_data(message)}"


def lines(run: "Run", options: "Options") -> list[str]:
    out = []
    for loc in located(run, options.source_root):
        v, rule = loc.violation, loc.rule
        level = "error" if run.gates(v.severity) else BELOW[v.severity]
        evidence = ", ".join(f"{k}={plain(x)}"
                             for k, x in mask_row(v.evidence, options.mask).items())
        key = key_text(mask_row(v.key, options.mask)) or "the whole table"
        out.append(command(level, f"{key}: {evidence}" if evidence else key,
                           f"{rule.id} [{v.severity}] {rule.title}", loc.path, v.source_row))
    for r in run.results:
        if r.status in (ERROR, NOT_EVALUABLE, INCOMPLETE):
            out.append(command("error" if run.gates(r.severity) else "warning",
                               r.message or r.status,
                               f"{r.rule.id} [{r.severity}] {r.status.replace('_', ' ')}"))
    return out


def write(run: "Run", out_dir: Path, options: "Options") -> None:
    stream = options.out()
    for line in lines(run, options):
        stream.write(line + "\n")
    stream.flush()
    return None
