"""The accounts of the US book: ordinary margin accounts (long, some with shorts) and the story
accounts that carry the plants and traps of the rules judged on snapshots, margin events,
trades and fees. A story account holding a story stock scripts that stock's closes as the
equity ratio it wants (``Account.target``), so a deficiency begins, lasts and ends on the days
the story names, whatever the seed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction as F

import numpy as np

from audit.sample.us.book import Account, Book, half_up
from audit.sample.us.market import LISTED, STORY_STOCKS, at

# Published interest rates (basis points a year) by house-terms version: see records.VERSIONS.
PUBLISHED = ((date(2024, 1, 15), 1225), (date(2025, 3, 3), 1175), (date(2026, 5, 11), 1125))
FIRST_FINANCING, LAST_FINANCING = date(2024, 3, 1), date(2026, 4, 24)
STORIES = ("T25", "T30", "SELLOUT", "UNCLEARED", "EARLY_SALE", "SOLD_ABOVE", "NO_NOTICE", "OPEN_16",
           "MET_15", "LATE_CALL", "SHORT", "PDT", "PDT_25K", "DAY_TRADER_2026", "INTRADAY",
           "INTRADAY_MET", "REG_T", "REG_T_2X", "MIN_EQUITY", "MIN_EQUITY_2K")
MIN_ACCOUNTS = 40  # the stories and the ordinary accounts the other plants and traps need


def published_bp(d: date) -> int:
    return [bp for since, bp in PUBLISHED if since <= d][-1]


def make_accounts(b: Book, n: int) -> None:
    """Every account: the stories on a seeded draw of account numbers, the rest ordinary."""
    rng = b.rng
    order = rng.permutation(n)
    b.accounts = [Account(i=i, id=f"M{i + 1:06d}", client=f"C{i + 1:06d}") for i in range(n)]
    b.story_of = {}
    for k, name in enumerate(STORIES):
        a = b.accounts[int(order[k])]
        a.story = name
        b.story_of[name] = a
    b.ordinary = [b.accounts[int(i)] for i in order[len(STORIES):]]
    listed = [x[0] for x in LISTED]
    for k, (ticker, _) in enumerate(STORY_STOCKS):
        b.price[ticker] = np.full(len(b.dates), 4000 + 250 * k, dtype=np.int64)
    for a in b.ordinary:
        ordinary(b, a, rng, listed)
    for name in STORIES:
        STORY[name](b, b.story_of[name])


def financing(b: Book, a: Account, opened: datetime, equity: int, amount: int,
              rate_bp: int | None = None) -> None:
    """The account's margin financing (its debit at open), on the terms published that day."""
    discount = int(b.rng.choice([0, 0, 0, 50, 100, 200]))
    if a.story not in ("REG_T", "MIN_EQUITY") and (amount > equity or (amount and equity < 2_000_00)):
        raise RuntimeError(f"{a.id}: a loan outside Regulation T or FINRA's $2,000 minimum")
    a.rate_bp = rate_bp if rate_bp is not None else published_bp(opened.date()) - discount
    a.financing = f"ML{opened:%y%m}{a.i + 1:05d}"
    b.financings.append({"financing_id": a.financing, "account_id": a.id, "client_id": a.client,
                         "opened_at": opened, "amount": amount, "equity_at_open": equity,
                         "leverage_at_open": round((equity + amount) / equity, 4),
                         "rate_annual": a.rate_bp / 10_000, "_acc": a})


def opened_before_window(b: Book) -> datetime:
    span = (LAST_FINANCING - FIRST_FINANCING).days
    d = FIRST_FINANCING + timedelta(days=int(b.rng.integers(0, span)))
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return at(d, int(b.rng.integers(9, 16)), int(b.rng.integers(0, 60)))


def ordinary(b: Book, a: Account, rng: np.random.Generator, listed: list[str]) -> None:
    """A long margin account in one to four listed stocks (one in five also short one),
    equity 45-85% of its market value, topped up by the client before 36%."""
    names = rng.choice(len(listed), int(rng.integers(1, 5)), replace=False)
    lmv_target = max(15_000_00, float(np.exp(rng.normal(np.log(60_000_00), 0.8))))
    for j in names:
        px = int(b.price[listed[j]][0])
        a.long[listed[j]] = max(1, int(lmv_target / len(names) / px))
    lmv, _ = b.values(a, 0)
    smv = 0
    if rng.random() < 0.2:
        j = int(rng.choice([x for x in range(len(listed)) if x not in names]))
        a.short[listed[j]] = max(1, int(lmv * rng.uniform(0.1, 0.3) / int(b.price[listed[j]][0])))
        _, smv = b.values(a, 0)
    e0 = F(int(rng.integers(45, 86)), 100)
    buffer = int(rng.integers(500_00, 3_000_00))
    a.cash = smv + buffer
    a.debt = max(0, a.cash + lmv - smv - half_up(e0 * (lmv + smv)))
    a.pledge = 0.0 if rng.random() < 0.4 else float(rng.uniform(0.3, 1.2))
    eq0 = max(int(lmv * rng.uniform(0.5, 0.8)), 5_000_00)
    financing(b, a, opened_before_window(b), eq0, int(eq0 * rng.uniform(0.3, 1.0)))


# ------------------------------------------------------------------------------ helpers

def ix(b: Book, d: str) -> int:
    return b.dates.index(date.fromisoformat(d))


def holds(b: Book, a: Account, stock: str, qty: int, debt: int, cash: int = 0) -> None:
    """A story account long ``qty`` of its story stock against a debit of ``debt`` cents."""
    a.stock, a.long, a.debt, a.cash, a.top_up = stock, {stock: qty}, debt, cash, False
    financing(b, a, opened_before_window(b), debt + 5_000_00, debt)


def path(b: Book, a: Account, default: str, **days: str) -> None:
    """Target equity ratios: ``default`` every day, then ``d2026_05_19="0.27"`` style overrides,
    or ``from_2026_05_22`` for every day from that one."""
    a.target = {t: F(default) for t in range(a.first_day, len(b.dates))}
    for k, v in sorted(days.items(), key=lambda kv: kv[0].startswith("d")):
        when = ix(b, (k[5:] if k.startswith("from_") else k[1:]).replace("_", "-"))
        if k.startswith("from"):
            a.target.update({t: F(v) for t in range(when, len(b.dates))})
        else:
            a.target[when] = F(v)


def stop(b: Book, a: Account, d: str) -> None:
    """No target from ``d`` on (the account no longer holds its stock)."""
    for t in range(ix(b, d), len(b.dates)):
        a.target.pop(t, None)


def on(b: Book, a: Account, d: str, fn) -> None:
    a.actions.setdefault(ix(b, d), []).append(fn)


def tag(rule: str, note: str, b: Book, a: Account) -> tuple[str, str]:
    b.found.add((rule, a.id))
    b.allowed[(rule, a.id)] = note
    return (rule, note)


# ------------------------------------------------------------------------------ stories

def t25(b: Book, a: Account) -> None:
    """Trap: equity exactly 25% of the long value under the 25% house requirement (7 May)."""
    holds(b, a, "KSTL", 400, 15_000_00)
    path(b, a, "0.41", d2026_05_04="0.33", d2026_05_05="0.31", d2026_05_06="0.28",
         d2026_05_07="0.25", d2026_05_08="0.29")


def t30(b: Book, a: Account) -> None:
    """Trap: equity exactly 30% under the 30% house requirement (21 May)."""
    holds(b, a, "ORVX", 700, 24_500_00)
    path(b, a, "0.38", d2026_05_20="0.34", d2026_05_21="0.30", d2026_05_22="0.35")


def sell_out(b: Book, a: Account, stock: str, d0: str, sale: str, *, reason: str | None = "call_unmet",
             cleared: bool = True, rule: str | None = None, note: str = "") -> None:
    def act(book: Book, acc: Account, t: int) -> None:
        book.sell_out(acc, t, 10, 5, reason, cleared=cleared,
                      related=acc.last_call if reason == "call_unmet" else None,
                      tag=tag(rule, note, book, acc) if rule else None)
    on(b, a, sale, act)
    stop(b, a, b.dates[ix(b, sale) + 1].isoformat()) if ix(b, sale) + 1 < len(b.dates) else None


def sellout(b: Book, a: Account) -> None:
    """Clean: called on 19 May, unmet by the T+2 deadline, sold on 22 May (T+3)."""
    holds(b, a, "BRQN", 1_000, 30_000_00)
    path(b, a, "0.40", d2026_05_19="0.27", d2026_05_20="0.26", d2026_05_21="0.24", d2026_05_22="0.23")
    sell_out(b, a, "BRQN", "2026-05-19", "2026-05-22")


def uncleared(b: Book, a: Account) -> None:
    """CLR-001: the same sell-out in June, with no clearing record."""
    holds(b, a, "TALM", 800, 26_000_00)
    path(b, a, "0.44", d2026_06_08="0.27", d2026_06_09="0.26", d2026_06_10="0.25", d2026_06_11="0.24")
    sell_out(b, a, "TALM", "2026-06-08", "2026-06-11", cleared=False, rule="CLR-001",
             note="sold out after an unmet call, no clearing reference")


def early_sale(b: Book, a: Account) -> None:
    """CON-002: called on 27 May, sold the next morning, before the T+2 deadline."""
    holds(b, a, "HXLR", 1_200, 33_000_00)
    path(b, a, "0.42", d2026_05_27="0.26", d2026_05_28="0.25")
    sell_out(b, a, "HXLR", "2026-05-27", "2026-05-28", rule="CON-002",
             note="sold one trading day after the call, before its T+2 deadline")


def sold_above(b: Book, a: Account) -> None:
    """Trap: called on 29 May, back above 30% by the market, sold on 3 June anyway. A US margin
    agreement lets the firm sell at any time (FINRA Rule 2264's disclosure), so the us profile
    does not run CON-001 (the CN rule that a sale needs the ratio below a line): no finding."""
    holds(b, a, "QMRA", 900, 27_000_00)
    path(b, a, "0.41", d2026_05_29="0.28", d2026_06_01="0.33", d2026_06_02="0.35", d2026_06_03="0.35")
    sell_out(b, a, "QMRA", "2026-05-29", "2026-06-03")


def no_notice(b: Book, a: Account) -> None:
    """Trap: sold at 11:00 on a gap down to 15% equity without a call, as the margin agreement
    allows (no reason given: undetermined under us, never a violation)."""
    holds(b, a, "DLVN", 1_500, 36_000_00)
    path(b, a, "0.42", d2026_06_15="0.15")

    def act(book: Book, acc: Account, t: int) -> None:
        book.sell_out(acc, t, 11, 0, None)
    on(b, a, "2026-06-15", act)
    stop(b, a, "2026-06-16")


def open_16(b: Book, a: Account) -> None:
    """LEV-016: in deficiency from 14 May (called that evening), never met, never sold."""
    holds(b, a, "PRSK", 1_100, 31_000_00)
    path(b, a, "0.40", from_2026_05_14="0.22", from_2026_06_01="0.21", from_2026_06_15="0.20")
    b.plant_on("LEV-016", a, "deficiency open more than 15 business days, nothing sold")


def met_15(b: Book, a: Account) -> None:
    """Trap: in deficiency from 1 June (called), met by a deposit on 23 June, its 15th business
    day, Juneteenth not counted (22 calendar days)."""
    holds(b, a, "NVLT", 1_000, 28_000_00)
    path(b, a, "0.45", from_2026_06_01="0.27", from_2026_06_23="0.27", from_2026_06_24="0.42")

    def act(book: Book, acc: Account, t: int) -> None:
        lmv, _ = book.values(acc, t)
        book.deposit(acc, t, half_up(F(42, 100) * lmv) - book.equity(acc, t), "Wire deposit (margin call)")
    on(b, a, "2026-06-23", act)


def late_call(b: Book, a: Account) -> None:
    """CON-010: in deficiency on 11 May, called only the next morning; recovered on 13 May."""
    holds(b, a, "GRDX", 1_300, 29_000_00)
    path(b, a, "0.40", d2026_05_11="0.22", d2026_05_12="0.23")
    a.call = "late"
    b.plant_on("CON-010", a, "in deficiency at the close, called only the next morning")


def short(b: Book, a: Account) -> None:
    """Trap: short only, equity 33-38% of the short value: above FINRA's 30%, though its
    collateral ratio (1.33-1.38) is under the house's long-account line of 1.4286."""
    a.stock, a.short, a.top_up = "FNWK", {"FNWK": 2_000}, False
    a.cash = 2_000 * int(b.price["FNWK"][0]) * 135 // 100
    financing(b, a, opened_before_window(b), 30_000_00, 0)
    path(b, a, "0.35", from_2026_05_12="0.33", from_2026_05_26="0.38", from_2026_06_10="0.34")


def day_trade(b: Book, a: Account, d: str, ticker: str, value: int, *, same_price: bool = False,
              hold: bool = False, fee_bp: int | None = None, fee_tag: tuple | None = None) -> None:
    def act(book: Book, acc: Account, t: int) -> None:
        close = int(book.price[ticker][t])
        buy = close if same_price else close * 998 // 1000
        q = max(1, value // buy)
        kw = {"fee_bp": fee_bp} if fee_bp else {}
        book.fill(acc, t, at(book.dates[t], 9, 41), ticker, "buy", q, buy, fee_tag=fee_tag, **kw)
        acc.cash -= q * buy
        if hold:
            acc.long[ticker] = acc.long.get(ticker, 0) + q
            return
        book.fill(acc, t, at(book.dates[t], 14, 52), ticker, "sell", q, close)
        acc.cash += q * close
    on(b, a, d, act)


def trader(b: Book, a: Account, cash: int) -> None:
    a.cash, a.top_up = cash, False
    financing(b, a, opened_before_window(b), cash, 0)


def pdt(b: Book, a: Account) -> None:
    """LEV-009: four day trades from 11 to 14 May with about $18,000 of equity."""
    trader(b, a, 18_000_00)
    for k, d in enumerate(("2026-05-11", "2026-05-12", "2026-05-13", "2026-05-14")):
        extra = {"fee_bp": 10, "fee_tag": tag("CON-006", "commission at 0.10%, the published rate is 0.05%", b, a)} if k == 1 else {}
        day_trade(b, a, d, "NVDA", 40_000_00, **extra)
    b.plant_on("LEV-009", a, "pattern day trader with about $18,000 of equity")


def pdt_25k(b: Book, a: Account) -> None:
    """Trap: four day trades from 18 to 21 May, equity exactly $25,000.00 after them."""
    days = ("2026-05-18", "2026-05-19", "2026-05-20", "2026-05-21")
    fees = 0
    for d in days:
        t = ix(b, d)
        close = int(b.price["AMZN"][t])
        value = (50_000_00 // close) * close
        fees += 2 * half_up(F(value * 5, 10_000))
    trader(b, a, 25_000_00 + fees)
    for d in days:
        day_trade(b, a, d, "AMZN", 50_000_00, same_price=True)


def day_trader_2026(b: Book, a: Account) -> None:
    """Trap: four day trades from 8 to 11 June with $15,000 under the intraday standard: not a
    pattern-day-trader case any more, and each opening fill's 30% is covered by the equity.
    SEG-007: on 9 June $25.00 more left the account as a fee than the commissions charged."""
    trader(b, a, 15_000_00)
    for d in ("2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11"):
        day_trade(b, a, d, "META", 40_000_00)

    def extra(book: Book, acc: Account, t: int) -> None:
        acc.cash -= 25_00
        book.ledger.append({"date": book.dates[t], "account_id": acc.id, "amount": -25_00,
                            "counterparty_type": "fee", "instruction_ref": None,
                            "description": "Commission", "_tag": None})
        book.violation("SEG-007", "ledger", {"account_id": acc.id, "date": book.dates[t].isoformat()},
                       "a fee movement $25.00 above the day's charges")
    on(b, a, "2026-06-09", extra)


def intraday(b: Book, a: Account) -> None:
    """LEV-018: flat with $10,000, opens $50,000 on 8 June (a $5,000 deficit), never deposits,
    and opens again on 17 June, inside the 90 days it should have been restricted."""
    trader(b, a, 10_000_00)
    day_trade(b, a, "2026-06-08", "GOOGL", 50_000_00)
    day_trade(b, a, "2026-06-17", "KO", 1_500_00, hold=True)  # commission at the $1.00 minimum
    b.plant_on("LEV-018", a, "intraday deficit unmet and opening trades not restricted")


def intraday_met(b: Book, a: Account) -> None:
    """Trap: the same deficit on 9 June, met by a $6,000 deposit on 11 June."""
    trader(b, a, 10_000_00)
    day_trade(b, a, "2026-06-09", "GOOGL", 50_000_00)
    on(b, a, "2026-06-11", lambda book, acc, t: book.deposit(acc, t, 6_000_00, "Wire deposit (intraday call)"))
    day_trade(b, a, "2026-06-22", "KO", 3_000_00, hold=True)


def opens_in_window(b: Book, a: Account, d: str, hh: int, ticker: str, equity: int, value: int,
                    price: int | None = None) -> None:
    """An account opened on ``d``: the client deposits ``equity`` and $100 and buys ``value``
    of ``ticker`` on margin, the rest lent."""
    t0 = ix(b, d)
    a.first_day = t0
    if price is not None:
        b.price[ticker][: t0 + 1] = price
    px = price or int(b.price[ticker][t0])
    q = value // px
    amount = q * px - equity
    financing(b, a, at(b.dates[t0], hh, 35), equity, amount)

    def act(book: Book, acc: Account, t: int) -> None:
        book.deposit(acc, t, equity + 100_00, "Wire deposit (account opening)")
        book.fill(acc, t, at(book.dates[t], hh, 40), ticker, "buy", q, px)
        acc.cash -= q * px - amount
        acc.debt += amount
        acc.long[ticker] = q
    on(b, a, d, act)


def reg_t(b: Book, a: Account) -> None:
    """LEV-007: opened on 6 May at 2.6x ($10,000 of equity)."""
    opens_in_window(b, a, "2026-05-06", 10, "MSFT", 10_000_00, 26_000_00)
    b.violation("LEV-007", "financings", {"financing_id": a.financing}, "opened at 2.6x (38% initial margin)")


def reg_t_2x(b: Book, a: Account) -> None:
    """Trap: opened on 7 May at exactly 2x (367 CALX at $50.00, $9,175.00 own); its commission
    is exactly $9.175, charged $9.18 (half up)."""
    opens_in_window(b, a, "2026-05-07", 11, "CALX", 9_175_00, 18_350_00, price=50_00)
    a.stock, a.top_up = "CALX", False
    a.target = {t: F(x, 100) for t, x in zip(range(a.first_day + 1, len(b.dates)), _wave(b, 48, 56))}


def _wave(b: Book, lo: int, hi: int) -> list[int]:
    return [int(x) for x in b.rng.integers(lo, hi + 1, len(b.dates))]


def min_equity(b: Book, a: Account) -> None:
    """LEV-008: opened on 8 May with $1,500 of equity."""
    opens_in_window(b, a, "2026-05-08", 13, "KO", 1_500_00, 3_000_00)
    b.violation("LEV-008", "financings", {"financing_id": a.financing}, "credit extended on $1,500 of equity")


def min_equity_2k(b: Book, a: Account) -> None:
    """Trap: opened on 12 May with exactly $2,000.00 of equity."""
    opens_in_window(b, a, "2026-05-12", 14, "BAC", 2_000_00, 4_000_00)


STORY = {"T25": t25, "T30": t30, "SELLOUT": sellout, "UNCLEARED": uncleared, "EARLY_SALE": early_sale,
         "SOLD_ABOVE": sold_above, "NO_NOTICE": no_notice, "OPEN_16": open_16, "MET_15": met_15,
         "LATE_CALL": late_call, "SHORT": short, "PDT": pdt, "PDT_25K": pdt_25k,
         "DAY_TRADER_2026": day_trader_2026, "INTRADAY": intraday, "INTRADAY_MET": intraday_met,
         "REG_T": reg_t, "REG_T_2X": reg_t_2x, "MIN_EQUITY": min_equity, "MIN_EQUITY_2K": min_equity_2k}
