"""Rule packs and profiles: load the YAML, validate it against a versioned model, lint it.

A pack is a folder ``rules/<pack>/`` holding ``pack.yaml`` (metadata and parameters with
defaults) and one ``<ID>.yaml`` per rule. A profile (``rules/profiles/<name>.yaml`` or any
path) chooses packs, overrides parameters and enables or disables rules. Everything is read
with ``yaml`` safe loading and validated by pydantic before anything runs; a problem is
reported as ``file:line: problem`` so the author can go straight to it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from audit import contract
from audit.errors import ConfigError
from audit.expr import ExprError, Scope, compile_expr, names_used
from audit.vocab import DISCLOSURE_PREFIX

SCHEMA_VERSION = 1
RULES_DIR = Path(__file__).resolve().parent / "packs"
PROFILES_DIR = RULES_DIR / "profiles"
NORM_IDS = ("N1", "N2", "N3", "N4", "N5", "R1", "R2", "R3", "R4", "R5")
RULE_ID = re.compile(r"^[A-Z]{2,5}-\d{3}$")

DATE_KIND = "a date YYYY-MM-DD"


class Builtin(BaseModel):
    """A parameter every profile has, whatever packs it selects (the engine reads it too)."""

    default: Any
    description: str
    kind: str | None = None  # what a value must be when the default (None) does not say it


# NOTE: these read the platform's terms the same way in every rule and in the stress analytics,
# so they live here rather than in one pack.
BUILTINS: dict[str, Builtin] = {
    "as_of": Builtin(default=None, kind=DATE_KIND, description="The audit's reference date: the "
                     "last date in the accounts table unless --as-of is given."),
    "trading_calendar": Builtin(default="XSHG", description="Exchange whose sessions count as "
                                "trading days in deadlines (ISO 10383 code: XSHG, XNYS, XLON ...)."),
    "timezone": Builtin(default="Asia/Shanghai", description="Time zone the export's times are "
                        "read in when it does not declare one (IANA name)."),
    "line_inclusive": Builtin(default=False, description="A call or liquidation line is crossed "
                              "at the line (true) or only strictly below it (false); the "
                              "platform's disclosed `line_inclusive` takes precedence."),
    "contract_lines_allowed": Builtin(default=False, description="Per-contract warning and "
                                      "liquidation lines (financings.warning_line / "
                                      "liquidation_line) take precedence over the published ones."),
}
BUILTIN_PARAMS = {name: b.description for name, b in BUILTINS.items()}


class RuleFileError(ConfigError, ValueError):
    """A rule pack, rule or profile file that is malformed; the message names file and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Reference(_Strict):
    source: str  # regulation, standard or seed document
    clause: str | None = None
    source_zh: str | None = None  # zh report: a Chinese source cited in Chinese, or own words
    url: str | None = None
    # NOTE: required: a reader must see whether a finding rests on the law itself (primary), on
    # a reading of it or of practice (secondary), on the toolkit's own model or choice
    # (derived), or on a source still to be confirmed (unconfirmed).
    confidence: Literal["primary", "secondary", "derived", "unconfirmed"]
    # The law of one jurisdiction: cited only under a profile of it (a US report never cites a
    # Chinese measure for a generic rule). None: the rule's generic source, cited everywhere.
    jurisdiction: Literal["cn", "us", "eu", "uk"] | None = None


class AsOf(_Strict):
    # Exact-match columns (same name on both sides); empty for a table of one series (capital).
    by: list[str] = Field(default_factory=list)
    left: str  # expression over the left frame
    right: str  # expression over the joined table (often just a column)
    direction: Literal["backward", "forward", "nearest"] = "backward"


class Join(_Strict):
    table: str
    # NOTE: not `on`: YAML 1.1 reads a bare `on` key as the boolean True.
    keys: dict[str, str] | list[str] | None = None  # left column -> right column
    filter: str | None = None  # applied to the joined table first
    aggregate: dict[str, str] | None = None  # name -> aggregate expression, grouped by `on`
    select: dict[str, str] | None = None  # name -> expression over the joined table
    asof: AsOf | None = None
    # When the joined rows' own expressions read platform.<column>: the time (an expression
    # over the joined table) whose disclosure in force applies to each joined row.
    disclosure_at: str | None = None
    # true: the join only refines the rule (contract lines, contract rates); when the table or a
    # column it reads is not in the export, its columns are NULL instead of the rule stopping.
    optional: bool = False

    @model_validator(mode="after")
    def _one_join_kind(self) -> "Join":
        if (self.keys is None) == (self.asof is None):
            raise ValueError("a join needs exactly one of `keys` or `asof`")
        if self.asof is not None and self.aggregate:
            raise ValueError("an `asof` join picks one row: use `select`, not `aggregate`")
        if not (self.aggregate or self.select):
            raise ValueError("a join must `select` columns or `aggregate` them")
        return self

    @property
    def pairs(self) -> list[tuple[str, str]]:
        if isinstance(self.keys, dict):
            return list(self.keys.items())
        return [(c, c) for c in (self.keys or [])]


class Effective(_Strict):
    """The dates a requirement is in force; records outside them are not checked."""

    column: str  # date or datetime column of the records (after joins and derive)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None  # inclusive


class Undetermined(_Strict):
    """Records the data cannot decide either way: counted as not evaluable, never as passed."""

    when: str  # row expression over the rule's records
    reason: str  # what is missing, in words an auditor can act on
    reason_zh: str | None = None


class Escalation(_Strict):
    """A more severe finding for material violations (a missing million is not a rounding cent)."""

    to: Literal["critical", "high", "medium", "low"]
    when: str  # row expression over the violating records


class Example(_Strict):
    name: str | None = None  # what the case shows ("a call on Friday answered on Monday")
    tables: dict[str, list[dict[str, Any]]]
    params: dict[str, Any] = Field(default_factory=dict)
    violations: int | None = None  # expected count (fail examples; pass examples expect 0)
    not_evaluable: int | None = None  # expected records the data cannot decide


class Examples(_Strict):
    """Cases the rule must get right; each of `pass` and `fail` is one example or a list."""

    pass_: Example | list[Example] = Field(alias="pass")
    fail: Example | list[Example]

    @model_validator(mode="after")
    def _fail_has_violations(self) -> "Examples":
        for ex in self.fails:
            if ex.violations is not None and ex.violations < 1:
                raise ValueError("a fail example must expect at least one violation")
        return self

    @property
    def passes(self) -> list[Example]:
        return self.pass_ if isinstance(self.pass_, list) else [self.pass_]

    @property
    def fails(self) -> list[Example]:
        return self.fail if isinstance(self.fail, list) else [self.fail]


def one_line(text: str, chinese: bool = False) -> str:
    """Folded YAML text on one line. Folding puts a space at every line break; in Chinese
    text only the spaces between two Latin words are kept."""
    words = text.split()
    if not chinese:
        return " ".join(words)
    return "".join(("" if i == 0 or not (w[0].isascii() and words[i - 1][-1].isascii()) else " ") + w
                   for i, w in enumerate(words))


class Rule(_Strict):
    schema_version: Literal[1]
    id: str
    title: str
    title_zh: str | None = None
    norms: list[str] = Field(min_length=1)
    references: list[Reference] = Field(min_length=1)
    severity: Literal["critical", "high", "medium", "low"]
    status: Literal["stable", "preview", "deprecated", "removed"] = "stable"
    enabled: bool = True  # false: runs only where a profile enables it (jurisdiction rules)
    # Where the rule's law applies: it runs only under a profile of one of these jurisdictions
    # (empty: the research note's generic norms, which run everywhere).
    jurisdictions: list[Literal["cn", "us", "eu", "uk"]] = Field(default_factory=list)
    since: str
    aliases: list[str] = Field(default_factory=list)
    rationale: str
    remediation: str
    rationale_zh: str | None = None  # the Chinese report uses these when present
    remediation_zh: str | None = None
    table: str
    when_missing: Literal["not_evaluable", "fail"] = "not_evaluable"
    effective: Effective | None = None
    escalate: list[Escalation] = Field(default_factory=list)  # first match wins
    # Two-stage aggregation: pre_group_by/pre_aggregate first (per client, say), then
    # group_by/aggregate over those rows (per day).
    pre_group_by: list[str] | None = None
    pre_aggregate: dict[str, str] | None = None
    group_by: list[str] | None = None  # aggregate the base table first ([] = whole table)
    aggregate: dict[str, str] | None = None
    # The time whose disclosure in force the records are judged against (an expression over the
    # base records); required when the rule reads platform.<column>.
    disclosure_at: str | None = None
    joins: list[Join] = Field(default_factory=list)
    derive: dict[str, str] = Field(default_factory=dict)  # name -> row expression
    filter: str | None = None  # which rows the rule applies to (after joins and derive)
    assert_: str = Field(alias="assert")
    undetermined: list[Undetermined] = Field(default_factory=list)
    # "table.column" entries the rule copes without (coalesce); any other column it reads that
    # the export lacks makes the rule not evaluable.
    optional: list[str] = Field(default_factory=list)
    key: list[str] | None = None  # identifies a violating record; default: table key
    evidence: list[str] = Field(default_factory=list)  # extra columns shown with a violation
    examples: Examples
    pack: str = ""  # set by the loader
    path: str = ""  # set by the loader
    _inputs: Any = PrivateAttr(default=None)  # rule_inputs(), computed once

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(f"rule id {v!r} must look like KYC-001 (2-5 capitals, dash, 3 digits)")
        return v

    @field_validator("norms")
    @classmethod
    def _known_norms(cls, v: list[str]) -> list[str]:
        unknown = [n for n in v if n not in NORM_IDS]
        if unknown:
            raise ValueError(f"unknown norm id(s) {unknown}; known: {', '.join(NORM_IDS)}")
        return v

    @field_validator("table")
    @classmethod
    def _known_table(cls, v: str) -> str:
        contract.table(v)
        return v

    @model_validator(mode="after")
    def _aggregate_pairs(self) -> "Rule":
        if (self.group_by is None) != (self.aggregate is None):
            raise ValueError("`group_by` and `aggregate` go together")
        if (self.pre_group_by is None) != (self.pre_aggregate is None):
            raise ValueError("`pre_group_by` and `pre_aggregate` go together")
        if self.pre_group_by is not None and self.group_by is None:
            raise ValueError("`pre_group_by` is a first stage: it needs `group_by` after it")
        return self

    @model_validator(mode="after")
    def _cited_everywhere_it_runs(self) -> "Rule":
        # NOTE: a profile shows only the references of its own jurisdiction: a rule must keep at
        # least one source under every profile it can run in.
        places = self.jurisdictions or [None]
        for place in places:
            if not any(r.jurisdiction in (None, place) for r in self.references):
                raise ValueError(f"no reference applies under a profile of {place or 'any other jurisdiction'}: "
                                 "add a generic reference (no `jurisdiction:`) or one for it")
        return self

    @property
    def key_columns(self) -> list[str]:
        if self.key is not None:
            return self.key
        if self.group_by is not None:
            return list(self.group_by)
        return list(contract.table(self.table).key)

    @property
    def tables(self) -> list[str]:
        return [self.table] + [j.table for j in self.joins]

    @property
    def confidence(self) -> str:
        """The weakest confidence among the rule's sources."""
        order = ("unconfirmed", "derived", "secondary", "primary")
        return min((r.confidence for r in self.references), key=order.index)


class Parameter(_Strict):
    default: Any
    description: str
    unit: str | None = None
    description_zh: str | None = None  # the Chinese report's methodology uses these
    unit_zh: str | None = None


class Pack(_Strict):
    schema_version: Literal[1]
    name: str
    title: str
    version: str
    description: str
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)  # filled by the loader, not the file
    sha256: str = ""


class Profile(_Strict):
    schema_version: Literal[1]
    name: str
    description: str
    # The jurisdictions whose law the audit applies: rules written for another one never run
    # and its law is never cited (a US report must not cite a Chinese limit). Empty: only the
    # generic rules run.
    jurisdictions: list[Literal["cn", "us", "eu", "uk"]] = Field(default_factory=list)
    packs: list[str] | Literal["all"] = "all"
    parameters: dict[str, Any] = Field(default_factory=dict)
    enable: list[str] = Field(default_factory=list)  # rules off by default to switch on
    disable: list[str] = Field(default_factory=list)
    enable_only: list[str] | None = None
    path: str = ""


class RuleSet(BaseModel):
    """What a run evaluates: the packs and rules a profile selects, with resolved parameters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    profile: Profile
    packs: list[Pack]
    rules: list[Rule]
    params: dict[str, Any]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id or rule_id in r.aliases:
                return r
        raise KeyError(f"no rule {rule_id!r}; run `audit rules list` to see them")


# --- YAML with line numbers -----------------------------------------------------------------

def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Safe-load ``path`` and keep its node tree so validation errors can name a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleFileError(f"{path}: cannot read ({err}); save it as UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise RuleFileError(f"{path}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise RuleFileError(f"{path}: the YAML is nested too deeply to be a rule, pack or "
                            f"profile file; fix the file") from None
    return data, node


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node on ``loc`` that exists in the YAML tree."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key_node = next((k for k, _ in node.value if k.value == part), None)
                return key_node.start_mark.line + 1 if key_node else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _validated(model: type[BaseModel], source: Path, **extra: Any) -> Any:
    data, node = _read_yaml(source)
    if not isinstance(data, dict):
        raise RuleFileError(f"{source}:1: expected a mapping of keys, got {type(data).__name__}")
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as err:
        # NOTE: a misspelt key shows up twice (unknown key + missing field); name the typo.
        errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        loc = tuple("pass" if p == "pass_" else p for p in first["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(node, loc)
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown key; allowed keys: {', '.join(sorted(_aliases(_model_at(model, loc[:-1]))))}"
        if first["type"] == "literal_error":
            msg = f"{msg} (got {first.get('input')!r})"
        more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
        raise RuleFileError(f"{source}:{line or 1}: {where}: {msg}{more}") from None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model of the mapping at ``loc`` (so an unknown key inside a list entry lists that
    entry's keys); ``model`` itself when the path leaves the models."""
    import typing

    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None)
        if field is None:
            return model
        todo, found = [field.annotation], None
        while todo and found is None:
            t = todo.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                found = t
            else:
                todo += list(typing.get_args(t))
        if found is None:
            return model
        current = found
    return current


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()
            if name not in ("pack", "path", "rules", "sha256")]


# --- loading -------------------------------------------------------------------------------

def load_pack(folder: Path) -> Pack:
    """Load and lint one pack folder."""
    pack_file = folder / "pack.yaml"
    if not pack_file.is_file():
        raise RuleFileError(f"{folder}: not a rule pack (no pack.yaml)")
    pack = _validated(Pack, pack_file)
    digest = hashlib.sha256(pack_file.read_bytes())
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "pack.yaml":
            continue
        rule = _validated(Rule, path, pack=pack.name, path=str(path))
        if path.stem != rule.id:
            raise RuleFileError(f"{path}:1: file name must be the rule id ({rule.id}.yaml)")
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        pack.rules.append(rule)
    pack.sha256 = digest.hexdigest()
    return pack


def load_packs(rules_dir: Path = RULES_DIR) -> list[Pack]:
    """Every pack under ``rules_dir`` (folders holding a pack.yaml), linted as a whole."""
    packs = [load_pack(p.parent) for p in sorted(rules_dir.glob("*/pack.yaml"))]
    seen: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            for name in [rule.id, *rule.aliases]:
                if name in seen:
                    raise RuleFileError(f"{rule.path}:1: id {name} is already used by {seen[name]}")
                seen[name] = rule.path
            lint_rule(rule, pack)
    return packs


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name (``seed``) or a profile YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
            raise RuleFileError(f"unknown profile {name_or_path!r}; built-in profiles: {known}, "
                                "or give the path of a profile .yaml file")
    elif not path.is_file():
        raise RuleFileError(f"{path}: profile file not found")
    return _validated(Profile, path, path=str(path))


def resolve(profile: Profile, packs: list[Pack], overrides: dict[str, Any] | None = None) -> RuleSet:
    """Apply a profile to the packs: select packs and rules, resolve parameters."""
    by_name = {p.name: p for p in packs}
    names = list(by_name) if profile.packs == "all" else profile.packs
    missing = [n for n in names if n not in by_name]
    if missing:
        raise RuleFileError(f"{profile.path}: unknown pack(s) {missing}; known: {sorted(by_name)}")
    chosen = [by_name[n] for n in names]
    defaults = pack_defaults(chosen)
    params = dict(defaults)
    for k, v in profile.parameters.items():
        params[k] = check_parameter(k, v, defaults, f"{profile.path}: parameter")
    for k, v in (overrides or {}).items():
        params[k] = check_parameter(k, v, defaults, "--param")
    by_id = {r.id: r for p in chosen for r in p.rules}
    for rid in [*profile.enable, *profile.disable, *(profile.enable_only or [])]:
        if rid not in by_id:
            raise RuleFileError(f"{profile.path}: unknown rule {rid!r} in enable/disable/enable_only")
    for rid in [*profile.enable, *(profile.enable_only or [])]:
        if not applies(by_id[rid], profile):
            raise RuleFileError(
                f"{profile.path}: rule {rid} applies in {', '.join(by_id[rid].jurisdictions)} only, "
                f"and this profile audits under {', '.join(profile.jurisdictions) or 'no jurisdiction'}: "
                "remove it from the profile, or set the profile's `jurisdictions:`")
    rules = [
        cited_for(r, profile) for p in chosen for r in p.rules
        if r.status != "removed" and r.id not in profile.disable and applies(r, profile)
        and (r.enabled or r.id in profile.enable)
        and (profile.enable_only is None or r.id in profile.enable_only)
    ]
    return RuleSet(profile=profile, packs=chosen, rules=rules, params=params)


def applies(rule: Rule, profile: Profile) -> bool:
    """The rule's law is the profile's: a jurisdiction rule runs only under its own."""
    return not rule.jurisdictions or bool(set(rule.jurisdictions) & set(profile.jurisdictions))


def cited_for(rule: Rule, profile: Profile) -> Rule:
    """The rule as the profile's report cites it: its generic sources and its own
    jurisdiction's law, never another jurisdiction's."""
    refs = [ref for ref in rule.references
            if ref.jurisdiction is None or ref.jurisdiction in profile.jurisdictions]
    if len(refs) == len(rule.references):
        return rule
    return rule.model_copy(update={"references": refs})


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _day(v: Any) -> bool:
    return isinstance(v, date) and not isinstance(v, datetime)


# What a parameter's value must be, named for the user, by the type of its default (bool
# first: True is an int too): (name, the default is one, a value is one).
_KINDS = (
    ("true or false", lambda d: isinstance(d, bool), lambda v: isinstance(v, bool)),
    ("a number", _number, _number),
    (DATE_KIND, _day, _day),
    ("text", lambda d: isinstance(d, str), lambda v: isinstance(v, str) and v.strip() != ""),
)


def check_parameter(name: str, value: Any, defaults: dict[str, Any], where: str) -> Any:
    """``value`` as parameter ``name`` takes it, or a RuleFileError naming the parameter and
    what it expects. ``defaults`` are the selected packs' (``pack_defaults``); ``where`` starts
    the message: the profile file, or ``--param`` for an override on the command line.

    The type is the default's (a number for 400 or 0.5, true or false, a date, text); a
    number YAML reads as text (``1e-3``) is taken as that number.
    """
    if name not in defaults:
        import difflib

        near = difflib.get_close_matches(name, list(defaults), n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise RuleFileError(f"{where} {name!r} is not defined by any selected pack; {hint}"
                            f"known: {', '.join(sorted(defaults))}")
    default = defaults[name]
    builtin = BUILTINS.get(name)
    kind = next((k for k in _KINDS if (builtin and builtin.kind == k[0]) or k[1](default)), None)
    if kind is None or (value is None and default is None):
        return value  # nothing to check against, or "use the default"
    label, _, accepts = kind
    if label == "a number" and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if not accepts(value):
        shown = "nothing" if value is None else repr(value)
        example = "" if default is None else f", like the default {json.dumps(default)}"
        raise RuleFileError(f"{where} {name}: {shown} is not {label}; give {label}{example}")
    if isinstance(value, float) and isinstance(default, int) and value.is_integer():
        value = int(value)  # 1e2 days is 100 days, as the pack's integer default reads
    return value


def pack_defaults(packs: list[Pack]) -> dict[str, Any]:
    """Every parameter the packs (and the engine) define, at its default: the one merge."""
    defaults = {name: b.default for name, b in BUILTINS.items()}
    for pack in packs:
        defaults.update({k: p.default for k, p in pack.parameters.items()})
    return defaults


def example_params(profile: str | Profile = "seed", packs: list[Pack] | None = None) -> dict[str, Any]:
    """The parameters rule examples run with under ``profile``: every pack's defaults (examples of
    rules the profile leaves off run too) with the profile's own values on top."""
    packs = load_packs() if packs is None else packs
    chosen = load_profile(profile) if isinstance(profile, str) else profile
    params = pack_defaults(packs)
    params.update({k: v for k, v in chosen.parameters.items() if k in params})
    return params


def load_ruleset(profile: str = "seed", rules_dir: Path = RULES_DIR,
                 overrides: dict[str, Any] | None = None) -> RuleSet:
    """Load every pack, apply ``profile``: the one call the CLI makes."""
    return resolve(load_profile(profile), load_packs(rules_dir), overrides)


# --- lint: every name an expression uses must exist --------------------------------------

def lint_rule(rule: Rule, pack: Pack) -> None:
    """Check a rule's expressions against the contract columns and the pack's parameters."""
    from audit.calendar import trading_calendar

    known_params = set(pack.parameters) | set(BUILTINS)
    disclosure = set(contract.readable_columns("platform"))
    placeholders = {DISCLOSURE_PREFIX + c for c in disclosure}
    cal = trading_calendar(str(BUILTINS["trading_calendar"].default))

    def check(text: str | None, columns: set[str], where: str, aggregate: bool = False) -> None:
        """Compile ``text`` against placeholder columns: names, functions and arity."""
        if text is None:
            return
        scope = Scope(columns={c: pl.Float64() for c in columns},
                      params={p: 0 for p in known_params}, disclosure_columns=frozenset(disclosure),
                      aggregate=aggregate, calendar=cal, guards=[])
        try:
            compile_expr(text, scope)
        except ExprError as err:
            raise RuleFileError(f"{rule.path}:{_line_in_file(rule.path, where)}: {where}: {err}") from None

    def fail(where: str, message: str) -> None:
        raise RuleFileError(f"{rule.path}:{_line_in_file(rule.path, where)}: {where}: {message}")

    base = set(contract.readable_columns(rule.table))
    columns = set(base)
    if rule.pre_group_by is not None:
        for name, text in (rule.pre_aggregate or {}).items():
            check(text, base, f"pre_aggregate.{name}", aggregate=True)
        if set(rule.pre_group_by) - base:
            fail("pre_group_by", f"unknown column(s) {sorted(set(rule.pre_group_by) - base)}")
        columns = set(rule.pre_group_by) | set(rule.pre_aggregate or {})
    if rule.group_by is not None:
        for name, text in (rule.aggregate or {}).items():
            check(text, columns, f"aggregate.{name}", aggregate=True)
        missing = set(rule.group_by) - columns
        if missing:
            fail("group_by", f"unknown column(s) {sorted(missing)}")
        columns = set(rule.group_by) | set(rule.aggregate or {})
    if rule.disclosure_at:
        check(rule.disclosure_at, columns, "disclosure_at")
        columns |= placeholders
    for i, join in enumerate(rule.joins):
        try:
            right = set(contract.readable_columns(join.table))
        except KeyError as err:
            fail(f"joins.{i}.table", err.args[0])
        if join.disclosure_at:
            check(join.disclosure_at, right, f"joins.{i}.disclosure_at")
            right |= placeholders
        check(join.filter, right, f"joins.{i}.filter")
        for left_col, right_col in join.pairs:
            if left_col not in columns or right_col not in right:
                fail(f"joins.{i}.keys", f"{left_col} -> {right_col} names a column that does not "
                     "exist")
        if join.asof:
            check(join.asof.left, columns, f"joins.{i}.asof.left")
            check(join.asof.right, right, f"joins.{i}.asof.right")
            if not set(join.asof.by) <= (columns & right):
                fail(f"joins.{i}.asof.by", "unknown column")
        for name, text in (join.aggregate or {}).items():
            check(text, right, f"joins.{i}.aggregate.{name}", aggregate=True)
        for name, text in (join.select or {}).items():
            check(text, right, f"joins.{i}.select.{name}")
        columns |= set(join.aggregate or {}) | set(join.select or {})
    for name, text in rule.derive.items():
        check(text, columns, f"derive.{name}")
        columns.add(name)
    check(rule.filter, columns, "filter")
    check(rule.assert_, columns, "assert")
    for i, esc in enumerate(rule.escalate):
        check(esc.when, columns, f"escalate.{i}.when")
    for i, und in enumerate(rule.undetermined):
        check(und.when, columns, f"undetermined.{i}.when")
    for i, entry in enumerate(rule.optional):
        table_name, _, column = entry.partition(".")
        try:
            known = contract.readable_columns(table_name)
        except KeyError as err:
            fail(f"optional.{i}", err.args[0])
        if column not in known:
            fail(f"optional.{i}", f"{table_name} has no column {column!r}")
    if rule.effective and rule.effective.column not in columns:
        fail("effective.column", f"unknown column {rule.effective.column!r}")
    for col in [*rule.key_columns, *rule.evidence]:
        if col not in columns or col in placeholders:
            raise RuleFileError(f"{rule.path}:1: key/evidence column {col!r} is not available; "
                                f"columns here: {', '.join(sorted(columns - placeholders))}")
    for kind, examples in (("pass", rule.examples.passes), ("fail", rule.examples.fails)):
        for example in examples:
            for table_name in example.tables:
                if table_name not in contract.TABLES_BY_NAME and table_name not in contract.DERIVED_BY_NAME:
                    raise RuleFileError(f"{rule.path}:1: examples.{kind}.tables: unknown table "
                                        f"{table_name!r}")


# --- what a rule reads: for "not evaluable" when the export lacks it ----------------------

class Inputs(BaseModel):
    """The tables and columns a rule reads, split by whether it copes without them."""

    required: dict[str, set[str]]
    optional: dict[str, set[str]]

    @property
    def tables(self) -> list[str]:
        return list(self.required)


def rule_inputs(rule: Rule) -> Inputs:
    """Every contract column a rule's expressions read, by table. Computed columns count as
    the columns they are computed from (their ``assumes`` columns as optional)."""
    # NOTE: parsing every expression again for each rule evaluation costs more than the
    # evaluation of a small rule; a rule's inputs never change once it is loaded.
    if rule._inputs is None:
        rule._inputs = _rule_inputs(rule)
    return rule._inputs


def _rule_inputs(rule: Rule) -> Inputs:
    required: dict[str, set[str]] = {rule.table: set()}
    optional: dict[str, set[str]] = {}
    base = set(contract.readable_columns(rule.table))
    defined = set(rule.derive) | set(rule.aggregate or {}) | set(rule.pre_aggregate or {})
    for join in rule.joins:
        defined |= set(join.select or {}) | set(join.aggregate or {})

    def add(target: dict[str, set[str]], table_name: str, cols: set[str]) -> None:
        for col in cols:
            computed = contract.computed_column(table_name, col)
            if computed is None:
                target.setdefault(table_name, set()).add(col)
                continue
            assumed = {c for c, _ in computed.assumes}
            if computed.expression:
                used = names_used(computed.expression)[0] - assumed
                target.setdefault(table_name, set()).update(used)
            optional.setdefault(table_name, set()).update(assumed)
            target.setdefault(table_name, set())

    def left(text: str | None, target: dict[str, set[str]] = required) -> None:
        if text:
            cols, _, disc = names_used(text)
            add(target, rule.table, {c for c in cols if c in base and c not in defined})
            if disc:
                add(target, "platform", disc)

    for col in [*(rule.pre_group_by or []), *(rule.group_by or [])]:
        left(col)
    for text in [*(rule.pre_aggregate or {}).values(), *(rule.aggregate or {}).values(),
                 rule.disclosure_at, *rule.derive.values(), rule.filter, rule.assert_,
                 *(e.when for e in rule.escalate), *(u.when for u in rule.undetermined)]:
        left(text)
    for col in [*rule.evidence, *(rule.key or [])]:
        left(col)
    if rule.effective:
        left(rule.effective.column)
    for join in rule.joins:
        target = optional if join.optional else required
        right_cols: set[str] = set()
        disc: set[str] = set()
        texts = [join.filter, join.disclosure_at, *(join.select or {}).values(),
                 *(join.aggregate or {}).values(), join.asof.right if join.asof else None]
        for text in texts:
            if text:
                cols, _, d = names_used(text)
                right_cols |= cols
                disc |= d
        right_cols |= {r for _, r in join.pairs} | set(join.asof.by if join.asof else [])
        add(target, join.table, right_cols)
        if disc:
            add(target, "platform", disc)
        left_cols = {l for l, _ in join.pairs} | set(join.asof.by if join.asof else [])
        add(required, rule.table, {c for c in left_cols if c in base and c not in defined})
        if join.asof:
            left(join.asof.left)
    for entry in rule.optional:
        table_name, _, column = entry.partition(".")
        if column in required.get(table_name, set()):
            required[table_name].discard(column)
            optional.setdefault(table_name, set()).add(column)
    return Inputs(required=required, optional=optional)


def disclosure_fields(rule: Rule) -> list[str]:
    """platform.<column> names the rule's own records read (not its joined rows')."""
    texts = [rule.filter, rule.assert_, *rule.derive.values(), *(e.when for e in rule.escalate),
             *(u.when for u in rule.undetermined)]
    texts += [j.asof.left for j in rule.joins if j.asof]
    return _disclosure_names(texts)


def join_disclosure_fields(join: Join) -> list[str]:
    texts = [join.filter, *(join.select or {}).values(), *(join.aggregate or {}).values(),
             join.asof.right if join.asof else None]
    return _disclosure_names(texts)


def _disclosure_names(texts: list[str | None]) -> list[str]:
    found: set[str] = set()
    for text in texts:
        if text:
            found |= names_used(text)[2]
    return sorted(found)


def _line_in_file(path: str, where: str) -> int:
    """Line of the key ``where`` (dotted path) in a rule file, for error messages."""
    try:
        _, node = _read_yaml(Path(path))
    except RuleFileError:
        return 1
    loc = tuple(int(p) if p.isdigit() else p for p in where.split("."))
    return _line_of(node, loc) or 1


def pack_hash(packs: list[Pack]) -> str:
    """One fingerprint for the rule packs of a run."""
    return hashlib.sha256("".join(p.sha256 for p in packs).encode()).hexdigest()
