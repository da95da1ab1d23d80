"""Benchmark the loader's caps: how fast each hostile file is refused, and what a load costs in
memory per byte of input.

    .venv/bin/python bench/bench_hostile.py [--accounts 2000] [--only NAME ...]

Builds (once, cached in bench/data/hostile/) one export folder per input: an xlsx zip bomb
(2-3 MB unzipping to 600 MB), a CSV of 200,000 columns (23 MB), a CSV holding one 200 MB cell,
a sheet claiming row 100,000,000 (a few KB), a CSV of 30,000,000 empty lines, and the largest
clean inputs: `audit sample-data` with ACCOUNTS accounts as CSV, and its positions table as
.xlsx. Each is loaded with `load_export` in a fresh subprocess (so the peak resident memory,
`ru_maxrss`, is that load's alone), which reports the outcome (loaded, or the refusal's code),
the wall time and the peak RSS; the table divides the peak, and the peak above an idle
interpreter with the same imports, by the input's size on disk. Run by hand; quote the figures
in bench/README.md. Not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / "data" / "hostile"
MB = 1 << 20

_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
import polars, openpyxl, charset_normalizer  # noqa: F401 - the idle baseline imports these too
from audit.load import LoadError, load_export
folder = sys.argv[1]
start = time.perf_counter()
outcome = "idle"
if folder != "-":
    try:
        export = load_export(Path(folder))
        outcome = "loaded " + ", ".join(f"{n} {t.rows_read:,} rows" for n, t in export.tables.items())
    except LoadError as err:
        outcome = f"refused ({err.code})"
elapsed = time.perf_counter() - start
print(json.dumps({"outcome": outcome, "seconds": elapsed,
                  "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _xlsx_parts(archive: zipfile.ZipFile, sheet_name: str = "Sheet1") -> None:
    ns = "http://schemas.openxmlformats.org"
    archive.writestr("[Content_Types].xml", (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        f'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        f'worksheet+xml"/></Types>'))
    archive.writestr("_rels/.rels", (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/'
        f'officeDocument" Target="xl/workbook.xml"/></Relationships>'))
    archive.writestr("xl/workbook.xml", (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="{sheet_name}" '
        f'sheetId="1" r:id="rId1"/></sheets></workbook>'))
    archive.writestr("xl/_rels/workbook.xml.rels", (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'))


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = b"</sheetData></worksheet>"


def build_zip_bomb(folder: Path) -> None:
    """positions.xlsx: one sheet of identical rows, 600 MB unzipped."""
    row = b'<row><c t="inlineStr"><is><t>0</t></is></c></row>'
    with zipfile.ZipFile(folder / "positions.xlsx", "w", zipfile.ZIP_DEFLATED,
                         compresslevel=9) as archive:
        _xlsx_parts(archive)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_HEAD)
            block = row * 100_000
            for _ in range(600 * MB // len(block)):
                sheet.write(block)
            sheet.write(_SHEET_TAIL)


def build_row_jump(folder: Path) -> None:
    """positions.xlsx of a few KB whose second row claims to be row 100,000,000: openpyxl
    yields every row number in between."""
    with zipfile.ZipFile(folder / "positions.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        _xlsx_parts(archive)
        archive.writestr("xl/worksheets/sheet1.xml", _SHEET_HEAD + (
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>account_id</t></is></c></row>'
            b'<row r="100000000"><c r="A100000000" t="inlineStr"><is><t>A1</t></is></c></row>')
            + _SHEET_TAIL)


def build_wide_csv(folder: Path) -> None:
    """positions.csv: 200,000 columns, 10 rows (23 MB)."""
    with (folder / "positions.csv").open("w", encoding="utf-8") as fh:
        fh.write(",".join(f"column_{i}" for i in range(200_000)) + "\n")
        for _ in range(10):
            fh.write(",".join(["1.5"] * 200_000) + "\n")


def build_huge_cell(folder: Path) -> None:
    """ledger.csv: a valid header and one row whose description is 200 MB long."""
    with (folder / "ledger.csv").open("w", encoding="utf-8") as fh:
        fh.write("entry_id,date,account_id,amount,counterparty_type,description\n")
        fh.write("L1,2024-01-02,A1,-5,fee,")
        chunk = "x" * MB
        for _ in range(200):
            fh.write(chunk)
        fh.write("\n")


def build_many_lines(folder: Path) -> None:
    """ledger.csv: a header and 30,000,000 empty lines (30 MB)."""
    with (folder / "ledger.csv").open("wb") as fh:
        fh.write(b"entry_id,date,account_id,amount,counterparty_type,description\n")
        fh.write(b"\n" * 30_000_000)


def build_clean_csv(folder: Path, accounts: int) -> None:
    from audit.sample import generate

    generate(folder, accounts=accounts, seed=1, fmt="csv")
    (folder / "expected_violations.json").unlink()


def build_clean_xlsx(folder: Path, source: Path) -> None:
    """positions.xlsx: the clean export's positions table as a workbook."""
    import csv

    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("positions")
    with (source / "positions.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    workbook.save(folder / "positions.xlsx")


def build_ragged_csv(folder: Path, source: Path) -> None:
    """positions.csv of the clean export with one row of an extra field: the whole file goes
    through the careful reader (Python's csv module), the costliest path per byte."""
    lines = (source / "positions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[len(lines) // 2] = lines[len(lines) // 2].rstrip("\n") + ",extra\n"
    (folder / "positions.csv").write_text("".join(lines), encoding="utf-8")


def inputs(accounts: int) -> dict[str, tuple[str, object]]:
    clean = DATA / f"clean-csv-{accounts}"
    return {
        "xlsx zip bomb": ("zip-bomb", build_zip_bomb),
        "sheet claiming row 100,000,000": ("row-jump", build_row_jump),
        "CSV of 200,000 columns": ("wide-csv", build_wide_csv),
        "CSV with one 200 MB cell": ("huge-cell", build_huge_cell),
        "CSV of 30,000,000 empty lines": ("many-lines", build_many_lines),
        f"clean sample export, {accounts:,} accounts (CSV)": (
            clean.name, lambda f: build_clean_csv(f, accounts)),
        "its positions table as .xlsx": (
            f"clean-xlsx-{accounts}", lambda f: build_clean_xlsx(f, clean)),
        "its positions.csv with one ragged row (careful reader)": (
            f"ragged-csv-{accounts}", lambda f: build_ragged_csv(f, clean)),
    }


def measure(folder: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, folder], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        return {"outcome": "crashed: " + done.stderr.strip().splitlines()[-1], "seconds": 0,
                "peak_bytes": 0}
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--only", nargs="*", default=None, help="folder names to run")
    args = parser.parse_args()
    idle = measure("-")["peak_bytes"]
    print(f"idle interpreter with the loader's imports: peak RSS {idle / MB:,.0f} MiB\n")
    print(f"| input | size on disk | outcome | seconds | peak RSS | peak / size | "
          f"(peak - idle) / size |")
    print("|---|---|---|---|---|---|---|")
    for label, (name, build) in inputs(args.accounts).items():
        if args.only and name not in args.only:
            continue
        folder = DATA / name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            build(folder)
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        m = measure(str(folder))
        peak = m["peak_bytes"]
        print(f"| {label} | {size / MB:,.1f} MiB | {m['outcome']} | {m['seconds']:.2f} | "
              f"{peak / MB:,.0f} MiB | {peak / size:,.1f} | {(peak - idle) / size:,.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
