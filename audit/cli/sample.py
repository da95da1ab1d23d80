"""`audit sample-data`: generate a realistic export with planted violations."""

from __future__ import annotations

from pathlib import Path

import typer

from audit.cli.common import fail, info


def sample_data(
    out_dir: Path = typer.Argument(..., help="Folder to write the export into."),
    accounts: int = typer.Option(200, "--accounts", "-n", min=80, help="Number of accounts (at least 80)."),
    seed: int = typer.Option(7, "--seed", "-s", help="Random seed (same seed, same files)."),
    days: int = typer.Option(20, "--days", min=6, help="Trading days of snapshots (at least 6)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
) -> None:
    """Write a synthetic platform export with planted violations of every rule, and
    expected_violations.json naming each one."""
    from audit.sample import generate

    if fmt not in ("csv", "parquet"):
        fail(f"--format {fmt!r}: use csv or parquet")
    summary = generate(out_dir, accounts=accounts, seed=seed, days=days, fmt=fmt)
    info(f"wrote {out_dir}: {summary}")
