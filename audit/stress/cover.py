"""Who the stressed loss sits with: client groups, cover-1 / cover-2, and the top holdings' depth.

Cover-1 and cover-2 are the language of the CPMI-IOSCO Principles for Financial Market
Infrastructures (2012), Principle 4 (credit risk): resources should cover the default of the one
(cover-1) or two (cover-2) participants *and their affiliates* that would cause the largest
credit exposure in extreme but plausible market conditions. Here a participant is a client
group: the accounts of one ``client_id``, joined with the clients whose accounts another client
trades (a financing whose ``account_holder_id`` differs from its ``client_id``: a third party's
account lent to the financed client, a court hallmark of off-exchange financing). The exposure
is each account's shortfall after the severe scenario and the deleveraging spiral.

Client ids identify people, so every id this module outputs is masked with
``audit.mask.mask_other`` (all but the last two characters hidden)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from audit.mask import mask_other
from audit.stress.book import TOP_N, Book
from audit.stress.multiday import PARTICIPATION
from audit.stress.spiral import EQUITY_TOL

MEMBERS_SHOWN = 5  # masked client ids listed per group


# --- client groups ---------------------------------------------------------------------------

@dataclass
class Groups:
    """Each account's client group. ``group`` (N,) indexes groups 0..G-1; the first groups are
    the components of clients, then one group per account without a client id; ``linked``
    marks the groups joined through a third party's account."""

    group: np.ndarray
    linked: np.ndarray
    links: int  # financings that joined two different clients
    node_ids: pl.Series  # every client id seen (accounts, then both ends of each link)
    node_group: np.ndarray  # the group of each of them
    note: str | None = None

    @property
    def n_groups(self) -> int:
        return len(self.linked)

    def clients(self, g: int) -> np.ndarray:
        """The client ids in group ``g``, sorted (none for an account without a client id)."""
        return self.node_ids.filter(pl.Series(self.node_group == g)).unique().sort().to_numpy()


def _clean_ids(values: pl.Series) -> pl.Series:
    """Ids as stripped strings; a missing, empty or unreadable id is null (it links nothing)."""
    return values.cast(pl.String, strict=False).str.strip_chars().replace("", None)


def _financing_links(financings: pl.DataFrame | None,
                     as_of: date | None) -> tuple[pl.DataFrame, str | None]:
    """(client_id, account_holder_id) pairs of different, readable ids from financings opened
    on or before the as-of date."""
    empty = pl.DataFrame({"a": [], "b": []}, schema={"a": pl.String, "b": pl.String})
    if financings is None or financings.is_empty():
        return empty, "no financings table: accounts grouped by client id only"
    if "account_holder_id" not in financings.columns or "client_id" not in financings.columns:
        return empty, ("the financings table has no account_holder_id: accounts grouped by "
                       "client id only")
    frame = financings
    kind = frame.schema.get("opened_at")
    if as_of is not None and (kind == pl.Date or isinstance(kind, pl.Datetime)):
        # NOTE: a financing opened after the as-of date did not link anyone yet; an undated one
        # is kept (the link is a fact about the two clients, not about a day).
        opened = pl.col("opened_at").cast(pl.Date)
        frame = frame.filter(opened.is_null() | (opened <= as_of))
    pairs = pl.DataFrame({"a": _clean_ids(frame["client_id"]),
                          "b": _clean_ids(frame["account_holder_id"])})
    return pairs.filter(pl.col("a").is_not_null() & pl.col("b").is_not_null()
                        & (pl.col("a") != pl.col("b"))), None


def client_groups(book: Book, financings: pl.DataFrame | None = None,
                  as_of: date | datetime | None = None) -> Groups:
    """Connected components of clients linked by financings; accounts follow their client, and
    an account without a client id is a group of its own."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = book.n_accounts
    raw = book.client_ids if book.client_ids is not None else np.full(n, None, dtype=object)
    client = _clean_ids(pl.Series("c", raw, dtype=pl.String, strict=False))
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    pairs, note = _financing_links(financings, as_of)
    has_client = client.is_not_null().to_numpy()
    # NOTE: ids numbered by a dense rank: numpy's unique on a million strings is several
    # times slower.
    nodes = pl.concat([client.drop_nulls(), pairs["a"], pairs["b"]])
    inverse = nodes.rank("dense").to_numpy().astype(np.int64) - 1
    m, n_with = int(inverse.max(initial=-1)) + 1, int(has_client.sum())
    u, v = inverse[n_with:n_with + len(pairs)], inverse[n_with + len(pairs):]
    if m:
        graph = coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(m, m)).tocsr()
        n_comp, comp = connected_components(graph, directed=False)
    else:  # no account has a client id and nothing links
        n_comp, comp = 0, np.zeros(0, dtype=np.int64)
    group = np.empty(n, dtype=np.int64)
    group[has_client] = comp[inverse[:n_with]]
    alone = ~has_client
    group[alone] = n_comp + np.arange(int(alone.sum()))
    n_groups = n_comp + int(alone.sum())
    linked = np.zeros(n_groups, dtype=bool)
    linked[comp[u]] = True
    return Groups(group=group, linked=linked, links=len(pairs), node_ids=nodes,
                  node_group=comp[inverse], note=note)


# --- cover-1 / cover-2 -----------------------------------------------------------------------

def account_shortfalls(book: Book, assets: np.ndarray) -> np.ndarray:
    """Per account, the debt its assets no longer cover (0 below half a cent: float noise)."""
    gap = book.debt - assets
    return np.where((book.debt > 0) & (gap > EQUITY_TOL), gap, 0.0)


def cover(book: Book, groups: Groups, shortfall: np.ndarray, net_capital: float | None,
          scenario: str) -> dict[str, Any]:
    """Cover-1 and cover-2: the stressed shortfall of the largest one and two client groups,
    in money and against net capital, with the largest groups (ids masked)."""
    by_group = np.bincount(groups.group, weights=shortfall, minlength=groups.n_groups)
    accounts = np.bincount(groups.group, minlength=groups.n_groups)
    # NOTE: ties broken by the group's first account in id order, so the output is stable.
    order = np.argsort(groups.group, kind="stable")
    sorted_groups = groups.group[order]
    starts = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]][:len(order)]
    first_of = np.full(groups.n_groups, book.n_accounts)
    first_of[sorted_groups[starts]] = order[starts]
    ranked = np.lexsort((first_of, -by_group))
    top = ranked[:TOP_N][by_group[ranked[:TOP_N]] > 0]
    cover_1 = float(by_group[ranked[0]]) if len(ranked) else 0.0
    cover_2 = float(by_group[ranked[:2]].sum()) if len(ranked) else 0.0
    ties = int((np.abs(by_group - cover_1) <= EQUITY_TOL).sum()) if cover_1 > 0 else 0

    def ratio(x: float) -> float | None:
        return x / net_capital if net_capital else None

    rows = []
    for rank, g in enumerate(top, start=1):
        members = groups.clients(int(g))
        label = ([mask_other(c) for c in members[:MEMBERS_SHOWN]] if len(members)
                 else [f"account {mask_other(str(book.account_ids[first_of[g]]))}"])
        rows.append({"rank": rank, "clients": label, "clients_in_group": len(members),
                     "accounts": int(accounts[g]), "linked": bool(groups.linked[g]),
                     "group_shortfall": float(by_group[g]),
                     "shortfall_vs_capital": ratio(float(by_group[g]))})
    total = float(by_group.sum())
    return {
        "scenario": scenario,
        "basis": "stressed shortfall per account after the scenario and the deleveraging "
                 "spiral, summed by client group (CPMI-IOSCO PFMI Principle 4: the default of "
                 "the largest one or two participants and their affiliates)",
        "grouping": "accounts of one client id, joined with the clients whose account another "
                    "client trades (financings.account_holder_id differing from client_id); "
                    "an account without a client id is its own group; ids masked",
        "groups_note": groups.note,
        # NOTE: a client seen only in financings has no account in the book: not a group here.
        "groups": int((accounts > 0).sum()),
        "linked_groups": int((groups.linked & (accounts > 0)).sum()),
        "financing_links": groups.links,
        "groups_with_shortfall": int((by_group > EQUITY_TOL).sum()),
        "cover_1": cover_1, "cover_1_vs_capital": ratio(cover_1),
        "cover_2": cover_2, "cover_2_vs_capital": ratio(cover_2),
        "groups_tied_at_cover_1": ties,
        "group_shortfall_total": total,
        "largest_groups_share_of_shortfall": None if total <= 0 else cover_2 / total,
        "largest": rows,
    }


# --- concentration beyond the share of the book ----------------------------------------------

def concentration_detail(book: Book, participation: float = PARTICIPATION) -> dict[str, Any]:
    """For the top instruments by share of the book: the holding against the shares issued, the
    days of volume to sell it at ``participation``, and the debt of the accounts that hold it."""
    held_value = book.held_value
    held_units = book.instrument_totals(book.pos_units)
    total_value = float(held_value.sum())
    share = held_value / total_value if total_value > 0 else held_value
    k = book.n_instruments
    total_shares = (book.total_shares if book.total_shares is not None
                    else np.full(k, np.nan))
    of_shares = np.divide(held_units, total_shares, out=np.full(k, np.nan),
                          where=total_shares > 0)
    days = np.divide(held_units, participation * book.adv, out=np.full(k, np.nan),
                     where=book.adv > 0)
    # Debt secured: each account with debt counts once per instrument it holds.
    acct, inst, units, _ = book.leveraged_positions
    # NOTE: sort and drop repeats: numpy's hash-based unique is slow on millions of ints.
    pair = np.sort(acct[units > 0] * k + inst[units > 0])
    pair = pair[np.r_[True, pair[1:] != pair[:-1]][:len(pair)]]
    debt_by = np.bincount(pair % k, weights=book.debt[pair // k], minlength=k)
    holders = np.bincount(pair % k, minlength=k)
    total_debt = float(book.debt[book.debt > 0].sum())
    top = np.lexsort((book.instrument_ids, -share))[:TOP_N]

    def num(x: float) -> float | None:
        return None if not np.isfinite(x) else float(x)

    rows = [{"instrument_id": str(book.instrument_ids[i]), "asset_class": str(book.asset_class[i]),
             "board": None if book.board is None else str(book.board[i]),
             "share_of_book": float(share[i]), "held_value": float(held_value[i]),
             "units": float(held_units[i]), "total_shares": num(total_shares[i]),
             "share_of_total_shares": num(of_shares[i]),
             "adv": num(book.adv[i]), "days_at_participation": num(days[i]),
             "no_market": bool(book.adv[i] == 0),
             "leveraged_holders": int(holders[i]), "debt_secured": float(debt_by[i]),
             "share_of_debt_secured": float(debt_by[i] / total_debt) if total_debt > 0 else None}
            for i in top]
    return {
        "participation": participation,
        "notes": [
            "share_of_total_shares is against all shares issued (总股本): free float is not in "
            "the export, so the share of the tradable float is larger",
            f"days_at_participation = units held / ({participation:.0%} x ADV); ADV is "
            "normal-times volume, which a stressed market does not offer",
            "share_of_debt_secured: debt of the accounts with debt that hold the instrument, "
            "over all debt; an account holding several of them counts for each",
        ],
        "instruments": rows,
    }
