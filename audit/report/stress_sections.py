"""The report's view of who bears a stressed loss and whether the platform can pay it.

Four sections of stress.json beyond the scenario table: ``cover`` (cover-1 / cover-2 by client
group), ``concentration_detail`` (the top holdings against shares issued, volume and debt),
``funding`` (a 30-day outflow test) and ``common_exposures`` (the market's other leveraged
holders of the same stocks). This module turns each into the fields the template
``partials/stress_sections.html.j2`` lays out, every field present (None when absent), so an
older or partial stress.json renders without error.

Two rules a regulator relies on are kept here rather than in the template:

- a test that was not run, or a leg of it that was not tested, is shown as *not tested* with
  its reason, never as a zero or as passed: ``verdict`` is ``"covered"`` only when the JSON
  says ``covered: true``;
- client ids are shown masked only. stress.json already masks them; a label that reaches the
  report without the mask character is masked again here, never shown as written.
"""

from __future__ import annotations

from typing import Any

from audit.mask import MASK, mask_other

SECTIONS = ("cover", "concentration_detail", "funding", "common_exposures")
# ``path``, ``reverse`` and ``model_risk`` are viewed by audit/report/stress_path.py.
ROWS_SHOWN = 10  # rows of each table; stress.json holds the top 10 already

# Reasons stress.json gives in English, matched by their opening words, so a Chinese report
# can say them in Chinese; any other reason is shown as written (autoescaped).
REASONS = (
    ("no market_leverage table", "no_table"),
    ("the market_leverage table has no row", "no_rows"),
    ("the common exposures were not run", "not_run"),
    ("the platform's leveraged accounts have no equity", "no_equity"),
    ("not tested: no liquid assets", "no_liquid"),
    ("covered on client withdrawals alone", "withdrawals_only"),
    ("not tested: no funding data", "no_funding_data"),
    ("not evaluable: no net capital", "no_capital"),
    ("not evaluable: the book holds no equity-like class", "no_equity_class"),
)

COVER_GROUP_FIELDS = ("rank", "clients_in_group", "accounts", "linked", "group_shortfall",
                      "shortfall_vs_capital")
INSTRUMENT_FIELDS = ("instrument_id", "board", "share_of_book", "held_value", "units",
                     "total_shares", "share_of_total_shares", "adv", "days_at_participation",
                     "no_market", "leveraged_holders", "debt_secured", "share_of_debt_secured")
CASE_FIELDS = ("case", "run_off", "withdrawals", "funder_run", "outflows", "gap",
               "gap_after_settlement", "covered_without_funder_run", "funding_runoff_to_break")
STOCK_FIELDS = ("instrument_id", "margin_balance", "offexchange_multiple", "multiple_assumed",
                "other_debt", "collateral_ratio", "collateral_ratio_assumed",
                "platform_leveraged_value", "platform_share", "price_fall_platform_alone",
                "price_fall_with_other_holders", "days_of_adv_sold")


def stress_sections(stress: dict | None) -> dict[str, Any] | None:
    """The four sections' view models, or None when the report has no stress results."""
    if not stress:
        return None
    # NOTE: the multi-day path, reverse stress and model risk have their own module.
    from audit.report.stress_path import model_risk_view, path_view, reverse_view

    scenarios = stress.get("scenarios")
    return {
        "cover": cover_view(stress.get("cover")),
        "concentration": concentration_view(stress.get("concentration_detail")),
        "funding": funding_view(stress.get("funding")),
        "common": common_view(stress.get("common_exposures")),
        "path": path_view(stress.get("path"), scenarios,
                          _dict(stress.get("capital")).get("net_capital")),
        "reverse": reverse_view(stress.get("reverse")),
        "model_risk": model_risk_view(stress.get("model_risk"), scenarios),
    }


# --- shared helpers ----------------------------------------------------------------------------

def reason_key(reason: Any) -> str | None:
    """The catalogue key (``stress_x.reason.<key>``) of a reason stress.json gives, if known."""
    if not isinstance(reason, str):
        return None
    text = reason.strip().lower()
    return next((key for start, key in REASONS if text.startswith(start.lower())), None)


def not_tested(reason: Any = None) -> dict[str, Any]:
    """A section that was not tested: its reason as a catalogue key, else as written."""
    key = reason_key(reason) if reason else "absent"
    return {"tested": False, "reason_key": key,
            "reason": None if key else str(reason)}


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _rows(items: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{f: item.get(f) for f in fields}
            for item in (items if isinstance(items, list) else [])[:ROWS_SHOWN]
            if isinstance(item, dict)]


def masked(label: Any) -> str:
    """A client label as the report may show it: masked. Labels already masked pass through
    (``account ****12`` for an account without a client id); anything else is masked again."""
    text = str(label)
    return text if MASK in text else mask_other(text)


# --- cover-1 / cover-2 -------------------------------------------------------------------------

def cover_view(cover: Any) -> dict[str, Any]:
    if not isinstance(cover, dict) or not cover:
        return not_tested()
    groups = []
    for item in cover.get("largest") or []:
        if not isinstance(item, dict):
            continue
        row = {f: item.get(f) for f in COVER_GROUP_FIELDS}
        clients = item.get("clients")
        clients = clients if isinstance(clients, list) else [] if clients is None else [clients]
        row["clients"] = [masked(c) for c in clients]
        groups.append(row)
    return {
        "tested": True,
        "scenario": cover.get("scenario"),
        "cover_1": cover.get("cover_1"), "cover_1_vs_capital": cover.get("cover_1_vs_capital"),
        "cover_2": cover.get("cover_2"), "cover_2_vs_capital": cover.get("cover_2_vs_capital"),
        "groups": cover.get("groups"), "linked_groups": cover.get("linked_groups"),
        "financing_links": cover.get("financing_links"),
        "groups_with_shortfall": cover.get("groups_with_shortfall"),
        "ties": cover.get("groups_tied_at_cover_1"),
        "total": cover.get("group_shortfall_total"),
        "largest_share": cover.get("largest_groups_share_of_shortfall"),
        # NOTE: the note says the grouping is by client id only (no links could be read).
        "grouped_by_client_only": bool(cover.get("groups_note")),
        "largest": groups[:ROWS_SHOWN],
    }


# --- concentration -----------------------------------------------------------------------------

def concentration_view(detail: Any) -> dict[str, Any]:
    if not isinstance(detail, dict) or not detail:
        return not_tested()
    rows = _rows(detail.get("instruments"), INSTRUMENT_FIELDS)
    return {
        "tested": True,
        "participation": detail.get("participation"),
        "instruments": rows,
        "without_total_shares": sum(1 for r in rows if r["share_of_total_shares"] is None),
        "without_market": sum(1 for r in rows if r["no_market"]),
    }


# --- funding stress ----------------------------------------------------------------------------

def verdict(covered: Any) -> str:
    """``covered`` / ``not_covered`` / ``not_tested``: covered only on an explicit true."""
    if covered is True:
        return "covered"
    if covered is False:
        return "not_covered"
    return "not_tested"


def funding_view(funding: Any) -> dict[str, Any]:
    if not isinstance(funding, dict) or not funding:
        return not_tested()
    free = _dict(funding.get("free_cash"))
    run = _dict(funding.get("funder_run"))
    # NOTE: a leg is tested only when the JSON says so; an older file without the flag is not.
    funder_tested = run.get("tested") is True
    liquid = funding.get("liquid_assets")
    cases = []
    for item in funding.get("cases") or []:
        if not isinstance(item, dict):
            continue
        row = {f: item.get(f) for f in CASE_FIELDS}
        row["verdict"] = verdict(item.get("covered"))
        note = item.get("verdict_note")
        if row["verdict"] == "not_tested":
            if liquid is None:
                note = note or "not tested: no liquid assets"
            elif not funder_tested:
                note = note or "covered on client withdrawals alone"
        row["reason_key"] = reason_key(note) if note else None
        row["reason"] = None if row["reason_key"] or not note else str(note)
        cases.append(row)
    return {
        "tested": True,
        "scenario": funding.get("scenario"),
        "horizon_days": funding.get("horizon_days"),
        "liquid_assets": liquid,
        "free_cash_no_debt": free.get("accounts_without_debt"),
        "free_cash_excess": free.get("excess_over_call_line"),
        "free_cash": free.get("withdrawable"),
        "call_line": free.get("call_line"),
        "funder": {"tested": funder_tested, "runoff": run.get("funding_runoff"),
                   "debt": run.get("debt"),
                   "outflow": run.get("outflow") if funder_tested else None,
                   "reason_key": None if funder_tested else "no_funding_data"},
        "inflows": funding.get("forced_sale_inflows"),
        "cases": cases,
        # NOTE: the reasons of the cases not tested, each once, shown under the table.
        "reasons": _distinct_reasons(c for c in cases if c["verdict"] == "not_tested"),
        "verdict": verdict(funding.get("covered")),
    }


def _distinct_reasons(rows) -> list[dict[str, Any]]:
    seen, out = set(), []
    for row in rows:
        key = (row["reason_key"], row["reason"])
        if key not in seen:
            seen.add(key)
            out.append({"reason_key": row["reason_key"], "reason": row["reason"]})
    return out


# --- common exposures --------------------------------------------------------------------------

def common_view(common: Any) -> dict[str, Any]:
    if not isinstance(common, dict) or not common:
        return not_tested()
    if common.get("available") is not True:
        return not_tested(common.get("reason") or "the common exposures were not run")
    totals = _dict(common.get("totals"))
    glt = _dict(common.get("glt"))
    glt_view = ({"tested": True,
                 "vulnerability": glt.get("aggregate_vulnerability"),
                 "vulnerability_alone": glt.get("aggregate_vulnerability_platform_alone"),
                 "loss_platform": glt.get("second_round_loss_platform"),
                 "loss_platform_alone": glt.get("second_round_loss_platform_alone"),
                 "loss_others": glt.get("second_round_loss_others"),
                 "equity_platform": glt.get("equity_platform"),
                 "equity_others": glt.get("equity_others"),
                 "without_impact": glt.get("instruments_without_impact")}
                if glt.get("available") is True
                else not_tested(glt.get("reason")))
    return {
        "tested": True,
        "scenario": common.get("scenario"),
        "stocks_held": common.get("stocks_held"),
        "stocks_covered": common.get("stocks_covered"),
        "rows_without_source": common.get("rows_without_source"),
        "collateral_ratio_assumed": common.get("collateral_ratio_assumed"),
        "margin_balance": totals.get("margin_balance"),
        "other_debt": totals.get("other_debt"),
        "other_holdings_value": totals.get("other_holdings_value"),
        "platform_value": totals.get("platform_leveraged_value"),
        "platform_share": totals.get("platform_share"),
        "other_accounts": totals.get("other_accounts"),
        "shortfall_without": common.get("shortfall_without"),
        "shortfall_with": common.get("shortfall_with"),
        "shortfall_added": common.get("shortfall_added"),
        "without_vs_capital": common.get("shortfall_without_vs_capital"),
        "with_vs_capital": common.get("shortfall_with_vs_capital"),
        "covered_with": verdict(common.get("covered_by_capital_with")),
        "liquidated_without": common.get("accounts_liquidated_without"),
        "liquidated_with": common.get("accounts_liquidated_with"),
        "other_liquidated": common.get("other_accounts_liquidated"),
        "other_sales": common.get("other_sales_value"),
        "converged_with": common.get("converged_with"),
        "glt": glt_view,
        "stocks": _rows(common.get("stocks"), STOCK_FIELDS),
    }
