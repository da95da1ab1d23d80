"""stress.json: the stress analytics, when the run made them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options


def write(run: "Run", out_dir: Path, options: "Options") -> Path | None:
    if run.stress is None:
        return None
    from audit.stress import write_stress

    return write_stress(run.stress, out_dir)
