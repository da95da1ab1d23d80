"""The platform's book at the as-of date as arrays, and its shape: leverage, concentration, capital."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from audit.evaluate import reference_date
from audit.stress.boards import boards
from audit.stress.model import Lines, StressError

REQUIRED_TABLES = ("accounts", "positions", "instruments")
NEAR_CALL_FALL = 0.10  # "near call": a 10% fall of the account's holdings puts it in call
TOP_N = 10


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
    client_ids: np.ndarray | None = None  # (N,) str or None: the account's client, for groups
    board: np.ndarray | None = None  # (K,) str: the board whose daily price limit applies
    total_shares: np.ndarray | None = None  # (K,) shares issued; NaN = unknown
    # (N,) bool: synthetic accounts of the market's other leveraged holders (exposures.py).
    # Their forced sales move prices; they are in no platform figure. None: none appended.
    external: np.ndarray | None = None

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
    def platform(self) -> np.ndarray:
        """(N,) bool: the platform's own accounts, i.e. all but the other holders' synthetic
        accounts. Engines count shortfalls, accounts and losses on these only."""
        if self.external is None:
            return np.ones(self.n_accounts, dtype=bool)
        return ~self.external

    @cached_property
    def held_value(self) -> np.ndarray:
        """The platform's market value in each instrument (other holders' accounts left out)."""
        if self.external is None:
            return self.instrument_totals(self.pos_value)
        return self.instrument_totals(np.where(self.platform[self.pos_account], self.pos_value, 0.0))

    @cached_property
    def value_weights(self) -> np.ndarray:
        """Each instrument's share of the book's value: weights of the average price move."""
        total = self.held_value.sum()
        return self.held_value / total if total > 0 else self.held_value

    @cached_property
    def leveraged_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(account, instrument, units, value) of the positions of accounts with debt.

        Accounts without debt owe the platform nothing and can never be closed out, and no one
        else trades in this model (but the other holders' synthetic accounts, which carry
        debt), so the spiral only carries these positions."""
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
                .select("account_id", pl.col("cash").fill_null(0), pl.col("debt").fill_null(0),
                        (pl.col("client_id") if "client_id" in tables["accounts"].columns
                         else pl.lit(None, pl.String)).alias("client_id"))
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
        client_ids=accounts["client_id"].to_numpy(),
        board=boards(instruments["instrument_id"].to_list(), instruments["exchange"].to_list(),
                     instruments["name"].to_list(), instruments["asset_class"].to_list()),
        total_shares=instruments["total_shares"].cast(pl.Float64).fill_null(float("nan"))
        .to_numpy(),
        flags={"positions_without_account": orphans,
               "instruments_without_reference": int(instruments["unknown"].sum()),
               "instruments_without_adv": int((~(adv > 0)).sum())},
    )


def _instrument_index(positions: pl.DataFrame, instruments: pl.DataFrame) -> pl.DataFrame:
    held = positions.select(pl.col("instrument_id").unique().sort()).with_row_index("k")
    optional = {"adv": pl.Float64, "exchange": pl.String, "name": pl.String,
                "total_shares": pl.Float64}
    instruments = instruments.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in optional.items()
        if c not in instruments.columns)
    reference = instruments.group_by("instrument_id").agg(
        pl.col("asset_class").first(), pl.col("adv").cast(pl.Float64).first(),
        pl.col("exchange").cast(pl.String).first(), pl.col("name").cast(pl.String).first(),
        pl.col("total_shares").cast(pl.Float64).first())
    joined = held.join(reference, on="instrument_id", how="left", maintain_order="left")
    return joined.with_columns(
        pl.col("asset_class").is_null().alias("unknown"),
        # NOTE: holdings with no reference row are stressed as `other` (default shock).
        pl.col("asset_class").fill_null("other"),
    ).sort("k")


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


