"""The output tables built from the simulation (instruments, financings, account and position
snapshots, margin events, ledger, fees), and the storage form every table is written in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from audit import contract
from audit.sample import plants
from audit.sample.market import date_of, day_number, next_trading
from audit.sample.terms import (
    CALL, CP, DAY, DISCLOSURE, EVENT_PREFIX, EVENT_TYPES, FEE_TYPES, LEDGER_TEXT, LIQ, RECOURSE,
)

if TYPE_CHECKING:
    from audit.sample.builder import Builder


@dataclass
class Snapshots:
    """Every account snapshot as flat arrays, one row per account and window day, and the
    securities re-pledged against it (``plants.SNAPSHOTS``)."""

    acc_rows: list[tuple]  # the simulation's snapshots, one tuple per day
    t: np.ndarray  # window day of each row
    account: np.ndarray
    mv: np.ndarray
    debt: np.ndarray
    eq: np.ndarray
    day_trades: np.ndarray  # day trades in the last five days
    pledged: np.ndarray

    def rows_of(self, a: int) -> np.ndarray:
        """The rows of account ``a``, oldest first."""
        offsets = np.concatenate([[0], np.cumsum([len(r[1]) for r in self.acc_rows])])
        return np.array([offsets[t] + np.searchsorted(r[1], a) for t, r in enumerate(self.acc_rows)
                         if np.searchsorted(r[1], a) < len(r[1]) and r[1][np.searchsorted(r[1], a)] == a],
                        dtype=np.int64)


def instruments_table(b: Builder) -> pl.DataFrame:
    """Each instrument with its average daily volume (``adv``, shares or units a day)."""
    # Average daily volume at least three times what the whole book holds (liquid enough to
    # absorb a forced sale of everything within the stress-test limits).
    held = np.bincount(b.pos_inst, weights=b.q, minlength=b.n_inst)
    adv = np.maximum(b.inst_adv, 3 * held)
    plants.run(plants.INSTRUMENTS, b, adv)
    return pl.DataFrame({
        "instrument_id": b.inst_code,
        "name": b.inst_name,
        "asset_class": b.inst_class,
        "exchange": [MIC.get(x, x) for x in b.inst_exch],
        "adv": np.round(adv, 0),
    })


MIC = {"SSE": "XSHG", "SZSE": "XSHE", "BSE": "BJSE"}  # ISO 10383 codes of the exchanges
HAIRCUT = {"equity": 0.65, "etf": 0.9, "bond": 0.9, "gold": 0.9}  # 折算率 by class (exchange caps)


def instrument_terms_table(b: Builder) -> pl.DataFrame:
    """Collateral terms by instrument since 2023 (折算率 within the exchanges' caps, all margin
    and collateral eligible), and one change: the first S3 stock, after its limit-down days,
    stops counting as collateral (haircut 0) from the day after them. No random draws."""
    start = date(2023, 1, 3)
    rows = [{"instrument_id": code, "effective_from": start, "effective_to": None,
             "haircut": HAIRCUT.get(cls, 0.5), "margin_eligible": cls in ("equity", "etf"),
             "collateral_eligible": True}
            for code, cls in zip(b.inst_code, b.inst_class)]
    if b.x3 is not None and len(b.S3):
        code = b.inst_code[int(b.S3[0])]
        change = b.dates[min(b.x3 + 2, b.T - 1)]
        for row in rows:
            if row["instrument_id"] == code:
                row["effective_to"] = change - timedelta(days=1)
        rows.append({"instrument_id": code, "effective_from": change, "effective_to": None,
                     "haircut": 0.0, "margin_eligible": False, "collateral_eligible": False})
    return pl.DataFrame(rows, schema_overrides={"effective_to": pl.Date}).sort(
        "instrument_id", "effective_from")


def financings_table(b: Builder) -> pl.DataFrame:
    """Every draw, and the contract signed in advance for a later start (not yet drawn)."""
    ix = pl.Series(b.fin_acc, dtype=pl.UInt32)
    df = pl.DataFrame({
        "financing_id": b.fin_id,
        "account_id": b.acc_ids.gather(ix),
        "client_id": b.cli_ids.gather(ix),
        "opened_at": pl.Series(b.fin_open_sec * 1_000_000).cast(pl.Datetime("us")),
        "amount": b.fin_amount,
        "equity_at_open": b.fin_equity,
        "leverage_at_open": b.fin_lev,
        "rate_annual": b.fin_rate,
        "term_days": pl.Series(b.fin_term, dtype=pl.Int64),
        "product_risk_level": np.array(["R1", "R2", "R3", "R4", "R5"])[b.fin_product - 1],
        "underlying_asset_class": b.fin_under,
        "account_holder_id": b.cli_ids.gather(pl.Series(b.fin_holder, dtype=pl.UInt32)),
        "funder_controls_password": b.fin_pwd,
        "warning_line": b.fin_warn,
        "liquidation_line": b.fin_liqline,
    }).with_columns(
        pl.when(pl.col("term_days") >= 0).then(pl.col("term_days")).otherwise(None).alias("term_days"),
        pl.col("warning_line").fill_nan(None), pl.col("liquidation_line").fill_nan(None))
    f = b.future_fin
    if f is not None:
        a = f["acc"]
        df = pl.concat([df, pl.DataFrame({
            "financing_id": [f["financing_id"]], "account_id": [b.acc_ids[a]],
            "client_id": [b.cli_ids[a]],
            "opened_at": pl.Series([f["opened_sec"] * 1_000_000]).cast(pl.Datetime("us")),
            "amount": [f["amount"]], "equity_at_open": [f["equity"]], "leverage_at_open": [f["lev"]],
            "rate_annual": [DISCLOSURE["interest_rate_annual"]], "term_days": pl.Series([180], dtype=pl.Int64),
            "product_risk_level": ["R4"], "underlying_asset_class": ["equity"],
            "account_holder_id": [b.cli_ids[a]], "funder_controls_password": [False],
            "warning_line": [DISCLOSURE["margin_call_ratio"]],
            "liquidation_line": [DISCLOSURE["liquidation_ratio"]],
        })], how="vertical_relaxed")
    plants.run(plants.FINANCINGS_TABLE, b, df)
    return df.sort("financing_id")


def snapshot_tables(b: Builder) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The close-of-business snapshots of every account and position, from the simulation."""
    acc_ids, cli_ids = b.acc_ids, b.cli_ids
    t_idx = np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in b.acc_rows])
    ai = np.concatenate([r[1] for r in b.acc_rows])
    cash = np.concatenate([r[2] for r in b.acc_rows])
    mv = np.concatenate([r[3] for r in b.acc_rows])
    debt = np.concatenate([r[4] for r in b.acc_rows])
    dtrades = np.concatenate([r[5] for r in b.acc_rows])
    eq = cash + mv - debt
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = np.where(eq > 0, np.round((mv / 100) / (eq / 100), 4), np.nan)
    # Re-pledged securities: 45% of the accounts' holdings are re-pledged up to a share of
    # the debt between 30% and 140% (the disclosed limit), never more than they are worth.
    factor = np.where(b.r_misc.random(b.N) < 0.45, b.r_misc.integers(300, 1401, b.N), 0)
    pledged = np.where(debt > 0, np.minimum(mv, debt * factor[ai] // 1000), 0)
    plants.run(plants.SNAPSHOTS, b, Snapshots(b.acc_rows, t_idx, ai, mv, debt, eq, dtrades, pledged))
    # Only the planted accounts are pattern day traders with too little equity (LEV-009).
    if (dtrades[(debt > 0) & (eq < 2_500_000)] >= 4).sum() != sum(
            1 for v in b.violations if v["rule"] == "LEV-009"):
        raise RuntimeError("a pattern day trader nobody planted")
    dates = pl.Series(b.dnum.astype(np.int32)).cast(pl.Date)
    ix = pl.Series(ai, dtype=pl.UInt32)
    accounts = pl.DataFrame({
        "date": dates.gather(pl.Series(t_idx, dtype=pl.UInt32)),
        "account_id": acc_ids.gather(ix),
        "client_id": cli_ids.gather(ix),
        "cash": cash,
        "market_value": mv,
        "debt": debt,
        "equity": eq,
        "leverage": pl.Series(lev).fill_nan(None),
        "pledged_value": pledged,
        "day_trades_5d": dtrades.astype(np.int64),
        "short_market_value": np.zeros(len(ai), dtype=np.int64),  # no short selling here
    })
    pt = np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in b.pos_rows])
    sl = np.concatenate([r[1] for r in b.pos_rows])
    inst = b.pos_inst[sl]
    price = b.pm[inst, pt + 1]
    qty = b.q[sl]
    positions = pl.DataFrame({
        "date": dates.gather(pl.Series(pt, dtype=pl.UInt32)),
        "account_id": acc_ids.gather(pl.Series(b.pos_acc[sl], dtype=pl.UInt32)),
        "instrument_id": pl.Series(b.inst_code).gather(pl.Series(inst, dtype=pl.UInt32)),
        "quantity": qty.astype(np.float64),
        "price": price / 1000,
        "market_value": (qty * price + 5) // 10,
    })
    return accounts, positions


def events_table(b: Builder) -> pl.DataFrame:
    """Margin calls, liquidations and recourse records, with ids by day and type."""
    ev = b.ev
    n = len(ev["type"])
    day = ev["at"] // DAY
    df = pl.DataFrame({
        "_i": np.arange(n), "_type": ev["type"].astype(np.int64), "_acc": ev["acc"],
        "_at": ev["at"], "_day": day, "_ratio": ev["ratio"], "_amount": ev["amount"],
        "_eq": ev["eq"], "_ref": ev["ref"].astype(np.int64), "_rel": ev["rel"], "_tag": ev["tag"].astype(np.int64),
    }).sort(["_at", "_type", "_acc"])
    df = df.with_columns(
        (pl.int_range(pl.len()).over(["_day", "_type"]) + 1).alias("_seq"),
        pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").dt.strftime("%Y%m%d").alias("_ds"),
    )
    df = df.with_columns(
        (pl.col("_type").replace_strict(dict(enumerate(EVENT_PREFIX)), return_dtype=pl.String)
         + pl.col("_ds") + pl.col("_seq").cast(pl.String).str.zfill(6)).alias("event_id"))
    id_of = dict(zip(df["_i"].to_list(), df["event_id"].to_list()))
    rel = [id_of[x] if x >= 0 else None for x in df["_rel"].to_list()]
    # A call's deadline: the close (15:00) of the trading day after it (T+1, the terms in force).
    deadline_day = {d: day_number(next_trading(date_of(d))) for d in df["_day"].unique().to_list()}
    is_call = pl.col("_type") == CALL
    at = (pl.col("_at") * 1_000_000).cast(pl.Datetime("us"))
    out = df.select(
        "event_id",
        b.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
        pl.col("_type").replace_strict(dict(enumerate(EVENT_TYPES)), return_dtype=pl.String).alias("event_type"),
        (pl.col("_at") * 1_000_000).cast(pl.Datetime("us")).alias("event_at"),
        pl.col("_ratio").fill_nan(None).alias("collateral_ratio"),
        pl.col("_amount").alias("amount"),
        pl.when(pl.col("_eq").is_nan()).then(None).otherwise(pl.col("_eq")).cast(pl.Int64).alias("equity_after"),
        pl.when(pl.col("_ref") == 0).then(pl.lit("QS") + pl.col("_ds") + pl.lit("-")
                                          + pl.col("_seq").cast(pl.String).str.zfill(6))
        .when(pl.col("_ref") == 2).then(pl.lit("  ")).otherwise(None).alias("clearing_ref"),
        pl.Series(rel, dtype=pl.String).alias("related_event_id"),
        pl.when(pl.col("_type") == LIQ).then(pl.lit("call_unmet")).otherwise(None).alias("reason"),
        pl.when(pl.col("_type") == RECOURSE).then(None).otherwise(pl.col("_ratio").fill_nan(None))
        .alias("trigger_ratio"),
        pl.when(is_call).then(
            ((pl.col("_day").replace_strict(deadline_day, return_dtype=pl.Int64) * DAY + 15 * 3600)
             * 1_000_000).cast(pl.Datetime("us"))).otherwise(None).alias("deadline_at"),
        pl.when(is_call).then(pl.when(pl.col("_acc") % 2 == 0).then(pl.lit("app")).otherwise(pl.lit("sms")))
        .otherwise(None).alias("channel"),
        pl.when(is_call).then(at + pl.duration(seconds=45)).otherwise(None).alias("delivered_at"),
        pl.col("_tag"),
    )
    return tagged_violations(b, out, "margin_events", "event_id")


def ledger_table(b: Builder) -> pl.DataFrame:
    """Cash movements of the client accounts, with ids by day."""
    led = b.led
    n = len(led["day"])
    df = pl.DataFrame({
        "_day": led["day"], "_acc": led["acc"], "_amount": led["amount"],
        "_cp": led["cp"].astype(np.int64), "_text": led["text"].astype(np.int64),
        "_tag": led["tag"].astype(np.int64), "_i": np.arange(n),
    }).sort(["_day", "_acc", "_i"])
    df = df.with_columns(
        (pl.int_range(pl.len()).over("_day") + 1).alias("_seq"),
        pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").alias("date"),
    )
    out = df.select(
        (pl.lit("LG") + pl.col("date").dt.strftime("%Y%m%d")
         + pl.col("_seq").cast(pl.String).str.zfill(7)).alias("entry_id"),
        "date",
        b.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
        pl.col("_amount").alias("amount"),
        pl.col("_cp").replace_strict(dict(enumerate(CP)), return_dtype=pl.String).alias("counterparty_type"),
        pl.col("_text").replace_strict(dict(enumerate(LEDGER_TEXT)), return_dtype=pl.String).alias("description"),
        pl.col("_tag"),
    )
    return tagged_violations(b, out, "ledger", "entry_id")


def fees_table(b: Builder) -> pl.DataFrame:
    """Interest and commission charged, with ids by day."""
    fee = b.fee
    n = len(fee["day"])
    df = pl.DataFrame({
        "_day": fee["day"], "_acc": fee["acc"], "_fin": fee["fin"], "_type": fee["type"].astype(np.int64),
        "_base": fee["base"], "_rate": fee["rate"], "_days": fee["days"], "_charged": fee["charged"],
        "_tag": fee["tag"].astype(np.int64), "_i": np.arange(n),
    }).sort(["_day", "_acc", "_type", "_i"])
    df = df.with_columns(
        (pl.int_range(pl.len()).over("_day") + 1).alias("_seq"),
        pl.from_epoch(pl.col("_day").cast(pl.Int32), time_unit="d").alias("date"),
    )
    fin_ids = pl.Series(b.fin_id + [None])
    out = df.select(
        (pl.lit("FE") + pl.col("date").dt.strftime("%Y%m%d")
         + pl.col("_seq").cast(pl.String).str.zfill(6)).alias("fee_id"),
        "date",
        b.acc_ids.gather(df["_acc"].cast(pl.UInt32)).alias("account_id"),
        fin_ids.gather(pl.Series(np.where(df["_fin"].to_numpy() >= 0, df["_fin"].to_numpy(), len(b.fin_id)),
                                 dtype=pl.UInt32)).alias("financing_id"),
        pl.col("_type").replace_strict(dict(enumerate(FEE_TYPES)), return_dtype=pl.String).alias("fee_type"),
        pl.col("_base").alias("base_amount"),
        pl.col("_rate").alias("rate"),
        pl.when(pl.col("_days") >= 0).then(pl.col("_days")).otherwise(None).alias("days"),
        pl.col("_charged").alias("charged"),
        pl.col("_tag"),
    )
    return tagged_violations(b, out, "fees", "fee_id")


def tagged_violations(b: Builder, out: pl.DataFrame, table: str, key: str) -> pl.DataFrame:
    """``out`` without its ``_tag`` column, each tagged row recorded as the violation its tag
    names (rows get their ids only once the table is sorted, so plants tag them first)."""
    for value, tag in out.filter(pl.col("_tag") > 0).select(key, "_tag").iter_rows():
        rule, note = b.tags[tag - 1]
        b.violation(rule, table, {key: value}, note)
    return out.drop("_tag")


def money_text(name: str) -> pl.Expr:
    """Integer cents as exact decimal text (CSV)."""
    c = pl.col(name)
    a = c.abs()
    return (pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
            + (a // 100).cast(pl.String) + pl.lit(".") + (a % 100).cast(pl.String).str.zfill(2)).alias(name)


# Optional columns the sample leaves out, and why (the audit states what it assumes instead).
LEFT_OUT = {
    # A 配资 book has no rollovers of exchange margin contracts and no broker's available-margin
    # figure: LEV-010..012 judge its contracts on own equity, the upper bound of that figure.
    ("financings", "rollover_of"),
    ("financings", "available_margin_at_open"),
    # NOTE: interest accrues daily but the simulation books it at month end only; an accrual
    # column would take the collateral ratio away from the one the platform's risk process used.
    ("accounts", "accrued_interest"),
    # The version-1 due-diligence dates: this export gives the history (kyc_events) instead.
    *(("clients", c) for c in ("verification_status", "verified_at", "risk_tolerance",
                               "risk_assessed_at", "risk_disclosure_signed_at", "screening_result",
                               "screened_at", "screening_resolved_at", "last_review_at",
                               "pep_approved_at")),
    # The platform publishes no minimum commission (CON-006's plant charges an unpublished one),
    # and its ledger keeps no instruction references (SEG-008 is not evaluable on it).
    ("platform", "commission_min"),
    ("ledger", "instruction_ref"),
    # The sample is a CN book: it publishes no CFD risk warning of either kind (its share is
    # CON-009's), and its custody rows are the banks' statements only, with no internal
    # ledger of each account to reconcile (SEG-006 is not evaluable on it).
    ("platform", "risk_warning_kind"),
    ("custody", "book_balance"),
    # The instruments carry no share counts: the broker's single-collateral concentration
    # (CAP-006) is not evaluable on the sample.
    ("instruments", "total_shares"),
}
# trades: optional, the ledger and fees already carry the day trades' money; reserve_computations:
# a US broker-dealer's 15c3-3 formula, which a 配资 platform does not compute; market_leverage:
# market data on other holders, not the platform's export (the stress test runs without it);
# suspensions: the exchanges' notices, market data too (without it no instrument is suspended).
LEFT_OUT_TABLES = {"trades", "reserve_computations", "market_leverage", "suspensions"}


def finish(name: str, df: pl.DataFrame, fmt: str, left_out: set[tuple[str, str]] | None = None) -> pl.DataFrame:
    """Order columns as the contract does and give every column its storage form (without the
    optional columns ``left_out`` names: by default this book's ``LEFT_OUT``)."""
    spec = contract.table(name)
    left_out = LEFT_OUT if left_out is None else left_out
    wanted = [c for c in spec.columns if (name, c.name) not in left_out]
    if set(df.columns) != {c.name for c in wanted}:
        raise RuntimeError(f"{name}: columns {sorted(set(df.columns) ^ {c.name for c in wanted})}")
    exprs = []
    for col in wanted:
        if col.type == contract.MONEY:
            if df.schema[col.name] != pl.Int64:
                raise RuntimeError(f"{name}.{col.name}: money must be integer cents")
            exprs.append(money_text(col.name) if fmt == "csv"
                         else (pl.col(col.name).cast(pl.Float64) / 100).alias(col.name))
        else:
            exprs.append(pl.col(col.name).cast(col.dtype))
    return df.select(exprs)


def write_table(df: pl.DataFrame, path: Path, fmt: str) -> None:
    """One finished table in its file form: CSV with ISO dates, or Parquet (zstd)."""
    if fmt == "csv":
        df.write_csv(path, date_format="%Y-%m-%d", datetime_format="%Y-%m-%d %H:%M:%S")
    else:
        df.write_parquet(path, compression="zstd", statistics=True)


def write_profile_book(out_dir: Path, profile: str, book: Any, frames: dict[str, pl.DataFrame],
                       fmt: str, seed: int, accounts: int, *, left_out: set, left_out_tables: set,
                       mapping: str, not_planted: dict[str, str]) -> dict:
    """Write a jurisdiction's book (audit/sample/us, eu, cn): its tables, its mapping and
    expected_violations.json naming every plant with the profile that finds it. Returns the
    summary `audit sample-data` prints."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for t in contract.TABLES:
        if t.name in left_out_tables or t.name not in frames:  # a table the book does not keep
            continue
        df = finish(t.name, frames[t.name], fmt, left_out=left_out)
        rows[t.name] = df.height
        write_table(df, out_dir / f"{t.name}.{fmt}", fmt)
    (out_dir / "mapping.yaml").write_text(mapping, encoding="utf-8")
    violations = sorted(({**v, "profile": profile} for v in book.violations),
                        key=lambda v: (v["rule"], sorted(v["key"].items())))
    payload = {"generator": f"audit.sample.{profile}", "profile": profile, "seed": seed,
               "accounts": accounts, "days": len(book.dates), "as_of": book.dates[-1].isoformat(),
               "plant": True, "not_planted": dict(sorted(not_planted.items())),
               "violations": violations}
    (out_dir / "expected_violations.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    by_rule: dict[str, int] = {}
    for v in violations:
        by_rule[v["rule"]] = by_rule.get(v["rule"], 0) + 1
    return {"out_dir": str(out_dir), "format": fmt, "seed": seed, "accounts": accounts,
            "days": len(book.dates), "rows": rows, "violations": len(violations),
            "violations_by_rule": dict(sorted(by_rule.items())),
            "violations_by_profile": {profile: len(violations)}}
