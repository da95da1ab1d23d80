"""The report's view model: every figure the templates show, computed once from a ``Run``.

The numbers come from ``findings_document(run)`` (the same figures as findings.json), enriched
with what only the run holds: the rule texts, the violating records for the evidence tables and
the accounts table for the leverage section. Templates only lay the model out; they compute
nothing, so what the report says can be tested here without rendering.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl

from audit import __version__, contract
from audit.disclosure import in_force_at
from audit.evaluate import (
    ERROR, FAILED, INCOMPLETE, NOT_APPLICABLE, NOT_EVALUABLE, PASSED, ROW, SEVERITY,
)
from audit.expr import names_used
from audit.findings import SEVERITY_ORDER, findings_document, generated_at
from audit.report.browser import violation_lookup
from audit.load.preflight import activity_span, norms_not_tested
from audit.report.engine_text import calendar_fields, engine_text
from audit.report.i18n import HTML_LANG, Translator
from audit.report.stress_path import scenario_verdict
from audit.report.stress_lang import localise_stress
from audit.report.stress_sections import stress_sections
from audit.mask import mask_issue, mask_value, personal_columns
from audit.rules import BUILTIN_PARAMS, NORM_IDS, Rule, one_line

if TYPE_CHECKING:
    from audit.findings import Run

EVIDENCE_ROWS = 15  # evidence rows shown per finding; violations.csv holds them all
MIN_EVIDENCE_ROWS = 5
EVIDENCE_BUDGET = 300  # evidence rows in the whole report: many findings get fewer rows each
DETAILED_FINDINGS = 50  # findings shown in full; any further ones in a summary table
TOP_FINDINGS = 5
DATA_ISSUE_ROWS = 30
NEAR_CALL_FALLS = (0.05, 0.10, 0.20)  # "a fall of x% would put the account in call"
WIPEOUT_FALLS = (0.10, 0.20, 0.30)
LEVERAGE_BUCKETS = ((0, 1), (1, 2), (2, 3), (3, 5), (5, 10), (10, math.inf))
CURVE_MAX_FALL = 0.5


@dataclass(frozen=True)
class Options:
    """How to render: language, masking, the people named on the cover."""

    lang: str = "en"
    mask: bool = True
    prepared_by: str | None = None
    reviewed_by: str | None = None
    evidence_rows: int = EVIDENCE_ROWS


def build_context(run: "Run", options: Options, stress: dict | None = None) -> dict[str, Any]:
    """The complete view model of the report for ``run``."""
    t = Translator(options.lang)
    doc = findings_document(run)
    tables = {name: lt.frame for name, lt in run.export.tables.items()}
    disclosure = in_force_at(tables, run.as_of) or {}
    results = {r.rule.id: r for r in run.results}
    entries = doc["rules"]
    found = sorted((e for e in entries if e["status"] in (FAILED, INCOMPLETE, ERROR, NOT_EVALUABLE)),
                   key=_finding_order)
    # NOTE: a PDF page costs WeasyPrint a fraction of a second, so a run with hundreds of
    # failing rules shows the most severe in full and lists the rest in one table; every
    # record stays in violations.csv either way.
    detailed = found[:DETAILED_FINDINGS]
    rows = evidence_rows(len(detailed), options.evidence_rows)
    findings = [_finding(results[e["id"]], e, tables, options, t, rows) for e in detailed]
    further = [_finding(results[e["id"]], e, tables, options, t, 0) for e in found[len(detailed):]]
    stamp = generated_at()
    reproducible = _source_date_epoch_set()
    localised = localise_stress(stress, options.lang)
    return {
        "lang": options.lang,
        "html_lang": HTML_LANG[options.lang],
        "masked": options.mask,
        "meta": {
            "generated_date": stamp[:10],
            # NOTE: without SOURCE_DATE_EPOCH only the day is recorded, so re-running on the
            # same input the same day gives the same bytes; with it, the exact moment.
            "created": stamp if reproducible else stamp[:10],
            "tool_version": __version__,
            "run_id": doc["run"]["id"],
        },
        "cover": _cover(doc, disclosure, tables, options),
        "not_tested": _not_tested(run, t),
        "rating": _rating(entries),
        "summary": doc["summary"],
        "severity_rows": _severity_rows(entries),
        "scorecard": _scorecard(entries, run.fail_on, t, run.missing_tables),
        "top_findings": [f for f in findings if f["status"] == FAILED][:TOP_FINDINGS]
                        or findings[:TOP_FINDINGS],
        "findings": findings,
        "further_findings": further,
        "evidence_rows": rows,
        "leverage": _labelled(leverage_book(tables, disclosure, run.as_of, run.ruleset.params), t),
        "stress": stress_view(localised),
        "stress_sections": stress_sections(localised),
        "methodology": _methodology(run, rows, t),
        "appendix": _appendix(run, doc, options, t),
        "lookup": violation_lookup(run, options, t),  # report.html's lookup: every violation
    }


# --- cover and summary ----------------------------------------------------------------------

def _source_date_epoch_set() -> bool:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return bool(epoch and epoch.isdigit())


def audit_period(tables: dict[str, pl.DataFrame]) -> tuple[date | None, date | None]:
    """First and last activity date in the export."""
    return activity_span(tables)


def _cover(doc, disclosure, tables, options: Options) -> dict[str, Any]:
    first, last = audit_period(tables)
    return {
        "platform_name": disclosure.get("platform_name"),
        "platform_id": disclosure.get("platform_id"),
        "period_start": first.isoformat() if first else None,
        "period_end": last.isoformat() if last else None,
        "as_of": doc["run"]["as_of"],
        "profile": doc["run"]["profile"],
        "packs": doc["rule_packs"]["packs"],
        "prepared_by": options.prepared_by,
        "reviewed_by": options.reviewed_by,
        "run_id": doc["run"]["id"],
    }


def _rating(entries: list[dict]) -> dict[str, Any]:
    """Overall rating: the worst failure decides; rules that could not be evaluated cap it."""
    failed = {e["severity"] for e in entries if e["status"] == FAILED}
    errors = sum(1 for e in entries if e["status"] == ERROR)
    not_evaluable = sum(1 for e in entries if e["status"] == NOT_EVALUABLE)
    incomplete = sum(1 for e in entries if e["status"] == INCOMPLETE)
    evaluated = sum(1 for e in entries if e["status"] in (PASSED, FAILED, INCOMPLETE))
    if "critical" in failed:
        level, mark = "critical", "fail"
    elif "high" in failed:
        level, mark = "significant", "fail"
    elif failed or errors or not_evaluable or incomplete:
        level, mark = "improvement", "warning"
    elif evaluated:
        level, mark = "satisfactory", "pass"
    else:
        level, mark = "not_tested", "not_tested"
    return {"level": level, "mark": mark, "errors": errors, "evaluated": evaluated,
            "not_evaluable": not_evaluable, "incomplete": incomplete,
            "not_applicable": sum(1 for e in entries if e["status"] == NOT_APPLICABLE)}


def _severity_rows(entries: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for sev in SEVERITY_ORDER:
        mine = [e for e in entries if e["severity"] == sev]
        failed = [e for e in mine if e["status"] == FAILED]
        rows.append({
            "severity": sev,
            "rules": len(mine),
            "failed": len(failed),
            "errors": sum(1 for e in mine if e["status"] == ERROR),
            "violations": sum(e["violations"] for e in failed),
        })
    return rows


def _not_tested(run: "Run", t: Translator) -> list[dict[str, Any]]:
    """For the cover: each norm with rules the export's missing tables leave not tested."""
    return [{**row, "title": t(f"norms.{row['norm']}")}
            for row in norms_not_tested(run.missing_tables, run.ruleset.rules)]


def _scorecard(entries: list[dict], fail_on: str, t: Translator,
               missing=()) -> list[dict[str, Any]]:
    """One row per norm and risk source: pass / warning / fail / not tested, and why. A rule
    a missing table leaves not evaluable is listed as not tested with the table, never dropped."""
    threshold = SEVERITY_ORDER.index(fail_on)
    untestable = {r: m.table for m in missing for r in m.rules}
    rows = []
    for norm in NORM_IDS:
        mine = [e for e in entries if norm in e["norms"]]
        failed = [e for e in mine if e["status"] == FAILED]
        errors = [e for e in mine if e["status"] in (ERROR, NOT_EVALUABLE, INCOMPLETE)]
        untested = [e["id"] for e in errors
                    if e["status"] == NOT_EVALUABLE and e["id"] in untestable]
        evaluated = [e for e in mine if e["status"] in (PASSED, FAILED, INCOMPLETE)]
        serious = [e for e in failed if SEVERITY_ORDER.index(e["severity"]) <= threshold]
        if serious:
            mark = "fail"
        elif failed or (errors and evaluated):
            mark = "warning"
        elif evaluated:
            mark = "pass"
        else:
            mark = "not_tested"  # NOTE: never "pass" without an evaluated rule
        rows.append({
            "id": norm,
            "title": t(f"norms.{norm}"),
            "mark": mark,
            "rules": [e["id"] for e in mine],
            "failed_rules": [e["id"] for e in failed],
            "error_rules": [e["id"] for e in errors if e["id"] not in untested],
            "untested_rules": untested,
            "missing_tables": [m.table for m in missing if set(m.rules) & set(untested)],
            "evaluated": len(evaluated),
            "passed": sum(1 for e in evaluated if e["status"] == PASSED),
        })
    return rows


# --- findings -------------------------------------------------------------------------------

def _finding_order(e: dict) -> tuple:
    return (SEVERITY_ORDER.index(e["severity"]), e["status"] != FAILED, -e["violations"], e["id"])


def evidence_rows(findings: int, cap: int = EVIDENCE_ROWS) -> int:
    """Evidence rows per finding: ``cap``, fewer when many findings share the budget."""
    if not findings:
        return cap
    return max(min(cap, MIN_EVIDENCE_ROWS), min(cap, EVIDENCE_BUDGET // findings))


def rule_title(rule: Rule, lang: str) -> str:
    return (rule.title_zh or rule.title) if lang == "zh" else rule.title


def rule_text(rule: Rule, field: str, lang: str) -> str:
    """``rationale`` or ``remediation`` in the report's language, on one line."""
    if lang == "zh":
        return one_line(getattr(rule, f"{field}_zh") or getattr(rule, field), chinese=True)
    return one_line(getattr(rule, field))


def reference_view(ref: dict, lang: str) -> dict[str, Any]:
    """A reference for the page: a published source stays as published (a citation, its
    language marked); where the rule pack gives ``source_zh`` (a Chinese source cited in
    Chinese, a statement of the toolkit's own), the Chinese report shows that."""
    cited = f"{ref.get('source', '')} {ref.get('clause') or ''}"
    return {"source": ref.get("source"), "clause": ref.get("clause"), "url": ref.get("url"),
            "confidence": ref.get("confidence"),
            "text": ref.get("source_zh") if lang == "zh" else None,
            "lang": "en" if re.search(r"[A-Za-z]{4,}", cited) else "zh"}


def _message(message: str | None, t: Translator) -> dict[str, Any]:
    said = engine_text(message, t) if message else {"text": None, "lang": None}
    return {"message": said["text"], "message_lang": said["lang"]}


def _finding(result, entry: dict, tables, options: Options, t: Translator,
             rows: int) -> dict[str, Any]:
    rule = result.rule
    return {
        "id": rule.id,
        "anchor": f"finding-{rule.id}",
        "title": rule_title(rule, options.lang),
        "title_en": rule.title,
        "severity": entry["severity"],
        "base_severity": entry["base_severity"],
        "status": entry["status"],
        "norms": [{"id": n, "title": t(f"norms.{n}")} for n in rule.norms],
        "pack": rule.pack,
        "rationale": rule_text(rule, "rationale", options.lang),
        "remediation": rule_text(rule, "remediation", options.lang),
        "references": [reference_view(r, options.lang) for r in entry["references"]],
        **_message(entry["message"], t),
        "caveats": [engine_text(c, t) for c in entry.get("caveats", [])],
        "checked": entry["checked"],
        "violations": entry["violations"],
        "rate": entry["rate"],
        "noun": "groups" if rule.group_by is not None else rule.table,
        "evidence": evidence_table(result, tables, options, t, rows) if rows else None,
    }


def evidence_table(result, tables: dict[str, pl.DataFrame], options: Options, t: Translator,
                   rows: int = EVIDENCE_ROWS) -> dict[str, Any] | None:
    """The first violating records, personal columns masked, cells formatted for reading."""
    records = result.records
    if records is None or records.height == 0:
        return None
    shown = _with_personal(result.rule, records.head(rows), tables)
    personal = personal_columns()
    columns = [{"name": c, "label": column_label(c, options.lang, t),
                "personal": c in personal, "numeric": shown.schema[c].is_numeric()}
               for c in shown.columns]
    body = []
    for record in shown.iter_rows(named=True):
        if options.mask:
            record = {k: mask_value(k, v) for k, v in record.items()}
        body.append([format_cell(record[c["name"]], c["name"], t) for c in columns])
    return {"columns": columns, "rows": body, "shown": len(body), "total": records.height}


def _with_personal(rule: Rule, records: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Records with the personal data an auditor needs to act on them: the client's name, and
    the personal values the rule tested (say the ID number that failed its checksum).

    The evaluator keeps personal data out of findings.json and violations.csv; the report adds
    it back here, and masks it unless the user explicitly asked for ``--no-mask``.
    """
    personal = personal_columns()
    base = tables.get(rule.table)
    tested = set()
    for text in (rule.assert_, rule.filter, *rule.derive.values()):
        if text:
            tested |= names_used(text)[0]
    wanted = sorted(tested & personal)
    if (base is not None and wanted and rule.group_by is None and ROW in records.columns
            and ROW in base.columns and set(wanted) <= set(base.columns)):
        lookup = base.select(ROW, *wanted).unique(subset=[ROW], keep="first")
        records = records.join(lookup, on=ROW, how="left", maintain_order="left")
    clients = tables.get("clients")
    if ("client_id" in records.columns and "name" not in records.columns and clients is not None
            and "name" in clients.columns):
        names = clients.select("client_id", "name").unique(subset=["client_id"], keep="first")
        records = records.join(names, on="client_id", how="left", maintain_order="left")
    return records.select(_column_order(records.columns, rule))


def _column_order(columns: list[str], rule: Rule) -> list[str]:
    keys = [c for c in rule.key_columns if c in columns]
    personal = sorted(set(columns) & personal_columns(), key=lambda c: (c != "name", c))
    head = [*keys, *([ROW] if ROW in columns else []), *personal]
    tail = [SEVERITY] if SEVERITY in columns else []
    return head + [c for c in columns if c not in head and c not in tail] + tail


def column_label(name: str, lang: str, t: Translator) -> dict[str, str | None]:
    """Header of an evidence column: the contract name, with its Chinese header in zh."""
    if name in (ROW, SEVERITY):
        return {"main": t(f"columns.{name.lstrip('_')}"), "sub": None, "column": False}
    if lang == "zh":
        local = _chinese_alias(name)
        if local:
            return {"main": local, "sub": name, "column": False}
    # NOTE: "column": the header is the column's own name, marked as such in the page.
    return {"main": name, "sub": None, "column": True}


@lru_cache(maxsize=None)
def _chinese_alias(column: str) -> str | None:
    for table in contract.TABLES:
        for col in table.columns:
            if col.name == column:
                for alias in col.aliases:
                    if any("\u4e00" <= ch <= "\u9fff" for ch in alias):
                        return alias
    return None


def format_cell(value: Any, column: str, t: Translator) -> dict[str, str]:
    """A cell as text plus a style class: numbers right-aligned, NULL greyed out."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"text": t("cell.null"), "cls": "null"}
    if isinstance(value, bool):
        return {"text": t("cell.true" if value else "cell.false"), "cls": ""}
    if isinstance(value, int):
        return {"text": str(value) if column == ROW else f"{value:,}", "cls": "num"}
    if isinstance(value, float):
        return {"text": format_number(value), "cls": "num"}
    if isinstance(value, datetime):
        return {"text": value.isoformat(sep=" ", timespec="minutes" if not value.second
                                        else "seconds"), "cls": ""}
    if isinstance(value, date):
        return {"text": value.isoformat(), "cls": ""}
    if column == SEVERITY:
        return {"text": t(f"severity.{value}"), "cls": f"sev-text sev-{value}"}
    if " " in str(value):
        # NOTE: a sentence (the stress model's label, say) is written in the report's
        # language when the catalogues know it, else shown as written and marked English.
        said = engine_text(value, t)
        return {"text": said["text"], "cls": "", "lang": said["lang"]}
    # NOTE: a single token is shown as exported (an id, a code, an enum of the export), marked
    # as a data value ("id") so the Chinese report does not take it for an untranslated word.
    return {"text": str(value), "cls": "id"}


def format_number(value: float) -> str:
    """Large amounts to the cent with separators, small ratios to 4 significant decimals."""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- leverage ---------------------------------------------------------------------------------

def leverage_book(tables: dict[str, pl.DataFrame], disclosure: dict, as_of: date | None,
                  params: dict[str, Any]) -> dict[str, Any] | None:
    """Leverage distribution and margin-call proximity of the last account snapshot.

    Collateral ratio R = (cash + V) / D, as in the platform's call line. A uniform price fall
    f moves V to V(1 - f): the account reaches the call line when V(1 - f) = R_call * D - cash
    and its equity is wiped out when V(1 - f) = D - cash (the research note's V' = D / (1 - m)).
    """
    frame = tables.get("accounts")
    if frame is None or frame.height == 0:
        return None
    dates = frame["date"].drop_nulls()
    if as_of is not None:
        dates = dates.filter(dates <= as_of)
    if dates.is_empty():
        return None
    snapshot_date = dates.max()
    snap = frame.filter(pl.col("date") == snapshot_date).select(
        pl.col("cash").fill_null(0.0), "market_value", "debt", "equity"
    ).drop_nulls()
    value = snap["market_value"].to_numpy()
    debt = snap["debt"].to_numpy()
    cash = snap["cash"].to_numpy()
    equity = snap["equity"].to_numpy()
    call_line = disclosure.get("margin_call_ratio")
    liquidation_line = disclosure.get("liquidation_ratio")
    cap = _retail_cap(disclosure, params)
    import numpy as np

    positive = equity > 0
    lev = np.where(positive & (value > 0), value / np.where(positive, equity, 1.0), np.nan)
    histogram = []
    for lo, hi in LEVERAGE_BUCKETS:
        n = int(np.sum((lev > lo) & (lev <= hi)) if lo > 0 else np.sum((lev >= 0) & (lev <= hi)))
        histogram.append({"bucket": _bucket_label(lo, hi), "accounts": n,
                          "over_cap": cap is not None and lo >= cap})
    histogram.append({"bucket": "equity <= 0", "accounts": int(np.sum(~positive)),
                      "over_cap": True, "negative": True})
    leveraged = (debt > 0) & (value > 0)
    v, d, c = value[leveraged], debt[leveraged], cash[leveraged]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (c + v) / d
        wipe_fall = np.clip(1 - (d - c) / v, 0, None)
        call_fall = np.clip(1 - (call_line * d - c) / v, 0, None) if call_line else None
    book = {
        "snapshot_date": snapshot_date.isoformat(),
        "accounts": int(snap.height),
        "leveraged": int(leveraged.sum()),
        "market_value": float(value.sum()),
        "debt": float(debt.sum()),
        "equity": float(equity.sum()),
        "median_leverage": _finite(np.nanmedian(lev[leveraged & positive]))
                           if (leveraged & positive).any() else None,
        "max_leverage": _finite(np.nanmax(lev)) if np.isfinite(lev).any() else None,
        "retail_cap": cap,
        "over_cap": int(np.sum(lev > cap)) if cap is not None else None,
        "negative_equity": int(np.sum(~positive)),
        "histogram": histogram,
        "call_line": call_line,
        "liquidation_line": liquidation_line,
        "at_or_below_liquidation": int(np.sum(ratio <= liquidation_line)) if liquidation_line else None,
        "in_call": int(np.sum(call_fall <= 0)) if call_fall is not None else None,
        "near_call": [{"fall": f, "accounts": int(np.sum((call_fall > 0) & (call_fall <= f)))}
                      for f in NEAR_CALL_FALLS] if call_fall is not None else [],
        "wiped_out_now": int(np.sum(wipe_fall <= 0)),
        "wipeout": [{"fall": f, "accounts": int(np.sum((wipe_fall > 0) & (wipe_fall <= f)))}
                    for f in WIPEOUT_FALLS],
        "curve": _fall_curve(call_fall, wipe_fall),
    }
    return book


def _labelled(book: dict[str, Any] | None, t: Translator) -> dict[str, Any] | None:
    if book:
        for bucket in book["histogram"]:
            bucket["label"] = t("leverage.bucket_negative") if bucket.get("negative") else bucket["bucket"]
    return book


def _retail_cap(disclosure: dict, params: dict[str, Any]) -> float | None:
    caps = [c for c in (disclosure.get("leverage_cap_retail"), params.get("leverage_cap_retail"))
            if isinstance(c, (int, float))]
    return float(min(caps)) if caps else None


def _bucket_label(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f"> {lo:g}x"
    return f"{lo:g}-{hi:g}x" if lo > 0 else f"<= {hi:g}x"


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _fall_curve(call_fall, wipe_fall) -> dict[str, list]:
    """Accounts in call and wiped out against a uniform price fall from 0 to 50 %."""
    import numpy as np

    falls = np.round(np.linspace(0, CURVE_MAX_FALL, 101), 4)
    curve = {"fall": falls.tolist(),
             "wiped_out": np.searchsorted(np.sort(wipe_fall), falls, side="right").tolist()}
    if call_fall is not None:
        curve["in_call"] = np.searchsorted(np.sort(call_fall), falls, side="right").tolist()
    return curve


# --- stress -----------------------------------------------------------------------------------

BOOK_FIELDS = ("accounts", "leveraged_accounts", "market_value", "debt", "equity", "near_call",
               "leverage_histogram")
ROUND_FIELDS = ("round", "accounts_liquidated", "sales_value", "avg_price_move", "cumulative_loss")
CONCENTRATION_FIELDS = ("instrument_id", "share_of_book", "days_of_adv", "days_at_participation")
SCENARIO_FIELDS = ("name", "title", "title_lang", "kind", "source", "source_lang", "severe",
                   "accounts_in_call",
                   "accounts_wiped_out", "shortfall", "spiral_shortfall", "amplification",
                   "fire_sale_loss", "fire_sale_loss_vs_capital", "fire_sale_loss_vs_debt",
                   "book_fire_sale_loss_vs_equity", "spiral_rounds", "shortfall_vs_capital",
                   "max_days_to_liquidate", "max_days_at_participation", "participation",
                   # the multi-day path: the verdict's engine (audit/report/stress_path.py)
                   "path_shortfall", "stressed_shortfall", "covered_by_capital",
                   "verdict_stable", "path_days_to_liquidate", "horizon_days")
FRONTIER_FIELDS = ("lever", "level", "accounts_affected", "clients_affected", "debt_removed",
                   "interest_forgone")


def stress_view(stress: dict | None) -> dict[str, Any] | None:
    """The stress analytics, with every documented field present (None when absent)."""
    if not stress:
        return None

    def rows(items, fields):
        return [{f: item.get(f) for f in fields} for item in items or [] if isinstance(item, dict)]

    book = stress.get("book") or {}
    book = {f: book.get(f) for f in BOOK_FIELDS} if book else {}
    spiral = stress.get("spiral") or {}
    capital = stress.get("capital") or {}
    scenarios = [{**{f: item.get(f) for f in SCENARIO_FIELDS}, **scenario_verdict(item)}
                 for item in stress.get("scenarios") or [] if isinstance(item, dict)]
    from audit.report.model_view import model_view
    from audit.stress.result import PARTICIPATION

    return {
        "as_of": stress.get("as_of"),
        # NOTE: the model as prose and a labelled table (audit/report/model_view.py), not
        # stress.json's machine keys.
        "model": model_view(stress),
        "book": book,
        "capital": {k: capital.get(k) for k in ("date", "net_capital", "liquid_assets",
                                                 "capital_buffer_min", "liquidity_buffer_min")},
        "scenarios": scenarios,
        "titles": {s["name"]: s["title"] for s in scenarios if s["name"] and s["title"]},
        # NOTE: the rate the days were computed at; stress.json states it per scenario.
        "participation": next((s["participation"] for s in scenarios if s["participation"]),
                              PARTICIPATION),
        "spiral": {"scenario": spiral.get("scenario"),
                   "rounds": rows(spiral.get("rounds"), ROUND_FIELDS),
                   "converged": spiral.get("converged")},
        "concentration": rows(stress.get("concentration"), CONCENTRATION_FIELDS),
        "frontier": frontier_view(stress.get("frontier")),
    }


def frontier_view(frontier: Any) -> dict[str, Any] | None:
    """The cost-of-control frontier: scenarios in one order, and per lever level the scenario
    shortfalls in that order (None where a row lacks one), so the table's columns line up."""
    if not isinstance(frontier, dict):
        return None
    scenarios = [{"name": s.get("name"), "title": s.get("title"),
                  "title_lang": s.get("title_lang"), "shortfall": s.get("shortfall")}
                 for s in frontier.get("scenarios") or [] if isinstance(s, dict)]
    rows = []
    for r in frontier.get("rows") or []:
        if not isinstance(r, dict):
            continue
        found = {s.get("name"): s for s in r.get("scenarios") or [] if isinstance(s, dict)}
        rows.append({**{f: r.get(f) for f in FRONTIER_FIELDS},
                     "scenarios": [{"shortfall": found.get(s["name"], {}).get("shortfall"),
                                    "shortfall_avoided":
                                        found.get(s["name"], {}).get("shortfall_avoided")}
                                   for s in scenarios]})
    if not rows and not scenarios:
        return None
    return {"scenarios": scenarios, "rows": rows,
            "rate": frontier.get("interest_rate_annual"),
            "rate_source": frontier.get("rate_source"),
            "caps_note": frontier.get("caps_note"),
            "binding_cap_limit": frontier.get("binding_cap_limit")}


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


# --- methodology and appendix ---------------------------------------------------------------

def format_parameter(value: Any) -> str:
    """A parameter exactly as the rules used it: 1e-09 stays 1e-09, 0.00500001 is not rounded."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def worked_example() -> dict[str, Any]:
    """The worked examples of 《杠杆的双重效应》, computed by audit.leverage, not typed in."""
    from audit.leverage import display_figures, leverage_figures

    a = display_figures(leverage_figures(100_000, 50_000, "0.25"))
    b = display_figures(leverage_figures(100_000, 10_000, "0.25"))
    c = display_figures(leverage_figures(1_000_000, 200_000, "0.25"))
    return {"a": a, "b": b, "c": c}


def rule_kinds(rule: Rule) -> list[str]:
    """How a rule is evaluated: on rows, on aggregates, through joins or as-of joins."""
    kinds = ["aggregate"] if rule.group_by is not None else ["row"]
    if any(j.asof is None for j in rule.joins):
        kinds.append("join")
    if any(j.asof is not None for j in rule.joins):
        kinds.append("asof")
    return kinds


def _methodology(run, rows: int, t: Translator) -> dict[str, Any]:
    ruleset = run.ruleset
    zh = t.lang == "zh"
    described = {name: (p, pack.name) for pack in ruleset.packs
                 for name, p in pack.parameters.items()}
    params = []
    for name, value in sorted(ruleset.params.items()):
        spec, pack = described.get(name, (None, None))
        params.append({
            "name": name,
            "value": t(f"cell.{str(value).lower()}") if zh and isinstance(value, bool)
            else format_parameter(value),
            "unit": ((spec.unit_zh or spec.unit) if zh else spec.unit) if spec else None,
            "description": (one_line(spec.description_zh or spec.description, chinese=True)
                            if zh else one_line(spec.description)) if spec
            else _builtin(name, t),
            "pack": pack,
        })
    params.append({"name": "as_of", "value": run.as_of.isoformat() if run.as_of else None,
                   "unit": t("method.unit_date"), "description": _builtin("as_of", t),
                   "pack": None})
    kinds: dict[str, list[str]] = {k: [] for k in ("row", "aggregate", "join", "asof")}
    for rule in ruleset.rules:
        for kind in rule_kinds(rule):
            kinds[kind].append(rule.id)
    return {
        "example": worked_example(),
        "kinds": kinds,
        "params": params,
        "escalating": [r.id for r in ruleset.rules if r.escalate],
        "effective": [r.id for r in ruleset.rules if r.effective],
        "evidence_rows": rows,
        "time": {"zone": getattr(run.export, "timezone", None),
                 "zone_source": getattr(run.export, "timezone_source", None),
                 "calendar": calendar_fields(run.calendar),
                 "notes": [engine_text(n, t) for n in run.notes]},
    }


def _builtin(name: str, t: Translator) -> str | None:
    """A built-in parameter's description: the engine's own words, or its Chinese."""
    if name not in BUILTIN_PARAMS:
        return None
    key = f"method.builtin.{name}"
    # NOTE: the raw catalogue sentence, its ⟦...⟧ marks kept for the template's `cited`.
    return (t.messages[key].format(text=BUILTIN_PARAMS[name]) if t.has(key)
            else BUILTIN_PARAMS[name])


def _appendix(run, doc, options: Options, t: Translator) -> dict[str, Any]:
    quality = doc["data_quality"]
    issues = [mask_issue(i) if options.mask else i for i in quality["sample"][:DATA_ISSUE_ROWS]]
    issues = [{**i, "problem": engine_text(i.get("problem"), t)} for i in issues]
    results = {r.rule.id: r for r in run.results}
    rules = []
    for e in doc["rules"]:
        # NOTE: rule ids link to their finding, without target-counter page numbers (the
        # contents page has them): each one makes WeasyPrint lay pages out again.
        rules.append({**e, "title": rule_title(results[e["id"]].rule, options.lang),
                      **_message(e.get("message"), t),
                      "anchor": f"finding-{e['id']}"
                      if e["status"] in (FAILED, INCOMPLETE, ERROR, NOT_EVALUABLE)
                      else None})
    return {
        "inputs": doc["inputs"],
        "unrecognised_files": doc["unrecognised_files"],
        "mapping": doc.get("mapping"),
        "unloaded_sheets": [s for s in doc.get("unloaded_sheets", []) if s["rows"] != 0],
        "data_quality": {"issues": quality["issues"], "by_table": quality["by_table"],
                         "sample": issues, "shown": len(issues)},
        "rows_unreadable": doc["summary"]["rows_unreadable"],
        "rule_packs": doc["rule_packs"],
        "profile": doc["run"]["profile"],
        "tool": doc["tool"],
        "rules": rules,
    }
