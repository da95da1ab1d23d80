"""The US sample book (`audit sample-data --profile us`): its us audit finds exactly the planted
violations, record by record; same seed, same bytes; every rule of the us profile is planted
or listed as not planted, with the reason."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit.sample.us import generate_us

ROOT = Path(__file__).resolve().parent.parent


def _found(out: Path) -> set[tuple[str, str]]:
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    keys_by_rule = {r["id"]: r["key"] for r in findings["rules"]}
    with (out / "violations.csv").open(encoding="utf-8-sig") as fh:
        return {(row["rule_id"], json.dumps({k: row[k] for k in keys_by_rule[row["rule_id"]]}, sort_keys=True))
                for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def us_audit(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    data, out = tmp_path_factory.mktemp("us-export"), tmp_path_factory.mktemp("us-out")
    generate_us(data, accounts=40, seed=5)
    result = subprocess.run(
        [sys.executable, "-m", "audit", "run", str(data), "--out", str(out), "--quiet", "--no-report",
         "--no-stress", "--profile", "us", "--mapping", str(data / "mapping.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return data, out, result


def test_us_audit_finds_exactly_the_planted_violations(us_audit):
    data, out, result = us_audit
    assert result.returncode == 1, result.stderr
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    assert {v["profile"] for v in expected["violations"]} == {"us"}
    planted = {(v["rule"], json.dumps(v["key"], sort_keys=True)) for v in expected["violations"]}
    found = _found(out)
    assert found - planted == set(), "false positives"
    assert planted - found == set(), "missed violations"


def test_every_us_rule_is_planted_or_listed(us_audit):
    data, out, _ = us_audit
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    ran = {r["id"] for r in findings["rules"]}
    planted = {v["rule"] for v in expected["violations"]}
    listed = set(expected["not_planted"])
    assert planted & listed == set()
    assert ran == planted | listed
    assert all(expected["not_planted"].values())
    # The US book's own rules, each with its plant.
    assert {"LEV-007", "LEV-008", "LEV-009", "LEV-016", "LEV-017", "LEV-018", "CON-010", "SEG-003",
            "SEG-007", "SEG-008"} <= planted
    # Only the stress rules are not evaluated without the stress model, and they are listed.
    assert {r["id"] for r in findings["rules"] if r["status"] == "not_evaluable"} == {"LEV-004", "LEV-005", "LEV-024"}


def test_us_traps_are_not_accused(us_audit):
    """The sale without notice the margin agreement allows is set aside (undetermined), not
    accused; the book states its own New York zone."""
    _data, out, _ = us_audit
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    con002 = next(r for r in findings["rules"] if r["id"] == "CON-002")
    assert sum(con002["not_evaluable_reasons"].values()) == 1
    assert con002["violations"] == 1  # the early sale only; the T+3 sell-outs pass
    assert findings["contract"]["timezone"] == "America/New_York"


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_us(a, accounts=40, seed=9)
    generate_us(b, accounts=40, seed=9)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "trades.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_us_book_shape(tmp_path):
    import polars as pl

    generate_us(tmp_path, accounts=40, seed=2)
    clients = pl.read_csv(tmp_path / "clients.csv")
    assert set(clients["id_type"]) <= {"passport", "other", "lei"}
    accounts = pl.read_csv(tmp_path / "accounts.csv", try_parse_dates=True)
    assert accounts["short_market_value"].gt(0).any()
    dates = sorted(set(accounts["date"].to_list()))
    assert dates[0].isoformat() == "2026-05-04" and dates[-1].isoformat() == "2026-06-30"
    assert "2026-06-19" not in {d.isoformat() for d in dates}  # Juneteenth: XNYS closed
    platform = pl.read_csv(tmp_path / "platform.csv")
    assert platform["maintenance_margin"].to_list() == [0.2, 0.25, 0.3]
