"""Validate stage: check every loaded table against its pandera contract schema.

The loader has already typed each cell (a cell that will not parse makes its row unreadable);
this stage reports what typing cannot catch: empty required cells, values outside a closed
vocabulary or below a bound, and duplicate keys. Such rows are still checked by the rules:
they are data-quality findings, not unreadable rows.
"""

from __future__ import annotations

import polars as pl
from pandera.errors import SchemaErrors

from audit import contract
from audit.load import DataIssue, Export

ROW = "_row"


def check_contract(export: Export) -> list[DataIssue]:
    """Every contract violation in every loaded table, one issue per failing cell or row."""
    issues: list[DataIssue] = []
    for name, loaded in export.tables.items():
        issues.extend(check_table(name, loaded.frame, str(loaded.path)))
    return issues


def check_table(name: str, frame: pl.DataFrame, file: str) -> list[DataIssue]:
    """Contract violations of one typed table."""
    schema = contract.pandera_schema(name)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        return _issues_from_failures(name, frame, file, err.failure_cases)
    return []


def _issues_from_failures(name: str, frame: pl.DataFrame, file: str,
                          cases: pl.DataFrame) -> list[DataIssue]:
    rows = frame[ROW] if ROW in frame.columns else None
    issues = []
    for case in cases.iter_rows(named=True):
        index = case.get("index")
        row = int(rows[index]) if rows is not None and index is not None and index < len(rows) else None
        check = case.get("check") or ""
        column = case.get("column")
        value = case.get("failure_case")
        issues.append(DataIssue(file=file, table=name, row=row, column=column,
                                value=None if value is None else str(value)[:200],
                                problem=_describe(name, column, check),
                                code=_code(check)))
    return issues


def _code(check: str) -> str:
    """The issue code of a pandera check name (see audit.load.types.ISSUE_CODES)."""
    if check == "not_nullable":
        return "missing-required"
    if check.startswith("field_uniqueness") or check == "multiple_fields_uniqueness" or "unique" in check:
        return "duplicate-key"
    if check == "allowed values":
        return "not-in-vocabulary"
    if check.startswith((">=", "<=", ">", "<")):
        return "out-of-bounds"
    return "contract-check"


def _describe(table: str, column: str | None, check: str) -> str:
    if check == "not_nullable":
        return f"{table}.{column} is required but empty"
    if check.startswith("field_uniqueness") or check == "multiple_fields_uniqueness" or "unique" in check:
        key = ", ".join(contract.table(table).key)
        return f"duplicate key ({key}) in {table}"
    if check == "allowed values" and column:
        allowed = ", ".join(contract.table(table).column(column).allowed)
        return f"{table}.{column} is not one of: {allowed}"
    if check.startswith(">="):
        return f"{table}.{column} must be {check}"
    if check.startswith("column_in_dataframe") or check.startswith("dtype"):
        return f"{table}.{column}: {check}"
    return f"{table}.{column or '(row)'} fails contract check {check!r}"
