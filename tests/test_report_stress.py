"""The report's stress pages beyond the scenarios: who bears the loss (cover-1 / cover-2),
concentration, the funding stress and the common exposures.

Most tests render HTML only (a PDF costs seconds); one renders the PDF to check the pages exist.
The fixture's figures are typed in by hand, so what the page must show is known.
"""

from __future__ import annotations

import copy
import re
from html import unescape

import pytest
from markupsafe import escape

from audit.report.stress_sections import masked, stress_sections
from audit.stress.result import PATH_RULES
from tests.test_report import (
    HOSTILE_IMG, HOSTILE_LINK, HOSTILE_SCRIPT, _render, stress_fixture, synthetic_run,
)

RAW_ID = "C0042RAW"  # a client id that reached stress.json unmasked


def sections_fixture() -> dict:
    """stress.json with the four sections, figures chosen to be easy to find on the page."""
    stress = stress_fixture()
    stress["cover"] = {
        "scenario": "cn_2015", "groups_note": None, "groups": 193, "linked_groups": 2,
        "financing_links": 3, "groups_with_shortfall": 49,
        "cover_1": 272774.51, "cover_1_vs_capital": 0.027219,
        "cover_2": 545549.01, "cover_2_vs_capital": 0.054439,
        "groups_tied_at_cover_1": 43, "group_shortfall_total": 11945558.36,
        "largest_groups_share_of_shortfall": 0.04567,
        "largest": [
            {"rank": 1, "clients": ["*****02", "*****17"], "clients_in_group": 2, "accounts": 3,
             "linked": True, "group_shortfall": 272774.51, "shortfall_vs_capital": 0.027219},
            {"rank": 2, "clients": ["account ****05"], "clients_in_group": 0, "accounts": 1,
             "linked": False, "group_shortfall": 272774.50, "shortfall_vs_capital": 0.027219},
        ],
    }
    stress["concentration_detail"] = {
        "participation": 0.2,
        "instruments": [
            {"instrument_id": "603709", "board": "main", "share_of_book": 0.447616,
             "held_value": 37260624.0, "units": 2631400.0, "total_shares": 210500000.0,
             "share_of_total_shares": 0.0125, "adv": 85.0, "days_at_participation": 154788.2353,
             "no_market": False, "leveraged_holders": 45, "debt_secured": 14985600.0,
             "share_of_debt_secured": 0.38132},
            {"instrument_id": "OTC-9", "board": None, "share_of_book": 0.01, "held_value": 1e5,
             "units": 1e3, "total_shares": None, "share_of_total_shares": None, "adv": None,
             "days_at_participation": None, "no_market": True, "leveraged_holders": 1,
             "debt_secured": 5e4, "share_of_debt_secured": 0.001},
        ],
    }
    stress["funding"] = {
        "scenario": "cn_2015", "horizon_days": 30, "liquid_assets": 5910738.08,
        "free_cash": {"accounts_without_debt": 1085691.48, "excess_over_call_line": 2418338.69,
                      "withdrawable": 3504030.17, "call_line": 1.5},
        "funder_run": {"tested": False, "funding_runoff": None, "debt": 39299322.44,
                       "outflow": 0.0, "note": "not tested: no funding data (pass ...)"},
        "forced_sale_inflows": 16723242.29,
        "cases": [
            {"case": "stressed", "run_off": 1.0, "withdrawals": 3504030.17, "funder_run": 0.0,
             "outflows": 3504030.17, "gap": 0.0, "gap_after_settlement": 0.0, "covered": None,
             "covered_without_funder_run": True,
             "verdict_note": "covered on client withdrawals alone; not tested: no funding data",
             "funding_runoff_to_break": 0.06124},
            {"case": "moderate", "run_off": 0.25, "withdrawals": 876007.54, "funder_run": 0.0,
             "outflows": 876007.54, "gap": 0.0, "gap_after_settlement": 0.0, "covered": None,
             "covered_without_funder_run": True,
             "verdict_note": "covered on client withdrawals alone; not tested: no funding data",
             "funding_runoff_to_break": 0.128112},
        ],
        "covered": None,
    }
    stress["common_exposures"] = {
        "available": True, "scenario": "cn_2015", "stocks_held": 110, "stocks_covered": 7,
        "rows_without_source": 0, "collateral_ratio_assumed": 2,
        "totals": {"margin_balance": 8.8e8, "other_debt": 1.1e9, "other_holdings_value": 2.75e9,
                   "platform_leveraged_value": 4.2e7, "platform_share": 0.015044,
                   "other_accounts": 140},
        "stocks": [{"instrument_id": "603709", "margin_balance": 1.2e8, "offexchange_multiple": 0.3,
                    "multiple_assumed": False, "other_debt": 1.56e8, "collateral_ratio": 2.5,
                    "collateral_ratio_assumed": True, "platform_leveraged_value": 3.7e7,
                    "platform_share": 0.086636, "price_fall_platform_alone": 0.12,
                    "price_fall_with_other_holders": 0.31, "days_of_adv_sold": 4.25}],
        "shortfall_without": 2345678.91, "shortfall_with": 3456789.12,
        "shortfall_added": 1111110.21, "shortfall_without_vs_capital": 0.234,
        "shortfall_with_vs_capital": 0.345, "covered_by_capital_with": True,
        "accounts_liquidated_without": 17, "accounts_liquidated_with": 29,
        "other_accounts_liquidated": 61, "other_sales_value": 4.4e8, "rounds_with": 6,
        "converged_with": True,
        "glt": {"available": True, "aggregate_vulnerability": 0.7071,
                "aggregate_vulnerability_platform_alone": 0.0123,
                "second_round_loss_platform": 654321.0, "second_round_loss_platform_alone": 12345.0,
                "second_round_loss_others": 9.9e7, "equity_platform": 1.9e7,
                "equity_others": 1.6e9, "instruments_without_impact": 0},
    }
    return stress


def part(html: str, start: str, end: str | None = None) -> str:
    """The HTML from the element with id ``start`` to the one with id ``end`` (else the next
    heading)."""
    text = html[html.index(f'id="{start}"'):]
    return text[:text.index(f'id="{end}"')] if end else text[:text.index("<h3", 1)]


def sections(html: str) -> str:
    """The HTML of the four sections and what follows them to the end of the chapter."""
    text = html[html.index('id="stress-cover"'):]
    return text[:text.index("</section>")]


def flat(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(scope="module")
def run():
    return synthetic_run(accounts=12)


@pytest.fixture(scope="module")
def en_html(run, tmp_path_factory) -> str:
    return _render(tmp_path_factory.mktemp("sx-en"), run, formats=("html",), lang="en",
                   stress=sections_fixture()).html


@pytest.fixture(scope="module")
def zh_html(run, tmp_path_factory) -> str:
    return _render(tmp_path_factory.mktemp("sx-zh"), run, formats=("html",), lang="zh",
                   stress=sections_fixture()).html


# --- the view -------------------------------------------------------------------------------

def test_covered_only_on_an_explicit_true():
    stress = sections_fixture()
    view = stress_sections(stress)["funding"]
    assert view["verdict"] == "not_tested"
    assert [c["verdict"] for c in view["cases"]] == ["not_tested", "not_tested"]
    assert view["cases"][0]["reason_key"] == "withdrawals_only"
    # the funder leg's outflow of 0 is not a figure: the leg was not tested
    assert view["funder"] == {"tested": False, "runoff": None, "debt": 39299322.44,
                              "outflow": None, "reason_key": "no_funding_data"}
    stress["funding"]["covered"] = "true"  # not the JSON true
    stress["funding"]["funder_run"].pop("tested")  # an older file: not tested
    view = stress_sections(stress)["funding"]
    assert view["verdict"] == "not_tested" and view["funder"]["tested"] is False
    stress["funding"]["cases"][0].update(covered=False, gap=1.0)
    assert stress_sections(stress)["funding"]["cases"][0]["verdict"] == "not_covered"


def test_sections_not_run_are_not_tested_with_a_reason():
    view = stress_sections({"as_of": "2024-03-03"})
    assert all(view[k] == {"tested": False, "reason_key": "absent", "reason": None}
               for k in ("cover", "concentration", "funding", "common"))
    common = stress_sections({"common_exposures": {
        "available": False,
        "reason": "no market_leverage table in the export: the other leveraged holders ..."}})
    assert common["common"] == {"tested": False, "reason_key": "no_table", "reason": None}
    other = stress_sections({"common_exposures": {"available": False, "reason": "odd reason"}})
    assert other["common"]["reason"] == "odd reason"
    assert stress_sections(None) is None


def test_client_labels_are_masked_whatever_reaches_the_report():
    assert masked("*****02") == "*****02"
    assert masked("account ****05") == "account ****05"
    assert masked(RAW_ID) == "******AW"
    stress = sections_fixture()
    stress["cover"]["largest"][0]["clients"] = [RAW_ID, HOSTILE_IMG]
    labels = stress_sections(stress)["cover"]["largest"][0]["clients"]
    assert RAW_ID not in labels and HOSTILE_IMG not in labels
    assert labels[0] == "******AW"


# --- rendered pages -------------------------------------------------------------------------

def test_who_bears_the_loss_in_english(en_html):
    text = flat(part(en_html, "stress-cover", "stress-concentration"))
    # the severe scenario by its title (a reader's name for it), not its file name cn_2015
    assert "Who bears the loss" in text and "(2015 A-share crash)" in text
    assert "272,775" in text and "545,549" in text  # cover-1, cover-2
    assert "2.7% of net capital" in text and "5.4% of net capital" in text
    assert "193" in text and "(3 financings link two clients)" in text
    assert "49 groups leave a shortfall, 11,945,558 in all" in text and "4.6%" in text
    assert "43 groups tie at cover-1" in text
    assert "*****02, *****17" in text and "account ****05" in text


def test_concentration_in_english(en_html):
    text = flat(part(en_html, "stress-concentration", "stress-funding"))
    assert "Of total shares" in text and "Days to sell at 20% of volume" in text
    assert "603709" in text and "44.8%" in text and "1.25%" in text
    assert "154,788.2" in text and "14,985,600" in text and "38.1%" in text
    assert "no market" in text  # OTC-9 has no market, not a day count of 0
    assert "1 of these instruments have no total shares" in text


def test_funding_not_tested_is_never_covered(en_html):
    section = part(en_html, "stress-funding", "stress-common")
    text = flat(section)
    assert "Funding stress (30 days)" in text
    assert "Verdict: – Not tested" in text
    assert "mark-pass" not in section and "✓" not in text
    assert text.count("not tested") >= 2  # the funder leg of each case
    assert "≥ 3,504,030" in text and "5,910,738" in text  # outflows a lower bound, liquid assets
    assert "liquid assets cover client withdrawals, but the funder run was not tested" in text
    assert "A funder run of 6.1% of the platform's lending" in text
    assert "16,723,242" in text  # forced-sale repayments settle T+1


def test_funding_covered_only_when_every_leg_was_tested(run, tmp_path):
    stress = sections_fixture()
    funding = stress["funding"]
    funding["funder_run"].update(tested=True, funding_runoff=0.05, outflow=1964966.12)
    funding["cases"][0].update(funder_run=1964966.12, outflows=5468996.29, covered=True,
                               verdict_note=None)
    funding["cases"][1].update(funder_run=1964966.12, outflows=2840973.66, covered=False,
                               gap=1.0, verdict_note=None)
    funding["covered"] = True
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    section = part(html, "stress-funding", "stress-common")
    text = flat(section)
    assert "Verdict: ✓ Covered" in text and "✗ Not covered" in text
    assert "≥" not in text and "1,964,966" in text and "5% of the platform's lending" in text


def test_common_exposures_in_english(en_html):
    section = part(en_html, "stress-common")
    text = flat(section)
    assert "Common exposures" in text and "For 7 of the 110 stocks" in text
    assert "1.5%" in text  # the platform's share of the leveraged holdings
    assert "2,345,679" in text and "3,456,789" in text and "1,111,110" in text
    assert "23.4% of net capital" in text and "34.5% of net capital" in text
    assert "70.71% of the equity of all leveraged holders" in text and "1.23%" in text
    assert "8.7%" in text and "12.0%" in text and "31.0%" in text and "4.2" in text
    assert "For 2 stocks the holders' collateral ratio was not given" in text


def test_common_exposures_not_available_says_not_tested(run, tmp_path):
    stress = sections_fixture()
    stress["common_exposures"] = {
        "available": False,
        "reason": "no market_leverage table in the export: the other leveraged holders of the "
                  "platform's stocks were not tested"}
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    section = part(html, "stress-common")
    text = flat(section)
    assert "Not tested: the export has no market_leverage table" in text
    assert "figure-value" not in section and "<table" not in section  # no figure, no zero


def test_chinese_pages(zh_html):
    text = flat(sections(zh_html))
    for term in ("谁承担损失", "覆盖一", "覆盖二", "占净资本 2.7%", "集中度", "占总股本",
                 "按成交量 20% 卖出所需天数", "资金流出压力（30 日）", "资金方撤资", "未测试",
                 "流动资产足以覆盖客户提取，但未测试资金方撤资", "共同敞口", "其他杠杆持有人",
                 "融资余额", "70.71%", "272,775", "1.25%"):
        assert term in text, term
    assert "Not tested" not in text and "Who bears" not in text


def test_older_stress_results_render_each_section_as_not_tested(run, tmp_path):
    html = _render(tmp_path, run, formats=("html",), stress=stress_fixture()).html
    text = flat(sections(html))
    # the four sections, then reverse stress and model risk (the path comes before them)
    assert text.count("Not tested: these stress results do not hold this section") == 6


def test_partial_sections_render(run, tmp_path):
    stress = stress_fixture()
    stress.update(
        cover={"cover_1": None, "largest": [{"clients": None}, "junk", {"clients": "x"}]},
        concentration_detail={"instruments": [{"instrument_id": "X1"}, None]},
        funding={"cases": [{"case": "unheard"}], "funder_run": None, "free_cash": None},
        common_exposures={"available": True, "glt": {"available": False}},
    )
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    text = flat(sections(html))
    assert "Who bears the loss" in text and "X1" in text and "unheard" in text
    assert "✓" not in text and "Not tested" in text


def test_hostile_values_are_escaped_and_ids_stay_masked(run, tmp_path):
    stress = sections_fixture()
    stress["cover"]["largest"][0]["clients"] = [RAW_ID, HOSTILE_IMG]
    stress["concentration_detail"]["instruments"][0]["instrument_id"] = HOSTILE_SCRIPT
    stress["common_exposures"]["stocks"][0]["instrument_id"] = HOSTILE_LINK
    stress["funding"]["cases"][0]["case"] = HOSTILE_SCRIPT
    stress["common_exposures"]["glt"] = {"available": False, "reason": HOSTILE_IMG}
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    assert RAW_ID not in html and "******AW" in html
    for hostile in (HOSTILE_IMG, HOSTILE_LINK, HOSTILE_SCRIPT):
        assert hostile not in html
    assert str(escape(HOSTILE_SCRIPT)) in html and str(escape(HOSTILE_LINK)) in html
    assert str(escape(HOSTILE_IMG)) in html  # the GLT reason, shown as text


def test_pdf_has_the_pages(run, tmp_path):
    stress = copy.deepcopy(sections_fixture())
    rendered = _render(tmp_path, run, formats=("pdf",), lang="zh", stress=stress)
    text = " ".join(rendered.text.split())
    for term in ("谁承担损失", "集中度：最大持仓", "资金流出压力", "共同敞口", "未测试"):
        assert term in text, term


# --- the multi-day path, reverse stress and model risk ---------------------------------------

def path_fixture() -> dict:
    """stress.json with the verdict's engine: the severe row's path figures and grid, the path
    day by day, reverse stress (a cliff) and the one-instant model grid where the price floor
    decides. Figures typed in by hand."""
    stress = sections_fixture()
    stress["capital"] = {"net_capital": 10_000_000.0, "liquid_assets": 6e6}
    cells = [{"coefficient": y, "kind": "sqrt", "participation": p,
              "shortfall": 9.0e6 + y * 1e6 + p * 1e6,
              "verdict": "covered" if p < 0.3 else "not covered"}
             for y in (0.5, 1.0, 2.0) for p in (0.1, 0.2, 0.4)]
    cells.append({"coefficient": 1.0, "kind": "linear", "participation": 0.2,
                  "shortfall": 9.5e6, "verdict": "covered"})
    stress["scenarios"][0].update(
        path_shortfall=7654321.09, stressed_shortfall=7654321.09,
        stressed_engine="multi-day path", covered_by_capital=True, verdict_stable=False,
        path_days_to_liquidate=12.5, horizon_days=10, shortfall_vs_capital=0.765432,
        path_grid={"engine": "multi-day path", "verdict": "covered", "verdict_stable": False,
                   "default": {"coefficient": 1.0, "kind": "sqrt", "participation": 0.2},
                   "cells": cells, "shortfall_range": [9.6e6, 11.4e6],
                   "deciding_parameters": ["participation"], "flips": []})
    stress["path"] = {
        "scenario": "cn_2015", "params": {"horizon_days": 10, "participation": 0.2,
                                          "grace_days": 2, "suspended_instruments": 3},
        "rules": [PATH_RULES[0], "a rule this report does not know"],
        "sources": ["SSE, SZSE and BSE trading rules: daily price limits"],
        "shortfall": 7654321.09, "static_shortfall": 6543210.98, "value_unsold": 4321098.76,
        "units_unsold": 1000.0, "gap_loss": 3210987.65, "sales_value": 2109876.54,
        "accounts_closed": 77, "wiped_out": 33, "days_locked_max": 4,
        "instruments_locked_every_day": 0, "days_to_liquidate": 12.5,
        "unsellable_within_horizon": ["600001", "600002"],
        "daily": [{"day": 0, "price_move": 0.0, "sales_value": 0.0, "units_sold": 0.0,
                   "accounts_closed": 5, "instruments_locked": 0, "instruments_suspended": 0,
                   "shortfall": 0.0},
                  {"day": 1, "price_move": -0.1, "sales_value": 123456.0, "units_sold": 10.0,
                   "accounts_closed": 20, "instruments_locked": 41, "instruments_suspended": 3,
                   "shortfall": 1111111.0},
                  {"day": 2, "price_move": -0.1, "sales_value": 654321.0, "units_sold": 20.0,
                   "accounts_closed": 52, "instruments_locked": 12, "instruments_suspended": 3,
                   "shortfall": 7654321.09}]}
    crossing = {"reached": True, "scan_monotone": True, "threshold": -0.19,
                "threshold_shortfall": 13119681.16, "previous": -0.185, "previous_shortfall": 0.0,
                "cliff": True, "refined": {"threshold": -0.187},
                "static": {"reached": True, "threshold": -0.68}}
    stress["reverse"] = {
        "evaluable": True, "net_capital": 10_000_000.0,
        "engine": "one instant: static shock, then the deleveraging spiral",
        "grid_step": 0.005, "refined_step": 0.001, "uniform": crossing,
        "single_name": [{"instrument_id": "301999", "asset_class": "equity",
                         "share_of_book": 0.4856, **crossing, "threshold": -0.415},
                        {"instrument_id": "600546", "asset_class": "equity",
                         "share_of_book": 0.0463, "reached": False, "threshold": None,
                         "previous": -1.0, "previous_shortfall": 0.0, "cliff": False,
                         "static": {"reached": False}}],
        "equity_safe_haven": {"evaluable": True, "safe_haven_held": True,
                              "equity_classes": ["equity"], "safe_haven_classes": ["bond"],
                              "thresholds": [{"safe_haven_shock": 0.1, **crossing},
                                             {"safe_haven_shock": -0.3, **crossing,
                                              "threshold": -0.155, "cliff": False}]}}
    grid = [{"coefficient": y, "kind": k, "max_impact": f, "impact_off": y == 0,
             "shortfall": 2e6 if f < 0.9 else 1.5e7,
             "verdict": "covered" if f < 0.9 or y == 0 else "not covered"}
            for y in (0.0, 1.0) for k in ("sqrt", "linear") for f in (0.5, 0.9)]
    stress["model_risk"] = {
        "scenario": "cn_2015", "net_capital": 1e7,
        "default": {"coefficient": 1.0, "kind": "sqrt", "max_impact": 0.9}, "cells": grid,
        "default_shortfall": 1.5e7, "default_verdict": "not covered", "verdict_stable": False,
        "deciding_parameters": ["max_impact"], "impact_off": {"shortfall": 1030057.44},
        "assumptions": [{"assumption": "price floor (max_impact)", "value": 0.9,
                         "source": "toolkit assumption", "effect": "sets the fire-sale price"},
                        {"assumption": "stressed daily volatility", "value": {"equity": 0.05},
                         "source": "S&P 500 2008", "effect": "enters as Y x sigma"}]}
    return stress


@pytest.fixture(scope="module")
def path_en(run, tmp_path_factory) -> str:
    return _render(tmp_path_factory.mktemp("sp-en"), run, formats=("html",), lang="en",
                   stress=path_fixture()).html


def test_scenario_table_headline_is_the_path_with_its_verdict(path_en):
    table = path_en[path_en.index('class="data scenarios"'):]
    text = flat(table[:table.index("</table>")])
    assert "Shortfall over the stress horizon (verdict)" in text
    assert "One-instant spiral (sensitivity)" in text
    assert "7,654,321" in text and "76.5%" in text and "2,345,679" in text
    assert "✓ Covered · depends on the model: participation rate" in text
    assert "12.5" in text  # the path's days, not the one-instant 32.5
    # the older row without a path: the spiral is its headline, labelled so
    assert "300,000 one-instant spiral" in text


def test_the_multi_day_path_in_english(path_en):
    start = path_en.index('id="stress-path"')
    text = flat(path_en[start:path_en.index("<table", start)])
    assert "The multi-day path: 2015 A-share crash" in text
    assert "10 trading days" in text and "20% of an instrument's average daily volume" in text
    assert "after 2 grace day(s)" in text and "3 instruments are suspended" in text
    assert "7,654,321" in text and "76.5% of net capital" in text
    assert "4,321,099" in text and "3,210,988" in text and "77" in text
    assert "✓ Covered" in text and "6,543,211" in text and "600001, 600002" in text


def test_path_days_rules_and_chart(path_en):
    start = path_en.index('id="stress-path"')
    text = flat(path_en[start:path_en.index('id="stress-cover"')])
    # two 10% falls chain to an index of 0.9 x 0.9 = 0.81
    assert "0.900" in text and "0.810" in text and "-10.0%" in text
    assert "123,456" in text and "654,321" in text and "41" in text
    assert PATH_RULES[0] in text and "a rule this report does not know" in text
    assert "the book's price index (left)" in text  # the chart's caption
    assert path_en.count("data:image/svg+xml;base64,") >= 6  # + the path chart


def test_reverse_stress_shows_cliffs_and_not_reached(path_en):
    text = flat(part(path_en, "stress-reverse", "stress-model-risk"))
    assert "Every holding falls by the same share -19.0% cliff -18.7% -18.5% 0 13,119,681" \
        in text
    assert "-68.0%" in text  # the static-only threshold
    assert "301999 falls alone 48.6% of the book -41.5% cliff" in text
    assert "600546 falls alone 4.6% of the book not reached down to -100%" in text
    assert "2 of these crossings are cliffs" in text
    assert "+10%" in text and "-30%" in text and "-15.5%" in text
    assert "one-instant engine" in text and "passed" not in text.lower()


def test_model_risk_grid_and_register(path_en):
    text = flat(path_en[path_en.index('id="stress-model-risk"'):
                        path_en.index("</section>", path_en.index('id="stress-model-risk"'))])
    assert "The verdict depends on price floor (max_impact): covered at 0.5; not covered at " \
           "0.9 (default)." in text
    assert "The verdict depends on participation rate: covered at 10%, 20% (default); not " \
           "covered at 40%." in text
    assert "impact off (reference)" in text and "not run" in text  # linear x 10% not run
    assert "15,000,000 ✗ Not covered" in text and "1,030,057" in text
    assert "Assumptions register" in text and "toolkit assumption" in text
    assert "equity: 0.05" in text


def test_reverse_and_model_risk_not_evaluable_or_not_run(run, tmp_path):
    stress = path_fixture()
    stress["reverse"] = {"evaluable": False, "reason": "not evaluable: no net capital"}
    del stress["model_risk"], stress["path"]
    for s in stress["scenarios"]:
        s.pop("path_grid", None)
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    reverse = flat(part(html, "stress-reverse", "stress-model-risk"))
    assert "Not evaluable: no net capital is known at the as-of date" in reverse
    assert "<table" not in part(html, "stress-reverse", "stress-model-risk")
    model = flat(html[html.index('id="stress-model-risk"'):])
    assert "No severe scenario ran the multi-day model grid" in model
    assert "Not tested: these stress results do not hold this section" in model
    path = flat(part(html, "stress-path"))
    assert "The multi-day path – Not tested" in path


def test_older_stress_results_say_not_tested_for_the_new_pages(run, tmp_path):
    html = _render(tmp_path, run, formats=("html",), stress=stress_fixture()).html
    for anchor in ("stress-path", "stress-reverse"):
        assert "Not tested" in flat(part(html, anchor)), anchor
    assert "model grid not run" in flat(html)  # the severe row without a grid


def test_path_pages_in_chinese(run, tmp_path):
    html = _render(tmp_path, run, formats=("html",), lang="zh", stress=path_fixture()).html
    text = flat(html[html.index('class="data scenarios"'):])
    for term in ("压力期内损失（结论依据）", "瞬时螺旋（敏感性）", "取决于模型：", "参与率",
                 "多日路径：2015 A-share crash", "跳空损失", "价格指数", "多日路径的假设",
                 "每只证券的情景跌幅", "a rule this report does not know", "反向压力测试",
                 "悬崖", "全部持仓同幅下跌", "301999 单独下跌", "跌至 -100% 仍未耗尽",
                 "权益类资产与避险资产", "模型风险", "结论取决于价格下限（max_impact）",
                 "取 0.5 时资本足以覆盖", "取 0.9（默认） 时不足以覆盖", "假设登记表",
                 "7,654,321"):
        assert term in text, term
    assert "Not tested" not in text and "Reverse stress" not in text


def test_hostile_strings_in_the_new_pages_are_escaped(run, tmp_path):
    stress = path_fixture()
    stress["path"]["rules"] = [HOSTILE_SCRIPT]
    stress["path"]["unsellable_within_horizon"] = [HOSTILE_IMG]
    stress["reverse"]["single_name"][0]["instrument_id"] = HOSTILE_LINK
    stress["model_risk"]["assumptions"][0]["source"] = HOSTILE_IMG
    stress["model_risk"]["cells"][0]["kind"] = HOSTILE_SCRIPT
    html = _render(tmp_path, run, formats=("html",), stress=stress).html
    for hostile in (HOSTILE_IMG, HOSTILE_LINK, HOSTILE_SCRIPT):
        assert hostile not in html
    assert str(escape(HOSTILE_SCRIPT)) in html and str(escape(HOSTILE_LINK)) in html
    assert str(escape(HOSTILE_IMG)) in html


def test_deciding_values_come_from_the_cells():
    view = stress_sections(path_fixture())["model_risk"]
    assert view["deciding"] == [{"parameter": "max_impact", "covers": [0.5], "fails": [0.9],
                                 "default": 0.9}]
    grids = view["path_grids"]
    assert grids[0]["deciding"] == [{"parameter": "participation", "covers": [0.1, 0.2],
                                     "fails": [0.4], "default": 0.2}]
    rows = grids[0]["table"]["rows"]
    assert [(r["kind"], r["coefficient"]) for r in rows] == [
        ("sqrt", 0.5), ("sqrt", 1.0), ("sqrt", 2.0), ("linear", 1.0)]
    assert rows[3]["cells"][0] is None and rows[1]["cells"][1]["default"] is True
    assert stress_sections({"reverse": {"evaluable": True}})["reverse"]["rows"][0]["known"] \
        is False
