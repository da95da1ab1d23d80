"""report.html and report.pdf: the audit report (``audit.report``), both from one rendering."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options


def write_report(run: "Run", out_dir: Path, options: "Options",
                 formats: Iterable[str] = ("html", "pdf")) -> dict[str, Path]:
    """Raises ``audit.report.pdf.ReportDependencyError`` when the PDF renderer is missing."""
    from audit.report import render_report

    stress = run.stress.to_dict() if run.stress is not None else None
    return render_report(run, out_dir, lang=options.lang, mask=options.mask,
                         prepared_by=options.prepared_by, reviewed_by=options.reviewed_by,
                         stress=stress, formats=tuple(formats))


def write_html(run: "Run", out_dir: Path, options: "Options") -> Path:
    return write_report(run, out_dir, options, ("html",))["html"]


def write_pdf(run: "Run", out_dir: Path, options: "Options") -> Path:
    return write_report(run, out_dir, options, ("pdf",))["pdf"]
