"""PDF rendering with WeasyPrint, behind a URL fetcher that fetches nothing from outside.

The HTML is rendered with ``base_url`` at templates/ and ``LockedFetcher``: a request is
answered only for a file under templates/ or for a data: URI the report generated itself
(its charts). Anything else (``file:///etc/passwd``, ``http://...``, another data: URI) is
refused and recorded, so a hostile value that somehow reached the markup could still not read
a file or call the network. WeasyPrint is an optional extra, imported only here.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from audit.errors import EnvironmentProblem
from audit.report.assets import TEMPLATES_DIR

INSTALL_HINT = "pip install 'platform-audit[report]'"


class ReportDependencyError(EnvironmentProblem, RuntimeError):
    """The PDF renderer (WeasyPrint) or its system libraries are missing."""


def _weasyprint():
    try:
        import weasyprint
    except ImportError as err:
        raise ReportDependencyError(
            f"the PDF report needs WeasyPrint, which is not installed ({err}); install it with "
            f"{INSTALL_HINT} (and the pango library: scripts/setup.sh does both), or ask only "
            "for the HTML report"
        ) from None
    except OSError as err:  # the Python package is there but pango is not
        raise ReportDependencyError(
            f"WeasyPrint cannot load its system libraries ({err}); install pango "
            "(apt-get install libpango-1.0-0 libpangoft2-1.0-0, or run scripts/setup.sh)"
        ) from None
    return weasyprint


def require_extra(pdf: bool = True) -> None:
    """Raise ReportDependencyError unless the ``report`` extra is installed (matplotlib for the
    charts; WeasyPrint too when ``pdf``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ReportDependencyError(
            f"the report's charts need matplotlib, which is not installed ({err}); install it "
            f"with {INSTALL_HINT}"
        ) from None
    if pdf:
        _weasyprint()


def make_fetcher(allowed_data: set[str], root: Path = TEMPLATES_DIR):
    """A WeasyPrint URL fetcher limited to files under ``root`` and ``allowed_data``."""
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcherResponse

    class LockedFetcher(weasyprint.URLFetcher):
        """Serves files under ``root`` and known data: URIs; refuses and records the rest."""

        def __init__(self):
            super().__init__(timeout=1, allowed_protocols=("file", "data"),
                             allow_redirects=False)
            self.root = root.resolve()
            self.allowed_data = set(allowed_data)
            self.requested: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            self.requested.append(url)
            if url.startswith("data:"):
                if url not in self.allowed_data:
                    return self._refuse(url)
                head, _, payload = url.partition(",")
                body = base64.b64decode(payload) if head.endswith(";base64") else unquote(payload).encode()
                mime = head[len("data:"):].split(";")[0] or "text/plain"
                return URLFetcherResponse(url, body, {"Content-Type": mime})
            path = self._local_path(url)
            if path is None:
                return self._refuse(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

        def _local_path(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                return None
            # NOTE: resolve() follows symlinks and "..", so nothing outside root slips through.
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                return None
            return path

        def _refuse(self, url: str):
            self.refused.append(url)
            raise ValueError(f"the report renderer fetches nothing outside templates/: {url[:80]}")

    return LockedFetcher()


def render_pdf(html: str, target: Path, allowed_data: set[str], fetcher=None) -> Path:
    """Write ``html`` as a PDF to ``target``; only templates/ and ``allowed_data`` are read."""
    weasyprint = _weasyprint()
    fetcher = fetcher if fetcher is not None else make_fetcher(allowed_data)
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher)
    # NOTE: the PDF's /ID is derived from its content (not random), so the same report gives
    # the same bytes; dates come from <meta name="dcterms.created"> (SOURCE_DATE_EPOCH).
    document.write_pdf(target, pdf_identifier=False, uncompressed_pdf=False)
    return target
