"""The accounts of the EU book: ordinary CFD accounts (retail and professional clients opening
and closing CFDs within the ESMA caps, meeting some margin calls, now and then leaving), and
the story accounts that carry the plants and traps of the rules judged on openings, snapshots
and margin events. A story account holds one story CFD that nobody else trades and scripts its
closes as the margin level it wants (equity / initial margin protection, ``Account.target``),
so a close-out, a call or a negative balance happens on the day the story names, whatever the
seed. The gaps of 4 and 7 April 2025 are the tariff shock's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction as F

import numpy as np

from audit.sample.eu.book import Account, Book
from audit.sample.eu.market import CAP, ORDINARY_CFDS, SHARE_BP, at, label, scale

STORIES = ("LEV14_MISS", "LEV14_EXACT", "FX_TWO_PCT", "PRO_BELOW", "NEG_WRITTEN_OFF", "NEG_STANDING",
           "RECOURSE", "RECOURSE_PRO", "CALL_EARLY", "CALL_T2", "CALL_MET", "ESMA_FAST", "UNCLEARED",
           "LEV006", "CAPS_EXACT", "PRO_200", "PRO_100")
ROLES = ("SEG-002", "SEG-008", "trap-008", "SEG-007", "keeper", "KYC-001", "KYC-002", "KYC-003",
         "KYC-006", "KYC-007", "KYC-008", "KYC-009", "KYC-004", "trap-006", "trap-007", "trap-009",
         "trap-003", "trap-004")
MIN_ACCOUNTS = len(STORIES) + len(ROLES) + 5
# Published overnight financing rates (basis points a year) by terms version: records.VERSIONS.
PUBLISHED = ((date(2024, 6, 3), 750), (date(2025, 1, 15), 750), (date(2025, 4, 15), 700),
             (date(2025, 7, 15), 700), (date(2025, 10, 15), 650), (date(2026, 1, 15), 650))
WEIGHTS = {"fx_major": 6.0, "fx_major_AUDJPY": 1.0, "fx": 1.5, "gold": 3.0, "index_major": 3.0, "index": 1.0,
           "equity": 1.0, "crypto": 1.5}


def published_bp(d: date) -> int:
    return [bp for since, bp in PUBLISHED if since <= d][-1]


def ix(b: Book, d: str) -> int:
    return b.dates.index(date.fromisoformat(d))


def on(b: Book, a: Account, d: str, fn) -> None:
    a.actions.setdefault(ix(b, d), []).append(fn)


def make_accounts(b: Book, n: int) -> None:
    rng = b.rng
    b.rate_on = published_bp
    order = rng.permutation(n)
    b.accounts = [Account(i=i, id=f"A{i + 1:06d}", client=f"C{i + 1:06d}") for i in range(n)]
    for k, name in enumerate(STORIES):
        a = b.accounts[int(order[k])]
        a.story = name
        b.story_of[name] = a
    b.ordinary = [b.accounts[int(i)] for i in order[len(STORIES):]]
    for k, a in enumerate(b.ordinary):
        a.role = ROLES[k] if k < len(ROLES) else ""
        ordinary(b, a, rng)
    b.ordinary_day = ordinary_day
    for name in STORIES:
        STORY[name](b, b.story_of[name])


# ------------------------------------------------------------------------------ ordinary accounts

def ordinary(b: Book, a: Account, rng: np.random.Generator) -> None:
    """A client who opened before the window (half of them) or during it, with a deposit; the
    money and KYC roles keep their account open and (KYC) hold one CFD only."""
    kyc = a.role.startswith(("KYC", "trap-00")) and a.role != "trap-008"
    a.keeper = a.role in ("SEG-002", "SEG-008", "trap-008", "SEG-007", "keeper")
    a.single = kyc
    pro = a.role in ("KYC-004", "trap-004") or (not a.role and rng.random() < 0.15)
    a.category = "professional" if pro else "retail"
    a.meets = float(rng.uniform(0.3, 0.8))
    if a.keeper or kyc or rng.random() < 0.5:
        a.first_day = 0
    else:
        a.first_day = int(rng.integers(1, len(b.dates) - 60))
    mu = np.log(60_000_00 if pro else 3_500_00)
    deposit = int(min(max(np.exp(rng.normal(mu, 0.8)), 500_00), 500_000_00)) // 100 * 100
    if a.keeper:
        deposit = max(deposit, 8_000_00)
    if a.first_day == 0:
        a.cash = deposit
    else:
        a.actions.setdefault(a.first_day, []).append(
            lambda bk, acc, t, d=deposit: bk.deposit(acc, t, d, "Bank transfer (account opening)"))


def before_window(b: Book) -> datetime:
    d = date(2024, 7, 1) + timedelta(days=int(b.rng.integers(0, 170)))
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return at(d, int(b.rng.integers(8, 17)), int(b.rng.integers(0, 60)))


def ordinary_day(b: Book, a: Account, t: int) -> None:
    rng, d = b.rng, b.dates[t]
    if a.n_fin == 0:  # the first CFD, the day the account opens (or as soon as the money allows)
        open_random(b, a, t, before_window(b) if t == 0 else None)
        return
    for inst, p in sorted(a.pos.items()):
        if t >= p.until:
            b.close(a, t, inst, at(d, 14, 20 + a.i % 30))
    if a.single:
        return
    if len(a.pos) < 2 and rng.random() < 0.08:
        open_random(b, a, t)
    elif not a.pos and not a.keeper and a.cash >= 0 and rng.random() < 0.004:
        if a.cash:
            b.move(a, t, -a.cash, "client_bank", "Withdrawal to bank (account closed)")
        a.last_day = t + 1
    elif not a.pos and a.cash < 200_00 and rng.random() < 0.05:
        b.deposit(a, t, int(rng.integers(5, 40)) * 100_00, "Card deposit")
    elif not a.pos and a.cash > 5_000_00 and rng.random() < 0.01:
        b.move(a, t, -(a.cash // 2 // 100 * 100), "client_bank", "Withdrawal to bank")


def open_random(b: Book, a: Account, t: int, when: datetime | None = None) -> None:
    rng = b.rng
    names = list(ORDINARY_CFDS)
    w = np.array([WEIGHTS["fx_major_AUDJPY" if x == "AUDJPY" else label(x)] for x in names])
    inst = names[int(rng.choice(len(names), p=w / w.sum()))]
    cap = CAP[label(inst)] if a.category == "retail" else min(100, 3 * CAP[label(inst)])
    lev = F(max(10, int(cap * 10 * rng.uniform(0.25, 0.9))), 10)
    eq, r = b.equity(a, t), b.protection(a, t)
    budget = int((eq - 2 * r) * rng.uniform(0.15, 0.4))
    if budget < 50_00:
        return
    px, sc = b.px(inst, t), scale(inst)
    q = int(budget * lev * sc // px) // sc * sc
    if q <= 0:
        return
    n = q * px // sc
    if eq < F(3, 2) * (r + F(n * SHARE_BP[label(inst)], 10_000)):
        return
    margin = -(-n * lev.denominator // lev.numerator)
    hold = int(rng.geometric(1 / 25)) if not a.single else int(rng.integers(60, 250))
    b.open(a, t, inst, q, margin, when=when, until=t + hold)


# ------------------------------------------------------------------------------ story helpers

def lots(b: Book, inst: str, t: int, notional: int) -> int:
    """A whole number of lots near ``notional`` pence."""
    px, sc = b.px(inst, t), scale(inst)
    return max(sc, notional * sc // px // sc * sc)


def exact_lot(b: Book, inst: str, t: int, notional: int, lev: int, q: int | None = None) -> tuple[int, int]:
    """Lots near ``notional`` (or ``q``) and a fill price whose notional divides by ``lev``, so
    the margin at exactly that leverage is whole pence: fewer lots of a pair, or (instruments
    priced in pence) a fill a few pence under the close."""
    px, sc = b.px(inst, t), scale(inst)
    q = q or lots(b, inst, t, notional)
    if sc == 1:
        return q, px - px % lev
    while q > 0 and (q * px // sc) % lev:
        q -= sc
    if q <= 0:
        raise RuntimeError(f"no lot of {inst} at exactly {lev}:1")
    return q, px


def exact_opens(b: Book, a: Account, d: str, items: list[tuple], deposit: int = 0) -> None:
    """On ``d``: deposit, and open each ``(inst, notional, lev, kwargs)`` at exactly ``lev``."""
    def act(book: Book, acc: Account, t: int) -> None:
        if deposit:
            book.deposit(acc, t, deposit, "Bank transfer (account opening)")
        for inst, notional, lev, kw in items:
            kw = dict(kw)
            after = kw.pop("after", None)
            q, fill = exact_lot(book, inst, t, notional, lev, kw.pop("q", None))
            p = book.open(acc, t, inst, q, q * fill // scale(inst) // lev, price=fill, **kw)
            if after:
                after(book, acc, t, p)
    a.actions.setdefault(ix(b, d), []).insert(0, act)


def story(b: Book, a: Account, inst: str, d_open: str, notional: int, lev: int, deposit: int,
          default: str, end: str, category: str = "retail", exact: bool = False, q: int | None = None,
          **days: str) -> None:
    """Deposit and open ``notional`` (or ``q`` units) of the story CFD at ``lev`` (exactly, or
    just under it); from the next day to ``end`` its closes put the margin level at
    ``default``, or ``d2025_04_07="-0.3"`` style overrides (only while the CFD is held)."""
    a.category, a.inst = category, inst
    b.story_cfds.add(inst)
    t0 = ix(b, d_open)
    a.first_day = t0
    if exact:
        exact_opens(b, a, d_open, [(inst, notional, lev, {"q": q} if q else {})], deposit)
    else:
        def act(book: Book, acc: Account, t: int) -> None:
            book.deposit(acc, t, deposit, "Bank transfer (account opening)")
            n_q = lots(book, inst, t, notional)
            n = n_q * book.px(inst, t) // scale(inst)
            book.open(acc, t, inst, n_q, -(-n // lev))
        a.actions.setdefault(t0, []).insert(0, act)
    a.target = {t: F(default) for t in range(t0 + 1, ix(b, end) + 1)}
    for k, v in days.items():
        a.target[ix(b, k[1:].replace("_", "-"))] = F(v)


def client_closes(b: Book, a: Account, d: str, leave: str | None = None) -> None:
    """The client closes every CFD on ``d`` and (``leave``) withdraws everything and leaves."""
    def act(book: Book, acc: Account, t: int) -> None:
        for inst in sorted(acc.pos):
            book.close(acc, t, inst, at(book.dates[t], 11, 0))
    on(b, a, d, act)
    if leave:
        def out(book: Book, acc: Account, t: int) -> None:
            if acc.cash > 0:
                book.move(acc, t, -acc.cash, "client_bank", "Withdrawal to bank (account closed)")
            acc.last_day = t + 1
        on(b, a, leave, out)


# ------------------------------------------------------------------------------ stories

def lev14_miss(b: Book, a: Account) -> None:
    """LEV-014: below half its protection at the closes of 15 and 16 September 2025 (the
    close-out engine did not run for the account), closed out on the 17th."""
    story(b, a, "GBPJPY", "2025-09-01", 60_000_00, 20, 5_000_00, "1.8", "2025-09-17",
          d2025_09_15="0.45", d2025_09_16="0.42", d2025_09_17="0.40")
    a.skip_close_out = {ix(b, "2025-09-15"), ix(b, "2025-09-16")}
    a.calls = False
    b.plant_on("LEV-014", a, "equity below half the initial margin protection at the close, not closed out")
    client_closes(b, a, "2025-09-30", leave="2025-10-01")


def lev14_exact(b: Book, a: Account) -> None:
    """Trap: equity exactly half its protection at the close of 20 October 2025 (a top-up that
    morning put it there), opened at exactly 20:1 on a major index."""
    story(b, a, "FRA40", "2025-10-01", 0, 20, 5_000_00, "1.5", "2025-11-14", exact=True, q=8,
          d2025_10_20="0.47", d2025_10_21="1.2")

    def exact(book: Book, acc: Account, t: int) -> None:
        px = book.px("FRA40", t)
        book.price["FRA40"][t] = px - px % 5  # half of 5% of 8 units is a whole penny
        p = acc.pos["FRA40"]
        if p.q != 8:
            raise RuntimeError("the exact close-out trap needs 8 units")
        half = book.protection(acc, t) / 2
        need = half - (book.equity(acc, t) - book.overnight(p, t))
        if need.denominator != 1 or need <= 0:
            raise RuntimeError(f"exact close-out trap: {need}")
        book.deposit(acc, t, int(need), "Card deposit")
    on(b, a, "2025-10-20", exact)
    client_closes(b, a, "2025-11-14", leave="2025-11-17")


def fx_two_pct(b: Book, a: Account) -> None:
    """Trap: a major pair opened at exactly 30:1, its equity 2% of the notional on 20 May 2025:
    above its close-out (1.67%), below what a flat 5% margin would allow."""
    story(b, a, "USDCAD", "2025-05-12", 40_000_00, 30, 3_000_00, "2.0", "2025-06-30", exact=True,
          d2025_05_20="0.6", d2025_05_21="1.5")
    client_closes(b, a, "2025-06-30")


def pro_below(b: Book, a: Account) -> None:
    """Trap: a professional client at 30-38% of its protection for three closes, kept open as
    its agreement allows (the ESMA close-out protects retail clients)."""
    story(b, a, "GER40", "2025-07-01", 60_000_00, 25, 4_500_00, "1.2", "2025-08-29", category="professional",
          d2025_07_21="0.35", d2025_07_22="0.30", d2025_07_23="0.38", d2025_07_24="1.1")
    a.close_out = a.calls = False
    client_closes(b, a, "2025-08-29")


def gap(b: Book, a: Account, inst: str, d_open: str, before: str, day: str, end: str, category: str = "retail",
        notional: int = 40_000_00) -> None:
    """A CFD that gaps through the whole deposit on ``day``: closed out at the first price,
    the balance negative."""
    lev = {"index_major": 20, "commodity": 10}[label(inst)]
    deposit = notional * SHARE_BP[label(inst)] // 10_000 * 3 // 2
    story(b, a, inst, d_open, notional, lev, deposit, "1.4", end, category=category,
          **{"d" + before.replace("-", "_"): "1.05", "d" + day.replace("-", "_"): "-0.3"})
    a.calls = False


def neg_written_off(b: Book, a: Account) -> None:
    """Trap: the tariff gap of 7 April 2025 leaves a retail balance negative; the provider
    writes it off the next day."""
    gap(b, a, "US100", "2025-03-17", "2025-04-04", "2025-04-07", "2025-04-07")


def neg_standing(b: Book, a: Account) -> None:
    """CLR-007: silver gaps on 13 April 2026, the retail balance stays negative, never
    written off (every close from 16 April)."""
    gap(b, a, "XAGUSD", "2026-03-02", "2026-04-10", "2026-04-13", "2026-04-13")
    a.write_off = False
    b.plant_on("CLR-007", a, "retail balance left negative after the close-out, never written off")


def recourse(b: Book, a: Account) -> None:
    """CLR-006: natural gas gaps on 8 December 2025, the provider claims the negative balance
    from the retail client the next day, and the client pays it."""
    gap(b, a, "NGAS", "2025-11-03", "2025-12-05", "2025-12-08", "2025-12-08")
    a.write_off = False

    def claim(book: Book, acc: Account, t: int) -> None:
        book.recourse(acc, t, tag=book.tag("CLR-006", acc, "negative balance claimed from a retail client"))
        book.deposit(acc, t, -acc.cash, "Bank transfer (payment of negative balance)")
    on(b, a, "2025-12-09", claim)


def recourse_pro(b: Book, a: Account) -> None:
    """Trap: the same gap (Nikkei, 7 April 2025) for a professional client, who has no
    negative balance protection: claimed and paid."""
    gap(b, a, "JP225", "2025-03-10", "2025-04-04", "2025-04-07", "2025-04-07", category="professional")
    a.write_off = False

    def claim(book: Book, acc: Account, t: int) -> None:
        book.recourse(acc, t)
        book.deposit(acc, t, -acc.cash, "Bank transfer (payment of negative balance)")
    on(b, a, "2025-04-08", claim)


def call_early(b: Book, a: Account) -> None:
    """CON-002: called at the close of 16 June 2025 (T+1 to restore), sold for the unmet call
    at 10:00 the next morning."""
    story(b, a, "EURJPY", "2025-06-02", 50_000_00, 25, 3_500_00, "1.6", "2025-06-17",
          d2025_06_16="0.8", d2025_06_17="0.78")

    def sell(book: Book, acc: Account, t: int) -> None:
        book.liquidate(acc, t, at(book.dates[t], 10, 0), "call_unmet", related=acc.call_ev,
                       tag=book.tag("CON-002", acc, "sold for an unmet call before its T+1 deadline"))
    on(b, a, "2025-06-17", sell)
    client_closes(b, a, "2025-06-30", leave="2025-06-30")


def call_t2(b: Book, a: Account) -> None:
    """Trap: called on 23 June 2025, unmet by the close of the 24th, sold on the 25th (T+2)."""
    story(b, a, "EU50", "2025-06-02", 50_000_00, 20, 4_000_00, "1.5", "2025-06-25",
          d2025_06_23="0.8", d2025_06_24="0.75", d2025_06_25="0.7")
    client_closes(b, a, "2025-07-07", leave="2025-07-07")


def call_met(b: Book, a: Account) -> None:
    """Clean: called on 14 July 2025, met by a deposit the next day."""
    story(b, a, "UKOIL", "2025-07-01", 30_000_00, 10, 4_500_00, "1.5", "2025-08-15",
          d2025_07_14="0.85", d2025_07_15="1.1")
    on(b, a, "2025-07-15", lambda book, acc, t: book.deposit(acc, t, 2_000_00, "Card deposit (margin call)"))
    client_closes(b, a, "2025-08-15")


def esma_fast(b: Book, a: Account) -> None:
    """Trap: the IBEX gap of 7 April 2025 takes the account from 105% to 45% of its protection:
    closed out at once (the ESMA close-out needs no call)."""
    story(b, a, "ESP35", "2025-03-03", 40_000_00, 10, 6_000_00, "1.4", "2025-04-07",
          d2025_04_04="1.05", d2025_04_07="0.45")
    client_closes(b, a, "2025-05-02", leave="2025-05-02")


def uncleared(b: Book, a: Account) -> None:
    """CLR-001: closed out on 4 April 2025 with no clearing record of the close-out."""
    story(b, a, "UK250", "2025-03-03", 40_000_00, 10, 6_000_00, "1.4", "2025-04-04",
          d2025_04_03="1.05", d2025_04_04="0.40")
    a.uncleared = True

    def tag_it(book: Book, acc: Account, t: int) -> None:
        acc.last_event["_tag"] = book.tag("CLR-001", acc, "close-out without a clearing record")
    on(b, a, "2025-04-07", tag_it)


def lev006(b: Book, a: Account) -> None:
    """LEV-006: a retail client's AstraZeneca CFD opened at 10:1 (the cap for shares is 5:1),
    its commission at 0.15% (CON-006)."""
    a.first_day = ix(b, "2025-02-03")
    b.plant_on("LEV-006", a, "retail share CFD opened at 10:1, above the 5:1 cap")
    tag = b.tag("CON-006", a, "commission at 0.15%, the published rate is 0.10%")
    exact_opens(b, a, "2025-02-03", [("AZN", 25_000_00, 10, {"commission_bp": 15, "fee_tag": tag})], 15_000_00)
    client_closes(b, a, "2025-03-31")


def caps_exact(b: Book, a: Account) -> None:
    """Traps: a retail client at exactly each ESMA cap (30:1 EUR/USD, 20:1 gold, the FTSE 100
    and AUD/USD, 10:1 the Hang Seng, 5:1 Apple with its commission at the £10.00 minimum, 2:1
    Bitcoin). CON-007: the Hang Seng CFD contracted at 1 point above the published rate."""
    a.first_day = ix(b, "2025-02-10")

    def con007(book: Book, acc: Account, t: int, p) -> None:
        book.violation("CON-007", "financings", {"financing_id": p.fin},
                       "overnight financing contracted 1 point above the published rate")
    exact_opens(b, a, "2025-02-10", [
        ("EURUSD", 30_000_00, 30, {}), ("XAUUSD", 10_000_00, 20, {}), ("UK100", 16_000_00, 20, {}),
        ("AUDUSD", 10_000_00, 20, {}), ("BTCUSD", 1_000_00, 2, {"q": 1}), ("AAPL", 5_000_00, 5, {}),
        ("HK50", 19_000_00, 10, {"rate_bp": published_bp(date(2025, 2, 10)) + 100, "after": con007})], 25_000_00)
    client_closes(b, a, "2025-03-31")


def pro_200(b: Book, a: Account) -> None:
    """LEV-001: a professional client's EUR/USD CFD at 200:1, the published cap being 100:1."""
    a.category, a.first_day = "professional", ix(b, "2025-05-06")
    b.plant_on("LEV-001", a, "professional CFD opened at 200:1, above the published 100:1")
    exact_opens(b, a, "2025-05-06", [("EURUSD", 400_000_00, 200, {})], 25_000_00)
    client_closes(b, a, "2025-05-20")


def pro_100(b: Book, a: Account) -> None:
    """Traps: a professional client at exactly the published 100:1 on GBP/USD and at 10:1 on
    Ether (no ESMA cap for professionals). CON-004: Friday 16 May 2025's overnight financing
    on GBP/USD (three nights) charged at 3 points above the contract rate."""
    a.category, a.first_day = "professional", ix(b, "2025-05-06")

    def overcharge(book: Book, acc: Account, t: int, p) -> None:
        p.overcharge = (ix(book, "2025-05-16"), 300,
                        book.tag("CON-004", acc, "overnight financing at 3 points above the contract rate"))
    exact_opens(b, a, "2025-05-06", [("GBPUSD", 300_000_00, 100, {"after": overcharge}),
                                     ("ETHUSD", 17_000_00, 10, {})], 60_000_00)
    client_closes(b, a, "2025-05-30")


STORY = {"LEV14_MISS": lev14_miss, "LEV14_EXACT": lev14_exact, "FX_TWO_PCT": fx_two_pct, "PRO_BELOW": pro_below,
         "NEG_WRITTEN_OFF": neg_written_off, "NEG_STANDING": neg_standing, "RECOURSE": recourse,
         "RECOURSE_PRO": recourse_pro, "CALL_EARLY": call_early, "CALL_T2": call_t2, "CALL_MET": call_met,
         "ESMA_FAST": esma_fast, "UNCLEARED": uncleared, "LEV006": lev006, "CAPS_EXACT": caps_exact,
         "PRO_200": pro_200, "PRO_100": pro_100}
