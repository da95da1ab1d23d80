"""Identity-document checksums, delegated to python-stdnum (never hand-written)."""

from __future__ import annotations

import polars as pl
from stdnum import lei
from stdnum.cn import ric, uscc

# id_type (contract vocabulary) -> validator. Types without a checksum are not listed: a rule
# that asks for them gets NULL (unknown), never a silent pass.
VALIDATORS = {
    "cn_resident_id": ric.is_valid,
    "uscc": uscc.is_valid,
    "lei": lei.is_valid,
}


def validate_ids(id_types: pl.Series, id_numbers: pl.Series) -> pl.Series:
    """True/False per row where the type has a checksum; NULL where it has none."""
    frame = pl.DataFrame({"t": id_types, "n": id_numbers})
    # NOTE: validate each distinct pair once: exports repeat IDs across rows.
    unique = frame.unique()
    verdicts = [
        None if t not in VALIDATORS else (n is not None and VALIDATORS[t](n))
        for t, n in unique.iter_rows()
    ]
    lookup = unique.with_columns(pl.Series("ok", verdicts, dtype=pl.Boolean))
    return frame.join(lookup, on=["t", "n"], how="left", nulls_equal=True, maintain_order="left")["ok"]
