"""Rule expressions: a small, safe SQL-expression language compiled to polars expressions.

Rule files are data, never code. An expression is parsed by sqlglot into a syntax tree, every
node is checked against a whitelist (operators, functions, columns known to the frame,
parameters known to the profile) and only then translated into a polars expression. Nothing is
ever ``eval``'d, and anything not on the whitelist is refused with a message naming it.

The language, as a rule author sees it (see docs/rules.md):

- columns by name (``verified_at``); the disclosure in force at the record's time as
  ``platform.<column>`` (the rule's ``disclosure_at`` says which time); parameters as ``@name``;
- literals: numbers, 'strings', TRUE, FALSE, NULL;
- ``= <> != < <= > >= + - * / %``, ``AND OR NOT``, ``IS [NOT] NULL``, ``[NOT] IN (...)``,
  ``BETWEEN``, ``CASE WHEN ... THEN ... ELSE ... END``;
- functions: see ``SCALAR_FUNCTIONS`` and ``AGGREGATE_FUNCTIONS`` below; trading-day and month
  arithmetic (``audit.calendar``);
- a few window functions over a partition: ``f(...) OVER (PARTITION BY ... [ORDER BY ...])`` with
  ``lag``, ``lead``, ``run_start`` and ``min``/``max``/``sum``/``count``.

NULL follows SQL (three-valued logic); the engine counts an assertion that is NULL as a
violation, because a requirement that cannot be shown to hold has not been met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from typing import Any, Callable

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from audit import calendar
from audit.errors import ConfigError
from audit.vocab import DISCLOSURE_PREFIX

MICROSECONDS_PER_HOUR = 3_600_000_000
MICROSECONDS_PER_DAY = 24 * MICROSECONDS_PER_HOUR


class ExprError(ConfigError, ValueError):
    """An expression that cannot be parsed, or uses something not on the whitelist."""


@dataclass
class Scope:
    """What an expression may refer to when it is compiled."""

    columns: dict[str, pl.DataType]
    params: dict[str, Any] = field(default_factory=dict)
    disclosure_columns: frozenset[str] = frozenset()  # platform.<column> names that exist
    aggregate: bool = False  # aggregate functions allowed (in `aggregate:` blocks)
    calendar: calendar.TradingCalendar | None = None  # for the trading-day functions
    # Calendar calls append "answer unknown" conditions here: a record whose date lies outside
    # the calendar cannot be judged (the engine counts it as not evaluable).
    guards: list[pl.Expr] | None = None
    # Columns the frame is sorted by: an ordered window over a prefix of them needs no sort of
    # its own (the engine sorts once for all of a rule's windows).
    sorted_by: tuple[str, ...] = ()


def parse(text: str) -> exp.Expression:
    """Parse ``text`` and refuse anything that is not a plain expression on the whitelist."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("expression is empty")
    return _parse(text)


# NOTE: a rule's expressions are parsed again for every frame they are compiled against; the
# tree of a text never changes (nothing here mutates it), so it is parsed once.
@lru_cache(maxsize=4096)
def _parse(text: str) -> exp.Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("expression is empty")
    try:
        tree = sqlglot.parse_one(text)
    except (ParseError, sqlglot.errors.TokenError) as err:
        raise ExprError(f"cannot parse {text!r}: {_first_line(err)}") from None
    if tree is None:
        raise ExprError(f"cannot parse {text!r}")
    for node in tree.walk():
        if isinstance(node, exp.Window):
            _check_window(node, text)
            continue
        if not isinstance(node, ALLOWED_NODES) and _function_name(node) is None:
            raise ExprError(
                f"{node.key.upper()} is not allowed in rule expressions (in {text!r}); "
                "use columns, @parameters, platform.<column>, operators and the documented "
                "functions"
            )
    return tree


def names_used(text: str) -> tuple[set[str], set[str], set[str]]:
    """Columns, parameters and disclosure fields that ``text`` refers to (for rule linting)."""
    columns, params, disclosure = _names_used(text)
    return set(columns), set(params), set(disclosure)


@lru_cache(maxsize=4096)
def _names_used(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    tree = parse(text)
    columns, params, disclosure = set(), set(), set()
    for node in tree.walk():
        if isinstance(node, exp.Column):
            (disclosure if node.table else columns).add(node.name)
        elif isinstance(node, (exp.Parameter, exp.Placeholder)):
            params.add(_param_name(node))
    return frozenset(columns), frozenset(params), frozenset(disclosure)


def compile_expr(text: str, scope: Scope) -> pl.Expr:
    """Translate ``text`` into a polars expression over a frame with ``scope.columns``."""
    return _Compiler(text, scope).visit(parse(text))


class _Compiler:
    def __init__(self, text: str, scope: Scope):
        self.text = text
        self.scope = scope

    def fail(self, message: str) -> ExprError:
        return ExprError(f"{message} (in {self.text!r})")

    def visit(self, node: exp.Expression) -> pl.Expr:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        name = _function_name(node)
        if name is None:
            raise self.fail(f"{node.key.upper()} is not supported")
        return self.call(name, _function_args(node))

    # --- leaves -------------------------------------------------------------------------
    def column(self, node: exp.Column) -> pl.Expr:
        name = node.name
        if node.table:
            if node.table not in ("platform", "disclosure"):
                raise self.fail(
                    f"unknown qualifier {node.table!r}: only platform.<column> is allowed"
                )
            if self.scope.disclosure_columns and name not in self.scope.disclosure_columns:
                raise self.fail(
                    f"platform has no column {name!r}; known: "
                    f"{', '.join(sorted(self.scope.disclosure_columns))}"
                )
            if DISCLOSURE_PREFIX + name not in self.scope.columns:
                raise self.fail(
                    f"platform.{name}: which disclosure version applies is not said here; give "
                    "`disclosure_at:` (the record's time) on the rule, or on the join whose rows "
                    "read it"
                )
            return pl.col(DISCLOSURE_PREFIX + name)
        if name not in self.scope.columns:
            raise self.fail(
                f"unknown column {name!r}; known: {', '.join(sorted(self.scope.columns))}"
            )
        return pl.col(name)

    def param(self, node: exp.Expression) -> pl.Expr:
        name = _param_name(node)
        if name not in self.scope.params:
            known = ", ".join(f"@{p}" for p in sorted(self.scope.params)) or "none"
            raise self.fail(f"unknown parameter @{name}; known: {known}")
        return _literal(self.scope.params[name])

    def literal(self, node: exp.Literal) -> pl.Expr:
        if node.is_string:
            return pl.lit(node.this, dtype=pl.String)
        text = node.this
        return pl.lit(float(text) if any(c in text for c in ".eE") else int(text))

    # --- functions ----------------------------------------------------------------------
    def call(self, name: str, args: list[exp.Expression]) -> pl.Expr:
        if name in AGGREGATE_FUNCTIONS:
            if not self.scope.aggregate:
                raise self.fail(
                    f"{name}() is an aggregate: use it in an `aggregate:` block, not in a "
                    "row expression"
                )
            arity, build = AGGREGATE_FUNCTIONS[name]
        elif name in SCALAR_FUNCTIONS:
            arity, build = SCALAR_FUNCTIONS[name]
        else:
            known = sorted(set(SCALAR_FUNCTIONS) | set(AGGREGATE_FUNCTIONS))
            raise self.fail(f"unknown function {name}(); known: {', '.join(known)}")
        lo, hi = arity
        if not lo <= len(args) <= hi:
            expected = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{name}() takes {expected} argument(s), got {len(args)}")
        if name == "count" and args and isinstance(args[0], exp.Star):
            return pl.len()
        if name in ("date", "datetime"):
            literal = _temporal_literal(name, args[0])
            if literal is not None:
                return literal
        compiled = [self.visit(a) for a in args]
        if name in CALENDAR_FUNCTIONS:
            return self.calendar_call(name, compiled)
        return build(*compiled)

    def calendar_call(self, name: str, args: list[pl.Expr]) -> pl.Expr:
        if self.scope.calendar is None:
            raise self.fail(f"{name}() needs a trading calendar (parameter @trading_calendar)")
        result = CALENDAR_FUNCTIONS[name][1](self.scope.calendar, *args)
        if self.scope.guards is not None:
            known = pl.all_horizontal([a.is_not_null() for a in args])
            self.scope.guards.append(known & result.is_null())
        return result

    # --- window functions ---------------------------------------------------------------
    def window(self, node: exp.Window) -> pl.Expr:
        inner = node.this
        name = _function_name(inner)
        partition = [self.visit(p) for p in node.args.get("partition_by") or []]
        order = node.args.get("order")
        order_by = [self.visit(o.this) for o in order.expressions] if order is not None else []
        if not partition:
            raise self.fail(f"{name}() OVER (...) needs PARTITION BY")
        args = [self.visit(a) for a in _function_args(inner)]
        if name in WINDOW_ORDERED:
            if not order_by:
                raise self.fail(f"{name}() OVER (...) needs ORDER BY")
            keys = _plain_keys(node)
            presorted = keys is not None and self.scope.sorted_by[:len(keys)] == keys
            return WINDOW_ORDERED[name](args, partition, order_by, presorted)
        keys = _plain_keys(node)
        inner_args = _function_args(inner)
        if (name in ("min", "max") and keys is not None and len(inner_args) == 1
                and isinstance(inner_args[0], exp.Column) and not inner_args[0].table
                and self.scope.sorted_by[:len(keys) + 1] == (*keys, inner_args[0].name)):
            # NOTE: on a frame sorted by partition and this column, the minimum is the
            # partition's first value and the maximum its last: one pass, no grouping.
            step = 1 if name == "min" else -1
            edge = pl.when(~_same_partition(partition, step)).then(args[0]).otherwise(None)
            return edge.forward_fill() if name == "min" else edge.backward_fill()
        return AGGREGATE_FUNCTIONS[name][1](*args).over(partition)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _param_name(node: exp.Expression) -> str:
    inner = node.this
    return inner.name if isinstance(inner, exp.Expression) else str(inner)


def _literal(value: Any) -> pl.Expr:
    if value is None:
        return pl.lit(None)
    if isinstance(value, bool):
        return pl.lit(value, dtype=pl.Boolean)
    if isinstance(value, datetime):
        return pl.lit(value, dtype=pl.Datetime("us"))
    if isinstance(value, date):
        return pl.lit(value, dtype=pl.Date)
    return pl.lit(value)


def _to_datetime(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Datetime("us"))


def _to_date(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Date)


def _temporal_literal(name: str, node: exp.Expression) -> pl.Expr | None:
    """date('2024-01-05') / datetime('2024-01-05 09:30') written in a rule: parse it here."""
    if not (isinstance(node, exp.Literal) and node.is_string):
        return None
    try:
        value = datetime.fromisoformat(node.this)
    except ValueError:
        raise ExprError(f"{name}({node.this!r}): write dates as 'YYYY-MM-DD[ HH:MM[:SS]]'") from None
    return _literal(value.date() if name == "date" else value)


def _hours_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    delta = _to_datetime(b) - _to_datetime(a)
    return delta.dt.total_microseconds() / MICROSECONDS_PER_HOUR


def _days_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    delta = _to_datetime(_to_date(b)) - _to_datetime(_to_date(a))
    return (delta.dt.total_microseconds() // MICROSECONDS_PER_DAY).cast(pl.Int64)


def _hours(n: pl.Expr) -> pl.Expr:
    return pl.duration(microseconds=(n * MICROSECONDS_PER_HOUR).round(0).cast(pl.Int64))


def _days(n: pl.Expr) -> pl.Expr:
    return pl.duration(microseconds=(n * MICROSECONDS_PER_DAY).round(0).cast(pl.Int64))


def _round(x: pl.Expr, digits: pl.Expr | None = None) -> pl.Expr:
    # NOTE: half away from zero, as fee schedules state; polars' default is half-to-even.
    # The epsilon absorbs binary representation error at exact halves (2.675 -> 2.68).
    scale = 10.0 ** (0 if digits is None else _literal_int(digits))
    return x.sign() * ((x.abs() * scale + 0.5 + 1e-9).floor() / scale)


def _literal_int(e: pl.Expr) -> int:
    try:
        return int(pl.select(e).item())
    except Exception:  # noqa: BLE001 - any non-constant is the author's mistake
        raise ExprError("round()'s second argument must be a whole-number literal") from None


def _valid_id(id_type: pl.Expr, id_number: pl.Expr) -> pl.Expr:
    from audit.ids import validate_ids

    return pl.struct(id_type.alias("t"), id_number.alias("n")).map_batches(
        lambda s: validate_ids(s.struct.field("t"), s.struct.field("n")),
        return_dtype=pl.Boolean,
    )


def _least(*args: pl.Expr) -> pl.Expr:
    return pl.min_horizontal(*args)


def _greatest(*args: pl.Expr) -> pl.Expr:
    return pl.max_horizontal(*args)


def _coalesce(*args: pl.Expr) -> pl.Expr:
    return pl.coalesce(*args)


def _if(cond: pl.Expr, then: pl.Expr, otherwise: pl.Expr | None = None) -> pl.Expr:
    return pl.when(cond).then(then).otherwise(otherwise if otherwise is not None else None)


def _crossed(ratio: pl.Expr, line: pl.Expr, inclusive: pl.Expr, tolerance: pl.Expr) -> pl.Expr:
    # NOTE: the tolerance only absorbs float noise, in the direction that never accuses: "at or
    # below" accepts a ratio a hair above the line, "strictly below" needs a clear gap.
    return (pl.when(inclusive.fill_null(False)).then(ratio <= line + tolerance)
            .otherwise(ratio < line - tolerance))


def _concat_ws(separator: pl.Expr, *parts: pl.Expr) -> pl.Expr:
    sep = pl.select(separator).item() if isinstance(separator, pl.Expr) else separator
    joined = pl.concat_str([p.cast(pl.String) for p in parts], separator=str(sep), ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _same_partition(partition: list[pl.Expr], steps: int) -> pl.Expr:
    """On a frame sorted by the partition: the row ``steps`` back is of the same partition."""
    return pl.all_horizontal([(p == p.shift(steps)).fill_null(False) for p in partition])


def _lag(args: list[pl.Expr], partition: list[pl.Expr], order: list[pl.Expr], presorted: bool,
         n: int = 1) -> pl.Expr:
    steps = n * (_literal_int(args[1]) if len(args) > 1 else 1)
    if presorted:
        return pl.when(_same_partition(partition, steps)).then(args[0].shift(steps)).otherwise(None)
    return args[0].shift(steps).over(partition, order_by=order)


def _run_start(args: list[pl.Expr], partition: list[pl.Expr], order: list[pl.Expr],
               presorted: bool) -> pl.Expr:
    """x at the first row of the current run of consecutive rows where cond holds; else NULL."""
    cond, value = args[0].fill_null(False), args[1]
    if presorted:
        # NOTE: one pass over a frame already sorted by partition and order: a run starts where
        # cond holds and the row before is of another partition or did not hold; each row of
        # the run carries the start forward.
        previous = (cond.shift(1) & _same_partition(partition, 1)).fill_null(False)
        start = pl.when(cond & ~previous).then(value).otherwise(None)
        return pl.when(cond).then(start.forward_fill()).otherwise(None)
    changed = (cond != cond.shift(1)).fill_null(True).over(partition, order_by=order)
    run = changed.cast(pl.Int32).cum_sum().over(partition, order_by=order)
    start = value.first().over([*partition, run], order_by=order)
    return pl.when(cond).then(start).otherwise(None)


WINDOW_ORDERED: dict[str, Callable[..., pl.Expr]] = {
    "lag": lambda a, p, o, s: _lag(a, p, o, s, 1),
    "lead": lambda a, p, o, s: _lag(a, p, o, s, -1),
    "run_start": _run_start,
}


def _plain_keys(node: exp.Window) -> tuple[str, ...] | None:
    """The partition and order columns of a window, when all are plain columns in ascending
    order; else None."""
    parts = list(node.args.get("partition_by") or [])
    order = node.args.get("order")
    ordered = list(order.expressions) if order is not None else []
    if any(o.args.get("desc") for o in ordered):
        return None
    cols = parts + [o.this for o in ordered]
    if not all(isinstance(c, exp.Column) and not c.table for c in cols):
        return None
    return tuple(c.name for c in cols)


def ordered_window_keys(text: str) -> set[tuple[str, ...]]:
    """The (partition + order) column tuples of the ordered windows in ``text``."""
    found = set()
    for node in parse(text).find_all(exp.Window):
        if node.args.get("order") is not None:
            keys = _plain_keys(node)
            if keys is not None:
                found.add(keys)
    return found
WINDOW_ARITY = {"lag": (1, 2), "lead": (1, 2), "run_start": (2, 2)}
WINDOW_AGGREGATES = ("min", "max", "sum", "count")


def _check_window(node: exp.Window, text: str) -> None:
    name = _function_name(node.this)
    if name not in WINDOW_ORDERED and name not in WINDOW_AGGREGATES:
        allowed = ", ".join([*WINDOW_ORDERED, *WINDOW_AGGREGATES])
        raise ExprError(f"{name or node.this.key}() cannot be used with OVER (in {text!r}); "
                        f"window functions: {allowed}")
    lo, hi = WINDOW_ARITY.get(name, (1, 1))
    if not lo <= len(_function_args(node.this)) <= hi:
        raise ExprError(f"{name}() OVER takes {lo} to {hi} argument(s) (in {text!r})")


Builder = Callable[..., pl.Expr]

# Trading-day arithmetic: (arity, builder taking the calendar first). See audit/calendar.py.
CALENDAR_FUNCTIONS: dict[str, tuple[tuple[int, int], Callable[..., pl.Expr]]] = {
    "trading_day": ((2, 2), calendar.trading_day),
    "trading_days_between": ((2, 2), calendar.trading_days_between),
    "next_trading_day": ((1, 1), calendar.next_trading_day),
    "is_trading_day": ((1, 1), calendar.is_trading_day),
}

def _substr(x: pl.Expr, start: pl.Expr, length: pl.Expr | None = None) -> pl.Expr:
    """SQL substr: characters from the 1-based ``start``, ``length`` of them (to the end
    without it)."""
    offset = start.cast(pl.Int64) - 1
    return x.cast(pl.String).str.slice(offset, None if length is None else length.cast(pl.Int64))


def _replace(x: pl.Expr, old: pl.Expr, new: pl.Expr) -> pl.Expr:
    """Every occurrence of the text ``old`` replaced by ``new`` (plain text, not a pattern)."""
    return x.cast(pl.String).str.replace_all(old, new, literal=True)


SCALAR_FUNCTIONS: dict[str, tuple[tuple[int, int], Builder]] = {
    "abs": ((1, 1), lambda x: x.abs()),
    "round": ((1, 2), _round),
    "least": ((1, 16), _least),
    "greatest": ((1, 16), _greatest),
    "coalesce": ((1, 16), _coalesce),
    "if": ((2, 3), _if),
    "trim": ((1, 1), lambda x: x.cast(pl.String).str.strip_chars()),
    "lower": ((1, 1), lambda x: x.cast(pl.String).str.to_lowercase()),
    "upper": ((1, 1), lambda x: x.cast(pl.String).str.to_uppercase()),
    "length": ((1, 1), lambda x: x.cast(pl.String).str.len_chars()),
    "date": ((1, 1), _to_date),
    "datetime": ((1, 1), _to_datetime),
    "hours": ((1, 1), _hours),
    "days": ((1, 1), _days),
    "hours_between": ((2, 2), _hours_between),
    "days_between": ((2, 2), _days_between),
    "valid_id": ((2, 2), _valid_id),
    "add_months": ((2, 2), calendar.add_months),
    "end_of_day": ((1, 1), calendar.end_of_day),
    "crossed": ((4, 4), _crossed),
    "concat_ws": ((2, 16), _concat_ws),
    "substr": ((2, 3), _substr),
    "replace": ((3, 3), _replace),
    **{name: (arity, lambda *a: None) for name, (arity, _) in CALENDAR_FUNCTIONS.items()},
    # 'C3' -> 3, 'R4' -> 4: suitability levels of clients (C1-C5) and products (R1-R5).
    "level": ((1, 1), lambda x: x.cast(pl.String).str.extract(r"(\d+)\s*$", 1).cast(pl.Int64, strict=False)),
}

AGGREGATE_FUNCTIONS: dict[str, tuple[tuple[int, int], Builder]] = {
    "sum": ((1, 1), lambda x: x.sum()),
    "count": ((0, 1), lambda x=None: pl.len() if x is None else x.count()),
    "count_if": ((1, 1), lambda x: x.fill_null(False).cast(pl.Int64).sum()),
    "min": ((1, 1), lambda x: x.min()),
    "max": ((1, 1), lambda x: x.max()),
    "avg": ((1, 1), lambda x: x.mean()),
    "any": ((1, 1), lambda x: x.fill_null(False).any()),
    "every": ((1, 1), lambda x: x.fill_null(False).all()),
}

# sqlglot turns well-known function names into typed nodes; map them back to ours.
_TYPED_FUNCTIONS: dict[type, str] = {
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Coalesce: "coalesce",
    exp.If: "if",
    exp.Trim: "trim",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Sum: "sum",
    exp.Count: "count",
    exp.CountIf: "count_if",
    exp.Min: "min",
    exp.Max: "max",
    exp.Avg: "avg",
    exp.ConcatWs: "concat_ws",
    exp.Substring: "substr",
    exp.Replace: "replace",
    exp.AddMonths: "add_months",
    exp.Lag: "lag",
    exp.Lead: "lead",
}
for _name in ("Date", "TsOrDsToDate"):
    if hasattr(exp, _name):
        _TYPED_FUNCTIONS[getattr(exp, _name)] = "date"
for _name in ("Datetime",):
    if hasattr(exp, _name):
        _TYPED_FUNCTIONS[getattr(exp, _name)] = "datetime"
for _name, _ours in (("AnyValue", None), ("LogicalOr", "any"), ("LogicalAnd", "every")):
    if _ours and hasattr(exp, _name):
        _TYPED_FUNCTIONS[getattr(exp, _name)] = _ours


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    for cls, name in _TYPED_FUNCTIONS.items():
        if type(node) is cls:
            return name
    return None


def _function_args(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    if isinstance(node, exp.If):
        return [a for a in (node.this, node.args.get("true"), node.args.get("false")) if a]
    if isinstance(node, exp.Round):
        return [a for a in (node.this, node.args.get("decimals")) if a is not None]
    if isinstance(node, exp.Count):
        return [node.this] if node.this is not None else []
    if isinstance(node, exp.Substring):
        return [a for a in (node.this, node.args.get("start"), node.args.get("length")) if a is not None]
    if isinstance(node, exp.Replace):
        return [node.this, node.args.get("expression"), node.args.get("replacement")]
    if isinstance(node, (exp.Lag, exp.Lead)):
        return [a for a in (node.this, node.args.get("offset")) if a is not None]
    args = [node.this] if node.this is not None else []
    if isinstance(node.args.get("expression"), exp.Expression):
        args.append(node.args["expression"])
    args += list(node.expressions or [])
    return args


def _binary(op: Callable[[pl.Expr, pl.Expr], pl.Expr]):
    return lambda c, n: op(c.visit(n.this), c.visit(n.expression))


def _is(c: _Compiler, n: exp.Is) -> pl.Expr:
    if not isinstance(n.expression, exp.Null):
        raise c.fail("IS is only supported as IS NULL / IS NOT NULL")
    return c.visit(n.this).is_null()


def _in(c: _Compiler, n: exp.In) -> pl.Expr:
    values = []
    for item in n.expressions:
        if not isinstance(item, (exp.Literal, exp.Boolean)):
            raise c.fail("IN takes a list of literals")
        values.append(item.this if isinstance(item, exp.Literal) and item.is_string
                      else pl.select(c.visit(item)).item())
    target = c.visit(n.this)
    # NOTE: SQL semantics: NULL IN (...) is NULL, not FALSE.
    return pl.when(target.is_null()).then(None).otherwise(target.is_in(values))


def _between(c: _Compiler, n: exp.Between) -> pl.Expr:
    x = c.visit(n.this)
    return (x >= c.visit(n.args["low"])) & (x <= c.visit(n.args["high"]))


def _case(c: _Compiler, n: exp.Case) -> pl.Expr:
    if n.this is not None:
        raise c.fail("use CASE WHEN <condition> THEN ..., not CASE <value> WHEN ...")
    chain = None
    for branch in n.args.get("ifs") or []:
        cond, value = c.visit(branch.this), c.visit(branch.args["true"])
        chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
    default = n.args.get("default")
    return chain.otherwise(c.visit(default) if default is not None else None)


_HANDLERS: dict[type, Callable[[_Compiler, Any], pl.Expr]] = {
    exp.Column: lambda c, n: c.column(n),
    exp.Parameter: lambda c, n: c.param(n),
    exp.Placeholder: lambda c, n: c.param(n),
    exp.Literal: lambda c, n: c.literal(n),
    exp.Boolean: lambda c, n: pl.lit(bool(n.this), dtype=pl.Boolean),
    exp.Null: lambda c, n: pl.lit(None),
    exp.Paren: lambda c, n: c.visit(n.this),
    exp.Neg: lambda c, n: -c.visit(n.this),
    exp.Not: lambda c, n: ~c.visit(n.this),
    exp.And: _binary(lambda a, b: a & b),
    exp.Or: _binary(lambda a, b: a | b),
    exp.EQ: _binary(lambda a, b: a == b),
    exp.NEQ: _binary(lambda a, b: a != b),
    exp.GT: _binary(lambda a, b: a > b),
    exp.GTE: _binary(lambda a, b: a >= b),
    exp.LT: _binary(lambda a, b: a < b),
    exp.LTE: _binary(lambda a, b: a <= b),
    exp.Add: _binary(lambda a, b: a + b),
    exp.Sub: _binary(lambda a, b: a - b),
    exp.Mul: _binary(lambda a, b: a * b),
    exp.Div: _binary(lambda a, b: a / b),
    exp.Mod: _binary(lambda a, b: a % b),
    exp.Is: _is,
    exp.In: _in,
    exp.Between: _between,
    exp.Case: _case,
    exp.Window: lambda c, n: c.window(n),
}

# Nodes that may appear anywhere in a tree (children of the handled ones).
ALLOWED_NODES: tuple[type, ...] = tuple(_HANDLERS) + (exp.Identifier, exp.Var, exp.Star, exp.If,
                                                      exp.Order, exp.Ordered)
