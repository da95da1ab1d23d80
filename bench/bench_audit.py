"""Benchmark the full audit (no report) on a large generated export, stage by stage.

    .venv/bin/python bench/bench_audit.py [--accounts 100000] [--days 10] [--repeat 3]

Generates (once, cached in bench/data/) a Parquet export of ACCOUNTS accounts x DAYS trading
days (100,000 x 10 = 1,000,000 account-days, ~5,000,000 positions), then times each stage of
`audit run` and, for comparison, a raw polars pass of the same checks: the same compiled rule
queries with the assertion applied by a polars filter instead of a pandera check. Prints
medians over --repeat runs and the peak resident memory. Run by hand; quote the figures in
notes. Not a test.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from audit.evaluate import Context, evaluate, records_for, reference_date  # noqa: E402
from audit.expr import compile_expr  # noqa: E402
from audit.findings import Run, write_outputs  # noqa: E402
from audit.load import load_export  # noqa: E402
from audit.pipeline import run_stress_analytics  # noqa: E402
from audit.rules import load_ruleset  # noqa: E402
from audit.sample import generate  # noqa: E402
from audit.stress import stress_table  # noqa: E402
from audit.validate import check_contract  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def raw_polars_pass(ruleset, tables, as_of) -> int:
    """The same rule queries, assertion applied as a plain polars filter (no pandera)."""
    ctx = Context.build(tables, ruleset.params, as_of)
    violations = 0
    for rule in ruleset.rules:
        if any(t not in tables for t in rule.tables):
            continue
        lf = records_for(rule, ctx)
        assertion = compile_expr(rule.assert_, ctx.scope(lf.collect_schema()))
        violations += lf.filter(~assertion.fill_null(False)).select(pl.len()).collect().item()
    return violations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = Path(__file__).resolve().parent / "data" / f"export-{args.accounts}x{args.days}"
    if not (data / "positions.parquet").exists():
        _, secs = timed(lambda: generate(data, accounts=args.accounts, seed=1, days=args.days,
                                         fmt="parquet"))
        print(f"generated {data} in {secs:.1f}s")
    ruleset = load_ruleset("seed")
    out = data.parent / "out"
    stages: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        export, t_load = timed(lambda: load_export(data))
        issues, t_validate = timed(lambda: check_contract(export))
        tables = {n: t.frame for n, t in export.tables.items()}
        as_of = reference_date(tables)
        stress, t_stress = timed(lambda: run_stress_analytics(tables, as_of, lambda m: None))
        tables["stress"] = stress_table(stress)
        results, t_eval = timed(lambda: evaluate(ruleset, tables, as_of))
        run = Run(export=export, ruleset=ruleset, results=results, data_issues=issues,
                  as_of=as_of, stress=stress)
        _, t_write = timed(lambda: write_outputs(run, out))
        _, t_raw = timed(lambda: raw_polars_pass(ruleset, tables, as_of))
        for name, value in (("load", t_load), ("validate (pandera contract)", t_validate),
                            ("stress analytics", t_stress), ("evaluate (pandera rules)", t_eval),
                            ("write findings", t_write),
                            ("total audit", t_load + t_validate + t_stress + t_eval + t_write),
                            ("raw polars pass of the same rule checks", t_raw)):
            stages.setdefault(name, []).append(value)
    rows = {n: t.rows_read for n, t in export.tables.items()}
    print(f"rows: accounts {rows['accounts']:,}, positions {rows['positions']:,}, "
          f"clients {rows['clients']:,}; rules {len(ruleset.rules)}; "
          f"violations {sum(r.violations for r in results):,}")
    for name, values in stages.items():
        print(f"{name:42} median {statistics.median(values):6.2f}s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(stages["evaluate (pandera rules)"]) / statistics.median(
        stages["raw polars pass of the same rule checks"])
    print(f"evaluate / raw polars ratio: {ratio:.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
