"""Benchmark: rendering the audit report (HTML and PDF) with a few hundred findings.

Run: .venv/bin/python bench/bench_report.py [--findings 300] [--records 50] [--accounts 2000]
     [--runs 3] [--lang en]
Builds a synthetic run: the seed rules evaluated on a synthetic export, plus copies of real rules
(new ids) failing with ``--records`` violating records each, so the report has ``--findings``
findings. Prints the median of ``--runs`` renders for each stage and the page count.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.evaluate import FAILED, ROW, RuleResult, evaluate, frame_from_records  # noqa: E402
from audit.findings import Run  # noqa: E402
from audit.load import Export, LoadedTable  # noqa: E402
from audit.report import render_report  # noqa: E402
from audit.report.context import Options, build_context  # noqa: E402
from audit.report.html import render_html  # noqa: E402
from audit.report.pdf import render_pdf  # noqa: E402
from audit.rules import load_ruleset  # noqa: E402

AS_OF = date(2024, 6, 28)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")


def synthetic_tables(n_accounts: int, seed: int = 7) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:06d}" for i in range(n_accounts)]
    clients = pl.DataFrame({
        "client_id": ids,
        "name": [SURNAMES[i % len(SURNAMES)] + "某" * (1 + i % 2) for i in range(n_accounts)],
        "category": ["retail"] * n_accounts,
        "id_type": ["cn_resident_id"] * n_accounts,
        "id_number": [f"1101011990{i % 10000:04d}001X" for i in range(n_accounts)],
        "onboarded_at": [date(2023, 1, 2)] * n_accounts,
        "verification_status": ["verified" if i % 11 else "pending" for i in range(n_accounts)],
        "verified_at": [date(2023, 1, 2) if i % 11 else None for i in range(n_accounts)],
        ROW: np.arange(2, n_accounts + 2),
    })
    equity = rng.lognormal(11.0, 1.0, n_accounts)
    leverage = rng.choice(np.arange(1, 11), n_accounts)
    value = equity * leverage
    frames = []
    for day in range(5):
        drift = 1 + rng.normal(0, 0.03, n_accounts)
        v = value * drift
        frames.append(pl.DataFrame({
            "date": [AS_OF - timedelta(days=4 - day)] * n_accounts,
            "account_id": [f"A{i:06d}" for i in range(n_accounts)],
            "client_id": ids, "cash": np.zeros(n_accounts), "market_value": v,
            "debt": value - equity, "equity": v - (value - equity),
        }))
    accounts = pl.concat(frames).with_columns(pl.int_range(2, 5 * n_accounts + 2).alias(ROW))
    financings = pl.DataFrame({
        "financing_id": [f"F{i:06d}" for i in range(n_accounts)],
        "account_id": [f"A{i:06d}" for i in range(n_accounts)], "client_id": ids,
        "opened_at": [AS_OF.replace(month=1)] * n_accounts,
        "amount": value - equity, "equity_at_open": equity,
        "leverage_at_open": leverage.astype(float), "rate_annual": [0.08] * n_accounts,
        ROW: np.arange(2, n_accounts + 2),
    }).with_columns(pl.col("opened_at").cast(pl.Datetime("us")))
    platform = [{"platform_id": "P1", "platform_name": "基准测试平台", "margin_call_ratio": 1.3,
                 "liquidation_ratio": 1.1, "leverage_cap_retail": 5.0}]
    tables = {"clients": clients, "accounts": accounts, "financings": financings}
    # NOTE: complete every table to its contract schema (optional columns as NULL).
    typed = {name: frame_from_records(name, frame.drop(ROW).to_dicts()).with_columns(frame[ROW])
             for name, frame in tables.items()}
    typed["platform"] = frame_from_records("platform", platform)
    return typed


def synthetic_run(n_findings: int, n_records: int, n_accounts: int) -> Run:
    tables = synthetic_tables(n_accounts)
    ruleset = load_ruleset("seed")
    results = evaluate(ruleset, tables, AS_OF)
    base = [r for r in results if r.status == FAILED and r.records is not None] or results[:1]
    extra = []
    for i in range(max(0, n_findings - sum(r.status == FAILED for r in results))):
        template = base[i % len(base)]
        rule = template.rule.model_copy(update={"id": f"BEN-{i + 1:03d}"})
        records = template.records
        if records is not None and records.height:
            records = pl.concat([records] * (n_records // records.height + 1)).head(n_records)
        extra.append(RuleResult(rule, FAILED, checked=n_accounts, violations=n_records,
                                records=records))
    ruleset.rules.extend(r.rule for r in extra)
    loaded = {}
    for name, frame in tables.items():
        digest = hashlib.sha256(frame.drop(ROW).write_csv().encode()).hexdigest()
        loaded[name] = LoadedTable(name=name, path=Path(f"{name}.csv"), sha256=digest,
                                   format="csv", encoding="utf-8", rows_read=frame.height,
                                   rows_unreadable=0, frame=frame, issues=[], extra_columns=[],
                                   column_map={})
    export = Export(root=Path("bench"), tables=loaded, issues=[], unrecognised_files=[])
    return Run(export=export, ruleset=ruleset, results=results + extra, data_issues=[],
               as_of=AS_OF)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=300)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lang", default="en")
    args = parser.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")

    run = synthetic_run(args.findings, args.records, args.accounts)
    failed = sum(r.status == FAILED for r in run.results)
    print(f"run: {len(run.results)} rules, {failed} findings, {args.records} records each, "
          f"{args.accounts} accounts", flush=True)
    stages: dict[str, list[float]] = {"context": [], "html": [], "pdf": [], "total": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            context = build_context(run, Options(lang=args.lang))
            t1 = time.perf_counter()
            rendered = render_html(context)
            t2 = time.perf_counter()
            render_pdf(rendered.html, out / "report.pdf", rendered.data_uris)
            t3 = time.perf_counter()
            stages["context"].append(t1 - t0)
            stages["html"].append(t2 - t1)
            stages["pdf"].append(t3 - t2)
            stages["total"].append(t3 - t0)
        # The public entry point once, to check it agrees with the staged timing.
        t0 = time.perf_counter()
        paths = render_report(run, out, lang=args.lang)
        entry = time.perf_counter() - t0
        from pypdf import PdfReader

        reader = PdfReader(paths["pdf"])
        pages = len(reader.pages)
        # The running header names the chapter: count the pages the contents take.
        contents = sum(1 for page in reader.pages[:6]
                       if any("Contents" in line for line in (page.extract_text() or "").splitlines()[:3]))
    for stage, times in stages.items():
        print(f"{stage:8} median {statistics.median(times):7.2f} s  "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")
    print(f"render_report (html + pdf): {entry:.2f} s; {pages} pages, contents on {contents} page(s)")


if __name__ == "__main__":
    main()
