"""Names people type: rule ids and profiles, matched whatever their case, with did-you-mean."""

from __future__ import annotations

from pathlib import Path

from audit.errors import UsageError
from audit.suggest import did_you_mean, fold_match


def find_rule(ruleset, typed: str):
    """The rule ``typed`` names (its id or an alias, in any case: kyc-001 is KYC-001)."""
    names = {r.id: r for r in ruleset.rules}
    names.update({a: r for r in ruleset.rules for a in r.aliases})
    found = names.get(typed) or names.get(fold_match(typed, names) or "")
    if found is None:
        raise UsageError(f"no rule {typed!r}{did_you_mean(typed, [r.id for r in ruleset.rules])}"
                         "; run `audit rules list` to see them")
    return found


def profile_name(value: str | None) -> str | None:
    """``--profile``: a built-in profile in any case (SEED is seed); a name close to one is
    refused with did-you-mean. A path (with a suffix) or any other name passes on unchanged,
    for the loader to find or refuse."""
    if value is None or Path(value).suffix:
        return value
    from audit.rules import PROFILES_DIR

    known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
    if value in known:
        return value
    folded = fold_match(value, known)
    if folded is not None:
        return folded
    hint = did_you_mean(value, known)
    if hint:
        raise UsageError(f"--profile {value!r}: no such profile{hint}; built-in profiles: "
                         f"{', '.join(known)}, or give the path of a profile .yaml file")
    return value
