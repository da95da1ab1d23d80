"""Generated documentation stays in step with the contract and the rule files."""

from __future__ import annotations

from audit.docs import DOCS, expected_files


def test_generated_docs_are_up_to_date():
    stale = [str(p.relative_to(DOCS)) for p, text in expected_files().items()
             if not p.is_file() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"run `python -m audit.docs` to regenerate: {stale}"


def test_no_orphan_rule_pages():
    expected = set(expected_files())
    orphans = [p.name for p in (DOCS / "rules").glob("*.md") if p not in expected]
    assert orphans == []
