"""An "unknown export": the sample with every file renamed the way platforms name them (Chinese,
abbreviated, dated) and most headers renamed (Chinese, CamelCase, abbreviations, other
spellings). Written before `audit init` was, to measure how long mapping it by hand takes; not
tuned to the guesser afterwards.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"

# sample file -> (new file name, {contract header: platform header})
RENAMES: dict[str, tuple[str, dict[str, str]]] = {
    "platform.csv": ("平台参数披露.csv", {
        "platform_id": "平台代码", "platform_name": "平台名称", "disclosed_at": "公告日期",
        "effective_from": "生效日期", "initial_margin": "InitialMarginRate",
        "maintenance_margin": "维持保证金率", "margin_call_ratio": "警戒线",
        "liquidation_ratio": "平仓线", "call_response_hours": "追保通知时限（小时）",
        "notice_period_hours": "宽限期(小时)", "interest_rate_annual": "融资利率(年)",
        "commission_rate": "佣金率", "day_count": "计息天数基准",
        "leverage_cap_retail": "Retail Leverage Cap",
        "leverage_cap_professional": "Professional Leverage Cap", "custodian": "存管银行",
        "capital_buffer_min": "MinCapital", "liquidity_buffer_min": "MinLiquidity",
        "clearing_chain": "清算链", "ccp_exposure_disclosed": "CCP敞口披露",
        "last_audit_date": "上次审计日期", "risk_warning_pct": "亏损客户占比",
    }),
    "clients.csv": ("T_CUST_INFO_20250630.csv", {
        "client_id": "客户编号", "name": "客户姓名", "category": "投资者分类",
        "id_type": "证件类型", "id_number": "证件号码", "phone": "手机号",
        "bank_account": "银行账号", "onboarded_at": "开户日期", "pep": "是否PEP",
        "risk_rating": "风险等级", "entity_type": "EntityType",
        "first_trade_date": "首次交易日期", "credit_account_opened_at": "信用账户开户日期",
    }),
    "kyc_events.csv": ("kyc_hist.csv", {
        "event_id": "evt_id", "client_id": "cust_id", "event_type": "evt_type",
        "event_date": "evt_date", "outcome": "result", "risk_grade": "Risk Grade",
        "risk_rating": "risk_rtg", "pep": "PEP Flag", "list_version": "list_ver",
        "valid_until": "valid_to",
    }),
    "accounts.csv": ("acct_daily_snapshot.csv", {
        "date": "biz_date", "account_id": "acct_no", "client_id": "cust_no", "cash": "cash_bal",
        "market_value": "mkt_val", "debt": "loan_bal", "equity": "net_equity",
        "leverage": "lev_ratio", "pledged_value": "pledged_val", "day_trades_5d": "DayTrades5D",
        "short_market_value": "short_mkt_val",
    }),
    "positions.csv": ("持仓明细_20250630.csv", {
        "date": "日期", "account_id": "资金账号", "instrument_id": "证券代码",
        "quantity": "持仓数量", "price": "收盘价", "market_value": "市值",
    }),
    "instruments.csv": ("证券信息表.csv", {
        "instrument_id": "证券代码", "name": "证券简称", "asset_class": "资产类别",
        "exchange": "交易所", "adv": "日均成交额",
    }),
    "instrument_terms.csv": ("担保品折算率.csv", {
        "instrument_id": "sec_code", "effective_from": "eff_from", "effective_to": "eff_to",
        "haircut": "折算率", "margin_eligible": "融资标的", "collateral_eligible": "担保品",
    }),
    "financings.csv": ("配资合同.csv", {
        "financing_id": "合同编号", "account_id": "资金账户", "client_id": "客户号",
        "opened_at": "签约日期", "amount": "配资金额", "equity_at_open": "保证金",
        "leverage_at_open": "杠杆倍数", "rate_annual": "年化利率", "term_days": "期限(天)",
        "product_risk_level": "产品风险等级", "underlying_asset_class": "标的类别",
        "account_holder_id": "账户持有人", "funder_controls_password": "出资方控制密码",
        "warning_line": "预警线", "liquidation_line": "平仓线",
    }),
    "margin_events.csv": ("risk_ctrl_events.csv", {
        "event_id": "EventID", "account_id": "AccountNo", "event_type": "EventType",
        "event_at": "EventTime", "collateral_ratio": "CollateralRatio", "amount": "Amount",
        "equity_after": "EquityAfter", "clearing_ref": "ClearingRef",
        "related_event_id": "RelatedEventID", "reason": "Reason", "trigger_ratio": "TriggerRatio",
        "deadline_at": "Deadline", "channel": "NotifyChannel", "delivered_at": "DeliveredTime",
    }),
    "ledger.csv": ("出入金流水.csv", {
        "entry_id": "流水号", "date": "发生日期", "account_id": "资金账号", "amount": "发生金额",
        "counterparty_type": "对方类型", "description": "摘要",
    }),
    "custody.csv": ("bank_custody_stmt.csv", {
        "date": "stmt_date", "custody_account": "custody_acct", "custodian": "bank",
        "statement_balance": "stmt_balance", "ack_letter_signed_at": "ack_letter_date",
    }),
    "fees.csv": ("收费明细.csv", {
        "fee_id": "费用编号", "date": "计费日期", "account_id": "资金账号",
        "financing_id": "合同编号", "fee_type": "费用类型", "base_amount": "计费基数",
        "rate": "费率", "days": "计息天数", "charged": "实收金额",
    }),
    "audits.csv": ("审计报告.csv", {
        "audit_id": "报告编号", "auditor": "会计师事务所", "period_start": "审计期间起",
        "period_end": "审计期间止", "report_date": "报告日期", "opinion": "审计意见",
    }),
    "capital.csv": ("net_cap_daily.csv", {
        "date": "日期", "net_capital": "净资本", "liquid_assets": "流动资产",
    }),
    "stress_tests.csv": ("压力测试记录.csv", {
        "test_id": "TestNo", "run_date": "RunDate", "scenario": "Scenario", "shock": "ShockPct",
        "shortfall": "Shortfall", "net_capital": "NetCapital", "approved_by": "ApprovedBy",
    }),
}


def write_unknown_export(target: Path) -> Path:
    """Write the renamed export into ``target`` (created) and return it."""
    target.mkdir(parents=True, exist_ok=True)
    for source, (new_name, headers) in RENAMES.items():
        text = (SAMPLE / source).read_text(encoding="utf-8")
        first, _, rest = text.partition("\n")
        row = next(csv.reader([first]))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([headers.get(h, h) for h in row])
        (target / new_name).write_text(out.getvalue() + rest, encoding="utf-8")
    return target


def true_mapping() -> dict[str, dict[str, str]]:
    """table -> {platform header: contract column}: what a correct mapping says."""
    return {source[:-4]: {new: old for old, new in headers.items()}
            for source, (_, headers) in RENAMES.items()}
