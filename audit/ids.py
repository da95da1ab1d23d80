"""Identity-document checksums, delegated to python-stdnum (never hand-written)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from stdnum import lei
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError
from stdnum.util import isdigits

# NOTE: stdnum's cn.ric also looks the first six digits up in the table of PRC counties, so it
# rejects two kinds of number that follow GB 11643's layout and MOD 11-2 check digit without a
# county for an address code (python-stdnum 2.2 has no module for either):
# - 港澳台居民居住证 (residence permits of Hong Kong, Macao and Taiwan residents): address code
#   810000 / 820000 / 830000 (港澳台居民居住证申领发放办法, 国办发〔2018〕81号, Art. 3);
# - the 2023 外国人永久居留身份证 (foreigner's permanent residence ID card, issued from
#   1 Dec 2023): "9", the issuing province (2 digits), the nationality (3 digits), then the
#   birth date, sequence and check digit as in GB 11643 (National Immigration Administration,
#   machine-readable rules of the 2023 card).
# Both are checked with stdnum's own GB 11643 pieces: length, digits, check digit, birth date.
HMT_ADDRESS_CODES = ("810000", "820000", "830000")


def _gb11643_layout(number: str, prefix_ok: Callable[[str], bool]) -> bool:
    """GB 11643 layout: 17 digits and the MOD 11-2 check character, a real birth date at
    positions 7-14, and a first part ``prefix_ok`` accepts (no county lookup)."""
    try:
        number = ric.compact(number)
        if len(number) != 18 or not isdigits(number[:-1]) or not prefix_ok(number):
            return False
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return number[-1] == ric.calc_check_digit(number)


def hmt_residence_permit_is_valid(number: str) -> bool:
    """港澳台居民居住证 number: address code 810000, 820000 or 830000, GB 11643 otherwise."""
    return _gb11643_layout(number, lambda n: n[:6] in HMT_ADDRESS_CODES)


def foreigner_prc_is_valid(number: str) -> bool:
    """2023 外国人永久居留身份证 number: first digit 9, GB 11643 otherwise."""
    return _gb11643_layout(number, lambda n: n[0] == "9")


# id_type (contract vocabulary) -> validator. Types without a checksum are not listed: a rule
# that asks for them gets NULL (unknown), never a silent pass.
VALIDATORS = {
    "cn_resident_id": ric.is_valid,
    "cn_hmt_residence_permit": hmt_residence_permit_is_valid,
    "cn_foreigner_prc": foreigner_prc_is_valid,
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
