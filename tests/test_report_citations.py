"""The report speaks to its readers: no output cites the project's own working files, the
stress model is prose and a labelled table with units, and the cover carries an attestation
block with the names the auditor gave.

The sample export is audited once (stress included); the report is rendered in English and
Chinese as HTML, and once as a PDF whose text is read back with pdftotext.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from audit.findings import findings_document
from audit.pipeline import run_audit
from audit.report import render_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

# What counts as a reference to the project's working files rather than to a published source.
INTERNAL = {
    "seed document": r"\bseeds?\s*#?\s*0\d\d\b|\bseeds?/",
    "working notes": r"\b(?:domain|norms|conventions|architecture|findings-schema|report)\.md\b"
                     r"|\bnorms digest\b",
    "issue number": r"\bissues?\s*#\s*\d+|(?<![\w&#])#\d{1,4}\b",
    "package path": r"\b(?:audit|rules|packs|templates|profiles|scenarios|tests|docs|sample_data)"
                    r"/[\w./<>-]*",
    "python module": r"\b\w+\.py\b",
    "the seed": r"\bthe seed(?:'s)?\b",
}
# NOTE: the scenario files name a Python package's bundled data set as their source; they are
# rewritten in their own change, and this pattern joins INTERNAL when it lands.
PACKAGE_DATASET = r"\barch\.data\b|\barch package\b"

PREPARED = "Li Wei <b>& Co</b>"
REVIEWED = "王芳 (Reviewer) <script>alert(1)</script>"


def internal_references(text: str, patterns: dict[str, str] = INTERNAL) -> list[str]:
    """Every match of the patterns, with a little context, so a failure says where."""
    found = []
    for name, pattern in patterns.items():
        for m in re.finditer(pattern, text, re.I):
            found.append(f"{name}: ...{text[max(0, m.start() - 40):m.end() + 20]}...")
    return found


def visible_text(html: str) -> str:
    """What a reader of the HTML sees: no style sheet, no script, no tags or attributes."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<img\b[^>]*>", " ", html, flags=re.I)  # charts: data: URIs
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def run():
    return run_audit(SAMPLE)


@pytest.fixture(scope="module")
def rendered(run, tmp_path_factory) -> dict[str, Path]:
    stress = run.stress.to_dict() if run.stress is not None else None
    assert stress is not None, "the sample's audit ran no stress analytics"
    out = {}
    for lang in ("en", "zh"):
        folder = tmp_path_factory.mktemp(f"cite-{lang}")
        out[lang] = render_report(run, folder, lang=lang, prepared_by=PREPARED,
                                  reviewed_by=REVIEWED, stress=stress,
                                  formats=("html", "pdf") if lang == "zh" else ("html",))
    return out


@pytest.fixture(scope="module")
def html(rendered) -> dict[str, str]:
    return {lang: paths["html"].read_text(encoding="utf-8") for lang, paths in rendered.items()}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_internal_reference_in_the_report(html, lang):
    text = visible_text(html[lang])
    assert internal_references(text) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_package_dataset_cited_as_a_source(html, lang):
    assert internal_references(visible_text(html[lang]), {"dataset": PACKAGE_DATASET}) == []


def test_the_regexes_catch_what_they_are_for():
    for text in ("per Seed 003 the line", "see domain.md section 6", "issue #5",
                 "seed (rules/profiles/seed.yaml)", "audit/packs/lev/LEV-001.yaml",
                 "the seed's examples", "computed in context.py"):
        assert internal_references(text), text
    for text in ("FINRA Rule 4210(c)", "province of issue (2)", "9.03% on 15 Oct 2008",
                 "mapping.yaml in the export folder", "《杠杆的双重效应》", "colour #1f4e79"):
        assert internal_references(text) == [], text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
def test_the_pdf_text_has_no_internal_reference_and_the_attestation(rendered):
    pdf = rendered["zh"]["pdf"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert internal_references(text) == []
    cover = text.split("\f")[0]
    for label in ("签署确认", "编制人", "复核人", "签字", "日期"):
        assert label in cover, label
    assert "Li Wei <b>& Co</b>" in cover  # the name as given, shown as text, not markup
    assert "王芳 (Reviewer)" in cover


@pytest.mark.parametrize("lang,labels", [
    ("en", ("Attestation", "Prepared by", "Reviewed by", "Signature", "Date")),
    ("zh", ("签署确认", "编制人", "复核人", "签字", "日期")),
])
def test_the_cover_has_an_attestation_block_with_the_names_escaped(html, lang, labels):
    page = html[lang]
    cover = page[page.index('id="cover"'):page.index("</section>", page.index('id="cover"'))]
    block = cover[cover.index('id="attestation"'):]
    text = visible_text(block)
    for label in labels:
        assert label in text, label
    assert "Li Wei &lt;b&gt;&amp; Co&lt;/b&gt;" in block
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    assert "<script>alert" not in page and "<b>& Co" not in page
    assert block.count('class="attest-line"') == 4  # signature and date, for each of the two


def test_the_reviewer_falls_back_to_the_former_auditor_option(run, tmp_path):
    paths = render_report(run, tmp_path, auditor="Example Audit LLP", formats=("html",))
    page = paths["html"].read_text(encoding="utf-8")
    block = page[page.index('id="attestation"'):]
    assert "Example Audit LLP" in visible_text(block[:block.index("</table>")])


def _model_table(page: str) -> list[tuple[str, str, str]]:
    start = page.index('id="stress-model"')
    table = page[page.index('<table class="data compact model-params">', start):]
    table = table[table.index("<tbody>"):table.index("</table>")]
    rows = re.findall(r"<tr><th>(.*?)</th><td class=\"value\">(.*?)</td><td>(.*?)</td></tr>", table,
                      re.S)
    return [tuple(visible_text(c).strip() for c in r) for r in rows]


def test_the_model_is_prose_and_a_labelled_table_with_units(html, run):
    rows = {p: (v, s) for p, v, s in _model_table(html["en"])}
    stress = run.stress.to_dict()
    assert rows["Stress horizon"][0] == f"{stress['path']['params']['horizon_days']} trading day(s)"
    assert rows["Largest share of daily volume sold a day"][0] == "20% of average daily volume"
    assert rows["Margin-call line (collateral ratio)"] == ("150%", "The platform's published margin-call line")
    assert rows["Liquidation line (collateral ratio)"][0] == "130%"
    assert rows["Price floor: the largest fall forced sales alone can cause"][0] == "90.0%"
    assert rows["Impact coefficient Y"][0] == "1.00 (no unit)"
    assert rows["Price-impact law"][0] == "square-root"
    assert "equity 5.0%" in rows["Stressed daily volatility by asset class"][0]
    assert rows["Interest rate used for interest forgone"][0] == "8.65% a year"
    assert all(source for _, source in rows.values())  # every value says where it comes from
    # no machine key of stress.json is shown as a label or a source
    for label, (value, source) in rows.items():
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|disclosure\.", label + " " + source), label
    prose = visible_text(html["en"][html["en"].index('id="stress-model"'):])[:1500]
    assert "over 10 trading days" in prose and "a square-root price-impact law" in prose


def test_the_chinese_model_table_is_chinese(html):
    rows = _model_table(html["zh"])
    assert len(rows) >= 10
    for label, value, _source in rows:
        assert not re.search(r"[A-Za-z]{3,}", label.replace("Y", "")), label
        assert not re.search(r"[A-Za-z]{3,}", value), value
    values = {p: v for p, v, _ in rows}
    assert values["压力期间"] == "10 个交易日"
    assert values["追保线（维持担保比例）"] == "150%"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_citation_shows_its_confidence(html, lang):
    page = html[lang]
    refs = re.findall(r'<ul class="references">(.*?)</ul>', page, re.S)
    items = [li for ul in refs for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]
    assert items
    assert all('class="muted confidence confidence-' in li for li in items)
    notes = [visible_text(li) for li in items if "杠杆的双重效应" in li]
    # NOTE: the research note is named as a reader of the page's language looks it up.
    named = {"en": "anonymous research note", "zh": "佚名研究报告《杠杆的双重效应》"}[lang]
    assert notes and all(named in n for n in notes)


def test_the_profile_is_named_as_built_in_with_its_hash(run, html):
    doc = findings_document(run)
    profile = doc["run"]["profile"]
    seed = ROOT / "audit" / "packs" / "profiles" / "seed.yaml"
    assert profile == {"name": "seed", "builtin": True, "path": None,
                       "sha256": hashlib.sha256(seed.read_bytes()).hexdigest()}
    assert "rules/profiles" not in json.dumps(doc)
    text = visible_text(html["en"])
    assert "seed (built into platform-audit)" in text
    assert f"sha256 {profile['sha256']}" in text


def test_run_offers_reviewed_by_and_keeps_auditor_hidden():
    from typer.testing import CliRunner

    from audit.cli import app

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "--reviewed-by" in result.output and "--prepared-by" in result.output
    assert "--auditor" not in result.output
