"""Plants and traps of the CAP pack (rules/cap): the platform's net capital against its book and its largest client, and its liquid assets against the disclosed buffer."""

from __future__ import annotations
