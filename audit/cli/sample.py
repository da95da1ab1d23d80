"""`audit sample-data`: generate a realistic export with planted violations."""

from __future__ import annotations

from pathlib import Path

import typer

from audit.cli.common import fail
from audit.cli.console import summary as done


def sample_data(
    out_dir: Path = typer.Argument(..., help="Folder to write the export into."),
    profile: str = typer.Option(
        "seed", "--profile", "-p",
        help="seed: a CN 配资 book (the committed sample_data/); us: a US broker-dealer's margin "
             "book (XNYS, May-June 2026) planted for the us profile's rules; eu: a UK CFD "
             "provider's retail and professional book (XLON, January 2025 to April 2026) planted "
             "for the eu profile's rules; cn: a broker's 融资融券 book (XSHG, January-March 2026) "
             "planted for the cn profile's rules."),
    accounts: int = typer.Option(
        None, "--accounts", "-n", min=1, show_default=False,
        help="Number of accounts. seed: 200 by default, at least about 85, which the planted stories need; below 200 the book is too small to plant the "
             "capital and stress rules (CAP-002, CAP-003, LEV-004, LEV-005); "
             "expected_violations.json lists them under not_planted. us: 60 by default, at least 40. "
             "eu: 60 by default, at least 40; cn: 60 by default, at least 43."),
    seed: int = typer.Option(7, "--seed", "-s", help="Random seed (same seed, same files)."),
    days: int = typer.Option(None, "--days", min=6, show_default=False,
                             help="seed: trading days of snapshots (22 by default, at least 6). "
                                  "The us book has its fixed 40 sessions, the eu book its 337."),
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
    if profile == "us":
        from audit.sample.us import DAYS, generate_us
        from audit.sample.us.stories import MIN_ACCOUNTS

        if days not in (None, DAYS) or not plant or audit_overdue:
            fail("--profile us: the US book has fixed days (40), always plants, and plants CLR-005")
        if accounts is not None and accounts < MIN_ACCOUNTS:
            fail(f"--profile us: at least {MIN_ACCOUNTS} accounts")
        summary = generate_us(out_dir, accounts=accounts or 60, seed=seed, fmt=fmt)
    elif profile == "eu":
        from audit.sample.eu import DAYS as EU_DAYS
        from audit.sample.eu import generate_eu
        from audit.sample.eu.stories import MIN_ACCOUNTS as EU_MIN

        if days not in (None, EU_DAYS) or not plant or audit_overdue:
            fail(f"--profile eu: the EU book has fixed days ({EU_DAYS}), always plants, and plants CLR-005")
        if accounts is not None and accounts < EU_MIN:
            fail(f"--profile eu: at least {EU_MIN} accounts")
        summary = generate_eu(out_dir, accounts=accounts or 60, seed=seed, fmt=fmt)
    elif profile == "cn":
        from audit.sample.cn import DAYS as CN_DAYS
        from audit.sample.cn import generate_cn
        from audit.sample.cn.stories import MIN_ACCOUNTS as CN_MIN

        if days not in (None, CN_DAYS) or not plant or audit_overdue:
            fail("--profile cn: the cn book has fixed days (40), always plants, and plants CLR-005")
        if accounts is not None and accounts < CN_MIN:
            fail(f"--profile cn: at least {CN_MIN} accounts")
        summary = generate_cn(out_dir, accounts=accounts or 60, seed=seed, fmt=fmt)
    elif profile == "seed":
        summary = generate(out_dir, accounts=accounts or 200, seed=seed, days=days or 22, fmt=fmt,
                           plant=plant, audit_overdue=audit_overdue)
    else:
        fail(f"--profile {profile!r}: sample books exist for seed, us, eu and cn")
    rows = sum(summary["rows"].values())
    planted = ", ".join(f"{k} {v:,}" for k, v in summary["violations_by_profile"].items()) or "none"
    done(f"wrote {out_dir}: {len(summary['rows']):,} tables, {rows:,} rows, "
         f"{summary['violations']:,} planted violations of {len(summary['violations_by_rule']):,} rules "
         f"(by profile: {planted}); see expected_violations.json")
