"""Cover-1 / cover-2 by client group, the concentration detail and the funding stress, on small
books whose figures are worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from audit.stress import (
    ImpactModel, Scenario, StressError, build_book, client_groups, concentration_detail,
    run_stress,
)

DAY = date(2024, 1, 2)
NO_IMPACT = ImpactModel(coefficient=0.0)  # forced sales at the shocked price: hand arithmetic
LINES = {"margin_call_ratio": 1.5, "liquidation_ratio": 1.3}


def fall(shock: float) -> Scenario:
    return Scenario(name="fall", title="fall", kind="uniform", source="test",
                    confidence="derived", shocks={"default": shock}, severe=True)


def tables(accounts: list[tuple], positions: list[tuple], instruments: list[tuple],
           capital: tuple | None = (16000.0, 1000.0),
           financings: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """accounts: (id, client, cash, debt); positions: (account, instrument, units, price);
    instruments: (id, adv, total_shares); capital: (net capital, liquid assets)."""
    out = {
        "accounts": pl.DataFrame({
            "date": [DAY] * len(accounts), "account_id": [a[0] for a in accounts],
            "client_id": [a[1] for a in accounts], "cash": [float(a[2]) for a in accounts],
            "debt": [float(a[3]) for a in accounts]}, schema_overrides={"client_id": pl.String}),
        "positions": pl.DataFrame({
            "date": [DAY] * len(positions), "account_id": [p[0] for p in positions],
            "instrument_id": [p[1] for p in positions],
            "quantity": [float(p[2]) for p in positions],
            "price": [float(p[3]) for p in positions],
            "market_value": [float(p[2] * p[3]) for p in positions]}),
        "instruments": pl.DataFrame({
            "instrument_id": [i[0] for i in instruments], "name": [i[0] for i in instruments],
            "asset_class": ["equity"] * len(instruments), "exchange": [None] * len(instruments),
            "adv": [i[1] for i in instruments], "total_shares": [i[2] for i in instruments]},
            schema_overrides={"adv": pl.Float64, "exchange": pl.String,
                              "total_shares": pl.Float64}),
    }
    if capital is not None:
        out["capital"] = pl.DataFrame({"date": [DAY], "net_capital": [capital[0]],
                                       "liquid_assets": [capital[1]]})
    if financings is not None:
        out["financings"] = financings
    return out


def financings(rows: list[tuple]) -> pl.DataFrame:
    """rows: (client_id, account_holder_id, opened_at)."""
    return pl.DataFrame({
        "financing_id": [f"F{i}" for i in range(len(rows))],
        "account_id": ["A"] * len(rows), "client_id": [r[0] for r in rows],
        "account_holder_id": [r[1] for r in rows], "opened_at": [r[2] for r in rows]},
        schema_overrides={"client_id": pl.String, "account_holder_id": pl.String,
                          "opened_at": pl.Datetime})


# Three clients and an account without one, all in X at 10, no market impact. After a 50% fall
# (every account below the 130% line, closed at the shocked price):
#   A1 (C-ANNA-01)  1,000 units, debt 8,000 -> assets 5,000, shortfall 3,000 } client 1: 4,500
#   A2 (C-ANNA-01)    500 units, debt 4,000 -> assets 2,500, shortfall 1,500 }
#   A3 (C-BORIS-02)   800 units, debt 6,000 -> assets 4,000, shortfall 2,000   client 2
#   A4 (C-CHEN-03)    600 units, debt 6,000 -> assets 3,000, shortfall 3,000   client 3
#   A5 (no client)  1,200 units, debt 8,000 -> assets 6,000, shortfall 2,000
#   A6 (C-DANA-04)  cash 1,000, 100 units, no debt                              no shortfall
# Client 2 trades client 3's account: one group, shortfall 5,000. Cover-1 = 5,000 (that group),
# cover-2 = 5,000 + 4,500 = 9,500 = 59.375% of 16,000. Without the link: 4,500 and 7,500.
ACCOUNTS = [("A1", "C-ANNA-01", 0, 8000), ("A2", "C-ANNA-01", 0, 4000),
            ("A3", "C-BORIS-02", 0, 6000), ("A4", "C-CHEN-03", 0, 6000),
            ("A5", None, 0, 8000), ("A6", "C-DANA-04", 1000, 0)]
POSITIONS = [("A1", "X", 1000, 10), ("A2", "X", 500, 10), ("A3", "X", 800, 10),
             ("A4", "X", 600, 10), ("A5", "X", 1200, 10), ("A6", "X", 100, 10)]
RAW_IDS = ("C-ANNA-01", "C-BORIS-02", "C-CHEN-03", "C-DANA-04")
LINK = financings([
    ("C-BORIS-02", "C-CHEN-03", datetime(2023, 6, 1)),  # third party's account: links 2 and 3
    ("C-ANNA-01", "C-ANNA-01", datetime(2023, 6, 1)),   # own account: no link
    ("C-ANNA-01", None, datetime(2023, 6, 1)),          # holder unknown: no link
    ("C-ANNA-01", "  ", datetime(2023, 6, 1)),          # unreadable: no link
    (None, "C-DANA-04", datetime(2023, 6, 1)),          # client unknown: no link
    ("C-ANNA-01", "C-DANA-04", datetime(2024, 3, 1)),   # opened after the as-of date
])


def run(t, **kw):
    return run_stress(t, {**LINES, **kw.pop("disclosure", {})}, [fall(-0.5)], as_of=DAY,
                      impact=NO_IMPACT, **kw)


def test_groups_join_clients_through_a_third_partys_account():
    t = tables(ACCOUNTS, POSITIONS, [("X", 1e9, None)], financings=LINK)
    book = build_book(t, DAY)
    g = client_groups(book, t["financings"], DAY)
    group = dict(zip(book.account_ids.tolist(), g.group.tolist()))
    assert group["A1"] == group["A2"]
    assert group["A3"] == group["A4"] != group["A1"]
    assert group["A6"] not in (group["A1"], group["A3"])  # the later financing links nothing
    assert len(set(group.values())) == 4 and g.n_groups == 4 and g.links == 1
    assert g.linked[group["A3"]] and not g.linked[group["A1"]] and not g.linked[group["A5"]]
    assert g.clients(group["A3"]).tolist() == ["C-BORIS-02", "C-CHEN-03"]
    assert g.clients(group["A5"]).tolist() == []


def test_cover_1_and_cover_2_by_hand_with_masked_ids():
    r = run(tables(ACCOUNTS, POSITIONS, [("X", 1e9, None)], financings=LINK))
    out = r.to_dict()
    c = out["cover"]
    assert c["cover_1"] == 5000.0 and c["cover_2"] == 9500.0
    assert c["cover_2_vs_capital"] == pytest.approx(9500 / 16000)
    assert c["groups"] == 4 and c["linked_groups"] == 1 and c["groups_with_shortfall"] == 3
    # the groups add up to the verdict's shortfall: the severe scenario's multi-day path
    assert c["group_shortfall_total"] == out["scenarios"][0]["path_shortfall"]
    first, second, third = c["largest"]
    assert first["clients"] == ["********02", "*******03"] and first["linked"]
    assert (first["accounts"], first["clients_in_group"]) == (2, 2)
    assert second["clients"] == ["*******01"] and second["group_shortfall"] == 4500.0
    assert third["clients"] == ["account **"] and third["group_shortfall"] == 2000.0
    text = json.dumps(out, ensure_ascii=False)
    assert not any(raw in text for raw in RAW_IDS)


def test_without_links_each_client_is_a_group():
    c = run(tables(ACCOUNTS, POSITIONS, [("X", 1e9, None)])).to_dict()["cover"]
    # C-ANNA-01 4,500, then C-CHEN-03 3,000: 7,500.
    assert (c["cover_1"], c["cover_2"]) == (4500.0, 7500.0)
    assert c["linked_groups"] == 0 and c["groups"] == 5 and "no financings" in c["groups_note"]
    no_holder = LINK.drop("account_holder_id")
    c = run(tables(ACCOUNTS, POSITIONS, [("X", 1e9, None)], financings=no_holder)) \
        .to_dict()["cover"]
    assert c["cover_2"] == 7500.0 and "account_holder_id" in c["groups_note"]


def test_ties_at_cover_1_are_counted():
    accounts = [("A1", "K-01", 0, 8000), ("A2", "K-02", 0, 8000), ("A3", "K-03", 0, 7000)]
    positions = [(a, "X", 1000, 10) for a, *_ in accounts]
    c = run(tables(accounts, positions, [("X", 1e9, None)])).to_dict()["cover"]
    assert (c["cover_1"], c["cover_2"], c["groups_tied_at_cover_1"]) == (3000.0, 6000.0, 2)
    assert c["largest_groups_share_of_shortfall"] == pytest.approx(6000 / 8000)


# --- concentration detail --------------------------------------------------------------------

def test_concentration_detail_by_hand():
    # X: 500 units (5,000), ADV 1,000, 100,000 shares; Y: 600 units (6,000), no ADV or shares.
    # Accounts with debt: A (5,000) holds X and Y, B (3,000) holds X; C (no debt) holds Y.
    t = tables([("A", "a", 0, 5000), ("B", "b", 0, 3000), ("C", "c", 0, 0)],
               [("A", "X", 300, 10), ("A", "Y", 100, 10), ("B", "X", 200, 10),
                ("C", "Y", 500, 10)],
               [("X", 1000.0, 100000.0), ("Y", None, None)])
    d = concentration_detail(build_book(t, DAY))
    y, x = d["instruments"]
    assert (y["instrument_id"], x["instrument_id"]) == ("Y", "X")
    assert x["share_of_book"] == pytest.approx(5 / 11)
    assert x["share_of_total_shares"] == pytest.approx(0.005)
    assert x["days_at_participation"] == pytest.approx(500 / (0.2 * 1000))  # 2.5
    assert (x["debt_secured"], x["share_of_debt_secured"], x["leveraged_holders"]) == \
        (8000.0, 1.0, 2)
    assert y["share_of_total_shares"] is None and y["days_at_participation"] is None
    assert (y["debt_secured"], y["share_of_debt_secured"], y["leveraged_holders"]) == \
        (5000.0, 0.625, 1)
    assert any("free float" in n for n in d["notes"])


# --- funding stress --------------------------------------------------------------------------

# Call line 150%, liquidation 130%. Free cash: A1 (no debt) 1,000; B1 cash 500 + 2,000 of X on
# 1,000 of debt: 2,500 - 1,500 = 1,000 above the call line, so its 500 of cash; C1 cash 300 +
# 1,000 of X on 800: 1,300 - 1,200 = 100. Free cash 1,600 (25%: 400). After a 50% fall C1 has
# 800 < 1.3 x 800 and is closed: its 500 of proceeds repay the 500 its cash does not cover, on
# day 2 (T+1). B1 is at 150% and stays.
FUND_ACCOUNTS = [("A1", "a", 1000, 0), ("B1", "b", 500, 1000), ("C1", "c", 300, 800)]
FUND_POSITIONS = [("B1", "X", 200, 10), ("C1", "X", 100, 10)]


def funding(capital=(16000.0, 1000.0), **kw):
    return run(tables(FUND_ACCOUNTS, FUND_POSITIONS, [("X", 1e9, None)], capital=capital),
               **kw).to_dict()["funding"]


def test_funding_without_funding_data_is_not_tested_never_passed():
    f = funding()
    assert f["free_cash"]["withdrawable"] == 1600.0
    assert f["forced_sale_inflows"] == 500.0
    assert not f["funder_run"]["tested"] and "not tested" in f["funder_run"]["note"]
    stressed, moderate = f["cases"]
    # Stressed: 1,600 out on day 1 against 1,000: a gap of 600 that the day-2 sales cut to 100.
    assert (stressed["outflows"], stressed["gap"], stressed["gap_after_settlement"]) == \
        (1600.0, 600.0, 100.0)
    assert stressed["covered"] is False and f["covered"] is False
    # Moderate: 400 is covered on withdrawals alone, but the funder leg is untested: not a pass.
    assert (moderate["outflows"], moderate["gap"]) == (400.0, 0.0)
    assert moderate["covered"] is None and moderate["covered_without_funder_run"] is True
    assert "not tested" in moderate["verdict_note"]
    # A funder run of 600 / 1,800 of the lending would exhaust what moderate withdrawals leave.
    assert moderate["funding_runoff_to_break"] == pytest.approx(600 / 1800)
    assert stressed["funding_runoff_to_break"] == 0.0


def test_funder_run_from_the_parameter_or_the_disclosure():
    # Half of the 1,800 of lending can leave: 900 more on day 1.
    for f in (funding(funding_runoff=0.5), funding(disclosure={"funding_runoff": 0.5})):
        stressed, moderate = f["cases"]
        assert f["funder_run"]["tested"] and f["funder_run"]["outflow"] == 900.0
        assert (stressed["outflows"], stressed["gap"]) == (2500.0, 1500.0)
        assert (moderate["outflows"], moderate["gap"], moderate["covered"]) == \
            (1300.0, 300.0, False)
    f = funding(capital=(16000.0, 5000.0), funding_runoff=0.5)
    assert f["covered"] is True and f["cases"][1]["covered"] is True
    assert funding(capital=(16000.0, 5000.0), funding_runoff=0.0)["covered"] is True


def test_funding_without_liquid_assets_has_no_verdict():
    f = funding(capital=None, funding_runoff=0.5)
    assert f["liquid_assets"] is None and f["covered"] is None
    assert all(c["gap"] is None and "liquid assets" in c["verdict_note"] for c in f["cases"])


def test_funding_runoff_outside_0_1_is_refused():
    with pytest.raises(StressError, match="between 0 and 1"):
        funding(funding_runoff=1.5)


def test_groups_scale_without_a_loop_per_account():
    # 50,000 accounts, one client each, every other pair linked: 25,000 linked groups.
    n = 50_000
    ids = np.array([f"A{i:07d}" for i in range(n)])
    clients = np.array([f"K{i:07d}" for i in range(n)])
    t = tables([], [], [("X", 1e9, None)], capital=None)
    t["accounts"] = pl.DataFrame({"date": [DAY] * n, "account_id": ids, "client_id": clients,
                                  "cash": np.zeros(n), "debt": np.ones(n)})
    t["positions"] = pl.DataFrame({"date": [DAY] * n, "account_id": ids,
                                   "instrument_id": ["X"] * n, "quantity": np.ones(n),
                                   "price": np.ones(n), "market_value": np.ones(n)})
    fin = pl.DataFrame({"financing_id": ids[::2], "account_id": ids[::2],
                        "client_id": clients[::2], "account_holder_id": clients[1::2]})
    book = build_book(t, DAY)
    g = client_groups(book, fin, DAY)
    assert g.n_groups == n // 2 and g.linked.all()
    assert (g.group[::2] == g.group[1::2]).all()


def test_a_client_seen_only_in_financings_still_joins_groups():
    # C-ANNA-01 trades the account of a holder with no account in the book; C-DANA-04 is
    # linked to C-ANNA-01 through that same holder: one group of both, linked.
    fin = financings([("C-ANNA-01", "H-ZED-99", datetime(2023, 6, 1)),
                      ("C-DANA-04", "H-ZED-99", datetime(2023, 6, 1))])
    t = tables(ACCOUNTS, POSITIONS, [("X", 1e9, None)], financings=fin)
    book = build_book(t, DAY)
    g = client_groups(book, t["financings"], DAY)
    group = dict(zip(book.account_ids.tolist(), g.group.tolist()))
    assert group["A1"] == group["A2"] == group["A6"] and g.linked[group["A1"]]
    assert g.clients(group["A1"]).tolist() == ["C-ANNA-01", "C-DANA-04", "H-ZED-99"]
    c = run(t).to_dict()["cover"]
    assert c["groups"] == 4 and c["linked_groups"] == 1  # ANNA+DANA+holder, BORIS, CHEN, A5
    assert c["largest"][0]["clients_in_group"] == 3 and c["cover_1"] == 4500.0
