"""Exports that look nothing like the generator's still audit to the same findings.

Each table of a generated export is rewritten the way another platform might export it:
Chinese or other alias headers, shuffled column order, extra columns, GB18030 encoding,
semicolons, other date and number formats, Excel or Parquet instead of CSV. The audit must
find exactly the same violations as on the original files.
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


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("original")
    generate(data, accounts=120, seed=23, days=12)
    return data


def _violations(data: Path) -> set[tuple[str, str]]:
    run = run_audit(data, stress=False)
    # Column notes (the margin events' UTC times converted to the export's zone) are fine;
    # no cell may be unreadable or break the contract.
    assert not [i for i in run.data_issues if i.row is not None], run.data_issues[:5]
    return {(r["rule_id"], json.dumps({k: r[k] for k in r if k not in ("detail", "source_row")},
                                      sort_keys=True, default=str))
            for r in violation_rows(run.results)}


def _alias_headers(table: contract.Table, frame: pl.DataFrame) -> pl.DataFrame:
    renames = {c.name: c.aliases[0] for c in table.columns if c.aliases and c.name in frame.columns}
    if len(set(renames.values())) != len(renames):  # two columns share an alias: keep names
        return frame
    return frame.rename(renames)


def _format_dates(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    return frame.with_columns(
        [pl.col(c).str.to_date("%Y-%m-%d", strict=False).dt.strftime(fmt).fill_null(pl.col(c))
         for c, t in frame.schema.items() if t == pl.String and c in ("date", "日期")]
    )


def _rewrite(src: Path, dst: Path, style: str) -> None:
    dst.mkdir()
    for t in contract.TABLES:
        if not (src / f"{t.name}.csv").exists():  # optional tables the sample leaves out
            continue
        frame = pl.read_csv(src / f"{t.name}.csv", infer_schema=False)
        frame = frame.with_columns(pl.lit("ignored").alias("platform_note"))
        frame = frame.select(list(reversed(frame.columns)))
        if style == "gb18030-chinese":
            frame = _format_dates(_alias_headers(t, frame), "%Y/%m/%d")
            text = frame.write_csv(separator=",")
            (dst / f"{t.aliases[-1] if t.aliases else t.name}.csv").write_bytes(
                text.encode("gb18030"))
        elif style == "semicolon-bom":
            text = frame.write_csv(separator=";")
            (dst / f"{t.name}.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        elif style == "excel":
            frame.write_excel(dst / f"{t.name}.xlsx")
        elif style == "parquet-strings":
            frame.write_parquet(dst / f"{t.name}.parquet")


@pytest.mark.parametrize("style", ["gb18030-chinese", "semicolon-bom", "parquet-strings"])
def test_foreign_layouts_give_identical_findings(original, tmp_path, style):
    rewritten = tmp_path / style
    _rewrite(original, rewritten, style)
    assert _violations(rewritten) == _violations(original)
