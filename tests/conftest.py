"""Shared fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A private copy of the rule packs (audit/packs/) that a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "audit" / "packs", target)
    return target
