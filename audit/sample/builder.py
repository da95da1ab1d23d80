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
    """One export in the making: its switches, random streams, and everything built so far."""

    def __init__(self, accounts: int, seed: int, days: int, plant: bool, plant_table_level: bool,
                 audit_overdue: bool):
        self.N, self.seed, self.T = accounts, seed, days
        self.plant = plant
        self.plant_table = plant and plant_table_level
        self.audit_overdue = self.plant_table and audit_overdue
        # NOTE: one stream per concern, so a change in one part of the build moves no other
        # part's draws. Within a stream the order of the calls is the output: keep it.
        streams = np.random.SeedSequence(seed).spawn(8)
        (self.r_inst, self.r_price, self.r_acc, self.r_cli, self.r_day, self.r_plant,
         self.r_fin, self.r_misc) = (np.random.default_rng(s) for s in streams)
        self.k = 2 + (accounts >= 1_000) + (accounts >= 10_000) + (accounts >= 100_000)
        self.violations: list[dict[str, Any]] = []
        self.acc_ids = pl.Series([f"A{a + 1:06d}" for a in range(accounts)])
        self.cli_ids = pl.Series([f"C{a + 1:06d}" for a in range(accounts)])

    def violation(self, rule: str, table: str, key: dict[str, str], note: str) -> None:
        """Record one planted violation for expected_violations.json."""
        self.violations.append({"rule": rule, "table": table, "key": key, "note": note})

    def build(self) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
        market.calendar(self)
        market.instruments(self)
        market.prices(self)
        cast.roles(self)
        opening.accounts_init(self)
        financings.financings(self)
        client_table = clients.clients(self)
        book.simulate(self)
        out: dict[str, pl.DataFrame] = {"clients": client_table}
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
        wipe = {s.account for s in self.by_role["wipe"]}
        notes = {
            "LEV-002": "leverage above the cap on the daily snapshot, no top-up or de-leveraging",
            "CON-003": "account at the call line with no margin call issued",
            "CON-008": "collateral ratio at the liquidation line, no liquidation and no top-up",
            "LEV-003": "one position above half the assets at a collateral ratio under 180%",
            "LEV-014": "retail account below the ESMA margin close-out level (50% of initial margin)",
        }
        for rule, a, t, inst in self.planted_acc_days:
            note = notes[rule]
            if rule == "LEV-002" and a in wipe:
                note = "retail account at about 15x or with negative equity after limit-down days, not closed out"
            key = {"account_id": f"A{a + 1:06d}", "date": self.dates[t].isoformat()}
            if rule == "LEV-003":
                self.violation(rule, "positions", {**key, "instrument_id": self.inst_code[inst]}, note)
            else:
                self.violation(rule, "accounts", key, note)
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
        return dict(sorted(out.items()))
