"""What only report.html has: search, filters, sortable tables and a lookup over all violations.

The PDF and the browser page come from the same templates; the page adds a toolbar
(``partials/tools.html.j2``), a screen stylesheet (``report.screen.css``), one inline script
(``report.js``, plain JS) and the violating records of every finding as inline JSON, so a reader
can look up a client or an account across all of them, not only the rows each evidence table
shows. Everything is inline and a Content-Security-Policy forbids any request: the page opens
from a file, an e-mail attachment or an air-gapped laptop and fetches nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

import polars as pl
from markupsafe import Markup

from audit.evaluate import FAILED, INCOMPLETE, ROW, SEVERITY
from audit.findings import SEVERITY_ORDER
from audit.mask import MASKERS, mask_other, personal_columns
from audit.report.assets import TEMPLATES_DIR

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.report.context import Options
    from audit.report.i18n import Translator

SCRIPT = "report.js"
SCREEN_STYLESHEET = "report.screen.css"
# NOTE: the lookup's inline JSON grows with the violations; past this many records it holds the
# first ones of each rule in turn and says how many it left out (violations.csv has them all).
LOOKUP_MAX_RECORDS = 100_000
UI_KEYS = ("matches", "no_match", "shown", "lookup_none", "lookup_found", "lookup_capped",
           "lookup_partial", "col_rule", "col_severity", "col_record", "lookup_more", "sort")


def violation_lookup(run: "Run", options: "Options", t: "Translator") -> dict[str, Any]:
    """Every violating record of every failed or incomplete rule, masked as the evidence tables
    are, its cells formatted as the report formats them; ``ids`` are the columns a client or
    account lookup matches exactly (the rule's key and every ``*_id`` column)."""
    from audit.report.context import column_label, rule_title

    results = [r for r in run.results
               if r.status in (FAILED, INCOMPLETE) and r.records is not None and r.records.height]
    results.sort(key=lambda r: (SEVERITY_ORDER.index(_severity(r)), r.rule.id))
    total = sum(r.records.height for r in results)
    # NOTE: share the cap evenly so that a rule with a million rows cannot crowd out the rest.
    quota = _quotas([r.records.height for r in results], LOOKUP_MAX_RECORDS)
    personal = personal_columns()
    rules = []
    for result, keep in zip(results, quota):
        records = result.records.head(keep)
        columns = list(records.columns)
        ids = [i for i, c in enumerate(columns)
               if c in result.rule.key_columns or c.endswith("_id")]
        # NOTE: column by column, not cell by cell: a page may hold 100,000 records.
        texts = [_texts(records[c], c, options.mask and c in personal, t) for c in columns]
        rows = [list(row) for row in zip(*texts)] if texts else []
        rules.append({
            "id": result.rule.id,
            "anchor": f"finding-{result.rule.id}",
            "title": rule_title(result.rule, options.lang),
            "severity": _severity(result),
            "columns": [column_label(c, options.lang, t)["main"] if c != ROW
                        else t("columns.row") for c in columns],
            "ids": ids,
            "rows": rows,
            "total": result.records.height,
        })
    return {"rules": rules, "total": total, "included": sum(len(r["rows"]) for r in rules)}


def _texts(series: pl.Series, column: str, mask: bool, t: "Translator") -> list[str]:
    """A column's cells as the evidence tables write them (``format_cell``), masked when asked."""
    from audit.report.context import format_cell, format_number

    values = series.to_list()
    null = t("cell.null")
    if mask:
        # NOTE: mask_value's own lookup of the personal columns costs more than the masking.
        masker = MASKERS.get(column, mask_other)
        values = [None if v is None else masker(str(v)) for v in values]
        return [null if v is None else v for v in values]
    if column == SEVERITY:
        labels = {v: format_cell(v, column, t)["text"] for v in set(values)}
        return [labels[v] for v in values]
    if series.dtype == pl.Utf8:
        return [null if v is None else v for v in values]
    if series.dtype == pl.Date:
        return [null if v is None else v.isoformat() for v in values]
    if series.dtype.is_float():
        return [null if v is None or math.isnan(v) else format_number(v) for v in values]
    if series.dtype.is_integer() and column != ROW:
        return [null if v is None else f"{v:,}" for v in values]
    return [format_cell(v, column, t)["text"] for v in values]


def _severity(result) -> str:
    return result.severity  # NOTE: the escalated one, as the finding shows it


def _quotas(sizes: list[int], cap: int) -> list[int]:
    """Rows kept per rule so that the sum stays within ``cap``: small rules keep all."""
    quota = [0] * len(sizes)
    left, open_ = cap, sorted(range(len(sizes)), key=lambda i: sizes[i])
    while open_:
        share = left // len(open_)
        i = open_.pop(0)
        quota[i] = min(sizes[i], share)
        left -= quota[i]
    return quota


def filters(context: dict[str, Any], t: "Translator") -> dict[str, list[dict[str, str]]]:
    """The options of the severity, norm and rule filters: only values some finding has."""
    found = [*context["findings"], *context["further_findings"]]
    severities = [s for s in SEVERITY_ORDER if any(f["severity"] == s for f in found)]
    norms = sorted({n["id"]: n["title"] for f in found for n in f["norms"]}.items())
    return {
        "severities": [{"value": s, "label": t(f"severity.{s}")} for s in severities],
        "norms": [{"value": n, "label": f"{n} {title}"} for n, title in norms],
        "rules": [{"value": f["id"], "label": f"{f['id']} {f['title']}"} for f in found],
    }


def script_json(value: Any) -> Markup:
    """``value`` as JSON safe inside a <script> element: no ``<``, ``>`` or ``&`` at all (they
    are written ``\\u003c``...), so no data can close the element or open a comment in it, and
    U+2028/U+2029 escaped for older parsers. JSON.parse reads it back unchanged."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def csp(script: str) -> str:
    """The page's Content-Security-Policy: nothing may be fetched, sent or framed.

    The one script runs by its hash. Styles are allowed inline ('unsafe-inline'): CSS alone
    cannot make a request here (every fetch directive is 'none' but data: images, the charts),
    and a hash per <style> would break on any style attribute a template adds.
    """
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def browser_assets(context: dict[str, Any], t: "Translator") -> dict[str, Any]:
    """What the templates need to add the browser's tools to the page."""
    script = (TEMPLATES_DIR / SCRIPT).read_text(encoding="utf-8")
    data = {
        "lookup": context.get("lookup") or {"rules": [], "total": 0, "included": 0},
        "severity": {s: t(f"severity.{s}") for s in SEVERITY_ORDER},
        "text": {k: t(f"ui.{k}") for k in UI_KEYS},
        "lang": context["lang"],
    }
    return {
        "script": Markup(script),
        "csp": csp(script),
        "stylesheet": Markup((TEMPLATES_DIR / SCREEN_STYLESHEET).read_text(encoding="utf-8")),
        "data": script_json(data),
        "filters": filters(context, t),
    }
