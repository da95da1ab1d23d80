"""Fixtures of the hostile-export corpus (see harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import Outcome, audit, copy_export, make_base


@pytest.fixture(scope="session")
def base_export(tmp_path_factory) -> Path:
    return make_base(tmp_path_factory.mktemp("hostile") / "base")


@pytest.fixture(scope="session")
def baseline(base_export, tmp_path_factory) -> Outcome:
    """The audit of the untouched export: what every attack is measured against."""
    return audit(base_export, tmp_path_factory.mktemp("hostile-baseline") / "out")


@pytest.fixture()
def export(base_export, tmp_path) -> Path:
    """A private copy of the clean export for one attack."""
    return copy_export(base_export, tmp_path / "export")
