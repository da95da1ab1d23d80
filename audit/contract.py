"""The data contract: every table a platform export may hold, its columns, types, units and keys.

The contract is data (``TABLES``); the pandera schemas, the loader's type parsing, the header
matching and ``docs/data-contract.md`` are all derived from it, so they cannot drift apart.

Version 2 makes audits time-correct: the published terms are versioned (the platform table is keyed
by disclosure date), due diligence is a history of events (``kyc_events``) instead of one
overwritten date per client, instrument terms carry effective dates, margin events say why and by
when, custody is kept per client-money account, and trades may be given. Every column added in
version 2 is optional, so a version-1 export still loads; a rule that needs what it lacks reports
itself not evaluable, naming the table or column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

# NOTE: logical types, not storage types. The loader maps each to a polars dtype and knows how
# to parse it from text (thousand separators, percent signs, Chinese dates ...).
STRING, INT, FLOAT, MONEY, RATE, DATE, DATETIME, BOOL = (
    "string", "int", "float", "money", "rate", "date", "datetime", "bool",
)

# The contract version this toolkit applies (recorded in findings.json). Version 1: the first
# contract; version 2: time-correct audits (see the module docstring).
CONTRACT_VERSION = 2

POLARS_DTYPES: dict[str, pl.DataType] = {
    STRING: pl.String(),
    INT: pl.Int64(),
    FLOAT: pl.Float64(),
    MONEY: pl.Float64(),
    RATE: pl.Float64(),
    DATE: pl.Date(),
    DATETIME: pl.Datetime("us"),
    BOOL: pl.Boolean(),
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: str
    description: str
    unit: str = ""
    required: bool = True  # the column must be present in the file
    nullable: bool = False  # a present column may hold empty cells
    allowed: tuple[str, ...] = ()  # closed vocabulary for categorical strings
    min: float | None = None  # inclusive lower bound (data-quality check)
    personal: bool = False  # personal data: masked in every report by default
    aliases: tuple[str, ...] = ()  # other headers platforms use, Chinese included
    since: int = 1  # contract version that added the column

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_DTYPES[self.type]


@dataclass(frozen=True)
class Computed:
    """A column the toolkit computes on a loaded table, which rules read like any other.

    ``expression`` is written in the rule language (docs/rule-format.md); ``None`` means the
    engine computes it in code (the disclosure in force). ``assumes`` names the optional columns
    the expression copes without and what it assumes then: a rule using the column carries that
    assumption as a caveat when the export lacks them.
    """

    name: str
    type: str
    description: str
    expression: str | None = None
    assumes: tuple[tuple[str, str], ...] = ()  # (optional column, what is assumed without it)
    since: int = 2

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_DTYPES[self.type]


@dataclass(frozen=True)
class Table:
    """One table of a platform export."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()  # other file names (stem) platforms use
    norms: tuple[str, ...] = field(default=())
    computed: tuple[Computed, ...] = ()  # columns the toolkit adds (never read from files)
    since: int = 1  # contract version that added the table

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def readable_names(self) -> list[str]:
        """What a rule may read: the file's columns and the computed ones."""
        return [*self.column_names, *(c.name for c in self.computed)]


C = Column

TABLES: tuple[Table, ...] = (
    Table(
        "platform",
        "The platform's published terms: one row per disclosure version. Each record is judged "
        "against the version in force at its own time (the latest whose effective date, else "
        "publication date, is on or before it).",
        key=("platform_id", "disclosed_at"),
        aliases=("disclosures", "disclosure", "平台信息", "平台披露"),
        norms=("N3", "N4", "N5", "R1", "R4", "R5"),
        columns=(
            C("platform_id", STRING, "Platform identifier.", aliases=("平台编号",)),
            C("platform_name", STRING, "Legal name of the platform.", aliases=("平台名称", "name")),
            C("disclosed_at", DATE, "Date this disclosure version was published. An undated "
              "row is in force at every date only when it is the only version.", nullable=True,
              aliases=("披露日期", "published_at")),
            C("effective_from", DATE, "Date the terms of this version take effect, when later "
              "than publication.", nullable=True, required=False, since=2,
              aliases=("生效日期", "施行日期")),
            C("initial_margin", RATE, "Initial margin rate: own equity / position value at open.",
              unit="fraction (0.5 = 50%)", nullable=True, min=0, aliases=("初始保证金比例",)),
            C("maintenance_margin", RATE, "Maintenance margin rate m: equity / position value below "
              "which a margin call is due.", unit="fraction", nullable=True, min=0,
              aliases=("维持保证金比例",)),
            C("margin_call_ratio", FLOAT, "Collateral ratio (assets / debt) at or below which a "
              "margin call is issued (警戒线).", unit="ratio (1.5 = 150%)", nullable=True, min=0,
              aliases=("警戒线", "追保线", "warning_line")),
            C("liquidation_ratio", FLOAT, "Collateral ratio at or below which positions may be "
              "force-sold (平仓线).", unit="ratio", nullable=True, min=0,
              aliases=("平仓线", "强平线")),
            C("call_response_hours", FLOAT, "Hours within which a margin call is issued after the "
              "close of the day the ratio crossed the call line.", unit="hours", nullable=True,
              min=0, aliases=("追保通知时限",)),
            C("notice_period_hours", FLOAT, "Hours between a margin call and the earliest forced "
              "liquidation (grace period), for contracts that count it in hours.", unit="hours",
              nullable=True, min=0, aliases=("宽限期", "grace_period_hours")),
            C("call_response_trading_days", INT, "For contracts that count in trading days: the "
              "margin call is issued by the close of the n-th trading day after the day the ratio "
              "crossed the call line (0: the same day). Takes precedence over the hours.",
              unit="trading days", nullable=True, required=False, min=0, since=2,
              aliases=("追保通知交易日",)),
            C("notice_period_trading_days", INT, "For contracts that count in trading days: the "
              "client has until the close of the n-th trading day after the call's trading day "
              "(T+n) to restore the ratio; forced liquidation may start on trading day T+n+1. "
              "Takes precedence over the hours.", unit="trading days", nullable=True,
              required=False, min=0, since=2, aliases=("追保期限交易日", "补仓期限")),
            C("line_inclusive", BOOL, "The call and liquidation lines are crossed when the ratio "
              "is at or below them (true) or only when strictly below (false, the exchange "
              "rules' 低于). Empty: the profile's `line_inclusive` parameter decides.",
              nullable=True, required=False, since=2, aliases=("触及即平仓", "含警戒线")),
            C("interest_rate_annual", RATE, "Published annual financing interest rate.",
              unit="fraction per year", nullable=True, min=0, aliases=("融资年利率", "年利率")),
            C("commission_rate", RATE, "Published commission rate on traded value.",
              unit="fraction", nullable=True, min=0, aliases=("佣金费率",)),
            C("commission_min", MONEY, "Published minimum commission per trade: a trade whose "
              "commission at the rate is smaller is charged this (CN brokers commonly 5.00). "
              "Empty: no minimum.", unit="currency", nullable=True, required=False, min=0,
              since=2, aliases=("最低佣金", "单笔最低佣金")),
            C("day_count", INT, "Day-count basis for interest (360 or 365).", unit="days",
              nullable=True, min=1, aliases=("计息天数",)),
            C("leverage_cap_retail", FLOAT, "Maximum leverage (position / equity) for retail "
              "clients.", unit="x", nullable=True, min=0, aliases=("零售杠杆上限",)),
            C("leverage_cap_professional", FLOAT, "Maximum leverage for professional clients.",
              unit="x", nullable=True, min=0, aliases=("专业杠杆上限",)),
            C("custodian", STRING, "Bank or custodian holding client money.", nullable=True,
              aliases=("存管银行", "托管人")),
            C("capital_buffer_min", MONEY, "Minimum net capital the platform commits to hold.",
              unit="currency", nullable=True, min=0, aliases=("最低资本",)),
            C("liquidity_buffer_min", MONEY, "Minimum liquid assets the platform commits to hold.",
              unit="currency", nullable=True, min=0, aliases=("最低流动性",)),
            C("clearing_chain", STRING, "Clearing chain: broker, clearing member, CCP.",
              nullable=True, aliases=("清算链条",)),
            C("ccp_exposure_disclosed", BOOL, "Whether exposure to the central counterparty is "
              "disclosed.", nullable=True, aliases=("披露中央对手方敞口",)),
            C("last_audit_date", DATE, "Date of the last third-party audit report.", nullable=True,
              aliases=("最近审计日期",)),
            C("rehypothecation_limit", RATE, "Disclosed ceiling on re-pledged client securities, "
              "as a multiple of the client's debt (1.4 = 140%, the US 15c3-3 line).", unit="x debt",
              nullable=True, required=False, min=0, aliases=("再质押上限",)),
            C("risk_warning_pct", RATE, "Published share of retail accounts that lost money "
              "(ESMA risk warning).", unit="fraction", nullable=True, required=False, min=0,
              aliases=("亏损客户比例",)),
            C("risk_warning_calculated_at", DATE, "Date the published risk-warning share was "
              "last calculated (ESMA: every three months, over the preceding twelve).",
              nullable=True, required=False, aliases=("亏损客户比例计算日期",)),
            C("risk_warning_kind", STRING, "Which risk warning the platform publishes: "
              "provider_specific (its own share of losing retail accounts) or standard (the "
              "prescribed range, for a provider without twelve months of retail CFD business). "
              "Empty: provider_specific.", allowed=("provider_specific", "standard"),
              nullable=True, required=False, since=2, aliases=("风险提示类型",)),
        ),
        computed=(
            Computed("in_force_from", DATE, "Date this version is in force from: "
                     "`effective_from`, else `disclosed_at`.",
                     expression="coalesce(effective_from, disclosed_at)"),
            Computed("in_force", BOOL, "This version is the one in force at the audit's as-of "
                     "date."),
        ),
    ),
    Table(
        "clients",
        "Know-your-customer records: one row per client.",
        key=("client_id",),
        aliases=("customers", "kyc", "客户", "客户信息"),
        norms=("N1", "N4"),
        columns=(
            C("client_id", STRING, "Client identifier.", aliases=("客户编号", "客户号", "customer_id")),
            C("name", STRING, "Client's legal name.", personal=True, nullable=True,
              aliases=("姓名", "客户姓名", "client_name")),
            C("category", STRING, "Client category for leverage caps.",
              allowed=("retail", "professional"), aliases=("客户类别", "投资者类别")),
            C("id_type", STRING, "Identity document type: `cn_resident_id` (居民身份证), "
              "`cn_hmt_residence_permit` (港澳台居民居住证, numbers from 810000 / 820000 / "
              "830000), `cn_foreigner_prc` (the 2023 外国人永久居留身份证, 18 characters from 9), "
              "`passport`, `uscc` (统一社会信用代码), `lei`, `other`.",
              allowed=("cn_resident_id", "cn_hmt_residence_permit", "cn_foreigner_prc",
                       "passport", "uscc", "lei", "other"),
              aliases=("证件类型",)),
            C("id_number", STRING, "Identity document number.", personal=True, nullable=True,
              aliases=("证件号码", "身份证号")),
            C("phone", STRING, "Phone number.", personal=True, nullable=True, required=False,
              aliases=("手机号", "电话")),
            C("bank_account", STRING, "Client's bank account number.", personal=True,
              nullable=True, required=False, aliases=("银行账号", "银行卡号")),
            C("onboarded_at", DATE, "Date the relationship began.", aliases=("开户日期",)),
            C("verification_status", STRING, "Identity verification status (version 1: the "
              "latest only; give `kyc_events` for the history).",
              allowed=("verified", "pending", "rejected"), nullable=True, required=False,
              aliases=("核验状态", "实名状态")),
            C("verified_at", DATE, "Date identity was last verified (version 1).", nullable=True,
              required=False, aliases=("核验日期",)),
            C("risk_tolerance", STRING, "Suitability level from the latest risk-tolerance "
              "assessment (version 1).", allowed=("C1", "C2", "C3", "C4", "C5"), nullable=True,
              required=False, aliases=("风险承受能力",)),
            C("risk_assessed_at", DATE, "Date of the latest risk-tolerance assessment (version "
              "1).", nullable=True, required=False, aliases=("风险测评日期",)),
            C("risk_disclosure_signed_at", DATE, "Date the risk disclosure was signed (version "
              "1).", nullable=True, required=False, aliases=("风险揭示书签署日期",)),
            C("screening_result", STRING, "Latest AML / sanctions / PEP screening result "
              "(version 1).", allowed=("clear", "hit", "not_screened"), nullable=True,
              required=False, aliases=("筛查结果",)),
            C("screened_at", DATE, "Date of the latest screening (version 1).", nullable=True,
              required=False, aliases=("筛查日期",)),
            C("screening_resolved_at", DATE, "Date the latest screening hit was resolved "
              "(version 1).", nullable=True, required=False, aliases=("筛查处置日期",)),
            C("pep", BOOL, "Politically exposed person (today).", aliases=("是否政要",)),
            C("risk_rating", STRING, "AML risk rating (today).", allowed=("low", "medium", "high"),
              aliases=("风险等级",)),
            C("last_review_at", DATE, "Date of the last periodic KYC review (version 1).",
              nullable=True, required=False, aliases=("最近复核日期",)),
            C("pep_approved_at", DATE, "Date senior management approved a politically exposed "
              "client (version 1).", nullable=True, required=False, aliases=("政要审批日期",)),
            C("entity_type", STRING, "Natural person or institution (CN margin eligibility "
              "exempts professional institutions from the experience test).",
              allowed=("individual", "institution"), nullable=True, required=False, since=2,
              aliases=("客户性质", "主体类型")),
            C("first_trade_date", DATE, "Date of the client's first securities trade at any "
              "broker (trading experience is counted market-wide).", nullable=True,
              required=False, since=2, aliases=("首次交易日期", "首笔交易日期")),
            C("credit_account_opened_at", DATE, "Date the client's margin (credit) account was "
              "opened.", nullable=True, required=False, since=2,
              aliases=("信用账户开户日期", "两融开户日期")),
        ),
    ),
    Table(
        "kyc_events",
        "Due-diligence history: one row per event per client (identity verification, "
        "screening and its resolution, risk-tolerance assessment, risk-disclosure signature, "
        "PEP approval, periodic review). Rules look for the valid event on or before each "
        "financing; events of the same date are taken in file order.",
        key=("event_id",),
        aliases=("kyc_history", "due_diligence", "尽调记录", "客户尽调记录", "KYC记录"),
        norms=("N1",),
        since=2,
        columns=(
            C("event_id", STRING, "Event identifier.", aliases=("记录编号", "事件编号")),
            C("client_id", STRING, "Client concerned.", aliases=("客户编号", "客户号")),
            C("event_type", STRING, "Kind of event.",
              allowed=("verification", "screening", "screening_resolution", "risk_assessment",
                       "risk_disclosure", "pep_approval", "periodic_review", "suitability_warning"),
              aliases=("事件类型", "类型")),
            C("event_date", DATE, "Date of the event.", aliases=("日期", "事件日期")),
            C("outcome", STRING, "Result: verification verified / pending / rejected; screening "
              "clear / hit; screening_resolution cleared (false positive) / confirmed (true "
              "match); risk_disclosure signed; pep_approval approved / refused; periodic_review "
              "completed; suitability_warning signed (the special written warning an ordinary "
              "investor signs to buy a product above their risk tolerance, 特别风险警示).", allowed=("verified", "pending", "rejected", "clear", "hit", "cleared",
                                     "confirmed", "signed", "approved", "refused", "completed"),
              nullable=True, aliases=("结果",)),
            C("risk_grade", STRING, "Risk-tolerance grade a risk assessment gave.",
              allowed=("C1", "C2", "C3", "C4", "C5"), nullable=True, required=False,
              aliases=("风险承受能力", "测评等级")),
            C("risk_rating", STRING, "AML risk rating assigned at this event.",
              allowed=("low", "medium", "high"), nullable=True, required=False,
              aliases=("风险等级",)),
            C("pep", BOOL, "The screening found the client to be a politically exposed person.",
              nullable=True, required=False, aliases=("是否政要",)),
            C("list_version", STRING, "Sanctions / PEP list version screened against.",
              nullable=True, required=False, aliases=("名单版本",)),
            C("valid_until", DATE, "Last day the event's result stays valid (an identity "
              "document's expiry, an assessment's validity), when stated.", nullable=True,
              required=False, aliases=("有效期至",)),
        ),
        computed=(
            Computed("history_complete", BOOL, "TRUE for events the export gives as a history; "
                     "FALSE for events the toolkit derived from a version-1 `clients` table, which "
                     "keeps only each client's latest date of each kind."),
        ),
    ),
    Table(
        "accounts",
        "Daily account snapshots: one row per account per trading day.",
        key=("account_id", "date"),
        aliases=("account_snapshots", "账户", "账户日终"),
        norms=("N2", "N3", "N4"),
        columns=(
            C("date", DATE, "Snapshot date (close of business).", aliases=("日期", "交易日")),
            C("account_id", STRING, "Account identifier.", aliases=("账户编号", "资金账号")),
            C("client_id", STRING, "Owner of the account.", aliases=("客户编号",)),
            C("cash", MONEY, "Client cash held for the account.", unit="currency",
              aliases=("现金", "可用资金")),
            C("market_value", MONEY, "Market value of positions (for CFD accounts: the notional "
              "value of the open positions).", unit="currency", min=0,
              aliases=("持仓市值", "市值")),
            C("debt", MONEY, "Financing owed by the client.", unit="currency", min=0,
              aliases=("负债", "融资余额")),
            C("equity", MONEY, "Own equity: cash + market value - debt (for CFD accounts, which "
              "hold no securities and owe no debt: cash + unrealised profit and loss).", unit="currency",
              aliases=("权益", "净资产")),
            C("leverage", FLOAT, "Reported leverage: market value / equity.", unit="x",
              nullable=True, aliases=("杠杆", "杠杆倍数")),
            C("pledged_value", MONEY, "Market value of the client's securities re-pledged "
              "(rehypothecated) by the platform.", unit="currency", nullable=True, required=False,
              min=0, aliases=("再质押市值",)),
            C("day_trades_5d", INT, "Day trades in the last 5 business days (US pattern day "
              "trader rule).", unit="trades", nullable=True, required=False, min=0,
              aliases=("五日日内交易次数",)),
            C("short_market_value", MONEY, "Market value of securities sold short (融券) and "
              "not yet returned.", unit="currency", nullable=True, required=False, min=0,
              since=2, aliases=("融券市值", "融券负债")),
            C("accrued_interest", MONEY, "Interest and fees accrued and not yet paid on the "
              "financing.", unit="currency", nullable=True, required=False, min=0, since=2,
              aliases=("应计利息", "利息及费用")),
        ),
        computed=(
            Computed("collateral_ratio", FLOAT, "Maintenance collateral ratio (维持担保比例): "
                     "(cash + market_value) / (debt + short_market_value + accrued_interest); "
                     "NULL without any liability.",
                     expression="if(debt + coalesce(short_market_value, 0) "
                                "+ coalesce(accrued_interest, 0) > 0, (cash + market_value) / "
                                "(debt + coalesce(short_market_value, 0) "
                                "+ coalesce(accrued_interest, 0)), NULL)",
                     assumes=(("short_market_value", "no short positions"),
                              ("accrued_interest", "no accrued interest or fees"))),
        ),
    ),
    Table(
        "positions",
        "Daily holdings: one row per account, instrument and day.",
        key=("account_id", "instrument_id", "date"),
        aliases=("holdings", "持仓"),
        norms=("N4",),
        columns=(
            C("date", DATE, "Holding date.", aliases=("日期",)),
            C("account_id", STRING, "Account identifier.", aliases=("账户编号", "资金账号")),
            C("instrument_id", STRING, "Instrument identifier.", aliases=("证券代码", "代码")),
            C("quantity", FLOAT, "Units held.", unit="units", min=0, aliases=("数量", "持仓数量")),
            C("price", FLOAT, "Closing price.", unit="currency per unit", min=0,
              aliases=("价格", "收盘价")),
            C("market_value", MONEY, "quantity x price.", unit="currency", min=0,
              aliases=("市值",)),
        ),
    ),
    Table(
        "instruments",
        "Instrument reference data.",
        key=("instrument_id",),
        aliases=("securities", "证券"),
        norms=("N4",),
        columns=(
            C("instrument_id", STRING, "Instrument identifier.", aliases=("证券代码", "代码")),
            C("name", STRING, "Instrument name.", nullable=True, aliases=("证券名称",)),
            C("asset_class", STRING, "Asset class. `fx_major`: a currency pair of any two of "
              "USD, EUR, JPY, GBP, CAD and CHF; `index_major`: one of the equity indices ESMA "
              "lists as major (FTSE 100, CAC 40, DAX, DJIA, S&P 500, NASDAQ Composite, NASDAQ "
              "100, Nikkei 225, S&P/ASX 200, EURO STOXX 50); `fx` and `index`: the others (the "
              "ESMA retail CFD margins differ by class).",
              allowed=("equity", "etf", "bond", "gold", "fx_major", "fx", "commodity",
                       "index_major", "index", "crypto", "other"), aliases=("资产类别",)),
            C("exchange", STRING, "Listing exchange: its ISO 10383 code (XSHG, XSHE, BJSE, "
              "XNYS, XNAS, XLON, XETR, XHKG ...) or name.", nullable=True,
              aliases=("交易所", "市场")),
            C("adv", FLOAT, "Average daily traded volume.", unit="units per day", min=0,
              nullable=True, aliases=("日均成交量",)),
            C("total_shares", FLOAT, "Total shares issued (总股本), for a stock's total market "
              "value: total_shares x the day's closing price. The latest count; a count that "
              "changed during the audited period is reported as of the export.", unit="units",
              min=0, nullable=True, required=False, since=2, aliases=("总股本", "股本总数")),
        ),
    ),
    Table(
        "instrument_terms",
        "Dated collateral and margin terms of instruments: one row per instrument per change. "
        "A term applies from its effective date until the next row's (or its own end date).",
        key=("instrument_id", "effective_from"),
        aliases=("collateral_terms", "haircuts", "折算率", "标的证券", "担保证券"),
        norms=("N4",),
        since=2,
        columns=(
            C("instrument_id", STRING, "Instrument identifier.", aliases=("证券代码", "代码")),
            C("effective_from", DATE, "First day the terms apply.", aliases=("生效日期", "调整日期")),
            C("effective_to", DATE, "Last day the terms apply, when known.", nullable=True,
              required=False, aliases=("失效日期",)),
            C("haircut", RATE, "Collateral conversion rate (折算率): the share of market value "
              "that counts as margin.", unit="fraction (0.7 = 70%)", nullable=True, min=0,
              aliases=("折算率",)),
            C("margin_eligible", BOOL, "The instrument may be bought with financing (标的证券).",
              nullable=True, aliases=("融资标的", "是否标的证券")),
            C("collateral_eligible", BOOL, "The instrument counts as collateral "
              "(可充抵保证金证券).", nullable=True, aliases=("可充抵保证金", "是否可充抵")),
        ),
    ),
    Table(
        "financings",
        "Financing contracts and draws.",
        key=("financing_id",),
        aliases=("contracts", "loans", "融资合约", "配资合约"),
        norms=("N1", "N4"),
        columns=(
            C("financing_id", STRING, "Contract or draw identifier.", aliases=("合约编号",)),
            C("account_id", STRING, "Account financed.", aliases=("账户编号", "资金账号")),
            C("client_id", STRING, "Client financed.", aliases=("客户编号",)),
            C("opened_at", DATETIME, "When the financing was opened.", aliases=("开仓时间", "放款时间")),
            C("amount", MONEY, "Amount lent.", unit="currency", min=0, aliases=("融资金额",)),
            C("equity_at_open", MONEY, "Client's own equity at open.", unit="currency", min=0,
              aliases=("保证金", "自有资金")),
            C("leverage_at_open", FLOAT, "Position value / own equity at open.", unit="x", min=0,
              aliases=("开仓杠杆", "杠杆倍数")),
            C("rate_annual", RATE, "Contracted annual interest rate.", unit="fraction per year",
              min=0, aliases=("年利率",)),
            C("term_days", INT, "Contract term.", unit="days", nullable=True, min=0,
              aliases=("期限",)),
            C("product_risk_level", STRING, "Risk level of the financing product.",
              allowed=("R1", "R2", "R3", "R4", "R5"), nullable=True, aliases=("产品风险等级",)),
            C("underlying_asset_class", STRING, "Asset class of the financed underlying (ESMA "
              "caps differ by underlying).", allowed=("equity", "etf", "bond", "gold", "fx_major",
              "fx", "commodity", "index_major", "index", "crypto", "other"), nullable=True,
              required=False, aliases=("标的类别",)),
            C("account_holder_id", STRING, "Client in whose name the trading account is held "
              "(differs from client_id when the account is a third party's).", nullable=True,
              required=False, aliases=("账户持有人编号",)),
            C("funder_controls_password", BOOL, "The funder holds or can change the trading "
              "password.", nullable=True, required=False, aliases=("资金方控制密码",)),
            C("warning_line", FLOAT, "Collateral-ratio warning line written into this contract.",
              unit="ratio", nullable=True, required=False, min=0, aliases=("合同警戒线",)),
            C("liquidation_line", FLOAT, "Collateral-ratio liquidation line written into this "
              "contract.", unit="ratio", nullable=True, required=False, min=0,
              aliases=("合同平仓线",)),
            C("rollover_of", STRING, "For a rollover or extension (展期): the financing_id of the "
              "original contract, the first of the chain. The financing margin ratio and the term "
              "limit of the original contract apply to its rollovers.", nullable=True,
              required=False, since=2, aliases=("原合约编号", "展期原合约")),
            C("available_margin_at_open", MONEY, "Available margin (保证金可用余额) before this "
              "draw, as the broker's system computed it: cash plus collateral securities at their "
              "conversion rates (折算率), less the margin already used by open financings, "
              "interest and fees.", unit="currency", nullable=True, required=False, since=2,
              aliases=("保证金可用余额", "可用保证金")),
        ),
    ),
    Table(
        "margin_events",
        "Margin calls, forced liquidations and recourse (debt collection) records.",
        key=("event_id",),
        aliases=("events", "risk_events", "强平记录", "风控事件"),
        norms=("N3", "N5", "R3"),
        columns=(
            C("event_id", STRING, "Event identifier.", aliases=("事件编号",)),
            C("account_id", STRING, "Account concerned.", aliases=("账户编号", "资金账号")),
            C("event_type", STRING, "Kind of event.",
              allowed=("margin_call", "liquidation", "recourse"), aliases=("事件类型",)),
            C("event_at", DATETIME, "When the event happened.", aliases=("事件时间", "时间")),
            C("collateral_ratio", FLOAT, "Collateral ratio (assets / debt) at the event.",
              unit="ratio", nullable=True, min=0, aliases=("维持担保比例",)),
            C("amount", MONEY, "Amount called, sold or claimed.", unit="currency", nullable=True,
              aliases=("金额",)),
            C("equity_after", MONEY, "Account equity after the event (negative: a shortfall).",
              unit="currency", nullable=True, aliases=("事后权益",)),
            C("clearing_ref", STRING, "Clearing record of a liquidation.", nullable=True,
              aliases=("清算编号",)),
            C("related_event_id", STRING, "The event this one follows up (recourse -> "
              "liquidation).", nullable=True, aliases=("关联事件编号",)),
            C("reason", STRING, "Why a liquidation happened: call_unmet (the call was not met "
              "in time), immediate_line (the ratio fell below a line that allows selling at "
              "once), expiry (the contract ended unpaid), esma_close_out (the ESMA 50% margin "
              "close-out), client_request.", allowed=("call_unmet", "immediate_line", "expiry",
                                                      "esma_close_out", "client_request"),
              nullable=True, required=False, since=2, aliases=("平仓原因", "原因")),
            C("trigger_ratio", FLOAT, "Collateral ratio when the call or liquidation was "
              "decided (before partial fills moved it).", unit="ratio", nullable=True,
              required=False, min=0, since=2, aliases=("触发比例",)),
            C("deadline_at", DATETIME, "Deadline the margin call gave the client.",
              nullable=True, required=False, since=2, aliases=("追保截止时间", "补仓截止时间")),
            C("channel", STRING, "How the call notice was sent.",
              allowed=("sms", "app", "email", "phone", "letter", "other"), nullable=True,
              required=False, since=2, aliases=("通知方式", "通知渠道")),
            C("delivered_at", DATETIME, "When the call notice reached the client.",
              nullable=True, required=False, since=2, aliases=("送达时间", "通知送达时间")),
        ),
    ),
    Table(
        "ledger",
        "Client-money movements.",
        key=("entry_id",),
        aliases=("cash_movements", "资金流水"),
        norms=("N2", "R2"),
        columns=(
            C("entry_id", STRING, "Movement identifier.", aliases=("流水号",)),
            C("date", DATE, "Value date.", aliases=("日期",)),
            C("account_id", STRING, "Client account the money belongs to.",
              aliases=("账户编号", "资金账号")),
            C("amount", MONEY, "Signed amount: positive into client money, negative out.",
              unit="currency", aliases=("金额", "发生额")),
            C("counterparty_type", STRING, "Where the money came from or went: "
              "`client_bank` (the client's own bank account), `custodian`, `exchange` "
              "(settlement), `platform_own` (the platform's own account), `client_account` "
              "(another client's account), `fee` (a charge of the `fees` table), "
              "`financing_repayment` (repaying the financing's principal to the lender; its interest "
              "is a `fee`).",
              allowed=("client_bank", "custodian", "exchange", "platform_own", "client_account",
                       "fee", "financing_repayment"), aliases=("对手方类型",)),
            C("instruction_ref", STRING, "Reference of the client's instruction (signed transfer "
              "order, authorisation) the movement executes.", nullable=True, required=False,
              since=2, aliases=("指令编号", "授权编号")),
            C("description", STRING, "Free text.", nullable=True, required=False,
              aliases=("摘要", "备注")),
        ),
    ),
    Table(
        "custody",
        "The custodians' daily statements of client money held: one row per client-money "
        "account per day.",
        key=("date", "custody_account"),
        aliases=("custodian_statements", "存管对账单"),
        norms=("N2", "R2"),
        columns=(
            C("date", DATE, "Statement date.", aliases=("日期",)),
            C("custody_account", STRING, "Client-money bank account the statement is for "
              "(several banks or accounts: one row each).", nullable=True, required=False,
              since=2, aliases=("存管账户", "客户资金账户", "银行账号")),
            C("custodian", STRING, "Custodian.", nullable=True, aliases=("存管银行",)),
            C("statement_balance", MONEY, "Client money held per the custodian.", unit="currency",
              aliases=("存管余额", "对账单余额")),
            C("ack_letter_signed_at", DATE, "Date the custodian countersigned the client-money "
              "acknowledgement letter (UK CASS 7.18).", nullable=True, required=False,
              aliases=("确认函签署日期",)),
            C("book_balance", MONEY, "Client money the platform's own records show in this "
              "account on this date (its internal ledger of the client bank account), to "
              "reconcile with the statement (UK CASS 7.15.20R).", unit="currency",
              nullable=True, required=False, since=2, aliases=("账面余额", "内部账余额")),
        ),
    ),
    Table(
        "fees",
        "Fees and interest charged.",
        key=("fee_id",),
        aliases=("charges", "费用"),
        norms=("N3",),
        columns=(
            C("fee_id", STRING, "Charge identifier.", aliases=("费用编号",)),
            C("date", DATE, "Date charged.", aliases=("日期",)),
            C("account_id", STRING, "Account charged.", aliases=("账户编号", "资金账号")),
            C("financing_id", STRING, "Financing the charge relates to.", nullable=True,
              aliases=("合约编号",)),
            C("fee_type", STRING, "Kind of charge.", allowed=("interest", "commission", "service"),
              aliases=("费用类型",)),
            C("base_amount", MONEY, "Amount the rate applies to.", unit="currency", min=0,
              aliases=("计费基数",)),
            C("rate", RATE, "Rate applied.", unit="fraction (per year for interest)", min=0,
              aliases=("费率",)),
            C("days", INT, "Days charged (interest).", unit="days", nullable=True, min=0,
              aliases=("天数",)),
            C("charged", MONEY, "Amount charged.", unit="currency", aliases=("收费金额", "金额")),
        ),
    ),
    Table(
        "trades",
        "Executed trades (optional): one row per fill, for liquidation sequencing, day trading "
        "and intraday checks.",
        key=("trade_id",),
        aliases=("executions", "fills", "成交", "成交记录", "交割单"),
        norms=("N3", "N4"),
        since=2,
        columns=(
            C("trade_id", STRING, "Trade (fill) identifier.", aliases=("成交编号",)),
            C("account_id", STRING, "Account traded.", aliases=("账户编号", "资金账号")),
            C("instrument_id", STRING, "Instrument traded.", aliases=("证券代码", "代码")),
            C("side", STRING, "buy, sell, sell_short (融券卖出) or buy_to_cover (买券还券).",
              allowed=("buy", "sell", "sell_short", "buy_to_cover"), aliases=("买卖方向", "方向")),
            C("quantity", FLOAT, "Units traded.", unit="units", min=0, aliases=("成交数量", "数量")),
            C("price", FLOAT, "Execution price.", unit="currency per unit", min=0,
              aliases=("成交价格", "价格")),
            C("traded_at", DATETIME, "Execution time.", aliases=("成交时间", "时间")),
            C("order_id", STRING, "Order the fill belongs to.", nullable=True, required=False,
              aliases=("委托编号",)),
            C("on_margin", BOOL, "A credit trade (融资买入 / 融券卖出) rather than a cash trade.",
              nullable=True, required=False, aliases=("信用交易", "是否融资")),
            C("liquidation_event_id", STRING, "The forced liquidation (margin_events.event_id) "
              "this fill executes.", nullable=True, required=False, aliases=("强平事件编号",)),
        ),
    ),
    Table(
        "audits",
        "Third-party audit reports.",
        key=("audit_id",),
        aliases=("audit_reports", "审计报告"),
        norms=("N5",),
        columns=(
            C("audit_id", STRING, "Report identifier.", aliases=("报告编号",)),
            C("auditor", STRING, "Audit firm.", aliases=("审计机构",)),
            C("period_start", DATE, "First day audited.", aliases=("审计期间起",)),
            C("period_end", DATE, "Last day audited.", aliases=("审计期间止",)),
            C("report_date", DATE, "Date the report was signed.", aliases=("报告日期",)),
            C("opinion", STRING, "Audit opinion.",
              allowed=("unqualified", "qualified", "adverse", "disclaimer"),
              aliases=("审计意见",)),
        ),
    ),
    Table(
        "capital",
        "The platform's own capital and liquidity, daily or periodic.",
        key=("date",),
        aliases=("capital_adequacy", "资本"),
        norms=("N4", "R1", "R4"),
        columns=(
            C("date", DATE, "Reporting date.", aliases=("日期",)),
            C("net_capital", MONEY, "Net capital.", unit="currency", aliases=("净资本",)),
            C("liquid_assets", MONEY, "Liquid assets available for margin calls.",
              unit="currency", aliases=("流动资产",)),
        ),
    ),
    Table(
        "stress_tests",
        "The platform's own stress tests: one row per scenario run. (The toolkit runs its own "
        "stress tests on the export too; this table records what the platform did.)",
        key=("test_id",),
        aliases=("stress_test_records", "压力测试", "压力测试记录"),
        norms=("N4", "R4"),
        columns=(
            C("test_id", STRING, "Identifier of one scenario run.", aliases=("测试编号",)),
            C("run_date", DATE, "Date of the book the test was run on.", aliases=("测试日期", "基准日")),
            C("scenario", STRING, "Scenario name or description.", aliases=("情景", "压力情景")),
            C("shock", RATE, "Main price shock of the scenario (-0.3 = a 30% fall).",
              unit="fraction", nullable=True, aliases=("冲击幅度",)),
            C("shortfall", MONEY, "Stressed loss falling on the platform, as the platform found it.",
              unit="currency", nullable=True, min=0, aliases=("压力损失", "穿仓损失")),
            C("net_capital", MONEY, "Net capital the result was compared with.", unit="currency",
              nullable=True, aliases=("净资本",)),
            C("approved_by", STRING, "Who reviewed the result (board, risk committee).",
              nullable=True, aliases=("审批人", "审议机构")),
        ),
    ),
    Table(
        "market_leverage",
        "Other leveraged holders of the platform's stocks (optional, for the stress test's "
        "common exposures): one row per stock and day. Their forced sales join the "
        "platform's in the fire sale. The exchange margin-financing balance of each stock is "
        "published daily by the Shanghai and Shenzhen exchanges (融资融券交易明细); the "
        "off-exchange part is an estimate the auditor states.",
        key=("instrument_id", "date"),
        aliases=("margin_balances", "融资融券余额", "融资余额", "两融余额", "融资融券交易明细"),
        norms=("N4", "R4"),
        since=2,
        columns=(
            C("date", DATE, "Trading day of the figures; the stress test uses each stock's "
              "last row on or before its as-of date.", aliases=("日期", "交易日期", "信用交易日期")),
            C("instrument_id", STRING, "Instrument identifier.",
              aliases=("证券代码", "代码", "标的证券代码")),
            C("margin_balance", MONEY, "Exchange margin-financing balance of the stock (融资余额): "
              "the debt of every margin account in the market that bought it on credit, as the "
              "SSE and SZSE publish it per stock each trading day (融资融券交易明细).",
              unit="currency", min=0, aliases=("融资余额", "两融余额", "本日融资余额")),
            C("offexchange_multiple", FLOAT, "Assumed off-exchange financing (场外配资) in the "
              "stock as a multiple of its margin balance; empty = 0 (none assumed). No one "
              "publishes it: state the estimate in `source`.", unit="x margin balance",
              nullable=True, required=False, min=0, aliases=("场外配资倍数", "场外倍数")),
            C("collateral_ratio", FLOAT, "Average collateral ratio (assets / debt, 维持担保比例) "
              "of the stock's leveraged holders; empty = 2.5, a toolkit assumption to be "
              "replaced by the published market-wide average (平均维持担保比例).",
              unit="assets / debt (2.5 = 250%)", nullable=True, required=False, min=0,
              aliases=("维持担保比例", "平均维持担保比例", "担保比例")),
            C("liquidation_line", FLOAT, "Collateral ratio at which these holders are closed "
              "out (平仓线); empty = the platform's own liquidation line.",
              unit="assets / debt", nullable=True, required=False, min=0,
              aliases=("平仓线", "平仓比例")),
            C("source", STRING, "Where the figures come from (the exchange file, the estimate of "
              "the off-exchange multiple and its author).", nullable=True, required=False,
              aliases=("来源", "数据来源")),
        ),
    ),
    Table(
        "suspensions",
        "Trading suspensions of instruments (optional, for the stress test's multi-day path): "
        "one row per suspension. A suspended instrument trades nothing and keeps its last close "
        "until it resumes. The Shanghai and Shenzhen exchanges publish each suspension and "
        "resumption in their 停复牌 notices (停牌 / 复牌公告).",
        key=("instrument_id", "suspended_from"),
        aliases=("停牌", "停牌记录", "停复牌", "trading_suspensions", "halts"),
        norms=("N4", "R4"),
        since=2,
        columns=(
            C("instrument_id", STRING, "Instrument identifier.",
              aliases=("证券代码", "代码", "股票代码")),
            C("suspended_from", DATE, "First day without trading (停牌日期), as the exchange's "
              "suspension notice gives it (the SSE and SZSE publish them as 停复牌 notices).",
              aliases=("停牌日期", "停牌起始日", "停牌开始日期")),
            C("resumed_on", DATE, "First trading day again (复牌日期), as the exchange's "
              "resumption notice (复牌公告) gives it; empty = still suspended (复牌时间待定).",
              nullable=True, aliases=("复牌日期", "复牌日")),
            C("reason", STRING, "Why trading was suspended (停牌原因), as the notice states it: "
              "a major asset restructuring, an undisclosed announcement, a risk warning ...",
              nullable=True, required=False, aliases=("停牌原因", "原因")),
        ),
    ),
    Table(
        "reserve_computations",
        "A US broker-dealer's customer reserve computations (SEC Rule 15c3-3(e), Exhibit A): one "
        "row per computation (weekly, as of the close of the last business day of the week).",
        key=("computation_date",),
        aliases=("reserve_computation", "reserve_formula", "15c3-3"),
        norms=("N2", "R2"),
        since=2,
        columns=(
            C("computation_date", DATE, "Date the computation is made as of.",
              aliases=("as_of_date",)),
            C("total_credits", MONEY, "Total credits of the formula (free credit balances and "
              "other customer credits).", unit="currency", min=0),
            C("total_debits", MONEY, "Total debits of the formula before the reduction of its "
              "Note E.", unit="currency", min=0),
            C("net_capital_method", STRING, "How the firm computes net capital, which sets the "
              "reduction of the debits: basic (aggregate indebtedness) or alternative.",
              allowed=("basic", "alternative"), nullable=True),
            C("reserve_required", MONEY, "The deposit the firm computed as required.",
              unit="currency", nullable=True, min=0),
            C("reserve_deposit", MONEY, "Cash and qualified securities in the special reserve "
              "bank account after the deposit for this computation.", unit="currency", min=0),
        ),
    ),
)

# Tables the toolkit derives itself (never loaded from files), which rules may read.
DERIVED: tuple[Table, ...] = (
    Table(
        "stress",
        "Stress-test results computed by `audit stress` on the export: one row per scenario.",
        key=("scenario",),
        norms=("N4", "R1", "R4"),
        columns=(
            C("scenario", STRING, "Scenario name."),
            C("title", STRING, "Scenario title.", nullable=True),
            C("kind", STRING, "uniform, asset_class, historical or hypothetical.", nullable=True),
            C("severe", BOOL, "The scenario is the severe one capital must cover."),
            C("accounts", INT, "Accounts in the book."),
            C("accounts_in_call", INT, "Accounts in margin call after the shock."),
            C("accounts_wiped_out", INT, "Accounts with negative equity after the shock."),
            C("shortfall", MONEY, "Static loss falling on the platform (negative equity).",
              unit="currency"),
            C("spiral_shortfall", MONEY, "Loss after the one-instant deleveraging spiral (every "
              "forced sale at once, no price limits: a sensitivity).", unit="currency"),
            C("path_shortfall", MONEY, "Loss after the multi-day path: the scenario's move within "
              "daily price limits, forced sales at a participation rate of volume, locked "
              "limit-down days trading nothing, unsold holdings marked at the horizon.",
              unit="currency", nullable=True),
            C("amplification", FLOAT, "Spiral loss over static loss.", unit="x", nullable=True),
            C("verdict_stable", BOOL, "A severe scenario's capital verdict on the path is the "
              "same under every setting of the model grid (impact coefficient 0.5-2, square-root "
              "or linear law, participation 10-40% of volume); empty when the grid was not run "
              "(scenarios not marked severe) or there is no capital figure.", nullable=True),
            C("path_shortfall_min", MONEY, "Smallest path shortfall over the model grid.",
              unit="currency", nullable=True),
            C("path_shortfall_max", MONEY, "Largest path shortfall over the model grid.",
              unit="currency", nullable=True),
            C("spiral_rounds", INT, "Rounds until no new account was liquidated."),
            C("net_capital", MONEY, "Platform net capital at the as-of date.", unit="currency",
              nullable=True),
            C("liquid_assets", MONEY, "Platform liquid assets at the as-of date.",
              unit="currency", nullable=True),
            C("max_days_to_liquidate", FLOAT, "Most days of average volume any instrument needs "
              "to absorb the spiral's forced sales; empty when an instrument sold has no or an "
              "unknown average volume.", unit="days", nullable=True),
            C("no_market_instruments_sold", INT, "Instruments the spiral force-sold whose average "
              "daily volume is 0: no market can absorb them.", nullable=True),
            C("model", STRING, "The stress model and the parameters that produced the row (the "
              "toolkit's own model: a finding on it names it)."),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
DERIVED_BY_NAME: dict[str, Table] = {t.name: t for t in DERIVED}


@dataclass(frozen=True)
class Reference:
    """Referential integrity: every non-empty ``table.column`` names a ``parent.key`` that the
    export holds. A row that names none is an orphan: reported, and its id treated as
    unreadable, so no rule judges it as if it were linked (or passes because it is not)."""

    table: str
    column: str
    parent: str
    key: str


REFERENCES: tuple[Reference, ...] = (
    Reference("kyc_events", "client_id", "clients", "client_id"),
    Reference("accounts", "client_id", "clients", "client_id"),
    Reference("financings", "client_id", "clients", "client_id"),
    Reference("financings", "account_id", "accounts", "account_id"),
    Reference("positions", "account_id", "accounts", "account_id"),
    Reference("positions", "instrument_id", "instruments", "instrument_id"),
    Reference("instrument_terms", "instrument_id", "instruments", "instrument_id"),
    Reference("margin_events", "account_id", "accounts", "account_id"),
    Reference("ledger", "account_id", "accounts", "account_id"),
    Reference("fees", "account_id", "accounts", "account_id"),
    Reference("fees", "financing_id", "financings", "financing_id"),
    Reference("financings", "rollover_of", "financings", "financing_id"),
    Reference("trades", "account_id", "accounts", "account_id"),
    Reference("trades", "instrument_id", "instruments", "instrument_id"),
)


def table(name: str) -> Table:
    """Return the contract (or derived) table called ``name``; KeyError names the known ones."""
    found = TABLES_BY_NAME.get(name) or DERIVED_BY_NAME.get(name)
    if found is None:
        known = ", ".join([*TABLES_BY_NAME, *DERIVED_BY_NAME])
        raise KeyError(f"unknown table {name!r}; known: {known}")
    return found


def readable_columns(name: str) -> list[str]:
    """Every column a rule may read in table ``name``: file columns and computed ones."""
    return table(name).readable_names


def computed_column(table_name: str, column: str) -> Computed | None:
    return next((c for c in table(table_name).computed if c.name == column), None)


def personal_columns() -> set[str]:
    """Names of every column that holds personal data, in any table."""
    return {c.name for t in TABLES for c in t.columns if c.personal}


@lru_cache(maxsize=None)
def pandera_schema(table_name: str):
    """The pandera (polars backend) schema that checks a loaded table against the contract.

    Types are already enforced by the loader (a cell that will not parse is reported there),
    so the schema checks what typing cannot: nullability, closed vocabularies, bounds and keys.
    """
    import pandera.polars as pa

    t = table(table_name)
    columns = {}
    for col in t.columns:
        checks = []
        if col.allowed:
            checks.append(pa.Check.isin(list(col.allowed), name="allowed values"))
        if col.min is not None:
            checks.append(pa.Check.ge(col.min, name=f">= {col.min:g}"))
        columns[col.name] = pa.Column(
            col.dtype, checks=checks, nullable=col.nullable, required=col.required, coerce=False
        )
    return pa.DataFrameSchema(
        columns, unique=list(t.key), strict=False, name=t.name, report_duplicates="all"
    )
