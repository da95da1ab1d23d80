"""Stress scenarios: the files in rules/scenarios, validated, and shocks derived from index data.

A scenario is a close-to-close price shock (an intraday extreme may be recorded, for information
only) given per asset class, optionally per board of the Chinese exchanges (ChiNext fell further
than the SSE Composite in 2015), as N limit-downs on each board, or as N limit-downs of the book's
largest names alone. Historical scenarios are episodes of the market whose book it is; US
episodes applied to other markets and derived shocks are hypothetical. A scenario may be limited
to the jurisdictions whose books it fits (the profile's `jurisdictions:`)."""

from __future__ import annotations

import importlib.util
import math
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import (
    BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator,
)

from audit import contract
from audit.rules import RULES_DIR, RuleFileError, _validated
from audit.stress.boards import DAILY_LIMIT

SCENARIOS_DIR = RULES_DIR / "scenarios"
ASSET_CLASSES = contract.table("instruments").column("asset_class").allowed
DEFAULT = "default"
KIND_ORDER = ("uniform", "asset_class", "historical", "hypothetical")
BOARDS = tuple(DAILY_LIMIT)  # main, main_st, chinext, star, bse
JURISDICTIONS = ("cn", "us", "eu", "uk")
SAFE_HAVENS = ("bond", "gold")


class ScenarioError(RuleFileError):
    """A scenario file that is malformed or cannot be derived; the message names the file."""



# --- scenarios -------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dates(_Strict):
    start: date
    end: date | None = None


class Derive(_Strict):
    """A shock computed at load time from the daily index data shipped with ``arch``."""

    series: Literal["sp500", "nasdaq"]
    measure: Literal["worst_day", "worst_10_days", "peak_to_trough"]
    start: date
    end: date
    apply_to: list[str] = Field(default_factory=lambda: [DEFAULT], min_length=1)

    @field_validator("apply_to")
    @classmethod
    def _known_classes(cls, value: list[str]) -> list[str]:
        _check_classes(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "Derive":
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must come after start {self.start}")
        return self


class SingleName(_Strict):
    """The ``top`` largest equity/ETF holdings of the book (by share of its value) each fall
    ``limit_downs`` daily limits of their own board: (1 - limit)^N - 1."""

    top: int = Field(ge=1, le=100)
    limit_downs: int = Field(ge=1, le=60)


class Scenario(_Strict):
    """One stress scenario: a close-to-close price shock per asset class (fractions: -0.2 = a
    20% fall), optionally per board, as limit-downs, or on the book's largest names alone."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    # NOTE: the Chinese report shows these; a scenario without them (an auditor's own) is shown
    # there in English, marked as such, rather than refused.
    title_zh: str | None = Field(default=None, min_length=1)
    kind: Literal["uniform", "asset_class", "historical", "hypothetical"]
    source: str = Field(min_length=1)
    source_zh: str | None = Field(default=None, min_length=1)
    confidence: Literal["primary", "secondary", "unconfirmed", "derived"]
    dates: Dates | None = None
    severe: bool = False
    description: str | None = None
    # Where the scenario fits: only under a profile of one of these (empty: everywhere).
    jurisdictions: list[Literal["cn", "us", "eu", "uk"]] = Field(default_factory=list)
    shocks: dict[str, float] = Field(default_factory=dict)
    # Board legs: the shock of an equity or ETF on that board, before its asset-class shock.
    boards: dict[str, float] = Field(default_factory=dict)
    # Every instrument with a daily price limit falls this many limits of its own board.
    limit_downs: int | None = Field(default=None, ge=1, le=60)
    single_name: SingleName | None = None
    # For information only: the intraday extreme of the episode (the shock is close to close).
    intraday: float | None = None
    # Index moves the figures come from, as published (for information and tests).
    index_moves: dict[str, float] = Field(default_factory=dict)
    # Why a historical scenario's bond or gold leg equals its equity leg (else rejected).
    safe_haven_note: str | None = None
    derive: Derive | None = None
    _derivation: dict[str, Any] | None = PrivateAttr(default=None)

    @field_validator("shocks")
    @classmethod
    def _valid_shocks(cls, value: dict[str, float]) -> dict[str, float]:
        _check_classes(list(value))
        _check_fractions(value, "shocks")
        return value

    @field_validator("boards")
    @classmethod
    def _valid_boards(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(BOARDS))
        if unknown:
            raise ValueError(f"unknown board(s) {unknown}; use {', '.join(BOARDS)}")
        _check_fractions(value, "boards")
        return value

    @field_validator("intraday")
    @classmethod
    def _valid_intraday(cls, value: float | None) -> float | None:
        if value is not None:
            _check_fractions({"intraday": value}, "intraday")
        return value

    @model_validator(mode="after")
    def _complete(self) -> "Scenario":
        derived = set(self.derive.apply_to) if self.derive else set()
        both = sorted(derived & set(self.shocks))
        if both:
            raise ValueError(f"{both} set both in shocks and by derive.apply_to; keep one")
        if DEFAULT not in self.shocks and DEFAULT not in derived:
            raise ValueError("shocks needs a `default` (the shock of every class not listed), "
                             "or derive.apply_to must include default")
        if self.kind == "uniform" and (set(self.shocks) - {DEFAULT} or self.boards
                                       or self.limit_downs or self.single_name):
            raise ValueError("a uniform scenario has only a `default` shock; use kind "
                             "asset_class for shocks by class")
        if self.limit_downs and self.boards:
            raise ValueError("give either `limit_downs` (every board falls N of its own "
                             "limits) or `boards` (a shock per board), not both")
        if self.kind == "historical":
            if self.dates is None:
                raise ValueError("a historical scenario needs dates: {start: ..., end: ...}")
            self._check_safe_havens()
        return self

    def _check_safe_havens(self) -> None:
        """A historical file states its bond and gold legs; equal to the equity leg only with
        a `safe_haven_note` saying why (in most equity crashes government bonds rallied)."""
        missing = [c for c in SAFE_HAVENS if c not in self.shocks]
        if missing:
            raise ValueError(f"a historical scenario states its safe-haven legs: add "
                             f"{', '.join(f'shocks.{c}' for c in missing)} from a source, or set "
                             "them with the reason in `safe_haven_note`")
        if self.derive is not None and ("equity" in self.derive.apply_to
                                        or (DEFAULT in self.derive.apply_to
                                            and "equity" not in self.shocks)):
            return  # NOTE: the equity leg is derived at load time; _check_derived_havens runs then
        self._check_havens_differ(self.shock_for("equity"))

    def _check_havens_differ(self, equity: float) -> None:
        copied = [c for c in SAFE_HAVENS if math.isclose(self.shocks[c], equity, abs_tol=1e-12)]
        if copied and not self.safe_haven_note:
            raise ValueError(f"the {' and '.join(copied)} leg equals the equity leg "
                             f"({equity:+.4f}): safe havens are not copied from equities; state "
                             "the leg from a source, or explain it in `safe_haven_note`")

    def applies_to(self, jurisdictions) -> bool:
        """The scenario fits a profile of these jurisdictions (no `jurisdictions:`: all)."""
        return not self.jurisdictions or bool(set(self.jurisdictions) & set(jurisdictions))

    @property
    def derivation(self) -> dict[str, Any] | None:
        """How a derived shock was computed: value, dates and index levels."""
        return self._derivation

    def shock_for(self, asset_class: str | None) -> float:
        return self.shocks.get(asset_class or DEFAULT, self.shocks[DEFAULT])


def _check_fractions(value: dict[str, float], what: str) -> None:
    bad = {k: v for k, v in value.items() if not -1 <= v <= 1 or math.isnan(v)}
    if bad:
        raise ValueError(f"{what} are fractions between -1 and 1 (-0.2 = a 20% fall); got {bad}")


def _check_classes(names: list[str]) -> None:
    unknown = sorted(set(names) - {*ASSET_CLASSES, DEFAULT})
    if unknown:
        raise ValueError(f"unknown asset class(es) {unknown}; use {', '.join(ASSET_CLASSES)} "
                         f"or {DEFAULT}")


def load_scenario(path: Path) -> Scenario:
    """Load, validate and (for ``derive:``) compute one scenario file."""
    try:
        scenario = _validated(Scenario, path)
    except RuleFileError as err:
        raise ScenarioError(str(err)) from None
    if scenario.name != path.stem:
        raise ScenarioError(f"{path}:1: name {scenario.name!r} must match the file name "
                            f"{path.stem!r}")
    if scenario.derive is not None:
        derivation = derive_shock(scenario.derive, where=f"{path}")
        scenario.shocks.update({c: derivation["value"] for c in scenario.derive.apply_to})
        scenario._derivation = derivation
        if scenario.kind == "historical":
            try:
                scenario._check_havens_differ(scenario.shock_for("equity"))
            except ValueError as err:
                raise ScenarioError(f"{path}:1: {err}") from None
    return scenario


def load_scenarios(names: list[str] | None = None, jurisdictions=None,
                   directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    """The named scenarios, or every file of ``directory`` that applies under a profile of
    ``jurisdictions`` (None: every file): uniform, by class, historical, hypothetical.

    Scenarios named explicitly are run as named, whatever their jurisdictions: the auditor chose
    them."""
    available = {p.stem: p for p in sorted(directory.glob("*.yaml"))}
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            from audit.suggest import did_you_mean

            hint = did_you_mean(unknown[0], available)
            raise ScenarioError(f"unknown scenario(s) {unknown}{hint}; known: "
                                f"{', '.join(available) or '(none)'} (files in {directory})")
        return [load_scenario(available[n]) for n in dict.fromkeys(names)]
    scenarios = [load_scenario(p) for p in available.values()]
    if jurisdictions is not None:
        scenarios = [s for s in scenarios if s.applies_to(jurisdictions)]
    return sorted(scenarios, key=lambda s: (KIND_ORDER.index(s.kind), s.name))


# --- shocks derived from the arch package's index data ---------------------------------------

@lru_cache(maxsize=None)
def index_closes(series: str) -> pl.DataFrame:
    """Daily closes (date, close) of ``series`` from the CSV that ``arch.data.<series>.load()``
    reads. The file is located without importing arch, whose statistics stack takes ~2 s."""
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise ScenarioError(f"deriving a shock from {series} needs the `arch` package (it ships "
                            "the daily index data): pip install arch, or give the scenario "
                            "fixed `shocks:` instead of `derive:`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / series / f"{series}.csv.gz"
    if not path.is_file():
        raise ScenarioError(f"the installed arch has no {path.name}; reinstall arch "
                            "(pip install --force-reinstall arch)")
    frame = pl.read_csv(path, columns=["Date", "Close"])
    # NOTE: arch's files write dates as m/d/Y; a day-first parse silently swaps them.
    return (frame.select(pl.col("Date").str.to_date("%m/%d/%Y").alias("date"),
                         pl.col("Close").cast(pl.Float64).alias("close"))
            .drop_nulls().sort("date"))


def derive_shock(spec: Derive, where: str = "scenario") -> dict[str, Any]:
    """The shock ``spec`` describes, with the dates and levels it came from."""
    closes = index_closes(spec.series)
    if spec.measure == "peak_to_trough":
        return _peak_to_trough(closes, spec, where)
    lag = 1 if spec.measure == "worst_day" else 10
    returns = closes.with_columns(
        pl.col("date").shift(lag).alias("from"), pl.col("close").shift(lag).alias("from_level"),
    ).filter(pl.col("date").is_between(spec.start, spec.end), pl.col("from").is_not_null())
    if returns.is_empty():
        raise ScenarioError(f"{where}: {spec.series} has no data between {spec.start} and "
                            f"{spec.end} (the arch data covers 1999-2018)")
    worst = returns.with_columns((pl.col("close") / pl.col("from_level") - 1).alias("r")) \
        .sort(["r", "date"]).row(0, named=True)
    return {"series": spec.series, "measure": spec.measure, "value": worst["r"],
            "from": worst["from"].isoformat(), "to": worst["date"].isoformat(),
            "from_level": worst["from_level"], "to_level": worst["close"]}


def _peak_to_trough(closes: pl.DataFrame, spec: Derive, where: str) -> dict[str, Any]:
    window = closes.filter(pl.col("date").is_between(spec.start, spec.end))
    if window.height < 2:
        raise ScenarioError(f"{where}: {spec.series} has no data between {spec.start} and "
                            f"{spec.end} (the arch data covers 1999-2018)")
    drawdown = window.with_columns((pl.col("close") / pl.col("close").cum_max() - 1).alias("dd"))
    trough = drawdown.sort(["dd", "date"]).row(0, named=True)
    before = window.filter(pl.col("date") <= trough["date"])
    peak = before.sort(["close", "date"], descending=[True, False]).row(0, named=True)
    return {"series": spec.series, "measure": spec.measure, "value": trough["dd"],
            "from": peak["date"].isoformat(), "to": trough["date"].isoformat(),
            "from_level": peak["close"], "to_level": trough["close"]}


