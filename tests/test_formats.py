"""Output formats (audit/formats/): the registry, violations.csv for Excel, SARIF, GitHub and
GitLab annotations, JUnit following --fail-on, and `--json` on stdout with logs on stderr."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from audit.evaluate import RuleResult
from audit.findings import Violation, violations
from audit.formats import EXTRA, FORMATS, Options, default_formats, write_outputs
from audit.formats import github, gitlab, sarif, violations_csv
from audit.formats.located import rule_parameters
from audit.pipeline import run_audit
from audit.sample import generate
from audit.vocab import FAILED, NOT_EVALUABLE

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "=HYPERLINK(\"http://x\")\n::error::forged"


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("export")
    generate(data, accounts=120, seed=5, days=12)
    return data


@pytest.fixture(scope="module")
def run(export):
    return run_audit(export, stress=False)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audit", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_registry_names_every_file_and_the_run_help_lists_the_extra_formats():
    assert set(EXTRA) == {"junit", "sarif", "github", "gitlab"}
    assert default_formats(report=False, stress=False) == ["findings", "violations",
                                                           "data_issues"]
    assert {f.file_name for f in FORMATS.values()} >= {
        "findings.json", "violations.csv", "data_issues.csv", "stress.json", "report.html",
        "report.pdf", "rules.junit.xml", "findings.sarif", "gl-code-quality-report.json"}
    for f in FORMATS.values():
        assert callable(f.writer())
    from typer.testing import CliRunner

    from audit.cli import app

    help_text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "250"}).output
    assert "junit|sarif|github|gitlab" in help_text.replace(" ", "")
    with pytest.raises(ValueError, match="unknown output format"):
        write_outputs(None, Path("."), ["xlsx"])


def test_violations_csv_opens_in_excel_with_keys_titles_parameters_and_evidence(run, tmp_path):
    path = write_outputs(run, tmp_path, ["violations"])["violations"]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM: Excel reads UTF-8
    rows = _csv(path)
    assert len(rows) == sum(r.violations for r in run.results) > 0
    header = list(rows[0])
    assert header[:7] == ["rule_id", "rule_title", "severity", "table", "source_file",
                          "source_row", "key"]
    evidence_columns = [h for h in header if h.startswith("evidence.")]
    assert evidence_columns and header[-1] == "detail"
    titles = {r.rule.id: r.rule.title for r in run.results}
    for row in rows:
        assert row["rule_title"] == titles[row["rule_id"]]
        detail = json.loads(row["detail"])
        # Every single-value evidence item has its own column, with the same value.
        for name, value in detail.items():
            if not isinstance(value, (list, dict)):
                assert row[f"evidence.{name}"] == ("" if value is None else str(value)), name
    # A financing's violation names its client too (the key columns used to stay empty
    # beyond the rule's own key).
    kyc = [r for r in rows if r["rule_id"] == "KYC-002"]
    assert kyc and all(r["financing_id"] and r["client_id"] for r in kyc)
    assert all(r["source_file"] == "financings.csv" and r["source_row"].isdigit() for r in kyc)
    # The threshold a record broke is in its row.
    lev = next(r for r in rows if r["rule_id"] == "LEV-001")
    assert "leverage_cap_retail=" in lev["parameters"]
    assert "as_of=None" not in "".join(r["parameters"] for r in rows)
    # The source row is the record's row in the file a person opens (header = row 1).
    lines = (run.export.root / "financings.csv").read_text(encoding="utf-8").splitlines()
    assert kyc[0]["financing_id"] in lines[int(kyc[0]["source_row"]) - 1]


def _with_hostile_evidence(run):
    """A copy of ``run`` whose first violating record carries a formula and a line break, and
    a personal value (a client's name) as evidence."""
    import copy

    hostile = copy.copy(run)
    hostile.results = list(run.results)
    i = next(i for i, r in enumerate(run.results) if r.status == FAILED and r.records.height)
    r = run.results[i]
    records = r.records.with_columns(pl.lit(HOSTILE).alias("note"),
                                     pl.lit("Zhang Wei").alias("name"))
    hostile.results[i] = RuleResult(r.rule, r.status, checked=r.checked,
                                    violations=r.violations, records=records)
    return hostile, r.rule.id


def test_csv_cells_never_run_as_formulas_and_personal_evidence_is_masked(run, tmp_path):
    hostile, rule_id = _with_hostile_evidence(run)
    rows = _csv(write_outputs(hostile, tmp_path / "m", ["violations"])["violations"])
    first = next(r for r in rows if r["rule_id"] == rule_id)
    assert first["evidence.note"] == "'" + HOSTILE
    assert first["evidence.name"] != "Zhang Wei" and "Zhang Wei" not in first["detail"]
    assert not [c for row in rows for c in row.values() if c and c[0] in "=+-@"
                and not c.lstrip("-").replace(".", "", 1).isdigit()]
    unmasked = _csv(write_outputs(hostile, tmp_path / "u", ["violations"],
                                  Options(mask=False))["violations"])
    assert next(r for r in unmasked if r["rule_id"] == rule_id)["evidence.name"] == "Zhang Wei"


def test_sarif_locates_each_violation_at_its_file_and_row(run, export, tmp_path):
    path = write_outputs(run, tmp_path, ["sarif"], Options(source_root="data"))["sarif"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (srun,) = doc["runs"]
    rules = srun["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.rule.id for r in run.results]
    for descriptor, result in zip(rules, run.results):
        assert descriptor["shortDescription"]["text"] == result.rule.title
        assert descriptor["defaultConfiguration"]["level"] == sarif.LEVEL[result.rule.severity]
        # The published source a reader can look up, where the rule cites one with a link.
        urls = [ref.url for ref in result.rule.references if ref.url]
        assert descriptor.get("helpUri") == (urls[0] if urls else None)
    results = srun["results"]
    assert len(results) == sum(r.violations for r in run.results)
    placed = 0
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        assert len(res["partialFingerprints"]["businessKey/v1"]) == 64
        (loc,) = res["locations"]
        physical = loc.get("physicalLocation")
        if physical and "region" in physical:
            uri = physical["artifactLocation"]["uri"]
            assert uri.startswith("data/") and "uriBaseId" not in physical["artifactLocation"]
            line = (export / uri[len("data/"):]).read_text(encoding="utf-8").splitlines()[
                physical["region"]["startLine"] - 1]
            key = res["properties"]["key"]
            assert all(str(v) in line for k, v in key.items() if k.endswith("_id")), (key, line)
            placed += 1
    assert placed > len(results) / 2
    # An absolute export folder: relative URIs under a base id the run declares.
    doc = sarif.document(run, Options(source_root=str(export)))
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
            for res in doc["runs"][0]["results"] if "physicalLocation" in res["locations"][0]}
    assert uris == {sarif.ROOT_ID}
    assert doc["runs"][0]["originalUriBaseIds"][sarif.ROOT_ID]["uri"].startswith("file://")


def test_sarif_says_a_rule_not_tested(run):
    import copy

    partial = copy.copy(run)
    r = run.results[0]
    partial.results = [RuleResult(r.rule, NOT_EVALUABLE, message="the export has no clients "
                                  "table"), *run.results[1:]]
    notes = sarif.document(partial, Options())["runs"][0]["invocations"][0][
        "toolExecutionNotifications"]
    untested = [x.rule.id for x in partial.results if x.status == NOT_EVALUABLE]
    assert [n["associatedRule"]["id"] for n in notes] == untested and untested[0] == r.rule.id
    assert "no clients table" in notes[0]["message"]["text"]
    assert notes[0]["level"] == ("error" if run.gates(r.rule.severity) else "warning")


def test_fingerprints_come_from_the_rule_and_key_never_the_row(run):
    v = next(violations(run.results))
    moved = Violation(v.result, v.severity, (v.source_row or 0) + 100, v.key, v.evidence)
    assert sarif.fingerprint(moved) == sarif.fingerprint(v)
    other = Violation(v.result, v.severity, v.source_row, {**v.key, "x": 1}, v.evidence)
    assert v.rule.key_columns and sarif.fingerprint(other) == sarif.fingerprint(v)
    issues = gitlab.issues(run, Options(source_root="data"))
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {i["severity"] for i in issues} <= {"critical", "major", "minor", "info"}
    assert all(i["location"]["path"].startswith("data") and i["location"]["lines"]["begin"] >= 1
               for i in issues)


def test_github_annotations_are_escaped_and_follow_fail_on(run):
    hostile, rule_id = _with_hostile_evidence(run)
    out = io.StringIO()
    github.write(hostile, Path("."), Options(source_root="data", stdout=out))
    lines = out.getvalue().splitlines()
    untested = [r for r in run.results if r.status == NOT_EVALUABLE]  # no stress: 3 rules
    assert untested
    assert len(lines) == sum(r.violations for r in run.results) + len(untested)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    forged = [line for line in lines if "forged" in line]
    assert forged and all("%0A::error::forged" in line for line in forged)
    assert "Zhang Wei" not in out.getvalue()
    first = next(line for line in lines if f"title={rule_id}" in line)
    assert "file=data/" in first and ",line=" in first
    low_bar = {l.split(" ", 1)[0] for l in github.lines(run, Options())}
    strict = __import__("copy").copy(run)
    strict.fail_on = "critical"
    levels = {r.rule.id: l.split(" ", 1)[0] for r in run.results if r.status == FAILED
              for l in github.lines(strict, Options()) if f"title={r.rule.id} " in l}
    assert "::error" in low_bar
    for r in run.results:
        if r.status == FAILED and r.rule.id in levels and r.severity != "critical":
            assert levels[r.rule.id] == "::warning", r.rule.id


def test_junit_failures_follow_fail_on(run, tmp_path):
    import copy

    strict = copy.copy(run)
    strict.fail_on = "critical"
    root = ET.parse(write_outputs(strict, tmp_path, ["junit"])["junit"]).getroot()
    gating = [r for r in run.results if r.status == FAILED and r.severity == "critical"]
    below = [r for r in run.results if r.status == FAILED and r.severity != "critical"]
    assert gating and below
    assert int(root.get("failures")) == len(gating) == len(root.findall(".//failure"))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith(below[0].rule.id))
    assert case.find("failure") is None
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert props["status"] == "failed" and props["fail_on"] == "critical"
    assert "below --fail-on critical" in case.find("system-out").text


def test_run_json_goes_to_stdout_and_logs_to_stderr(export, tmp_path):
    result = _cli("run", str(export), "--out", str(tmp_path / "out"), "--no-report",
                  "--no-stress", "--json", "--format", "sarif", "--format", "gitlab")
    summary = json.loads(result.stdout)  # nothing else on stdout
    assert result.returncode == summary["summary"]["exit_code"] == 1
    assert "rules:" in result.stderr and "violation(s)" in result.stderr
    assert set(summary["outputs"]) == {"findings", "violations", "data_issues", "sarif",
                                       "gitlab"}
    assert Path(summary["outputs"]["sarif"]).is_file()
    gh = _cli("run", str(export), "--out", str(tmp_path / "gh"), "--no-report", "--no-stress",
              "--format", "github", "-q")
    assert gh.stdout and all(line.startswith("::") for line in gh.stdout.splitlines())
    both = _cli("run", str(export), "--out", str(tmp_path / "both"), "--no-report", "--json",
                "--format", "github")
    assert both.returncode == 2 and "choose one" in both.stderr
    bad = _cli("run", str(export), "--out", str(tmp_path / "bad"), "--format", "xlsx")
    assert bad.returncode == 2 and "junit" in bad.stderr


def test_rule_parameters_are_the_ones_its_expressions_read(run):
    lev = next(r.rule for r in run.results if r.rule.id == "LEV-001")
    params = rule_parameters(lev, run.ruleset.params)
    assert "leverage_cap_retail" in params and "ratio_tolerance" in params
    assert all(f"@{name}" in lev.model_dump_json(by_alias=True) for name in params)


def test_validate_json_goes_to_stdout(export):
    result = _cli("validate", str(export), "--json")
    document = json.loads(result.stdout)
    assert result.returncode == document["exit_code"]
    assert {t["table"] for t in document["tables"]} >= {"accounts", "clients", "financings"}
    assert document["data_issues"] == len(document["issues"])
    assert "table(s)" in result.stderr


def test_sarif_validates_against_the_sarif_2_1_0_schema(run, tmp_path):
    """Validated against the OASIS schema when one is at hand (SARIF_SCHEMA=<path to
    sarif-schema-2.1.0.json>, and the jsonschema package); the schema is not vendored here."""
    import os

    schema_path = os.environ.get("SARIF_SCHEMA")
    jsonschema = pytest.importorskip("jsonschema")
    if not schema_path or not Path(schema_path).is_file():
        pytest.skip("set SARIF_SCHEMA to the SARIF 2.1.0 JSON schema to run this check")
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema,
                                           format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for root in ("data", str(tmp_path)):
        doc = sarif.document(run, Options(source_root=root))
        assert [e.message for e in validator.iter_errors(doc)] == []


def test_violations_csv_titles_follow_the_language(run):
    _, rows = violations_csv.rows(run, Options(lang="zh"))
    zh = {r.rule.id: r.rule.title_zh for r in run.results if r.rule.title_zh}
    assert zh and all(row["rule_title"] == zh[row["rule_id"]] for row in rows
                      if row["rule_id"] in zh)
