"""data_issues.csv: every unreadable cell and contract failure, personal values masked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from audit.findings import _issue_order, _issue_row
from audit.formats import csvfile

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options

FIELDS = ["file", "table", "row", "column", "code", "value", "problem"]


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    return csvfile.write_csv(out_dir / "data_issues.csv", FIELDS,
                             (_issue_row(i) for i in sorted(run.data_issues, key=_issue_order)))
