"""`audit sample-data`: generate a realistic export with planted violations."""

from __future__ import annotations

from pathlib import Path

import typer

from audit.cli.common import fail, info


def sample_data(
    out_dir: Path = typer.Argument(..., help="Folder to write the export into."),
    accounts: int = typer.Option(
        200, "--accounts", "-n", min=1,
        help="Number of accounts (at least about 85, which the planted stories need). Below 200 the book is too small to plant the "
             "capital and stress rules (CAP-002, CAP-003, LEV-004, LEV-005); "
             "expected_violations.json lists them under not_planted."),
    seed: int = typer.Option(7, "--seed", "-s", help="Random seed (same seed, same files)."),
    days: int = typer.Option(22, "--days", min=6, help="Trading days of snapshots (at least 6)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    plant: bool = typer.Option(
        True, "--plant/--no-plant",
        help="--no-plant writes a clean export (false-positive traps kept): every rule passes."),
    audit_overdue: bool = typer.Option(
        False, "--audit-overdue",
        help="Plant CLR-003 (third-party audit overdue) instead of CLR-005 (audit findings "
             "unresolved); no single export can break both."),
) -> None:
    """Write a synthetic platform export with planted violations of every rule, and
    expected_violations.json naming each one (rule, key, and the profile that runs the rule)."""
    from audit.sample import generate

    if fmt not in ("csv", "parquet"):
        fail(f"--format {fmt!r}: use csv or parquet")
    summary = generate(out_dir, accounts=accounts, seed=seed, days=days, fmt=fmt,
                       plant=plant, audit_overdue=audit_overdue)
    rows = sum(summary["rows"].values())
    planted = ", ".join(f"{k} {v}" for k, v in summary["violations_by_profile"].items()) or "none"
    info(f"wrote {out_dir}: {len(summary['rows'])} tables, {rows:,} rows, "
         f"{summary['violations']} planted violations of {len(summary['violations_by_rule'])} rules "
         f"(by profile: {planted}); see expected_violations.json")
