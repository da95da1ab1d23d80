"""Plants and traps of the CLR pack (rules/clr): clearing and recourse records, central-counterparty disclosure, third-party audits and negative balance protection."""

from __future__ import annotations
