"""What the generator reads from the rule files: the severe stress scenario the stress plants
aim at."""

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
