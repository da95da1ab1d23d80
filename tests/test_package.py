"""The installable package: a built wheel carries the rule packs, profiles, scenarios, templates
and catalogues, and installed into a fresh virtual environment it audits the sample from a
folder outside the repository, finding exactly the violations the generator planted.

Building and installing need the package index (or a local wheel mirror pip is configured
with); when it cannot be reached the test fails saying so, never skips.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NO_INDEX = ("building or installing the wheel needs the package index (pip reaches PyPI, or "
            "the wheel mirror of its configuration) and it failed; connect to the network or "
            "point pip at a mirror (PIP_INDEX_URL / PIP_FIND_LINKS), then run this test again")


def _pip(args: list[str], python: str, cwd: Path, timeout: int = 3600) -> float:
    started = time.monotonic()
    done = subprocess.run([python, "-m", "pip", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_clean_env())
    if done.returncode != 0:
        pytest.fail(f"pip {args[0]} failed (exit {done.returncode}); {NO_INDEX}\n"
                    f"{done.stderr[-3000:]}")
    return time.monotonic() - started


def _clean_env() -> dict[str, str]:
    """The environment without anything that would let the repository's code be imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME",
                                                            "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (a build in place leaves build/ and
    *.egg-info behind in the worktree)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "audit", src / "audit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    seconds = _pip(["wheel", str(src), "--no-deps", "-w", str(dist)], sys.executable, src)
    print(f"wheel built in {seconds:.1f} s")
    built = sorted(dist.glob("platform_audit-*.whl"))
    assert len(built) == 1, f"expected one wheel in {dist}, found {built}"
    return built[0]


def _shipped(folder: str, patterns: tuple[str, ...]) -> set[str]:
    """The files under audit/<folder> the wheel must carry, as wheel paths."""
    base = ROOT / "audit" / folder
    return {p.relative_to(ROOT).as_posix() for pattern in patterns for p in base.glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_carries_every_pack_profile_scenario_template_and_catalogue(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packs = _shipped("packs", ("*/pack.yaml", "*/[A-Z]*-[0-9][0-9][0-9].yaml"))
    profiles = _shipped("packs", ("profiles/*.yaml",))
    scenarios = _shipped("packs", ("scenarios/*.yaml",))
    others = _shipped("packs", ("*.yaml",))  # obligations.yaml
    templates = _shipped("templates", ("**/*",))
    catalogues = _shipped("templates", ("i18n/*.yaml",))
    for kind, wanted in (("rule pack", packs), ("profile", profiles), ("scenario", scenarios),
                         ("pack-level file", others), ("template", templates),
                         ("catalogue", catalogues)):
        assert wanted, f"no {kind} found in the sources: the test looks in the wrong place"
        missing = sorted(wanted - names)
        assert not missing, f"the wheel lacks {kind} file(s): {missing}"
    assert {"audit/packs/profiles/seed.yaml", "audit/templates/i18n/zh.yaml",
            "audit/packs/obligations.yaml"} <= names
    assert len(packs) > 70 and len(profiles) >= 4 and len(scenarios) >= 3
    # NOTE: the license travels with the package (pyproject: license = "Apache-2.0").
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith("licenses/LICENSE") for n in names), "LICENSE is not in the wheel"
    assert not any(n.startswith(("tests/", "sample_data/", "bench/")) for n in names)


def test_installed_wheel_audits_the_sample_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = str(bindir / "python")
    # NOTE: with the report extra, so the installed package renders the PDF from its own
    # templates too; pip's cache (or a local mirror) makes the second install fast.
    seconds = _pip(["install", "--quiet", f"{wheel}[report]"], python, tmp_path)
    print(f"wheel and its dependencies installed into a fresh virtual environment in "
          f"{seconds:.1f} s")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env()
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"

    def audit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(bindir / "audit"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=1800)

    where = subprocess.run([python, "-c", "import audit; print(audit.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert not Path(where).resolve().is_relative_to(ROOT), where

    made = audit("sample-data", "S", "--accounts", "100", "--seed", "1")
    assert made.returncode == 0, made.stderr
    ran = audit("run", "S", "--out", "O")
    assert ran.returncode == 1, ran.stderr  # findings at or above high: exit 1
    assert "Traceback" not in ran.stderr
    findings = json.loads((work / "O" / "findings.json").read_text(encoding="utf-8"))
    planted = json.loads((work / "S" / "expected_violations.json").read_text(encoding="utf-8"))
    expected = collections.Counter(v["rule"] for v in planted["violations"]
                                   if v["profile"] == "seed")
    found = collections.Counter({r["id"]: r["violations"] for r in findings["rules"]
                                 if r["violations"]})
    assert found == expected
    assert sum(expected.values()) > 40
    assert (work / "O" / "report.pdf").stat().st_size > 100_000
    html = (work / "O" / "report.html").read_text(encoding="utf-8")
    assert "CAP-001" in html
    # The installed rule packs test themselves as the repository's do.
    tested = audit("rules", "test")
    assert tested.returncode == 0, tested.stderr[-2000:]
