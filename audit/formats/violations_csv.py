"""violations.csv: one row per violating record, laid out for a spreadsheet.

Columns: ``rule_id, rule_title, severity, table, source_file, source_row, key``, the key
columns of the contract (each filled where the record carries it), ``parameters`` (the rule's
parameters and their values in this run: the threshold the record broke), one
``evidence.<name>`` column per evidence value that is a single value (a number, date or word),
and ``detail``, the whole evidence as JSON (for scripts, and the only home of a value that is
a list). The rule title is in the report's language (``--lang``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.findings import KEY_COLUMNS
from audit.formats import csvfile
from audit.formats.located import (
    key_text, located, parameters_text, rule_parameters, run_parameters,
)
from audit.mask import mask_row

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options

EVIDENCE_PREFIX = "evidence."
HEAD = ["rule_id", "rule_title", "severity", "table", "source_file", "source_row", "key"]


def _flat(value: Any) -> bool:
    return not isinstance(value, (list, tuple, dict))


def rows(run: "Run", options: "Options") -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows of violations.csv."""
    out: list[dict[str, Any]] = []
    flat: set[str] = set()
    nested: set[str] = set()
    parameters: dict[str, str] = {}
    values = run_parameters(run)
    for loc in located(run):
        v, rule = loc.violation, loc.rule
        if rule.id not in parameters:
            parameters[rule.id] = parameters_text(rule_parameters(rule, values))
        title = rule.title_zh if options.lang == "zh" and rule.title_zh else rule.title
        # NOTE: the evaluator keeps personal columns out of the records; masking again costs
        # nothing and keeps a rule that shows one as evidence from leaking it (--no-mask
        # shows it).
        evidence = mask_row(v.evidence, options.mask)
        key = mask_row(v.key, options.mask)
        for k, value in evidence.items():
            (flat if _flat(value) else nested).add(k)
        row = {"rule_id": rule.id, "rule_title": title, "severity": v.severity,
               "table": rule.table, "source_file": loc.file, "source_row": v.source_row,
               "key": key_text(key), **key,
               "parameters": parameters[rule.id],
               "detail": json.dumps(evidence, ensure_ascii=False, sort_keys=True, default=str)}
        row.update({EVIDENCE_PREFIX + k: value for k, value in evidence.items() if _flat(value)})
        out.append(row)
    # NOTE: a name that is a list in one record is left to `detail` in every record, so a
    # column never mixes single values with JSON.
    evidence_columns = [EVIDENCE_PREFIX + k for k in sorted(flat - nested)]
    for row in out:
        for k in nested & flat:
            row.pop(EVIDENCE_PREFIX + k, None)
    return [*HEAD, *KEY_COLUMNS, "parameters", *evidence_columns, "detail"], out


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    fields, data = rows(run, options)
    return csvfile.write_csv(out_dir / "violations.csv", fields, data)
