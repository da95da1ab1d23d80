"""Identity documents that pass their check characters: 18-digit resident IDs (ISO 7064 MOD
11-2, with region codes valid for the holder's birth year), unified social credit codes (GB 11714
and GB 32100) and LEIs (ISO 7064 MOD 97-10), plus passport and other numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from audit.sample.builder import Builder

# Region codes that python-stdnum accepts for a resident ID, with the first birth year each is
# valid for (codes of Beijing, Tianjin and Shanghai core districts hold for every year).
REGIONS = (
    ("110101", 0), ("110102", 0), ("110105", 0), ("110106", 0), ("110107", 0), ("110108", 0),
    ("120101", 0), ("120102", 0), ("120103", 0), ("120104", 0), ("120105", 0), ("120106", 0),
    ("310101", 0), ("310104", 0), ("310105", 0), ("310106", 0), ("310107", 0), ("310109", 0),
    ("310110", 0), ("320102", 1983), ("320104", 1983), ("320105", 1983), ("320106", 1983),
    ("330102", 1983), ("330105", 1983), ("330106", 1983), ("350102", 1983), ("350103", 1983),
    ("350104", 1983), ("350203", 1983), ("370102", 1983), ("370103", 1983), ("370104", 1983),
    ("410102", 1983), ("410103", 1983), ("410105", 1983), ("420102", 1983), ("420103", 1983),
    ("420104", 1983), ("420106", 1983), ("420111", 1983), ("440103", 1983), ("440104", 1983),
    ("440105", 1983), ("440106", 1985), ("440112", 1983), ("610103", 1983), ("610104", 1983),
    ("610112", 1983), ("610113", 1983), ("210102", 1983), ("210103", 1983), ("210104", 1983),
    ("510104", 1990), ("510105", 1990), ("510106", 1990), ("510107", 1990), ("500103", 1997),
    ("500106", 1997), ("500107", 1997),
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of day numbers."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y).astype(np.int64) + 1, (d - m).astype(np.int64) + 1)


def ric_numbers(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check characters of 18-digit resident IDs (ISO 7064 MOD 11-2), vectorised."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    digits = np.empty((len(region), 17), dtype=np.int64)
    for i, (val, width, off) in enumerate(((region, 6, 0), (birth, 8, 6), (seq, 3, 14))):
        for k in range(width):
            digits[:, off + k] = (val // 10 ** (width - 1 - k)) % 10
    r = (digits * weights).sum(axis=1) % 11
    return np.array(list("10X98765432"))[r]


def mod97_check(chars: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 97-10 check digits for rows of alphanumeric characters (LEI)."""
    v = np.zeros(chars.shape[0], dtype=np.int64)
    for k in range(chars.shape[1]):
        col = chars[:, k]
        is_digit = np.char.isdigit(col)
        num = np.where(is_digit, np.char.encode(col).view(np.uint8).astype(np.int64) - 48,
                       np.char.encode(col).view(np.uint8).astype(np.int64) - 55)
        v = np.where(is_digit, (v * 10 + num) % 97, (v * 100 + num) % 97)
    v = (v * 100) % 97
    return 98 - v


def id_numbers(b: Builder, r: np.random.Generator, onboarded: np.ndarray) -> list[str]:
    """One identity number per client, of the type ``b.id_type`` gives it (draws from ``r``)."""
    N = b.N
    oy, _, _ = ymd(onboarded)
    birth_year = oy - r.integers(22, 62, N)
    y0 = (np.array(birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
    by, bm, bd = ymd(y0 + r.integers(0, 365, N))
    birth_num = by * 10000 + bm * 100 + bd
    reg_codes = np.array([int(c) for c, _ in REGIONS])
    reg_start = np.array([s for _, s in REGIONS])
    ri = r.integers(0, len(REGIONS), N)
    unrestricted = np.nonzero(reg_start == 0)[0]
    ri = np.where(reg_start[ri] > birth_year, unrestricted[r.integers(0, len(unrestricted), N)], ri)
    seq = r.integers(1, 999, N)
    check = ric_numbers(reg_codes[ri], birth_num, seq)
    ric = (pl.Series(reg_codes[ri]).cast(pl.String) + pl.Series(birth_num).cast(pl.String)
           + pl.Series(seq).cast(pl.String).str.zfill(3) + pl.Series(check))
    # USCC: 9 1 + region + 8-digit organisation code + its check (GB 11714) + check (GB 32100).
    org = r.integers(10_000_000, 99_999_999, N)
    region6 = reg_codes[r.integers(0, len(REGIONS), N)]
    corp_rows = np.nonzero(b.id_type == 2)[0]
    uscc = pl.Series([None] * N, dtype=pl.String)
    if len(corp_rows):
        o = org[corp_rows]
        od = np.stack([(o // 10 ** (7 - k)) % 10 for k in range(8)], axis=1)
        oc = 11 - (od * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
        oc_ch = np.where(oc == 10, "X", np.where(oc == 11, "0", oc.astype(str)))
        body = [f"91{rg:06d}{x:08d}{c}" for rg, x, c in zip(region6[corp_rows], o, oc_ch)]
        alphabet = np.array(list(USCC_ALPHABET))
        vals = np.searchsorted(alphabet, np.array([list(x) for x in body]))
        total = (vals * np.array(USCC_WEIGHTS)).sum(axis=1)
        checks = alphabet[(31 - total % 31) % 31]
        uscc = uscc.scatter(corp_rows, [x + c for x, c in zip(body, checks)])
    # LEI: 4-character LOU prefix, "00", 12 characters, 2 check digits (ISO 7064 MOD 97-10).
    lei_rows = np.nonzero(b.id_type == 3)[0]
    lei = pl.Series([None] * N, dtype=pl.String)
    if len(lei_rows):
        alnum = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
        lou = np.array([list(x) for x in ("5493", "3003", "9845", "2138", "8945")])
        n_l = len(lei_rows)
        base = np.concatenate([lou[r.integers(0, 5, n_l)], np.full((n_l, 2), "0"),
                               alnum[r.integers(0, len(alnum), (n_l, 12))]], axis=1)
        chk = mod97_check(base)
        lei = lei.scatter(lei_rows, ["".join(row) + f"{c:02d}" for row, c in zip(base, chk)])
    passport = pl.lit("E") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
    other = pl.lit("H") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
    id_type = b.id_type
    id_number = pl.select(
        pl.when(pl.Series(id_type) == 0).then(ric).when(pl.Series(id_type) == 1).then(passport)
        .when(pl.Series(id_type) == 2).then(uscc).when(pl.Series(id_type) == 3).then(lei)
        .otherwise(other)).to_series()
    return id_number.to_list()
