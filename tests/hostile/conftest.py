"""Fixtures of the hostile-export corpus (see harness.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import Outcome, audit, copy_export, make_base


@pytest.fixture(scope="session")
def base_export(tmp_path_factory) -> Path:
    return make_base(tmp_path_factory.mktemp("hostile") / "base")


@pytest.fixture(scope="session")
def baseline(base_export, tmp_path_factory) -> Outcome:
    """The audit of the untouched export: what every attack is measured against."""
    os.environ["HOSTILE_CASE"] = "baseline"  # how bench/hostile_outcomes.py tells it apart
    try:
        return audit(base_export, tmp_path_factory.mktemp("hostile-baseline") / "out")
    finally:
        del os.environ["HOSTILE_CASE"]


@pytest.fixture()
def export(base_export, tmp_path) -> Path:
    """A private copy of the clean export for one attack."""
    return copy_export(base_export, tmp_path / "export")
