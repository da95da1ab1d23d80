"""Common exposures: the market's other leveraged holders of the platform's stocks.

A platform is rarely the only leveraged holder of its stocks. In a crash every margin account
near its line sells, and the aggregate selling moves prices (Bian, He, Shue & Zhou, NBER WP
25040: stocks held by accounts close to their leverage limits saw high selling pressure and
abnormal falls that later reversed, in the A-share market of 2015). This module lets the other
holders' forced sales join the platform's in the fire sale, and cross-checks the result with a
closed-form aggregate-vulnerability index.

Input: the optional ``market_leverage`` table (audit/contract.py), per stock and day: the
exchange margin-financing balance (融资余额, which SSE and SZSE publish per stock daily), an
assumed off-exchange (场外配资) multiple, the holders' average collateral ratio and, when known,
their liquidation line.

The other holders as accounts: for each stock k the platform holds, their debt is
``D_k = margin_balance x (1 + offexchange_multiple)`` and their holdings are worth
``D_k x collateral_ratio``, in stock k only. They are spread over ``ACCOUNTS_PER_STOCK``
synthetic accounts of equal debt whose collateral ratios are uniform between the liquidation
line L and ``2 x average - L`` (the mid-points of equal bins, so the average is the table's
and no account starts on the line): their forced sales arrive gradually as prices fall, not as
one cliff. An average at or below the line puts every account at the average (all closed at
once). They are closed out at the table's line, else the platform's. The synthetic accounts
carry ``Book.external``; the engines count shortfalls, accounts and losses on the platform's
accounts only, while the synthetic accounts' sales enter the cumulative quantity sold.

Cross-checks:

- Greenwood, Landier & Thesmar (2015), "Vulnerable banks", JFE 115(3): holders with assets a,
  portfolio weights M, debt/equity b and a shock F sell b * a * (-M F) to restore leverage;
  asset-level sales M' (sales) move prices by L (sales) (linear impact); second-round losses
  are a * M (L M' sales) and aggregate vulnerability is their sum over total equity.
- The INET Oxford reimplementation of Cont & Schaanning (``ox-inet-resilience/firesale_stresstest``,
  markets.py) uses an exponential impact ``1 - exp(-c x)`` of the fraction x of the market sold,
  with c set from one calibration point (there: 5% sold moves the price 5%); with the point
  "10% sold moves the price 10%", 5% sold moves it 5.13%.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from audit.stress.book import TOP_N, Book
from audit.stress.model import ImpactModel, Lines
from audit.stress.scenarios import Scenario
from audit.stress.spiral import _spiral, shock_factors

ACCOUNTS_PER_STOCK = 20
DEFAULT_COLLATERAL_RATIO = 2.5
DEFAULT_COLLATERAL_SOURCE = (
    "toolkit assumption: 2.5 (250%), a round figure for the average collateral ratio of "
    "margin accounts; replace it by the published market-wide average (平均维持担保比例) "
    "of the as-of date")
TABLE = "market_leverage"


# --- closed forms --------------------------------------------------------------------------------

def exponential_fall(fraction_sold, calibration_sold: float = 0.10,
                     calibration_fall: float = 0.10):
    """Price fall ``1 - exp(-c x)`` for a fraction ``x`` of the market sold, with c set so that
    selling ``calibration_sold`` of it moves the price by ``calibration_fall``:
    ``c = -ln(1 - calibration_fall) / calibration_sold`` (the form of Cifuentes, Ferrucci & Shin
    2005 as the INET Oxford code applies it)."""
    if not 0 < calibration_fall < 1 or calibration_sold <= 0:
        raise ValueError("calibration: need 0 < calibration_fall < 1 and calibration_sold > 0")
    c = -math.log(1 - calibration_fall) / calibration_sold
    return 1 - np.exp(-c * np.asarray(fraction_sold, dtype=np.float64))


def glt_vulnerability(assets, weights, leverage_b, shock, impact_l,
                      max_fall: float | None = None) -> dict[str, Any]:
    """Greenwood, Landier & Thesmar (2015) in closed form, one round.

    ``assets`` (n,) holders' assets; ``weights`` (n, k) portfolio weights, a dense array or a
    sparse triplet ``(rows, cols, values, (n, k))``; ``leverage_b`` (n,) debt / equity;
    ``shock`` (k,) returns (-0.1 = a 10% fall); ``impact_l`` (k,) price fall per unit of value
    sold. ``max_fall`` caps a price fall (None: the linear law, as in the paper).

    Returns the holders' returns, the sales that restore each holder's leverage
    (``b * a * -return``), the sales per asset, the price falls, each holder's second-round
    loss, equity ``a / (1 + b)`` and the aggregate vulnerability: total second-round losses
    over total equity."""
    a = np.asarray(assets, dtype=np.float64)
    b = np.asarray(leverage_b, dtype=np.float64)
    f = np.asarray(shock, dtype=np.float64)
    ell = np.asarray(impact_l, dtype=np.float64)
    returns = _times(weights, f)
    sales = b * a * -returns
    asset_sales = _times_transposed(weights, sales)
    falls = ell * asset_sales
    if max_fall is not None:
        falls = np.minimum(falls, max_fall)
    losses = a * _times(weights, falls)
    equity = a / (1 + b)
    total_equity = float(equity.sum())
    return {"returns": returns, "sales": sales, "asset_sales": asset_sales, "price_falls": falls,
            "second_round_losses": losses, "equity": equity,
            "aggregate_vulnerability": float(losses.sum()) / total_equity
            if total_equity > 0 else None}


def _times(weights, x: np.ndarray) -> np.ndarray:
    if isinstance(weights, tuple):
        rows, cols, values, (n, _) = weights
        return np.bincount(rows, weights=values * x[cols], minlength=n)
    return np.asarray(weights, dtype=np.float64) @ x


def _times_transposed(weights, y: np.ndarray) -> np.ndarray:
    if isinstance(weights, tuple):
        rows, cols, values, (_, k) = weights
        return np.bincount(cols, weights=values * y[rows], minlength=k)
    return np.asarray(weights, dtype=np.float64).T @ y


# --- the other holders as synthetic accounts -----------------------------------------------------

def not_available(reason: str) -> dict[str, Any]:
    """What stress.json says when the common exposures were not tested: never a zero."""
    return {"available": False, "reason": reason}


def market_leverage_at(book: Book, tables: dict[str, pl.DataFrame], as_of: date,
                       lines: Lines) -> pl.DataFrame | None:
    """Per stock the platform holds, the table's last row on or before ``as_of``, with the
    defaults filled and the other holders' debt and holdings; None without such a row."""
    frame = tables.get(TABLE)
    if frame is None or frame.is_empty():
        return None
    optional = {"offexchange_multiple": pl.Float64, "collateral_ratio": pl.Float64,
                "liquidation_line": pl.Float64, "source": pl.String}
    frame = frame.with_columns(pl.lit(None, dtype).alias(c) for c, dtype in optional.items()
                               if c not in frame.columns)
    held = pl.DataFrame({"instrument_id": book.instrument_ids.astype(str),
                         "k": np.arange(book.n_instruments, dtype=np.int64)})
    latest = (frame.lazy().filter(pl.col("date") <= as_of)
              .drop_nulls(["instrument_id", "margin_balance"])
              .sort("instrument_id", "date", maintain_order=True)
              .group_by("instrument_id", maintain_order=True).last()
              .collect())
    rows = held.join(latest, on="instrument_id", how="inner").sort("k")
    if rows.is_empty():
        return None
    return rows.with_columns(
        pl.col("offexchange_multiple").is_null().alias("multiple_assumed"),
        pl.col("collateral_ratio").is_null().alias("collateral_ratio_assumed"),
        pl.col("offexchange_multiple").cast(pl.Float64).fill_null(0.0),
        pl.col("collateral_ratio").cast(pl.Float64).fill_null(DEFAULT_COLLATERAL_RATIO),
        pl.col("liquidation_line").is_null().alias("line_is_platforms"),
        pl.col("liquidation_line").cast(pl.Float64).fill_null(lines.liquidation),
        pl.col("margin_balance").cast(pl.Float64),
    ).with_columns(
        (pl.col("margin_balance") * (1 + pl.col("offexchange_multiple"))).alias("other_debt"),
    ).with_columns(
        (pl.col("other_debt") * pl.col("collateral_ratio")).alias("other_holdings_value"),
    )


def with_other_holders(book: Book, holders: pl.DataFrame, lines: Lines,
                       accounts_per_stock: int = ACCOUNTS_PER_STOCK) -> Book:
    """The book with the other holders appended as synthetic accounts (``Book.external``).

    ``holders``: rows of ``market_leverage_at``. Each stock's debt is split equally over
    ``accounts_per_stock`` accounts whose collateral ratios are the mid-points of equal bins
    between the line and ``2 x average - line``; they hold the stock only, priced at the
    platform's per-unit price of the as-of date."""
    if accounts_per_stock < 1:
        raise ValueError("accounts_per_stock must be at least 1")
    units_held = book.instrument_totals(book.pos_units)
    value_held = book.instrument_totals(book.pos_value)
    k = holders["k"].to_numpy()
    price = np.divide(value_held[k], units_held[k], out=np.full(len(k), np.nan),
                      where=units_held[k] > 0)
    debt = holders["other_debt"].to_numpy()
    keep = (debt > 0) & (price > 0)
    k, price, debt = k[keep], price[keep], debt[keep]
    average = holders["collateral_ratio"].to_numpy()[keep]
    line = holders["liquidation_line"].to_numpy()[keep]
    m = accounts_per_stock
    low = np.minimum(line, average)
    bins = (np.arange(m) + 0.5) / m
    ratios = low[:, None] + 2 * (average - low)[:, None] * bins[None, :]  # (K', m), mean = average
    each = np.repeat(debt / m, m)
    value = each * ratios.ravel()
    # NOTE: one Lines object closes every account at the platform's line L. An account whose
    # own line is L' crosses it when assets < L' x debt, i.e. when assets < L x (debt x L' / L):
    # the synthetic debt is scaled so; it enters no platform figure.
    line_debt = each * np.repeat(line / lines.liquidation, m)
    n, added = book.n_accounts, len(value)
    inst = np.repeat(k, m)
    ids = np.char.add(np.repeat(np.char.add("~other:", book.instrument_ids[k].astype(str)), m),
                      np.tile(np.char.mod(":%02d", np.arange(1, m + 1)), len(k))).astype(object)
    clients = book.client_ids if book.client_ids is not None else \
        np.full(n, None, dtype=object)
    external = np.zeros(n, dtype=bool) if book.external is None else book.external
    return replace(
        book,
        account_ids=np.concatenate([book.account_ids.astype(object), ids]),
        cash=np.concatenate([book.cash, np.zeros(added)]),
        debt=np.concatenate([book.debt, line_debt]),
        pos_account=np.concatenate([book.pos_account, n + np.arange(added, dtype=np.int64)]),
        pos_instrument=np.concatenate([book.pos_instrument, inst]),
        pos_units=np.concatenate([book.pos_units, value / np.repeat(price, m)]),
        pos_value=np.concatenate([book.pos_value, value]),
        client_ids=np.concatenate([clients.astype(object), np.full(added, None, dtype=object)]),
        external=np.concatenate([external, np.ones(added, dtype=bool)]),
        flags=dict(book.flags),
    )


# --- the section of stress.json ------------------------------------------------------------------

def common_exposures(book: Book, tables: dict[str, pl.DataFrame], as_of: date, lines: Lines,
                     impact: ImpactModel, scenario: Scenario, *, net_capital: float | None = None,
                     accounts_per_stock: int = ACCOUNTS_PER_STOCK) -> dict[str, Any]:
    """The platform's share of each stock's leveraged holdings, ``scenario``'s platform
    shortfall with and without the other holders' forced sales, and the GLT cross-check.
    ``net_capital``: the platform's, for the shortfalls against capital."""
    if tables.get(TABLE) is None:
        return not_available(f"no {TABLE} table in the export: the other leveraged holders of "
                             "the platform's stocks were not tested")
    holders = market_leverage_at(book, tables, as_of, lines)
    if holders is None:
        return not_available(f"the {TABLE} table has no row on or before {as_of} for any stock "
                             "the platform holds: the other leveraged holders were not tested")
    shocked = shock_factors(book, scenario)
    weights = book.value_weights
    alone = _spiral(book, shocked, lines, impact, weights)
    joint_book = with_other_holders(book, holders, lines, accounts_per_stock)
    joint = _spiral(joint_book, shocked, lines, impact, weights)
    ext = joint_book.external
    other_closed = joint["closed"] & ext
    k = holders["k"].to_numpy()
    _, lev_inst, _, lev_value = book.leveraged_positions
    platform_value = np.bincount(lev_inst, weights=lev_value, minlength=book.n_instruments)
    other_value = holders["other_holdings_value"].to_numpy()
    share = _share(platform_value[k], other_value)
    fall_alone = 1 - np.divide(alone["factor"], shocked, out=np.ones_like(shocked),
                               where=shocked > 0)
    fall_joint = 1 - np.divide(joint["factor"], shocked, out=np.ones_like(shocked),
                               where=shocked > 0)
    sold_share = np.divide(joint["sold"], book.total_shares,
                           out=np.full(book.n_instruments, np.nan),
                           where=np.isfinite(book.total_shares) & (book.total_shares > 0)) \
        if book.total_shares is not None else np.full(book.n_instruments, np.nan)
    per_stock = holders.select(
        "instrument_id", "date", "margin_balance", "offexchange_multiple", "multiple_assumed",
        "other_debt", "collateral_ratio", "collateral_ratio_assumed", "liquidation_line",
        "line_is_platforms", "other_holdings_value", "source",
    ).with_columns(
        pl.Series("platform_leveraged_value", platform_value[k]),
        pl.Series("platform_share", share),
        pl.Series("price_fall_platform_alone", fall_alone[k]),
        pl.Series("price_fall_with_other_holders", fall_joint[k]),
        pl.Series("days_of_adv_sold", np.divide(joint["sold"][k], book.adv[k],
                                                 out=np.full(len(k), np.nan),
                                                 where=book.adv[k] > 0)),
        pl.Series("share_of_shares_sold", sold_share[k]),
        pl.Series("price_fall_inet_convention", exponential_fall(np.nan_to_num(sold_share[k]))),
    ).with_columns(
        pl.when(pl.col("share_of_shares_sold").is_nan()).then(None)
        .otherwise(pl.col("price_fall_inet_convention")).alias("price_fall_inet_convention"),
        pl.col("share_of_shares_sold").fill_nan(None),
        pl.col("days_of_adv_sold").fill_nan(None),
        pl.col("platform_share").fill_nan(None),
    ).sort(["other_debt", "instrument_id"], descending=[True, False])
    total_platform = float(platform_value[k].sum())
    total_other = float(other_value.sum())
    with_ = joint["shortfall"]
    without = alone["shortfall"]
    glt = _glt_on_book(book, holders, shocked, impact)
    return {
        "available": True,
        "scenario": scenario.name,
        "method": _method(accounts_per_stock, lines),
        "stocks_held": book.n_instruments,
        "stocks_covered": holders.height,
        "rows_without_source": int(holders["source"].is_null().sum()),
        "collateral_ratio_assumed": int(holders["collateral_ratio_assumed"].sum()),
        "totals": {
            "margin_balance": float(holders["margin_balance"].sum()),
            "other_debt": float(holders["other_debt"].sum()),
            "other_holdings_value": total_other,
            "platform_leveraged_value": total_platform,
            "platform_share": total_platform / (total_platform + total_other)
            if total_platform + total_other > 0 else None,
            "other_accounts": int(ext.sum()),
        },
        "stocks": [dict(r) for r in per_stock.head(TOP_N).iter_rows(named=True)],
        "shortfall_without": without,
        "shortfall_with": with_,
        "shortfall_added": with_ - without,
        "shortfall_without_vs_capital": without / net_capital if net_capital else None,
        "shortfall_with_vs_capital": with_ / net_capital if net_capital else None,
        "covered_by_capital_with": None if net_capital is None else bool(net_capital >= with_),
        "accounts_liquidated_without": alone["liquidated"],
        "accounts_liquidated_with": joint["liquidated"],
        "other_accounts_liquidated": int(other_closed.sum()),
        "other_sales_value": float(joint["assets"][other_closed].sum()),
        "rounds_with": len(joint["rounds"]),
        "converged_with": joint["converged"],
        "glt": glt,
    }


def _share(platform: np.ndarray, other: np.ndarray) -> np.ndarray:
    total = platform + other
    return np.divide(platform, total, out=np.full(len(total), np.nan), where=total > 0)


def _glt_on_book(book: Book, holders: pl.DataFrame, shocked: np.ndarray,
                 impact: ImpactModel) -> dict[str, Any]:
    """GLT on the platform's leveraged accounts (one holder) and each stock's other holders
    (one holder per stock), with and without the other holders."""
    kk = book.n_instruments
    _, lev_inst, _, lev_value = book.leveraged_positions
    leveraged = book.debt > 0
    p_value = np.bincount(lev_inst, weights=lev_value, minlength=kk)
    p_assets = float(book.cash[leveraged].sum() + p_value.sum())
    p_debt = float(book.debt[leveraged].sum())
    units = book.instrument_totals(book.pos_units)
    price = np.divide(book.instrument_totals(book.pos_value), units, out=np.zeros(kk),
                      where=units > 0)
    vol = np.array([impact.vol_for(c) for c in book.asset_class], dtype=np.float64)
    # NOTE: GLT's impact is linear in the value sold. We take the point of the toolkit's law at
    # one day of volume: selling ADV x price moves the price by Y x sigma. Instruments without a
    # known market (no ADV) get no impact here and are counted.
    liquid = (book.adv > 0) & (price > 0)
    ell = np.divide(impact.coefficient * vol, book.adv * price, out=np.zeros(kk), where=liquid)
    k = holders["k"].to_numpy()
    ratio = holders["collateral_ratio"].to_numpy()
    o_ok = ratio > 1
    o_k, o_assets = k[o_ok], holders["other_holdings_value"].to_numpy()[o_ok]
    o_b = 1 / (ratio[o_ok] - 1)
    if p_assets - p_debt <= 0 or p_assets <= 0:
        return {"available": False,
                "reason": "the platform's leveraged accounts have no equity in aggregate"}
    p_cols = np.flatnonzero(p_value > 0)
    p_b = p_debt / (p_assets - p_debt)

    def run(with_others: bool) -> dict[str, Any]:
        n_o = len(o_k) if with_others else 0
        rows = np.concatenate([np.zeros(len(p_cols), dtype=np.int64),
                               1 + np.arange(n_o, dtype=np.int64)])
        cols = np.concatenate([p_cols, o_k[:n_o]])
        vals = np.concatenate([p_value[p_cols] / p_assets, np.ones(n_o)])
        return glt_vulnerability(np.concatenate([[p_assets], o_assets[:n_o]]),
                                 (rows, cols, vals, (1 + n_o, kk)),
                                 np.concatenate([[p_b], o_b[:n_o]]), shocked - 1, ell,
                                 max_fall=impact.max_impact)

    both, alone = run(True), run(False)
    return {
        "available": True,
        "aggregate_vulnerability": both["aggregate_vulnerability"],
        "aggregate_vulnerability_platform_alone": alone["aggregate_vulnerability"],
        "second_round_loss_platform": float(both["second_round_losses"][0]),
        "second_round_loss_platform_alone": float(alone["second_round_losses"][0]),
        "second_round_loss_others": float(both["second_round_losses"][1:].sum()),
        "equity_platform": float(both["equity"][0]),
        "equity_others": float(both["equity"][1:].sum()),
        "platform_leverage_b": p_b,
        "instruments_without_impact": int((~liquid).sum()),
        "other_holders_without_equity": int((~o_ok).sum()),
        "impact_per_value_sold": "Y x sigma / (ADV x price): the impact law's fall at one day "
                                 "of volume, made linear",
        "price_fall_cap": impact.max_impact,
        "source": "Greenwood, Landier & Thesmar (2015), Vulnerable banks, JFE 115(3): "
                  "aggregate vulnerability = second-round losses / equity, one round",
    }


def _method(m: int, lines: Lines) -> dict[str, Any]:
    return {
        "other_holders": "per stock the platform holds, debt = margin_balance x (1 + "
                         "offexchange_multiple) and holdings = debt x collateral_ratio, in that "
                         "stock only (market_leverage table, each stock's last row on or before "
                         "the as-of date)",
        "accounts_per_stock": m,
        "spread": f"{m} accounts of equal debt per stock; collateral ratios at the mid-points "
                  "of equal bins between the liquidation line and 2 x average - line, so forced "
                  "sales arrive gradually (an average at or below the line: all at the average)",
        "lines": f"the table's liquidation_line, else the platform's ({lines.liquidation:g})",
        "defaults": {"offexchange_multiple": 0.0,
                     "collateral_ratio": DEFAULT_COLLATERAL_RATIO,
                     "collateral_ratio_source": DEFAULT_COLLATERAL_SOURCE},
        "platform_figures": "the other holders' accounts sell into the same market; every "
                            "shortfall, account count and loss counts the platform's accounts "
                            "only",
        "price": "the platform's per-unit price of the as-of date",
        "inet_convention": "price_fall_inet_convention: 1 - exp(-c x), x the units sold over "
                           "total shares, c = -ln(0.9) / 0.1 (10% sold moves the price 10%)",
        "sources": ["SSE and SZSE daily margin trading details per stock (融资融券交易明细): "
                    "margin_balance",
                    "Bian, He, Shue & Zhou (2018), NBER WP 25040: leverage-induced fire sales "
                    "in the 2015 A-share market, including off-exchange (shadow) financing",
                    "Greenwood, Landier & Thesmar (2015), JFE 115(3)",
                    "Cont & Schaanning (2017), Norges Bank WP 2/2017; INET Oxford "
                    "firesale_stresstest (markets.py): exponential impact"],
    }
