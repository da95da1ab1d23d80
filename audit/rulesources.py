"""Where rule packs and profiles come from: the built-in ones, an auditor's folders
(``--rules DIR``) and installed Python packages (entry points of group ``platform_audit.packs``).

A folder of one's own is laid out like the built-in ``audit/packs``: ``<pack>/pack.yaml`` with
one ``<ID>.yaml`` per rule, and ``profiles/<name>.yaml``. Its packs are added to the built-in
ones and go through the same loader and linter (``audit.rules``); a pack name, rule id, alias
or profile name already taken is an error naming both files, never a silent override. An entry
point names a callable (or a path) that gives such a folder::

    [project.entry-points."platform_audit.packs"]
    acme = "acme_audit_rules:packs_dir"     # def packs_dir() -> pathlib.Path

The hostile-export principle holds: a rules folder inside the export's folder is refused, since
nothing in the data may configure the run that audits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from audit.rules import (
    PROFILES_DIR,
    RULES_DIR,
    Pack,
    Profile,
    RuleFileError,
    RuleSet,
    lint_rule,
    load_pack,
    load_packs,
    load_profile,
    resolve,
)

ENTRY_POINT_GROUP = "platform_audit.packs"
LAYOUT = "<pack>/pack.yaml with one <ID>.yaml per rule, and profiles/<name>.yaml"


class RuleSourceError(RuleFileError):
    """A rules folder or entry point that cannot be used; the message says what to do."""

    code = "rule-source"


@dataclass(frozen=True)
class RuleSource:
    """One folder of packs and profiles of the auditor's own, and where it was named."""

    path: Path
    origin: str  # "--rules" or "entry point NAME"

    def packs(self) -> list[Path]:
        return sorted(p.parent for p in self.path.glob("*/pack.yaml"))

    def profiles(self) -> list[Path]:
        return sorted((self.path / "profiles").glob("*.yaml"))


def rule_sources(rules_dirs: Iterable[Path] | None = None, data_dir: Path | None = None,
                 entry_points: bool = True) -> list[RuleSource]:
    """The auditor's ``--rules`` folders, then every installed entry point's folder, checked:
    each exists, holds packs or profiles, and is not inside ``data_dir``."""
    found = [_checked(Path(d), "--rules", data_dir) for d in rules_dirs or []]
    if entry_points:
        found += [_checked(path, origin, data_dir) for path, origin in _entry_point_dirs()]
    unique: dict[Path, RuleSource] = {}
    for src in found:
        unique.setdefault(src.path, src)
    return list(unique.values())


def _checked(path: Path, origin: str, data_dir: Path | None) -> RuleSource:
    named = f"{origin} {path}" if origin == "--rules" else f"{path} (from {origin})"
    if not path.is_dir():
        raise RuleSourceError(f"{named}: no such folder; give a folder laid out like the "
                              f"built-in packs ({LAYOUT}), or make one with "
                              "`audit rules new ID --rules DIR`")
    resolved = path.resolve()
    if data_dir is not None and resolved.is_relative_to(Path(data_dir).resolve()):
        # NOTE: the export is hostile: rules shipped inside it would let the audited platform
        # choose what it is audited against.
        raise RuleSourceError(f"{named}: the rules folder is inside the export folder "
                              f"{data_dir}; nothing in the export may configure its own audit. "
                              "Keep your rules in a folder of your own, outside the export")
    if resolved == RULES_DIR.resolve():
        raise RuleSourceError(f"{named}: these are the built-in packs, always loaded; give a "
                              "folder of your own")
    src = RuleSource(resolved, origin)
    if not src.packs() and not src.profiles():
        raise RuleSourceError(f"{named}: no rule pack or profile in it; lay it out as "
                              f"{LAYOUT}, or start one with `audit rules new ID --rules {path}`")
    return src


def _entry_point_dirs() -> list[tuple[Path, str]]:
    from importlib.metadata import entry_points

    dirs = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            target: Any = ep.load()
            value = target() if callable(target) else target
        except Exception as err:  # noqa: BLE001 - third-party code; said in one line
            raise RuleSourceError(f"{origin} of group {ENTRY_POINT_GROUP} failed: "
                                  f"{type(err).__name__}: {err}; fix or uninstall the package "
                                  "that declares it") from None
        if not isinstance(value, (str, Path)):
            raise RuleSourceError(f"{origin} gave {type(value).__name__}, not a folder; it must "
                                  "return the path of a folder of rule packs")
        dirs.append((Path(value), origin))
    return dirs


# --- packs and profiles from every source ----------------------------------------------------

def load_all_packs(sources: list[RuleSource]) -> list[Pack]:
    """The built-in packs, then each source's, linted the same way; a name taken twice is an
    error naming both places."""
    packs = load_packs()
    owner = {p.name: f"the built-in pack {p.name}" for p in packs}
    ids = {name: _shown(r.path) for p in packs for r in p.rules for name in [r.id, *r.aliases]}
    for src in sources:
        for folder in src.packs():
            pack = load_pack(folder)
            if pack.name in owner:
                raise RuleSourceError(f"{folder / 'pack.yaml'}:1: pack name {pack.name!r} is "
                                      f"already used by {owner[pack.name]}; rename your pack")
            owner[pack.name] = f"{folder} ({src.origin})"
            for rule in pack.rules:
                for name in [rule.id, *rule.aliases]:
                    # NOTE: rule ids compare without case: KYC-001 and kyc-001 are one rule
                    # to a reader of the report.
                    clash = next((v for k, v in ids.items() if k.upper() == name.upper()), None)
                    if clash:
                        raise RuleSourceError(f"{rule.path}:1: id {name} is already used by "
                                              f"{clash}; give your rule an id of its own (a "
                                              "prefix of your own, e.g. ACME-001)")
                    ids[name] = rule.path
                lint_rule(rule, pack)
            packs.append(pack)
    return packs


def _shown(path: str) -> str:
    """A built-in rule by its id's file name, not by where the package is installed."""
    p = Path(path)
    builtin = p.resolve().is_relative_to(RULES_DIR.resolve())
    return f"the built-in rule {p.stem}" if builtin else path


def profile_names(sources: list[RuleSource]) -> dict[str, Path]:
    """Every profile a name reaches: built-in and the sources', name -> file; a name taken
    twice is an error."""
    names = {p.stem: p for p in sorted(PROFILES_DIR.glob("*.yaml"))}
    for src in sources:
        for path in src.profiles():
            if path.stem in names:
                first = ("the built-in profile" if names[path.stem].parent == PROFILES_DIR
                         else str(names[path.stem]))
                raise RuleSourceError(f"{path}: profile name {path.stem!r} is already used by "
                                      f"{first}; rename your profile file")
            names[path.stem] = path
    return names


def find_profile(name_or_path: str, sources: list[RuleSource]) -> Profile:
    """A profile by name (built-in or in a source's profiles/) or by the path of a file."""
    if Path(name_or_path).suffix or not sources:
        return load_profile(name_or_path)
    names = profile_names(sources)
    if name_or_path not in names:
        raise RuleFileError(f"unknown profile {name_or_path!r}; profiles: "
                            f"{', '.join(sorted(names))}, or give the path of a profile .yaml file")
    return load_profile(str(names[name_or_path]))


def load_ruleset(profile: str, sources: list[RuleSource],
                 overrides: dict[str, Any] | None = None) -> RuleSet:
    """``audit.rules.load_ruleset`` over every source: what a run with ``--rules`` evaluates."""
    return resolve(find_profile(profile, sources), load_all_packs(sources), overrides)
