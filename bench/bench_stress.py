"""Benchmark: the stress test and its spiral on a synthetic book of 1M accounts, 5M positions."""

# Run: .venv/bin/python bench/bench_stress.py [--accounts N] [--positions P] [--runs R]
# Prints the median of R runs for each stage and the process's peak RSS.

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.stress import (  # noqa: E402
    ImpactModel, PathParams, build_book, load_scenarios, pick_severe, platform_lines, run_path,
    run_scenario, run_stress, shock_factors,
)

AS_OF = date(2024, 6, 28)
# A 配资-style platform: call and close-out lines just above the loan (1.15x and 1.10x).
DISCLOSURE = {"margin_call_ratio": 1.15, "liquidation_ratio": 1.10,
              "capital_buffer_min": 5e8, "liquidity_buffer_min": 2e8}
CLASSES = np.array(["equity", "etf", "bond", "gold", "index"])
CLASS_WEIGHTS = np.array([0.80, 0.08, 0.05, 0.04, 0.03])


def synthetic_book(n_accounts: int, n_positions: int, n_instruments: int = 5000,
                   seed: int = 20240628) -> dict[str, pl.DataFrame]:
    """Accounts with 1x-10x leverage, positions spread over instruments by a Zipf-like
    popularity, and ADVs set so the platform holds from hours to weeks of volume."""
    rng = np.random.default_rng(seed)
    equity = rng.lognormal(mean=11.0, sigma=1.0, size=n_accounts)
    leverage = rng.choice(np.arange(1, 11), size=n_accounts,
                          p=[.15, .15, .15, .14, .12, .09, .07, .06, .04, .03])
    value = equity * leverage
    debt = value - equity
    cash = np.zeros(n_accounts)
    # Each account gets at least one position; the rest are spread at random.
    extra = rng.integers(0, n_accounts, size=n_positions - n_accounts)
    owner = np.sort(np.concatenate([np.arange(n_accounts), extra]))
    popularity = 1.0 / np.arange(1, n_instruments + 1) ** 0.8
    instrument = rng.choice(n_instruments, size=n_positions, p=popularity / popularity.sum())
    # Drop duplicate (account, instrument) pairs: the contract's key forbids them.
    pair = owner.astype(np.int64) * n_instruments + instrument
    _, first = np.unique(pair, return_index=True)
    owner, instrument = owner[first], instrument[first]
    share = rng.random(len(owner))
    share /= np.bincount(owner, weights=share, minlength=n_accounts)[owner]
    price = rng.lognormal(mean=3.0, sigma=0.8, size=n_instruments)
    pos_value = value[owner] * share
    units = pos_value / price[instrument]
    held = np.bincount(instrument, weights=units, minlength=n_instruments)
    adv = held * rng.lognormal(mean=0.0, sigma=1.2, size=n_instruments)
    ids = np.char.add("I", np.char.zfill(np.arange(n_instruments).astype(str), 5))
    accounts = pl.DataFrame({
        "date": pl.repeat(AS_OF, n_accounts, eager=True),
        "account_id": pl.int_range(n_accounts, eager=True).cast(pl.String).str.zfill(8),
        "client_id": pl.int_range(n_accounts, eager=True).cast(pl.String),
        "cash": cash, "market_value": value, "debt": debt, "equity": equity,
        "leverage": leverage.astype(np.float64),
    })
    positions = pl.DataFrame({
        "date": pl.repeat(AS_OF, len(owner), eager=True),
        "account_id": pl.Series(owner).cast(pl.String).str.zfill(8),
        "instrument_id": pl.Series(ids[instrument]),
        "quantity": units, "price": price[instrument], "market_value": pos_value,
    })
    instruments = pl.DataFrame({
        "instrument_id": ids, "name": ids,
        "asset_class": rng.choice(CLASSES, size=n_instruments, p=CLASS_WEIGHTS),
        "exchange": ["SSE"] * n_instruments, "adv": adv,
    })
    capital = pl.DataFrame({"date": [AS_OF], "net_capital": [2e9], "liquid_assets": [1e9]})
    return {"accounts": accounts, "positions": positions, "instruments": instruments,
            "capital": capital}


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        result = None  # free the previous run's result before the next one
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--positions", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    tables = synthetic_book(args.accounts, args.positions)
    print(f"synthetic book: {tables['accounts'].height:,} accounts, "
          f"{tables['positions'].height:,} positions, built in {time.perf_counter() - start:.1f} s")

    scenarios = load_scenarios()
    severe = next(s for s in scenarios if s.severe)
    impact = ImpactModel()
    lines = platform_lines(DISCLOSURE)
    t_book, book = timed(lambda: build_book(tables, AS_OF), args.runs)
    t_spiral, outcome = timed(lambda: run_scenario(book, severe, lines, impact), args.runs)
    shocked = shock_factors(book, severe)
    t_path, path = timed(lambda: run_path(book, shocked, lines, impact, PathParams()), args.runs)
    # NOTE: the synthetic ids carry no A-share code, so no daily limit applies; the same book
    # with every equity on a 10% main board exercises locked days and the limit on sales.
    limited = replace(book, board=np.where(book.asset_class == "equity", "main", "none"))
    t_limited, path_limited = timed(
        lambda: run_path(limited, shocked, lines, impact, PathParams()), args.runs)
    t_all, result = timed(lambda: run_stress(tables, DISCLOSURE, scenarios, AS_OF, impact),
                          args.runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"build_book (polars joins to arrays)       median {t_book:6.2f} s")
    print(f"one scenario + spiral ({severe.name})  median {t_spiral:6.2f} s: "
          f"{len(outcome.rounds)} rounds, {outcome.accounts_liquidated:,} accounts closed, "
          f"amplification {outcome.amplification or float('nan'):.2f}x")
    for label, t, p in (("no limits", t_path, path), ("main board", t_limited, path_limited)):
        print(f"multi-day path, {p.params.horizon} days, {label:10}     median {t:6.2f} s: "
              f"{p.accounts_closed:,} accounts closed, shortfall {p.shortfall:,.0f}, "
              f"value unsold {p.value_unsold:,.0f}, days locked max {p.days_locked_max}")
    print(f"run_stress ({len(scenarios)} scenarios, each with its path, + frontier) "
          f"median {t_all:6.2f} s; "
          f"spiral scenario {pick_severe(result.outcomes).scenario.name}")
    print(f"peak RSS {peak_mb:,.0f} MB; {args.runs} runs each")


if __name__ == "__main__":
    main()
