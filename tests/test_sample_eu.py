"""The EU sample book (`audit sample-data --profile eu`): its eu audit finds exactly the planted
violations, record by record; same seed, same bytes; every rule of the eu profile is planted
or listed as not planted, with the reason; the traps on the rules' edges are not accused."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from audit.sample.eu import generate_eu

ROOT = Path(__file__).resolve().parent.parent


def _found(out: Path) -> set[tuple[str, str]]:
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    keys_by_rule = {r["id"]: r["key"] for r in findings["rules"]}
    with (out / "violations.csv").open(encoding="utf-8-sig") as fh:
        return {(row["rule_id"], json.dumps({k: row[k] for k in keys_by_rule[row["rule_id"]]}, sort_keys=True))
                for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def eu_audit(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    data, out = tmp_path_factory.mktemp("eu-export"), tmp_path_factory.mktemp("eu-out")
    generate_eu(data, accounts=40, seed=5)
    result = subprocess.run(
        [sys.executable, "-m", "audit", "run", str(data), "--out", str(out), "--quiet", "--no-report",
         "--no-stress", "--profile", "eu", "--mapping", str(data / "mapping.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return data, out, result


def _rules(out: Path) -> dict[str, dict]:
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return {r["id"]: r for r in findings["rules"]}


def test_eu_audit_finds_exactly_the_planted_violations(eu_audit):
    data, out, result = eu_audit
    assert result.returncode == 1, result.stderr
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    assert {v["profile"] for v in expected["violations"]} == {"eu"}
    planted = {(v["rule"], json.dumps(v["key"], sort_keys=True)) for v in expected["violations"]}
    found = _found(out)
    assert found - planted == set(), "false positives"
    assert planted - found == set(), "missed violations"


def test_every_eu_rule_is_planted_or_listed(eu_audit):
    data, out, _ = eu_audit
    rules = _rules(out)
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    planted = {v["rule"] for v in expected["violations"]}
    listed = set(expected["not_planted"])
    assert planted & listed == set()
    assert set(rules) == planted | listed
    assert all(expected["not_planted"].values())
    # The eu profile's own rules, each with its plant.
    assert {"LEV-006", "LEV-014", "LEV-020", "CLR-006", "CLR-007", "CON-009", "CON-012", "SEG-004",
            "SEG-006"} <= planted
    # Only the stress rules (run without the stress model) and the re-pledging limit (no
    # securities in a CFD account) are not evaluated, and they are listed.
    assert {k for k, r in rules.items() if r["status"] == "not_evaluable"} == {"LEV-004", "LEV-005", "LEV-024", "SEG-003"}


def test_eu_traps_are_not_accused(eu_audit):
    """One record each where the trap stands beside the plant: the sale at T+2 and the ESMA
    close-outs pass CON-002; the account at exactly half its protection and the professional
    below it pass LEV-014; the professional's recourse passes CLR-006; the caps met exactly
    pass LEV-006 and LEV-001; the balance written off in time passes CLR-007."""
    data, out, _ = eu_audit
    rules = _rules(out)
    for rule, n in (("CON-002", 1), ("LEV-014", 2), ("CLR-006", 1), ("LEV-006", 1), ("LEV-001", 1),
                    ("LEV-020", 1), ("SEG-006", 2), ("CON-006", 1), ("CON-004", 1)):
        assert rules[rule]["violations"] == n, rule
        assert not rules[rule]["not_evaluable_reasons"], rule
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    clr007 = [v for v in expected["violations"] if v["rule"] == "CLR-007"]
    assert len({v["key"]["account_id"] for v in clr007}) == 1 and len(clr007) == rules["CLR-007"]["violations"]
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert findings["contract"]["timezone"] == "Europe/London"


def test_the_loss_share_is_recomputed_over_twelve_months(eu_audit):
    """CON-012 recomputes the share over the twelve months to the calculation date the book
    covers, and finds what the generator computed independently."""
    data, out, _ = eu_audit
    sample = _rules(out)["CON-012"]["sample"][0]
    assert (sample["period_start"], sample["period_end"]) == ("2024-12-31", "2025-12-31")
    expected = json.loads((data / "expected_violations.json").read_text(encoding="utf-8"))
    note = next(v["note"] for v in expected["violations"] if v["rule"] == "CON-012")
    assert abs(sample["recomputed_share"] - float(re.search(r"show ([\d.]+)%", note)[1]) / 100) < 0.0006


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_eu(a, accounts=40, seed=9)
    generate_eu(b, accounts=40, seed=9)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "positions.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_eu_book_shape(tmp_path):
    import polars as pl

    generate_eu(tmp_path, accounts=40, seed=2, fmt="parquet")
    clients = pl.read_parquet(tmp_path / "clients.parquet")
    assert set(clients["id_type"]) == {"passport", "lei"}
    assert set(clients["category"]) == {"retail", "professional"}
    accounts = pl.read_parquet(tmp_path / "accounts.parquet")
    assert accounts["debt"].eq(0).all()
    dates = sorted(set(accounts["date"].to_list()))
    assert dates[0].isoformat() == "2024-12-31" and dates[-1].isoformat() == "2026-04-30"
    assert "2025-04-18" not in {d.isoformat() for d in dates}  # Good Friday: XLON closed
    instruments = pl.read_parquet(tmp_path / "instruments.parquet")
    classes = dict(zip(instruments["instrument_id"], instruments["asset_class"]))
    assert (classes["EURUSD"], classes["GBPJPY"], classes["UK100"], classes["XAUUSD"]) == (
        "fx_major", "fx_major", "index_major", "gold")
    custody = pl.read_parquet(tmp_path / "custody.parquet")
    assert custody["custody_account"].n_unique() >= 2
    assert custody["ack_letter_signed_at"].null_count() == 0 and custody["book_balance"].null_count() == 0
    positions = pl.read_parquet(tmp_path / "positions.parquet")
    per_day = positions.group_by("account_id", "date").agg(pl.col("market_value").sum())
    joined = accounts.filter(pl.col("market_value") > 0).join(per_day, on=["account_id", "date"])
    assert joined.height == accounts.filter(pl.col("market_value") > 0).height
    assert (joined["market_value"] - joined["market_value_right"]).abs().max() < 0.005
