"""The stress results in the report's language: scenario titles and sources, and the register
of the model's assumptions, picked or translated before the views are built.

stress.json holds each scenario's English ``title``/``source`` and, when its file gives them,
``title_zh``/``source_zh``. Under ``--lang zh`` the Chinese ones take the place of the English;
a scenario without them (an auditor's own file) keeps its English text and is flagged
(``title_lang``/``source_lang`` = "en"), so the page marks it ``lang="en"`` instead of passing
English off as a translation. The assumptions register is translated by its ``key`` from the
catalogue (``stress_reg.<key>.*``); its sources are citations and stay as published.
"""

from __future__ import annotations

import copy
from typing import Any

from audit.report.i18n import Translator

TOOLKIT = "toolkit assumption"


def localise_stress(stress: dict | None, lang: str) -> dict | None:
    """A copy of ``stress`` whose shown texts are in ``lang`` (the same dict for English)."""
    if not stress or lang == "en" or not isinstance(stress, dict):
        return stress
    out = copy.deepcopy(stress)
    titles: dict[str, str] = {}
    for s in out.get("scenarios") or []:
        if not isinstance(s, dict):
            continue
        _pick(s, "title", lang)
        _pick(s, "source", lang)
        if s.get("name") is not None and s.get("title_lang") == lang:
            titles[s["name"]] = s["title"]
    frontier = out.get("frontier")
    if isinstance(frontier, dict):
        for s in frontier.get("scenarios") or []:
            if isinstance(s, dict):
                if not s.get(f"title_{lang}") and s.get("name") in titles:
                    s[f"title_{lang}"] = titles[s["name"]]
                _pick(s, "title", lang)
    risk = out.get("model_risk")
    if isinstance(risk, dict):
        t = Translator(lang)
        risk["assumptions"] = [translate_assumption(a, t) if isinstance(a, dict) else a
                               for a in risk.get("assumptions") or []]
    return out


def _pick(item: dict[str, Any], field: str, lang: str) -> None:
    local = item.get(f"{field}_{lang}")
    if isinstance(local, str) and local.strip():
        item[field], item[f"{field}_lang"] = local, lang
    elif item.get(field) is not None:
        item[f"{field}_lang"] = "en"


def translate_assumption(row: dict[str, Any], t: Translator) -> dict[str, Any]:
    """One row of the assumptions register in ``t``'s language; a row the catalogue does not
    know (an older or newer stress.json) stays in English, flagged ``lang = "en"``."""
    key = row.get("key")
    base = f"stress_reg.{key}"
    if not key or not t.has(f"{base}.assumption"):
        return {**row, "lang": "en"}
    value = row.get("value")
    if t.has(f"{base}.value"):
        value = t(f"{base}.value", **_fields(row, t))
    elif isinstance(value, dict):
        value = {_label(t, k): v for k, v in value.items()}
    elif key == "law" and t.has(f"stress_m.law.{value}"):
        value = t(f"stress_m.law.{value}")
    source = row.get("source")
    toolkit = isinstance(source, str) and source.startswith(TOOLKIT)
    # NOTE: "toolkit assumption" is the tool's own word, not a citation, so it is translated;
    # a published source stays as cited (``cite``, shown lang="en"), and where the English
    # mixes prose into the citation the catalogue gives the prose and the bare citation.
    cite = source
    if t.has(f"{base}.cite"):
        cite = t(f"{base}.cite", **(row.get("source_fields") or {}))
    elif toolkit:
        cite = source[len(TOOLKIT):].lstrip(" ;")
    elif t.has(f"{base}.source"):
        cite = ""
    if t.has(f"{base}.source"):
        source = t(f"{base}.source")
    else:
        source = t("stress_reg.toolkit") if toolkit else ""
    effect = t(f"{base}.effect")
    return {**row, "assumption": t(f"{base}.assumption"), "value": value, "source": source,
            "cite": cite or "", "effect": effect, "lang": t.lang}


def _label(t: Translator, key: Any) -> str:
    name = f"stress_terms.class.{key}"
    return t(name) if t.has(name) else str(key)


def _fields(row: dict[str, Any], t: Translator) -> dict[str, Any]:
    value = row.get("value")
    if not isinstance(value, dict):
        return {"value": value}
    if "crossed" in value:  # the lines' "at or below the line" / "strictly below the line"
        inclusive = str(value["crossed"]).startswith("at or below")
        value = {**value, "crossed": t("stress_reg.lines.inclusive" if inclusive
                                       else "stress_reg.lines.strict")}
    return value
