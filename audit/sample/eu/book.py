"""The EU CFD book, day by day: accounts holding long CFDs (each opening a `financings` row at
its leverage against the margin the client posted for it), overnight financing on the notional
at the contract rate (actual/365, to the next session), commission on share CFDs, realised
profit and loss settled into client money, and the provider's own risk process at the close:

* the ESMA margin close-out: every CFD of an account whose equity (funds plus unrealised
  profit) is below half of its initial margin protection (the notional of each CFD at the
  ESMA margin of its class) is closed at the day's price;
* a margin call at 17:30 when the equity closes below the protection itself, the client
  having until the close of the next session (T+1) and a sale from T+2 when unmet;
* negative balance protection: a balance left negative by a close-out is written off the next
  day from the provider's own money.

The engine judges what it did, as the eu rules will: a retail opening above the ESMA cap of its
class (LEV-006) or any opening above the published cap (LEV-001), a retail account below its
close-out level at a close (LEV-014), a retail balance negative past its deadline (CLR-007).
Every such record must belong to the story planted for it; any other stops the build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

import numpy as np

from audit.sample.eu.market import CAP, SHARE_BP, at, label, scale

COMMISSION_BP = 10  # share CFDs: 0.10% of the notional
COMMISSION_MIN = 10_00  # £10.00 a fill
DAY_COUNT = 365
CAP_RETAIL, CAP_PROFESSIONAL = 30, 100  # the published caps (LEV-001)
RESTORE_DAYS = 2  # negative balances restored within two sessions (the rule's default)


def half_up(x: Fraction) -> int:
    """Round a non-negative amount of pence half up."""
    return int((x * 2 + 1) // 2)


@dataclass
class Pos:
    inst: str
    q: int
    p0: int  # opening price
    fin: str  # financing_id
    rate_bp: int
    until: int = 10**9  # window day the client closes it
    overcharge: tuple[int, int, tuple] | None = None  # (day, extra bp, tag): CON-004's plant


@dataclass
class Account:
    i: int
    id: str
    client: str
    category: str = "retail"
    cash: int = 0
    pos: dict[str, Pos] = field(default_factory=dict)
    first_day: int = 0
    last_day: int | None = None  # no snapshot from this day on (the account closed)
    story: str = ""
    role: str = ""  # ordinary accounts: the KYC or money plant they carry
    single: bool = False  # one CFD, never another (the KYC stories judge one financing)
    keeper: bool = False  # never closes (the money plants need it open)
    actions: dict[int, list[Callable[..., None]]] = field(default_factory=dict)
    target: dict[int, Fraction] = field(default_factory=dict)  # story CFD: equity / protection
    inst: str = ""  # the story CFD
    close_out: bool = True
    skip_close_out: set[int] = field(default_factory=set)
    calls: bool = True
    sells: bool = True  # sells an unmet call from T+2
    write_off: bool = True
    uncleared: bool = False
    meets: float = 0.5  # chance an ordinary client meets a call
    n_fin: int = 0
    call_t: int | None = None
    call_ev: dict | None = None
    last_event: dict | None = None


class Book:
    """The accounts, their records and the planted violations of one EU export."""

    def __init__(self, rng: np.random.Generator, sessions: list[date]):
        self.rng = rng
        self.dates = sessions[:-1]
        self.after = sessions[-1]  # the first session after the window
        self.price: dict[str, np.ndarray] = {}
        self.walk: dict[str, np.ndarray] = {}
        self.story_cfds: set[str] = set()
        self.accounts: list[Account] = []
        self.ordinary: list[Account] = []
        self.story_of: dict[str, Account] = {}
        self.rate_on: Callable[[date], int] = lambda d: 700
        self.ordinary_day: Callable[[Book, Account, int], None] | None = None
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
        self._fee_day: dict[str, int] = {}

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

    def tag(self, rule: str, acc: Account, note: str) -> tuple[str, str]:
        self.found.add((rule, acc.id))
        self.allowed[(rule, acc.id)] = note
        return (rule, note)

    def move(self, acc: Account, t: int, cents: int, kind: str, desc: str, ref: str | None = None,
             tag: tuple | None = None) -> dict:
        acc.cash += cents
        row = {"date": self.dates[t], "account_id": acc.id, "amount": cents, "counterparty_type": kind,
               "instruction_ref": ref, "description": desc, "_tag": tag}
        self.ledger.append(row)
        return row

    def deposit(self, acc: Account, t: int, cents: int, desc: str = "Card deposit") -> None:
        self.move(acc, t, cents, "client_bank", desc)

    # ------------------------------------------------------------------------ valuation
    def px(self, inst: str, t: int) -> int:
        return int(self.price[inst][t])

    def notional(self, p: Pos, t: int) -> int:
        return p.q * self.px(p.inst, t) // scale(p.inst)

    def equity(self, acc: Account, t: int) -> int:
        return acc.cash + sum(p.q * (self.px(p.inst, t) - p.p0) // scale(p.inst) for p in acc.pos.values())

    def protection(self, acc: Account, t: int) -> Fraction:
        return sum((Fraction(self.notional(p, t) * SHARE_BP[label(p.inst)], 10_000) for p in acc.pos.values()),
                   Fraction(0))

    def overnight(self, p: Pos, t: int, extra_bp: int = 0) -> int:
        nxt = self.dates[t + 1] if t + 1 < len(self.dates) else self.after
        days = (nxt - self.dates[t]).days
        return half_up(Fraction(self.notional(p, t) * (p.rate_bp + extra_bp) * days, 10_000 * DAY_COUNT))

    # ------------------------------------------------------------------------ trading
    def charge(self, acc: Account, t: int, fee: dict) -> None:
        self.fees.append(fee)
        acc.cash -= fee["charged"]
        self._fee_day[acc.id] = self._fee_day.get(acc.id, 0) + fee["charged"]

    def commission(self, acc: Account, t: int, p: Pos, value: int, bp: int = COMMISSION_BP,
                   tag: tuple | None = None) -> None:
        if label(p.inst) != "equity":
            return  # the other CFDs are charged through the spread
        self.charge(acc, t, {"date": self.dates[t], "account_id": acc.id, "financing_id": p.fin,
                             "fee_type": "commission", "base_amount": value, "rate": bp / 10_000, "days": None,
                             "charged": max(half_up(Fraction(value * bp, 10_000)), COMMISSION_MIN), "_tag": tag})

    def open(self, acc: Account, t: int, inst: str, q: int, margin: int, when: datetime | None = None,
             rate_bp: int | None = None, until: int = 10**9, commission_bp: int = COMMISSION_BP,
             tag: tuple | None = None, fee_tag: tuple | None = None, price: int | None = None) -> Pos:
        """Buy ``q`` of ``inst`` at the day's price (or the fill ``price``) against ``margin``
        pence of posted margin."""
        if q <= 0 or q % scale(inst):
            raise RuntimeError(f"{acc.id}: {q} {inst} is not a whole number of lots")
        when = when or at(self.dates[t], 9 + acc.i % 8, 5 + acc.i % 50)
        acc.n_fin += 1
        fin = f"CF{when:%y%m%d}{acc.i + 1:04d}{acc.n_fin:02d}"
        rate = rate_bp if rate_bp is not None else self.rate_on(when.date())
        p = Pos(inst, q, price or self.px(inst, t), fin, rate, until)
        n = q * p.p0 // scale(inst)
        lev = Fraction(n, margin)
        self.financings.append({"financing_id": fin, "account_id": acc.id, "client_id": acc.client,
                                "opened_at": when, "amount": n - margin, "equity_at_open": margin,
                                "leverage_at_open": round(float(lev), 4), "rate_annual": rate / 10_000,
                                "underlying_asset_class": label(inst), "_acc": acc, "_tag": tag})
        cap = CAP_RETAIL if acc.category == "retail" else CAP_PROFESSIONAL
        if lev > cap:
            self.judged("LEV-001", acc, "financings", {"financing_id": fin})
        if acc.category == "retail" and lev > CAP[label(inst)]:
            self.judged("LEV-006", acc, "financings", {"financing_id": fin})
        self.trades.append({"account_id": acc.id, "instrument_id": inst, "side": "buy", "quantity": q,
                            "price": p.p0, "traded_at": when, "_event": None, "_scale": scale(inst)})
        acc.pos[inst] = p
        self.commission(acc, t, p, n, bp=commission_bp, tag=fee_tag)
        return p

    def close(self, acc: Account, t: int, inst: str, when: datetime, event: dict | None = None) -> int:
        p = acc.pos.pop(inst)
        px = self.px(inst, t)
        pnl = p.q * (px - p.p0) // scale(inst)
        self.trades.append({"account_id": acc.id, "instrument_id": inst, "side": "sell", "quantity": p.q,
                            "price": px, "traded_at": when, "_event": event, "_scale": scale(inst)})
        if pnl:
            self.move(acc, t, pnl, "exchange", f"CFD settlement {inst}: realised profit and loss")
        self.commission(acc, t, p, p.q * px // scale(inst))
        return pnl

    def liquidate(self, acc: Account, t: int, when: datetime, reason: str, related: dict | None = None,
                  tag: tuple | None = None) -> dict:
        """Close every CFD of the account: the ESMA close-out, or a sale for an unmet call."""
        sold = sum(self.notional(p, t) for p in acc.pos.values())
        ev = {"account_id": acc.id, "event_type": "liquidation", "event_at": when, "collateral_ratio": None,
              "amount": sold, "reason": reason, "clearing_ref": None, "_related": related,
              "deadline_at": None, "channel": None, "delivered_at": None, "trigger_ratio": None, "_tag": tag}
        for inst in sorted(acc.pos):
            self.close(acc, t, inst, when, event=ev)
        ev["equity_after"] = acc.cash
        if not acc.uncleared:
            ev["clearing_ref"] = f"CO-{self.dates[t]:%y%m%d}-{acc.i + 1:05d}"
        self.events.append(ev)
        acc.call_t = acc.call_ev = None
        acc.last_event = ev
        return ev

    def call(self, acc: Account, t: int) -> dict:
        d1 = self.dates[t + 1] if t + 1 < len(self.dates) else self.after
        when = at(self.dates[t], 17, 30)
        ev = {"account_id": acc.id, "event_type": "margin_call", "event_at": when, "collateral_ratio": None,
              "amount": half_up(self.protection(acc, t)) - self.equity(acc, t), "equity_after": self.equity(acc, t),
              "clearing_ref": None, "_related": None, "reason": None, "deadline_at": at(d1, 22, 0),
              "channel": "email", "delivered_at": at(self.dates[t], 17, 31), "trigger_ratio": None, "_tag": None}
        self.events.append(ev)
        acc.call_t, acc.call_ev = t, ev
        return ev

    def recourse(self, acc: Account, t: int, tag: tuple | None = None) -> dict:
        ev = {"account_id": acc.id, "event_type": "recourse", "event_at": at(self.dates[t], 10, 0),
              "collateral_ratio": None, "amount": -acc.cash, "equity_after": acc.cash, "clearing_ref": None,
              "_related": acc.last_event, "reason": None, "deadline_at": None, "channel": "letter",
              "delivered_at": None, "trigger_ratio": None, "_tag": tag}
        self.events.append(ev)
        return ev

    # ------------------------------------------------------------------------ the days
    def simulate(self) -> None:
        T = len(self.dates)
        target_of = {a.inst: a for a in self.accounts if a.inst}
        for t, d in enumerate(self.dates):
            active = [a for a in self.accounts if a.first_day <= t and (a.last_day is None or t < a.last_day)]
            for inst in self.story_cfds:  # the story's close where it scripts one, else the walk
                a = target_of.get(inst)
                if a is not None and t in a.target and inst in a.pos:
                    self.price[inst][t] = self.story_price(a, t)
                elif t > 0:
                    self.price[inst][t] = round(self.price[inst][t - 1] * self.walk[inst][t] / self.walk[inst][t - 1])
            for a in active:
                for act in a.actions.get(t, []):
                    act(self, a, t)
                if a.call_t is not None and t >= a.call_t + 2 and a.pos and a.sells:
                    if self.equity(a, t) < self.protection(a, t):
                        self.liquidate(a, t, at(d, 8, 5), "call_unmet", related=a.call_ev)
                    else:
                        a.call_t = a.call_ev = None
            if self.ordinary_day:
                for a in self.ordinary:
                    if a in active:
                        self.ordinary_day(self, a, t)
            for a in active:
                self.night(a, t)
            for a in active:
                self.risk(a, t)
            for a in active:
                self.snapshot(a, t)
            self._fee_day = {}
        self.judge_negative()
        missing = set(self.allowed) - self.found
        if missing:
            raise RuntimeError(f"plants the engine did not find: {sorted(missing)}")
        if T != len(self.dates):
            raise RuntimeError("days changed")

    def story_price(self, a: Account, t: int) -> int:
        """The close that puts the story account's equity at ``a.target[t]`` of its protection."""
        p = a.pos.get(a.inst)
        if p is None:
            raise RuntimeError(f"{a.id}: a target for {a.inst} it does not hold")
        e, s, sc = a.target[t], Fraction(SHARE_BP[label(a.inst)], 10_000), scale(a.inst)
        rest = a.cash + sum(o.q * (self.px(o.inst, t) - o.p0) // scale(o.inst) for o in a.pos.values() if o is not p)
        # rest + q (x - p0) / sc = e s q x / sc
        x = (Fraction(p.q * p.p0, sc) - rest) * sc / (p.q * (1 - e * s))
        return max(1, half_up(x))

    def night(self, a: Account, t: int) -> None:
        """The daily roll: overnight financing on every open CFD, one fee movement a day."""
        for p in a.pos.values():
            extra, tag = 0, None
            if p.overcharge and p.overcharge[0] == t:
                extra, tag = p.overcharge[1], p.overcharge[2]
            nxt = self.dates[t + 1] if t + 1 < len(self.dates) else self.after
            self.charge(a, t, {"date": self.dates[t], "account_id": a.id, "financing_id": p.fin,
                               "fee_type": "interest", "base_amount": self.notional(p, t),
                               "rate": (p.rate_bp + extra) / 10_000, "days": (nxt - self.dates[t]).days,
                               "charged": self.overnight(p, t, extra), "_tag": tag})
        owed = self._fee_day.pop(a.id, 0)
        if owed:
            self.ledger.append({"date": self.dates[t], "account_id": a.id, "amount": -owed,
                                "counterparty_type": "fee", "instruction_ref": None,
                                "description": "Overnight financing and commission", "_tag": None})

    def risk(self, a: Account, t: int) -> None:
        if not a.pos:
            a.call_t = a.call_ev = None
            return
        eq, r = self.equity(a, t), self.protection(a, t)
        if eq < r / 2 and a.close_out and t not in a.skip_close_out:
            self.liquidate(a, t, at(self.dates[t], 15, 10 + a.i % 40), "esma_close_out")
            if a.cash < 0 and a.write_off and t + 1 < len(self.dates):
                a.actions.setdefault(t + 1, []).insert(0, _write_off)
        elif eq < r and a.calls:
            if a.call_t is None:
                self.call(a, t)
                if not a.story and self.rng.random() < a.meets and t + 1 < len(self.dates):
                    need = half_up(r * 3 / 2) - eq
                    a.actions.setdefault(t + 1, []).append(
                        lambda b, acc, u, n=need: b.deposit(acc, u, -(-n // 100_00) * 100_00, "Card deposit (margin call)"))
        else:
            a.call_t = a.call_ev = None

    def snapshot(self, a: Account, t: int) -> None:
        mv = sum(self.notional(p, t) for p in a.pos.values())
        eq = self.equity(a, t)
        self.snapshots.append({"date": self.dates[t], "account_id": a.id, "client_id": a.client, "cash": a.cash,
                               "market_value": mv, "debt": 0, "equity": eq,
                               "leverage": round(mv / eq, 4) if eq > 0 and mv > 0 else None, "_acc": a})
        for k, p in sorted(a.pos.items()):
            self.positions.append({"date": self.dates[t], "account_id": a.id, "instrument_id": k,
                                   "quantity": p.q, "price": self.px(k, t), "market_value": self.notional(p, t),
                                   "_scale": scale(k)})
        if a.category == "retail" and a.pos and Fraction(eq) < self.protection(a, t) / 2 - Fraction(1, 2):
            self.judged("LEV-014", a, "positions", {"account_id": a.id, "date": self.dates[t].isoformat()})

    def judge_negative(self) -> None:
        """CLR-007 on the snapshots: a retail balance negative after its second session, or an
        account whose last snapshot is negative with the deadline passed and no write-off."""
        index = {d: t for t, d in enumerate(self.dates)}
        credits: dict[str, list[date]] = {}
        for r in self.ledger:
            if r["counterparty_type"] == "platform_own" and r["amount"] > 0:
                credits.setdefault(r["account_id"], []).append(r["date"])
        by_acc: dict[str, list[dict]] = {}
        for s in self.snapshots:
            by_acc.setdefault(s["account_id"], []).append(s)
        for acc_id, snaps in by_acc.items():
            a = snaps[0]["_acc"]
            if a.category != "retail":
                continue
            since = None
            for k, s in enumerate(snaps):
                if s["equity"] >= 0:
                    since = None
                    continue
                since = s["date"] if since is None else since
                due_t = index[since] + RESTORE_DAYS
                due = self.dates[due_t] if due_t < len(self.dates) else None  # None: after the audit date
                last = k == len(snaps) - 1
                written = [c for c in credits.get(acc_id, []) if c >= s["date"]]
                off = min(written) if written else None
                ok = (due is None or s["date"] <= due) and (
                    not last or due is None or due >= self.dates[-1] or (off is not None and off <= due))
                if not ok:
                    self.judged("CLR-007", a, "accounts", {"account_id": acc_id, "date": s["date"].isoformat()})


def _write_off(book: Book, a: Account, t: int) -> None:
    """Negative balance protection: the provider's own money resets the balance to zero."""
    if a.cash < 0:
        book.move(a, t, -a.cash, "platform_own", "Negative balance protection: balance written off")
