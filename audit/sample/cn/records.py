"""The cn book's other records: the money plants on ordinary accounts (set up
before the days), the clients and their due-diligence history, and the broker's own records:
its published terms (three versions), the depository bank's statements, month-end net
capital, audit reports and stress tests, instruments and their dated collateral terms."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction as F
from typing import Any

import numpy as np

from audit.sample.cn.book import Account, Book
from audit.sample.cn.contracts import ix, tag
from audit.sample.cn.market import END, LISTED, ST_STOCK, STORY_STOCKS, at
from audit.sample.identity import USCC_ALPHABET, USCC_WEIGHTS, ric_numbers
from audit.sample.us.records import add_months  # calendar months, as the eu book uses

PLATFORM_ID = "HXZQ"
PLATFORM_NAME = "华曦证券股份有限公司（虚构）"
CUSTODIAN = "中国工商银行股份有限公司上海市分行"
CUSTODY_ACCOUNT = "1001-2188-0900-0366"
CAPITAL_BUFFER, LIQUIDITY_BUFFER = 2_000_000_000_00, 800_000_000_00
# Month-end net capital (the December figure makes the whale's 120,000,000.00 exactly 5%).
CAPITAL = ((date(2025, 10, 31), 2_450_000_000_00), (date(2025, 11, 30), 2_420_000_000_00),
           (date(2025, 12, 31), 2_400_000_000_00), (date(2026, 1, 31), 2_510_000_000_00),
           (date(2026, 2, 28), 2_380_000_000_00))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "文博", "雨桐", "子涵", "思远"]
FIRMS = ["上海临港", "杭州钱塘", "深圳前海", "北京中关村", "苏州工业园", "宁波甬江"]
KYC_ROLES = ("KYC-001", "KYC-002", "KYC-003", "KYC-004", "KYC-005", "KYC-006", "KYC-007", "KYC-008",
             "KYC-009", "KYC-010", "trap-003", "trap-006", "trap-007", "trap-009", "trap-010",
             "trap-inst", "trap-pro")


# ------------------------------------------------------------------ plants before the days

def on_day(b: Book, a: Account, t: int, fn) -> None:
    a.actions.setdefault(t, []).append(fn)


def money_plants(b: Book) -> None:
    """SEG-002, SEG-007, SEG-008, CON-004, CON-006 and their traps on o[0]..o[8], and a few
    ordinary switches from a stock into an ETF."""
    o = b.ordinary

    def out(a: Account, d: str, cents: int, kind: str, desc: str, ref: str | None = None,
            rule: str | None = None, note: str = "", to: Account | None = None) -> None:
        def act(book: Book, acc: Account, t: int) -> None:
            book.money(acc, t, -cents, kind, desc, ref, (rule, note) if rule else None)
            if to is not None:
                book.money(to, t, cents, "client_account", f"转入自{acc.id}", ref)
        on_day(b, a, ix(b, d), act)

    out(o[0], "2026-01-21", 300_00, "platform_own", "划转至公司自有账户", rule="SEG-002",
        note="客户资金划入证券公司自有账户")
    out(o[1], "2026-02-04", 5_000_00, "client_account", f"转账至{o[2].id}", to=o[2], rule="SEG-008",
        note="无客户指令将资金转入他人账户")
    out(o[3], "2026-02-26", 3_000_00, "client_account", f"转账至{o[2].id}", ref="WT20260226-0031", to=o[2])
    o[4].interest_bp = o[4].rate_bp + 200
    o[4].interest_tag = ("CON-004", "一月利息按高于合同利率2个百分点计收")

    def repay(book: Book, acc: Account, t: int) -> None:  # SEG-007: taken as a repayment, not applied
        book.money(acc, t, -10_000_00, "financing_repayment", "直接还款", tag=None)
        book.violation("SEG-007", "ledger", {"account_id": acc.id, "date": book.dates[t].isoformat()},
                       "以还款名义划出10,000.00元，负债未相应减少")
    on_day(b, o[5], ix(b, "2026-02-03"), repay)

    def repay_ok(book: Book, acc: Account, t: int) -> None:  # trap: interest first, then principal
        book.settle(acc, t)
        book.money(acc, t, -50_000_00, "financing_repayment", "直接还款")
        acc.debt -= 50_000_00
    for a in o[:9]:
        a.cash += 60_000_00  # these clients keep more cash in the account
    on_day(b, o[6], ix(b, "2026-02-04"), repay_ok)

    def switch(a: Account, d: str, fee_bp: F | None = None, rule: str | None = None, qty: int | None = None):
        def act(book: Book, acc: Account, t: int) -> None:
            k = max((x for x in acc.long if x not in ("510300", "510500", "159915", "588000")),
                    key=lambda x: acc.long[x] * int(book.price[x][t]))
            q = qty or max(100, acc.long[k] // 300 * 100)
            px = int(book.price[k][t])
            ft = tag(rule, "佣金按0.05%收取，公布费率为0.025%", book, acc) if rule else None
            book.fill(acc, t, at(book.dates[t], 10, 41), k, "sell", q, px, fee_tag=ft, fee_bp=fee_bp)
            acc.long[k] -= q
            acc.cash += q * px
            etf = "510300"
            ep = int(book.price[etf][t])
            eq = q * px // ep // 100 * 100
            if eq:
                book.fill(acc, t, at(book.dates[t], 10, 43), etf, "buy", eq, ep)
                acc.long[etf] = acc.long.get(etf, 0) + eq
                acc.cash -= eq * ep
        on_day(b, a, ix(b, d), act)

    switch(o[7], "2026-02-10", fee_bp=F(5), rule="CON-006")
    switch(o[8], "2026-01-28", qty=100)  # trap: a commission at the 5.00 minimum
    rng = b.rng
    for a in o[27:]:
        if rng.random() < 0.3:
            switch(a, b.dates[int(rng.integers(1, len(b.dates)))].isoformat())


def pledge(b: Book) -> None:
    """SEG-003: under cn nothing may be re-pledged; one account-day shows 200,000.00 pledged."""
    s = next(s for s in b.snapshots if s["_acc"] is b.ordinary[9] and s["date"] == date(2026, 2, 26))
    s["pledged_value"] = min(200_000_00, s["market_value"])
    b.violation("SEG-003", "accounts", {"account_id": s["account_id"], "date": "2026-02-26"},
                "客户担保证券被再质押")


# ------------------------------------------------------------------ clients and due diligence

def resident_id(rng: np.random.Generator, born: date, region: int = 310104, broken: bool = False) -> str:
    birth = born.year * 10000 + born.month * 100 + born.day
    seq = int(rng.integers(1, 999))
    check = str(ric_numbers(np.array([region]), np.array([birth]), np.array([seq]))[0])
    if broken:
        check = "10X98765432"[("10X98765432".index(check) + 3) % 11]
    return f"{region:06d}{birth:08d}{seq:03d}{check}"


def uscc(rng: np.random.Generator) -> str:
    o = int(rng.integers(10_000_000, 99_999_999))
    od = [(o // 10 ** (7 - k)) % 10 for k in range(8)]
    oc = 11 - sum(x * w for x, w in zip(od, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    oc_ch = "X" if oc == 10 else "0" if oc == 11 else str(oc)
    body = f"91310115{o:08d}{oc_ch}"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def clients(b: Book) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = b.rng
    first = {}
    for f in b.financings:
        first[f["account_id"]] = min(first.get(f["account_id"], f["opened_at"]), f["opened_at"])
    fins: dict[str, list[dict]] = {}
    for f in b.financings:
        fins.setdefault(f["client_id"], []).append(f)
    role = {b.ordinary[k].id: r for k, r in enumerate(KYC_ROLES)}
    rows, events = [], []
    for a in b.accounts:
        f = first[a.id].date()
        r = role.get(a.id, "")
        inst = r == "trap-inst" or a.story == "WHALE" or (not r and not a.story and rng.random() < 0.05)
        credit = f - timedelta(days=int(rng.integers(3, 20)) if a.first_day else int(rng.integers(1, 90)))
        onboarded = add_months(credit, -int(rng.integers(8, 120)))
        first_trade = onboarded + timedelta(days=int(rng.integers(0, 30)))
        if r == "KYC-010":
            first_trade, onboarded = add_months(credit, -5), add_months(credit, -5)
            b.violation("KYC-010", "clients", {"client_id": a.client}, "首次交易至开立信用账户仅五个月")
        elif r == "trap-010":
            first_trade = add_months(credit, -6)
            onboarded = first_trade - timedelta(days=2)
        if r in ("KYC-007", "trap-007", "KYC-006", "trap-006"):
            onboarded = min(onboarded, date(2022, 6, 1))
            credit = min(credit, date(2023, 1, 5))
            first_trade = onboarded
        rating = "high" if r in ("KYC-007", "trap-007") else str(rng.choice(["low", "medium", "high"], p=[.6, .32, .08]))
        pep = r in ("KYC-009", "trap-009")
        professional = inst or r == "trap-pro" or (not r and rng.random() < 0.06)
        if inst:
            id_type, id_number = "uscc", uscc(rng)
            name = f"{rng.choice(FIRMS)}{rng.choice(['投资管理有限公司', '私募基金管理有限公司', '资产管理有限公司'])}"
        else:
            born = onboarded - timedelta(days=int(rng.integers(23 * 365, 60 * 365)))
            kind = rng.random()
            if r == "KYC-004" or r or kind < 0.9:
                id_type = "cn_resident_id"
                region = int(rng.choice([110101, 110105, 110108, 120101, 310101, 310104, 310105, 310109]))
                id_number = resident_id(rng, born, region, broken=r == "KYC-004")
            elif kind < 0.96:
                id_type = "cn_hmt_residence_permit"
                id_number = resident_id(rng, born, int(rng.choice([810000, 820000, 830000])))
            else:
                id_type = "cn_foreigner_prc"
                id_number = resident_id(rng, born, int(f"931{rng.choice(['840', '392', '410', '250'])}"))
            name = str(rng.choice(list(SURNAMES))) + str(rng.choice(GIVEN))
        if r == "KYC-004":
            b.violation("KYC-004", "clients", {"client_id": a.client}, "居民身份证号码校验码错误")
        rows.append({
            "client_id": a.client, "name": name, "category": "professional" if professional else "retail",
            "id_type": id_type, "id_number": id_number,
            "phone": f"1{int(rng.choice([36, 38, 39, 58, 86, 88]))}{int(rng.integers(10**7, 10**8 - 1)):08d}",
            "bank_account": f"6222{int(rng.integers(10**14, 10**15 - 1))}", "onboarded_at": onboarded,
            "pep": pep, "risk_rating": rating, "entity_type": "institution" if inst else "individual",
            "first_trade_date": None if r == "trap-inst" else first_trade, "credit_account_opened_at": credit})
        events += history(b, a.client, onboarded, credit, f, rating, pep, r, professional, fins[a.client])
    return rows, events


def history(b: Book, client: str, od: date, credit: date, f: date, rating: str, pep: bool, role: str,
            professional: bool, fins: list[dict]) -> list[dict[str, Any]]:
    """Verified at onboarding and again at the credit account's opening, screened, assessed
    (retail C4 or C5; professional investors are not graded) and the 融资融券 risk disclosure
    signed then; re-assessed every 18 months; reviewed within the rating's interval."""
    rng = b.rng
    ev: list[dict[str, Any]] = []

    def e(kind: str, d: date, outcome: str | None, **kw: Any) -> None:
        ev.append({"client_id": client, "event_type": kind, "event_date": d, "outcome": outcome,
                   "risk_grade": kw.get("grade"), "risk_rating": kw.get("rating"), "pep": kw.get("pep"),
                   "list_version": kw.get("lists"), "valid_until": kw.get("until")})

    def kyc(rule: str, note: str) -> None:
        for x in fins:
            b.violation(rule, "financings", {"financing_id": x["financing_id"]}, note)

    e("verification", od, "verified", until=add_months(od, 240))
    if role == "KYC-001":
        e("verification", credit, "pending", until=add_months(od, 240))
        e("verification", f + timedelta(days=10), "verified", until=add_months(od, 240))
        kyc("KYC-001", "开立信用账户时身份核验仍未完成即放款")
    else:
        e("verification", credit, "verified", until=add_months(od, 240))
    lists = f"反洗钱名单 {credit:%Y%m%d}"
    if role == "KYC-003":
        e("screening", credit, "hit", rating=rating, pep=False, lists=lists)
        kyc("KYC-003", "名单筛查命中后未处置即放款")
    elif role == "trap-003":
        e("screening", credit, "hit", rating=rating, pep=False, lists=lists)
        e("screening_resolution", f, "cleared")
    elif role != "KYC-008":
        e("screening", credit, "clear", rating=rating, pep=pep, lists=lists)
    else:
        kyc("KYC-008", "从未进行反洗钱名单筛查")
    grade = None if professional else ("C3" if role == "KYC-005" else str(rng.choice(["C4", "C5"], p=[.6, .4])))
    if role == "KYC-005":
        kyc("KYC-005", "风险承受能力C3的客户参与R4级融资融券业务")
    if role == "KYC-006":
        e("risk_assessment", add_months(f, -25), "completed", grade=grade)
        kyc("KYC-006", "放款时风险测评已逾25个月")
    elif role == "trap-006":
        e("risk_assessment", add_months(f, -24), "completed", grade=grade)
    else:
        d = credit
        while d <= END:
            e("risk_assessment", d, "completed", grade=grade)
            d = add_months(d, 18)
    if role == "KYC-002":
        e("risk_disclosure", f + timedelta(days=3), "signed")
        kyc("KYC-002", "放款三日后才签署融资融券交易风险揭示书")
    else:
        e("risk_disclosure", credit, "signed")
    if role == "KYC-009":
        kyc("KYC-009", "政治公众人物未经高级管理人员批准即放款")
    elif role == "trap-009":
        e("pep_approval", f, "approved")
    months = {"high": 6, "medium": 36, "low": 60}[rating]
    if role == "KYC-007":
        e("periodic_review", date(2025, 7, 1), "completed", rating=rating)
        b.violation("KYC-007", "clients", {"client_id": client}, "高风险客户最近一次复核在八个月前")
    elif role == "trap-007":
        e("periodic_review", add_months(END, -6), "completed", rating=rating)
    elif add_months(od, months) <= END + timedelta(days=30):
        e("periodic_review", END - timedelta(days=int(rng.integers(10, int(months * 30 * 0.8)))), "completed",
          rating=rating)
    return ev


# ------------------------------------------------------------------ the broker

def versions() -> list[dict[str, Any]]:
    """The published 融资融券 terms: 2020 (8.35%), 2025 (6.50%), and the current terms
    published on 12 January 2026 and in force from 19 January (5.80%, commission 0.025%), which
    name no depository bank and do not disclose the central counterparty exposure."""
    out = []
    for since, eff, bp, comm, init in ((date(2020, 1, 2), None, 835, 0.0003, 1.0),
                                       (date(2025, 1, 2), None, 650, 0.0003, 0.8),
                                       (date(2026, 1, 12), date(2026, 1, 19), 580, 0.00025, 1.0)):
        current = eff is not None
        out.append({
            "platform_id": PLATFORM_ID, "platform_name": PLATFORM_NAME, "disclosed_at": since,
            "effective_from": eff, "initial_margin": init, "maintenance_margin": 0.3333,
            "margin_call_ratio": 1.5, "liquidation_ratio": 1.3, "call_response_hours": None,
            "notice_period_hours": None, "call_response_trading_days": 0, "notice_period_trading_days": 2,
            "line_inclusive": False, "interest_rate_annual": bp / 10_000, "commission_rate": comm,
            "commission_min": 5_00, "day_count": 360, "leverage_cap_retail": 2.0,
            "leverage_cap_professional": 2.0, "custodian": None if current else CUSTODIAN,
            "capital_buffer_min": CAPITAL_BUFFER, "liquidity_buffer_min": LIQUIDITY_BUFFER,
            "clearing_chain": f"{PLATFORM_NAME} -> 中国证券登记结算有限责任公司（上海、深圳分公司）",
            "ccp_exposure_disclosed": not current, "last_audit_date": date(2025, 3, 27) if current else since,
            "rehypothecation_limit": 0.0})
    return out


def early_warnings(b: Book) -> None:
    """CAP-004: every client-day whose financing or short selling reaches 80% of the 5%
    single-client limit (风控指标 预警) without passing the limit (that is CAP-002's), against the
    latest month-end net capital on or before the day. The whale reaches it on every day before
    March (exactly 5% of December's figure is at the limit, not over it)."""
    per_client: dict[tuple[date, str], list[int]] = {}
    for s in b.snapshots:
        total = per_client.setdefault((s["date"], s["client_id"]), [0, 0])
        total[0] += s["debt"]
        total[1] += s["short_market_value"] or 0
    for (d, client), (debt, short) in sorted(per_client.items()):
        known = [nc for day, nc in CAPITAL if day <= d]
        if not known:
            continue
        nc = known[-1]
        over = any(x * 100 > 5 * nc for x in (debt, short))
        if not over and any(x * 100 >= 4 * nc for x in (debt, short)):
            b.violation("CAP-004", "accounts", {"date": d.isoformat(), "client_id": client},
                        "单一客户融资或融券余额达到净资本5%限额的80%预警线")


def house_records(b: Book) -> dict[str, list[dict[str, Any]]]:
    rng = b.rng
    current = {"platform_id": PLATFORM_ID, "disclosed_at": "2026-01-12"}
    b.violation("CON-005", "platform", current, "现行业务规则未载明存管银行")
    b.violation("CLR-004", "platform", current, "现行业务规则未披露中央对手方风险敞口")
    custody = []
    short_day, exact_day = ix(b, "2026-02-04"), ix(b, "2026-02-26")
    for t, d in enumerate(b.dates):
        money = sum(max(s["cash"], 0) for s in b.snapshots if s["date"] == d)
        balance = money + int(money * rng.uniform(0.001, 0.01)) + 5_000_00
        if t == short_day:
            balance = money - 1_234_56
            b.violation("SEG-001", "custody", {"date": d.isoformat()}, "存管银行余额比客户资金少1,234.56元")
        elif t == exact_day:
            balance = money
        custody.append({"date": d, "custody_account": CUSTODY_ACCOUNT, "custodian": CUSTODIAN,
                        "statement_balance": balance, "ack_letter_signed_at": None})
    capital = []
    for d, nc in CAPITAL:
        liquid = LIQUIDITY_BUFFER + int(rng.integers(50_000_000_00, 300_000_000_00))
        if d == date(2026, 1, 31):
            liquid = 760_000_000_00
            b.violation("CAP-001", "capital", {"date": d.isoformat()}, "一月末流动资产低于承诺的最低水平")
        elif d == date(2026, 2, 28):
            liquid = LIQUIDITY_BUFFER
        capital.append({"date": d, "net_capital": nc, "liquid_assets": liquid})
    for s in b.snapshots:
        if s["_acc"].story == "WHALE" and s["date"] >= date(2026, 3, 1):
            b.violation("CAP-002", "accounts", {"date": s["date"].isoformat(), "client_id": s["client_id"]},
                        "单一客户融资余额超过二月末净资本的5%")
    early_warnings(b)
    audits = [
        {"audit_id": "SJ-2023", "auditor": "信衡会计师事务所（特殊普通合伙）（虚构）", "period_start": date(2023, 1, 1),
         "period_end": date(2023, 12, 31), "report_date": date(2024, 3, 28), "opinion": "qualified"},
        {"audit_id": "SJ-2024", "auditor": "信衡会计师事务所（特殊普通合伙）（虚构）", "period_start": date(2024, 1, 1),
         "period_end": date(2024, 12, 31), "report_date": date(2025, 3, 27), "opinion": "qualified"},
    ]
    b.violation("CLR-005", "audits", {"audit_id": "SJ-2024"}, "最近一期年度审计意见为保留意见")
    stress = []
    for q, run in enumerate((date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31))):
        for name, shock, loss in (("轻度：A股下跌15%", -0.15, 12_000_000_00), ("重度：A股连续三个跌停", -0.27, 95_000_000_00)):
            last = q == 3 and shock == -0.27
            stress.append({"test_id": f"YL-{run:%Y%m}-{'Q' if shock == -0.15 else 'Z'}", "run_date": run,
                           "scenario": name, "shock": shock,
                           "shortfall": None if last else loss + int(rng.integers(0, 10_000_000_00)),
                           "net_capital": None if last else CAPITAL[0][1], "approved_by": "风险控制委员会"})
    b.violation("LEV-015", "stress_tests", {}, "最近一次压力测试未记录结果")
    instruments = [{"instrument_id": k, "name": n, "asset_class": c, "exchange": x, "adv": float(v)}
                   for k, n, x, c, _, _, v, _ in LISTED]
    instruments.append({"instrument_id": ST_STOCK[0], "name": ST_STOCK[1], "asset_class": "equity",
                        "exchange": "XSHG", "adv": 2_400_000.0})
    instruments += [{"instrument_id": k, "name": n, "asset_class": "equity", "exchange": "XSHE",
                     "adv": float(int(rng.integers(3_000, 12_000)) * 1_000)} for k, n in STORY_STOCKS]
    return {"platform": versions(), "custody": custody, "capital": capital, "audits": audits,
            "stress_tests": stress, "instruments": instruments, "instrument_terms": terms()}


def terms() -> list[dict[str, Any]]:
    """折算率 within the exchanges' caps (CSI 300 stocks 70%, other A-shares 60%, ChiNext story
    stocks 55%, ETFs 90%), all margin and collateral eligible; 隆基绿能 cut to 50% from
    2 February 2026; the ST stock at 0 and ineligible since it was put under risk warning."""
    start = date(2025, 1, 2)
    rows = []
    for k, _n, _x, c, index, *_ in LISTED:
        haircut = 0.9 if c == "etf" else 0.7 if index else 0.6
        if k == "601012":
            rows.append({"instrument_id": k, "effective_from": start, "effective_to": date(2026, 2, 1),
                         "haircut": 0.7, "margin_eligible": True, "collateral_eligible": True})
            rows.append({"instrument_id": k, "effective_from": date(2026, 2, 2), "effective_to": None,
                         "haircut": 0.5, "margin_eligible": True, "collateral_eligible": True})
            continue
        rows.append({"instrument_id": k, "effective_from": start, "effective_to": None, "haircut": haircut,
                     "margin_eligible": True, "collateral_eligible": True})
    rows.append({"instrument_id": ST_STOCK[0], "effective_from": start, "effective_to": date(2025, 4, 29),
                 "haircut": 0.6, "margin_eligible": True, "collateral_eligible": True})
    rows.append({"instrument_id": ST_STOCK[0], "effective_from": date(2025, 4, 30), "effective_to": None,
                 "haircut": 0.0, "margin_eligible": False, "collateral_eligible": False})
    rows += [{"instrument_id": k, "effective_from": start, "effective_to": None, "haircut": 0.55,
              "margin_eligible": True, "collateral_eligible": True} for k, _ in STORY_STOCKS]
    return sorted(rows, key=lambda r: (r["instrument_id"], r["effective_from"]))
