"""HTML rendering: the jinja2 templates of ``templates/`` filled with the report's view model.

The environment autoescapes every value, so a cell such as ``<img src="file:///etc/passwd">``
from an export is shown as text and never becomes markup. The page is self-contained: the
stylesheet is inlined and charts are data: URIs, so report.html opens anywhere and the PDF
renderer has nothing to fetch but the charts this module generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from audit.report import charts
from audit.report.assets import TEMPLATES_DIR
from audit.report.browser import browser_assets
from audit.report.i18n import HtmlTranslator, Translator, cited

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


@dataclass
class RenderedHTML:
    """The HTML of a report and the data: URIs it embeds (the only ones the PDF may load)."""

    html: str
    data_uris: set[str] = field(default_factory=set)
    # NOTE: report.html is ``page``: the same document plus the browser's tools (search, filters,
    # sortable tables, lookup; audit/report/browser.py). The PDF is rendered from ``html``.
    page: str = ""


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # NOTE: every value escaped, whatever the template's file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt_int, pct=fmt_pct, money=fmt_money, ratio=fmt_ratio,
                       dec=fmt_decimal, cited=cited)
    return env


def render_html(context: dict[str, Any]) -> RenderedHTML:
    """The report as one HTML document."""
    t = Translator(context["lang"])
    chart_uris = build_charts(context, t)
    css = (TEMPLATES_DIR / STYLESHEET).read_text(encoding="utf-8")
    env = environment()
    unit = money_unit(t)
    if unit:
        env.filters["money"] = lambda value, decimals=0: _with_unit(fmt_money(value, decimals),
                                                                    unit)
    template = env.get_template(TEMPLATE)
    # NOTE: sentences joined in English take a space; Chinese sentences join without one.
    sp = "" if context["lang"] == "zh" else " "
    ht = HtmlTranslator(context["lang"])
    html = template.render(**context, t=ht, sp=sp, charts=chart_uris, stylesheet=Markup(css),
                           browser=None)
    page = template.render(**context, t=ht, sp=sp, charts=chart_uris, stylesheet=Markup(css),
                           browser=browser_assets(context, t))
    return RenderedHTML(html=html, data_uris=set(chart_uris.values()), page=page)


def build_charts(context: dict[str, Any], t: Translator) -> dict[str, str]:
    """Every chart the context has data for, as data: URIs keyed by name."""
    out: dict[str, str] = {}
    lang = context["lang"]
    money = charts_money_label(t, money_unit(t))
    book = context.get("leverage")
    stress = context.get("stress")
    buckets = None
    if book:
        buckets = book["histogram"]
    elif stress and stress["book"].get("leverage_histogram"):
        buckets = [{"label": str(b.get("bucket")), "accounts": b.get("accounts") or 0}
                   for b in stress["book"]["leverage_histogram"]]
    if buckets and any(b["accounts"] for b in buckets):
        out["leverage"] = charts.leverage_histogram(
            buckets, {"x": t("leverage.chart_x"), "y": t("leverage.chart_y")})
    if book and book["leveraged"]:
        out["falls"] = charts.fall_curve(book["curve"], {
            "x": t("leverage.curve_x"), "y": t("leverage.curve_y"),
            "in_call": t("leverage.curve_in_call"), "wiped_out": t("leverage.curve_wiped")})
    if stress:
        if stress["scenarios"]:
            out["shortfall"] = charts.scenario_shortfall(stress["scenarios"], {
                "lang": lang, "x": money(t("stress.chart_shortfall_x")),
                "static": t("stress.static"),
                "path": t("stress.stressed"), "spiral": t("stress.spiral_sensitivity")})
        path = (context.get("stress_sections") or {}).get("path") or {}
        if path.get("tested") and path.get("days"):
            out["path"] = charts.stress_path(path["days"], path.get("net_capital"), {
                "lang": lang, "x": t("stress_p.day"), "index": t("stress_p.index"),
                "shortfall": money(t("stress_p.shortfall_col")),
                "capital": t("stress_p.capital_line")})
        if stress["spiral"]["rounds"]:
            out["spiral"] = charts.spiral_rounds(stress["spiral"]["rounds"], {
                "lang": lang, "x": t("stress.round"), "accounts": t("stress.accounts_liquidated"),
                "loss": money(t("stress.cumulative_loss"))})
        frontier = stress.get("frontier")
        if frontier and frontier["rows"] and frontier["scenarios"]:
            out["frontier"] = charts.cost_frontier(frontier, {
                "lang": lang, "x": money(t("stress.interest_forgone")),
                "x_debt": money(t("stress.debt_removed")),
                "y": money(t("stress.shortfall")), "leverage_cap": t("stress.lever_cap"),
                "concentration_limit": t("stress.lever_concentration")})
    return out


def _with_unit(text: str, unit: str) -> str:
    return text if text == "–" else f"{text} {unit}"


# NOTE: Chinese states the unit with an amount (1,234 元); the English report keeps its bare
# figures in the book's currency, as it always has.
UNIT_LANGUAGES = ("zh",)


def money_unit(t: Translator) -> str:
    """The unit written after every amount in ``t``'s language ("" where none is)."""
    return t("stress_terms.money_unit") if t.lang in UNIT_LANGUAGES else ""


def charts_money_label(t: Translator, unit: str):
    """An axis label of money with its unit where the language states one ("损失（元）")."""
    return (lambda text: t("stress_terms.axis_money", label=text, unit=unit)) if unit else (
        lambda text: text)


# --- number formats (the same in both languages) ----------------------------------------------

def finite_number(value: Any) -> float | None:
    """A JSON value as a finite float; None for missing, booleans, text and NaN/inf."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_int(value: Any) -> str:
    """12345 -> 12,345; missing -> an en dash."""
    number = finite_number(value)
    return "–" if number is None else f"{number:,.0f}"


def fmt_pct(value: Any, decimals: int = 2) -> str:
    """A fraction as a percentage: 0.0345 -> 3.45%; a non-zero value never shows as 0%."""
    number = finite_number(value)
    if number is None:
        return "–"
    if number == 0:
        return "0%"
    floor = 10 ** -decimals / 100
    if 0 < abs(number) < floor:
        return f"<{floor * 100:.{decimals}f}%"
    return f"{number * 100:,.{decimals}f}%"


def fmt_money(value: Any, decimals: int = 0) -> str:
    number = finite_number(value)
    return "–" if number is None else f"{number:,.{decimals}f}"


def fmt_ratio(value: Any) -> str:
    """A leverage or amplification: 4.5 -> 4.50x."""
    number = finite_number(value)
    return "–" if number is None else f"{number:,.2f}x"


def fmt_decimal(value: Any, decimals: int = 2) -> str:
    number = finite_number(value)
    return "–" if number is None else f"{number:,.{decimals}f}"
