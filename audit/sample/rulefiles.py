"""What the generator reads from the rule files: which profile enables each rule the seed profile
leaves off (so expected_violations.json can name the profile that finds a plant), and the
severe stress scenario the stress plants aim at."""

from __future__ import annotations

from pathlib import Path

import audit

# NOTE: audit.rules.RULES_DIR and audit.stress.SCENARIOS_DIR name the same folders; importing
# either module costs pydantic, which the generator does not otherwise need.
RULES_DIR = Path(audit.__file__).resolve().parent / "packs"


def severe_scenarios(jurisdiction: str | None = "cn") -> list[tuple[str, dict]]:
    """Name and spec of every scenario marked severe in audit/packs/scenarios that applies to
    ``jurisdiction`` (None: to any) -- what LEV-004/005 read: one stress row each -- in file
    order."""
    import yaml

    out = []
    for path in sorted((RULES_DIR / "scenarios").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        where = spec.get("jurisdictions")
        if spec.get("severe") and (jurisdiction is None or not where or jurisdiction in where):
            out.append((spec["name"], spec))
    if not out:
        raise RuntimeError(f"no severe scenario for {jurisdiction or 'any jurisdiction'} in "
                           "audit/packs/scenarios")
    return out


def concentration_scenario(jurisdiction: str = "cn") -> tuple[str, int]:
    """The severe single-name scenario: its name and the limit-down days its top name takes."""
    for name, spec in severe_scenarios(jurisdiction):
        single = spec.get("single_name")
        if single and int(single.get("top", 1)) == 1:
            return name, int(single["limit_downs"])
    raise RuntimeError(f"no severe single-name scenario for {jurisdiction} in audit/packs/scenarios")


def profile_of(rules_dir: Path = RULES_DIR) -> dict[str, str]:
    """Rules no seed audit runs, by the profile that enables them: every rule whose YAML says
    ``enabled: false``, mapped to the profile (audit/packs/profiles/<name>.yaml) whose ``enable:``
    list names it. A rule two profiles enable is credited to the first by name."""
    import yaml

    out: dict[str, str] = {}
    for path in sorted((rules_dir / "profiles").glob("*.yaml")):
        profile = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in profile.get("enable") or ():
            if rule in out:
                continue
            for rule_path in sorted(rules_dir.glob(f"*/{rule}.yaml")):
                if yaml.safe_load(rule_path.read_text(encoding="utf-8")).get("enabled") is False:
                    out[rule] = path.stem
    return out
