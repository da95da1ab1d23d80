"""The audit report: sections, numbers, masking, hostile input, determinism, JUnit, languages.

Reports are rendered once per module (fixtures) and read back: the PDF with pypdf, the HTML as
text. The synthetic export below is built by hand so the tests know exactly which personal
values and which hostile cells are in it.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import polars as pl
import pytest
from markupsafe import escape

from audit.evaluate import ERROR, NOT_APPLICABLE, NOT_EVALUABLE, RuleResult, evaluate, frame_from_records
from audit.findings import Run
from audit.load import DataIssue, Export, LoadedTable
from audit.rules import load_ruleset

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")

from audit.report import context as report_context  # noqa: E402
from audit.report import pdf as report_pdf  # noqa: E402
from audit.report import render_report  # noqa: E402
from audit.report.i18n import LANGUAGES, catalogue  # noqa: E402
from audit.formats.junit import write_junit  # noqa: E402
from audit.mask import (  # noqa: E402
    mask_bank_account, mask_id_number, mask_issue, mask_name, mask_phone, mask_value,
)

EPOCH = "1700000000"  # 2023-11-14T22:13:20Z
HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_LINK = '<link rel="attachment" href="file:///etc/passwd">'
HOSTILE_SCRIPT = "<script>alert(1)</script>"
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽强", "磊", "军", "洋", "勇"]
KNOWN_NAME = "欧阳娜娜"
KNOWN_ID = "110101199003070011"  # a valid cn_resident_id
BAD_ID = "110101199003070018"  # checksum fails: KYC-004 reports it
KNOWN_PHONE = "13812345678"


# --- a synthetic export -------------------------------------------------------------------------

def _loaded(name: str, frame: pl.DataFrame) -> LoadedTable:
    body = frame.drop("_row").write_csv().encode("utf-8")
    return LoadedTable(name=name, path=Path(f"{name}.csv"), sha256=hashlib.sha256(body).hexdigest(),
                       format="csv", encoding="utf-8", rows_read=frame.height + (name == "clients"),
                       rows_unreadable=int(name == "clients"), frame=frame, issues=[],
                       extra_columns=[], column_map={})


def synthetic_run(hostile: bool = False, accounts: int = 60) -> Run:
    """An export with Chinese names, valid and invalid IDs, leveraged accounts near the call
    line, and (``hostile``) markup in every kind of cell the report shows."""
    import numpy as np

    rng = np.random.default_rng(7)
    start = date(2024, 3, 1)
    name = HOSTILE_IMG if hostile else "示例配资平台有限公司"
    platform = [{"platform_id": "P001", "platform_name": name, "disclosed_at": "2024-01-01",
                 "initial_margin": 0.5, "maintenance_margin": 0.25, "margin_call_ratio": 1.5,
                 "liquidation_ratio": 1.3, "leverage_cap_retail": 5, "leverage_cap_professional": 10,
                 "call_response_hours": 24, "notice_period_hours": 24, "custodian": "某银行",
                 "interest_rate_annual": 0.08, "day_count": 360}]
    clients = []
    for i in range(accounts):
        cid = f"C{i:04d}"
        if hostile and i == 1:
            cid = HOSTILE_IMG
        if hostile and i == 2:
            cid = HOSTILE_LINK
        person = KNOWN_NAME if i == 0 else SURNAMES[i % 10] + GIVEN[(i // 10) % 10]
        if hostile and i == 3:
            person = HOSTILE_SCRIPT
        clients.append({
            "client_id": cid, "name": person, "category": "retail", "id_type": "cn_resident_id",
            "id_number": BAD_ID if i in (0, 5) else KNOWN_ID, "phone": KNOWN_PHONE,
            "bank_account": "6222021234567891234", "onboarded_at": "2024-01-02",
            "verification_status": "pending" if i % 7 == 0 else "verified",
            "verified_at": None if i % 7 == 0 else "2024-01-02",
            "risk_disclosure_signed_at": "2024-01-02", "screening_result": "clear",
            "screened_at": "2024-01-02", "pep": False, "risk_rating": "low",
            "risk_tolerance": "C4", "risk_assessed_at": "2024-01-02",
        })
    rows = []
    for day in range(3):
        for i, c in enumerate(clients):
            lev = float(rng.lognormal(1.0, 0.6))
            equity = float(rng.uniform(50_000, 500_000))
            value = equity * lev
            cash = 0.0
            debt = value - equity
            if i % 13 == 0:  # some accounts under water
                equity = -abs(equity) * 0.1
                debt = value - equity
            rows.append({"date": (start + timedelta(days=day)).isoformat(),
                         "account_id": f"A{i:04d}", "client_id": c["client_id"], "cash": cash,
                         "market_value": round(value, 2), "debt": round(debt, 2),
                         "equity": round(equity, 2), "leverage": lev})
    financings = [{"financing_id": f"F{i:04d}", "account_id": f"A{i:04d}",
                   "client_id": c["client_id"], "opened_at": "2024-02-01 10:00:00",
                   "amount": 100000.0, "equity_at_open": 50000.0,
                   "leverage_at_open": 3.0 if i % 9 else 8.0, "rate_annual": 0.08, "term_days": 90,
                   "product_risk_level": "R3"}
                  for i, c in enumerate(clients)]
    tables = {
        "platform": frame_from_records("platform", platform),
        "clients": frame_from_records("clients", clients),
        "accounts": frame_from_records("accounts", rows),
        "financings": frame_from_records("financings", financings),
    }
    ruleset = load_ruleset("seed")
    results = evaluate(ruleset, tables)
    issues = [DataIssue(file="clients.csv", table="clients", row=7, column="id_number",
                        value=KNOWN_ID, problem="id_number is not valid text"),
              DataIssue(file="accounts.csv", table="accounts", row=9, column="account_id",
                        value=HOSTILE_LINK if hostile else "A9", problem="duplicate key")]
    export = Export(root=Path("synthetic"), tables={n: _loaded(n, f) for n, f in tables.items()},
                    issues=issues, unrecognised_files=["notes.xlsx"])
    return Run(export=export, ruleset=ruleset, results=results, data_issues=issues,
               as_of=date(2024, 3, 3), fail_on="high")


def stress_fixture(hostile: bool = False) -> dict:
    title = HOSTILE_SCRIPT if hostile else "2015 A-share crash"
    return {
        "as_of": "2024-03-03",
        "model": {"impact": "square root", "impact_coefficient": 0.1, "call_line": 1.5},
        "book": {"accounts": 60, "leveraged_accounts": 55, "market_value": 5.1e7, "debt": 3.2e7,
                 "equity": 1.9e7, "near_call": 7,
                 "leverage_histogram": [{"bucket": "0-1x", "accounts": 3},
                                        {"bucket": "1-2x", "accounts": 20}]},
        "scenarios": [
            {"name": "cn_2015", "title": title, "kind": "historical", "source": "SSE 2015",
             "severe": True, "accounts_in_call": 41, "accounts_wiped_out": 12,
             "shortfall": 1234567.89, "spiral_shortfall": 2345678.91, "amplification": 1.9,
             "fire_sale_loss": 1111111.02, "fire_sale_loss_vs_capital": 0.5556,
             "fire_sale_loss_vs_debt": 0.0347, "book_fire_sale_loss_vs_equity": 0.0812,
             "spiral_rounds": 4, "shortfall_vs_capital": 1.17, "max_days_to_liquidate": 6.5,
             "max_days_at_participation": 32.5, "participation": 0.2},
            {"name": "uniform_20", "title": "Uniform fall 20%", "kind": "uniform",
             "source": None, "severe": False, "accounts_in_call": 30, "accounts_wiped_out": 4,
             "shortfall": 0.0, "spiral_shortfall": 300000.0, "amplification": None,
             "fire_sale_loss": 300000.0, "fire_sale_loss_vs_capital": 0.15,
             "spiral_rounds": 2, "shortfall_vs_capital": 0.15, "max_days_to_liquidate": 1.5,
             "max_days_at_participation": 7.5, "participation": 0.2},
        ],
        "spiral": {"scenario": "cn_2015", "rounds": [
            {"round": 1, "accounts_liquidated": 12, "sales_value": 4e6, "avg_price_move": -0.03,
             "cumulative_loss": 1.2e6},
            {"round": 2, "accounts_liquidated": 5, "sales_value": 1e6, "avg_price_move": -0.01,
             "cumulative_loss": 2.3e6}]},
        "concentration": [{"instrument_id": HOSTILE_LINK if hostile else "600519",
                           "share_of_book": 0.21, "days_of_adv": 7.5}],
        "frontier": frontier_fixture(0.0865),
    }


def frontier_fixture(rate: float | None) -> dict:
    """Two scenarios; caps 2x and 3x, then a 50% single-instrument limit."""
    def row(lever, level, accounts, removed, shortfalls):
        return {"lever": lever, "level": level, "accounts_affected": accounts,
                "clients_affected": accounts - 1, "debt_removed": removed,
                "interest_forgone": None if rate is None else round(removed * rate, 2),
                "scenarios": [{"name": n, "shortfall": f, "shortfall_avoided": base - f}
                              for (n, base), f in zip((("cn_2015", 2345678.91),
                                                       ("uniform-40", 3e6)), shortfalls)]}
    return {"interest_rate_annual": rate, "rate_source": "disclosure.interest_rate_annual",
            "scenarios": [{"name": "cn_2015", "title": "2015 A-share crash",
                           "shortfall": 2345678.91},
                          {"name": "uniform-40", "title": "Every holding falls 40%",
                           "shortfall": 3e6}],
            "binding_cap_limit": 4.333333, "caps_not_binding": [5.0],
            "caps_note": "caps of 4.33x and above cannot bind",
            "rows": [row("leverage_cap", 2.0, 21, 4548956.11, (0.0, 1.2e6)),
                     row("leverage_cap", 3.0, 4, 270659.56, (2e6, 2.9e6)),
                     row("concentration_limit", 0.5, 46, 15207626.41, (2.7e5, 6.8e5))]}


# --- rendering once per module ------------------------------------------------------------------

class Rendered:
    """One rendered report: paths, the HTML text and the PDF text (pypdf)."""

    def __init__(self, run: Run, paths: dict[str, Path], fetchers: list | None = None):
        self.run = run
        self.paths = paths
        self.html = paths["html"].read_text(encoding="utf-8") if "html" in paths else ""
        self.reader = pypdf.PdfReader(paths["pdf"]) if "pdf" in paths else None
        self.pages = [p.extract_text() for p in self.reader.pages] if self.reader else []
        self.text = "\n".join(self.pages)
        self.fetchers = fetchers or []


def _render(tmp: Path, run: Run, **kwargs) -> Rendered:
    fetchers = []
    original = report_pdf.make_fetcher

    def recording(allowed, *args, **kw):
        fetcher = original(allowed, *args, **kw)
        fetchers.append(fetcher)
        return fetcher

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.setattr(report_pdf, "make_fetcher", recording)
        paths = render_report(run, tmp, **kwargs)
    return Rendered(run, paths, fetchers)


@pytest.fixture(scope="module")
def en(tmp_path_factory) -> Rendered:
    return _render(tmp_path_factory.mktemp("en"), synthetic_run(), lang="en",
                   prepared_by="Jane Auditor", auditor="Example Audit LLP", stress=stress_fixture())


@pytest.fixture(scope="module")
def zh(tmp_path_factory) -> Rendered:
    return _render(tmp_path_factory.mktemp("zh"), synthetic_run(), lang="zh")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Rendered:
    # mask=False so the hostile client name reaches the page too.
    return _render(tmp_path_factory.mktemp("hostile"), synthetic_run(hostile=True), lang="en",
                   mask=False, prepared_by=HOSTILE_SCRIPT, auditor=HOSTILE_LINK,
                   stress=stress_fixture(hostile=True))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Rendered:
    """The realistic path: `audit sample-data` export, the full pipeline, the stress analytics."""
    sample_mod = pytest.importorskip("audit.sample")
    from audit.pipeline import run_audit

    data = tmp_path_factory.mktemp("sample-data")
    sample_mod.generate(data, accounts=200, seed=7)
    run = run_audit(data)
    stress = None
    try:
        from audit.evaluate import disclosure_row
        from audit.stress import run_stress

        tables = {n: t.frame for n, t in run.export.tables.items()}
        stress = run_stress(tables, disclosure_row(tables), as_of=run.as_of).to_dict()
    except ImportError:
        pass
    return _render(tmp_path_factory.mktemp("sample"), run, lang="en", stress=stress)


# --- sections and numbers ---------------------------------------------------------------------

def test_pdf_has_every_section_with_page_numbers_and_headers(en):
    text = en.text
    for heading in ("Compliance audit report", "Contents", "Executive summary", "Findings",
                    "Leverage and stress", "Stress tests", "Methodology", "Appendix",
                    "A. Input files", "B. Data quality", "C. Rule packs and tool",
                    "D. Every rule and its result"):
        assert heading in text, heading
    n = len(en.pages)
    assert n > 8
    assert f"3 / {n}" in en.pages[2]  # page numbers "page / pages" in the footer
    assert "示例配资平台有限公司" in en.pages[3]  # running header: the platform
    assert "CONFIDENTIAL" in en.pages[0].upper() and "Confidential ·" in en.pages[-1]


def test_cover_names_platform_period_people_and_run(en):
    cover = en.pages[0]
    assert "示例配资平台有限公司" in cover
    assert "2024-02-01 – 2024-03-03" in cover  # first and last activity date
    assert "Jane Auditor" in cover and "Example Audit LLP" in cover
    assert en.run.run_id in cover
    assert "2023-11-14" in cover  # SOURCE_DATE_EPOCH, not today
    flat = " ".join(cover.split())
    assert "Profile seed" in flat
    for pack in en.run.ruleset.packs:
        assert f"{pack.name} {pack.version}" in flat


def test_failed_rules_show_their_counts_and_rates(en):
    failed = [r for r in en.run.results if r.status == "failed"]
    assert failed
    text = " ".join(en.text.split())
    for r in failed:
        assert r.rule.id in text
        assert r.rule.title in text
        assert f"{r.rate:.2%}" in text, r.rule.id  # failure rate in the finding's facts
    kyc = next(r for r in failed if r.rule.id == "KYC-001")
    assert f"{kyc.violations} of {kyc.checked} financings checked" in text  # top findings
    assert kyc.rule.remediation.split()[0] in text


def test_norm_without_evaluated_rule_is_not_tested_never_pass(en):
    from audit.report.context import _scorecard
    from audit.findings import findings_document

    rows = {r["id"]: r for r in _scorecard(findings_document(en.run)["rules"], "high",
                                            report_context.Translator("en"))}
    assert rows["N2"]["mark"] == "not_tested"  # no ledger/custody table in the export
    assert rows["N1"]["mark"] == "fail"
    assert all(r["mark"] != "pass" for r in rows.values() if r["evaluated"] == 0)
    assert "Not tested" in en.text


def test_leverage_section_from_accounts_and_seed_example(en):
    book = report_context.leverage_book(
        {"accounts": en.run.export.tables["accounts"].frame},
        {"margin_call_ratio": 1.5, "liquidation_ratio": 1.3, "leverage_cap_retail": 5},
        date(2024, 3, 3), {})
    assert book["snapshot_date"] == "2024-03-03" and book["accounts"] == 60
    assert sum(b["accounts"] for b in book["histogram"]) == 60
    text = " ".join(en.text.split())
    assert "66,666.67" in text and "33.33%" in text  # V'=D/(1-m), the seed's worked example
    assert "10% wipes out all the equity" in text
    assert f"Snapshot of 2024-03-03: 60 accounts" in text


def test_uniform_fall_arithmetic_matches_the_seed():
    # V=100,000, E=50,000, D=50,000, m=25% -> call line R = 1/(1-m); call after a 33.33% fall.
    frame = pl.DataFrame({"date": [date(2024, 1, 2)], "account_id": ["A"], "cash": [0.0],
                          "market_value": [100_000.0], "debt": [50_000.0], "equity": [50_000.0]})
    book = report_context.leverage_book({"accounts": frame}, {"margin_call_ratio": 1 / 0.75}, None, {})
    near = {row["fall"]: row["accounts"] for row in book["near_call"]}
    assert book["in_call"] == 0 and near[0.20] == 0
    curve = dict(zip(book["curve"]["fall"], book["curve"]["in_call"]))
    assert curve[0.33] == 0 and curve[0.335] == 1
    wiped = dict(zip(book["curve"]["fall"], book["curve"]["wiped_out"]))
    assert wiped[0.495] == 0 and wiped[0.5] == 1  # 2x: wiped out by a 50% fall


def test_stress_section_renders_scenarios_and_vector_charts(en):
    text = " ".join(en.text.split())
    assert "2015 A-share crash" in text and "2,345,679" in text  # spiral shortfall
    assert "117.0%" in text  # shortfall vs capital
    assert en.html.count("data:image/svg+xml;base64,") >= 5  # leverage, falls, 3 stress charts
    assert "Stress analytics not run" not in en.text


def test_stress_figures_are_bounded_money_not_ratios(en):
    text = " ".join(en.text.split())
    assert "Fire-sale loss" in text and "Amplification" not in text
    assert "1.90x" not in text  # the ratio stays in stress.json only
    assert "1,111,111" in text and "55.6% of capital" in text
    assert "300,000" in text  # a spiral loss with no static loss is shown, not "–"
    assert "Days to sell at 20% of volume" in text and "32.5" in text
    assert "Forced sales add 1,111,111 to the shortfall" in text
    assert "3.5% of the book's debt" in text and "8.1% of client equity" in text


def test_cost_of_risk_control_table_and_chart(en):
    text = " ".join(en.text.split())
    assert "The cost of risk control" in text and "8.65%" in text
    assert "Leverage cap 2.00x" in text and "At most 50% in one instrument" in text
    assert "4,548,956" in text and "393,485" in text  # debt removed, interest a year
    assert "avoided 2,345,679" in text  # 2x removes the severe scenario's whole shortfall
    assert "Caps of 4.33x and above are not shown" in text
    assert "Shortfall against what the platform gives up each year" in text  # the chart


def test_cost_of_risk_control_without_a_rate_and_in_chinese(tmp_path):
    stress = {**stress_fixture(), "frontier": frontier_fixture(None)}
    rendered = _render(tmp_path, synthetic_run(accounts=12), lang="zh", formats=("html",),
                       stress=stress)
    assert "风险控制的成本" in rendered.html and "平台未披露年利率" in rendered.html
    assert "杠杆上限 2.00x" in rendered.html and "单一证券不超过 50%" in rendered.html
    context = report_context.stress_view(stress)
    assert context["frontier"]["rate"] is None
    assert all(r["interest_forgone"] is None for r in context["frontier"]["rows"])


def test_without_stress_the_report_says_so(tmp_path):
    rendered = _render(tmp_path, synthetic_run(accounts=12), formats=("html",))
    assert "Stress analytics not run." in rendered.html


def test_partial_stress_results_still_render(tmp_path):
    partial = {"as_of": "2024-03-03", "book": {"accounts": 3},
               "scenarios": [{"name": "only_a_name"}], "spiral": {"rounds": [{"round": 1}]},
               "concentration": [{"instrument_id": "X"}],
               "frontier": {"rows": [{"lever": "leverage_cap", "level": 3}]}}
    rendered = _render(tmp_path, synthetic_run(accounts=12), formats=("html",), stress=partial)
    assert "only_a_name" in rendered.html and "Stress analytics not run." not in rendered.html


def test_many_findings_keep_the_most_severe_in_full(tmp_path):
    run = synthetic_run(accounts=12)
    template = next(r for r in run.results if r.status == "failed" and r.records is not None)
    extra = [RuleResult(template.rule.model_copy(update={"id": f"XTR-{i:03d}", "severity": "low"}),
                        "failed", checked=10, violations=1, records=template.records.head(1))
             for i in range(report_context.DETAILED_FINDINGS)]
    run.results.extend(extra)
    ctx = report_context.build_context(run, report_context.Options())
    assert len(ctx["findings"]) == report_context.DETAILED_FINDINGS
    assert ctx["further_findings"] and all(f["severity"] == "low" for f in ctx["further_findings"])
    assert ctx["evidence_rows"] < report_context.EVIDENCE_ROWS  # the evidence budget is shared
    assert ctx["findings"][0]["severity"] == "critical"


# --- masking ----------------------------------------------------------------------------------

def test_personal_data_masked_in_pdf_and_html(en):
    for text in (en.html, en.text):
        for secret in (KNOWN_NAME, KNOWN_ID, BAD_ID, KNOWN_PHONE, "6222021234567891234"):
            assert secret not in text, secret
    text = " ".join(en.text.split())
    assert mask_name(KNOWN_NAME) in text  # 欧*** next to the evidence it belongs to
    assert mask_id_number(BAD_ID) in text  # KYC-004: the ID that fails its checksum, masked
    assert mask_id_number(KNOWN_ID) in text  # data-quality sample value, masked


def test_no_mask_shows_personal_data_only_when_asked(tmp_path):
    rendered = _render(tmp_path, synthetic_run(accounts=12), formats=("html",), mask=False)
    assert BAD_ID in rendered.html and KNOWN_NAME in rendered.html
    assert "NOT masked" in rendered.html


def test_sample_export_names_and_ids_never_appear_unmasked(sample):
    clients = sample.run.export.tables["clients"].frame
    names = [n for n in clients["name"].drop_nulls().to_list() if len(n) >= 2]
    ids = [i for i in clients["id_number"].drop_nulls().to_list() if len(i) >= 8]
    assert names and ids
    for text in (sample.html, sample.text):
        assert not [n for n in names if n in text]
        assert not [i for i in ids if i in text]
    assert "*" in sample.html  # masked values are shown


def test_sample_report_numbers_match_findings(sample):
    from audit.findings import summary

    s = summary(sample.run)
    text = " ".join(sample.text.split())
    assert re.search(rf"\b{s['rules']}\s*Rules run", text)
    assert re.search(rf"\b{s['failed']}\s*Rules failed", text)
    assert re.search(rf"\b{s['violations']}\s*Violating records", text)
    for r in sample.run.results:
        if r.status == "failed":
            assert f"{r.rule.id}" in text and f"{r.rate:.2%}" in text, r.rule.id
    assert "2025-06-30" in sample.pages[0]  # the sample's last snapshot date


def test_methodology_says_how_time_was_read(sample):
    """The report states the clock, the calendar and the rule that terms are those in force."""
    html = " ".join(unescape(sample.html).split())
    assert "Time: zone, trading days, terms in force" in html
    # the mapping the sample ships is not applied on its own: the seed profile's zone holds
    assert ("Every date-time was read as wall-clock time in Asia/Shanghai (the profile's "
            "default: no zone was named)") in html
    assert "counted on the sessions of XSHG, " in html
    assert "in force when the record happened" in html


def test_mask_functions():
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_id_number("11010119900307002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "+86138****5678"
    assert mask_bank_account("6222 0212 3456 7891 234") == "****1234"
    assert mask_value("client_id", "C1") == "C1"  # not personal: unchanged
    assert mask_value("name", None) is None
    # A ragged clients row quotes the whole line: masked, here and in the problem text.
    row = f"C9,{KNOWN_NAME},{KNOWN_ID}"
    issue = mask_issue({"file": "clients.csv", "table": "clients", "row": 4, "column": None,
                        "value": row, "problem": f"cannot parse {row!r}"})
    assert KNOWN_NAME not in str(issue) and KNOWN_ID not in str(issue)
    plain = {"table": "accounts", "column": None, "value": "A1,2024-01-02", "problem": "x"}
    assert mask_issue(plain) == plain


# --- hostile input -------------------------------------------------------------------------------

def test_hostile_cells_are_text_and_nothing_is_fetched(hostile):
    html = hostile.html
    for raw in (HOSTILE_IMG, HOSTILE_LINK, HOSTILE_SCRIPT):
        assert raw not in html
    assert str(escape(HOSTILE_IMG)) in html  # &lt;img src=&#34;file:///etc/passwd&#34;&gt;
    assert "&lt;img src=" in html and "&lt;script&gt;" in html and "&lt;link rel=" in html
    assert not re.search(r"<(img|link|script)[^>]*file:", html)
    (fetcher,) = hostile.fetchers
    templates = str(report_pdf.TEMPLATES_DIR.resolve())
    for url in fetcher.requested:
        assert url.startswith("data:image/svg+xml;base64,") or \
            url.startswith("file://" + templates), url
    assert fetcher.refused == []
    assert fetcher.requested  # the charts did go through the fetcher
    assert len(hostile.reader.attachments) == 0
    text = " ".join(hostile.text.split())
    assert HOSTILE_IMG in text  # shown as text, on the cover and in the evidence


def test_fetcher_refuses_everything_outside_templates(tmp_path):
    allowed = "data:image/svg+xml;base64,PHN2Zy8+"
    fetcher = report_pdf.make_fetcher({allowed})
    css = report_pdf.TEMPLATES_DIR / "report.css"
    assert fetcher.fetch(css.resolve().as_uri()).read()
    assert fetcher.fetch(allowed).read() == b"<svg/>"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (report_pdf.TEMPLATES_DIR / ".." / "pyproject.toml").resolve()
    for url in ("file:///etc/passwd", outside.as_uri(), "http://127.0.0.1/x",
                "https://example.com/a.png", "data:text/plain;base64,c2VjcmV0",
                css.resolve().as_uri().replace("/report.css", "/../pyproject.toml"),
                "ftp://example.com/f"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 7


def test_markup_that_reaches_the_renderer_still_fetches_nothing(tmp_path):
    # Defence in depth: even raw markup (which autoescape never lets through) cannot read files.
    html = (f"<html><head>{HOSTILE_LINK}<link rel=stylesheet href='file:///etc/passwd'></head>"
            f"<body>{HOSTILE_IMG}<img src='http://127.0.0.1:9/x.png'><p>x</p></body></html>")
    fetcher = report_pdf.make_fetcher(set())
    report_pdf.render_pdf(html, tmp_path / "x.pdf", set(), fetcher=fetcher)
    assert fetcher.refused and all("passwd" in u or "127.0.0.1" in u for u in fetcher.refused)
    assert len(pypdf.PdfReader(tmp_path / "x.pdf").attachments) == 0


# --- determinism, languages, formats ----------------------------------------------------------

def test_same_input_gives_identical_files(en, tmp_path):
    again = _render(tmp_path, en.run, lang="en", prepared_by="Jane Auditor",
                    auditor="Example Audit LLP", stress=stress_fixture())
    assert again.paths["html"].read_bytes() == en.paths["html"].read_bytes()
    assert again.paths["pdf"].read_bytes() == en.paths["pdf"].read_bytes()
    created = en.reader.metadata.creation_date
    assert created.isoformat().startswith("2023-11-14T22:13:20")
    assert en.reader.metadata.modification_date == created


def test_chinese_report_uses_chinese_labels_titles_and_embeds_cjk_font(zh):
    text = zh.text
    for label in ("合规审计报告", "目录", "执行摘要", "审计发现", "杠杆与压力测试", "方法说明", "附录",
                  "机密", "未运行压力测试分析"):
        assert label in text, label
    assert "融资前完成客户身份核验" in text  # KYC-001 title_zh
    assert "Executive summary" not in text
    fonts = set()
    for page in zh.reader.pages[:4]:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("CJK" in f for f in fonts), fonts


def test_chinese_report_gives_rationale_and_remediation_in_chinese(zh):
    html = zh.paths["html"].read_text(encoding="utf-8")
    failed = [r.rule for r in zh.run.results if r.status == "failed"]
    assert failed
    for rule in failed:
        for field in ("rationale", "remediation"):
            chinese = report_context.rule_text(rule, field, "zh")
            assert str(escape(chinese)) in html, (rule.id, field)
            assert str(escape(" ".join(getattr(rule, field).split()))) not in html, (rule.id, field)
    assert "规范要求" in html and "。</p>" in html


def test_chinese_text_from_folded_yaml_loses_line_break_spaces_between_chinese_only():
    from types import SimpleNamespace

    rule = SimpleNamespace(remediation="Fix it.", remediation_zh="对所列客户 完成核验，按 FATF R.10 要求\n在 status 为 'verified' 前禁止融资。")
    assert report_context.rule_text(rule, "remediation", "zh") == "对所列客户完成核验，按FATF R.10要求在status为'verified'前禁止融资。"
    assert report_context.rule_text(rule, "remediation", "en") == "Fix it."


def test_catalogues_match_and_cover_every_template_key():
    en_keys, zh_keys = set(catalogue("en")), set(catalogue("zh"))
    assert en_keys == zh_keys, sorted(en_keys ^ zh_keys)
    used = set()
    for path in report_pdf.TEMPLATES_DIR.rglob("*.j2"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+[a-z_])["']""", path.read_text("utf-8")))
    assert used and used <= en_keys, sorted(used - en_keys)
    for lang in LANGUAGES:
        assert all(isinstance(v, str) and v for v in catalogue(lang).values())


def test_unknown_language_or_format_is_a_clear_error(tmp_path):
    run = synthetic_run(accounts=5)
    with pytest.raises(ValueError, match="language 'fr'"):
        render_report(run, tmp_path, lang="fr")
    with pytest.raises(ValueError, match="docx"):
        render_report(run, tmp_path, formats=("docx",))


def test_missing_weasyprint_names_the_extra_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    with pytest.raises(report_pdf.ReportDependencyError, match=r"platform-audit\[report\]"):
        render_report(synthetic_run(accounts=5), tmp_path, formats=("pdf",))
    assert not (tmp_path / "report.pdf").exists()


# --- JUnit ----------------------------------------------------------------------------------------

def test_junit_has_one_testcase_per_rule(tmp_path):
    run = synthetic_run(accounts=12)
    run.fail_on = "low"  # every rule gates the run (below --fail-on: tests/test_formats.py)
    broken = run.results[0].rule.model_copy(update={"id": "ERR-001"})
    run.results.append(RuleResult(broken, ERROR, message="join is not unique"))
    path = write_junit(run, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(run.results)
    statuses = [r.status for r in run.results]
    assert int(root.get("tests")) == len(run.results)
    assert int(root.get("failures")) == statuses.count("failed") == len(root.findall(".//failure"))
    # A rule that could not run, and those the synthetic export gives nothing to test with.
    errors = statuses.count("error") + statuses.count(NOT_EVALUABLE)
    assert int(root.get("errors")) == errors == len(root.findall(".//error")) >= 1
    assert len(root.findall(".//error[@type='not_evaluable']")) == statuses.count(NOT_EVALUABLE)
    assert int(root.get("skipped")) == statuses.count(NOT_APPLICABLE) == len(root.findall(".//skipped"))
    kyc = next(c for c in cases if c.get("name").startswith("KYC-001"))
    failure = kyc.find("failure")
    assert failure.get("type") == "critical" and "remediation:" in failure.text
    assert KNOWN_NAME not in path.read_text(encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        first = write_junit(run, tmp_path / "a.xml").read_bytes()
        assert write_junit(run, tmp_path / "b.xml").read_bytes() == first


def test_sample_report_contents_fit_on_one_page(sample):
    """The sample fails 37 rules: the contents list every one and still take a single page
    (denser above 30 findings), so the executive summary starts on page 3."""
    headers = [page.splitlines()[:3] for page in sample.pages[:4]]
    assert any("Contents" in line for line in headers[1]), headers[1]
    assert any("Executive summary" in line for line in headers[2]), headers[2]
    assert len(sample.run.results) > 30
