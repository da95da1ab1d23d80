"""Stress tests of a book: scenario shocks, the deleveraging spiral, leverage caps (docs/stress-model.md)."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from audit import contract
from audit.errors import InputError
from audit.evaluate import reference_date
from audit.rules import RULES_DIR, RuleFileError, _validated

SCENARIOS_DIR = RULES_DIR / "scenarios"
ASSET_CLASSES = contract.table("instruments").column("asset_class").allowed
DEFAULT = "default"
KIND_ORDER = ("uniform", "asset_class", "historical")
REQUIRED_TABLES = ("accounts", "positions", "instruments")
FINRA_CALL_LINE = 1 / (1 - 0.25)  # collateral ratio at which E/A = 25% (FINRA 4210(c))
NEAR_CALL_FALL = 0.10  # "near call": a 10% fall of the account's holdings puts it in call
EQUITY_TOL = 0.005  # half a cent: equity at or below this is wiped out (float sums)
CAPS = tuple(range(2, 11))
TOP_N = 10


class ScenarioError(RuleFileError):
    """A scenario file that is malformed or cannot be derived; the message names the file."""


class StressError(InputError, ValueError):
    """An export the stress test cannot run on; the message says what is missing."""


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


class Scenario(_Strict):
    """One stress scenario: a price shock per asset class (fractions: -0.2 = a 20% fall)."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    kind: Literal["uniform", "asset_class", "historical"]
    source: str = Field(min_length=1)
    confidence: Literal["primary", "secondary", "unconfirmed", "derived"]
    dates: Dates | None = None
    severe: bool = False
    description: str | None = None
    shocks: dict[str, float] = Field(default_factory=dict)
    derive: Derive | None = None
    _derivation: dict[str, Any] | None = PrivateAttr(default=None)

    @field_validator("shocks")
    @classmethod
    def _valid_shocks(cls, value: dict[str, float]) -> dict[str, float]:
        _check_classes(list(value))
        bad = {k: v for k, v in value.items() if not -1 <= v <= 1 or math.isnan(v)}
        if bad:
            raise ValueError(f"shocks are fractions between -1 and 1 (-0.2 = a 20% fall); "
                             f"got {bad}")
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
        if self.kind == "uniform" and set(self.shocks) - {DEFAULT}:
            raise ValueError("a uniform scenario has only a `default` shock; use kind "
                             "asset_class for shocks by class")
        if self.kind == "historical" and self.dates is None:
            raise ValueError("a historical scenario needs dates: {start: ..., end: ...}")
        return self

    @property
    def derivation(self) -> dict[str, Any] | None:
        """How a derived shock was computed: value, dates and index levels."""
        return self._derivation

    def shock_for(self, asset_class: str | None) -> float:
        return self.shocks.get(asset_class or DEFAULT, self.shocks[DEFAULT])


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
    return scenario


def load_scenarios(names: list[str] | None = None,
                   directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    """The named scenarios (all of ``directory`` when None): uniform, by class, historical."""
    available = {p.stem: p for p in sorted(directory.glob("*.yaml"))}
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ScenarioError(f"unknown scenario(s) {unknown}; known: "
                                f"{', '.join(available) or '(none)'} (files in {directory})")
        return [load_scenario(available[n]) for n in dict.fromkeys(names)]
    scenarios = [load_scenario(p) for p in available.values()]
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


# --- the impact model and the platform's lines -----------------------------------------------

# Stressed daily volatility by asset class, the sigma of the square-root law. Index and ETF:
# the S&P 500's realised daily volatility from 15 Sep to 31 Dec 2008 in the arch data (4.2%;
# 5.0% in October). The others are toolkit assumptions; see docs/stress-model.md.
STRESSED_DAILY_VOL = {"equity": 0.05, "etf": 0.04, "index": 0.04, "bond": 0.01, "gold": 0.02,
                      "fx": 0.01, "commodity": 0.03, "crypto": 0.08, "other": 0.05}


@dataclass(frozen=True)
class ImpactModel:
    """Price impact of forced sales: psi = Y * sigma * (Q / ADV) ** 0.5 (or ** 1 when linear),
    capped at ``max_impact``; Q is the cumulative units sold in the spiral."""

    kind: Literal["sqrt", "linear"] = "sqrt"
    coefficient: float = 1.0  # Y of the square-root law, of order 1 in the empirical studies
    daily_vol: dict[str, float] = field(default_factory=lambda: dict(STRESSED_DAILY_VOL))
    default_vol: float = 0.05  # classes missing from daily_vol
    alpha: float = 0.5  # share of its own round's impact a seller bears (Cont & Schaanning)
    max_impact: float = 0.9  # price floor: fire sales alone stop at 10% of the shocked price
    max_rounds: int = 100  # guard; a run that hits it is flagged as not converged

    def __post_init__(self) -> None:
        if self.kind not in ("sqrt", "linear"):
            raise StressError(f"impact kind {self.kind!r}: use sqrt or linear")
        if not 0 < self.max_impact <= 1 or not 0 <= self.alpha <= 1 or self.max_rounds < 1:
            raise StressError("impact model: need 0 < max_impact <= 1, 0 <= alpha <= 1 and "
                              "max_rounds >= 1")

    def vol_for(self, asset_class: str) -> float:
        return self.daily_vol.get(asset_class, self.default_vol)

    def impact(self, sold: np.ndarray, adv: np.ndarray, vol: np.ndarray) -> np.ndarray:
        """Fractional price fall of each instrument after ``sold`` units in total."""
        liquid = adv > 0
        days = np.divide(sold, adv, out=np.zeros_like(sold), where=liquid)
        shape = np.sqrt(days) if self.kind == "sqrt" else days
        psi = np.minimum(self.coefficient * vol * shape, self.max_impact)
        # NOTE: no volume means no market: any forced sale goes at the floor price.
        return np.where(liquid, psi, np.where(sold > 0, self.max_impact, 0.0))

    def label(self) -> str:
        """One line naming the model and its parameters, carried by every stress-table row."""
        law = "square-root" if self.kind == "sqrt" else "linear"
        return (f"this toolkit's deleveraging spiral: {law} price impact, Y = {self.coefficient:g}, "
                f"alpha = {self.alpha:g}, price floor {1 - self.max_impact:.0%} of the shocked price")

    def describe(self) -> dict[str, Any]:
        law = "Y*sigma*sqrt(Q/ADV)" if self.kind == "sqrt" else "Y*sigma*(Q/ADV)"
        return {"impact": self.kind, "formula": f"price falls by min({law}, max_impact)",
                "coefficient": self.coefficient, "daily_vol": dict(sorted(self.daily_vol.items())),
                "default_vol": self.default_vol, "alpha": self.alpha,
                "max_impact": self.max_impact, "max_rounds": self.max_rounds,
                "liquidation": "full close-out of accounts at or below the liquidation line",
                "no_adv": "instruments without ADV sell at the floor price (max_impact)",
                "sources": ["Almgren, Thum, Hauptmann & Li (2005); Toth et al. (2011): "
                            "square-root impact", "Cont & Schaanning (2017), Norges Bank WP "
                            "2/2017: fire-sale rounds, alpha = 0.5, price floor",
                            "Greenwood, Landier & Thesmar (2015), JFE 115(3): linear impact"]}


@dataclass(frozen=True)
class Lines:
    """Collateral-ratio lines (assets / debt) at which accounts are called and closed out."""

    call: float
    liquidation: float
    call_source: str
    liquidation_source: str
    inclusive: bool = False  # a line is crossed at the line (True) or only strictly below it

    def crossed(self, assets: np.ndarray, line: float, debt: np.ndarray) -> np.ndarray:
        """Accounts whose collateral ratio has crossed ``line`` (the same boundary the call and
        liquidation rules use)."""
        return assets <= line * debt if self.inclusive else assets < line * debt


def platform_lines(disclosure: dict[str, Any] | None, inclusive: bool = False) -> Lines:
    """The disclosed call and liquidation lines, else the documented defaults; ``inclusive`` is
    the profile's boundary, which the disclosure's ``line_inclusive`` overrides."""
    d = disclosure or {}
    if d.get("line_inclusive") is not None:
        inclusive = bool(d["line_inclusive"])
    if d.get("margin_call_ratio"):
        call, call_source = float(d["margin_call_ratio"]), "disclosure.margin_call_ratio"
    elif d.get("maintenance_margin") is not None and 0 <= d["maintenance_margin"] < 1:
        # equity / assets < m  <=>  assets / debt < 1 / (1 - m)
        call, call_source = 1 / (1 - float(d["maintenance_margin"])), \
            "1 / (1 - disclosure.maintenance_margin)"
    else:
        call, call_source = FINRA_CALL_LINE, "default: FINRA 25% maintenance, 1 / (1 - 0.25)"
    if d.get("liquidation_ratio"):
        liq, liq_source = float(d["liquidation_ratio"]), "disclosure.liquidation_ratio"
    else:
        # NOTE: no disclosed liquidation line: assume a call is not met in a crisis and the
        # account is closed at the call line (no grace period), the conservative reading.
        liq, liq_source = call, "default: the call line (no liquidation line disclosed)"
    return Lines(call=call, liquidation=liq, call_source=call_source, liquidation_source=liq_source,
                 inclusive=inclusive)


# --- the book as arrays ----------------------------------------------------------------------

@dataclass
class Book:
    """The platform's book at the as-of date: accounts and their positions as numpy arrays."""

    account_ids: np.ndarray  # (N,) str, sorted
    cash: np.ndarray  # (N,)
    debt: np.ndarray  # (N,)
    pos_account: np.ndarray  # (P,) index into accounts
    pos_instrument: np.ndarray  # (P,) index into instruments
    pos_units: np.ndarray  # (P,)
    pos_value: np.ndarray  # (P,) market value at the as-of date
    instrument_ids: np.ndarray  # (K,) str, sorted
    asset_class: np.ndarray  # (K,) str
    adv: np.ndarray  # (K,) units per day; 0 = unknown
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def n_accounts(self) -> int:
        return len(self.cash)

    @property
    def n_instruments(self) -> int:
        return len(self.instrument_ids)

    def account_values(self, factor: np.ndarray | None = None) -> np.ndarray:
        """Market value of each account's positions, prices scaled by ``factor`` per instrument."""
        values = self.pos_value if factor is None else self.pos_value * factor[self.pos_instrument]
        return np.bincount(self.pos_account, weights=values, minlength=self.n_accounts)

    def instrument_totals(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.pos_instrument, weights=weights, minlength=self.n_instruments)

    @cached_property
    def held_value(self) -> np.ndarray:
        """The book's market value in each instrument."""
        return self.instrument_totals(self.pos_value)

    @cached_property
    def value_weights(self) -> np.ndarray:
        """Each instrument's share of the book's value: weights of the average price move."""
        total = self.held_value.sum()
        return self.held_value / total if total > 0 else self.held_value

    @cached_property
    def leveraged_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(account, instrument, units, value) of the positions of accounts with debt.

        Accounts without debt owe the platform nothing and can never be closed out, and no one
        else trades in this model, so the spiral only carries these positions."""
        keep = (self.debt > 0)[self.pos_account]
        return (self.pos_account[keep], self.pos_instrument[keep], self.pos_units[keep],
                self.pos_value[keep])


def _as_of(tables: dict[str, pl.DataFrame], as_of: date | str | None) -> date:
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    as_of = as_of or reference_date(tables)
    if as_of is None:
        raise StressError("the accounts table has no dated rows; the stress test needs the "
                          "last account snapshot")
    return as_of


def build_book(tables: dict[str, pl.DataFrame], as_of: date) -> Book:
    """Accounts and positions of the as-of date, joined to the instruments' class and ADV."""
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise StressError(f"the stress test needs table(s) {', '.join(missing)} in the export "
                          f"(it has {', '.join(sorted(tables)) or 'none'}); add the file(s) "
                          "or run without stress")
    # NOTE: the contract's key makes account_id unique per date; a duplicate (reported by the
    # validate stage) keeps its first row. Sort-and-compare is cheaper than a group-by.
    accounts = (tables["accounts"].lazy().filter(pl.col("date") == as_of)
                .select("account_id", pl.col("cash").fill_null(0), pl.col("debt").fill_null(0))
                .sort("account_id", maintain_order=True)
                .filter((pl.int_range(pl.len()) == 0)
                        | (pl.col("account_id") != pl.col("account_id").shift(1)))
                .with_row_index("a").collect())
    if accounts.is_empty():
        raise StressError(f"the accounts table has no snapshot dated {as_of}; pass an as-of "
                          "date that has one")
    positions = tables["positions"].lazy().filter(pl.col("date") == as_of).select(
        "account_id", "instrument_id", pl.col("quantity").fill_null(0).alias("units"),
        pl.coalesce("market_value", pl.col("quantity") * pl.col("price")).fill_null(0)
        .alias("value"),
    ).collect()
    if positions.is_empty():
        raise StressError(f"the positions table has no holdings dated {as_of} (the last "
                          "account snapshot); export the holdings of that day")
    instruments = _instrument_index(positions, tables["instruments"])
    # NOTE: sorted by (account, instrument): the float sums, hence the JSON, do not depend on
    # the file's row order, and sums by account then write memory in sequence (faster).
    joined = (positions.lazy()
              .join(accounts.lazy().select("account_id", "a"), on="account_id", how="left")
              .join(instruments.lazy().select("instrument_id", "k"), on="instrument_id")
              .select("a", "k", "units", "value")
              .sort("a", "k", nulls_last=True)
              .collect())
    orphans = joined["a"].null_count()
    joined = joined.drop_nulls("a")
    # NOTE: an ADV the export does not give is unknown (NaN), not 0: 0 means no market.
    adv = instruments["adv"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return Book(
        account_ids=accounts["account_id"].to_numpy(),
        cash=accounts["cash"].to_numpy().astype(np.float64),
        debt=accounts["debt"].to_numpy().astype(np.float64),
        pos_account=joined["a"].to_numpy().astype(np.int64),
        pos_instrument=joined["k"].to_numpy().astype(np.int64),
        pos_units=joined["units"].to_numpy().astype(np.float64),
        pos_value=joined["value"].to_numpy().astype(np.float64),
        instrument_ids=instruments["instrument_id"].to_numpy(),
        asset_class=instruments["asset_class"].to_numpy(),
        adv=adv,
        flags={"positions_without_account": orphans,
               "instruments_without_reference": int(instruments["unknown"].sum()),
               "instruments_without_adv": int((~(adv > 0)).sum())},
    )


def _instrument_index(positions: pl.DataFrame, instruments: pl.DataFrame) -> pl.DataFrame:
    held = positions.select(pl.col("instrument_id").unique().sort()).with_row_index("k")
    if "adv" not in instruments.columns:
        instruments = instruments.with_columns(pl.lit(None, pl.Float64).alias("adv"))
    reference = instruments.group_by("instrument_id").agg(
        pl.col("asset_class").first(), pl.col("adv").cast(pl.Float64).first())
    joined = held.join(reference, on="instrument_id", how="left", maintain_order="left")
    return joined.with_columns(
        pl.col("asset_class").is_null().alias("unknown"),
        # NOTE: holdings with no reference row are stressed as `other` (default shock).
        pl.col("asset_class").fill_null("other"),
    ).sort("k")


# --- one scenario: static shock, then the spiral ---------------------------------------------

@dataclass
class Outcome:
    """What one scenario does to the book."""

    scenario: Scenario
    accounts_in_call: int
    accounts_wiped_out: int
    shortfall: float
    book_loss: float  # value the shock takes from the whole book
    spiral_shortfall: float
    spiral_book_loss: float
    spiral_wiped_out: int
    accounts_liquidated: int
    rounds: list[dict[str, Any]]
    converged: bool
    max_days_to_liquidate: float | None  # None: an instrument without ADV was sold
    illiquid_instruments_sold: int
    no_market_instruments_sold: int = 0  # of them, with an ADV of 0: no market at all

    @property
    def amplification(self) -> float | None:
        # NOTE: undefined (None) when the static shock leaves no shortfall to amplify.
        return self.spiral_shortfall / self.shortfall if self.shortfall > EQUITY_TOL else None


def shock_factors(book: Book, scenario: Scenario) -> np.ndarray:
    """Price factor (1 + shock) per instrument."""
    per_class = {c: 1.0 + scenario.shock_for(c) for c in set(book.asset_class.tolist())}
    return np.array([per_class[c] for c in book.asset_class], dtype=np.float64)


def run_scenario(book: Book, scenario: Scenario, lines: Lines, impact: ImpactModel,
                 weights: np.ndarray | None = None) -> Outcome:
    """The static shock on every account, then the deleveraging spiral to its fixed point."""
    shocked = shock_factors(book, scenario)
    s = _spiral(book, shocked, lines, impact, book.value_weights if weights is None else weights)
    start_value = float(book.held_value.sum())
    shocked_value = float(book.held_value @ shocked)
    return Outcome(
        scenario=scenario, accounts_in_call=s["static_in_call"],
        accounts_wiped_out=s["static_wiped_out"], shortfall=s["static_shortfall"],
        book_loss=start_value - shocked_value, spiral_shortfall=s["shortfall"],
        spiral_book_loss=start_value - shocked_value + s["fire_sale_loss"],
        spiral_wiped_out=s["wiped_out"], accounts_liquidated=s["liquidated"],
        rounds=s["rounds"], converged=s["converged"], max_days_to_liquidate=s["max_days"],
        illiquid_instruments_sold=s["illiquid_sold"],
        no_market_instruments_sold=s["no_market_sold"],
    )


def _spiral(book: Book, shocked: np.ndarray, lines: Lines, impact: ImpactModel,
            weights: np.ndarray) -> dict[str, Any]:
    """Close out accounts at or below the liquidation line, move prices by their cumulative
    sales, and repeat until no new account is closed (or ``impact.max_rounds``). The first
    pass, before any sale, gives the static figures."""
    n, k = book.n_accounts, book.n_instruments
    vol = np.array([impact.vol_for(c) for c in book.asset_class], dtype=np.float64)
    leveraged = book.debt > 0
    acct, inst, units, value = book.leveraged_positions
    factor = shocked
    sold = np.zeros(k)
    held_value = book.held_value.copy()  # initial value still held, by instrument
    shocked_value = float(held_value @ shocked)
    closed = np.zeros(n, dtype=bool)
    closed_assets = np.zeros(n)
    realised = 0.0
    rounds: list[dict[str, Any]] = []
    static: dict[str, Any] = {}
    converged = False
    for number in range(1, impact.max_rounds + 2):
        marked = book.cash + np.bincount(acct, weights=value * factor[inst], minlength=n)
        assets = np.where(closed, closed_assets, marked)
        shortfall = _shortfall(assets, book.debt, leveraged)
        if not static:
            static = {"static_shortfall": shortfall, "static_assets": assets,
                      "static_in_call": int((leveraged & lines.crossed(assets, lines.call, book.debt)).sum()),
                      "static_wiped_out": _wiped_out(assets, book.debt, leveraged)}
        if rounds:
            rounds[-1]["shortfall"] = shortfall
        breach = leveraged & ~closed & lines.crossed(assets, lines.liquidation, book.debt)
        if not breach.any():
            converged = True
            break
        if number > impact.max_rounds:
            break
        selling = breach[acct]
        at = np.flatnonzero(selling)
        s_acct, s_inst, s_value = acct[at], inst[at], value[at]
        sold += np.bincount(s_inst, weights=units[at], minlength=k)
        before = factor
        factor = shocked * (1 - impact.impact(sold, book.adv, vol))
        # Sellers execute between the round's opening and closing price (Cont & Schaanning).
        executed = before - impact.alpha * (before - factor)
        proceeds = np.bincount(s_acct, weights=s_value * executed[s_inst], minlength=n)
        closed_assets[breach] = book.cash[breach] + proceeds[breach]
        closed |= breach
        held_value -= np.bincount(s_inst, weights=s_value, minlength=k)
        realised += float(proceeds.sum())
        # NOTE: closed accounts' positions are masked by `closed`; dropping them costs a copy,
        # worth it only once they are a large part of what is left.
        if len(at) > len(acct) // 4:
            rest = ~selling
            acct, inst, units, value = acct[rest], inst[rest], units[rest], value[rest]
        move = np.divide(factor, before, out=np.ones(k), where=before > 0) - 1
        rounds.append({"round": number, "accounts_liquidated": int(breach.sum()),
                       "sales_value": float(proceeds.sum()),
                       "avg_price_move": float(weights @ move),
                       "cumulative_loss": shocked_value - float(held_value @ factor) - realised})
    liquid = book.adv > 0
    days = np.divide(sold, book.adv, out=np.zeros(k), where=liquid)
    illiquid_sold = int(((sold > 0) & ~liquid).sum())
    # NOTE: a forced sale of an instrument with no market (ADV 0) cannot be absorbed in any
    # number of days; one whose ADV the export does not give leaves the days unknown.
    no_market_sold = int(((sold > 0) & (book.adv <= 0)).sum())
    return {**static, "shortfall": shortfall,
            "fire_sale_loss": rounds[-1]["cumulative_loss"] if rounds else 0.0,
            "wiped_out": _wiped_out(assets, book.debt, leveraged),
            "liquidated": int(closed.sum()), "rounds": rounds, "converged": converged,
            "max_days": None if illiquid_sold else float(days.max(initial=0.0)),
            "illiquid_sold": illiquid_sold, "no_market_sold": no_market_sold,
            "assets": assets, "closed": closed}


def _shortfall(assets: np.ndarray, debt: np.ndarray, leveraged: np.ndarray) -> float:
    """Debt the accounts' assets no longer cover: the platform's loss. Gaps under half a cent
    are float noise (a 10x account after a 10% fall), not losses."""
    gap = debt - assets
    return float(gap[leveraged & (gap > EQUITY_TOL)].sum())


def _wiped_out(assets: np.ndarray, debt: np.ndarray, leveraged: np.ndarray) -> int:
    return int((leveraged & (assets - debt <= EQUITY_TOL)).sum())


# --- leverage caps ---------------------------------------------------------------------------

def capped_book(book: Book, cap: float) -> tuple[Book, np.ndarray]:
    """The book if every account above ``cap`` (positions / equity) had been de-levered to it:
    positions sold pro rata at today's prices, proceeds repaying debt (equity unchanged).
    Returns the capped book and the mask of accounts that breached the cap."""
    value = book.account_values()
    equity = book.cash + value - book.debt
    breach = (value > 0) & ((equity <= 0) | (value > cap * np.maximum(equity, 0)))
    keep = np.ones(book.n_accounts)
    # NOTE: an account with no equity cannot reach any cap; it is sold out entirely.
    np.divide(cap * equity, value, out=keep, where=breach & (equity > 0))
    keep[breach & (equity <= 0)] = 0.0
    sale = value * (1 - keep)
    debt = book.debt - sale
    cash = book.cash + np.maximum(-debt, 0)  # proceeds beyond the debt stay as cash
    scale = keep[book.pos_account]
    capped = Book(book.account_ids, cash, np.maximum(debt, 0), book.pos_account,
                  book.pos_instrument, book.pos_units * scale, book.pos_value * scale,
                  book.instrument_ids, book.asset_class, book.adv, book.flags)
    return capped, breach


def sensitivity(book: Book, scenario: Scenario, lines: Lines, impact: ImpactModel,
                caps=CAPS, uncapped: Outcome | None = None) -> list[dict[str, Any]]:
    """For each cap: the share of accounts above it today, and the stressed shortfall of
    ``scenario`` (spiral included) had they been de-levered to the cap beforehand.
    ``uncapped``: the scenario's outcome on the book as it is, reused where no account breaches."""
    weights = book.value_weights
    rows = []
    for cap in caps:
        capped, breach = capped_book(book, cap)
        if uncapped is not None and not breach.any():
            outcome = uncapped
        else:
            outcome = run_scenario(capped, scenario, lines, impact, weights)
        rows.append({"cap": cap, "accounts_breaching": int(breach.sum()),
                     "share_breaching": float(breach.mean()) if len(breach) else 0.0,
                     "static_shortfall": outcome.shortfall,
                     "shortfall": outcome.spiral_shortfall})
    return rows


# --- the book's shape: leverage, concentration, liquidity ------------------------------------

LEVERAGE_BUCKETS = ["0-1x", *[f"{i}-{i + 1}x" for i in range(1, 10)], ">10x", "no equity"]


def book_summary(book: Book, lines: Lines) -> dict[str, Any]:
    value = book.account_values()
    assets = book.cash + value
    equity = assets - book.debt
    leveraged = book.debt > 0
    in_call = leveraged & lines.crossed(assets, lines.call, book.debt)
    near = leveraged & ~in_call & lines.crossed(book.cash + (1 - NEAR_CALL_FALL) * value, lines.call,
                                                book.debt)
    total_equity = float(equity.sum())
    return {"accounts": book.n_accounts, "leveraged_accounts": int(leveraged.sum()),
            "cash": float(book.cash.sum()), "market_value": float(value.sum()),
            "debt": float(book.debt.sum()), "equity": total_equity,
            "leverage": float(value.sum()) / total_equity if total_equity > 0 else None,
            "leverage_histogram": _leverage_histogram(value, equity, book.debt),
            "in_call": int(in_call.sum()), "near_call": int(near.sum())}


def _leverage_histogram(value: np.ndarray, equity: np.ndarray,
                        debt: np.ndarray) -> list[dict[str, Any]]:
    """Accounts by leverage (positions / equity) in (n, n+1] buckets; no equity on its own."""
    no_equity = (equity <= 0) & ((value > 0) | (debt > 0))
    lev = np.divide(value, equity, out=np.zeros_like(value), where=equity > 0)
    bucket = np.clip(np.ceil(lev).astype(np.int64) - 1, 0, 10)
    bucket[no_equity] = 11
    counts = np.bincount(bucket, minlength=len(LEVERAGE_BUCKETS))
    return [{"bucket": b, "accounts": int(c)} for b, c in zip(LEVERAGE_BUCKETS, counts)]


def concentration(book: Book) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Top instruments by share of the book's value, and by days of ADV to sell the holding."""
    held_value = book.held_value
    held_units = book.instrument_totals(book.pos_units)
    total = held_value.sum()
    share = held_value / total if total > 0 else held_value
    days = np.divide(held_units, book.adv, out=np.full_like(held_units, np.inf),
                     where=book.adv > 0)
    frame = pl.DataFrame({"instrument_id": book.instrument_ids, "asset_class": book.asset_class,
                          "share_of_book": share, "days_of_adv": days})

    def rows(sort_by: str) -> list[dict[str, Any]]:
        top = frame.sort([sort_by, "instrument_id"], descending=[True, False]).head(TOP_N)
        return [{**r, "days_of_adv": None if math.isinf(r["days_of_adv"]) else r["days_of_adv"],
                 "no_adv": math.isinf(r["days_of_adv"])} for r in top.iter_rows(named=True)]

    return rows("share_of_book"), rows("days_of_adv")


def capital_at(tables: dict[str, pl.DataFrame], as_of: date) -> dict[str, Any]:
    """The capital table's last row on or before the as-of date (all None without one)."""
    frame = tables.get("capital")
    if frame is None or frame.is_empty():
        return {"date": None, "net_capital": None, "liquid_assets": None}
    rows = frame.filter(pl.col("date") <= as_of).sort("date")
    if rows.is_empty():
        return {"date": None, "net_capital": None, "liquid_assets": None}
    last = rows.row(-1, named=True)
    return {"date": last["date"], "net_capital": last["net_capital"],
            "liquid_assets": last["liquid_assets"]}


# --- the result ------------------------------------------------------------------------------

@dataclass
class StressResult:
    """Everything one stress run found; ``to_dict()`` is what stress.json holds."""

    as_of: date
    model: dict[str, Any]
    book: dict[str, Any]
    outcomes: list[Outcome]
    spiral_scenario: str
    concentration: list[dict[str, Any]]
    liquidity: list[dict[str, Any]]
    sensitivity: list[dict[str, Any]]
    capital: dict[str, Any]
    flags: dict[str, int]
    arrays: Book | None = field(default=None, repr=False)  # for accounts_after()
    lines: Lines | None = None
    impact: ImpactModel | None = None

    def outcome(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.scenario.name == name)

    def accounts_after(self, name: str | None = None) -> pl.DataFrame:
        """Per account with debt, after scenario ``name`` (default: the severe one): assets,
        equity and collateral ratio after the shock, in call, wiped out, the static
        shortfall, and after the spiral: closed out, assets and shortfall."""
        name = name or self.spiral_scenario
        book, lines = self.arrays, self.lines
        s = _spiral(book, shock_factors(book, self.outcome(name).scenario), lines, self.impact,
                    book.value_weights)
        static, final, debt = s["static_assets"], s["assets"], book.debt
        has_debt = debt > 0
        frame = pl.DataFrame({
            "account_id": book.account_ids, "debt": debt, "assets": static,
            "equity": static - debt,
            "collateral_ratio": np.divide(static, debt, out=np.full_like(debt, np.nan),
                                          where=has_debt),
            "in_call": lines.crossed(static, lines.call, debt),
            "wiped_out": static - debt <= EQUITY_TOL,
            "shortfall": np.where(debt - static > EQUITY_TOL, debt - static, 0.0),
            "closed_out": s["closed"], "spiral_assets": final,
            "spiral_shortfall": np.where(debt - final > EQUITY_TOL, debt - final, 0.0),
        })
        return frame.filter(pl.Series(has_debt)).with_columns(
            pl.col("collateral_ratio").fill_nan(None))

    def scenario_row(self, o: Outcome) -> dict[str, Any]:
        s, cap = o.scenario, self.capital
        net, liquid = cap["net_capital"], cap["liquid_assets"]
        after = None if net is None else net - o.spiral_shortfall
        buffer_min, liquid_min = cap.get("capital_buffer_min"), cap.get("liquidity_buffer_min")
        return {
            "name": s.name, "title": s.title, "kind": s.kind, "source": s.source,
            "confidence": s.confidence, "severe": s.severe,
            "dates": None if s.dates is None else {
                "start": s.dates.start.isoformat(),
                "end": s.dates.end.isoformat() if s.dates.end else None},
            "shocks": {c: _num(v, 6) for c, v in sorted(s.shocks.items())},
            "derivation": _jsonable(s.derivation),
            "accounts": self.book["accounts"],
            "accounts_in_call": o.accounts_in_call, "accounts_wiped_out": o.accounts_wiped_out,
            "shortfall": _money(o.shortfall), "spiral_shortfall": _money(o.spiral_shortfall),
            "amplification": _num(o.amplification, 4), "spiral_rounds": len(o.rounds),
            "converged": o.converged, "accounts_liquidated": o.accounts_liquidated,
            "spiral_accounts_wiped_out": o.spiral_wiped_out,
            "book_loss": _money(o.book_loss), "spiral_book_loss": _money(o.spiral_book_loss),
            # NOTE: against capital we use the spiral (stressed) shortfall, the larger one.
            "shortfall_vs_capital": _ratio(o.spiral_shortfall, net),
            "static_shortfall_vs_capital": _ratio(o.shortfall, net),
            "shortfall_vs_liquidity": _ratio(o.spiral_shortfall, liquid),
            "capital_after": _money(after),
            "covered_by_capital": None if net is None else bool(net >= o.spiral_shortfall),
            "below_capital_buffer": None if after is None or buffer_min is None
            else bool(after < buffer_min),
            "below_liquidity_buffer": None if liquid is None or liquid_min is None
            else bool(liquid - o.spiral_shortfall < liquid_min),
            "max_days_to_liquidate": _num(o.max_days_to_liquidate, 4),
            "illiquid_instruments_sold": o.illiquid_instruments_sold,
            "no_market_instruments_sold": o.no_market_instruments_sold,
        }

    def to_dict(self) -> dict[str, Any]:
        spiral = self.outcome(self.spiral_scenario)
        return {
            "as_of": self.as_of.isoformat(),
            "model": _jsonable(self.model),
            "book": _jsonable(self.book),
            "capital": _jsonable(self.capital),
            "flags": dict(self.flags),
            "scenarios": [self.scenario_row(o) for o in self.outcomes],
            "spiral": {"scenario": self.spiral_scenario, "converged": spiral.converged,
                       "rounds": [_jsonable(r) for r in spiral.rounds]},
            "concentration": [_jsonable(r) for r in self.concentration],
            "liquidity": [_jsonable(r) for r in self.liquidity],
            "sensitivity": [_jsonable(r) for r in self.sensitivity],
        }


MONEY_KEYS = {"cash", "market_value", "debt", "equity", "sales_value", "cumulative_loss",
              "shortfall", "static_shortfall", "net_capital", "liquid_assets",
              "capital_buffer_min", "liquidity_buffer_min"}


def _money(value: float | None) -> float | None:
    return _num(value, 2)


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def _ratio(part: float, whole: float | None) -> float | None:
    return None if not whole else _num(part / whole, 6)


def _jsonable(value: Any, key: str = "") -> Any:
    """Plain JSON types, money to the cent and other floats to 6 dp, so output is stable."""
    if isinstance(value, dict):
        return {k: _jsonable(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date,)):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return _money(value) if key in MONEY_KEYS else _num(value, 6)
    return value


# --- the entry points ------------------------------------------------------------------------

def run_stress(tables: dict[str, pl.DataFrame], disclosure: dict[str, Any] | None,
               scenarios: list[Scenario] | None = None, as_of: date | str | None = None,
               impact: ImpactModel | None = None, caps=CAPS,
               line_inclusive: bool = False) -> StressResult:
    """Every scenario on the book of the as-of date, the spiral, concentration and leverage
    caps. Raises StressError when a table it needs is missing or empty."""
    as_of = _as_of(tables, as_of)
    impact = impact or ImpactModel()
    scenarios = load_scenarios() if scenarios is None else scenarios
    if not scenarios:
        raise StressError("no scenario to run; add files to rules/scenarios or name one")
    book = build_book(tables, as_of)
    lines = platform_lines(disclosure, inclusive=line_inclusive)
    weights = book.value_weights
    outcomes = [run_scenario(book, s, lines, impact, weights) for s in scenarios]
    severe = pick_severe(outcomes)
    top_share, top_days = concentration(book)
    capital = capital_at(tables, as_of)
    d = disclosure or {}
    capital.update(capital_buffer_min=d.get("capital_buffer_min"),
                   liquidity_buffer_min=d.get("liquidity_buffer_min"))
    model = {**impact.describe(), "call_line": lines.call, "call_line_source": lines.call_source,
             "liquidation_line": lines.liquidation,
             "liquidation_line_source": lines.liquidation_source,
             "line_crossed": "at or below the line" if lines.inclusive else "strictly below the line",
             "near_call": f"not in call, but a {NEAR_CALL_FALL:.0%} fall of its holdings "
                          "would put it in call",
             "sensitivity": f"accounts above the cap de-levered to it (pro-rata sales at today's "
                            f"prices repaying debt), then scenario {severe.scenario.name} with "
                            "the spiral"}
    return StressResult(
        as_of=as_of, model=model, book=book_summary(book, lines), outcomes=outcomes,
        spiral_scenario=severe.scenario.name, concentration=top_share, liquidity=top_days,
        sensitivity=sensitivity(book, severe.scenario, lines, impact, caps, severe),
        capital=capital,
        flags=book.flags, arrays=book, lines=lines, impact=impact,
    )


def pick_severe(outcomes: list[Outcome]) -> Outcome:
    """The first scenario marked severe; without one, the one with the largest stressed loss."""
    marked = [o for o in outcomes if o.scenario.severe]
    if marked:
        return marked[0]
    return max(outcomes, key=lambda o: (o.spiral_shortfall, o.spiral_book_loss))


def stress_table(result: StressResult) -> pl.DataFrame:
    """One row per scenario: the derived ``stress`` table that rules read."""
    rows = []
    for o in result.outcomes:
        r = result.scenario_row(o)
        rows.append({
            "scenario": r["name"], "title": r["title"], "kind": r["kind"], "severe": r["severe"],
            "accounts": r["accounts"], "accounts_in_call": r["accounts_in_call"],
            "accounts_wiped_out": r["accounts_wiped_out"], "shortfall": r["shortfall"],
            "spiral_shortfall": r["spiral_shortfall"], "amplification": r["amplification"],
            "spiral_rounds": r["spiral_rounds"],
            "net_capital": result.capital["net_capital"],
            "liquid_assets": result.capital["liquid_assets"],
            "max_days_to_liquidate": r["max_days_to_liquidate"],
            "accounts_liquidated": r["accounts_liquidated"], "converged": r["converged"],
            "shortfall_vs_capital": r["shortfall_vs_capital"],
            "illiquid_instruments_sold": r["illiquid_instruments_sold"],
            "no_market_instruments_sold": r["no_market_instruments_sold"],
            "model": (result.impact or ImpactModel()).label(),
        })
    schema = {c.name: c.dtype for c in contract.table("stress").columns}
    extra = {"accounts_liquidated": pl.Int64, "converged": pl.Boolean,
             "shortfall_vs_capital": pl.Float64, "illiquid_instruments_sold": pl.Int64}
    columns = {**schema, **{k: v for k, v in extra.items() if k not in schema}}
    return pl.DataFrame(rows, schema=columns)


def write_stress(result: StressResult, out_dir: Path) -> Path:
    """Write ``out_dir/stress.json`` (created if missing) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "stress.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path
