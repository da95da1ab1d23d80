"""The cn book's financing contracts: the financing margin ratio of each regime, the rates
published over time, contracts with their available margin at open (at least the regime's
ratio of the amount, or of the original contract for a rollover), and the plants and traps of
the contract rules (LEV-010..013, CON-007, OFX-001, OFX-002) on ordinary accounts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction as F

from audit.sample.cn.book import Account, Book, half_up
from audit.sample.cn.market import at

# Published financing rates (basis points a year) by terms version: see records.versions().
PUBLISHED = ((date(2020, 1, 2), 835), (date(2025, 1, 2), 650), (date(2026, 1, 19), 580))


def published_bp(d: date) -> int:
    return [bp for since, bp in PUBLISHED if since <= d][-1]


def regime(d: date) -> F:
    """The exchanges' financing margin ratio for a contract made on ``d``."""
    return F(4, 5) if date(2023, 9, 11) <= d <= date(2026, 1, 16) else F(1)


def ix(b: Book, d: str) -> int:
    return b.dates.index(date.fromisoformat(d))


def tag(rule: str, note: str, b: Book, a: Account) -> tuple[str, str]:
    b.found.add((rule, a.id))
    b.allowed[(rule, a.id)] = note
    return (rule, note)


def on(b: Book, a: Account, d: str, fn) -> None:
    a.actions.setdefault(ix(b, d), []).append(fn)


# ------------------------------------------------------------------------------ contracts

def contract(b: Book, a: Account, opened: datetime, amount: int, *, margin: F | None = None,
             equity: int | None = None, rate_bp: int | None = None, term: int = 182,
             rollover_of: str | None = None, current: bool = True, lines: tuple[F, F] | None = None,
             regime_of: date | None = None) -> dict:
    """A financing contract: ``margin`` is the available margin at open over the amount (at
    least the ratio of the regime the contract, or the contract it rolls over, was made in)."""
    rng = b.rng
    m = regime(regime_of or opened.date())
    if margin is None:
        margin = m * F(int(rng.integers(105, 200)), 100)
    available = half_up(margin * amount)
    equity = equity if equity is not None else available + int(available * rng.uniform(0.0, 0.3))
    n = sum(1 for f in b.financings if f["account_id"] == a.id)
    fid = f"RZ{opened:%Y%m%d}{a.i + 1:05d}{n}"
    rate = rate_bp if rate_bp is not None else published_bp(opened.date()) - int(rng.choice([0, 0, 50, 100, 150]))
    warn, liq = lines or (a.warn, a.liq)
    row = {"financing_id": fid, "account_id": a.id, "client_id": a.client, "opened_at": opened,
           "amount": amount, "equity_at_open": equity, "available_margin_at_open": available,
           "leverage_at_open": round((equity + amount) / equity, 4), "rate_annual": rate / 10_000,
           "term_days": term, "rollover_of": rollover_of, "warning_line": float(warn),
           "liquidation_line": float(liq), "_acc": a, "_tag": None}
    b.financings.append(row)
    if current:
        a.financing, a.rate_bp = fid, rate
    return row


def when(b: Book, lo: date, hi: date) -> datetime:
    """A trading-hours moment on a weekday between ``lo`` and ``hi``."""
    d = lo + timedelta(days=int(b.rng.integers(0, (hi - lo).days + 1)))
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return at(d, int(b.rng.choice([9, 10, 11, 13, 14])), int(b.rng.integers(0, 60)))


def current_contract(b: Book, a: Account) -> None:
    """The contract the account's debt stands on: made 1-6 months before the window, or (one
    in five) a rollover of one made six months before that; one in four clients also had an
    earlier contract, repaid, as far back as 2022."""
    rng = b.rng
    if rng.random() < 0.25:
        old = when(b, date(2022, 3, 1), date(2025, 3, 31))
        contract(b, a, old, int(rng.integers(50_000, 800_000)) * 100, current=False, term=182)
    if rng.random() < 0.2:
        first = when(b, date(2025, 4, 1), date(2025, 6, 30))
        orig = contract(b, a, first, a.debt, term=182, current=False)
        contract(b, a, first + timedelta(days=182), a.debt, term=182, rollover_of=orig["financing_id"],
                 regime_of=first.date())
    else:
        contract(b, a, when(b, date(2025, 7, 10), date(2025, 12, 31)), a.debt,
                 term=int(rng.choice([182, 184])))


# ------------------------------------------------------------------------------ plants

def contract_plants(b: Book) -> None:
    """Plants and traps of the contract rules on ordinary accounts o[17]..o[26]."""
    o = b.ordinary

    def old(a: Account, d: date, hh: int, mm: int, amount: int, margin: F, **kw) -> dict:
        return contract(b, a, at(d, hh, mm), amount, margin=margin, current=False, **kw)

    f = old(o[17], date(2023, 9, 8), 14, 20, 600_000_00, F(85, 100))
    b.violation("LEV-010", "financings", {"financing_id": f["financing_id"]},
                "2023年9月8日（100%比例最后一个交易日）按85%放款")
    old(o[18], date(2023, 9, 11), 9, 35, 500_000_00, F(4, 5))  # trap: 80% on the regime's first day
    f = old(o[19], date(2025, 6, 16), 10, 20, 800_000_00, F(75, 100), equity=880_000_00)
    b.violation("LEV-011", "financings", {"financing_id": f["financing_id"]},
                "保证金可用余额仅为融资金额的75%（自有资产按折算率计算后不足80%）")
    orig = old(o[20], date(2023, 8, 15), 13, 40, 300_000_00, F(1))  # trap: exactly 100%
    f = contract(b, o[20], at(date(2024, 2, 5), 10, 2), 300_000_00, margin=F(85, 100), current=False,
                 rollover_of=orig["financing_id"], regime_of=date(2023, 8, 15))
    b.violation("LEV-010", "financings", {"financing_id": f["financing_id"]},
                "展期合约按80%比例计算，原合约签订于100%比例期间")
    cur = {x["_acc"].id: x for x in b.financings if x["financing_id"] == x["_acc"].financing}
    cur[o[21].id]["term_days"] = 270
    b.violation("LEV-013", "financings", {"financing_id": o[21].financing}, "融资期限270天，超过六个月")
    cur[o[22].id]["account_holder_id"] = o[23].client
    b.violation("OFX-001", "financings", {"financing_id": o[22].financing}, "信用账户实际由他人使用（出借账户）")
    cur[o[23].id]["funder_controls_password"] = True
    b.violation("OFX-002", "financings", {"financing_id": o[23].financing}, "营业部员工掌握客户交易密码")
    fin = cur[o[24].id]
    fin.update(opened_at=fin["opened_at"].replace(year=2025, month=10, day=14), rate_annual=0.07)
    o[24].rate_bp = 700
    b.violation("CON-007", "financings", {"financing_id": fin["financing_id"]},
                "合同利率7.00%，高于当时公布的6.50%")
    rollover(b, o[25], "2026-01-13", 650)  # trap: 6.50% while 5.80% is published but not in force
    rollover(b, o[26], "2026-02-10", None)  # trap: a rollover after 19 January at 80% of its original


def rollover(b: Book, a: Account, d: str, rate_bp: int | None) -> None:
    """Extend the account's contract on ``d`` (展期): the debt stays, interest is settled."""
    cur = next(f for f in b.financings if f["financing_id"] == a.financing)
    first = cur["rollover_of"] or cur["financing_id"]
    orig = next(f for f in b.financings if f["financing_id"] == first)
    t = ix(b, d)
    rate = rate_bp if rate_bp is not None else min(a.rate_bp, published_bp(b.dates[t]))
    if rate_bp is not None:
        cur["rate_annual"], a.rate_bp = rate / 10_000, rate
    row = contract(b, a, at(b.dates[t], 10, 30), a.debt, margin=F(82, 100), rate_bp=rate, current=False,
                   rollover_of=first, regime_of=orig["opened_at"].date())

    def act(book: Book, acc: Account, k: int) -> None:
        book.settle(acc, k)
        acc.financing, acc.rate_bp = row["financing_id"], rate
    a.actions.setdefault(t, []).append(act)
