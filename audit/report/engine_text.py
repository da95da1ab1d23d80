"""The engine's own sentences in the report's language: how the export was read (time-zone
and mapping notes), a data-quality problem, what a finding assumes (caveats).

The loader and the evaluator write these sentences in English (findings.json, the terminal);
the Chinese report recognises the ones it knows and writes them from the catalogues
(``engine.*``), the fields (a column, a zone, a file) kept as written and marked ⟪...⟫. A
sentence it does not know is shown as written and marked English (``lang="en"``), never passed
off as translated.
"""

from __future__ import annotations

import re
from typing import Any

from audit.report.i18n import Translator

_CJK = re.compile(r"[\u4e00-\u9fff]")
_COLUMN = r"column '(?P<column>[^']+)'"
PATTERNS = (
    (re.compile(rf"^{_COLUMN}: every value carries the time-zone offset (?P<offset>\S+) while "
                r"the export's time zone is (?P<zone>\S+); the values were converted from "
                r"(?P=offset) to (?P=zone) time$"), "zone_offset"),
    (re.compile(rf"^{_COLUMN} mixes time-zone offsets \((?P<offsets>[^)]*)\); all values were "
                r"converted to (?P<zone>\S+) time$"), "zone_mixed"),
    (re.compile(r"^(?P<file>\S+) in the export folder was not applied: a mapping configures "
                r"the audit, so only one the auditor names with --mapping is used; review it "
                r"and pass --mapping <export folder>/(?P=file) to apply it$"), "mapping_ignored"),
    (re.compile(r"^(?P<table>\w+)\.(?P<column>\w+) is not in the export: (?P=table)\."
                r"(?P<computed>\w+) assumes (?P<assumed>.+)$"), "assumes"),
    # NOTE: the stress model's label, carried by every stress-table row (audit.stress).
    (re.compile(r"^this toolkit's deleveraging spiral: (?P<law>square-root|linear) price impact, "
                r"Y = (?P<y>\S+), sales at the integrated average of the impact curve, price "
                r"floor (?P<floor>\S+) of the shocked price$"), "spiral"),
    (re.compile(r"^this toolkit's multi-day stress path: (?P<horizon>\d+) trading days, the "
                r"scenario's move within the exchanges' daily price limits, forced sales at most "
                r"(?P<participation>\S+) of average daily volume a day at the integrated "
                r"(?P<law>square-root|linear) price impact \(Y = (?P<y>[^)]+)\), locked "
                r"limit-down days trading nothing, unsold holdings marked at the horizon, "
                r"(?P<grace>\d+) grace day\(s\) after a call; sensitivity: (?P<spiral>.+)$"),
     "path"),
)
# NOTE: what a computed column assumes without an optional one (audit.contract, ``assumes``).
ASSUMED = {"no short positions": "no_short", "no accrued interest or fees": "no_interest"}


def engine_text(text: Any, t: Translator) -> dict[str, Any]:
    """``{"text": ..., "lang": None}`` in the report's language, or the sentence as written
    with ``"lang": "en"`` when the Chinese report does not know it."""
    text = "" if text is None else str(text)
    if t.lang == "en":
        return {"text": text, "lang": None}
    for pattern, key in PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        fields = match.groupdict()
        if "assumed" in fields:
            if fields["assumed"] not in ASSUMED:
                break
            fields["assumed"] = t(f"engine.assumed.{ASSUMED[fields['assumed']]}")
        if "law" in fields:
            law = "sqrt" if fields["law"] == "square-root" else "linear"
            fields["law"] = t(f"engine.law.{law}")
        if "spiral" in fields:
            spiral = engine_text(fields["spiral"], t)
            if spiral["lang"]:
                break
            fields["spiral"] = spiral["text"]
        # NOTE: the raw catalogue sentence, its ⟪...⟫ marks kept for the template's `cited`.
        return {"text": t.messages[f"engine.{key}"].format(**fields), "lang": None}
    # NOTE: a text already in Chinese (a value of the export) needs no mark.
    return {"text": text, "lang": None if _CJK.search(text) else "en"}


_CALENDAR = re.compile(r"^(?P<name>.+?), (?P<first>\d{4}-\d\d-\d\d) to (?P<last>\d{4}-\d\d-\d\d)$")


def calendar_fields(described: str | None) -> dict[str, str] | None:
    """The trading calendar as ``audit.calendar`` describes it ("XSHG, 1990-12-03 to
    2026-12-31"), split for a sentence of the catalogues; ``calendar`` keeps it whole."""
    if not described:
        return None
    match = _CALENDAR.match(described)
    parts = match.groupdict() if match else {"name": described, "first": "–", "last": "–"}
    return {"calendar": described, **parts}
