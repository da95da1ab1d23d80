"""The US margin book, day by day: accounts with long positions (and some shorts) financed on
Regulation T terms, interest capitalised into the debit at month end, commissions on every
fill, client top-ups that keep the ordinary accounts above the house requirement, and the
house's own process: a maintenance call at 17:30 for every account whose equity closes below
the requirement in force (25% of the long value until 15 May 2026, 30% from 18 May, plus 30%
of the short value), a T+2 deadline, and a sale from T+3 when the call is unmet.

The engine also judges what it did, as the US rules will: a deficiency left open more than 15
business days (LEV-016), a day in deficiency without a call by its deadline (CON-010), a
pattern day trader under $25,000 before 4 June 2026 (LEV-009) and an unmet intraday margin
deficit in an account that kept opening positions (LEV-018). Every such record must belong to
the story planted for it; any other is a bug in the book and stops the build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

import numpy as np

from audit.sample.us.market import HOUSE_30_FROM, INTRADAY_FROM, at

COMMISSION_BP = 5  # 0.05% of the traded value
COMMISSION_MIN = 100  # $1.00 a fill
PDT_MIN = 2_500_000
TOP_UP_BELOW = Fraction(36, 100)  # ordinary clients top up before their equity ratio gets here


def half_up(x: Fraction) -> int:
    """Round a non-negative amount of cents half up."""
    return int((x * 2 + 1) // 2)


def house_rate(d: date) -> Fraction:
    """The house maintenance requirement on long positions in force on ``d``."""
    return Fraction(30, 100) if d >= HOUSE_30_FROM else Fraction(25, 100)


@dataclass
class Account:
    i: int
    id: str
    client: str
    cash: int = 0
    debt: int = 0
    long: dict[str, int] = field(default_factory=dict)
    short: dict[str, int] = field(default_factory=dict)
    first_day: int = 0  # first window day with a snapshot
    rate_bp: int = 1125  # contract interest rate, basis points a year
    financing: str = ""
    pledge: float = 0.0
    story: str = ""  # "" for an ordinary account
    top_up: bool = True
    call: str = "on_time"  # on_time, late (next morning) or none
    target: dict[int, Fraction] = field(default_factory=dict)  # story stock: equity ratio by day
    stock: str = ""  # the story stock it holds
    actions: dict[int, list[Callable[..., None]]] = field(default_factory=dict)
    interest_bp: int | None = None
    last_call: dict | None = None
    interest_tag: tuple | None = None
    # engine state
    spell: int | None = None  # window day the current deficiency began
    call_spell: int | None = None
    sold_in_spell: bool = False
    called_in_spell: bool = False


class Book:
    """The accounts, their records and the planted violations of one US export."""

    def __init__(self, rng: np.random.Generator, dates: list[date]):
        self.rng = rng
        self.dates = dates
        self.price: dict[str, np.ndarray] = {}
        self.accounts: list[Account] = []
        self.financings: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.ledger: list[dict[str, Any]] = []
        self.fees: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []
        self.allowed: dict[tuple[str, str], str] = {}  # (rule, account) -> note of its plant
        self.found: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------------ recording
    def violation(self, rule: str, table: str, key: dict[str, str], note: str) -> None:
        self.violations.append({"rule": rule, "table": table, "key": key, "note": note})

    def plant_on(self, rule: str, acc: Account, note: str) -> None:
        """``acc`` is the story of ``rule``: the engine records what it finds there."""
        self.allowed[(rule, acc.id)] = note

    def judged(self, rule: str, acc: Account, table: str, key: dict[str, str]) -> None:
        """The engine found a violation of ``rule``: it must be the planted one."""
        note = self.allowed.get((rule, acc.id))
        if note is None:
            raise RuntimeError(f"{rule}: unplanned violation on {acc.id} {key}")
        self.found.add((rule, acc.id))
        self.violation(rule, table, key, note)

    def deposit(self, acc: Account, t: int, cents: int, desc: str = "ACH deposit") -> None:
        acc.cash += cents
        self.ledger.append({"date": self.dates[t], "account_id": acc.id, "amount": cents,
                            "counterparty_type": "client_bank", "instruction_ref": None,
                            "description": desc})

    def commission(self, acc: Account, t: int, value: int, extra: int = 0, tag: tuple | None = None,
                   rate_bp: int = COMMISSION_BP) -> int:
        """Charge the commission on a fill of ``value`` cents (at ``rate_bp``, CON-006's plant
        charges more than published); ``extra`` more leaves the client's money than the charge
        (SEG-007's plant)."""
        charged = max(half_up(Fraction(value * rate_bp, 10_000)), COMMISSION_MIN)
        self.fees.append({"date": self.dates[t], "account_id": acc.id, "financing_id": acc.financing,
                          "fee_type": "commission", "base_amount": value, "rate": rate_bp / 10_000,
                          "days": None, "charged": charged, "_tag": tag})
        self.ledger.append({"date": self.dates[t], "account_id": acc.id, "amount": -(charged + extra),
                            "counterparty_type": "fee", "instruction_ref": None,
                            "description": "Commission", "_tag": None})
        acc.cash -= charged + extra
        return charged

    def fill(self, acc: Account, t: int, when: datetime, ticker: str, side: str, qty: int, px: int,
             tag: tuple | None = None, event: dict | None = None, fee_tag: tuple | None = None,
             fee_bp: int = COMMISSION_BP) -> dict:
        row = {"account_id": acc.id, "instrument_id": ticker, "side": side, "quantity": qty,
               "price": px, "traded_at": when, "on_margin": True, "_event": event, "_tag": tag}
        self.trades.append(row)
        self.commission(acc, t, qty * px, tag=fee_tag, rate_bp=fee_bp)
        return row

    # ------------------------------------------------------------------------ valuation
    def values(self, acc: Account, t: int) -> tuple[int, int]:
        lmv = sum(q * int(self.price[k][t]) for k, q in acc.long.items())
        smv = sum(q * int(self.price[k][t]) for k, q in acc.short.items())
        return lmv, smv

    def equity(self, acc: Account, t: int) -> int:
        lmv, smv = self.values(acc, t)
        return acc.cash + lmv - acc.debt - smv

    def requirement(self, acc: Account, t: int) -> Fraction:
        lmv, smv = self.values(acc, t)
        return house_rate(self.dates[t]) * lmv + Fraction(3, 10) * smv

    def ratio(self, acc: Account, t: int) -> float | None:
        lmv, smv = self.values(acc, t)
        liab = acc.debt + smv
        return (acc.cash + lmv) / liab if liab > 0 else None

    # ------------------------------------------------------------------------ actions
    def sell_out(self, acc: Account, t: int, hh: int, mm: int, reason: str | None, *,
                 cleared: bool = True, related: dict | None = None, tag: tuple | None = None) -> dict:
        """Sell every long position at the day's price: a forced liquidation."""
        r = self.ratio(acc, t)
        proceeds = sum(q * int(self.price[k][t]) for k, q in acc.long.items())
        when = at(self.dates[t], hh, mm)
        ev = {"account_id": acc.id, "event_type": "liquidation", "event_at": when,
              "collateral_ratio": r, "trigger_ratio": r, "amount": proceeds, "reason": reason,
              "clearing_ref": None, "_related": related, "deadline_at": None, "channel": None,
              "delivered_at": None, "_tag": tag}
        for k, q in sorted(acc.long.items()):
            self.fill(acc, t, when, k, "sell", q, int(self.price[k][t]), event=ev)
        acc.long.clear()
        repaid = min(acc.debt, proceeds)
        acc.debt -= repaid
        acc.cash += proceeds - repaid
        ev["equity_after"] = acc.cash - acc.debt
        ev["clearing_ref"] = f"NSCC-{self.dates[t]:%y%m%d}-{acc.i + 1:05d}" if cleared else None
        self.events.append(ev)
        acc.sold_in_spell = True
        return ev

    def call(self, acc: Account, t: int, when: datetime, tag: tuple | None = None) -> dict:
        deficiency = half_up(self.requirement(acc, t)) - self.equity(acc, t)
        d2 = self.dates[min(t + 2, len(self.dates) - 1)]
        ev = {"account_id": acc.id, "event_type": "margin_call", "event_at": when,
              "collateral_ratio": self.ratio(acc, t), "trigger_ratio": self.ratio(acc, t),
              "amount": max(deficiency, 1), "equity_after": self.equity(acc, t), "clearing_ref": None,
              "_related": None, "reason": None, "deadline_at": at(d2, 16, 0), "channel": "email",
              "delivered_at": when.replace(minute=when.minute + 2), "_tag": tag}
        self.events.append(ev)
        acc.last_call = ev
        return ev

    # ------------------------------------------------------------------------ the days
    def simulate(self) -> None:
        T = len(self.dates)
        month_end = [t for t in range(T) if t == T - 1 or self.dates[t + 1].month != self.dates[t].month]
        for t, d in enumerate(self.dates):
            active = [a for a in self.accounts if a.first_day <= t]
            for a in active:  # the story stock's close, from the account's state this morning
                if a.stock:
                    self.price[a.stock][t] = (self.story_price(a, a.target[t]) if t in a.target
                                              else self.price[a.stock][max(t - 1, 0)])
            for a in active:
                for act in a.actions.get(t, []):
                    act(self, a, t)
            if t in month_end:
                days = (d - d.replace(day=1)).days + 1
                for a in active:
                    if a.debt > 0:
                        self.interest(a, t, days)
            for a in active:
                if a.top_up:
                    self.keep_above(a, t)
            for a in active:
                self.snapshot(a, t)
            for a in active:
                self.maintenance(a, t)
        self.judge_pdt()
        self.judge_intraday()
        missing = set(self.allowed) - self.found
        if missing:
            raise RuntimeError(f"plants the engine did not find: {sorted(missing)}")

    def story_price(self, a: Account, e: Fraction) -> int:
        """The close that puts the story account's equity at ``e`` of its market value."""
        if a.long:
            q = a.long[a.stock]
            return half_up(Fraction(a.debt - a.cash) / (q * (1 - e)))
        if a.short:
            q = a.short[a.stock]
            return half_up(Fraction(a.cash) / (q * (1 + e)))
        raise RuntimeError(f"{a.id}: a target for {a.stock} it no longer holds")

    def interest(self, a: Account, t: int, days: int) -> None:
        """Interest on the debit at the contract rate (``a.interest_bp``: CON-004's plant
        charges another), actual days over 360."""
        bp = a.interest_bp or a.rate_bp
        charged = half_up(Fraction(a.debt * bp * days, 10_000 * 360))
        self.fees.append({"date": self.dates[t], "account_id": a.id, "financing_id": a.financing,
                          "fee_type": "interest", "base_amount": a.debt, "rate": bp / 10_000,
                          "days": days, "charged": charged, "_tag": a.interest_tag})
        a.interest_bp = a.interest_tag = None  # a plant overcharges one month
        a.debt += charged  # capitalised into the debit balance

    def keep_above(self, a: Account, t: int) -> None:
        lmv, smv = self.values(a, t)
        if lmv + smv == 0:
            return
        eq = a.cash + lmv - a.debt - smv
        if Fraction(eq) < TOP_UP_BELOW * (lmv + smv):
            need = half_up(Fraction(1, 2) * (lmv + smv)) - eq
            self.deposit(a, t, int(need), "ACH deposit (margin top-up)")

    def snapshot(self, a: Account, t: int) -> None:
        lmv, smv = self.values(a, t)
        eq = a.cash + lmv - a.debt - smv
        pledged = min(int(a.pledge * a.debt), lmv) if a.pledge and a.debt else 0
        self.snapshots.append({"date": self.dates[t], "account_id": a.id, "client_id": a.client,
                               "cash": a.cash, "market_value": lmv, "debt": a.debt, "equity": eq,
                               "leverage": round(lmv / eq, 4) if eq > 0 and lmv > 0 else None,
                               "pledged_value": pledged if a.debt else None,
                               "short_market_value": smv, "_acc": a})
        for k, q in sorted(a.long.items()):
            self.positions.append({"date": self.dates[t], "account_id": a.id, "instrument_id": k,
                                   "quantity": q, "price": int(self.price[k][t]),
                                   "market_value": q * int(self.price[k][t])})

    def maintenance(self, a: Account, t: int) -> None:
        """The close: deficiency spells, the 17:30 call, and the engine's own LEV-016 / CON-010."""
        lmv, smv = self.values(a, t)
        d = self.dates[t]
        deficient = lmv + smv > 0 and Fraction(self.equity(a, t)) < self.requirement(a, t) - Fraction(1, 2)
        if not deficient:
            a.spell, a.sold_in_spell, a.called_in_spell = None, False, False
            return
        if a.spell is None:
            a.spell = t
            if t == a.first_day:
                raise RuntimeError(f"{a.id}: in deficiency at its first snapshot")
            if a.call == "on_time":
                self.call(a, t, at(d, 17, 30))
                a.called_in_spell = True
            elif a.call == "late" and t + 1 < len(self.dates):
                a.actions.setdefault(t + 1, []).insert(0, _late_call)
        key = {"account_id": a.id, "date": d.isoformat()}
        if not a.called_in_spell:
            self.judged("CON-010", a, "accounts", key)
        if t - a.spell > 15 and not a.sold_in_spell:
            self.judged("LEV-016", a, "accounts", key)

    # ------------------------------------------------------------------------ day trading
    def day_trades(self) -> dict[tuple[str, int], int]:
        """Day trades per account and window day: a buy and a sale of one stock the same day."""
        out: dict[tuple[str, int], int] = {}
        index = {d: t for t, d in enumerate(self.dates)}
        legs: dict[tuple[str, str, date], set[str]] = {}
        for r in self.trades:
            if r["_event"] is None:
                legs.setdefault((r["account_id"], r["instrument_id"], r["traded_at"].date()), set()).add(r["side"])
        for (acc, _, d), sides in legs.items():
            if {"buy", "sell"} <= sides:
                out[(acc, index[d])] = out.get((acc, index[d]), 0) + 1
        return out

    def judge_pdt(self) -> None:
        """day_trades_5d on every snapshot; LEV-009 before the intraday standard."""
        per_day = self.day_trades()
        for s in self.snapshots:
            a, t = s["_acc"], self.dates.index(s["date"])
            s["day_trades_5d"] = sum(per_day.get((a.id, k), 0) for k in range(max(0, t - 4), t + 1))
            if s["date"] < INTRADAY_FROM and s["day_trades_5d"] >= 4 and s["equity"] < PDT_MIN:
                self.judged("LEV-009", a, "accounts", {"account_id": a.id, "date": s["date"].isoformat()})

    def judge_intraday(self) -> None:
        """LEV-018 on the fills it can judge: an account flat at the previous close opening a
        position whose maintenance requirement its equity does not cover."""
        snaps = {(s["account_id"], s["date"]): s for s in self.snapshots}
        seen: set[tuple[str, date]] = set()
        for r in sorted(self.trades, key=lambda r: (r["account_id"], r["traded_at"])):
            d = r["traded_at"].date()
            if (r["account_id"], d) in seen:
                continue
            seen.add((r["account_id"], d))
            t = self.dates.index(d)
            prior = snaps.get((r["account_id"], self.dates[t - 1])) if t > 0 else None
            if (d < INTRADAY_FROM or r["side"] not in ("buy", "sell_short") or prior is None
                    or prior["market_value"] or prior["short_market_value"]):
                continue
            rate = Fraction(3, 10) if r["side"] == "sell_short" else house_rate(d)
            deficit = rate * r["quantity"] * r["price"] - prior["equity"]
            if deficit <= Fraction(1, 2):
                continue
            due = self.dates[min(t + 5, len(self.dates) - 1)]
            met = [x for x in self.ledger if x["account_id"] == r["account_id"] and x["amount"] > 0
                   and d <= x["date"]]
            met.sort(key=lambda x: x["date"])
            if met and met[0]["date"] <= due and met[0]["amount"] >= deficit - Fraction(1, 2):
                continue
            reopened = [x for x in self.trades if x["account_id"] == r["account_id"]
                        and x["side"] in ("buy", "sell_short") and x["traded_at"].date() > due]
            if reopened and (min(x["traded_at"] for x in reopened).date() - due).days <= 90:
                note = self.allowed.get(("LEV-018", r["account_id"]))
                if note is None:
                    raise RuntimeError(f"LEV-018: unplanned violation on {r['account_id']} {d}")
                r["_tag"] = ("LEV-018", note)  # recorded with its trade_id (tables.py)
                self.found.add(("LEV-018", r["account_id"]))


def _late_call(book: Book, a: Account, t: int) -> None:
    """The call the house sends the morning after the close it was due (CON-010's plant)."""
    book.call(a, t, at(book.dates[t], 10, 0))
    a.called_in_spell = True
