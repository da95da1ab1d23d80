"""Regulatory obligations (rules/obligations.yaml) and `audit rules coverage`: the file is
validated like the rule packs, and an obligation counts as covered under a profile only through
the rules that profile runs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli import app
from audit.obligations import OBLIGATIONS_FILE, load_obligations
from audit.rules import RuleFileError, load_packs, load_profile, resolve

PACKS = load_packs()
OBLIGATIONS = load_obligations(packs=PACKS)
BY_ID = {ob.id: ob for ob in OBLIGATIONS}
RULE_IDS = {r.id for p in PACKS for r in p.rules}

# The coverage gaps G1-G25 of the rules review of 2026-12 and the obligations that record them.
REVIEW_GAPS = {
    "G1": ["CN-COLLATERAL-HAIRCUTS"], "G2": ["CN-MARGIN-SECURITIES-ELIGIBLE"],
    "G3": ["CN-BROKER-SINGLE-COLLATERAL"], "G4": ["CN-MARKET-CONCENTRATION-HALT"],
    "G5": ["CN-MARGIN-ACCOUNT-ELIGIBILITY"], "G6": ["CN-MARGIN-CALL-NOTICE"],
    "G7": ["CN-FORCED-LIQUIDATION"], "G8": ["GEN-FEE-DISCLOSURE"],
    "G9": ["CN-AML-LARGE-VALUE-REPORTS"], "G10": ["GEN-SCREENING-ON-LIST-UPDATE"],
    "G11": ["GEN-CDD-BENEFICIAL-OWNER"], "G12": ["UK-COMPLAINTS", "US-COMPLAINTS"],
    "G13": ["GEN-RECORD-RETENTION", "CN-RECORD-RETENTION", "US-RECORD-RETENTION", "UK-CASS-RECORDS"],
    "G14": ["EU-CFD-NEGATIVE-BALANCE"],
    "G15": ["US-FINRA-PATTERN-DAY-TRADER", "US-FINRA-INTRADAY-MARGIN"],
    "G16": ["US-FINRA-MAINTENANCE", "US-REGT-CALL-PAYMENT-PERIOD"],
    "G17": ["CN-SHORT-MARGIN-RATIO"], "G18": ["CN-WITHDRAWAL-ABOVE-300"],
    "G19": ["US-15C3-3-RESERVE", "UK-CASS-EXTERNAL-RECONCILIATION", "CN-THIRD-PARTY-DEPOSITORY"],
    "G20": ["CN-PROFESSIONAL-EVIDENCE", "EU-PROFESSIONAL-CLIENT"],
    "G21": ["CN-ELDERLY-RECORDED-SALES"], "G22": ["EU-CFD-NO-INCENTIVES"],
    "G23": ["CN-LICENSED-MARGIN-BUSINESS", "EU-CFD-PROVIDER-AUTHORISED"],
    "G24": ["CN-CLIENT-STATEMENTS"], "G25": ["CN-BROKER-EARLY-WARNING"],
}


@cache
def load_ruleset(profile: str):
    return resolve(load_profile(profile), PACKS)


def _coverage(profile: str, *extra: str):
    return CliRunner().invoke(app, ["rules", "coverage", "--profile", profile, *extra])


# --- the file ------------------------------------------------------------------------------

def test_every_review_gap_is_recorded_as_an_obligation():
    missing = {g: ids for g, ids in REVIEW_GAPS.items() if not set(ids) <= set(BY_ID)}
    assert missing == {}


def test_every_rule_that_cites_a_jurisdictions_law_checks_an_obligation():
    checked = {rid for ob in OBLIGATIONS for rid in ob.rules}
    unlisted = [r.id for p in PACKS for r in p.rules
                if (r.jurisdictions or any(ref.jurisdiction for ref in r.references))
                and r.id not in checked]
    # LEV-001 cites ESMA's caps only as the reason for the generic cap; LEV-002, LEV-003 and
    # CLR-002 encode the research note's norms and broker practice (CLR-002 cites 九民纪要 for
    # who bears the loss, not for a duty); CAP-001 cites 15c3-1 as a design.
    assert set(unlisted) <= {"LEV-001", "LEV-002", "LEV-003", "CLR-002", "CAP-001"}, unlisted


def test_obligations_cite_published_sources_with_a_confidence():
    for ob in OBLIGATIONS:
        assert ob.title.strip() and ob.title_zh.strip()
        for ref in ob.references:
            assert ref.source.strip() and ref.confidence in ("primary", "secondary", "derived", "unconfirmed")
            for own in ("domain.md", "norms.md", "review", "issue #", "Seed 003"):
                assert own not in ref.source and own not in (ref.clause or ""), (ob.id, own)


def test_not_covered_obligations_say_what_data_they_need():
    for ob in OBLIGATIONS:
        if ob.status != "covered":
            assert ob.needs.columns or ob.needs.missing, ob.id


def test_planned_rules_are_not_in_the_packs_yet():
    """A planned rule that has landed must move to `rules:` (and the status change with it)."""
    landed = {(ob.id, rid) for ob in OBLIGATIONS for rid in ob.planned_rules if rid in RULE_IDS}
    assert landed == set(), "move these to `rules:` in rules/obligations.yaml"


def _break(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the obligations file with ``old`` replaced; the line the change starts on."""
    text = OBLIGATIONS_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    broken = text.replace(old, new)
    path = tmp_path / "obligations.yaml"
    path.write_text(broken, encoding="utf-8")
    return path, text[:text.index(old)].count("\n") + 1


@pytest.mark.parametrize("old, new, expected", [
    ("rules: [KYC-009]", "rules: [KYC-099]", "rules.0 (GEN-PEP-APPROVAL): unknown rule 'KYC-099'"),
    ("      - source: FATF Recommendation 11 (record keeping)\n        clause:",
     "      - clause:", "references.0.source: Field required"),
    ("    jurisdictions: [uk]\n    references:\n      - source: FCA Handbook DISP",
     "    jurisdictions: [gb]\n    references:\n      - source: FCA Handbook DISP",
     "jurisdictions.0: Input should be 'cn', 'us', 'eu', 'uk' or 'generic' (got 'gb')"),
    ("rules: [SEG-004]", "rules: [LEV-007]",
     "(UK-CASS-ACK-LETTERS): rule LEV-007 runs only in us, never under a profile of uk"),
    ("columns: [capital.date, capital.net_capital]", "columns: [capital.date, capital.net_capitl]",
     "capital has no column 'net_capitl'"),
    ("    rules: [LEV-015]\n", "    rules: [LEV-015]\n    needs: {missing: [a list of X]}\n",
     "status covered needs `rules:` and no `needs:`"),
    ("  - id: US-COMPLAINTS\n", "  - id: US-NET-CAPITAL\n", "obligation id US-NET-CAPITAL is used twice"),
    ('      - source: "FINRA Rule 2264', '      - source: ""\n        clause: "FINRA Rule 2264',
     "source is empty"),
])
def test_malformed_obligations_name_file_line_and_problem(tmp_path, old, new, expected):
    path, line = _break(tmp_path, old, new)
    with pytest.raises(RuleFileError) as err:
        load_obligations(path, PACKS)
    message = str(err.value)
    assert message.count("\n") == 0
    assert expected in message
    assert message.startswith(f"{path}:"), message
    found = int(message[len(str(path)) + 1:].split(":")[0])
    # the line of the change, or of the obligation holding it
    assert line - 12 <= found <= line + new.count("\n"), (found, line, message)


def test_a_broken_obligations_file_is_a_one_line_cli_error(tmp_path, monkeypatch):
    import audit.obligations

    path, _ = _break(tmp_path, "rules: [KYC-009]", "rules: [KYC-099]")
    monkeypatch.setattr(audit.obligations, "OBLIGATIONS_FILE", path)
    result = _coverage("us")
    assert result.exit_code == 2
    assert "unknown rule 'KYC-099'" in result.output


# --- coverage under a profile --------------------------------------------------------------

def _block(text: str, head: str) -> str:
    """The lines of one obligation in `audit rules coverage` text output."""
    block = text[text.index(head):]
    return block[:block.index("\n\n")] if "\n\n" in block else block


def test_us_coverage_lists_finra_obligations_not_covered_with_their_data():
    result = _coverage("us")
    assert result.exit_code == 0, result.output
    text = result.stdout
    complaints = _block(text, "NOT COVERED  US-COMPLAINTS")
    assert "FINRA Rule 4530" in complaints
    assert "needs (not in the contract): a complaints table" in complaints
    regt = _block(text, "NOT COVERED  US-REGT-CALL-PAYMENT-PERIOD")
    assert "needs (in the contract): margin_events.event_type" in regt
    maintenance = _block(text, "partial      US-FINRA-MAINTENANCE")
    assert "FINRA Rule 4210(c)" in maintenance and "checked by: LEV-016, LEV-017, CON-010" in maintenance
    assert "still needs (not in the contract): short positions per security" in maintenance
    assert "partial      US-FINRA-PATTERN-DAY-TRADER" in text
    assert "checked by: LEV-008" in _block(text, "covered      US-FINRA-MIN-EQUITY")
    # another jurisdiction's obligations are not listed under us
    assert "CN-" not in text and "EU-CFD" not in text and "UK-" not in text
    assert "NOT TESTED" not in text  # every norm keeps a rule


def test_coverage_json_gives_status_rules_and_needs():
    result = _coverage("us", "--json")
    data = json.loads(result.stdout)
    assert set(data) >= {"norms", "obligations", "obligation_counts"}
    by_id = {ob["id"]: ob for ob in data["obligations"]}
    assert {ob["status"] for ob in data["obligations"]} <= {"covered", "partial", "not_covered"}
    regt = by_id["US-REGT-CALL-PAYMENT-PERIOD"]
    assert regt["status"] == "not_covered" and regt["rules"] == []
    assert "margin_events.deadline_at" in regt["needs_columns"] and regt["needs_missing"]
    finra = by_id["US-FINRA-MAINTENANCE"]
    assert finra["status"] == "partial" and finra["rules"] == ["LEV-016", "LEV-017", "CON-010"]
    assert finra["needs_missing"]
    assert by_id["US-REGT-INITIAL-MARGIN"] == {**by_id["US-REGT-INITIAL-MARGIN"],
                                               "status": "covered", "rules": ["LEV-007"]}
    assert sum(data["obligation_counts"].values()) == len(data["obligations"])


def test_strict_coverage_fails_on_gaps():
    assert _coverage("us", "--strict").exit_code == 1  # without --strict: 0 (test above)


def test_an_obligation_covered_only_by_a_cn_rule_is_not_covered_under_us(tmp_path):
    path = tmp_path / "obligations.yaml"
    path.write_text(
        "schema_version: 1\nobligations:\n"
        "  - id: GEN-SINGLE-CLIENT\n    title: One client's financing within a share of capital\n"
        "    title_zh: 单一客户融资规模限制\n    jurisdictions: [generic]\n"
        "    references:\n      - {source: a published limit, confidence: secondary}\n"
        "    rules: [CAP-002]\n", encoding="utf-8")
    ob, = load_obligations(path, PACKS)
    us, cn = load_ruleset("us"), load_ruleset("cn")
    assert ob.applies_to(us.profile) and ob.applies_to(cn.profile)
    under_us = ob.under(us)
    assert under_us["status"] == "not_covered" and under_us["rules"] == []
    assert under_us["rules_not_run"] == ["CAP-002"]
    assert ob.under(cn)["status"] == "covered"


def test_rules_a_profile_leaves_off_do_not_count():
    seed, cn = load_ruleset("seed"), load_ruleset("cn")
    ratio = BY_ID["CN-FINANCING-MARGIN-RATIO"]  # LEV-010..012 run under cn, not under seed
    assert ratio.under(cn)["status"] == "covered"
    assert ratio.under(seed)["status"] == "not_covered"
    block = _block(_coverage("seed").stdout, "NOT COVERED  CN-FINANCING-MARGIN-RATIO")
    assert "not run under this profile: LEV-010, LEV-011, LEV-012" in block
    money = BY_ID["CN-CLIENT-FUNDS-SEGREGATED"]  # SEG-007/008 run under cn only
    assert money.under(cn)["status"] == "covered" and money.under(seed)["status"] == "partial"


def test_each_profile_sees_its_own_jurisdictions_and_the_generic_ones():
    for name in ("seed", "cn", "us", "eu"):
        ruleset = load_ruleset(name)
        shown = {ob.id for ob in OBLIGATIONS if ob.applies_to(ruleset.profile)}
        for ob in OBLIGATIONS:
            expected = "generic" in ob.jurisdictions or bool(
                set(ob.jurisdictions) & set(ruleset.profile.jurisdictions))
            assert (ob.id in shown) == expected
        cited = [r for ob in OBLIGATIONS if ob.id in shown for r in ob.under(ruleset)["references"]]
        assert all(r.get("jurisdiction") in (None, *ruleset.profile.jurisdictions) for r in cited)
