"""The registry of plants: one function per planted rule id (``PLANTS``), the few extra hooks a
plant needs at a second point of the build (``HOOKS``) and the traps that guard a rule against
false positives (``TRAPS``). Each function is registered at a named point, and the generator
calls every function registered at a point, in the order they were registered, when it gets
there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.cast import Story

# The named points, in the order the build reaches them, with what the functions there get
# besides the builder.
POINTS = {
    "financing_draws": "financings.py: accounts drawing twice chosen, debt not yet split (Draws)",
    "financing_dates": "financings.py: opening dates drawn, contract ids not yet given (Openings)",
    "contract_multiples": "financings.py: the whole multiples contracts open at (Multiples)",
    "financings": "financings.py: every contract drawn, equity at open not yet derived",
    "clients": "clients.py: onboarding, suitability and screening dates drawn (Kyc)",
    "client_ids": "clients.py: identity numbers made (their list, one per client)",
    "simulation": "book.py: before the first trading day (Book)",
    "liquidations": "book.py: the engine's candidates known, nobody closed out yet (Book, Day)",
    "month_end": "book.py: month-end interest computed, not yet charged (Book, Day)",
    "flows": "book.py: deposits and withdrawals made (Book, Day)",
    "top_ups": "book.py: before the top-ups that keep the snapshot inside the limits (Book, Day)",
    "margin_calls": "book.py: accounts at the call line known, no call issued yet (Book, Day)",
    "simulated": "book.py: after the last trading day",
    "instruments": "tables.py: each instrument's average daily volume (array)",
    "financings_table": "tables.py: the financings table (DataFrame)",
    "snapshots": "tables.py: every account snapshot and its re-pledged securities (Snapshots)",
    "custody": "platform.py: custodian statements against client money (Custody)",
    "capital": "platform.py: net capital drawn for every day (Capital)",
    "liquidity": "platform.py: liquid assets drawn, buffers set (Liquidity)",
    "audits": "platform.py: the audit reports on file (Audits)",
    "stress_tests": "platform.py: the platform's own stress-test rows (list of dicts)",
    "platform": "platform.py: the disclosure row (dict)",
}
(FINANCING_DRAWS, FINANCING_DATES, CONTRACT_MULTIPLES, FINANCINGS, CLIENTS, CLIENT_IDS, SIMULATION,
 LIQUIDATIONS, MONTH_END, FLOWS, TOP_UPS, MARGIN_CALLS, SIMULATED, INSTRUMENTS, FINANCINGS_TABLE,
 SNAPSHOTS, CUSTODY, CAPITAL, LIQUIDITY, AUDITS, STRESS_TESTS, PLATFORM) = POINTS

Fn = Callable[..., Any]
PLANTS: dict[str, Fn] = {}
HOOKS: dict[str, list[Fn]] = {}
TRAPS: dict[str, list[Fn]] = {}
_AT: dict[str, list[Fn]] = {point: [] for point in POINTS}


def _register(fn: Fn, rules: tuple[str, ...], at: str) -> Fn:
    if at not in POINTS:
        raise ValueError(f"{fn.__name__}: unknown point {at!r}; known: {', '.join(POINTS)}")
    fn.rules, fn.at = rules, at  # type: ignore[attr-defined]
    _AT[at].append(fn)
    return fn


def plant(rule: str, *, at: str) -> Callable[[Fn], Fn]:
    """Register the plant of ``rule``: the function that makes its violation, called at ``at``."""
    def register(fn: Fn) -> Fn:
        if rule in PLANTS:
            raise ValueError(f"{rule}: planted twice ({PLANTS[rule].__name__}, {fn.__name__})")
        PLANTS[rule] = fn
        return _register(fn, (rule,), at)
    return register


def hook(rule: str, *, at: str) -> Callable[[Fn], Fn]:
    """Register a second step of ``rule``'s plant at another point (prepare it, record it)."""
    def register(fn: Fn) -> Fn:
        HOOKS.setdefault(rule, []).append(fn)
        return _register(fn, (rule,), at)
    return register


def trap(*rules: str, at: str) -> Callable[[Fn], Fn]:
    """Register a trap: clean data on the edge of ``rules`` that no audit may flag."""
    def register(fn: Fn) -> Fn:
        for rule in rules:
            TRAPS.setdefault(rule, []).append(fn)
        return _register(fn, rules, at)
    return register


def run(at: str, b: Builder, *args: Any) -> None:
    """Call every plant, hook and trap registered at point ``at``, in registration order."""
    for fn in _AT[at]:
        fn(b, *args)


# ------------------------------------------------------------------------ helpers for plants


def first_financings(b: Builder, role: str) -> Iterator[tuple[Story, int]]:
    """Each story of ``role`` with the row of its account's first financing."""
    for s in b.by_role[role]:
        yield s, int(b.first_fin_row[s.account])


def client_key(account: int) -> dict[str, str]:
    """The key of an account's client in expected_violations.json."""
    return {"client_id": f"C{account + 1:06d}"}


def account_day_key(b: Builder, account: int, t: int) -> dict[str, str]:
    """The key of an account's snapshot on window day ``t``."""
    return {"account_id": b.acc_ids[int(account)], "date": b.dates[int(t)].isoformat()}



def financings_of(b: Builder, account: int) -> list[tuple[str, int]]:
    """(financing id, day number opened) of every contract of an account, the one signed for a
    later start included."""
    rows = [(b.fin_id[j], int(b.fin_open_day[j])) for j in range(len(b.fin_acc)) if b.fin_acc[j] == account]
    f = getattr(b, "future_fin", None)
    if f is not None and f["acc"] == account:
        rows.append((f["financing_id"], int(f["opened_sec"] // 86_400)))
    return sorted(rows, key=lambda r: r[1])


def per_financing(b: Builder, rule: str, account: int, covered_from: int | None, note: str) -> int:
    """Record a violation of ``rule`` on every financing of ``account`` opened before
    ``covered_from`` (the day number of the event that would have covered it; None: never).
    An event on the day of the financing covers it. Returns how many were recorded."""
    n = 0
    for fid, day in financings_of(b, account):
        if covered_from is None or day < covered_from:
            b.violation(rule, "financings", {"financing_id": fid}, note)
            n += 1
    return n
