"""The state of one export being generated and the order it is built in: market, cast, opening
book, contracts, clients, the daily simulation, then the tables. Every other module reads and
writes this state through the ``Builder`` it is handed."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from audit.sample import book, cast, clients, financings, market, opening, platform, tables
from audit.sample.cast import MIN_ACCOUNTS_ALL


class Builder:
    """One export in the making: its switches, random streams, and everything built so far.

    Each stage leaves its results here for the next: ``dates``, ``dnum``, ``month_end``, ``c0``,
    ``dv``, ``x3``, ``crash`` (market.calendar); ``inst_*``, ``pm`` (instruments, prices);
    ``stories``, ``by_role``, ``scripted`` (cast.roles); ``pos_acc``, ``pos_inst``, ``q``,
    ``cash0``, ``D0``, ``pro``, ``cap`` (opening); ``fin_*``, ``first_fin_row`` (financings);
    ``acc_rows``, ``pos_rows``, ``ev``, ``led``, ``fee`` (book.simulate); ``capital_buffer``,
    ``liquidity_buffer``, ``last_audit`` (platform). Planted violations go through
    ``violation``, ``planted_on`` and ``tag``.
    """

    def __init__(self, accounts: int, seed: int, days: int, plant: bool, plant_table_level: bool,
                 audit_overdue: bool):
        self.N, self.seed, self.T = accounts, seed, days
        self.plant = plant
        self.plant_table = plant and plant_table_level
        self.audit_overdue = self.plant_table and audit_overdue
        # NOTE: one stream per concern, so a change in one part of the build moves no other
        # part's draws. Within a stream the order of the calls is the output: keep it.
        # (spawn(n) gives the same first children whatever n: a stream added last moves none.)
        streams = np.random.SeedSequence(seed).spawn(9)
        (self.r_inst, self.r_price, self.r_acc, self.r_cli, self.r_day, self.r_plant,
         self.r_fin, self.r_misc, self.r_hist) = (np.random.default_rng(s) for s in streams)
        self.k = 2 + (accounts >= 1_000) + (accounts >= 10_000) + (accounts >= 100_000)
        self.violations: list[dict[str, Any]] = []
        self.tags: list[tuple[str, str]] = []  # (rule, note) of each tag, from 1
        self.expected: dict[str, int] = {}
        self.planted_days: list[tuple[str, int, int, int | None, str]] = []  # see book.Day.hold
        self.acc_ids = pl.Series([f"A{a + 1:06d}" for a in range(accounts)])
        self.cli_ids = pl.Series([f"C{a + 1:06d}" for a in range(accounts)])

    def violation(self, rule: str, table: str, key: dict[str, str], note: str) -> None:
        """Record one planted violation for expected_violations.json."""
        self.violations.append({"rule": rule, "table": table, "key": key, "note": note})

    def tag(self, rule: str, note: str) -> int:
        """The tag that marks a simulated row (margin event, ledger entry, fee) as a planted
        violation of ``rule``; the table builders record every tagged row with ``note``."""
        if (rule, note) not in self.tags:
            self.tags.append((rule, note))
            if len(self.tags) > 127:  # rows keep their tag in an int8
                raise RuntimeError("too many kinds of tagged rows")
        return self.tags.index((rule, note)) + 1

    def planted_on(self, rule: str, account: int, t: int, note: str, instrument: int | None = None) -> None:
        """A planted violation on an account's snapshot of window day ``t`` (or on one of its
        positions), recorded once the build knows the keys."""
        self.planted_days.append((rule, int(account), t, instrument, note))

    def expect(self, rule: str, n: int) -> None:
        """A plant of ``rule`` promises ``n`` violations; ``build`` checks that it kept it."""
        self.expected[rule] = n

    def build(self) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
        """Every table of the export, and the planted violations."""
        market.calendar(self)
        market.instruments(self)
        market.prices(self)
        cast.roles(self)
        opening.accounts_init(self)
        financings.financings(self)
        client_table = clients.clients(self)
        book.simulate(self)
        out: dict[str, pl.DataFrame] = {"clients": client_table, "kyc_events": self.kyc_events}
        out["instruments"] = tables.instruments_table(self)
        out["financings"] = tables.financings_table(self)
        out["accounts"], out["positions"] = tables.snapshot_tables(self)
        out["margin_events"] = tables.events_table(self)
        out["ledger"] = tables.ledger_table(self)
        out["fees"] = tables.fees_table(self)
        out["custody"] = platform.custody_table(self, out["accounts"])
        out["capital"] = platform.capital_table(self, out["accounts"], out["positions"])
        out["audits"] = platform.audits_table(self)
        out["stress_tests"] = platform.stress_tests_table(self)
        out["platform"] = platform.platform_table(self)
        out["instrument_terms"] = tables.instrument_terms_table(self)
        # The accounts the simulation left outside the limits or without a call (book.Day).
        for rule, a, t, inst, note in self.planted_days:
            key = {"account_id": f"A{a + 1:06d}", "date": self.dates[t].isoformat()}
            if inst is None:
                self.violation(rule, "accounts", key, note)
            else:
                self.violation(rule, "positions", {**key, "instrument_id": self.inst_code[inst]}, note)
        for rule, n in self.expected.items():
            made = sum(1 for v in self.violations if v["rule"] == rule)
            if made != n:
                raise RuntimeError(f"story {rule}: {made} of {n} planted")
        return out, self.violations

    def not_planted(self) -> dict[str, str]:
        """Rules without a planted violation in this export, and why."""
        if not self.plant:
            return {"*": "plant=False: nothing planted"}
        out = {}
        if not self.plant_table:
            for rule in ("CLR-004", "CLR-005", "CON-005", "CON-009", "LEV-015", "OFX-004", "LEV-004",
                         "LEV-005"):
                out[rule] = "table-level: plant_table_level=False"
        elif not self.scale:
            for rule in ("LEV-004", "LEV-005"):
                out[rule] = f"needs at least {MIN_ACCOUNTS_ALL} accounts"
        if not self.scale:
            for rule in ("CAP-002", "CAP-003"):
                out[rule] = f"needs at least {MIN_ACCOUNTS_ALL} accounts"
        out["CLR-005" if self.audit_overdue else "CLR-003"] = (
            "CLR-003 and CLR-005 exclude each other; audit_overdue chooses CLR-003")
        if not self.plant_table:
            out["CLR-003"] = "table-level: plant_table_level=False"
        # NOTE: LEV-004 and LEV-024 split one test by how robust the verdict is; the planted
        # concentration shortfall holds under every model setting, so LEV-004 reports it.
        out["LEV-024"] = ("stress: the planted shortfall exceeds capital under every setting of "
                          "the model grid, so LEV-004 (critical) reports it, not LEV-024")
        # The eu rules whose inputs a CN margin book does not have.
        out["CON-012"] = "eu: needs twelve months of snapshots before the risk warning's calculation"
        out["LEV-020"] = "eu: the CN book has no instrument labelled fx_major or index_major"
        out["SEG-006"] = "eu: the custody statements carry no book_balance to reconcile"
        out["CLR-007"] = ("eu: the CN book's wiped account is reset to zero the day after its "
                          "liquidation (its recourse is CLR-006's plant)")
        # The us rules a CN margin book gives nothing to find (the oracle still re-implements
        # them and the us audit must agree with it record by record).
        out["LEV-016"] = ("us: the CN book's deficiencies under FINRA's 25% are met or sold within "
                          "15 business days")
        out["LEV-017"] = "us: the book's disclosed maintenance requirement is 25%"
        out["LEV-018"] = "us: needs trades from 4 June 2026; the CN book is of 2025 and has none"
        out["SEG-005"] = "us: a 配资 platform computes no 15c3-3 reserve formula"
        # The cn rules added for brokers' indicators and eligibility: the 配资 book has no
        # trades or share counts for two, and breaks the other three without a plant (its large
        # clients reach the 80% warning levels; some withdraw below 300%): the oracle finds those.
        out["LEV-022"] = "cn: the 配资 book has no trades table to show credit buys"
        out["CAP-006"] = "cn: the 配资 book gives no share counts (instruments.total_shares)"
        out["CAP-007"] = "cn: the 配资 book gives no share counts (instruments.total_shares)"
        out["CAP-004"] = "cn: found without a plant: large clients at or above 80% of the 5% limit"
        out["CAP-005"] = "cn: found without a plant: the book at or above 80% of four times net capital"
        out["LEV-023"] = "cn: found without a plant: withdrawals that leave the ratio under 300%"
        out["CON-010"] = ("us: the CN book calls at a 150% collateral ratio, which every account "
                          "under FINRA's 25% of equity has crossed")
        return dict(sorted(out.items()))
