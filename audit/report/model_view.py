"""The stress model and its assumptions as a reader sees them: one labelled row per parameter,
with its value in its unit and where the value comes from.

stress.json keeps the model as the engine describes it (``model``: machine keys such as
``max_impact`` or ``disclosure.margin_call_ratio``, and ``path.params``); the report turns that
record into rows whose labels, units and sources are sentences of the message catalogues, so
the Chinese report is Chinese too. Values are read from the run's own stress record, never
restated here, except the few fixed definitions the record only gives inside a sentence.
"""

from __future__ import annotations

from typing import Any

from audit.report.html import finite_number

# NOTE: the record names where each line came from in the engine's own words; a reader gets
# the published source or the platform's disclosure instead.
LINE_SOURCES = {
    "disclosure.margin_call_ratio": "disclosed_call",
    "disclosure.liquidation_ratio": "disclosed_liquidation",
    "1 / (1 - disclosure.maintenance_margin)": "from_maintenance",
}
LINE_DEFAULT_PREFIXES = (("default: FINRA", "finra_default"), ("default: the call line", "call_line_default"))
# NOTE: each record source reads "citation: what the model takes from it"; the citation stays
# as published, the topic is a sentence of the catalogues (model.topic.*) in the report's
# language. A quotation of the source is part of the citation.
TOPICS = {
    "square-root impact": "sqrt_impact",
    "fire-sale rounds, price floor": "fire_sale",
    "impact-adjusted valuation, the integral of the impact curve": "impact_valuation",
    "linear impact": "linear_impact",
    "daily price limits": "price_limits",
    "forced sellers only, no recovery": "forced_only",
}
VOL_ORDER = ("equity", "etf", "index", "bond", "gold", "commodity", "fx", "crypto", "other")


def _row(key: str, value: Any, unit: str, source: str, raw: str | None = None) -> dict[str, Any]:
    """``unit``: how the template shows ``value`` (pct, pct_year, pct_capital, line, days,
    rounds, factor, text, vols); ``source`` a catalogue key under ``model.src``."""
    return {"key": key, "value": value, "unit": unit, "source": source, "raw": raw}


def _line_source(text: Any) -> tuple[str, str | None]:
    text = str(text or "")
    if text in LINE_SOURCES:
        return LINE_SOURCES[text], None
    for prefix, key in LINE_DEFAULT_PREFIXES:
        if text.startswith(prefix):
            return key, None
    return "as_recorded", text  # NOTE: a source this module does not know is shown as given


def reference(source: str) -> dict[str, str | None]:
    """A model source split into its citation and the topic the model takes from it."""
    cite, sep, topic = source.rpartition(": ")
    if not sep or topic.startswith('"'):
        return {"cite": source, "topic": None, "raw": None}
    return {"cite": cite, "topic": TOPICS.get(topic),
            "raw": None if topic in TOPICS else topic}


def model_view(stress: dict[str, Any] | None) -> dict[str, Any] | None:
    """The prose fields and the parameter table of the stress model, or None without one."""
    if not stress or not isinstance(stress.get("model"), dict):
        return None
    from audit.stress.book import NEAR_CALL_FALL
    from audit.stress.result import AMPLIFICATION_MIN

    model = stress["model"]
    path = stress.get("path") if isinstance(stress.get("path"), dict) else {}
    params = path.get("params") or {}
    rows: list[dict[str, Any]] = []
    if params:
        rows.append(_row("horizon", params.get("horizon_days"), "days", "horizon"))
        rows.append(_row("participation", params.get("participation"), "pct_adv", "participation"))
        rows.append(_row("grace_days", params.get("grace_days"), "days", "grace_days"))
    law = model.get("impact")
    rows.append(_row("impact_law", law, "law", "law_linear" if law == "linear" else "law_sqrt"))
    rows.append(_row("coefficient", model.get("coefficient"), "factor", "coefficient"))
    rows.append(_row("max_impact", model.get("max_impact"), "pct", "max_impact"))
    vols = model.get("daily_vol") if isinstance(model.get("daily_vol"), dict) else {}
    ordered = [c for c in VOL_ORDER if c in vols] + sorted(c for c in vols if c not in VOL_ORDER)
    rows.append(_row("daily_vol", [{"cls": c, "value": vols[c]} for c in ordered], "vols",
                     "daily_vol"))
    rows.append(_row("default_vol", model.get("default_vol"), "pct", "default_vol"))
    rows.append(_row("max_rounds", model.get("max_rounds"), "rounds", "max_rounds"))
    for key, src_key in (("call_line", "call_line_source"),
                         ("liquidation_line", "liquidation_line_source")):
        source, raw = _line_source(model.get(src_key))
        rows.append(_row(key, model.get(key), "line", source, raw=raw))
    inclusive = str(model.get("line_crossed", "")).startswith("at or below")
    rows.append(_row("line_crossed", "at_or_below" if inclusive else "strictly_below", "choice",
                     "line_crossed"))
    rows.append(_row("near_call", NEAR_CALL_FALL, "pct", "near_call"))
    rows.append(_row("amplification_min", AMPLIFICATION_MIN, "pct_capital", "amplification_min"))
    frontier = stress.get("frontier") if isinstance(stress.get("frontier"), dict) else {}
    if frontier:
        rate = finite_number(frontier.get("interest_rate_annual"))
        rows.append(_row("interest_rate", rate, "pct_year",
                         "disclosed_rate" if rate is not None else "no_rate"))
    sources = [str(s) for s in model.get("sources") or []] + [str(s) for s in path.get("sources") or []]
    return {
        "law": law if law in ("sqrt", "linear") else "sqrt",
        "horizon": params.get("horizon_days"),
        "participation": params.get("participation"),
        "grace_days": params.get("grace_days"),
        "path": bool(params),
        "rows": rows,
        "sources": list(dict.fromkeys(sources)),
        "references": [reference(s) for s in dict.fromkeys(sources)],
    }
