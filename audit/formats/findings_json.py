"""findings.json: every rule's result, the run and its inputs (docs/findings-schema.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from audit.findings import findings_document

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    path = out_dir / "findings.json"
    path.write_text(json.dumps(findings_document(run), ensure_ascii=False, indent=2, default=str)
                    + "\n", encoding="utf-8")
    return path
