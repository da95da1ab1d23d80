"""The US book's other records: the clients and their due-diligence history, the house's
published terms (three versions), the reserve bank account's statements, net capital, the
audit reports and the house's own stress tests, with the plants and traps of the rules that
read them, and the money plants on ordinary accounts (set up before the simulation)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction as F
from typing import Any

import numpy as np

from audit.sample.identity import mod97_check
from audit.sample.us.book import COMMISSION_BP, COMMISSION_MIN, Account, Book
from audit.sample.us.market import END, HOUSE_30_FROM, LISTED, STORY_STOCKS
from audit.sample.us.stories import PUBLISHED, ix

PLATFORM_ID = "HVS"
PLATFORM_NAME = "Harborview Securities LLC (fictional)"
CUSTODIAN = "Hudson Valley Trust Company, N.A. (fictional)"
RESERVE_ACCOUNT = "SRBA 4417-0093"
CAPITAL_BUFFER, LIQUIDITY_BUFFER = 25_000_000_00, 10_000_000_00
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Susan", "Wei", "Priya", "Carlos", "Sofia", "Ahmed", "Yuki", "Daniel", "Grace"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Chen", "Patel", "Nguyen", "Kim", "Cohen", "O'Brien", "Schmidt", "Rossi", "Okafor", "Haddad"]
FIRMS = ["Harbor", "Lumen", "Crescent", "Granite", "Meridian", "Northgate", "Summit", "Bayview"]


# Free credit balances of the firm's cash-account customers (cents): the reserve formula covers
# every customer, this margin export lists the margin accounts only.
CASH_ACCOUNT_CREDITS = 1_250_000_00

def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


# ------------------------------------------------------------------ money plants (before the days)

def money_plants(b: Book) -> None:
    """SEG-002, SEG-008 (and its trap), CON-004 and CON-007 on ordinary accounts."""
    o = b.ordinary

    def out(a: Account, d: str, cents: int, kind: str, desc: str, ref: str | None = None,
            rule: str | None = None, note: str = "", to: Account | None = None) -> None:
        def act(book: Book, acc: Account, t: int) -> None:
            acc.cash -= cents
            book.ledger.append({"date": book.dates[t], "account_id": acc.id, "amount": -cents,
                                "counterparty_type": kind, "instruction_ref": ref, "description": desc,
                                "_tag": (rule, note) if rule else None})
            if to is not None:
                to.cash += cents
                book.ledger.append({"date": book.dates[t], "account_id": to.id, "amount": cents,
                                    "counterparty_type": "client_account", "instruction_ref": ref,
                                    "description": f"Journal from {acc.id}", "_tag": None})
        a.actions.setdefault(ix(b, d), []).append(act)

    out(o[0], "2026-05-20", 250_00, "platform_own", "Swept to house operating account",
        rule="SEG-002", note="client money moved to the house's own account")
    out(o[1], "2026-06-03", 400_00, "client_account", f"Journal to {o[2].id}", to=o[2],
        rule="SEG-008", note="journal to another client's account without an instruction")
    out(o[3], "2026-06-10", 300_00, "client_account", f"Journal to {o[2].id}", ref="LOA-2026-0610-17",
        to=o[2])  # trap: the client's signed letter of authorisation
    o[4].interest_bp = o[4].rate_bp + 400
    o[4].interest_tag = ("CON-004", "May interest at 4 points above the contract rate")
    fin = next(f for f in b.financings if f["_acc"] is o[5])
    opened = fin["opened_at"].replace(year=2025, month=10, day=14)
    fin.update(opened_at=opened, rate_annual=0.1275, financing_id=f"ML{opened:%y%m}{o[5].i + 1:05d}")
    o[5].rate_bp, o[5].financing = 1275, fin["financing_id"]
    b.violation("CON-007", "financings", {"financing_id": fin["financing_id"]},
                "contracted at 12.75% while 11.75% was published")


def pledges(b: Book) -> None:
    """SEG-003: one account-day re-pledged at 150% of its debit; trap: one at exactly 140%.
    Every day's pledges stay within the customers' aggregate indebtedness (15c2-1)."""
    snaps = [s for s in b.snapshots if s["_acc"] in b.ordinary and s["debt"] > 0]
    plant = next(s for s in snaps if s["debt"] * 3 // 2 + 1 <= s["market_value"] and s["date"] >= date(2026, 6, 1))
    plant["pledged_value"] = plant["debt"] * 3 // 2 + 1
    b.violation("SEG-003", "accounts", {"account_id": plant["account_id"], "date": plant["date"].isoformat()},
                "securities re-pledged at 150% of the debit")
    trap = next(s for s in snaps if s["debt"] % 5 == 0 and s["debt"] * 14 // 10 <= s["market_value"]
                and s["account_id"] != plant["account_id"])
    trap["pledged_value"] = trap["debt"] * 14 // 10
    for d in b.dates:
        day = [s for s in b.snapshots if s["date"] == d]
        if sum(s["pledged_value"] or 0 for s in day) > sum(s["debt"] for s in day):
            raise RuntimeError(f"{d}: pledges above the aggregate indebtedness")


# ------------------------------------------------------------------ clients and due diligence

def clients(b: Book) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The clients and their kyc_events, with the KYC plants and traps on ordinary accounts."""
    rng = b.rng
    first = {f["_acc"].id: f["opened_at"].date() for f in b.financings}
    fin_id = {f["_acc"].id: f["financing_id"] for f in b.financings}
    o = b.ordinary
    role = {o[6].id: "KYC-001", o[7].id: "KYC-002", o[8].id: "KYC-003", o[9].id: "KYC-006",
            o[10].id: "KYC-007", o[11].id: "KYC-008", o[12].id: "KYC-009", o[13].id: "KYC-004",
            o[14].id: "trap-006", o[15].id: "trap-007", o[16].id: "trap-009", o[17].id: "trap-003",
            o[18].id: "trap-004"}
    rows, events = [], []
    for a in b.accounts:
        f = first[a.id]
        r = role.get(a.id, "")
        inst = r in ("KYC-004", "trap-004") or (not r and not a.story and rng.random() < 0.05)
        od = f - timedelta(days=int(rng.integers(3, 40)) if a.first_day else int(rng.integers(20, 2400)))
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
            name = f"{rng.choice(FIRMS)} {rng.choice(['Capital Partners LP', 'Asset Management LLC', 'Family Office LLC'])}"
        else:
            id_type = "passport" if rng.random() < 0.7 else "other"
            id_number = (f"{int(rng.integers(500_000_000, 599_999_999))}" if id_type == "passport"
                         else f"NY-DL {int(rng.integers(100_000_000, 999_999_999))}")
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        rows.append({"client_id": a.client, "name": name,
                     "category": "professional" if inst or rng.random() < 0.1 else "retail",
                     "id_type": id_type, "id_number": id_number,
                     "phone": f"+1 {int(rng.integers(201, 989))}-555-01{int(rng.integers(0, 100)):02d}",
                     "bank_account": f"{int(rng.integers(10**11, 10**12 - 1))}", "onboarded_at": od,
                     "pep": pep, "risk_rating": rating, "entity_type": "institution" if inst else "individual",
                     "credit_account_opened_at": od})
        events += history(b, a.client, od, f, rating, pep, r, fin_id[a.id], passport=id_type == "passport")
    return rows, events


def lei(rng: np.random.Generator, broken: bool) -> str:
    alnum = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
    base = np.concatenate([np.array(list("5493")), np.array(["0", "0"]), alnum[rng.integers(0, len(alnum), 12)]])
    check = int(mod97_check(base[None, :])[0])
    return "".join(base) + f"{(check + 11) % 97 if broken else check:02d}"


def history(b: Book, client: str, od: date, f: date, rating: str, pep: bool, role: str, fid: str,
            passport: bool) -> list[dict[str, Any]]:
    """One client's due diligence: verified, screened, assessed and given the margin disclosure
    statement at onboarding, re-screened and re-assessed before a later financing, reviewed
    within its rating's interval; each plant removes or delays one step."""
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
        kyc("KYC-001", "identity still pending when the margin loan was drawn")
    else:
        e("verification", od, "verified", until=until)
    lists = f"OFAC SDN {od:%Y-%m-%d}"
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
            e("screening", d, "clear", rating=rating, pep=pep, lists=f"OFAC SDN {d:%Y-%m-%d}")
    else:
        kyc("KYC-008", "never screened")
    grade = str(rng.choice(["C3", "C4", "C5"]))
    if role == "KYC-006":
        e("risk_assessment", add_months(f, -25), "completed", grade=grade)
        kyc("KYC-006", "investment profile 25 months old when the margin loan was drawn")
    elif role == "trap-006":
        e("risk_assessment", add_months(f, -24), "completed", grade=grade)
    else:
        e("risk_assessment", od, "completed", grade=grade)
        if add_months(od, 24) < f:
            e("risk_assessment", f - timedelta(days=int(rng.integers(5, 300))), "completed", grade=grade)
    if role == "KYC-002":
        e("risk_disclosure", f + timedelta(days=3), "signed")
        kyc("KYC-002", "margin disclosure statement signed three days after the loan")
    else:
        e("risk_disclosure", od, "signed")
    if role == "KYC-009":
        kyc("KYC-009", "politically exposed client never approved by senior management")
    elif pep:
        e("pep_approval", f, "approved")
    months = {"high": 12, "medium": 36, "low": 60}[rating]
    if role == "KYC-007":
        e("periodic_review", date(2025, 4, 20), "completed", rating=rating)
        b.violation("KYC-007", "clients", {"client_id": client}, "high-risk client last reviewed 14 months ago")
    elif role == "trap-007":
        e("periodic_review", add_months(END, -12), "completed", rating=rating)
    elif add_months(od, months) <= END + timedelta(days=30):
        e("periodic_review", END - timedelta(days=int(rng.integers(30, int(months * 30 * 0.8)))), "completed",
          rating=rating)
    if role in ("KYC-007", "trap-007") and od > date(2025, 4, 1):
        raise RuntimeError("a review story needs an older client")
    return ev


# ------------------------------------------------------------------ the house

def versions() -> list[dict[str, Any]]:
    """The published house terms: 2024 (maintenance 20%, LEV-017's plant), 2025 (25%) and
    the current terms, published 11 May 2026 and in force from 18 May (30%), which leave the
    reserve bank out and do not disclose the clearing house exposure (CON-005, CLR-004)."""
    out = []
    for (since, bp), maint, audit, eff in zip(PUBLISHED, (20, 25, 30),
                                              (date(2023, 2, 24), date(2025, 2, 27), date(2026, 2, 26)),
                                              (None, None, HOUSE_30_FROM)):
        line = round(float(F(100, 100 - maint)) + 0.00005, 4)  # equity / long value at the requirement
        current = eff is not None
        out.append({
            "platform_id": PLATFORM_ID, "platform_name": PLATFORM_NAME, "disclosed_at": since,
            "effective_from": eff, "initial_margin": 0.5, "maintenance_margin": maint / 100,
            "margin_call_ratio": line, "liquidation_ratio": line, "call_response_hours": None,
            "notice_period_hours": None, "call_response_trading_days": 0, "notice_period_trading_days": 2,
            "line_inclusive": False, "interest_rate_annual": bp / 10_000, "commission_rate": COMMISSION_BP / 10_000,
            "commission_min": COMMISSION_MIN, "day_count": 360, "leverage_cap_retail": 2.0,
            "leverage_cap_professional": 2.0, "custodian": None if current else CUSTODIAN,
            "capital_buffer_min": CAPITAL_BUFFER, "liquidity_buffer_min": LIQUIDITY_BUFFER,
            "clearing_chain": f"{PLATFORM_NAME} (self-clearing) -> NSCC / DTC",
            "ccp_exposure_disclosed": not current, "last_audit_date": audit, "rehypothecation_limit": 1.4})
    return out


def house_records(b: Book) -> dict[str, list[dict[str, Any]]]:
    """Custody, capital, audits, stress tests, with their plants and traps."""
    rng = b.rng
    plat = versions()
    b.violation("LEV-017", "platform", {"platform_id": PLATFORM_ID, "disclosed_at": "2024-01-15"},
                "2024 terms: house maintenance requirement 20%")
    current = {"platform_id": PLATFORM_ID, "disclosed_at": PUBLISHED[-1][0].isoformat()}
    b.violation("CON-005", "platform", current, "the terms in force name no custodian of client money")
    b.violation("CLR-004", "platform", current, "the terms in force do not disclose the CCP exposure")
    custody, capital = [], []
    short_day, exact_day = ix(b, "2026-05-20"), ix(b, "2026-06-12")
    thin_day, at_buffer = ix(b, "2026-06-17"), ix(b, "2026-05-13")
    for t, d in enumerate(b.dates):
        money = sum(max(s["cash"], 0) for s in b.snapshots if s["date"] == d)
        balance = money + 50_000_00 + int(money * rng.uniform(0.005, 0.02))
        if t == short_day:
            balance = money - 1_234_56
            b.violation("SEG-001", "custody", {"date": d.isoformat()}, "reserve account $1,234.56 short")
        elif t == exact_day:
            balance = money
        custody.append({"date": d, "custody_account": RESERVE_ACCOUNT, "custodian": CUSTODIAN,
                        "statement_balance": balance, "ack_letter_signed_at": date(2023, 3, 1)})
        liquid = LIQUIDITY_BUFFER + int(rng.integers(1_500_000_00, 6_000_000_00))
        if t == thin_day:
            liquid = 9_400_000_00
            b.violation("CAP-001", "capital", {"date": d.isoformat()}, "liquid assets 6% below the disclosed buffer")
        elif t == at_buffer:
            liquid = LIQUIDITY_BUFFER
        capital.append({"date": d, "net_capital": CAPITAL_BUFFER + int(rng.integers(5_000_000_00, 11_000_000_00)),
                        "liquid_assets": liquid})
    # The weekly customer reserve computation (15c3-3(e), Exhibit A), as of each week's last
    # session: free credit balances against customer debits less Note E's 3% (the firm computes
    # net capital by the alternative method). One week's deposit falls short (SEG-005); another
    # is exactly the requirement (a trap).
    reserve = []
    weeks = [d for t, d in enumerate(b.dates) if t + 1 == len(b.dates) or b.dates[t + 1].isocalendar()[1] != d.isocalendar()[1]]
    for w, d in enumerate(weeks):
        # Credits include the free credit balances of the firm's cash-account customers, whom
        # this margin export does not list (the formula covers every customer).
        credits = sum(max(s["cash"], 0) for s in b.snapshots if s["date"] == d) + CASH_ACCOUNT_CREDITS
        debits = sum(s["debt"] for s in b.snapshots if s["date"] == d)
        required = max(0, credits - (debits * 97) // 100)  # cents, rounded up: never below the formula
        deposit = required + int(rng.integers(10_000_00, 80_000_00))
        if w == 2:
            deposit = max(required - 25_000_00, 0)
            b.violation("SEG-005", "reserve_computations", {"computation_date": d.isoformat()},
                        "reserve deposit $25,000 short of the Exhibit A requirement")
        elif w == 4:
            deposit = required
        reserve.append({"computation_date": d, "total_credits": credits, "total_debits": debits,
                        "net_capital_method": "alternative", "reserve_required": required,
                        "reserve_deposit": deposit})
    audits = [
        {"audit_id": "AR-2023", "auditor": "Whitlock & Crane LLP (fictional)", "period_start": date(2023, 1, 1),
         "period_end": date(2023, 12, 31), "report_date": date(2024, 2, 23), "opinion": "qualified"},
        {"audit_id": "AR-2024", "auditor": "Whitlock & Crane LLP (fictional)", "period_start": date(2024, 1, 1),
         "period_end": date(2024, 12, 31), "report_date": date(2025, 2, 27), "opinion": "unqualified"},
        {"audit_id": "AR-2025", "auditor": "Whitlock & Crane LLP (fictional)", "period_start": date(2025, 1, 1),
         "period_end": date(2025, 12, 31), "report_date": date(2026, 2, 26), "opinion": "qualified"},
    ]
    b.violation("CLR-005", "audits", {"audit_id": "AR-2025"}, "the latest annual audit opinion is qualified")
    stress = []
    for q, run in enumerate((date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31))):
        for name, shock, loss in (("moderate: equities -15%", -0.15, 120_000_00), ("severe: equities -30%", -0.30, 950_000_00)):
            last = q == 3 and shock == -0.30
            stress.append({"test_id": f"ST-{run:%Y%m}-{'M' if shock == -0.15 else 'S'}", "run_date": run,
                           "scenario": name, "shock": shock,
                           "shortfall": None if last else loss + int(rng.integers(0, 100_000_00)),
                           "net_capital": None if last else CAPITAL_BUFFER + 7_000_000_00,
                           "approved_by": "Risk Committee"})
    b.violation("LEV-015", "stress_tests", {}, "the latest quarterly stress test has no recorded result")
    instruments = [{"instrument_id": k, "name": n, "asset_class": c, "exchange": x, "adv": float(v)}
                   for k, n, x, c, _, v, _ in LISTED]
    instruments += [{"instrument_id": k, "name": n, "asset_class": "equity", "exchange": "XNAS",
                     "adv": float(int(rng.integers(400, 2_000)) * 1_000)} for k, n in STORY_STOCKS]
    return {"platform": plat, "custody": custody, "capital": capital, "audits": audits,
            "stress_tests": stress, "instruments": instruments, "reserve_computations": reserve}
