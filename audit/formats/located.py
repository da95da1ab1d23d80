"""What every per-violation format needs: where a violation came from (file and row), the
business key that names it, and the parameters its rule was judged with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Iterator

from audit.findings import Violation, violations

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.rules import Rule

_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
# The parts of a rule that are expressions (text elsewhere, a title or rationale, may hold "@").
_EXPRESSION_FIELDS = ("filter", "assert_", "derive", "joins", "aggregate", "pre_aggregate",
                      "undetermined", "escalate", "disclosure_at", "effective")


def rule_parameters(rule: "Rule", params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``rule`` reads (``@name`` in its expressions), with the run's values."""
    text = repr([getattr(rule, f, None) for f in _EXPRESSION_FIELDS])
    return {name: params[name] for name in sorted(set(_PARAM.findall(text))) if name in params}


def run_parameters(run: "Run") -> dict[str, Any]:
    """The run's parameters, ``as_of`` the date the run judged at (the parameter's default,
    None, means that date)."""
    params = dict(run.ruleset.params)
    if params.get("as_of") is None and run.as_of is not None:
        params["as_of"] = run.as_of
    return params


def plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def parameters_text(values: dict[str, Any]) -> str:
    return "; ".join(f"{k}={plain(v)}" for k, v in values.items())


def key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


@dataclass(frozen=True)
class Located:
    violation: Violation
    file: str | None  # the table's file relative to the export folder; None: a derived table
    path: str | None  # the same, under the export folder as the auditor named it

    @property
    def rule(self):
        return self.violation.rule


def source_file(run: "Run", table: str) -> str | None:
    loaded = run.export.tables.get(table)
    if loaded is None:
        return None
    return str(PurePosixPath(*(loaded.relpath or loaded.path.name).replace("\\", "/").split("/")))


def located(run: "Run", source_root: str | None = None) -> Iterator[Located]:
    """Every violation of ``run`` with its source file (``file``: relative to the export
    folder; ``path``: under ``source_root`` when given)."""
    files: dict[str, str | None] = {}
    for v in violations(run.results):
        table = v.rule.table
        if table not in files:
            files[table] = source_file(run, table)
        file = files[table]
        path = file
        if file is not None and source_root:
            root = source_root.replace("\\", "/").rstrip("/")
            path = file if root in ("", ".") else f"{root}/{file}"
        yield Located(v, file, path)
