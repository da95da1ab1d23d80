"""The EU book's other records: the clients and their due-diligence history (passports, LEIs
for institutions), the provider's published terms (one version a quarter, each with its risk
warning), the client bank accounts' statements and the provider's own records of them, capital,
audit reports and stress tests, with the plants and traps of the rules that read them; the
money plants on ordinary accounts (set up before the simulation); and the loss share the
accounts bear out (the risk warning's recomputation)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction as F
from typing import Any

from audit.sample.eu.book import COMMISSION_BP, COMMISSION_MIN, DAY_COUNT, Account, Book
from audit.sample.eu.market import CFDS, END, WARNING_CALCULATED
from audit.sample.eu.stories import PUBLISHED, ix
from audit.sample.us.records import add_months, lei

PLATFORM_ID = "TCM"
PLATFORM_NAME = "Thamesgate Capital Markets Ltd (fictional)"
# The client bank accounts: bank, account, first day it holds client money, letter countersigned.
BANKS = (("Aldgate Bank plc (fictional)", "CLIENT A/C 40-11-62 71829304", date(2024, 12, 31), date(2022, 3, 14)),
         ("Northfleet Bank plc (fictional)", "CLIENT A/C 30-96-21 55120487", date(2025, 6, 2), date(2025, 6, 2)),
         ("Kestrel Private Bank Ltd (fictional)", "CLIENT A/C 16-00-15 90031755", date(2026, 2, 2), date(2026, 2, 6)))
CUSTODIANS = "; ".join(x[0] for x in BANKS[:2])
CAPITAL_BUFFER, LIQUIDITY_BUFFER = 8_000_000_00, 3_000_000_00
FIRST = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Sophie", "Lukas",
         "Emma", "Pierre", "Chloe", "Marco", "Giulia", "Jan", "Anna", "Mateusz", "Aisha"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Patel", "Khan",
        "Muller", "Schmidt", "Dubois", "Martin", "Rossi", "Bianchi", "de Vries", "Novak", "Kowalski", "O'Connor"]
FIRMS = ["Harrowgate", "Lindqvist", "Morland", "Ashcombe", "Vantor", "Elmbridge", "Castellan", "Rothwell"]
PASSPORT = {"GB": 9, "IE": 9, "DE": 9, "FR": 9, "IT": 9, "NL": 9, "PL": 9}


# ------------------------------------------------------------------ money plants (before the days)

def money_plants(b: Book) -> None:
    """SEG-002, SEG-008 and its trap, SEG-007, on the ordinary accounts that carry them."""
    role = {a.role: a for a in b.ordinary if a.role}

    def out(a: Account, d: str, cents: int, kind: str, desc: str, ref: str | None = None,
            rule: str | None = None, note: str = "", to: Account | None = None) -> None:
        def act(book: Book, acc: Account, t: int) -> None:
            book.move(acc, t, -cents, kind, desc, ref, (rule, note) if rule else None)
            if to is not None:
                book.move(to, t, cents, "client_account", f"Transfer from {acc.id}", ref)
        a.actions.setdefault(ix(b, d), []).append(act)

    keep = role["keeper"]
    out(role["SEG-002"], "2025-06-18", 250_00, "platform_own", "Transfer to house account",
        rule="SEG-002", note="client money moved to the provider's own account")
    out(role["SEG-008"], "2025-09-10", 400_00, "client_account", f"Transfer to {keep.id}", to=keep,
        rule="SEG-008", note="transfer to another client's account without an instruction")
    out(role["trap-008"], "2025-11-12", 300_00, "client_account", f"Transfer to {keep.id}", to=keep,
        ref="INS-2025-1112-04")  # trap: the client's signed transfer instruction

    def fee(book: Book, acc: Account, t: int) -> None:
        book.move(acc, t, -25_00, "fee", "Account fee")
        book.violation("SEG-007", "ledger", {"account_id": acc.id, "date": book.dates[t].isoformat()},
                       "£25.00 taken as a fee with no charge behind it")
    role["SEG-007"].actions.setdefault(ix(b, "2026-02-11"), []).append(fee)


# ------------------------------------------------------------------ clients and due diligence

def clients(b: Book) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The clients and their kyc_events; KYC plants and traps on the single-CFD accounts."""
    rng = b.rng
    fins: dict[str, list[dict]] = {}
    for f in b.financings:
        fins.setdefault(f["_acc"].id, []).append(f)
    rows, events = [], []
    for a in b.accounts:
        mine = sorted(fins.get(a.id, []), key=lambda f: f["opened_at"])
        if not mine:
            raise RuntimeError(f"{a.id}: an account without a CFD")
        f = mine[0]["opened_at"].date()
        r = a.role if a.role.startswith(("KYC", "trap-00")) and a.role != "trap-008" else ""
        if r and len(mine) != 1:
            raise RuntimeError(f"{a.id}: a KYC story needs one CFD")
        inst = r in ("KYC-004", "trap-004") or (not r and a.category == "professional" and rng.random() < 0.3)
        od = f - timedelta(days=int(rng.integers(2, 30)) if a.first_day else int(rng.integers(20, 2000)))
        if r in ("KYC-007", "trap-007"):
            od = min(od, date(2024, 2, 1))
        elif r in ("KYC-006", "trap-006"):
            od = min(od, add_months(f, -26))
        rating = "high" if r in ("KYC-007", "trap-007") else str(rng.choice(["low", "medium", "high"], p=[.6, .3, .1]))
        pep = r in ("KYC-009", "trap-009")
        if inst:
            id_type, id_number = "lei", lei(rng, broken=r == "KYC-004")
            if r == "KYC-004":
                b.violation("KYC-004", "clients", {"client_id": a.client}, "LEI with wrong check digits")
            name = f"{rng.choice(FIRMS)} {rng.choice(['Capital LLP', 'Asset Management Ltd', 'Family Office Ltd'])}"
        else:
            country = str(rng.choice(list(PASSPORT), p=[.55, .07, .1, .08, .07, .06, .07]))
            id_type, id_number = "passport", f"{country}{int(rng.integers(10**8, 10**9 - 1))}"
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        rows.append({"client_id": a.client, "name": name, "category": a.category, "id_type": id_type,
                     "id_number": id_number, "phone": f"+44 7700 9{int(rng.integers(0, 100_000)):05d}",
                     "bank_account": f"{int(rng.integers(10, 99))}-{int(rng.integers(10, 99))}-{int(rng.integers(10, 99))} "
                                     f"{int(rng.integers(10**7, 10**8 - 1))}",
                     "onboarded_at": od, "pep": pep, "risk_rating": rating,
                     "entity_type": "institution" if inst else "individual", "credit_account_opened_at": od})
        events += history(b, a.client, od, f, rating, pep, r, mine[0]["financing_id"], passport=not inst)
    return rows, events


def history(b: Book, client: str, od: date, f: date, rating: str, pep: bool, role: str, fid: str,
            passport: bool) -> list[dict[str, Any]]:
    """One client's due diligence: identity verified (a passport valid ten years), screened
    against the UK and EU sanctions lists, appropriateness assessed and the CFD risk warning
    signed at onboarding, re-screened before a first CFD long after it, re-assessed every 23
    months, reviewed within its rating's interval; each plant removes or delays one step."""
    rng = b.rng
    ev: list[dict[str, Any]] = []

    def e(kind: str, d: date, outcome: str | None, **kw: Any) -> None:
        ev.append({"client_id": client, "event_type": kind, "event_date": d, "outcome": outcome,
                   "risk_grade": kw.get("grade"), "risk_rating": kw.get("rating"), "pep": kw.get("pep"),
                   "list_version": kw.get("lists"), "valid_until": kw.get("until")})

    def kyc(rule: str, note: str) -> None:
        b.violation(rule, "financings", {"financing_id": fid}, note)

    until = add_months(od, 120) if passport else None
    if role == "KYC-001":
        e("verification", od, "pending", until=until)
        e("verification", f + timedelta(days=10), "verified", until=until)
        kyc("KYC-001", "identity still pending when the CFD was opened")
    else:
        e("verification", od, "verified", until=until)
    lists = f"OFSI consolidated list / EU consolidated list {od:%Y-%m-%d}"
    if role == "KYC-003":
        e("screening", od, "hit", rating=rating, pep=False, lists=lists)
        kyc("KYC-003", "sanctions screening hit never resolved")
    elif role == "trap-003":
        e("screening", od, "hit", rating=rating, pep=False, lists=lists)
        e("screening_resolution", f, "cleared")
    elif role != "KYC-008":
        e("screening", od, "clear", rating=rating, pep=pep, lists=lists)
        if (f - od).days > 300:
            d = f - timedelta(days=int(rng.integers(1, 90)))
            e("screening", d, "clear", rating=rating, pep=pep, lists=f"OFSI / EU consolidated lists {d:%Y-%m-%d}")
    else:
        kyc("KYC-008", "never screened")
    grade = str(rng.choice(["C3", "C4", "C5"]))
    if role == "KYC-006":
        e("risk_assessment", add_months(f, -25), "completed", grade=grade)
        kyc("KYC-006", "appropriateness assessment 25 months old when the CFD was opened")
    elif role == "trap-006":
        e("risk_assessment", add_months(f, -24), "completed", grade=grade)
    else:
        d = od
        while d <= END:
            e("risk_assessment", d, "completed", grade=grade)
            d = add_months(d, 23)
    if role == "KYC-002":
        e("risk_disclosure", f + timedelta(days=3), "signed")
        kyc("KYC-002", "CFD risk warning acknowledged three days after the CFD was opened")
    else:
        e("risk_disclosure", od, "signed")
    if role == "KYC-009":
        kyc("KYC-009", "politically exposed client never approved by senior management")
    elif pep:
        e("pep_approval", f, "approved")
    months = {"high": 12, "medium": 36, "low": 60}[rating]
    if role == "KYC-007":
        e("periodic_review", date(2025, 2, 20), "completed", rating=rating)
        b.violation("KYC-007", "clients", {"client_id": client}, "high-risk client last reviewed 14 months ago")
    elif role == "trap-007":
        e("periodic_review", add_months(END, -12), "completed", rating=rating)
    elif add_months(od, months) <= END + timedelta(days=30):
        e("periodic_review", END - timedelta(days=int(rng.integers(30, int(months * 30 * 0.8)))), "completed",
          rating=rating)
    if role in ("KYC-007", "trap-007") and od > date(2025, 2, 1):
        raise RuntimeError("a review story needs an older client")
    return ev


# ------------------------------------------------------------------ the loss share

def loss_share(b: Book, end: date) -> F:
    """The share of retail accounts that lost money over the twelve months to ``end``, as
    ESMA defines it: result = equity at the end - equity at the start - net deposits, over the
    retail accounts with an open CFD in the period."""
    start = add_months(end, -12)
    snaps: dict[str, list[dict]] = {}
    for s in b.snapshots:
        snaps.setdefault(s["account_id"], []).append(s)
    flows: dict[str, int] = {}
    for r in b.ledger:
        if r["counterparty_type"] == "client_bank" and start < r["date"] <= end:
            flows[r["account_id"]] = flows.get(r["account_id"], 0) + r["amount"]
    counted = lost = 0
    for acc, rows in snaps.items():
        if rows[0]["_acc"].category != "retail":
            continue
        upto = [s for s in rows if s["date"] <= end]
        first = [s for s in rows if s["date"] <= start]
        if not upto:
            continue
        s0 = first[-1] if first else None
        held = any(s["market_value"] > 0 and (s is s0 or start < s["date"] <= end) for s in rows)
        if not held:
            continue
        counted += 1
        lost += upto[-1]["equity"] - (s0["equity"] if s0 else 0) - flows.get(acc, 0) < 0
    return F(lost, counted)


# ------------------------------------------------------------------ the provider

def versions(b: Book) -> list[dict[str, Any]]:
    """One terms version a quarter, each with the risk warning calculated at the quarter's end
    before it; the last (15 January 2026) is the one in force: its loss share understates the
    accounts' (CON-012), it was never recalculated in March (CON-009), and it names no client
    bank and does not disclose the provider's hedging counterparties (CON-005, CLR-004)."""
    true = loss_share(b, WARNING_CALCULATED)
    published = round(float(true), 2) - 0.09
    pcts = (0.74, 0.73, 0.71, 0.72, 0.70, published)
    calc = (date(2024, 3, 31), date(2024, 12, 31), date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30),
            WARNING_CALCULATED)
    out = []
    for k, ((since, bp), pct, c) in enumerate(zip(PUBLISHED, pcts, calc)):
        current = k == len(PUBLISHED) - 1
        out.append({
            "platform_id": PLATFORM_ID, "platform_name": PLATFORM_NAME, "disclosed_at": since,
            "effective_from": None, "initial_margin": None, "maintenance_margin": None,
            "margin_call_ratio": None, "liquidation_ratio": None, "call_response_hours": None,
            "notice_period_hours": None, "call_response_trading_days": 0, "notice_period_trading_days": 1,
            "line_inclusive": False, "interest_rate_annual": bp / 10_000, "commission_rate": COMMISSION_BP / 10_000,
            "commission_min": COMMISSION_MIN, "day_count": DAY_COUNT, "leverage_cap_retail": 30.0,
            "leverage_cap_professional": 100.0,
            "custodian": None if current else (CUSTODIANS if since >= BANKS[1][2] else BANKS[0][0]),
            "capital_buffer_min": CAPITAL_BUFFER, "liquidity_buffer_min": LIQUIDITY_BUFFER,
            "clearing_chain": f"{PLATFORM_NAME} as principal to every CFD; market risk hedged with "
                              "prime brokers (fictional) clearing through LCH and Eurex Clearing",
            "ccp_exposure_disclosed": not current, "last_audit_date": date(2025, 4, 28) if since >= date(2025, 4, 28)
            else date(2024, 4, 26), "rehypothecation_limit": 0.0, "risk_warning_pct": round(pct, 2),
            "risk_warning_calculated_at": c, "risk_warning_kind": "provider_specific"})
    key = {"platform_id": PLATFORM_ID, "disclosed_at": PUBLISHED[-1][0].isoformat()}
    b.violation("CON-012", "accounts", key,
                f"published {published:.0%} of retail accounts losing money; the accounts show {float(true):.1%}")
    b.violation("CON-009", "platform", key, "the loss share in force was calculated 120 days before the audit date")
    b.violation("CON-005", "platform", key, "the terms in force name no client bank holding client money")
    b.violation("CLR-004", "platform", key, "the terms in force do not disclose the hedging counterparties' exposure")
    return out


def house_records(b: Book) -> dict[str, list[dict[str, Any]]]:
    rng = b.rng
    custody, capital = [], []
    short_day, exact_day, split_day = ix(b, "2025-08-20"), ix(b, "2025-10-08"), ix(b, "2026-03-18")
    thin_day, at_buffer = ix(b, "2025-11-26"), ix(b, "2025-05-14")
    owed: dict[date, int] = {}
    for s in b.snapshots:
        owed[s["date"]] = owed.get(s["date"], 0) + max(s["cash"], 0)
    for t, d in enumerate(b.dates):
        money = owed.get(d, 0)
        total = money + 25_000_00 + int(money * rng.uniform(0.01, 0.03))  # the provider's own buffer
        if t == short_day:
            total = money - 1_234_56
            b.violation("SEG-001", "custody", {"date": d.isoformat()}, "client bank accounts £1,234.56 short of client money")
        elif t == exact_day:
            total = money
        banks = [x for x in BANKS if x[2] <= d]
        shares = {1: [1], 2: [F(3, 5), F(2, 5)], 3: [F(1, 2), F(7, 20), F(3, 20)]}[len(banks)]
        amounts = [int(total * s) for s in shares[:-1]]
        amounts.append(total - sum(amounts))
        for k, ((bank, acct, _, ack), amount) in enumerate(zip(banks, amounts)):
            statement = amount
            if t == split_day and k < 2:
                statement = amount + (-2_000_00 if k == 0 else 2_000_00)
                b.violation("SEG-006", "custody", {"date": d.isoformat(), "custody_account": acct},
                            "statement £2,000.00 away from the provider's records of the account")
            if ack > d:
                b.violation("SEG-004", "custody", {"date": d.isoformat(), "custody_account": acct},
                            "client money held before the bank countersigned the acknowledgement letter")
            custody.append({"date": d, "custody_account": acct, "custodian": bank, "statement_balance": statement,
                            "ack_letter_signed_at": ack, "book_balance": amount})
        liquid = LIQUIDITY_BUFFER + int(rng.integers(800_000_00, 2_500_000_00))
        if t == thin_day:
            liquid = 2_850_000_00
            b.violation("CAP-001", "capital", {"date": d.isoformat()}, "liquid assets 5% below the disclosed buffer")
        elif t == at_buffer:
            liquid = LIQUIDITY_BUFFER
        capital.append({"date": d, "net_capital": CAPITAL_BUFFER + int(rng.integers(2_000_000_00, 5_000_000_00)),
                        "liquid_assets": liquid})
    audits = [
        {"audit_id": "FY2023", "auditor": "Pelham & Rook LLP (fictional)", "period_start": date(2023, 1, 1),
         "period_end": date(2023, 12, 31), "report_date": date(2024, 4, 26), "opinion": "qualified"},
        {"audit_id": "FY2024", "auditor": "Pelham & Rook LLP (fictional)", "period_start": date(2024, 1, 1),
         "period_end": date(2024, 12, 31), "report_date": date(2025, 4, 28), "opinion": "qualified"},
    ]
    b.violation("CLR-005", "audits", {"audit_id": "FY2024"}, "the latest annual audit opinion is qualified")
    stress = []
    for q, run in enumerate((date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31))):
        for name, shock, loss in (("moderate: indices -10%, FX 3%", -0.10, 180_000_00),
                                  ("severe: indices -25%, FX 8%, crypto -50%", -0.25, 1_400_000_00)):
            last = q == 3 and shock == -0.25
            stress.append({"test_id": f"ST-{run:%Y%m}-{'M' if shock == -0.10 else 'S'}", "run_date": run,
                           "scenario": name, "shock": shock,
                           "shortfall": None if last else loss + int(rng.integers(0, 200_000_00)),
                           "net_capital": None if last else CAPITAL_BUFFER + 3_000_000_00, "approved_by": "Risk Committee"})
    b.violation("LEV-015", "stress_tests", {}, "the latest quarterly stress test has no recorded result")
    instruments = [{"instrument_id": k, "name": n, "asset_class": c, "exchange": x, "adv": v}
                   for k, n, c, x, _, _, _, v in CFDS]
    return {"custody": custody, "capital": capital, "audits": audits, "stress_tests": stress,
            "instruments": instruments}
