"""Parquet: the schema (the header) now, and later only the columns the contract needs, keeping
their native types.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from audit.load.limits import DEFAULT_LIMITS, Limits, over_limit
from audit.load.types import ROW, LoadError, RawTable, first_line


def read_parquet_raw(path: Path, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Parquet header now, data later: only the columns the contract needs are read.

    The caps on columns and rows are checked from the file's metadata, before any data.
    """
    name = path.name
    try:
        schema = pl.read_parquet_schema(path)
        height = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"{name}: not a readable Parquet file ({first_line(exc)}); export it "
                        f"again")
    headers = list(schema)
    if len(headers) > limits.max_columns:
        raise over_limit(name, f"{len(headers):,} columns", "max_columns", "too-many-columns",
                         "export only the table's columns")
    if height > limits.max_rows:
        raise over_limit(name, f"{height:,} rows", "max_rows", "too-many-rows",
                         "split the table over several files")

    def fetch(indices: list[int]) -> pl.DataFrame:
        try:
            if indices:
                frame = pl.read_parquet(path, columns=[headers[i] for i in indices])
            else:  # no contract column at all: only the row count matters
                frame = pl.DataFrame({"__n": pl.Series([0] * height, dtype=pl.Int64)})
        except Exception as exc:  # noqa: BLE001
            raise LoadError(f"{name}: cannot read the Parquet data ({first_line(exc)}); export it "
                            f"again") from None
        frame = frame.rename({headers[i]: f"c{i}" for i in indices}).drop("__n", strict=False)
        numbered = frame.with_row_index("__n", offset=1)
        row = pl.col("__n").cast(pl.Int64).alias(ROW)
        return numbered.select([f"c{i}" for i in indices] + [row])

    return RawTable(headers, fetch, "parquet")
