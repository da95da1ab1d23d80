"""`audit rules ...`: list, explain and self-test the rule packs."""

from __future__ import annotations

import json

import typer

from pathlib import Path
from typing import Optional
from audit.cli.console import summary

from audit.cli.common import EXIT_ERROR, EXIT_FINDINGS, ProfileOpt, RulesOpt, fail, info

app = typer.Typer(help="List, explain, test and scaffold the rule packs.", no_args_is_help=True)


def _ruleset(profile: str, rules: Optional[list[Path]]):
    from audit.rules import RuleFileError
    from audit.rulesources import load_ruleset, rule_sources

    try:
        return load_ruleset(profile, rule_sources(rules))
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)


def _packs_and_profile(profile: str, rules: Optional[list[Path]]):
    """Every pack (built-in and the auditor's) and the profile asked for."""
    from audit.rulesources import find_profile, load_all_packs, rule_sources

    sources = rule_sources(rules)
    return load_all_packs(sources), find_profile(profile, sources)


@app.command("list")
def list_rules(profile: str = ProfileOpt, rules: Optional[list[Path]] = RulesOpt,
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the rules a profile runs, with norms and severity."""
    ruleset = _ruleset(profile, rules)
    rows = [{"id": r.id, "title": r.title, "title_zh": r.title_zh, "pack": r.pack,
             "norms": r.norms, "severity": r.severity, "status": r.status, "table": r.table,
             "confidence": r.confidence, "jurisdictions": r.jurisdictions,
             "effective_from": str(r.effective.from_) if r.effective and r.effective.from_ else None,
             "effective_to": str(r.effective.to) if r.effective and r.effective.to else None}
            for r in ruleset.rules]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['id']:8} {r['severity']:8} {','.join(r['norms']):10} {r['title']}")


@app.command("explain")
def explain(rule_id: str, profile: str = ProfileOpt,
            rules: Optional[list[Path]] = RulesOpt) -> None:
    """Show one rule: what it checks, why, where the requirement comes from, how to fix."""
    from audit.rules import one_line

    from audit.cli.names import find_rule

    ruleset = _ruleset(profile, rules)
    rule = find_rule(ruleset, rule_id)
    typer.echo(f"{rule.id}: {rule.title}" + (f" / {rule.title_zh}" if rule.title_zh else ""))
    typer.echo(f"norms: {', '.join(rule.norms)}   severity: {rule.severity}   pack: {rule.pack}"
               f"   confidence: {rule.confidence}")
    if rule.effective:
        typer.echo(f"in force: {rule.effective.from_ or '...'} to {rule.effective.to or '...'} "
                   f"(by {rule.effective.column})")
    for esc in rule.escalate:
        typer.echo(f"escalates to {esc.to} when {esc.when}")
    typer.echo(f"\nWhy: {rule.rationale.strip()}")
    if rule.rationale_zh:
        typer.echo(f"为何重要: {one_line(rule.rationale_zh, chinese=True)}")
    typer.echo(f"\nChecks table {rule.table}" + (f" where {one_line(rule.filter)}" if rule.filter else ""))
    if rule.disclosure_at:
        typer.echo(f"  against the disclosure in force at: {one_line(rule.disclosure_at)}")
    typer.echo(f"  assert: {one_line(rule.assert_)}")
    for und in rule.undetermined:
        typer.echo(f"  not evaluable when {one_line(und.when)}: {one_line(und.reason)}")
    named = [ex.name for ex in [*rule.examples.passes, *rule.examples.fails] if ex.name]
    if named:
        typer.echo("\nExamples it is tested on:")
        for ex in rule.examples.passes:
            if ex.name:
                typer.echo(f"  - passes: {ex.name}")
        for ex in rule.examples.fails:
            if ex.name:
                typer.echo(f"  - fails: {ex.name}")
    typer.echo("\nReferences:")
    for ref in rule.references:
        typer.echo(f"  - {ref.source}" + (f", {ref.clause}" if ref.clause else "")
                   + f" [{ref.confidence}" + (f"; {ref.jurisdiction} only" if ref.jurisdiction else "") + "]")
    typer.echo(f"\nRemediation: {rule.remediation.strip()}")
    if rule.remediation_zh:
        typer.echo(f"整改要求: {one_line(rule.remediation_zh, chinese=True)}")


_STATUS_TEXT = {"covered": "covered", "partial": "partial", "not_covered": "NOT COVERED"}


@app.command("coverage")
def coverage(profile: str = ProfileOpt, rules: Optional[list[Path]] = RulesOpt,
             as_json: bool = typer.Option(False, "--json", help="Print JSON."),
             strict: bool = typer.Option(False, "--strict", help="Exit 1 when an obligation of "
                                         "the profile is not covered or only partly.")) -> None:
    """Norm -> rules matrix for a profile (a norm with no rule shows as NOT TESTED), then the
    regulatory obligations of the profile's jurisdictions: covered by the rules it runs,
    partial, or NOT COVERED with the data a check needs. Not covered is never passed."""
    from audit.obligations import load_obligations
    from audit.rules import NORM_IDS, RuleFileError, resolve

    try:
        # NOTE: the obligations name rules of every pack, the profile's or not.
        packs, chosen = _packs_and_profile(profile, rules)
        ruleset = resolve(chosen, packs)
        obligations = [ob.under(ruleset) for ob in load_obligations(packs=packs)
                       if ob.applies_to(ruleset.profile)]
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)
    matrix = {n: [r.id for r in ruleset.rules if n in r.norms] for n in NORM_IDS}
    counts = {k: sum(ob["status"] == k for ob in obligations) for k in _STATUS_TEXT}
    if as_json:
        typer.echo(json.dumps({"profile": ruleset.profile.name,
                               "jurisdictions": ruleset.profile.jurisdictions,
                               "norms": matrix, "obligations": obligations,
                               "obligation_counts": counts}, ensure_ascii=False, indent=2))
    else:
        for norm, ids in matrix.items():
            typer.echo(f"{norm:3} {', '.join(ids) if ids else 'NOT TESTED'}")
        places = ", ".join(ruleset.profile.jurisdictions) or "none"
        typer.echo(f"\nObligations under profile {ruleset.profile.name} (jurisdictions: {places}; "
                   f"and the generic ones): {counts['covered']:,} covered, {counts['partial']:,} "
                   f"partial, {counts['not_covered']:,} NOT COVERED (not tested, never passed)")
        for status in _STATUS_TEXT:
            for ob in (o for o in obligations if o["status"] == status):
                _echo_obligation(ob)
    gaps = any(not ids for ids in matrix.values()) or (
        strict and any(ob["status"] != "covered" for ob in obligations))
    raise typer.Exit(EXIT_FINDINGS if gaps else 0)


def _echo_obligation(ob: dict) -> None:
    pad = " " * 4
    typer.echo(f"\n{_STATUS_TEXT[ob['status']]:11}  {ob['id']}: {ob['title']}")
    sources = "; ".join(f"{r['source']}" + (f", {r['clause']}" if r.get("clause") else "")
                        + f" [{r['confidence']}]" for r in ob["references"])
    typer.echo(f"{pad}source: {sources}")
    if ob["rules"]:
        typer.echo(f"{pad}checked by: {', '.join(ob['rules'])}")
    if ob["rules_not_run"]:
        typer.echo(f"{pad}not run under this profile: {', '.join(ob['rules_not_run'])}")
    if ob["status"] != "covered":
        still = "still needs" if ob["rules"] else "needs"
        if ob["needs_columns"]:
            typer.echo(f"{pad}{still} (in the contract): {', '.join(ob['needs_columns'])}")
        for text in ob["needs_missing"]:
            typer.echo(f"{pad}{still} (not in the contract): {text}")


@app.command("test")
def test_rules(profile: str = ProfileOpt, rules: Optional[list[Path]] = RulesOpt) -> None:
    """Run every rule's examples (all packs) with the profile's parameters; exit 1 if any
    misbehaves."""
    from audit.evaluate import check_examples
    from audit.rules import RuleFileError, example_params

    try:
        packs, chosen = _packs_and_profile(profile, rules)
        # NOTE: every rule of every pack, including those the profile leaves off: an example
        # that is wrong is wrong whichever profile is asked for. The parameters are the one
        # merge the tests use too (pack defaults, then the profile's values).
        params = example_params(chosen, packs)
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)
    problems = []
    every = [r for pack in packs for r in pack.rules]
    for rule in every:
        found = check_examples(rule, params)
        cases = len(rule.examples.passes) + len(rule.examples.fails)
        info(f"{'ok  ' if not found else 'FAIL'} {rule.id} ({cases:,} example(s))")
        problems += found
    for p in problems:
        info(f"  {p}")
    summary(f"{len(every) - len({p.split(':')[0] for p in problems}):,} of "
            f"{len(every):,} rules' examples behave under profile {profile}")
    raise typer.Exit(EXIT_FINDINGS if problems else 0)


@app.command("new")
def new_rule(rule_id: str = typer.Argument(..., help="The new rule's id, e.g. ACME-001 (a prefix "
                                           "of your own, a dash, three digits)."),
             rules: Path = typer.Option(Path("rules"), "--rules", help="Your rules folder "
                                        "(created if new); give it to run, validate and "
                                        "rules test with --rules."),
             pack: Optional[str] = typer.Option(None, "--pack", help="The pack to add the rule "
                                                "to (default: the id's prefix in lower case)."),
             norm: str = typer.Option("N4", "--norm", help="The norm it tests (N1-N5, R1-R5)."),
             severity: str = typer.Option("high", "--severity",
                                          help="critical, high, medium or low.")) -> None:
    """Scaffold a rule of your own, with a pass and a fail example that `audit rules test
    --rules DIR` runs green; then edit the TODOs."""
    from audit.rulescaffold import scaffold_rule
    from audit.rules import RuleFileError

    try:
        made = scaffold_rule(rule_id, rules, pack=pack, norm=norm, severity=severity)
    except RuleFileError as err:
        fail(str(err), EXIT_ERROR)
    if made.pack_created:
        info(f"wrote {made.pack_file} (a new pack: edit its title, description and parameters)")
    info(f"wrote {made.rule_file}")
    info("next: edit the TODOs in it (title, references with their confidence, rationale, "
         "remediation and their _zh versions), then the table, filter, assert and the "
         "examples to your requirement (docs/rule-format.md); check it with")
    info(f"  audit rules test --rules {rules}")
    info(f"  audit rules explain {made.rule_file.stem} --rules {rules}")
    info(f"and audit with it: audit run DATA_DIR --out OUT --rules {rules}")
