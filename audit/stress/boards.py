"""Boards of the Chinese exchanges and their daily price limits (涨跌幅限制).

A main-board A-share can fall at most 10% a day, a ChiNext (创业板) or STAR (科创板) share 20%, a
Beijing Stock Exchange (北交所) share 30%, and a main-board risk-warning (ST, *ST) share 5%.
Markets without daily limits (the US, the EU, the UK) get no limit: their whole move can
happen in one day. The board is read from the listing exchange and the six-digit code.

Sources: 上海证券交易所交易规则 (2023 revision) 3.4.13 and 上海证券交易所科创板股票交易特别规定
第十七条; 深圳证券交易所交易规则 (2023 revision) 3.3.13 and 深圳证券交易所创业板交易特别规定
第十四条; 北京证券交易所交易规则（试行）3.3.13.
"""

from __future__ import annotations

import re

import numpy as np

# Board -> the largest fall in one trading day, as a fraction of the previous close.
DAILY_LIMIT = {"main": 0.10, "main_st": 0.05, "chinext": 0.20, "star": 0.20, "bse": 0.30}
BOARD_TITLES = {"main": "main board (10%)", "main_st": "main board, risk warning ST (5%)",
                "chinext": "ChiNext (20%)", "star": "STAR Market (20%)",
                "bse": "Beijing Stock Exchange (30%)", "none": "no daily price limit"}
SSE, SZSE, BSE = "XSHG", "XSHE", "BJSE"
EXCHANGE_NAMES = {"XSHG": SSE, "SSE": SSE, "SH": SSE, "上交所": SSE, "上海证券交易所": SSE,
                  "XSHE": SZSE, "SZSE": SZSE, "SZ": SZSE, "深交所": SZSE, "深圳证券交易所": SZSE,
                  "BJSE": BSE, "BSE": BSE, "BJ": BSE, "北交所": BSE, "北京证券交易所": BSE}
# Classes that trade under the stock limits (exchange bonds and gold contracts have their own)
LIMITED_CLASSES = frozenset({"equity", "etf"})
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def _exchange(exchange: str | None, code: str | None) -> str | None:
    named = EXCHANGE_NAMES.get((exchange or "").strip().upper()) or \
        EXCHANGE_NAMES.get((exchange or "").strip())
    if named or exchange:
        return named
    # NOTE: no exchange in the export: a six-digit code is read as an A-share code by its
    # first digits (6 Shanghai; 0, 1, 3 Shenzhen; 4, 8, 92 Beijing), the exchanges' own plan.
    if code is None:
        return None
    if code.startswith(("92", "4", "8")):
        return BSE
    if code.startswith("6"):
        return SSE
    if code.startswith(("0", "1", "3")):
        return SZSE
    return None


def board_of(instrument_id: str | None, exchange: str | None = None, name: str | None = None,
             asset_class: str | None = None) -> str:
    """The board of one instrument: main, main_st, chinext, star, bse, or none (no daily
    limit: not a Chinese exchange, or a class the stock limits do not cover)."""
    if asset_class is not None and asset_class not in LIMITED_CLASSES:
        return "none"
    match = _CODE.search(instrument_id or "")
    code = match.group(1) if match else None
    venue = _exchange(exchange, code)
    if venue is None or code is None:
        return "none"
    st = "ST" in (name or "").upper()
    if venue == BSE:
        return "bse"
    if venue == SSE and code.startswith(("688", "689")):
        return "star"
    if venue == SZSE and code.startswith(("300", "301")):
        return "chinext"
    return "main_st" if st else "main"


def boards(instrument_ids, exchanges, names, asset_classes) -> np.ndarray:
    """Board of each instrument (arrays of equal length)."""
    return np.array([board_of(i, e, n, c) for i, e, n, c in
                     zip(instrument_ids, exchanges, names, asset_classes)], dtype=object)


def daily_limits(board_array: np.ndarray) -> np.ndarray:
    """The largest one-day fall per instrument; inf where the market has no daily limit."""
    return np.array([DAILY_LIMIT.get(b, np.inf) for b in board_array], dtype=np.float64)
