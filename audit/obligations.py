"""Obligations: what the law requires of a platform, and which rules check it.

``rules/obligations.yaml`` lists each obligation the toolkit knows of, with its published source,
the rules that check it or the data a check needs. ``audit rules coverage`` and
``docs/rules/obligations.md`` show, under a profile, which are covered, partly covered or not
covered: an obligation counts only through the rules the profile runs, and "not covered" is
never shown as passed. Validated like the rule packs: a problem is ``file:line: problem``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from audit import contract
from audit.rules import (
    RULE_ID,
    RULES_DIR,
    Pack,
    Profile,
    Reference,
    RuleFileError,
    RuleSet,
    _line_of,
    _read_yaml,
    _Strict,
    _validated,
    load_packs,
)

OBLIGATIONS_FILE = RULES_DIR / "obligations.yaml"
OBLIGATION_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


class Needs(_Strict):
    """The data a check of an obligation needs: what the contract holds, what it lacks."""

    columns: list[str] = Field(default_factory=list)  # "table" or "table.column" of the contract
    missing: list[str] = Field(default_factory=list)  # data the contract lacks, in words

    @field_validator("columns")
    @classmethod
    def _in_contract(cls, v: list[str]) -> list[str]:
        for entry in v:
            table_name, _, column = entry.partition(".")
            try:
                known = contract.readable_columns(table_name)
            except KeyError as err:
                raise ValueError(err.args[0]) from None
            if column and column not in known:
                raise ValueError(f"{table_name} has no column {column!r}; say what the contract "
                                 "lacks under `missing:` instead")
        return v

    @field_validator("missing")
    @classmethod
    def _said(cls, v: list[str]) -> list[str]:
        if any(not m.strip() for m in v):
            raise ValueError("an empty entry: say in words what data is missing")
        return v

    @property
    def empty(self) -> bool:
        return not (self.columns or self.missing)


class Obligation(_Strict):
    """One regulatory obligation: its published source, and the rules that check it or the data
    a check needs. Rules are validated against the packs by ``load_obligations``."""

    id: str
    title: str
    title_zh: str
    # generic: an international standard, shown under every profile.
    jurisdictions: list[Literal["cn", "us", "eu", "uk", "generic"]] = Field(min_length=1)
    references: list[Reference] = Field(min_length=1)
    status: Literal["covered", "partial", "not_covered"] = "covered"
    rules: list[str] = Field(default_factory=list)
    # Rules being written for it: not checked against the packs and never counted as coverage.
    planned_rules: list[str] = Field(default_factory=list)
    needs: Needs = Field(default_factory=Needs)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not OBLIGATION_ID.match(v):
            raise ValueError(f"obligation id {v!r} must look like CN-MARGIN-ELIGIBLE (capitals, "
                             "digits and dashes, starting with its jurisdiction)")
        return v

    @field_validator("title", "title_zh")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("rules", "planned_rules")
    @classmethod
    def _rule_ids(cls, v: list[str]) -> list[str]:
        for rid in v:
            if not RULE_ID.match(rid):
                raise ValueError(f"rule id {rid!r} must look like KYC-001 (2-5 capitals, dash, 3 digits)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Obligation":
        if "generic" in self.jurisdictions and len(self.jurisdictions) > 1:
            raise ValueError("`generic` applies everywhere: list it alone")
        for i, ref in enumerate(self.references):
            if not ref.source.strip():
                raise ValueError(f"references.{i}.source is empty: name the published source")
        for place in self.jurisdictions:
            tag = None if place == "generic" else place
            if not any(r.jurisdiction in (None, tag) for r in self.references):
                raise ValueError(f"no reference applies under {place}: add one without "
                                 f"`jurisdiction:` or one for {place}")
        if self.status == "covered" and not (self.rules and self.needs.empty):
            raise ValueError("status covered needs `rules:` and no `needs:` (rules and needs: "
                             "status partial)")
        if self.status == "partial" and not (self.rules and not self.needs.empty):
            raise ValueError("status partial needs both `rules:` and `needs:`")
        if self.status == "not_covered" and (self.rules or self.needs.empty):
            raise ValueError("status not_covered needs `needs:` (the data a check needs) and no "
                             "`rules:`")
        return self

    def applies_to(self, profile: Profile) -> bool:
        """Generic obligations apply everywhere; the others under a profile of theirs."""
        return "generic" in self.jurisdictions or bool(set(self.jurisdictions) & set(profile.jurisdictions))

    def under(self, ruleset: RuleSet) -> dict[str, Any]:
        """The obligation as a profile sees it: covered only through the rules the profile runs
        (rules it leaves off count as not run), with the references cited under it."""
        running = {r.id for r in ruleset.rules}
        run = [r for r in self.rules if r in running]
        not_run = [r for r in self.rules if r not in running]
        if not run:
            status = "not_covered"
        elif not_run or self.status == "partial":
            status = "partial"
        else:
            status = "covered"
        refs = [r for r in self.references
                if r.jurisdiction is None or r.jurisdiction in ruleset.profile.jurisdictions]
        return {"id": self.id, "title": self.title, "title_zh": self.title_zh,
                "jurisdictions": self.jurisdictions, "status": status, "rules": run,
                "rules_not_run": not_run, "planned_rules": self.planned_rules,
                "needs_columns": self.needs.columns, "needs_missing": self.needs.missing,
                "references": [r.model_dump(exclude_none=True) for r in refs]}


class ObligationsFile(_Strict):
    schema_version: Literal[1]
    obligations: list[Obligation] = Field(min_length=1)


def load_obligations(path: Path | None = None, packs: list[Pack] | None = None) -> list[Obligation]:
    """The obligations file (rules/obligations.yaml by default), validated: its rule ids must
    name rules of ``packs`` (every pack by default) that can run in the obligation's
    jurisdictions, and its ids be unique."""
    path = OBLIGATIONS_FILE if path is None else path
    packs = load_packs() if packs is None else packs
    loaded = _validated(ObligationsFile, path)
    by_id = {name: r for p in packs for r in p.rules for name in [r.id, *r.aliases]}
    seen: set[str] = set()

    def fail(loc: tuple[Any, ...], message: str) -> None:
        where = ".".join(str(p) for p in loc)
        ob_id = loaded.obligations[loc[1]].id
        _, node = _read_yaml(path)  # parsed again only to name the line
        raise RuleFileError(f"{path}:{_line_of(node, loc) or 1}: {where} ({ob_id}): {message}")

    for i, ob in enumerate(loaded.obligations):
        if ob.id in seen:
            fail(("obligations", i, "id"), f"obligation id {ob.id} is used twice")
        seen.add(ob.id)
        for j, rid in enumerate(ob.rules):
            rule = by_id.get(rid)
            if rule is None:
                fail(("obligations", i, "rules", j), f"unknown rule {rid!r}; a rule still being "
                     "written goes under `planned_rules:`")
            places = set(ob.jurisdictions) - {"generic"}
            if rule.jurisdictions and places and not places & set(rule.jurisdictions):
                fail(("obligations", i, "rules", j),
                     f"rule {rid} runs only in {', '.join(rule.jurisdictions)}, never under a "
                     f"profile of {', '.join(sorted(places))}")
    return loaded.obligations
