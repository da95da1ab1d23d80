"""The hostile-export corpus, before and after: run tests/hostile against two source trees and
print, per case, what the audit did (exit code and error, or the rules whose status differs from
the clean export's).

    python bench/hostile_outcomes.py --before /path/to/old/checkout [--after .] [--out table.md]

Each tree's package is put first on PYTHONPATH; the corpus itself (tests/hostile) is always this
checkout's, so both trees face the same attacks. A case's assertions may fail on the old tree:
that is the point; the outcome is read from the log the harness writes (HOSTILE_LOG), not from
pytest's verdict. Run by hand; it takes a few minutes per tree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_corpus(tree: Path) -> dict[str, list[dict]]:
    """case -> the runs it made (usually one), from a pytest run of the corpus on ``tree``."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "outcomes.jsonl"
        env = {**os.environ, "HOSTILE_LOG": str(log), "PYTHONPATH": str(tree)}
        # NOTE: one process per file: on an old tree an attack may kill the process itself
        # (a SIGTERM with no handler), and the files after it must still run.
        for path in sorted((ROOT / "tests" / "hostile").glob("test_*.py")):
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(path)], cwd=tmp, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        runs: dict[str, list[dict]] = {}
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                runs.setdefault(record["case"], []).append(record)
        return runs


def describe(record: dict, baseline: dict) -> str:
    if record["code"] >= 2 or record["code"] < 0:
        return f"exit {record['code']}: {record['error'].removeprefix('error: ')[:90]}"
    changed = [f"{rule} {status}" + (f" ({record['unreadable'][rule]} unreadable)"
                                     if record["unreadable"].get(rule) else "")
               for rule, status in sorted(record["statuses"].items())
               if baseline["statuses"].get(rule) != status]
    return f"exit {record['code']}; " + ("; ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
                                         if changed else "same as the clean export")


def table(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    base_b = (before.get("baseline") or [{}])[0]
    base_a = (after.get("baseline") or [{}])[0]
    lines = ["| case | before | after |", "|---|---|---|"]
    for case in sorted(set(before) | set(after) - {"baseline"}):
        if case == "baseline":
            continue
        b = before.get(case, [])
        a = after.get(case, [])
        shown_b = " / ".join(describe(r, base_b) for r in b) or "(no run: refused or crashed earlier)"
        shown_a = " / ".join(describe(r, base_a) for r in a) or "(no run)"
        name = case.split("::", 1)[-1].replace("|", "/")
        lines.append(f"| {name} | {shown_b.replace('|', '/')} | {shown_a.replace('|', '/')} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old source tree")
    parser.add_argument("--after", type=Path, default=ROOT, help="the new source tree")
    parser.add_argument("--out", type=Path, help="write the markdown table here too")
    args = parser.parse_args()
    before = run_corpus(args.before.resolve())
    after = run_corpus(args.after.resolve())
    lines = table(before, after)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
