"""`audit rules new ID`: the files of a new rule in a folder of the auditor's own, with a pass and
a fail example that `audit rules test --rules DIR` runs green before anything is edited.

The rule written is a working one (a leverage cap at the opening of each financing) so the
author starts from something the loader, the linter and the examples accept, and changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.rules import NORM_IDS, RULE_ID, RULES_DIR, contract

PACK_TEMPLATE = """\
schema_version: 1
name: {pack}
title: {pack} rules (your own pack)
version: 0.1.0
description: >
  TODO: what this pack checks and on whose authority (the regulation, standard or policy).
# Parameters the pack's rules read by name; a profile or --param name=value overrides them.
parameters:
  {pack}_max_leverage:
    default: 5
    unit: times equity
    description: TODO the highest leverage (position value / equity) allowed at opening.
"""

RULE_TEMPLATE = """\
schema_version: 1
id: {id}
title: TODO one line saying what must be true
title_zh: TODO 一句话说明须满足的要求
norms: [{norm}]
references:
  # NOTE: cite the published source a reader can look up (regulation and article, standard),
  # and how sure the reading is: primary, secondary, derived or unconfirmed.
  - source: "TODO the regulation, standard or policy this rule encodes"
    clause: "TODO article or section"
    confidence: unconfirmed
severity: {severity}
since: 0.1.0
rationale: >
  TODO why a breach matters, in words a regulator would sign.
remediation: >
  TODO what the platform must do about each record listed.
rationale_zh: >
  TODO 同上，中文（--lang zh 的报告使用）。
remediation_zh: >
  TODO 整改要求，中文。
# The base table: one violation is one of its records (docs/data-contract.md lists the
# tables and columns). This example checks every financing's leverage at opening.
table: {table}
filter: "leverage_at_open IS NOT NULL"
assert: "leverage_at_open <= {param}"
evidence: [client_id, account_id, opened_at, leverage_at_open]
examples:
  pass:
    - name: opened at the cap and below it
      tables:
        financings:
          - {{financing_id: F1, client_id: C1, account_id: A1, opened_at: "2024-01-02 10:00:00", leverage_at_open: 5}}
          - {{financing_id: F2, client_id: C2, account_id: A2, opened_at: "2024-01-02 10:00:00", leverage_at_open: 2.5}}
  fail:
    - name: opened above the cap
      tables:
        financings:
          - {{financing_id: F1, client_id: C1, account_id: A1, opened_at: "2024-01-02 10:00:00", leverage_at_open: 8}}
          - {{financing_id: F2, client_id: C2, account_id: A2, opened_at: "2024-01-02 10:00:00", leverage_at_open: 3}}
      violations: 1
"""


@dataclass
class Scaffold:
    rule_file: Path
    pack_file: Path
    pack_created: bool


def pack_name_for(rule_id: str) -> str:
    """The default pack of a rule: its id's prefix, lower case (ACME-001 -> acme)."""
    return rule_id.split("-")[0].lower()


def scaffold_rule(rule_id: str, folder: Path, pack: str | None = None, norm: str = "N4",
                  severity: str = "high") -> Scaffold:
    """Write ``folder/<pack>/<ID>.yaml`` (and the pack's pack.yaml when the pack is new)."""
    from audit.rulesources import RuleSourceError, load_all_packs, rule_sources

    rule_id = rule_id.strip().upper()
    if not RULE_ID.match(rule_id):
        raise RuleSourceError(f"rule id {rule_id!r} must look like ACME-001: 2-5 capitals, a "
                              "dash and three digits; use a prefix of your own")
    norm = norm.strip().upper()
    if norm not in NORM_IDS:
        raise RuleSourceError(f"--norm {norm!r}: use one of {', '.join(NORM_IDS)}")
    if severity not in ("critical", "high", "medium", "low"):
        raise RuleSourceError(f"--severity {severity!r}: use critical, high, medium or low")
    pack = (pack or pack_name_for(rule_id)).strip()
    if not pack.replace("_", "").isalnum() or not pack.isascii():
        raise RuleSourceError(f"--pack {pack!r}: a pack name is letters, digits and _ only")
    folder = Path(folder)
    if folder.resolve().is_relative_to(RULES_DIR.resolve()):
        raise RuleSourceError(f"{folder}: that is the built-in packs' folder; write your rules "
                              "in a folder of your own (--rules DIR)")
    # NOTE: the id must be new among every rule a run would load: built-in, installed, and
    # the folder's own (the folder may not exist yet, or hold no pack).
    others = [folder] if folder.is_dir() and (any(folder.glob("*/pack.yaml"))
                                              or any(folder.glob("profiles/*.yaml"))) else []
    packs = load_all_packs(rule_sources(others))
    taken = {name.upper(): p for p in packs for r in p.rules for name in [r.id, *r.aliases]}
    if rule_id in taken:
        raise RuleSourceError(f"rule id {rule_id} is already used (pack {taken[rule_id].name}); "
                              "choose another number or prefix")
    builtin = {p.name for p in packs if p.rules and Path(p.rules[0].path).resolve()
               .is_relative_to(RULES_DIR.resolve())}
    if pack in builtin:
        raise RuleSourceError(f"--pack {pack}: a built-in pack; your rules go in a pack of your "
                              "own (--pack NAME)")
    pack_dir = folder / pack
    pack_file = pack_dir / "pack.yaml"
    created = not pack_file.exists()
    param = f"@{pack}_max_leverage"
    if not created:
        # NOTE: an existing pack may not define the example's parameter: the rule then reads
        # a number the author replaces.
        existing = next((p for p in packs if p.name == pack), None)
        if existing is None or param[1:] not in existing.parameters:
            param = "5"
    contract.table("financings")  # the example's table must exist in the contract
    pack_dir.mkdir(parents=True, exist_ok=True)
    if created:
        pack_file.write_text(PACK_TEMPLATE.format(pack=pack), encoding="utf-8")
    rule_file = pack_dir / f"{rule_id}.yaml"
    rule_file.write_text(RULE_TEMPLATE.format(id=rule_id, norm=norm, severity=severity,
                                              table="financings", param=param),
                         encoding="utf-8")
    return Scaffold(rule_file=rule_file, pack_file=pack_file, pack_created=created)

