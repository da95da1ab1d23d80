"""Evaluate stage: compile each rule into a pandera validator over the loaded tables and run it.

A rule becomes a polars query (aggregate, attach the disclosure in force, join, derive, filter)
that yields the records it applies to, and a pandera ``DataFrameSchema`` whose single check is
the rule's assertion. pandera runs lazily and collects every failing record; those records are
the rule's violations.

Three outcomes keep "not tested" apart from "passed":

* a rule whose tables or columns the export lacks is ``not_evaluable`` (naming them) before it
  runs; a column the rule copes without (``optional:``, a computed column's assumption) is a
  caveat instead;
* a record the data cannot decide (no disclosure in force at its time, a date outside the
  trading calendar, the rule's own ``undetermined:`` conditions) is set aside and counted, never
  passed; if no record is left, the rule is ``not_evaluable``;
* a record whose own cells the rule reads could not be read (or that is linked to an unreadable
  row of a joined table) is set aside the same way; when such records exist, or rows of the
  rule's tables could not be placed at all (ragged rows), a rule no record of which fails is
  ``incomplete``, never ``passed``;
* the remaining records pass or fail the assertion (a NULL assertion is a violation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from audit import compat, contract, disclosure
from audit.calendar import CalendarError, TradingCalendar, trading_calendar
from audit.errors import AuditError
from audit.expr import ExprError, Scope, compile_expr, names_used, ordered_window_keys
from audit.frames import asof_left_join
from audit.rules import (
    Example, Join, Rule, RuleSet, disclosure_fields, join_disclosure_fields, one_line, rule_inputs,
)
from audit.vocab import (
    DISCLOSURE_PREFIX, ERROR, FAILED, INCOMPLETE, INTERNAL_PREFIX, NOT_APPLICABLE, NOT_EVALUABLE,
    PASSED, ROW, SEVERITIES, SEVERITY_COLUMN as SEVERITY, UNDETERMINED_PREFIX, UNREADABLE,
    UNREADABLE_FLAG,
)

SAMPLE_SIZE = 20
CALENDAR_GUARD = UNDETERMINED_PREFIX + "calendar"
SHOWN_DISCLOSURE = "disclosure_from"  # evidence: the date of the disclosure version applied

__all__ = ["ERROR", "FAILED", "INCOMPLETE", "NOT_APPLICABLE", "NOT_EVALUABLE", "PASSED", "ROW", "SEVERITY",
           "SEVERITIES", "Context", "EvaluationError", "RuleResult", "check_examples",
           "evaluate", "evaluate_rule", "frame_from_records", "records_for", "reference_date",
           "run_example"]


class EvaluationError(AuditError, RuntimeError):
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
    not_evaluable: int = 0  # records set aside because the data cannot decide them
    not_evaluable_reasons: dict[str, int] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)  # what the result assumes
    unreadable: int = 0  # records set aside for unreadable cells, plus rows no record places

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
    """Everything a rule may read: the tables (with computed columns), resolved parameters, the
    trading calendar, and which columns the export actually gave."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any]
    calendar: TradingCalendar | None = None
    provided: dict[str, set[str]] | None = None  # table -> columns in the export; None: all
    notes: list[str] = field(default_factory=list)
    order: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> columns it is sorted by
    personal: set[str] = field(default_factory=contract.personal_columns)
    rejected: dict[str, int] = field(default_factory=dict)  # table -> rows not loaded (ragged)
    unread_files: dict[str, int] = field(default_factory=dict)  # table -> its files or sheets not read

    @classmethod
    def build(cls, tables: dict[str, pl.DataFrame], params: dict[str, Any],
              as_of: date | None = None, provided: dict[str, set[str]] | None = None,
              rejected: dict[str, int] | None = None,
              unread_files: dict[str, int] | None = None) -> "Context":
        as_of = as_of or params.get("as_of") or reference_date(tables)
        params = {**params, "as_of": as_of}
        try:
            cal = trading_calendar(str(params.get("trading_calendar") or "XSHG"))
        except CalendarError as err:
            raise EvaluationError(str(err)) from None
        tables, notes = compat.upgrade(tables, provided)
        ctx = cls(tables=tables, params=params, calendar=cal, provided=provided, notes=notes,
                  rejected=dict(rejected or {}), unread_files=dict(unread_files or {}))
        ctx.tables = {name: ctx._with_computed(name, frame) for name, frame in tables.items()}
        # NOTE: the daily snapshots sorted once by account and date: the rules that follow an
        # account through time (its spell below a line) then need no sort of their own.
        if "accounts" in ctx.tables:
            ctx.tables["accounts"] = ctx.tables["accounts"].sort(["account_id", "date"], maintain_order=True)
            ctx.order["accounts"] = ("account_id", "date")
        ctx._check_calendar()
        if "platform" in ctx.tables:
            _, undated = disclosure.versions(ctx.tables["platform"])
            if undated:
                ctx.notes.append(f"{undated} undated disclosure version(s) left out: several "
                                 "versions without a date cannot be ordered")
        return ctx

    def _check_calendar(self) -> None:
        """Note the snapshot dates the trading calendar has no session on: a platform that
        values its accounts on a day the exchange is shut is most likely on another exchange's
        calendar, and trading-day deadlines counted on the wrong one accuse wrongly."""
        frame = self.tables.get("accounts")
        if self.calendar is None or frame is None or "date" not in frame.columns:
            return
        days = frame["date"].drop_nulls().unique().to_list()
        closed = self.calendar.closed_days(days)
        if closed:
            shown = ", ".join(d.isoformat() for d in closed[:5]) + (" ..." if len(closed) > 5 else "")
            self.notes.append(
                f"accounts: {len(closed)} snapshot date(s) on which {self.calendar.name} has no "
                f"session ({shown}); trading-day deadlines are counted on {self.calendar.name}'s "
                f"sessions: if the platform trades on another exchange, run again with "
                f"--param trading_calendar=<its exchange code>")

    def _with_computed(self, name: str, frame: pl.DataFrame) -> pl.DataFrame:
        t = contract.TABLES_BY_NAME.get(name)
        if t is None:
            return frame
        if name == "platform":
            return disclosure.with_in_force(frame, self.params.get("as_of"))
        for col in t.computed:
            if col.expression and col.name not in frame.columns:
                expr = compile_expr(col.expression, self.scope(frame.schema))
                frame = frame.with_columns(expr.cast(col.dtype).alias(col.name))
        return frame

    def scope(self, frame_schema: dict[str, pl.DataType], aggregate: bool = False,
              guards: list[pl.Expr] | None = None) -> Scope:
        return Scope(
            columns=dict(frame_schema), params=self.params,
            disclosure_columns=frozenset(contract.readable_columns("platform")),
            aggregate=aggregate, calendar=self.calendar, guards=guards,
        )

    def has(self, table_name: str, column: str) -> bool:
        if table_name not in self.tables:
            return False
        if self.provided is None or table_name not in self.provided:
            return True
        return column in self.provided[table_name] or contract.computed_column(table_name, column) is not None


def reference_date(tables: dict[str, pl.DataFrame]) -> date | None:
    """The audit's as-of date: the last snapshot date, else the last date anywhere."""
    if "accounts" in tables and tables["accounts"].height:
        return tables["accounts"]["date"].max()
    dates = [f[c].max() for f in tables.values() for c in f.columns
             if f.schema[c] == pl.Date and f.height]
    return max((d for d in dates if d is not None), default=None)


# --- building the records a rule applies to ----------------------------------------------

class _Build:
    """One rule's query under construction, with the calendar guards its expressions raise."""

    def __init__(self, rule: Rule, ctx: Context):
        self.rule, self.ctx = rule, ctx
        self.guards: list[pl.Expr] = []
        self.order: tuple[str, ...] = ctx.order.get(rule.table, ())  # the records' current order
        self.unplaced: dict[str, int] = {}  # table -> unreadable rows no record can be linked to

    def read_by_rule(self, table: str) -> list[str]:
        inputs = rule_inputs(self.rule)
        return sorted(inputs.required.get(table, set()) | inputs.optional.get(table, set()))

    def unreadable_rows(self, table: str) -> pl.Expr | None:
        """True for the rows of ``table`` with an unreadable cell this rule reads (None when the
        table read cleanly)."""
        frame = self.ctx.tables.get(table)
        read = self.read_by_rule(table)
        if frame is None or UNREADABLE not in frame.columns or not read:
            return None
        return pl.col(UNREADABLE).list.eval(pl.element().is_in(read)).list.any().fill_null(False)

    def flag_unreadable(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Mark the rule's own records whose cells it reads could not be read."""
        bad = self.unreadable_rows(self.rule.table)
        return lf if bad is None else lf.with_columns(bad.alias(UNREADABLE_FLAG))

    def keep(self, lf: pl.LazyFrame, condition: pl.Expr) -> pl.LazyFrame:
        """Filter on ``condition``; a flagged record whose condition is unknown (it reads the
        unreadable cell) is kept, to be set aside as unreadable rather than dropped unseen."""
        if UNREADABLE_FLAG in lf.collect_schema().names():
            return lf.filter(pl.when(pl.col(UNREADABLE_FLAG)).then(condition.fill_null(True))
                             .otherwise(condition.fill_null(False)))
        return lf.filter(condition.fill_null(False))

    def mark_linked_unreadable(self, lf: pl.LazyFrame, join: Join) -> pl.LazyFrame:
        """Flag the records a join links to an unreadable row of its table; such rows whose
        keys are unreadable too link to no record and make the rule incomplete as a whole."""
        bad = self.unreadable_rows(join.table)
        if bad is None:
            return lf
        rows = self.ctx.tables[join.table].filter(bad)
        if not rows.height:
            return lf
        pairs = ([(k, k) for k in join.asof.by] if join.asof is not None else list(join.pairs))
        linked = rows.select([r for _, r in pairs]).drop_nulls() if pairs else rows.clear(0)
        lost = rows.height - linked.height
        if lost:
            self.unplaced[join.table] = self.unplaced.get(join.table, 0) + lost
        if not pairs or not linked.height:
            return lf
        flag = f"{UNREADABLE_FLAG}_{join.table}"
        mark = "__linked_unreadable"
        linked = linked.unique().with_columns(pl.lit(True).alias(mark)).lazy()
        lf = lf.join(linked, left_on=[l for l, _ in pairs], right_on=[r for _, r in pairs],
                     how="left", maintain_order="left", nulls_equal=False)
        hit = pl.col(mark).fill_null(False)
        if flag in lf.collect_schema().names():
            hit = hit | pl.col(flag)
        return lf.with_columns(hit.alias(flag)).drop(mark)

    def compile(self, text: str, lf: pl.LazyFrame, aggregate: bool = False,
                guards: list[pl.Expr] | None = None, sorted_by: tuple[str, ...] = ()) -> pl.Expr:
        scope = self.ctx.scope(lf.collect_schema(), aggregate=aggregate,
                               guards=self.guards if guards is None else guards)
        scope.sorted_by = sorted_by
        return compile_expr(text, scope)

    def aggregated(self, lf: pl.LazyFrame, keys: list[str], aggs: dict[str, str]) -> pl.LazyFrame:
        self.order = ()
        exprs = [self.compile(text, lf, aggregate=True).alias(name) for name, text in aggs.items()]
        if UNREADABLE_FLAG in lf.collect_schema().names():
            # NOTE: a group holding an unreadable record cannot be judged as a whole.
            exprs.append(pl.col(UNREADABLE_FLAG).any().alias(UNREADABLE_FLAG))
        if not keys:
            return lf.select(exprs)
        return lf.group_by(keys, maintain_order=False).agg(exprs)

    def with_disclosure(self, lf: pl.LazyFrame, at_text: str, fields: list[str],
                        guards: list[pl.Expr] | None = None) -> pl.LazyFrame:
        at = self.compile(at_text, lf, guards=guards)
        return disclosure.attach(lf, at, fields, self.ctx.tables["platform"])

    def join(self, lf: pl.LazyFrame, join: Join) -> pl.LazyFrame:
        added = list((join.aggregate or {}) or (join.select or {}))
        clash = sorted(set(lf.collect_schema().names()) & set(added))
        if clash:
            raise EvaluationError(f"join to {join.table} would overwrite column(s) {clash}; rename them")
        if (join.optional and not self._joinable(join)) or self._switched_off(join, lf):
            return lf.with_columns(*[pl.lit(None).alias(name) for name in added])
        lf = self.mark_linked_unreadable(lf, join)
        right = self.ctx.tables[join.table].lazy()
        right_guards: list[pl.Expr] = []
        if join.disclosure_at:
            right = self.with_disclosure(right, join.disclosure_at, join_disclosure_fields(join),
                                         guards=right_guards)
        if join.filter:
            right = right.filter(self.compile(join.filter, right, guards=right_guards).fill_null(False))
        if join.asof is not None:
            return self._asof(lf, right, join, right_guards)
        left_keys = [l for l, _ in join.pairs]
        right_keys = [r for _, r in join.pairs]
        if join.aggregate:
            right = self.aggregated(right, right_keys, join.aggregate)
        else:
            picks = [self.compile(text, right, guards=right_guards).alias(name)
                     for name, text in join.select.items()]
            right = right.select(*right_keys, *picks)
            dupes = right.group_by(right_keys).len().filter(pl.col("len") > 1).head(1).collect()
            if dupes.height:
                raise EvaluationError(
                    f"join to {join.table} on {right_keys} matches several rows for "
                    f"{dupes.row(0)[:-1]}; use `aggregate:` to pick one value per key"
                )
        return lf.join(right, left_on=left_keys, right_on=right_keys, how="left",
                       maintain_order="left", nulls_equal=False)

    def _asof(self, lf: pl.LazyFrame, right: pl.LazyFrame, join: Join,
              right_guards: list[pl.Expr]) -> pl.LazyFrame:
        asof = join.asof
        key = "__asof_key"
        right = right.select(
            *asof.by,
            self.compile(asof.right, right, guards=right_guards).alias(key),
            *[self.compile(text, right, guards=right_guards).alias(name)
              for name, text in join.select.items()],
        )
        left_key = self.compile(asof.left, lf)
        self.order = ()  # an as-of join sorts the records by its key
        if right_guards and self.ctx.calendar is not None:
            # NOTE: a joined row whose time lies outside the calendar has no key and cannot be
            # matched; a record that might have matched it (its own time outside the calendar
            # too) cannot be judged.
            first, last = self.ctx.calendar.first, self.ctx.calendar.last
            day = left_key.cast(pl.Date)
            self.guards.append(day.is_not_null() & ((day < first) | (day > last)))
        return asof_left_join(lf, right, left_key, key, by=asof.by, strategy=asof.direction)

    def _switched_off(self, join: Join, lf: pl.LazyFrame) -> bool:
        """A join whose filter is a parameter that is false (``@contract_lines_allowed``)
        finds nothing: skip it rather than sort a million records for it."""
        if not join.filter or names_used(join.filter)[0] or names_used(join.filter)[2]:
            return False
        value = pl.select(self.compile(join.filter, lf)).item()
        return value is False or value is None

    def _joinable(self, join: Join) -> bool:
        needs = rule_inputs(self.rule).optional.get(join.table, set())
        return join.table in self.ctx.tables and all(self.ctx.has(join.table, c) for c in needs)


def records_for(rule: Rule, ctx: Context, build: _Build | None = None) -> pl.LazyFrame:
    """The records ``rule`` applies to, with every column its assertion and evidence need."""
    b = build or _Build(rule, ctx)
    lf = b.flag_unreadable(ctx.tables[rule.table].lazy())
    if rule.pre_group_by is not None:
        lf = b.aggregated(lf, rule.pre_group_by, rule.pre_aggregate or {})
    if rule.group_by is not None:
        lf = b.aggregated(lf, rule.group_by, rule.aggregate or {})
    if rule.disclosure_at:
        lf = b.with_disclosure(lf, rule.disclosure_at, disclosure_fields(rule))
    early, late, late_derive = _stage_order(rule)
    for join in early:
        lf = b.join(lf, join)
    # NOTE: ordered windows (an account's spell below a line) sort their partitions one by one;
    # sorting the frame once by their keys lets them run as one pass each.
    keys = set().union(*(ordered_window_keys(text) for text in rule.derive.values()))
    sorted_by: tuple[str, ...] = max(keys, key=len) if keys else ()
    if sorted_by and all(sorted_by[:len(k)] == k for k in keys):
        if b.order[:len(sorted_by)] != sorted_by:
            lf = lf.sort(list(sorted_by))
    else:
        sorted_by = ()
    for name, text in rule.derive.items():
        if name not in late_derive:
            lf = lf.with_columns(b.compile(text, lf, sorted_by=sorted_by).alias(name))
    if rule.filter:
        lf = b.keep(lf, b.compile(rule.filter, lf))
    if rule.effective:
        lf = b.keep(lf, _in_force(rule, lf))
    for join in late:
        lf = b.join(lf, join)
    for name, text in rule.derive.items():
        if name in late_derive:
            lf = lf.with_columns(b.compile(text, lf).alias(name))
    return lf


def _stage_order(rule: Rule) -> tuple[list[Join], list[Join], set[str]]:
    """(joins to run before the derived columns and the filter, joins to run after the filter,
    derived columns to compute after it). A left join keeps every record and a derived column
    is a function of its record, so what only the assertion reads can be worked out on the
    records the filter leaves (a margin call looked up for 30,000 account-days, not
    1,000,000). Window functions read the neighbouring records: they stay before the filter,
    with everything they read."""
    uses = {name: names_used(text)[0] for name, text in rule.derive.items()}
    left_of = {id(j): ({l for l, _ in j.pairs} | set(j.asof.by if j.asof else [])
                       | (names_used(j.asof.left)[0] if j.asof else set())) for j in rule.joins}
    needed = set().union(*(names_used(t)[0] for t in (rule.filter or "",
                                                       rule.effective.column if rule.effective else "")
                           if t.strip()))
    needed |= {name for name, text in rule.derive.items() if "OVER" in text.upper()}
    while True:
        for name in reversed(list(rule.derive)):  # what an early derived column reads is early
            if name in needed:
                needed |= uses[name]
        early = [j for j in rule.joins
                 if (set(j.select or {}) | set(j.aggregate or {})) & needed]
        late = [j for j in rule.joins if j not in early]
        more = set().union(set(), *(left_of[id(j)] for j in early),
                           *(left_of[id(j)] & set(rule.derive) for j in late))
        if more <= needed:
            break
        needed |= more
    return early, late, set(rule.derive) - needed


def _in_force(rule: Rule, lf: pl.LazyFrame) -> pl.Expr:
    """Records whose effective-date column falls inside the rule's dates (inclusive)."""
    eff = rule.effective
    when = pl.col(eff.column).cast(pl.Date)
    keep = pl.lit(True)
    if eff.from_:
        keep = keep & (when >= eff.from_)
    if eff.to:
        keep = keep & (when <= eff.to)
    return keep


def _output_columns(rule: Rule, available: list[str], personal: set[str]) -> list[str]:
    used, _, disc = names_used(rule.assert_)
    for esc in rule.escalate:
        u, _, d = names_used(esc.when)
        used |= u
        disc |= d
    wanted = [*rule.key_columns, ROW, *rule.evidence, *sorted(used),
              *[DISCLOSURE_PREFIX + f for f in sorted(disc)]]
    if rule.disclosure_at:
        wanted.append(DISCLOSURE_PREFIX + disclosure.IN_FORCE_FROM)
    wanted += [c for c in available if c.startswith(UNDETERMINED_PREFIX)]
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


def missing_inputs(rule: Rule, ctx: Context) -> tuple[list[str], list[str], list[str]]:
    """(missing tables, missing columns as table.column, caveats) of ``rule`` on this export."""
    inputs = rule_inputs(rule)
    tables = [t for t in inputs.required if t not in ctx.tables]
    columns = sorted(f"{t}.{c}" for t, cols in inputs.required.items() if t in ctx.tables
                     for c in cols if not ctx.has(t, c))
    caveats = []
    for t, cols in inputs.optional.items():
        table = contract.TABLES_BY_NAME.get(t)
        for comp in (table.computed if table else ()):
            for col, assumed in comp.assumes:
                if col in cols and t in ctx.tables and not ctx.has(t, col):
                    caveats.append(f"{t}.{col} is not in the export: {t}.{comp.name} assumes "
                                   f"{assumed}")
    return tables, columns, sorted(set(caveats))


def evaluate_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Run one rule; never raises for a data problem: the result says why instead."""
    tables, columns, caveats = missing_inputs(rule, ctx)
    if tables:
        if rule.when_missing == "fail" and rule.table in tables:
            return RuleResult(rule, FAILED, checked=1, violations=1,
                              message=f"required table {rule.table!r} is missing from the export",
                              records=pl.DataFrame({"missing_table": [rule.table]}))
        return RuleResult(rule, NOT_EVALUABLE,
                          message=f"the export has no {', '.join(tables)} table; the rule needs it")
    if columns:
        return RuleResult(rule, NOT_EVALUABLE,
                          message=f"the export has no column {', '.join(columns)}; the rule needs it")
    build = _Build(rule, ctx)
    try:
        lf = records_for(rule, ctx, build)
        schema = lf.collect_schema()
        scope = ctx.scope(schema, guards=build.guards)
        assertion = compile_expr(rule.assert_, scope)
        flags = {f"{UNDETERMINED_PREFIX}rule{i}": compile_expr(u.when, scope).fill_null(False)
                 for i, u in enumerate(rule.undetermined)}
        if build.guards:
            flags[CALENDAR_GUARD] = pl.any_horizontal(build.guards).fill_null(False)
        lf = lf.with_columns(*[e.alias(n) for n, e in flags.items()])
        schema = lf.collect_schema()
        frame = lf.select(_output_columns(rule, schema.names(), set())).collect()
    except (ExprError, EvaluationError) as err:
        return RuleResult(rule, ERROR, message=str(err), caveats=caveats)
    except (pl.exceptions.PolarsError, SchemaError, TypeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return RuleResult(rule, ERROR, message=f"cannot evaluate on this data: {first}",
                          caveats=caveats)
    frame, undecided = _set_aside(frame)
    reasons = {_reason(rule, ctx, name): n for name, n in undecided.items()}
    set_aside = sum(undecided.values())
    unplaced = _unplaced(rule, ctx, build)
    reasons.update(unplaced)
    unreadable = (sum(n for name, n in undecided.items() if name.startswith(UNREADABLE_FLAG))
                  + sum(unplaced.values()))
    if frame.height == 0:
        if set_aside or unplaced:
            status = INCOMPLETE if unreadable else NOT_EVALUABLE
            return RuleResult(rule, status, not_evaluable=set_aside,
                              not_evaluable_reasons=reasons, caveats=caveats,
                              unreadable=unreadable,
                              message="no record could be judged: " + _reasons_text(reasons))
        why = " inside its effective dates" if rule.effective else ""
        return RuleResult(rule, NOT_APPLICABLE, message=f"no records this rule applies to{why}",
                          caveats=caveats)
    try:
        failing = _run_pandera(rule, assertion, frame)
        failing = _with_severity(rule, failing, ctx)
    except (ExprError, EvaluationError, pl.exceptions.PolarsError) as err:
        return RuleResult(rule, ERROR, message=f"cannot evaluate on this data: {err}",
                          caveats=caveats)
    records = _shown(rule, failing, ctx.personal)
    status = FAILED if records.height else INCOMPLETE if unreadable else PASSED
    message = (f"{set_aside} record(s) could not be judged: {_reasons_text(reasons)}"
               if set_aside else "")
    if unplaced:
        message = "; ".join(filter(None, [message, _reasons_text(unplaced)]))
    return RuleResult(rule, status, checked=frame.height, violations=records.height,
                      records=records, message=message, not_evaluable=set_aside,
                      not_evaluable_reasons=reasons, caveats=caveats, unreadable=unreadable)


def _unplaced(rule: Rule, ctx: Context, build: _Build) -> dict[str, int]:
    """What of the rule's tables no record of it can be linked to, reason -> count: rows the
    loader could not place at all (ragged), rows a join could not link (their key is the
    unreadable cell), unreadable disclosure versions (the platform table), and files named
    like one of its tables that another file was read for."""
    rows = dict(build.unplaced)
    files: dict[str, int] = {}
    inputs = rule_inputs(rule)
    joined = {j.table for j in rule.joins}
    for table in sorted(set(inputs.required) | set(inputs.optional)):
        if table not in ctx.tables:
            continue
        lost = ctx.rejected.get(table, 0)
        if table != rule.table and table not in joined:  # read through the disclosure in force
            bad = build.unreadable_rows(table)
            lost += ctx.tables[table].select(bad.sum()).item() if bad is not None else 0
        if lost:
            rows[table] = rows.get(table, 0) + lost
        if ctx.unread_files.get(table):
            files[table] = ctx.unread_files[table]
    out = {(f"rows of {t} that could not be read or linked to a record" if t != "stress"
            else "rows of the stress test's inputs (accounts, positions, instruments, capital, "
                 "platform) that could not be read"): n for t, n in sorted(rows.items())}
    out.update({f"files or sheets holding table {t} that were not read (data_issues.csv names "
                f"them)": n for t, n in files.items()})
    return out


def _set_aside(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The records the data can decide, and how many of the others each reason set aside
    (a record counts under the first reason that holds)."""
    flags = [c for c in frame.columns if c.startswith(UNDETERMINED_PREFIX)]
    counts: dict[str, int] = {}
    if not flags or not frame.select(pl.any_horizontal(pl.col(flags).fill_null(False)).any()).item():
        return frame, counts
    for name in flags:
        hit = frame.filter(pl.col(name).fill_null(False))
        if hit.height:
            counts[name] = hit.height
            frame = frame.filter(~pl.col(name).fill_null(False))
    return frame, counts


def _reason(rule: Rule, ctx: Context, flag: str) -> str:
    if flag == UNREADABLE_FLAG:
        return "a cell the rule reads could not be read (data_issues.csv names it)"
    if flag.startswith(UNREADABLE_FLAG + "_"):
        return (f"it is linked to a row of {flag.removeprefix(UNREADABLE_FLAG + '_')} with a "
                f"cell the rule reads that could not be read")
    if flag == disclosure.NO_DISCLOSURE:
        first = disclosure.earliest(ctx.tables["platform"]) if "platform" in ctx.tables else None
        return ("no disclosure version was in force at the record's time"
                + (f" (the earliest is in force from {first})" if first else ""))
    if flag == CALENDAR_GUARD:
        return f"its dates fall outside the trading calendar {ctx.calendar.describe()}"
    index = int(flag.removeprefix(UNDETERMINED_PREFIX + "rule"))
    return one_line(rule.undetermined[index].reason)


def _reasons_text(reasons: dict[str, int]) -> str:
    return "; ".join(f"{reason} ({n})" for reason, n in reasons.items())


def _shown(rule: Rule, failing: pl.DataFrame, personal: set[str]) -> pl.DataFrame:
    """The violating records as an auditor sees them: key, row, evidence; no internal column,
    no personal data; the disclosure version applied, when the rule reads one."""
    shown = [c for c in _output_columns(rule, failing.columns, personal)
             if not c.startswith(INTERNAL_PREFIX)]
    exprs = [pl.col(c) for c in shown]
    in_force = DISCLOSURE_PREFIX + disclosure.IN_FORCE_FROM
    if in_force in failing.columns:
        exprs.append(pl.col(in_force).alias(SHOWN_DISCLOSURE))
    if rule.escalate:
        exprs.append(pl.col(SEVERITY))
    records = failing.select(exprs)
    keys = [c for c in rule.key_columns if c in records.columns]
    return records.sort(keys or records.columns[:1])


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
             progress=None, provided: dict[str, set[str]] | None = None,
             ctx: Context | None = None) -> list[RuleResult]:
    """Every rule of ``ruleset`` on ``tables``, in rule order."""
    ctx = ctx or Context.build(tables, ruleset.params, as_of, provided)
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
    """Problems with a rule's examples: pass examples must pass, fail examples fail, each with
    the number of violations (and undecidable records) it declares."""
    problems = []
    cases = [("pass", ex) for ex in rule.examples.passes] + [("fail", ex) for ex in rule.examples.fails]
    for kind, ex in cases:
        label = f"{kind} example" + (f" '{ex.name}'" if ex.name else "")
        try:
            result = run_example(rule, ex, params)
        except EvaluationError as err:
            problems.append(f"{rule.id}: {label}: {err}")
            continue
        undecided_only = (result.status == NOT_EVALUABLE and ex.not_evaluable is not None
                          and result.not_evaluable == ex.not_evaluable)
        if kind == "pass" and result.status != PASSED and not undecided_only:
            problems.append(f"{rule.id}: {label} ended {result.status} "
                            f"({result.violations} violation(s)) {result.message}".rstrip())
        elif kind == "fail" and result.status != FAILED:
            problems.append(f"{rule.id}: {label} ended {result.status} {result.message}".rstrip())
        elif kind == "fail" and ex.violations is not None and result.violations != ex.violations:
            problems.append(f"{rule.id}: {label} found {result.violations} violation(s), "
                            f"expected {ex.violations}")
        if ex.not_evaluable is not None and result.not_evaluable != ex.not_evaluable:
            problems.append(f"{rule.id}: {label} set aside {result.not_evaluable} record(s) as not "
                            f"evaluable, expected {ex.not_evaluable}")
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
