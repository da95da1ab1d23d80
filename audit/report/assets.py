"""Where the report's templates, stylesheet and message catalogues live."""

from __future__ import annotations

from pathlib import Path

# NOTE: like rules/, templates/ sits at the repository root beside the package, so editing a
# template needs no reinstall; it is the only folder the PDF renderer may read from.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
