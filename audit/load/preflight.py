"""Up-front checks of a loaded export, one home for `validate`, `run` and `stress`: nothing is
audited about nothing.

* **No export file found** (an empty folder, a folder of other files): a LoadError (exit code 2)
  naming the folder, the file names the data contract expects and what to do.
* **A table the rules need is missing**: not fatal. ``missing_tables`` names each missing table
  with the rules it disables; `validate` counts each as a data issue (``table-missing``), `run`
  warns up front, carries on with those rules not evaluable and says so in findings.json, the
  summary line and the report (cover and scorecard: "not tested", never dropped, never passed).
* **An as-of date outside the data's dates**: a LoadError (exit code 2) naming the data's dates.

The data's dates (``data_dates``): when the export has an accounts table with dated rows, its
snapshot dates. The as-of date picks the book the leverage, concentration and stress rules read,
so it must be one of them (a date between two snapshots audits an empty book, which would pass
every book rule on nothing). Without dated accounts: the span of the other activity dates
(``ACTIVITY_DATES``: positions, ledger, custody, fees, capital, financings opened, margin events);
reference dates such as a birth date or a disclosure date do not count. An export without any
activity date accepts any as-of date.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import polars as pl

from audit import contract
from audit.load.types import DataIssue, LoadError

if TYPE_CHECKING:
    from audit.load.types import Export
    from audit.rules import RuleSet

# The activity dates that bound the audit period (reference dates such as a birth date or a
# disclosure date do not).
ACTIVITY_DATES = {
    "accounts": "date", "positions": "date", "ledger": "date", "custody": "date",
    "fees": "date", "capital": "date", "financings": "opened_at", "margin_events": "event_at",
}
SNAPSHOT_TABLE = "accounts"
SHOWN_FILES = 6  # files of the folder named in the "no export file" line


# --- no export file -------------------------------------------------------------------------

def expected_file_names() -> list[str]:
    """The file names the data contract expects, one per table (any of .csv, .xlsx, .parquet)."""
    return [f"{t.name}.csv" for t in contract.TABLES]


def require_export_files(export: "Export", folder: Path | None = None) -> None:
    """A LoadError (exit code 2) when no file of the folder was read as a table."""
    if export.tables:
        return
    where = folder if folder is not None else export.root
    held = [f for f in export.unrecognised_files if not f.startswith(".")]
    holds = ("it is empty" if not held else
             f"it holds {', '.join(held[:SHOWN_FILES])}"
             + (f" and {len(held) - SHOWN_FILES:,} more" if len(held) > SHOWN_FILES else "")
             + ", none named after a table")
    raise LoadError(
        f"{where}: no export file found ({holds}); the data contract expects files named "
        f"after its tables, such as {', '.join(expected_file_names())} (or .xlsx, .parquet); "
        f"give the folder that holds the export, rename the files, or map the files with "
        f"--mapping (`audit init {where}` drafts the mapping)", code="no-export-files")


# --- missing tables -------------------------------------------------------------------------

@dataclass(frozen=True)
class MissingTable:
    """A table the profile's rules need that the export does not hold."""

    table: str
    rules: tuple[str, ...]  # ids of the enabled rules it makes not evaluable
    norms: tuple[str, ...]  # the norms those rules test

    def message(self) -> str:
        return (f"no {self.table} table in the export: {len(self.rules):,} rule(s) cannot be "
                f"evaluated ({', '.join(self.rules)}) and are reported not tested; add the "
                f"{self.table} file, or map the file that holds it with --mapping")

    def to_dict(self) -> dict:
        return {"table": self.table, "rules": list(self.rules), "norms": list(self.norms)}


def tables_needed(ruleset: "RuleSet", stress: bool = True) -> dict[str, list[str]]:
    """Contract table -> ids of the rules that cannot be evaluated without it. A rule reading
    the stress results needs the tables the stress test needs (when the stress test runs)."""
    from audit.rules import rule_inputs
    from audit.stress.book import REQUIRED_TABLES as STRESS_TABLES

    needed: dict[str, list[str]] = {}
    for rule in ruleset.rules:
        for table in rule_inputs(rule).required:
            sources = ((STRESS_TABLES if stress else ()) if table in contract.DERIVED_BY_NAME
                       else (table,))
            for source in sources:
                if rule.id not in needed.setdefault(source, []):
                    needed[source].append(rule.id)
    return needed


def missing_tables(present: Iterable[str], ruleset: "RuleSet", stress: bool = True,
                   provided: dict[str, set[str]] | None = None) -> list[MissingTable]:
    """The tables the enabled rules need that ``present`` lacks, in contract order.
    ``provided``: table -> the columns its file gives, when known; a table the toolkit derives
    from them (kyc_events from a version-1 clients table: audit.compat) is not missing."""
    from audit.compat import EVENTS, derives_events

    have = set(present)
    if provided is not None and derives_events(provided):
        have.add(EVENTS)
    needed = tables_needed(ruleset, stress)
    norms = {r.id: r.norms for r in ruleset.rules}
    return [MissingTable(t.name, tuple(sorted(needed[t.name])),
                         tuple(sorted({n for r in needed[t.name] for n in norms[r]})))
            for t in contract.TABLES if t.name in needed and t.name not in have]


def provided_columns(export: "Export") -> dict[str, set[str]]:
    """Table -> the contract columns its file gives (what the evaluator is told, too)."""
    return {name: set(t.column_map.values()) for name, t in export.tables.items()}


def missing_table_issues(missing: list[MissingTable], folder: str) -> list[DataIssue]:
    """Each missing table as a data issue, for `validate`'s count and exit code."""
    return [DataIssue(folder, m.table, None, None, None, m.message(), "table-missing")
            for m in missing]


def norms_not_tested(missing: list[MissingTable], rules) -> list[dict]:
    """Per norm, the rules the missing tables leave not tested, of how many rules cite it:
    [{"norm", "rules", "of", "tables"}], in the norms' order. ``rules``: the enabled rules."""
    from audit.rules import NORM_IDS

    untested = {r for m in missing for r in m.rules}
    rows = []
    for norm in NORM_IDS:
        mine = [r.id for r in rules if norm in r.norms]
        lost = sorted(r for r in mine if r in untested)
        if lost:
            rows.append({"norm": norm, "rules": lost, "of": len(mine),
                         "tables": [m.table for m in missing if set(m.rules) & set(lost)]})
    return rows


# --- the as-of date -------------------------------------------------------------------------

@dataclass(frozen=True)
class DataDates:
    """The export's dates an as-of date must fall on (snapshots) or within (activity)."""

    kind: str  # "snapshots" (the accounts table's dates) or "activity"
    first: date
    last: date
    snapshots: tuple[date, ...] = ()

    def describe(self) -> str:
        if self.kind == "snapshots":
            return (f"the accounts table's {len(self.snapshots):,} snapshot date(s) run from "
                    f"{self.first} to {self.last}")
        return f"its activity dates run from {self.first} to {self.last}"


def _as_date(value) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def data_dates(tables: dict[str, pl.DataFrame]) -> DataDates | None:
    """The data's dates (see the module docstring), or None when the export has none."""
    accounts = tables.get(SNAPSHOT_TABLE)
    if accounts is not None and "date" in accounts.columns and accounts.height:
        snaps = tuple(d for d in accounts["date"].drop_nulls().unique().sort().to_list())
        if snaps:
            return DataDates("snapshots", snaps[0], snaps[-1], snaps)
    first, last = activity_span(tables)
    if first is None:
        return None
    return DataDates("activity", first, last)


def activity_span(tables: dict[str, pl.DataFrame]) -> tuple[date | None, date | None]:
    """First and last activity date in the export (ACTIVITY_DATES), or (None, None)."""
    firsts, lasts = [], []
    for name, column in ACTIVITY_DATES.items():
        frame = tables.get(name)
        if frame is None or column not in frame.columns or frame.height == 0:
            continue
        values = frame[column].drop_nulls()
        if values.is_empty():
            continue
        firsts.append(_as_date(values.min()))
        lasts.append(_as_date(values.max()))
    return (min(firsts), max(lasts)) if firsts else (None, None)


def check_as_of(as_of: date | None, tables: dict[str, pl.DataFrame], option: str = "--as-of",
                dates: DataDates | None = None) -> None:
    """A LoadError (exit code 2) when ``as_of`` is outside the data's dates, or is not one of
    the accounts table's snapshot dates; None (the default, the last snapshot) always fits."""
    if as_of is None:
        return
    dates = dates or data_dates(tables)
    if dates is None:
        return  # NOTE: nothing dated to compare with; every rule says what it could not read
    default = (f"leave {option} out to audit the last one ({dates.last})"
               if dates.kind == "snapshots" else f"leave {option} out")
    if as_of > dates.last or as_of < dates.first:
        side = "after" if as_of > dates.last else "before"
        pick = "one of them" if dates.kind == "snapshots" else "a date within them"
        raise LoadError(
            f"{option} {as_of} is {side} the export's data: {dates.describe()}; give {pick}, "
            f"or {default}", code="as-of-outside-data")
    if dates.kind == "snapshots" and as_of not in set(dates.snapshots):
        at = bisect.bisect_left(dates.snapshots, as_of)
        raise LoadError(
            f"{option} {as_of} is not a snapshot date of the accounts table (the nearest are "
            f"{dates.snapshots[at - 1]} and {dates.snapshots[at]}; {dates.describe()}); give "
            f"one of them, or {default}", code="as-of-outside-data")


def not_tested_lines(missing: list[MissingTable], rules) -> list[str]:
    """The CLI's closing lines on what the missing tables left not tested, one per norm."""
    return [f"not tested: {row['norm']}, {len(row['rules']):,} of {row['of']:,} rule(s) "
            f"({', '.join(row['rules'])}): the export has no {', '.join(row['tables'])} table; "
            f"not tested is never a pass"
            for row in norms_not_tested(missing, rules)]
