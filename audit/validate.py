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
from audit.vocab import ROW, UNREADABLE


def check_contract(export: Export) -> list[DataIssue]:
    """Every contract violation in every loaded table, one issue per failing cell or row.

    Referential integrity comes first: an orphan's id is made unreadable in its table's frame
    (null, and named in UNREADABLE), so the rules set the record aside instead of judging it
    unlinked; the schema checks then skip every unreadable cell, reported once already.
    """
    issues = check_references(export)
    for name, loaded in export.tables.items():
        issues.extend(check_table(name, loaded.frame, loaded.relpath or loaded.path.name))
    return issues


def check_references(export: Export) -> list[DataIssue]:
    """One issue per orphan (a row naming an id its parent table does not hold)."""
    issues: list[DataIssue] = []
    for ref in contract.REFERENCES:
        child, parent = export.tables.get(ref.table), export.tables.get(ref.parent)
        if child is None or parent is None or ref.column not in child.column_map.values():
            continue
        frame = child.frame
        keys = parent.frame[ref.key].drop_nulls().unique()
        orphan = (frame[ref.column].is_not_null() & ~frame[ref.column].is_in(keys.implode())).fill_null(False)
        if not orphan.any():
            continue
        padded = {k.lstrip("0"): k for k in keys.to_list() if k.startswith("0")}
        file = child.relpath or child.path.name
        for row, value in frame.filter(orphan).select(ROW, ref.column).iter_rows():
            hint = ""
            if value.isdigit() and value.lstrip("0") in padded:
                hint = (f"; {padded[value.lstrip('0')]!r} is the same id with its leading zeros: "
                        f"the export lost them (a number cell in a spreadsheet?); export the "
                        f"column as text")
            issues.append(DataIssue(
                file, ref.table, row, ref.column, str(value)[:200],
                f"{ref.table}.{ref.column} {value!r} names no {ref.parent}.{ref.key} in the "
                f"export: the record cannot be linked, so every rule that reads it sets it "
                f"aside{hint}", "orphan-key"))
        child.frame = _mark_unreadable(frame, orphan, ref.column)
    return issues


def _mark_unreadable(frame: pl.DataFrame, cells: pl.Series, column: str) -> pl.DataFrame:
    """``column`` made null and named in UNREADABLE on the rows ``cells`` marks."""
    current = (frame[UNREADABLE] if UNREADABLE in frame.columns
               else pl.Series(UNREADABLE, [None] * frame.height, dtype=pl.List(pl.String)))
    named = pl.select(
        pl.when(cells).then(pl.concat_list([current.fill_null(pl.lit([], pl.List(pl.String))),
                                            pl.lit([column])]))
        .otherwise(current).alias(UNREADABLE)).to_series()
    return frame.with_columns(
        pl.when(cells).then(None).otherwise(pl.col(column)).alias(column), named)


def check_table(name: str, frame: pl.DataFrame, file: str) -> list[DataIssue]:
    """Contract violations of one typed table. A cell the loader could not read is reported
    once, by the loader: its null here is not also an empty required cell."""
    schema = contract.pandera_schema(name)
    unreadable: set[tuple[int, str]] = set()
    if UNREADABLE in frame.columns:
        bad = frame.select(ROW, UNREADABLE).drop_nulls().explode(UNREADABLE)
        unreadable = set(bad.iter_rows())
        frame = frame.drop(UNREADABLE)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        issues = _issues_from_failures(name, frame, file, err.failure_cases)
        return [i for i in issues if (i.row, i.column) not in unreadable]
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
