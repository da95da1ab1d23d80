"""Rule packs: every rule is well-formed, its examples behave, and malformed files are named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from audit.evaluate import check_examples
from audit.rules import (
    NORM_IDS, RuleFileError, example_params, load_packs, load_profile, load_ruleset, resolve,
)

RULESET = load_ruleset("seed")
PACKS = load_packs()
ALL_RULES = [r for pack in PACKS for r in pack.rules]
PROFILES = ("seed", "cn", "us", "eu")
# NOTE: the same merge `audit rules test --profile P` uses: pack defaults, then the profile's.
PARAMS = {name: example_params(name, PACKS) for name in PROFILES}
DEFAULTS = PARAMS["seed"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_examples_pass_and_fail_as_declared(rule, profile):
    assert check_examples(rule, PARAMS[profile]) == []


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_has_a_pass_and_a_fail_example(rule):
    assert rule.examples.passes and rule.examples.fails


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_has_the_metadata_an_auditor_needs(rule):
    assert rule.rationale.strip() and rule.remediation.strip()
    assert rule.references and all(ref.source.strip() for ref in rule.references)
    assert rule.title_zh and rule.rationale_zh and rule.remediation_zh  # the Chinese report
    assert Path(rule.path).stem == rule.id


@pytest.mark.parametrize("profile", ["seed", "cn", "us", "eu"])
def test_every_norm_and_risk_source_has_a_rule_in_every_profile(profile):
    covered = {n for r in load_ruleset(profile).rules for n in r.norms}
    assert covered == set(NORM_IDS)


def test_profiles_select_different_rules_and_parameters():
    seed, cn, us, eu = (load_ruleset(p) for p in ("seed", "cn", "us", "eu"))
    ids = {name: {r.id for r in rs.rules} for name, rs in
           (("seed", seed), ("cn", cn), ("us", us), ("eu", eu))}
    assert "LEV-011" in ids["cn"] and "LEV-011" not in ids["seed"]
    assert "LEV-007" in ids["us"] and "LEV-007" not in ids["eu"]
    assert "CLR-006" in ids["eu"] and "CLR-002" not in ids["eu"]
    assert us.params["rehypothecation_limit"] == 1.4 and cn.params["rehypothecation_limit"] == 0


def test_rules_with_unconfirmed_sources_say_so():
    pdt = next(r for r in ALL_RULES if r.id == "LEV-009")
    assert pdt.confidence == "unconfirmed"


def test_rule_ids_are_unique():
    ids = [r.id for r in ALL_RULES]
    assert len(ids) == len(set(ids))


def _break(rules_dir: Path, rule_file: str, old: str, new: str) -> None:
    path = next(rules_dir.glob(f"*/{rule_file}"))
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("rule_file, old, new, expected", [
    ("CON-001.yaml", "severity: high", "severity: urgent", "CON-001.yaml:13: severity"),
    ("CON-001.yaml", "table: margin_events", "tabel: margin_events", "unknown key"),
    ("KYC-001.yaml", "norms: [N1]", "norms: [N9]", "unknown norm id"),
    ("SEG-002.yaml", "amount < 0", "amount < __import__('os')", "unknown function"),
    ("SEG-002.yaml", "amount < 0", "amonut < 0", "unknown column 'amonut'"),
    ("SEG-001.yaml", "@money_tolerance", "@money_tolerence", "unknown parameter @money_tolerence"),
    ("CLR-001.yaml", "title: Every", "title: [Every", "invalid YAML"),
    ("CON-004.yaml", "id: CON-004", "id: con4", "must look like KYC-001"),
])
def test_malformed_rule_files_name_file_line_and_problem(rules_copy, rule_file, old, new, expected):
    _break(rules_copy, rule_file, old, new)
    with pytest.raises(RuleFileError) as err:
        load_packs(rules_copy)
    message = str(err.value)
    assert rule_file in message and expected in message
    assert message.count("\n") == 0


def test_yaml_is_never_executed(rules_copy):
    _break(rules_copy, "CLR-004.yaml", "severity: medium",
           "severity: !!python/object/apply:os.system ['touch /tmp/pwned']")
    with pytest.raises(RuleFileError):
        load_packs(rules_copy)
    assert not Path("/tmp/pwned").exists()


def test_profile_overrides_parameters_without_editing_packs(tmp_path):
    profile = tmp_path / "strict.yaml"
    profile.write_text("schema_version: 1\nname: strict\ndescription: test\n"
                       "parameters: {audit_max_age_days: 30}\ndisable: [KYC-004]\n")
    ruleset = resolve(load_profile(str(profile)), load_packs())
    assert ruleset.params["audit_max_age_days"] == 30
    assert "KYC-004" not in {r.id for r in ruleset.rules}


def test_profile_with_unknown_parameter_is_refused(tmp_path):
    profile = tmp_path / "bad.yaml"
    profile.write_text("schema_version: 1\nname: bad\ndescription: x\nparameters: {nope: 1}\n")
    with pytest.raises(RuleFileError, match="parameter 'nope' is not defined"):
        resolve(load_profile(str(profile)), load_packs())


def test_unknown_profile_name_lists_built_ins():
    with pytest.raises(RuleFileError, match="built-in profiles: cn, eu, seed, us"):
        load_profile("nosuch")


@pytest.mark.parametrize("rows, expected", [
    ([{"test_id": "T1", "run_date": date(2023, 5, 31), "scenario": "s", "shortfall": 0, "net_capital": 1}],
     "failed"),  # 396 days old: no test within the year
    ([{"test_id": "T1", "run_date": date(2023, 7, 1), "scenario": "s", "shortfall": 0, "net_capital": 1}],
     "passed"),  # 365 days: the edge of the interval
    (None, "failed"),  # no stress_tests table at all: nothing shows a test was run
])
def test_own_stress_tests_must_be_recent_and_present(rows, expected):
    from audit.evaluate import Context, evaluate_rule, frame_from_records

    rule = next(r for r in ALL_RULES if r.id == "LEV-015")
    tables = {} if rows is None else {"stress_tests": frame_from_records("stress_tests", rows)}
    result = evaluate_rule(rule, Context.build(tables, {**DEFAULTS, "as_of": date(2024, 6, 30)}))
    assert result.status == expected, result.message


# The research note and the essay the generic norms come from are cited everywhere; any other
# source in Chinese is Chinese law or practice.
GENERIC_CHINESE = ("《杠杆的双重效应》", "赵建")


@pytest.mark.parametrize("profile", ["us", "eu"])
def test_a_foreign_profile_neither_runs_nor_cites_chinese_law(profile):
    ruleset = load_ruleset(profile)
    assert not {r.id for r in ruleset.rules} & {"CAP-002", "CAP-003", "LEV-003", "KYC-005", "CLR-002",
                                               "KYC-010", "LEV-010", "LEV-011", "LEV-012", "OFX-001"}
    for rule in ruleset.rules:
        for ref in rule.references:
            chinese = any("\u4e00" <= ch <= "\u9fff" for ch in ref.source)
            assert not chinese or ref.source.startswith(GENERIC_CHINESE), (rule.id, ref.source)
            assert ref.jurisdiction in (None, *ruleset.profile.jurisdictions), (rule.id, ref.source)


def test_each_jurisdiction_rule_runs_only_under_its_own_profiles():
    for name in ("seed", "cn", "us", "eu"):
        ruleset = load_ruleset(name)
        for rule in ruleset.rules:
            assert not rule.jurisdictions or set(rule.jurisdictions) & set(ruleset.profile.jurisdictions)


def test_a_profile_enabling_another_jurisdictions_rule_is_refused(tmp_path):
    profile = tmp_path / "mixed.yaml"
    profile.write_text("schema_version: 1\nname: mixed\ndescription: x\njurisdictions: [us]\n"
                       "enable: [LEV-011]\n")
    with pytest.raises(RuleFileError, match="LEV-011 applies in cn only, and this profile audits under us"):
        resolve(load_profile(str(profile)), load_packs())
    generic = tmp_path / "generic.yaml"
    generic.write_text("schema_version: 1\nname: generic\ndescription: x\n")
    ids = {r.id for r in resolve(load_profile(str(generic)), load_packs()).rules}
    assert "KYC-001" in ids and not ids & {"CAP-002", "OFX-001", "LEV-007"}
