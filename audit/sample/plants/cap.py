"""Plants and traps of the CAP pack (rules/cap): the platform's net capital against its margin
book and its largest client, and its liquid assets against the disclosed buffer. The capital
pair needs a book of many similar clients (cast.MIN_ACCOUNTS_ALL) and the one large client of
stories.py."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from audit.sample.plants.registry import CAPITAL, LIQUIDITY, plant

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.platform import Capital, Liquidity


@plant("CAP-001", at=LIQUIDITY)
def plant_cap_001(b: Builder, liquidity: Liquidity) -> None:
    """Liquid assets under the disclosed buffer by 20%, by one cent, by 5%, on days no capital
    plant uses. The same draw picks the day of the trap: liquid assets exactly at the buffer."""
    la, buffer = liquidity.liquid_assets, liquidity.buffer
    n = min(b.k, 3) if b.plant else 0
    days = b.r_plant.choice(liquidity.free, min(n + 1, len(liquidity.free)), replace=False)
    la[days[-1]] = buffer  # trap: exactly at the buffer
    for v, t in enumerate(sorted(days[:-1])):
        if v == 0:
            la[t], note = buffer * 8 // 10, "liquid assets 20% below the disclosed buffer"
        elif v == 1:
            la[t], note = buffer - 1, "liquid assets one cent below the disclosed buffer"
        else:
            la[t], note = buffer * 95 // 100, "liquid assets 5% below the disclosed buffer"
        b.violation("CAP-001", "capital", {"date": b.dates[t].isoformat()}, note)


def _capital_days(b: Builder, capital: Capital) -> tuple[list[int], list[int]]:
    """Days (the last one apart) the capital plants can use: for CAP-002, days on which the
    large client is the largest; for CAP-003, days after it was closed out on which twenty
    times the largest client stays well under a quarter of the book."""
    top, book = capital.top, capital.book
    whale = [s.account for s in b.by_role["cap002"]]
    w_debt = capital.accounts.filter(pl.col("account_id").is_in([f"A{a + 1:06d}" for a in whale])) \
        .group_by("date").agg(pl.col("debt").sum()).sort("date")
    w = dict(zip(w_debt["date"].to_list(), w_debt["debt"].to_list()))
    cand_q = [t for t in range(b.T - 1) if w.get(b.dates[t], 0) > 0 and top[t] == w[b.dates[t]]]
    cand_p = [t for t in range(b.T - 1) if w.get(b.dates[t], 0) == 0 and t not in cand_q
              and 20 * top[t] < 0.96 * book[t] / 4]
    if not cand_q or not cand_p:
        raise RuntimeError(f"capital plants: no day for CAP-002 ({cand_q}) or CAP-003 ({cand_p})")
    return cand_q, cand_p


@plant("CAP-002", at=CAPITAL)
def plant_cap_002(b: Builder, capital: Capital) -> None:
    """A day, before the crash closes it out, on which the one large client's financing is
    above 5% of net capital: net capital just covers a quarter of the book and twenty times the
    second largest client."""
    if not b.scale:
        return
    cand_q, _ = _capital_days(b, capital)
    nc, top, second = capital.net_capital, capital.top, capital.second
    tq = cand_q[int(b.r_misc.integers(len(cand_q)))]
    nc[tq] = int(math.ceil(max(capital.book[tq] / 4, 20 * second[tq]) * 1.01))
    if nc[tq] >= 20 * top[tq]:
        raise RuntimeError("CAP-002 plant: the largest client is not far enough ahead")
    whale = b.by_role["cap002"][0].account
    b.violation("CAP-002", "accounts", {"client_id": f"C{whale + 1:06d}", "date": b.dates[tq].isoformat()},
                "one client's financing above 5% of net capital")
    capital.taken.add(tq)


@plant("CAP-003", at=CAPITAL)
def plant_cap_003(b: Builder, capital: Capital) -> None:
    """A day of net capital under a quarter of the margin book, still twenty times the largest
    client (the per-client credit limit of opening.py keeps every client small enough)."""
    if not b.scale:
        return
    _, cand_p = _capital_days(b, capital)
    nc = capital.net_capital
    tp = cand_p[int(b.r_misc.integers(len(cand_p)))]
    nc[tp] = int(capital.book[tp] * 0.97 / 4)
    if nc[tp] <= 20 * capital.top[tp]:
        raise RuntimeError("CAP-003 plant would also break CAP-002")
    b.violation("CAP-003", "accounts", {"date": b.dates[tp].isoformat()},
                "margin book above four times net capital")
    capital.taken.add(tp)
