"""Version-1 exports under the version-2 contract: derive what a version-1 table already says.

A version-1 ``clients`` table keeps one date per due-diligence step (``verified_at``,
``screened_at``, ...), overwritten at every renewal. It still proves some things: a client with
no verification date was never verified, and one verified before a financing was verified then.
It cannot show what happened before a later renewal. So when an export has no ``kyc_events``,
the toolkit derives one event per dated step from ``clients``, marked ``history_complete =
FALSE``; the due-diligence rules judge what those events prove and count the rest as not
evaluable (an event dated after the financing may have a predecessor the export overwrote).
"""

from __future__ import annotations

import polars as pl

from audit import contract
from audit.vocab import UNREADABLE

HISTORY_COMPLETE = "history_complete"
EVENTS = "kyc_events"

# event type, date column, outcome (a literal or a column of clients), extra columns
_V1_EVENTS: tuple[tuple[str, str, pl.Expr, dict[str, str]], ...] = (
    ("verification", "verified_at", pl.col("verification_status"), {}),
    ("screening", "screened_at", pl.col("screening_result"), {"pep": "pep"}),
    ("screening_resolution", "screening_resolved_at", pl.lit("cleared"), {}),
    ("risk_assessment", "risk_assessed_at", pl.lit(None, dtype=pl.String),
     {"risk_grade": "risk_tolerance"}),
    ("risk_disclosure", "risk_disclosure_signed_at", pl.lit("signed"), {}),
    ("pep_approval", "pep_approved_at", pl.lit("approved"), {}),
    ("periodic_review", "last_review_at", pl.lit("completed"), {"risk_rating": "risk_rating"}),
)


def derives_events(provided: dict[str, set[str]]) -> bool:
    """Whether ``upgrade`` derives ``kyc_events`` for an export whose tables give these columns:
    no kyc_events table, a clients table with a version-1 step date."""
    return (EVENTS not in provided and "clients" in provided
            and any(when in provided["clients"] for _, when, _, _ in _V1_EVENTS))


def upgrade(tables: dict[str, pl.DataFrame],
            provided: dict[str, set[str]] | None) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Tables with ``kyc_events`` derived from version-1 ``clients`` when the export has none
    (plus notes saying so), and ``history_complete`` set on an export's own events."""
    tables = dict(tables)
    notes: list[str] = []
    if EVENTS in tables:
        tables[EVENTS] = tables[EVENTS].with_columns(pl.lit(True).alias(HISTORY_COMPLETE))
        return tables, notes
    clients = tables.get("clients")
    if clients is None:
        return tables, notes
    have = set(clients.columns) if provided is None else provided.get("clients", set())
    parts = [_events(clients, kind, when, outcome, extra)
             for kind, when, outcome, extra in _V1_EVENTS if when in have]
    if not parts:
        return tables, notes
    events = pl.concat(parts, how="vertical")
    tables[EVENTS] = events
    notes.append(f"kyc_events derived from the version-1 clients columns ({events.height} "
                 "events): each client's latest date of each step only")
    return tables, notes


def _events(clients: pl.DataFrame, kind: str, when: str, outcome: pl.Expr,
            extra: dict[str, str]) -> pl.DataFrame:
    t = contract.table(EVENTS)
    dated = pl.col(when).is_not_null()
    # NOTE: a grade without its assessment date is still what the export says of the client:
    # kept as an undated assessment, it makes a suitability check undecidable (KYC-005) rather
    # than "no grade", while the validity check (KYC-006) still finds no dated assessment.
    if kind == "risk_assessment" and "risk_tolerance" in clients.columns:
        dated = dated | pl.col("risk_tolerance").is_not_null()
    # NOTE: a step whose date (or grade) the loader could not read happened, on a day the
    # export does not let us read: its event is kept with that cell unreadable, so the rules
    # set it aside instead of finding "no such step".
    sources = {when: "event_date", **{source: target for target, source in extra.items()}}
    unreadable = None
    if UNREADABLE in clients.columns:
        named = pl.col(UNREADABLE).fill_null(pl.lit([], pl.List(pl.String)))
        unreadable = named.list.eval(pl.element().replace_strict(
            sources, default=None)).list.drop_nulls()
        dated = dated | named.list.contains(when)
    rows = clients.filter(dated)
    if kind == "screening":  # "not_screened" with a date is not a screening
        rows = rows.filter(pl.col("screening_result").fill_null("") != "not_screened")
    columns = {
        "event_id": pl.concat_str([pl.lit(f"v1:{kind}:"), pl.col("client_id")]),
        "client_id": pl.col("client_id"),
        "event_type": pl.lit(kind),
        "event_date": pl.col(when),
        "outcome": outcome,
        **{target: pl.col(source) for target, source in extra.items()},
    }
    if unreadable is not None:
        columns[UNREADABLE] = pl.when(unreadable.list.len() > 0).then(unreadable)
    frame = rows.select([expr.alias(name) for name, expr in columns.items()])
    for col in t.columns:
        if col.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=col.dtype).alias(col.name))
    keep = [pl.col(c.name).cast(c.dtype) for c in t.columns]
    if UNREADABLE in frame.columns:
        keep.append(pl.col(UNREADABLE))
    return frame.select(keep).with_columns(pl.lit(False).alias(HISTORY_COMPLETE))
