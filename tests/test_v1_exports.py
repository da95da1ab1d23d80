"""A version-1 export still loads and audits, and what it cannot show is never a violation.

The generated (version-2) export is rewritten the way a version-1 platform exports it: no
due-diligence history (one overwritten date per step on `clients`), no dated instrument terms,
one custodian statement a day, one disclosure row, none of the version-2 columns. The audit
must find no violation the full export does not have (a lost history is never an accusation),
still find the violations the version-1 columns prove, count what they cannot decide as not
evaluable, and name what a rule lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from audit import contract
from audit.findings import violation_rows
from audit.pipeline import run_audit
from audit.sample import generate
from audit.vocab import NOT_EVALUABLE

V1_CLIENT_STEPS = {  # version-1 column -> (event type, what of the latest event)
    "verified_at": ("verification", "event_date"),
    "verification_status": ("verification", "outcome"),
    "screened_at": ("screening", "event_date"),
    "screening_result": ("screening", "outcome"),
    "screening_resolved_at": ("screening_resolution", "event_date"),
    "risk_assessed_at": ("risk_assessment", "event_date"),
    "risk_tolerance": ("risk_assessment", "risk_grade"),
    "risk_disclosure_signed_at": ("risk_disclosure", "event_date"),
    "pep_approved_at": ("pep_approval", "event_date"),
    "last_review_at": ("periodic_review", "event_date"),
}


def _to_v1(src: Path, dst: Path) -> None:
    dst.mkdir()
    events = pl.read_csv(src / "kyc_events.csv", infer_schema=False)
    latest = events.group_by("client_id", "event_type", maintain_order=True).last()
    for t in contract.TABLES:
        path = src / f"{t.name}.csv"
        if t.since > 1 or not path.exists():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        if t.name == "clients":
            for col, (kind, field) in V1_CLIENT_STEPS.items():
                step = latest.filter(pl.col("event_type") == kind).select("client_id", pl.col(field).alias(col))
                frame = frame.join(step, on="client_id", how="left")
            frame = frame.with_columns(pl.col("verification_status").fill_null("pending"),
                                       pl.col("screening_result").fill_null("not_screened"))
        if t.name == "custody":
            frame = (frame.with_columns(pl.col("statement_balance").cast(pl.Float64))
                     .group_by("date", maintain_order=True)
                     .agg(pl.col("custodian").first(), pl.col("statement_balance").sum(),
                          pl.col("ack_letter_signed_at").first()))
        if t.name == "platform":
            frame = frame.sort("disclosed_at").tail(1)
        v1 = [c.name for c in t.columns if c.since == 1 and c.name in frame.columns]
        frame.select(v1).write_csv(dst / f"{t.name}.csv")


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path]:
    v2 = tmp_path_factory.mktemp("v2")
    generate(v2, accounts=200, seed=13, days=12)
    v1 = tmp_path_factory.mktemp("v1") / "export"
    _to_v1(v2, v1)
    return v2, v1


def _audit(folder: Path, profile: str = "seed"):
    # NOTE: the version-2 export states that its lines are crossed when reached; a version-1
    # export cannot, so the profile's boundary (strictly below) would judge the liquidation at
    # exactly 130% differently. The same boundary for both isolates what the history changes.
    run = run_audit(folder, profile=profile, stress=False, params={"line_inclusive": True})
    keys = {r.rule.id: r.rule.key_columns for r in run.results}
    found = {(row["rule_id"], json.dumps({k: row[k] for k in keys[row["rule_id"]]}, default=str))
             for row in violation_rows(run.results)}
    return run, found


@pytest.mark.parametrize("profile", ["seed", "cn"])
def test_a_version_1_export_accuses_no_one_the_full_export_does_not(exports, profile):
    v2, v1 = exports
    run1, found1 = _audit(v1, profile)
    _, found2 = _audit(v2, profile)
    assert run1.export.tables and not any(i.row is not None for i in run1.data_issues)
    assert found1 <= found2, sorted(found1 - found2)[:10]
    by_rule = {r.rule.id: r for r in run1.results}
    # The overwritten dates still prove clients never verified, never screened, never signed.
    for rule in ("KYC-001", "KYC-002", "KYC-008"):
        assert by_rule[rule].violations > 0, rule
    # ... and cannot decide financings opened before a renewal they overwrote.
    undecided = sum(by_rule[r].not_evaluable for r in ("KYC-001", "KYC-005", "KYC-006", "KYC-008"))
    assert undecided > 0
    assert any("latest" in reason for r in run1.results for reason in r.not_evaluable_reasons)
    # One undated-history disclosure row: records before it cannot be judged, and say so.
    # (CON-007 reads the published rate at each contract's opening, under seed and cn alike.)
    assert by_rule["CON-007"].not_evaluable > 0
    assert "no disclosure version was in force" in by_rule["CON-007"].message
    assert any("kyc_events derived from the version-1 clients columns" in n for n in run1.notes)


def test_a_rule_needing_a_version_2_column_is_not_evaluable_and_names_it(exports):
    _, v1 = exports
    run, _ = _audit(v1, "cn")
    kyc010 = next(r for r in run.results if r.rule.id == "KYC-010")
    assert kyc010.status == NOT_EVALUABLE and "clients.first_trade_date" in kyc010.message
    assert run.exit_code() == 1
    findings = {r.rule.id: r for r in run.results}
    assert any("accrued_interest" in c for c in findings["CON-003"].caveats)


def test_an_unreadable_version_1_date_is_never_a_missing_step(exports, tmp_path):
    """A version-1 verification date the loader cannot read means a verification on an
    unreadable day, not "never verified": the derived event keeps the cell unreadable and the
    rules set its financings aside."""
    _, v1 = exports
    broken = tmp_path / "export"
    broken.mkdir()
    for path in v1.iterdir():
        broken.joinpath(path.name).write_bytes(path.read_bytes())
    clients = pl.read_csv(broken / "clients.csv", infer_schema=False)
    verified = pl.col("verified_at").is_not_null()
    n = clients.filter(verified).height
    clients.with_columns(pl.when(verified).then(pl.lit("the 32nd of Smarch"))
                         .otherwise(pl.col("verified_at")).alias("verified_at")
                         ).write_csv(broken / "clients.csv")
    run, found = _audit(broken)
    _, before = _audit(v1)
    kyc001 = next(r for r in run.results if r.rule.id == "KYC-001")
    assert {f for f in found if f[0] == "KYC-001"} <= {f for f in before if f[0] == "KYC-001"}
    assert kyc001.unreadable > 0 and kyc001.status in ("failed", "incomplete")
    assert sum(i.code == "unreadable-cell" for i in run.data_issues) == n
