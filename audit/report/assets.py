"""Where the report's templates, stylesheet and message catalogues live."""

from __future__ import annotations

from pathlib import Path

# NOTE: templates/ is package data (shipped in the wheel, like the rule packs in audit/packs/);
# it is the only folder the PDF renderer may read from.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
