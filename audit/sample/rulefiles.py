"""What the generator reads from the rule files: which profile enables each rule the seed profile
leaves off (so expected_violations.json can name the profile that finds a plant), and the
severe stress scenario the stress plants aim at."""

from __future__ import annotations

from pathlib import Path

import audit

# NOTE: audit.rules.RULES_DIR and audit.stress.SCENARIOS_DIR name the same folders; importing
# either module costs pydantic, which the generator does not otherwise need.
RULES_DIR = Path(audit.__file__).resolve().parent.parent / "rules"


def severe_scenario() -> tuple[str, dict[str, float]]:
    """Name and shocks of the scenario marked severe in rules/scenarios (what LEV-004/005 read)."""
    import yaml

    for path in sorted((RULES_DIR / "scenarios").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec.get("severe"):
            return spec["name"], dict(spec.get("shocks") or {})
    raise RuntimeError("no severe scenario in rules/scenarios")


def profile_of(rules_dir: Path = RULES_DIR) -> dict[str, str]:
    """Rules no seed audit runs, by the profile that enables them: every rule whose YAML says
    ``enabled: false``, mapped to the profile (rules/profiles/<name>.yaml) whose ``enable:``
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
