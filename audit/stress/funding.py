"""Funding stress: can the platform pay what can leave it within 30 days out of its liquid assets?

The credit stress asks whether capital absorbs the shortfall; this room asks whether cash is
there when it is asked for (CPMI-IOSCO PFMI Principle 7, liquidity risk; the 30-day horizon of
the Basel Committee's Liquidity Coverage Ratio, BCBS 2013). Three sources of outflow:

1. clients withdraw their free cash: the cash of accounts without debt, and the cash of
   accounts with debt above what keeps their collateral ratio at the call line (the most a
   client can take out without being called). Assumes client cash sits in the platform's liquid
   assets; where it is segregated with a custodian this leg does not drain the platform;
2. a funder run: the share of the platform's lending funded by others who can withdraw it
   (``funding_runoff``). The export has no funding table, so without that figure the run is
   *not tested*, and the verdict is never shown as passed;
3. settlement: A-share sale proceeds settle on T+1 (中国结算, A 股资金 T+1 交收), so the forced
   sales of the scenario repay debt from day 2 at the earliest and do not offset day-1 outflows.

Both outflows are put on day 1, as in a run; the gap is day-1 outflows less liquid assets."""

from __future__ import annotations

from typing import Any

import numpy as np

from audit.stress.book import Book
from audit.stress.model import Lines, StressError

HORIZON_DAYS = 30
RUN_OFF_CASES = (("stressed", 1.0), ("moderate", 0.25))  # share of free cash withdrawn
NOT_TESTED = "not tested: no funding data (pass funding_runoff, the share of lending funded " \
             "by others who can withdraw it within 30 days)"


def free_cash(book: Book, lines: Lines) -> tuple[float, float]:
    """(cash of accounts without debt, cash of accounts with debt above the call line) at the
    as-of date. Negative cash (an overdraft) frees nothing."""
    cash = np.maximum(book.cash, 0.0)
    has_debt = book.debt > 0
    assets = book.cash + book.account_values()
    excess = np.minimum(cash, np.maximum(assets - lines.call * book.debt, 0.0))
    return float(cash[~has_debt].sum()), float(excess[has_debt].sum())


def forced_sale_inflows(book: Book, assets_after: np.ndarray, closed: np.ndarray) -> float:
    """Debt repaid by the scenario's forced sales: each closed account's sale proceeds, up to
    the debt its own cash does not already cover (the rest is the client's)."""
    cash = np.maximum(book.cash, 0.0)
    proceeds = np.maximum(assets_after - book.cash, 0.0)
    owed = np.maximum(book.debt - cash, 0.0)
    repaid = np.where(closed & (book.debt > 0), np.minimum(proceeds, owed), 0.0)
    return float(repaid.sum())


def funding_stress(book: Book, lines: Lines, assets_after: np.ndarray, closed: np.ndarray,
                   liquid_assets: float | None, funding_runoff: float | None,
                   scenario: str, cases=RUN_OFF_CASES) -> dict[str, Any]:
    """Outflows by source for each run-off case, liquid assets, the day-1 gap and ``covered``
    (True / False / None: None when liquid assets are unknown or a leg was not tested)."""
    if funding_runoff is not None and not 0 <= funding_runoff <= 1:
        raise StressError(f"funding_runoff {funding_runoff!r}: give the share of lending "
                          "funded by others that can leave within 30 days, between 0 and 1")
    no_debt, excess = free_cash(book, lines)
    debt = float(book.debt[book.debt > 0].sum())
    funder = 0.0 if funding_runoff is None else funding_runoff * debt
    inflows = forced_sale_inflows(book, assets_after, closed)
    rows = []
    for name, run_off in cases:
        withdrawals = run_off * (no_debt + excess)
        outflows = withdrawals + funder
        rows.append({"case": name, "run_off": run_off, "withdrawals": withdrawals,
                     "funder_run": funder, "outflows": outflows,
                     **_verdict(withdrawals, outflows, liquid_assets, inflows,
                                funding_runoff is not None),
                     # NOTE: the reverse question, answerable without funding data: the
                     # funder run (share of debt) that would exhaust what withdrawals leave.
                     "funding_runoff_to_break": None if liquid_assets is None or debt <= 0
                     else max(liquid_assets - withdrawals, 0.0) / debt})
    return {
        "scenario": scenario, "horizon_days": HORIZON_DAYS,
        "liquid_assets": liquid_assets,
        "free_cash": {"accounts_without_debt": no_debt, "excess_over_call_line": excess,
                      "withdrawable": no_debt + excess, "call_line": lines.call},
        "funder_run": {"tested": funding_runoff is not None, "funding_runoff": funding_runoff,
                       "debt": debt, "outflow": funder,
                       "note": None if funding_runoff is not None else NOT_TESTED},
        "forced_sale_inflows": inflows,
        "assumptions": [
            "free cash: cash of accounts without debt, plus cash of accounts with debt above "
            "what keeps their collateral ratio at the call line, at the as-of date",
            "client cash is assumed held in the platform's liquid assets (not segregated)",
            "every outflow falls on day 1 (a run); forced-sale proceeds settle T+1 and repay "
            "debt from day 2, so they do not offset day-1 outflows",
            "gap: day-1 outflows less liquid assets; gap_after_settlement also counts the "
            "forced-sale repayments that arrive within the horizon",
        ],
        "cases": rows,
        "covered": rows[0]["covered"] if rows else None,
    }


def _verdict(withdrawals: float, outflows: float, liquid: float | None, inflows: float,
             funder_tested: bool) -> dict[str, Any]:
    if liquid is None:
        return {"gap": None, "gap_after_settlement": None, "covered": None,
                "covered_without_funder_run": None,
                "verdict_note": "not tested: no liquid assets in the capital table"}
    gap = max(outflows - liquid, 0.0)
    after = max(outflows - liquid - inflows, 0.0)
    # NOTE: a failure on the legs tested is a failure; a pass without the funder leg is not
    # a pass, since a funder run could only add to the outflows.
    covered = False if gap > 0 else (True if funder_tested else None)
    note = None if covered is not None else "covered on client withdrawals alone; " + NOT_TESTED
    return {"gap": gap, "gap_after_settlement": after, "covered": covered,
            "covered_without_funder_run": bool(withdrawals <= liquid), "verdict_note": note}
