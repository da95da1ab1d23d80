"""Planted violations, one module per rule pack (kyc, seg, con, lev, clr, cap, ofx) and one
function per rule id, registered in ``PLANTS`` so that a rule's YAML (audit/packs/<pack>/<ID>.yaml),
its plant and its oracle in tests/test_sample.py can all be found from the id. ``HOOKS`` holds
the second step of the plants that need two points of the build, and ``TRAPS`` the clean data
on a rule's edge that no audit may flag. The generator calls them at the named points listed in
``POINTS`` (see registry.py); the accounts they act on are cast in cast.py and given their
economics in opening.py and stories.py."""

from __future__ import annotations

from audit.sample.plants.registry import (
    AUDITS, CAPITAL, CLIENT_IDS, CLIENTS, CONTRACT_MULTIPLES, CUSTODY, FINANCING_DATES,
    FINANCING_DRAWS, FINANCINGS, FINANCINGS_TABLE, FLOWS, HOOKS, INSTRUMENTS, LIQUIDATIONS,
    LIQUIDITY, MARGIN_CALLS, MONTH_END, PLANTS, PLATFORM, POINTS, SIMULATED, SIMULATION, SNAPSHOTS,
    STRESS_TESTS, TOP_UPS, TRAPS, run,
)

# NOTE: importing the packs registers their functions; the order of the imports is the order
# in which functions at the same point run (it matters where they draw random numbers).
from audit.sample.plants import kyc, seg, con, lev, clr, cap, ofx  # noqa: F401, I001

__all__ = [
    "AUDITS", "CAPITAL", "CLIENT_IDS", "CLIENTS", "CONTRACT_MULTIPLES", "CUSTODY", "FINANCING_DATES",
    "FINANCING_DRAWS", "FINANCINGS", "FINANCINGS_TABLE", "FLOWS", "HOOKS", "INSTRUMENTS",
    "LIQUIDATIONS", "LIQUIDITY", "MARGIN_CALLS", "MONTH_END", "PLANTS", "PLATFORM", "POINTS",
    "SIMULATED", "SIMULATION", "SNAPSHOTS", "STRESS_TESTS", "TOP_UPS", "TRAPS", "run",
]
