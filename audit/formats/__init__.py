"""Output formats: one module per file a run can write, and one entry point to write them.

``FORMATS`` is the registry: each ``Format`` names its file, says what it is for, and points at
the module whose ``write(run, out_dir, options) -> Path | None`` writes it. ``write_outputs(run,
out_dir, formats, options)`` writes the ones asked for, the findings first. The command line
lists ``--format`` choices from here (``EXTRA``), so a new format is one module and one entry.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, TextIO

if TYPE_CHECKING:
    from audit.findings import Run


@dataclass(frozen=True)
class Options:
    """How the outputs are written.

    ``source_root``: the export folder as the auditor named it, used to place violations in
    SARIF and CI annotations (a relative one reads as a path in the repository the CI checked
    out); ``stdout``: where the GitHub annotation lines go.
    """

    lang: str = "en"
    mask: bool = True
    prepared_by: str | None = None
    reviewed_by: str | None = None
    source_root: str | None = None
    stdout: TextIO | None = field(default=None, compare=False)

    def out(self) -> TextIO:
        return self.stdout or sys.stdout


@dataclass(frozen=True)
class Format:
    name: str
    file_name: str | None  # None: written to stdout, not to the output folder
    help: str
    module: str  # audit.formats.<module> holds the writer
    default: bool = False  # written by every `audit run` (the report ones unless --no-report)
    function: str = "write"

    def writer(self):
        return getattr(import_module(f"audit.formats.{self.module}"), self.function)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("findings", "findings.json", "every rule's result, the run and its inputs",
           "findings_json", default=True),
    Format("violations", "violations.csv", "one row per violating record, for a spreadsheet",
           "violations_csv", default=True),
    Format("data_issues", "data_issues.csv", "every unreadable cell and contract failure",
           "data_issues_csv", default=True),
    Format("stress", "stress.json", "the stress analytics (when they ran)", "stress_json",
           default=True),
    Format("html", "report.html", "the report, for a browser", "report", default=True,
           function="write_html"),
    Format("pdf", "report.pdf", "the report, to sign and send", "report", default=True,
           function="write_pdf"),
    Format("junit", "rules.junit.xml", "one test case per rule, for a CI test view", "junit"),
    Format("sarif", "findings.sarif", "SARIF 2.1.0, each violation at its file and row (code "
           "scanning)", "sarif"),
    Format("github", None, "GitHub Actions annotations (::error lines on stdout)", "github"),
    Format("gitlab", "gl-code-quality-report.json", "GitLab code quality report", "gitlab"),
)}
REPORT = ("html", "pdf")
# The formats `--format` adds to a run's default outputs.
EXTRA = tuple(name for name, f in FORMATS.items() if not f.default)


def default_formats(report: bool = True, stress: bool = True) -> list[str]:
    return [name for name, f in FORMATS.items() if f.default
            and (report or name not in REPORT) and (stress or name != "stress")]


def write_outputs(run: "Run", out_dir: Path, formats: Iterable[str],
                  options: Options | None = None) -> dict[str, Path]:
    """Write each format of ``formats`` for ``run`` into ``out_dir``; returns name -> path of
    the files written (a format writing to stdout, or stress.json of a run without stress
    analytics, has none). Raises ValueError for an unknown format name."""
    options = options or Options()
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown output format(s) {unknown}; use {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    report = [f for f in wanted if f in REPORT]
    for name in wanted:
        if name in REPORT:
            continue
        path = FORMATS[name].writer()(run, out_dir, options)
        if path is not None:
            paths[name] = path
    # NOTE: the report last and both of its files from one rendering (the PDF is printed
    # from the HTML); it is the slowest output and reads nothing the others write.
    if report:
        from audit.formats.report import write_report

        paths.update(write_report(run, out_dir, options, report))
    return paths


__all__ = ["EXTRA", "FORMATS", "Format", "Options", "default_formats", "write_outputs"]
