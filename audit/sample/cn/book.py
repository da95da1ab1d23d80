"""The cn book, day by day: credit accounts with financed long positions (融资) and some
securities borrowed and sold (融券), interest accrued daily on the debt (actual/360) and 融券
fees on the value sold, both settled on the last session of the month, commissions on every
fill, client top-ups that keep the ordinary accounts above their call line, and the broker's
own process: a margin call (追保通知) at 17:30 the day the maintenance collateral ratio
(维持担保比例: cash and securities over debt, securities borrowed and accrued interest and
fees) closes below the contract's call line, with the client's T+2 to restore it.

Forced sales are scripted by the stories. The engine judges the single-position concentration
limit (LEV-003) on every holding as the audit will, and any breach must belong to the story
planted for it; any other stops the build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np

from audit.sample.cn.market import ETFS, at

COMMISSION_BP = Fraction(3)  # 0.03% of the traded value (万分之三) ...
COMMISSION_BP_2026 = Fraction(25, 10)  # ... and 0.025% from 19 January 2026 (records.versions)
COMMISSION_FROM = date(2026, 1, 19)
COMMISSION_MIN = 5_00  # 5.00 CNY a fill
SHORT_FEE_BP = 1035  # 融券费率 10.35% a year on the value sold
TOP_UP_BELOW = Fraction(17, 10)  # ordinary clients top up to 200% before their ratio gets here
LAST_SETTLED = date(2025, 12, 31)  # interest and fees settled at the close of December


def half_up(x: Fraction) -> int:
    """Round a non-negative amount of fen half up."""
    return int((x * 2 + 1) // 2)


def concentration_limit(ratio: Fraction) -> Fraction:
    """Single-stock share of assets allowed at a collateral ratio (240% / 180% tiers)."""
    if ratio >= Fraction(24, 10):
        return Fraction(1)
    return Fraction(7, 10) if ratio >= Fraction(18, 10) else Fraction(1, 2)


@dataclass
class Account:
    i: int
    id: str
    client: str
    cash: int = 0
    debt: int = 0
    long: dict[str, int] = field(default_factory=dict)
    short: dict[str, int] = field(default_factory=dict)
    short_base: int = 0  # value of the securities borrowed, at their sale (the fee's base)
    first_day: int = 0
    rate_bp: int = 650  # contract interest rate, basis points a year
    financing: str = ""  # the contract in force in the window
    warn: Fraction = Fraction(3, 2)  # the contract's call line
    liq: Fraction = Fraction(13, 10)  # the contract's liquidation line
    story: str = ""
    top_up: bool = True
    call: str = "on_time"  # on_time, late (two sessions late)
    target: dict[int, Fraction] = field(default_factory=dict)
    stock: str = ""
    actions: dict[int, list[Callable[..., None]]] = field(default_factory=dict)
    interest_bp: int | None = None  # CON-004's plant settles one month at another rate
    interest_tag: tuple | None = None
    settled_on: date = LAST_SETTLED
    acc_int: Fraction = Fraction(0)
    acc_fee: Fraction = Fraction(0)
    last_call: dict | None = None
    in_call: bool = False
    called: bool = False


class Book:
    """The accounts, their records and the planted violations of one cn export."""

    def __init__(self, rng: np.random.Generator, dates: list[date]):
        self.rng = rng
        self.dates = dates
        self.price: dict[str, np.ndarray] = {}
        self.accounts: list[Account] = []
        self.ordinary: list[Account] = []
        self.story_of: dict[str, Account] = {}
        self.financings: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.ledger: list[dict[str, Any]] = []
        self.fees: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []
        self.allowed: dict[tuple[str, str], str] = {}
        self.found: set[tuple[str, str]] = set()
        self.exact: dict[tuple[str, int], Fraction] = {}  # (account, day) -> ratio it closes at
        self.limit_breaks: list[str] = []

    # ------------------------------------------------------------------------ recording
    def violation(self, rule: str, table: str, key: dict[str, str], note: str) -> None:
        self.violations.append({"rule": rule, "table": table, "key": key, "note": note})

    def plant_on(self, rule: str, acc: Account, note: str) -> None:
        self.allowed[(rule, acc.id)] = note

    def judged(self, rule: str, acc: Account, table: str, key: dict[str, str]) -> None:
        note = self.allowed.get((rule, acc.id))
        if note is None:
            raise RuntimeError(f"{rule}: unplanned violation on {acc.id} {key}")
        self.found.add((rule, acc.id))
        self.violation(rule, table, key, note)

    def money(self, acc: Account, t: int, cents: int, kind: str, desc: str, ref: str | None = None,
              tag: tuple | None = None) -> None:
        acc.cash += cents
        self.ledger.append({"date": self.dates[t], "account_id": acc.id, "amount": cents,
                            "counterparty_type": kind, "instruction_ref": ref, "description": desc,
                            "_tag": tag})

    def deposit(self, acc: Account, t: int, cents: int, desc: str = "银证转入") -> None:
        self.money(acc, t, cents, "client_bank", desc)

    def charge(self, acc: Account, t: int, fee_type: str, base: int, rate: Fraction, days: int | None,
               charged: int, tag: tuple | None = None, extra: int = 0, desc: str = "") -> None:
        self.fees.append({"date": self.dates[t], "account_id": acc.id, "financing_id": acc.financing or None,
                          "fee_type": fee_type, "base_amount": base, "rate": float(rate), "days": days,
                          "charged": charged, "_tag": tag})
        self.money(acc, t, -(charged + extra), "fee", desc)

    def fill(self, acc: Account, t: int, when: datetime, code: str, side: str, qty: int, px: int,
             event: dict | None = None, fee_tag: tuple | None = None, fee_bp: Fraction | None = None,
             on_margin: bool = True) -> dict:
        row = {"account_id": acc.id, "instrument_id": code, "side": side, "quantity": qty, "price": px,
               "traded_at": when, "on_margin": on_margin, "_event": event, "_tag": None}
        self.trades.append(row)
        value = qty * px
        if fee_bp is None:
            fee_bp = COMMISSION_BP_2026 if self.dates[t] >= COMMISSION_FROM else COMMISSION_BP
        commission = max(half_up(Fraction(value) * fee_bp / 10_000), COMMISSION_MIN)
        self.charge(acc, t, "commission", value, fee_bp / 10_000, None, commission, tag=fee_tag,
                    desc="佣金")
        return row

    # ------------------------------------------------------------------------ valuation
    def values(self, acc: Account, t: int) -> tuple[int, int]:
        lmv = sum(q * int(self.price[k][t]) for k, q in acc.long.items())
        smv = sum(q * int(self.price[k][t]) for k, q in acc.short.items())
        return lmv, smv

    def accrued(self, acc: Account) -> int:
        return half_up(acc.acc_int) + half_up(acc.acc_fee)

    def liabilities(self, acc: Account, t: int) -> int:
        return acc.debt + self.values(acc, t)[1] + self.accrued(acc)

    def ratio(self, acc: Account, t: int) -> Fraction | None:
        lmv, smv = self.values(acc, t)
        liab = acc.debt + smv + self.accrued(acc)
        return Fraction(acc.cash + lmv, liab) if liab > 0 else None

    # ------------------------------------------------------------------------ actions
    def settle(self, acc: Account, t: int) -> None:
        """Pay the interest and 融券 fees accrued since the last settlement."""
        d = self.dates[t]
        days = (d - acc.settled_on).days
        if acc.acc_int:
            bp = acc.interest_bp or acc.rate_bp
            charged = half_up(Fraction(acc.debt * bp * days, 10_000 * 360)) if acc.interest_bp else half_up(acc.acc_int)
            self.charge(acc, t, "interest", acc.debt, Fraction(bp, 10_000), days, charged,
                        tag=acc.interest_tag, desc="融资利息")
            acc.interest_bp = acc.interest_tag = None
        if acc.acc_fee:
            self.charge(acc, t, "service", acc.short_base, Fraction(SHORT_FEE_BP, 10_000), days,
                        half_up(acc.acc_fee), desc="融券费用")
        acc.acc_int = acc.acc_fee = Fraction(0)
        acc.settled_on = d

    def sell_out(self, acc: Account, t: int, hh: int, mm: int, *, reason: str | None = "call_unmet",
                 cleared: bool = True, related: dict | None = None, tag: tuple | None = None) -> dict:
        """Force-sell every holding and buy back every security borrowed at the day's price,
        settle the interest and fees, and repay the debt from what is left."""
        r = self.ratio(acc, t)
        when = at(self.dates[t], hh, mm)
        ev = {"account_id": acc.id, "event_type": "liquidation", "event_at": when,
              "collateral_ratio": float(r), "trigger_ratio": float(r), "reason": reason,
              "clearing_ref": None, "_related": related, "deadline_at": None, "channel": None,
              "delivered_at": None, "_tag": tag}
        amount = 0
        for k, q in sorted(acc.long.items()):
            px = int(self.price[k][t])
            self.fill(acc, t, when, k, "sell", q, px, event=ev)
            acc.cash += q * px
            amount += q * px
        for k, q in sorted(acc.short.items()):
            px = int(self.price[k][t])
            self.fill(acc, t, when, k, "buy_to_cover", q, px, event=ev)
            acc.cash -= q * px
            amount += q * px
        acc.long.clear()
        acc.short.clear()
        self.settle(acc, t)
        acc.short_base = 0
        if acc.cash < 0:  # a shortfall: the client owes it (recourse)
            acc.debt -= acc.cash
            acc.cash = 0
        elif acc.debt:
            repaid = min(acc.debt, acc.cash)
            self.money(acc, t, -repaid, "financing_repayment", "卖券还款")
            acc.debt -= repaid
        ev["amount"] = amount
        ev["equity_after"] = acc.cash - acc.debt
        ev["clearing_ref"] = f"CSDC{self.dates[t]:%Y%m%d}{acc.i + 1:05d}" if cleared else None
        self.events.append(ev)
        return ev

    def call(self, acc: Account, t: int, when: datetime) -> dict:
        liab = self.liabilities(acc, t)
        lmv, _ = self.values(acc, t)
        need = max(half_up(acc.warn * liab) - acc.cash - lmv, 1)
        d2 = self.dates[min(t + 2, len(self.dates) - 1)]
        r = float(self.ratio(acc, t))
        ev = {"account_id": acc.id, "event_type": "margin_call", "event_at": when,
              "collateral_ratio": r, "trigger_ratio": r, "amount": need,
              "equity_after": acc.cash + lmv - acc.debt - self.values(acc, t)[1], "clearing_ref": None,
              "_related": None, "reason": None, "deadline_at": at(d2, 15, 0), "channel": "sms",
              "delivered_at": when + timedelta(seconds=40), "_tag": None}
        self.events.append(ev)
        acc.last_call = ev
        return ev

    # ------------------------------------------------------------------------ the days
    def simulate(self) -> None:
        T = len(self.dates)
        month_end = [t for t in range(T - 1) if self.dates[t + 1].month != self.dates[t].month]
        for t, d in enumerate(self.dates):
            active = [a for a in self.accounts if a.first_day <= t]
            prev = self.dates[t - 1] if t else LAST_SETTLED
            for a in active:  # interest and fees accrue for every calendar day since the last session
                days = (d - max(prev, a.settled_on)).days
                a.acc_int += Fraction(a.debt * a.rate_bp * days, 10_000 * 360)
                a.acc_fee += Fraction(a.short_base * SHORT_FEE_BP * days, 10_000 * 360)
            for a in active:
                if a.stock and t in a.target:
                    self.price[a.stock][t] = self.story_price(a, t, a.target[t])
                elif a.stock and t:
                    self.price[a.stock][t] = self.price[a.stock][t - 1]
            for a in active:
                for act in a.actions.get(t, []):
                    act(self, a, t)
            if t in month_end:
                for a in active:
                    if a.acc_int or a.acc_fee:
                        self.settle(a, t)
            for a in active:
                if a.top_up:
                    self.keep_above(a, t)
            for a in active:
                self.snapshot(a, t)
            for a in active:
                self.maintenance(a, t)
        if self.limit_breaks:
            raise RuntimeError("story stocks beyond their 20% daily limit: " + "; ".join(self.limit_breaks))
        missing = set(self.allowed) - self.found
        if missing:
            raise RuntimeError(f"plants the engine did not find: {sorted(missing)}")

    def story_price(self, a: Account, t: int, r: Fraction) -> int:
        """The close that puts the story account's collateral ratio at ``r``."""
        others = [k for k in (*a.long, *a.short) if k != a.stock]
        lmv = sum(q * int(self.price[k][t]) for k, q in a.long.items() if k != a.stock)
        smv = sum(q * int(self.price[k][t]) for k, q in a.short.items() if k != a.stock)
        liab = a.debt + smv + self.accrued(a)
        if a.stock in a.long:
            x = r * liab - a.cash - lmv
            q = a.long[a.stock]
        else:
            x = (Fraction(a.cash + lmv) / r) - liab
            q = a.short[a.stock]
        if (a.id, t) in self.exact and (x.denominator != 1 or x.numerator % q or others):
            raise RuntimeError(f"{a.id}: no exact close for ratio {r} on day {t}")
        p = half_up(x / q)
        prev = int(self.price[a.stock][t - 1]) if t else p
        if t and abs(p - prev) > prev * 0.2:
            self.limit_breaks.append(f"{a.story} {a.stock} day {t} {self.dates[t]}: {prev} -> {p}")
        return p

    def keep_above(self, a: Account, t: int) -> None:
        r = self.ratio(a, t)
        if r is not None and r < TOP_UP_BELOW:
            lmv, _ = self.values(a, t)
            self.deposit(a, t, 2 * self.liabilities(a, t) - a.cash - lmv, "银证转入（补仓）")

    def snapshot(self, a: Account, t: int) -> None:
        lmv, smv = self.values(a, t)
        eq = a.cash + lmv - a.debt - smv
        if (a.id, t) in self.exact and self.ratio(a, t) != self.exact[(a.id, t)]:
            raise RuntimeError(f"{a.id}: ratio {self.ratio(a, t)} on day {t}, not the exact one")
        self.snapshots.append({"date": self.dates[t], "account_id": a.id, "client_id": a.client,
                               "cash": a.cash, "market_value": lmv, "debt": a.debt, "equity": eq,
                               "leverage": round(lmv / eq, 4) if eq > 0 and lmv > 0 else None,
                               "pledged_value": 0, "short_market_value": smv,
                               "accrued_interest": self.accrued(a), "_acc": a})
        r = self.ratio(a, t)
        for k, q in sorted(a.long.items()):
            px = int(self.price[k][t])
            self.positions.append({"date": self.dates[t], "account_id": a.id, "instrument_id": k,
                                   "quantity": q, "price": px, "market_value": q * px})
            if a.debt > 0 and k not in ETFS and q * px > 0:
                share = Fraction(q * px, a.cash + lmv)
                if share > concentration_limit(r):
                    self.judged("LEV-003", a, "positions", {"account_id": a.id, "instrument_id": k,
                                                            "date": self.dates[t].isoformat()})

    def maintenance(self, a: Account, t: int) -> None:
        """The close: a call at 17:30 the first day of each spell below the call line."""
        r = self.ratio(a, t)
        if r is None or r >= a.warn:
            a.in_call = a.called = False
            return
        if not a.in_call:
            a.in_call = True
            if t == a.first_day:
                raise RuntimeError(f"{a.id}: below its call line at its first snapshot")
            if a.call == "on_time":
                self.call(a, t, at(self.dates[t], 17, 30))
                a.called = True
            else:  # CON-003's plant: the call goes out two sessions late, before the open
                a.actions.setdefault(t + 2, []).insert(0, _late_call)
        if not a.called:
            self.judged("CON-003", a, "accounts", {"account_id": a.id, "date": self.dates[t].isoformat()})


def _late_call(book: Book, a: Account, t: int) -> None:
    if a.in_call and not a.called:
        book.call(a, t, at(book.dates[t], 9, 10))
        a.called = True
