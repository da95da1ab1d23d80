"""The audit report: report.html and report.pdf from one set of jinja2 templates.

``render_report(run, out_dir)`` builds the view model (``context``), renders the HTML
(``html``) and, from the same HTML, the PDF (``pdf``, WeasyPrint, optional extra). Personal
data is masked unless ``mask=False``; the other outputs of a run
(findings, CSV, JUnit, SARIF ...) are in ``audit.formats``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from audit.findings import Run

FORMATS = ("html", "pdf")
FILE_NAMES = {"html": "report.html", "pdf": "report.pdf"}


def render_report(
    run: "Run",
    out_dir: Path,
    lang: str = "en",
    mask: bool = True,
    prepared_by: str | None = None,
    reviewed_by: str | None = None,
    stress: dict | None = None,
    formats: Iterable[str] = ("html", "pdf"),
    auditor: str | None = None,
) -> dict[str, Path]:
    """Write the report of ``run`` into ``out_dir``: ``{"html": path, "pdf": path}``.

    ``lang`` is ``en`` or ``zh``; ``mask=False`` shows personal data unmasked (``--no-mask``);
    ``prepared_by`` / ``reviewed_by`` name the people of the cover's attestation block
    (``auditor``, its former name, still sets the reviewer); ``stress`` is the stress analytics (the report says they were not run when it is None).
    Raises ValueError for an unknown language or format, and
    ``audit.report.pdf.ReportDependencyError`` when the PDF renderer is not installed.
    """
    from audit.report.context import Options, build_context
    from audit.report.html import render_html
    from audit.report.i18n import LANGUAGES

    formats = tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; use {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r} is not available; use one of "
                         f"{', '.join(LANGUAGES)}")
    from audit.report.pdf import require_extra

    require_extra(pdf="pdf" in formats)  # fail before any work when the extra is missing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = Options(lang=lang, mask=mask, prepared_by=prepared_by,
                      reviewed_by=reviewed_by or auditor)
    rendered = render_html(build_context(run, options, stress))
    paths: dict[str, Path] = {}
    if "html" in formats:
        paths["html"] = out_dir / FILE_NAMES["html"]
        paths["html"].write_text(rendered.page, encoding="utf-8")
    if "pdf" in formats:
        from audit.report.pdf import render_pdf

        paths["pdf"] = render_pdf(rendered.html, out_dir / FILE_NAMES["pdf"], rendered.data_uris)
    return paths


__all__ = ["render_report", "FORMATS"]
