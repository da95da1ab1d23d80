"""The accounts of the cn book: ordinary credit accounts (long A-shares and ETFs, one in five
also short a stock it borrowed) and the story accounts that carry the plants and traps of the
rules judged on snapshots, margin events and holdings. A story account holds its story stock
(a fictional ChiNext stock) and cash, and scripts the stock's closes as the collateral ratio it
wants (``Account.target``), so a spell below a line begins, lasts and ends on the days the
story names, whatever the seed."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction as F

import numpy as np

from audit.sample.cn.book import LAST_SETTLED, Account, Book, half_up
from audit.sample.cn.contracts import contract, current_contract, ix, on, tag, when
from audit.sample.cn.market import ETFS, STOCKS, STORY_STOCKS, at

STORIES = ("AT_150", "AT_130", "SELLOUT", "UNCLEARED", "EARLY", "ABOVE_CONTRACT", "LOW_LINE",
           "NOT_SOLD", "LATE_CALL", "NEG", "NEG_RECOURSE", "CONCENTRATED", "FREE_TIER",
           "OPEN_0116", "OPEN_0119", "WHALE")
ORDINARY_ROLES = 27  # the ordinary accounts the KYC, contract and money plants and traps need
SIMPLE = 17  # the first ordinary accounts, one contract each: the due-diligence roles
MIN_ACCOUNTS = len(STORIES) + ORDINARY_ROLES
WHALE_DEBT = 120_000_000_00  # exactly 5% of the December net capital (records.CAPITAL)


# ------------------------------------------------------------------------------ ordinary

def ordinary(b: Book, a: Account, simple: bool = False) -> None:
    """Three to five holdings (stocks and ETFs, none above 38% of the assets), one in five
    accounts also short a stock (its proceeds held as cash), collateral ratio 190-320%. A
    ``simple`` account has one contract only (the due-diligence plants and traps)."""
    rng = b.rng
    n = int(rng.integers(3, 6))
    while True:
        w = rng.dirichlet(np.full(n, 5.0))
        if w.max() <= 0.38:
            break
    names = list(rng.choice(STOCKS, n - 1, replace=False)) + [str(rng.choice(ETFS))]
    lmv_target = max(200_000_00, float(np.exp(rng.normal(np.log(800_000_00), 0.8))))
    for k, wk in zip(names, w):
        px = int(b.price[k][0])
        a.long[k] = max(100, int(lmv_target * wk / px) // 100 * 100)
    lmv = sum(q * int(b.price[k][0]) for k, q in a.long.items())
    cash = int(lmv * rng.uniform(0.01, 0.05))
    smv = 0
    if rng.random() < 0.2:
        k = str(rng.choice([s for s in STOCKS if s not in a.long]))
        q = max(100, int(lmv * rng.uniform(0.1, 0.25) / int(b.price[k][0])) // 100 * 100)
        a.short[k] = q
        smv = q * int(b.price[k][0])
        a.short_base = smv
        cash += smv
    r0 = F(int(rng.integers(190, 321)), 100)
    a.cash = cash
    a.debt = int((cash + lmv) / r0) - smv
    if rng.random() < 0.15:
        a.warn, a.liq = F(7, 5), F(6, 5)  # a client of good standing: lines agreed at 140% / 120%
    if simple:
        contract(b, a, when(b, date(2025, 7, 10), date(2025, 12, 31)), a.debt, term=182)
    else:
        current_contract(b, a)


# ------------------------------------------------------------------------------ story helpers

def holds(b: Book, a: Account, code: str, debt: int, r0: F, cash_share: F = F(51, 100),
          lines: tuple[F, F] | None = None, px: int = 25_00) -> None:
    """A story account long its story stock and cash (``cash_share`` of the assets at ``r0``)."""
    assets = r0 * debt
    a.stock, a.debt, a.top_up = code, debt, False
    a.cash = half_up(assets * cash_share)
    a.long = {code: max(100, int((assets - a.cash) / px) // 100 * 100)}
    if lines:
        a.warn, a.liq = lines
    contract(b, a, when(b, date(2025, 9, 15), date(2025, 12, 19)), debt, term=182)


def path(b: Book, a: Account, default: str, **days: str) -> None:
    """Target ratios: ``default`` every day, ``d2026_01_22="1.5"`` for one day, ``from_...``
    for every day from one on (applied after the single days, in order)."""
    a.target = {t: F(default) for t in range(a.first_day, len(b.dates))}
    for k, v in sorted(days.items(), key=lambda kv: (kv[0].startswith("from"), kv[0])):
        t = ix(b, (k[5:] if k.startswith("from_") else k[1:]).replace("_", "-"))
        if k.startswith("from"):
            a.target.update({s: F(v) for s in range(t, len(b.dates))})
        else:
            a.target[t] = F(v)


def stop(b: Book, a: Account, d: str) -> None:
    for t in range(ix(b, d), len(b.dates)):
        a.target.pop(t, None)


def exact_at(b: Book, a: Account, d: str, r: F) -> None:
    """Make the account close at exactly ``r`` on ``d``: its debt and cash are adjusted (by a
    few fen) so that the close it needs is a whole number of fen (the account pays its interest
    at each month end and does nothing else)."""
    t = ix(b, d)
    ends = [s for s in range(t) if b.dates[s + 1].month != b.dates[s].month]
    q = a.long[a.stock]
    while True:
        paid, last = 0, LAST_SETTLED
        for s in ends:
            paid += half_up(F(a.debt * a.rate_bp * (b.dates[s] - last).days, 10_000 * 360))
            last = b.dates[s]
        liab = a.debt + half_up(F(a.debt * a.rate_bp * (b.dates[t] - last).days, 10_000 * 360))
        x = r * liab - (a.cash - paid)
        if x.denominator == 1 and x.numerator % q == 0:
            break
        if (r * liab).denominator != 1:
            a.debt += 1
        else:
            a.cash += int(x % q)
    b.exact[(a.id, t)] = r
    f = next(f for f in b.financings if f["financing_id"] == a.financing)
    f["amount"] = a.debt


def sell_out(b: Book, a: Account, sale: str, *, cleared: bool = True, rule: str | None = None,
             note: str = "", recourse: bool = False) -> None:
    def act(book: Book, acc: Account, t: int) -> None:
        ev = book.sell_out(acc, t, 10, 5, related=acc.last_call, cleared=cleared,
                           tag=tag(rule, note, book, acc) if rule else None)
        if ev["equity_after"] < 0:
            acc.rate_bp = 0  # the shortfall is a claim on the client, without interest
            if recourse:
                book.events.append({
                    "account_id": acc.id, "event_type": "recourse",
                    "event_at": at(book.dates[min(t + 1, len(book.dates) - 1)], 11, 0),
                    "collateral_ratio": None, "trigger_ratio": None, "amount": -ev["equity_after"],
                    "equity_after": ev["equity_after"], "clearing_ref": None, "_related": ev,
                    "reason": None, "deadline_at": None, "channel": None, "delivered_at": None,
                    "_tag": None})
    on(b, a, sale, act)
    if ix(b, sale) + 1 < len(b.dates):
        stop(b, a, b.dates[ix(b, sale) + 1].isoformat())


# ------------------------------------------------------------------------------ stories

def at_150(b: Book, a: Account) -> None:
    """Trap: closes at exactly 150% on 22 January (the line is crossed only strictly below)."""
    holds(b, a, "301901", 400_000_00, F(17, 10))
    path(b, a, "1.7", d2026_01_21="1.58", d2026_01_22="1.5", d2026_01_23="1.56",
         d2026_01_26="1.63")
    exact_at(b, a, "2026-01-22", F(3, 2))


def at_130(b: Book, a: Account) -> None:
    """Trap: called on 3 February, at exactly 130% on 5 February after the T+2 deadline, never
    below the liquidation line, not sold; the client restores 160% on 10 February."""
    holds(b, a, "301902", 520_000_00, F(17, 10))
    path(b, a, "1.7", d2026_01_30="1.6", d2026_02_02="1.52", d2026_02_03="1.45", d2026_02_04="1.37", d2026_02_05="1.3",
         d2026_02_06="1.33", d2026_02_09="1.34", d2026_02_10="1.35", from_2026_02_11="1.6")
    exact_at(b, a, "2026-02-05", F(13, 10))

    def met(book: Book, acc: Account, t: int) -> None:
        lmv, _ = book.values(acc, t)
        book.deposit(acc, t, half_up(F(16, 10) * book.liabilities(acc, t)) - acc.cash - lmv, "银证转入（追保）")
    on(b, a, "2026-02-10", met)


def sellout(b: Book, a: Account) -> None:
    """Clean: called on 7 January, below 130% from 9 January, sold on 12 January (T+3)."""
    holds(b, a, "301903", 600_000_00, F(165, 100))
    path(b, a, "1.65", d2026_01_06="1.56", d2026_01_07="1.45", d2026_01_08="1.34", d2026_01_09="1.28",
         d2026_01_12="1.25")
    sell_out(b, a, "2026-01-12")


def uncleared(b: Book, a: Account) -> None:
    """CLR-001: the same sell-out in February, with no clearing record."""
    holds(b, a, "301904", 450_000_00, F(165, 100))
    path(b, a, "1.65", d2026_01_30="1.55", d2026_02_02="1.44", d2026_02_03="1.33", d2026_02_04="1.27",
         d2026_02_05="1.26")
    sell_out(b, a, "2026-02-05", cleared=False, rule="CLR-001", note="强制平仓无清算交收记录")


def early(b: Book, a: Account) -> None:
    """CON-002: called on 20 January, sold the next morning, before the T+2 deadline ran out."""
    holds(b, a, "301905", 380_000_00, F(16, 10))
    path(b, a, "1.6", d2026_01_16="1.55", d2026_01_19="1.51", d2026_01_20="1.38", d2026_01_21="1.28")
    sell_out(b, a, "2026-01-21", rule="CON-002", note="追保次一交易日即强制平仓，未满T+2期限")


def above_contract(b: Book, a: Account) -> None:
    """CON-001: a contract with lines of 140% / 120%; called on 26 January and sold at 125% on
    29 January (T+3), above its own liquidation line (the house's 130% would allow the sale)."""
    holds(b, a, "301906", 700_000_00, F(16, 10), lines=(F(7, 5), F(6, 5)))
    path(b, a, "1.6", d2026_01_23="1.48", d2026_01_26="1.36", d2026_01_27="1.27", d2026_01_28="1.26",
         d2026_01_29="1.25")
    sell_out(b, a, "2026-01-29", rule="CON-001", note="维持担保比例125%高于合同约定的120%平仓线即强制平仓")


def low_line(b: Book, a: Account) -> None:
    """Trap: lines of 140% / 120% by contract: at 145% on 9 February (no call due), called at
    136%, then at 123-125% for four sessions without a sale; restored on 25 February."""
    holds(b, a, "301907", 650_000_00, F(16, 10), lines=(F(7, 5), F(6, 5)))
    path(b, a, "1.6", d2026_02_06="1.52", d2026_02_09="1.45", d2026_02_10="1.36", d2026_02_11="1.29",
         d2026_02_12="1.25", d2026_02_13="1.24", d2026_02_24="1.23", d2026_02_25="1.26", from_2026_02_26="1.58")

    def met(book: Book, acc: Account, t: int) -> None:
        lmv, _ = book.values(acc, t)
        book.deposit(acc, t, half_up(F(158, 100) * book.liabilities(acc, t)) - acc.cash - lmv, "银证转入（追保）")
    on(b, a, "2026-02-25", met)


def not_sold(b: Book, a: Account) -> None:
    """CON-008: called on 13 February, before the Spring Festival, below 130% from 25 February,
    due for sale on 2 March (T+3), still unsold on 3 March; sold on 4 March."""
    holds(b, a, "301908", 560_000_00, F(16, 10))
    path(b, a, "1.6", d2026_02_12="1.53", d2026_02_13="1.45", d2026_02_24="1.34", d2026_02_25="1.28",
         d2026_02_26="1.27", d2026_02_27="1.26", d2026_03_02="1.25", d2026_03_03="1.24", d2026_03_04="1.23")
    b.violation("CON-008", "accounts", {"account_id": a.id, "date": "2026-03-03"},
                "低于平仓线且宽限期届满后未及时平仓")
    sell_out(b, a, "2026-03-04")


def late_call(b: Book, a: Account) -> None:
    """CON-003: below 150% from 13 January, called only on the morning of 15 January."""
    holds(b, a, "301909", 480_000_00, F(17, 10))
    a.call = "late"
    path(b, a, "1.7", d2026_01_12="1.58", d2026_01_13="1.47", d2026_01_14="1.47", d2026_01_15="1.48",
         d2026_01_16="1.55", d2026_01_19="1.62")
    b.plant_on("CON-003", a, "维持担保比例低于警戒线后两个交易日才发出追保通知")


def short_squeeze(b: Book, a: Account, code: str, days: tuple[str, ...], recourse: bool) -> None:
    """Short a story stock (融券) and long an ETF on a small financing: the stock rises by its
    limit, the account is called and bought in at T+3 with a shortfall."""
    a.stock, a.top_up = code, False
    q = 30_000
    px = 30_00
    a.short = {code: q}
    a.short_base = q * px
    etf = "510300"
    a.long = {etf: 20_000}
    a.debt = 20_000 * int(b.price[etf][0])
    a.cash = half_up(F(16, 10) * (q * px + a.debt)) - 20_000 * int(b.price[etf][0])
    contract(b, a, when(b, date(2025, 10, 9), date(2025, 12, 19)), a.debt, term=182)
    path(b, a, "1.6", **{f"d{days[0]}": "1.52", f"d{days[1]}": "1.38", f"d{days[2]}": "1.2",
                         f"d{days[3]}": "1.04", f"d{days[4]}": "0.92"})
    rule = None if recourse else "CLR-002"
    sell_out(b, a, days[4].replace("_", "-"), rule=rule, recourse=recourse,
             note="融券强制平仓后客户穿仓，无追索记录")


def neg(b: Book, a: Account) -> None:
    """CLR-002: a short squeezed from 2 February, bought in on 5 February (T+3) with a
    shortfall the broker never pursued."""
    short_squeeze(b, a, "301910", ("2026_01_30", "2026_02_02", "2026_02_03", "2026_02_04", "2026_02_05"), False)


def neg_recourse(b: Book, a: Account) -> None:
    """Trap: the same squeeze in March, with the recourse claim the next day."""
    short_squeeze(b, a, "301911", ("2026_02_26", "2026_02_27", "2026_03_02", "2026_03_03", "2026_03_04"), True)


def concentrated(b: Book, a: Account) -> None:
    """LEV-003: 69% of the assets in one stock at 200% (within the 70% tier), and still 65% on
    the two days the ratio dips to 175-176%, where the limit is 50%."""
    holds(b, a, "301912", 300_000_00, F(2), cash_share=F(31, 100))
    path(b, a, "2.0", d2026_02_11="1.76", d2026_02_12="1.75", d2026_02_13="1.88")
    b.plant_on("LEV-003", a, "维持担保比例低于180%时单一证券持仓超过资产的50%")


def free_tier(b: Book, a: Account) -> None:
    """Trap: one stock is 98% of the assets, at a collateral ratio of 250-270% (no limit)."""
    holds(b, a, "301913", 250_000_00, F(26, 10), cash_share=F(2, 100))
    path(b, a, "2.6", d2026_01_27="2.5", d2026_02_05="2.7", from_2026_02_24="2.55")


def opens(b: Book, a: Account, d: str, hh: int, mm: int, amount: int, margin: F) -> dict:
    """An account that draws ``amount`` on ``d`` against its cash deposit (the available margin,
    ``margin`` of the amount) and buys four A-shares and an ETF with both."""
    t0 = ix(b, d)
    a.first_day = t0
    equity = half_up(margin * amount)
    f = contract(b, a, at(b.dates[t0], hh, mm), amount, margin=margin, equity=equity, term=182)
    names = ["600036", "600900", "000333", "601318", "510300"]
    weights = [F(18, 100), F(18, 100), F(18, 100), F(18, 100), F(26, 100)]

    def act(book: Book, acc: Account, t: int) -> None:
        book.deposit(acc, t, equity + 20_000_00, "银证转入（开户入金）")
        acc.debt = amount
        acc.acc_int = F(amount * acc.rate_bp, 10_000 * 360)  # the day of the draw counts
        acc.settled_on = book.dates[t] - timedelta(days=1)
        for k, w in zip(names, weights):
            px = int(book.price[k][t])
            q = int(w * (equity + amount) / px) // 100 * 100
            book.fill(acc, t, at(book.dates[t], hh, mm + 3), k, "buy", q, px)
            acc.cash -= q * px
            acc.long[k] = q
        acc.cash += amount
    on(b, a, d, act)
    return f


def open_0116(b: Book, a: Account) -> None:
    """Trap: a contract made at 14:50 on 16 January, the last session of the 80% regime, with
    available margin of exactly 80% of the amount."""
    opens(b, a, "2026-01-16", 14, 50, 500_000_00, F(4, 5))


def open_0119(b: Book, a: Account) -> None:
    """LEV-012: a contract made on 19 January, the first session of the 100% regime, still at
    80%."""
    f = opens(b, a, "2026-01-19", 9, 45, 400_000_00, F(4, 5))
    b.violation("LEV-012", "financings", {"financing_id": f["financing_id"]},
                "2026年1月19日起新开合约仍按80%融资保证金比例放款")


def whale(b: Book, a: Account) -> None:
    """CAP-002 (trap and plant): an institution owing exactly 120,000,000.00, 5% of the
    December net capital; the February figure is lower, so every day of March is over."""
    names = ["600519", "601318", "600036", "600900", "000333", "510300", "510500"]
    for k, w in zip(names, (0.14, 0.14, 0.14, 0.14, 0.14, 0.15, 0.15)):
        a.long[k] = int(WHALE_DEBT * 2.7 * w / int(b.price[k][0])) // 100 * 100
    a.cash = 2_000_000_00
    a.debt = WHALE_DEBT
    a.warn, a.liq = F(7, 5), F(6, 5)
    contract(b, a, at(date(2025, 11, 20), 10, 12), WHALE_DEBT, term=182, rate_bp=550)


STORY = {"AT_150": at_150, "AT_130": at_130, "SELLOUT": sellout, "UNCLEARED": uncleared, "EARLY": early,
         "ABOVE_CONTRACT": above_contract, "LOW_LINE": low_line, "NOT_SOLD": not_sold,
         "LATE_CALL": late_call, "NEG": neg, "NEG_RECOURSE": neg_recourse, "CONCENTRATED": concentrated,
         "FREE_TIER": free_tier, "OPEN_0116": open_0116, "OPEN_0119": open_0119, "WHALE": whale}


def make_accounts(b: Book, n: int) -> None:
    """Every account: the stories on a seeded draw of account numbers, the rest ordinary."""
    rng = b.rng
    order = rng.permutation(n)
    b.accounts = [Account(i=i, id=f"88{i + 1:08d}", client=f"C{i + 1:06d}") for i in range(n)]
    for k, name in enumerate(STORIES):
        acc = b.accounts[int(order[k])]
        acc.story = name
        b.story_of[name] = acc
    b.ordinary = [b.accounts[int(i)] for i in order[len(STORIES):]]
    for k, (code, _) in enumerate(STORY_STOCKS):
        b.price[code] = np.full(len(b.dates), 2500, dtype=np.int64)
    for k, acc in enumerate(b.ordinary):
        ordinary(b, acc, simple=k < SIMPLE)
    for name in STORIES:
        STORY[name](b, b.story_of[name])
