"""Evaluate stage: compile each rule into a pandera validator over the loaded tables and run it.

A rule becomes a polars query (filter, group, join, derive) that yields the records it applies
to, and a pandera ``DataFrameSchema`` whose single check is the rule's assertion. pandera runs
lazily and collects every failing record; those records are the rule's violations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from audit import contract
from audit.expr import ExprError, Scope, compile_expr, names_used
from audit.rules import Example, Join, Rule, RuleSet

ROW = "_row"  # source row number carried from the loader, shown as evidence
SEVERITY = "_severity"  # per-record severity after escalation
SEVERITIES = ("critical", "high", "medium", "low")
SAMPLE_SIZE = 20
PASSED, FAILED, ERROR, NOT_APPLICABLE = "passed", "failed", "error", "not_applicable"


class EvaluationError(RuntimeError):
    """A rule that cannot be evaluated on this data (the rule ends as `error`)."""


@dataclass
class RuleResult:
    """The outcome of one rule on one export."""

    rule: Rule
    status: str
    checked: int = 0
    violations: int = 0
    message: str = ""
    records: pl.DataFrame | None = None  # every violating record: key + evidence columns

    @property
    def severity(self) -> str:
        """The finding's severity: the rule's, or the most severe escalation a record met."""
        if self.records is None or SEVERITY not in self.records.columns or not self.records.height:
            return self.rule.severity
        present = set(self.records[SEVERITY].to_list())
        return next(s for s in SEVERITIES if s in present)

    @property
    def rate(self) -> float | None:
        return None if not self.checked else self.violations / self.checked

    def sample(self, size: int = SAMPLE_SIZE) -> list[dict[str, Any]]:
        if self.records is None:
            return []
        return [_jsonable(r) for r in self.records.head(size).iter_rows(named=True)]


@dataclass
class Context:
    """Everything a rule may read: the tables, resolved parameters and the disclosure row."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any]
    disclosure: dict[str, Any] | None = None
    personal: set[str] = field(default_factory=contract.personal_columns)

    @classmethod
    def build(cls, tables: dict[str, pl.DataFrame], params: dict[str, Any],
              as_of: date | None = None) -> "Context":
        as_of = as_of or params.get("as_of") or reference_date(tables)
        params = {**params, "as_of": as_of}
        return cls(tables=tables, params=params, disclosure=disclosure_row(tables))

    def scope(self, frame_schema: dict[str, pl.DataType], aggregate: bool = False) -> Scope:
        return Scope(
            columns=dict(frame_schema), params=self.params, disclosure=self.disclosure,
            disclosure_columns=frozenset(contract.table("platform").column_names),
            aggregate=aggregate,
        )


def reference_date(tables: dict[str, pl.DataFrame]) -> date | None:
    """The audit's as-of date: the last snapshot date, else the last date anywhere."""
    if "accounts" in tables and tables["accounts"].height:
        return tables["accounts"]["date"].max()
    dates = [f[c].max() for f in tables.values() for c in f.columns
             if f.schema[c] == pl.Date and f.height]
    return max((d for d in dates if d is not None), default=None)


def disclosure_row(tables: dict[str, pl.DataFrame]) -> dict[str, Any] | None:
    """The disclosure in force: the platform row with the latest ``disclosed_at``."""
    frame = tables.get("platform")
    if frame is None or frame.height == 0:
        return None
    latest = frame.sort("disclosed_at", nulls_last=False).tail(1)
    return latest.row(0, named=True)


# --- building the records a rule applies to ----------------------------------------------

def _compile(ctx: Context, text: str, lf: pl.LazyFrame, aggregate: bool = False) -> pl.Expr:
    return compile_expr(text, ctx.scope(lf.collect_schema(), aggregate=aggregate))


def _aggregated(ctx: Context, lf: pl.LazyFrame, keys: list[str], aggs: dict[str, str]) -> pl.LazyFrame:
    exprs = [_compile(ctx, text, lf, aggregate=True).alias(name) for name, text in aggs.items()]
    if not keys:
        return lf.select(exprs)
    return lf.group_by(keys, maintain_order=False).agg(exprs)


def _join(ctx: Context, lf: pl.LazyFrame, join: Join) -> pl.LazyFrame:
    right = ctx.tables[join.table].lazy()
    if join.filter:
        right = right.filter(_compile(ctx, join.filter, right).fill_null(False))
    existing = set(lf.collect_schema().names())
    added = list((join.aggregate or {}) or (join.select or {}))
    clash = sorted(existing & set(added))
    if clash:
        raise EvaluationError(f"join to {join.table} would overwrite column(s) {clash}; rename them")
    if join.asof is not None:
        return _asof_join(ctx, lf, right, join)
    left_keys = [l for l, _ in join.pairs]
    right_keys = [r for _, r in join.pairs]
    if join.aggregate:
        right = _aggregated(ctx, right, right_keys, join.aggregate)
    else:
        right = right.select(
            *right_keys, *[pl.col(col).alias(name) for name, col in join.select.items()]
        )
        dupes = right.group_by(right_keys).len().filter(pl.col("len") > 1).head(1).collect()
        if dupes.height:
            raise EvaluationError(
                f"join to {join.table} on {right_keys} matches several rows for "
                f"{dupes.row(0)[:-1]}; use `aggregate:` to pick one value per key"
            )
    return lf.join(right, left_on=left_keys, right_on=right_keys, how="left",
                   maintain_order="left", nulls_equal=False)


def _asof_join(ctx: Context, lf: pl.LazyFrame, right: pl.LazyFrame, join: Join) -> pl.LazyFrame:
    asof = join.asof
    left_key, right_key = "__asof_left", "__asof_right"
    lf = lf.with_columns(_compile(ctx, asof.left, lf).cast(pl.Datetime("us")).alias(left_key))
    right = right.select(
        *asof.by,
        pl.col(asof.right).cast(pl.Datetime("us")).alias(right_key),
        *[pl.col(col).alias(name) for name, col in join.select.items()],
    ).drop_nulls(right_key).sort(right_key)
    # NOTE: an as-of join needs a sort key on every left row; rows whose key is NULL (say, a
    # missing disclosure value) get no match instead of being dropped.
    has_key = lf.filter(pl.col(left_key).is_not_null()).sort(left_key)
    no_key = lf.filter(pl.col(left_key).is_null())
    matched = has_key.join_asof(right, left_on=left_key, right_on=right_key, by=asof.by,
                                strategy=asof.direction, check_sortedness=False)
    unmatched = no_key.with_columns(
        *[pl.lit(None).alias(c) for c in [right_key, *join.select]]
    )
    combined = pl.concat([matched, unmatched], how="diagonal_relaxed")
    return combined.drop(left_key, right_key)


def records_for(rule: Rule, ctx: Context) -> pl.LazyFrame:
    """The records ``rule`` applies to, with every column its assertion and evidence need."""
    lf = ctx.tables[rule.table].lazy()
    if rule.group_by is not None:
        lf = _aggregated(ctx, lf, rule.group_by, rule.aggregate or {})
    for join in rule.joins:
        lf = _join(ctx, lf, join)
    for name, text in rule.derive.items():
        lf = lf.with_columns(_compile(ctx, text, lf).alias(name))
    if rule.filter:
        lf = lf.filter(_compile(ctx, rule.filter, lf).fill_null(False))
    if rule.effective:
        lf = lf.filter(_in_force(rule, lf))
    return lf


def _in_force(rule: Rule, lf: pl.LazyFrame) -> pl.Expr:
    """Records whose effective-date column falls inside the rule's dates (inclusive)."""
    eff = rule.effective
    when = pl.col(eff.column).cast(pl.Date)
    keep = pl.lit(True)
    if eff.from_:
        keep = keep & (when >= eff.from_)
    if eff.to:
        keep = keep & (when <= eff.to)
    return keep.fill_null(False)


def _output_columns(rule: Rule, available: list[str], personal: set[str]) -> list[str]:
    used, _, _ = names_used(rule.assert_)
    for esc in rule.escalate:
        used |= names_used(esc.when)[0]
    wanted = [*rule.key_columns, ROW, *rule.evidence, *sorted(used)]
    seen: list[str] = []
    for col in wanted:
        if col in available and col not in seen and col not in personal:
            seen.append(col)
    return seen


def _assertion_check(rule: Rule, assertion: pl.Expr) -> pa.Check:
    # NOTE: NULL counts as a violation: a requirement that cannot be shown to hold is not met.
    return pa.Check(
        lambda data: data.lazyframe.select(assertion.fill_null(False)),
        name=rule.id, error=rule.title,
    )


def evaluate_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Run one rule; never raises for a data problem: the result says `error` instead."""
    missing = [t for t in dict.fromkeys(rule.tables) if t not in ctx.tables]
    if missing:
        if rule.when_missing == "fail" and rule.table in missing:
            return RuleResult(rule, FAILED, checked=1, violations=1,
                              message=f"required table {rule.table!r} is missing from the export",
                              records=pl.DataFrame({"missing_table": [rule.table]}))
        return RuleResult(rule, NOT_APPLICABLE,
                          message=f"table(s) {', '.join(missing)} not in the export")
    try:
        lf = records_for(rule, ctx)
        schema = lf.collect_schema()
        assertion = compile_expr(rule.assert_, ctx.scope(schema))
        frame = lf.select(_output_columns(rule, schema.names(), set())).collect()
        failing = _run_pandera(rule, assertion, frame)
    except (ExprError, EvaluationError) as err:
        return RuleResult(rule, ERROR, message=str(err))
    except (pl.exceptions.PolarsError, SchemaError, TypeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return RuleResult(rule, ERROR, message=f"cannot evaluate on this data: {first}")
    if frame.height == 0:
        why = " inside its effective dates" if rule.effective else ""
        return RuleResult(rule, NOT_APPLICABLE, message=f"no records this rule applies to{why}")
    try:
        failing = _with_severity(rule, failing, ctx)
    except (ExprError, pl.exceptions.PolarsError) as err:
        return RuleResult(rule, ERROR, message=f"escalation: {err}")
    shown = _output_columns(rule, frame.columns, ctx.personal)
    shown += [SEVERITY] if rule.escalate else []
    records = failing.select(shown).sort([c for c in rule.key_columns if c in shown] or shown)
    status = FAILED if records.height else PASSED
    return RuleResult(rule, status, checked=frame.height, violations=records.height,
                      records=records)


def _with_severity(rule: Rule, failing: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Tag each violating record with its severity: the first escalation it meets, else the rule's."""
    if not rule.escalate:
        return failing
    scope = ctx.scope(failing.schema)
    chain = None
    for esc in rule.escalate:
        cond = compile_expr(esc.when, scope).fill_null(False)
        chain = pl.when(cond).then(pl.lit(esc.to)) if chain is None else chain.when(cond).then(pl.lit(esc.to))
    return failing.with_columns(chain.otherwise(pl.lit(rule.severity)).alias(SEVERITY))


def _run_pandera(rule: Rule, assertion: pl.Expr, frame: pl.DataFrame) -> pl.DataFrame:
    """Validate ``frame`` with a one-check pandera schema; return the failing records."""
    schema = pa.DataFrameSchema(checks=[_assertion_check(rule, assertion)], name=rule.id)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = [e.failure_cases for e in err.schema_errors
                 if isinstance(e.failure_cases, pl.DataFrame)]
        if not cases:
            raise EvaluationError(f"pandera could not run the check: {err.schema_errors[0]}")
        return cases[0].select(frame.columns)
    return frame.clear()


def evaluate(ruleset: RuleSet, tables: dict[str, pl.DataFrame], as_of: date | None = None,
             progress=None) -> list[RuleResult]:
    """Every rule of ``ruleset`` on ``tables``, in rule order."""
    ctx = Context.build(tables, ruleset.params, as_of)
    results = []
    for rule in ruleset.rules:
        results.append(evaluate_rule(rule, ctx))
        if progress:
            progress(rule)
    return results


# --- rule examples ------------------------------------------------------------------------

def frame_from_records(table_name: str, records: list[dict[str, Any]]) -> pl.DataFrame:
    """A typed contract frame from example rows (YAML dates arrive as date objects)."""
    t = contract.table(table_name)
    unknown = sorted({k for r in records for k in r} - set(t.column_names))
    if unknown:
        raise EvaluationError(f"table {table_name} has no column(s) {unknown}")
    data = {}
    for col in t.columns:
        values = [_example_value(r.get(col.name), col.type) for r in records]
        data[col.name] = pl.Series(col.name, values, dtype=col.dtype, strict=False)
    frame = pl.DataFrame(data, schema={c.name: c.dtype for c in t.columns})
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def _example_value(value: Any, kind: str) -> Any:
    if isinstance(value, str) and kind == contract.DATE:
        return date.fromisoformat(value)
    if isinstance(value, str) and kind == contract.DATETIME:
        return datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime) and kind == contract.DATETIME:
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and kind == contract.STRING:
        return str(value)
    return value


def run_example(rule: Rule, example: Example, params: dict[str, Any]) -> RuleResult:
    """Evaluate ``rule`` on one of its own examples."""
    tables = {name: frame_from_records(name, rows) for name, rows in example.tables.items()}
    ctx = Context.build(tables, {**params, **example.params})
    return evaluate_rule(rule, ctx)


def check_examples(rule: Rule, params: dict[str, Any]) -> list[str]:
    """Problems with a rule's examples: the pass example must pass, the fail example fail."""
    problems = []
    try:
        passed = run_example(rule, rule.examples.pass_, params)
        failed = run_example(rule, rule.examples.fail, params)
    except EvaluationError as err:
        return [f"{rule.id}: examples: {err}"]
    if passed.status != PASSED:
        problems.append(f"{rule.id}: pass example ended {passed.status} "
                        f"({passed.violations} violation(s)) {passed.message}".rstrip())
    expected = rule.examples.fail.violations
    if failed.status != FAILED:
        problems.append(f"{rule.id}: fail example ended {failed.status} {failed.message}".rstrip())
    elif expected is not None and failed.violations != expected:
        problems.append(f"{rule.id}: fail example found {failed.violations} violation(s), "
                        f"expected {expected}")
    return problems


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, (date, datetime)):
            v = v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
        elif isinstance(v, float):
            # NOTE: sums of binary floats print as 18474685.839999996; six decimals keep every
            # sub-cent digit that matters and drop the representation noise.
            v = None if v != v else round(v, 6)
        out[k] = v
    return out
