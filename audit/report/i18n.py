"""Message catalogues: every label, heading and fixed sentence of the report, per language.

The catalogues are YAML files in ``templates/i18n/<lang>.yaml`` (nested keys, looked up with
dots: ``t("summary.title")``). Both languages must hold the same keys; a test checks it, and a
key missing at render time is an error rather than a silently English word in a Chinese report.
Sentences take named fields in ``str.format`` style: ``t("finding.checked", n=12)``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from audit.report.assets import TEMPLATES_DIR

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-CN"}  # BCP 47 tag: picks Simplified Chinese glyph forms


CITE_OPEN, CITE_CLOSE = "⟦", "⟧"
# NOTE: a name the reader types or finds as written (a file, a command-line option) is marked
# ⟪...⟫ in a catalogue sentence: in the HTML it becomes <code class="id">, as plain text the
# marks go.
CODE_OPEN, CODE_CLOSE = "⟪", "⟫"
MARKS = (CITE_OPEN, CITE_CLOSE, CODE_OPEN, CODE_CLOSE)


class CatalogueError(KeyError):
    """A message key missing from a catalogue."""


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The flattened catalogue of ``lang`` (``{"summary.title": "Executive summary", ...}``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r} is not available; use one of "
                         f"{', '.join(LANGUAGES)}")
    path = TEMPLATES_DIR / "i18n" / f"{lang}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(_flatten(data))


def _flatten(data: dict[str, Any], prefix: str = ""):
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, str(value).strip() if isinstance(value, str) else value


class Translator:
    """``t(key, **fields)``: the message of ``key`` in one language, fields filled in."""

    def __init__(self, lang: str):
        self.lang = lang
        self.messages = catalogue(lang)

    def __call__(self, key: str, **fields: Any) -> str:
        try:
            text = self.messages[key]
        except KeyError:
            raise CatalogueError(f"message {key!r} is missing from templates/i18n/"
                                 f"{self.lang}.yaml") from None
        text = text.format(**fields) if fields else text
        # NOTE: a citation inside a sentence is marked ⟦...⟧ in the catalogue; as plain text
        # (charts, terminal) the marks go, in the HTML (HtmlTranslator) they become a span.
        if isinstance(text, str) and any(mark in text for mark in MARKS):
            for mark in MARKS:
                text = text.replace(mark, "")
        return text

    def has(self, key: str) -> bool:
        return key in self.messages


class HtmlTranslator(Translator):
    """``t`` for the templates: a message with a citation marked ⟦...⟧ comes back as markup,
    the citation in ``<span class="cite" lang="en">`` (published titles stay as published),
    everything else escaped."""

    def __call__(self, key: str, **fields: Any):
        text = self.messages.get(key)
        if text is None or not any(mark in str(text) for mark in MARKS):
            return super().__call__(key, **fields)
        return cited(text.format(**fields) if fields else text)


def cited(text: Any):
    """A text of a rule pack (a parameter's Chinese description, say) for the page: a citation
    marked ⟦...⟧ in it becomes ``<span class="cite" lang="en">``, a name marked ⟪...⟫
    ``<code class="id">``, everything else escaped."""
    from markupsafe import Markup, escape

    if text is None or not any(mark in str(text) for mark in MARKS):
        return text
    return Markup(str(escape(str(text))).replace(CITE_OPEN, '<span class="cite" lang="en">')
                  .replace(CITE_CLOSE, "</span>").replace(CODE_OPEN, '<code class="id">')
                  .replace(CODE_CLOSE, "</code>"))
