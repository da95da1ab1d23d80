"""Plants and traps of the SEG pack (rules/seg): segregation of client money and assets: custodian statements, sweeps to the platform's own account, re-pledging and acknowledgement letters."""

from __future__ import annotations
