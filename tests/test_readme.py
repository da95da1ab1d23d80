"""Every example command of README.md runs and ends with the exit code it should.

The commands come from the README itself: the shell code blocks and every `audit ...` form in
the first column of the Commands table. A table form runs twice: as its shortest (every
`[optional]` part left out) and its longest (every optional part in, the first of `a|b`
alternatives). Placeholders (DATA_DIR, OUT, ID, k=v ...) resolve to a sample generated in a
temporary folder and to values that fit the option before them. A command, a placeholder or a
shell line this file does not know fails the test saying what to add here: a README example is
never skipped.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SAMPLE_AS_OF = "2025-06-30"  # the last date of the sample generated below (--seed 1)

# Exit code each command should end with on the generated sample (longest prefix wins). The
# sample holds planted violations and data issues: run and validate find them (1).
EXPECTED_EXIT = {
    ("run",): 1,
    ("validate",): 1,
    ("stress",): 0,  # the generated sample's capital covers its severe scenarios
    ("sample-data",): 0,
    ("init",): 0,  # drafts a mapping of the generated sample outside it
    ("leverage",): 0,
    ("rules", "list"): 0,
    ("rules", "explain"): 0,
    ("rules", "test"): 0,
    ("rules", "new"): 0,
    ("rules", "coverage"): 0,  # every norm has a rule under the default profile
    ("rules", "coverage", "--strict"): 1,  # some obligations are only partly covered
}

# Values for a placeholder after these options.
OPTION_VALUES = {
    "--days": "22", "--as-of": SAMPLE_AS_OF, "--accounts": "100", "--seed": "1",
    "--equity": "50000", "--position-value": "100000", "--maintenance": "0.25",
    "--impact-coefficient": "1.0", "--param": "line_inclusive=false",
    "--limit": "max_rows=50000000", "--timezone": "Asia/Shanghai", "--profile": "seed",
    "--pack": "house", "--scenario": "{scenario}", "--mapping": "{mapping}",
    "--rules": "{rules}", "--out": "{out}",
}
# A "... --option" row continues one of the commands in its parentheses: the cheapest.
CONTINUES = {"validate": "audit validate DATA_DIR", "run": "audit run DATA_DIR --out OUT",
             "stress": "audit stress DATA_DIR --out OUT"}
PLACEHOLDER = re.compile(r"^([A-Z][A-Z_]*|[a-z]=[a-z]|name=value)$")


def _table_forms(text: str) -> list[str]:
    """The `audit ...` forms in the first cell of each row of the Commands table."""
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    forms = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cell = re.split(r"(?<!\\)\|", line)[1]
        after = line[len(cell) + 1:]
        for code in re.findall(r"`([^`]+)`", cell):
            code = code.replace("\\|", "|")
            if code.startswith("..."):
                named = re.search(r"\(([a-z ,-]+)\)", cell + after)
                choices = [c.strip() for c in named.group(1).split(",")] if named else []
                base = next((CONTINUES[c] for c in ("validate", "run", "stress") if c in choices),
                            None)
                if base is None:
                    forms.append(code)  # fails in the test, naming the row
                    continue
                code = base + code[3:]
            forms.append(code)
    return forms


def _block_lines(text: str) -> list[str]:
    """Command lines of the shell code blocks (``` with bash, sh, console or no language)."""
    lines = []
    for lang, body in re.findall(r"```([a-z]*)\n(.*?)```", text, flags=re.S):
        if lang not in ("", "bash", "sh", "shell", "console"):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _expand(form: str) -> list[str]:
    """The shortest and the longest command of a form with [optional] parts."""
    shortest = re.sub(r"\s*\[[^\]]*\]", "", form)
    longest = re.sub(r"\[([^\]]*)\]", r"\1", form)
    return list(dict.fromkeys([shortest, longest]))


def examples() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    found = [("block", line) for line in _block_lines(text)]
    found += [("table", cmd) for form in _table_forms(text) for cmd in _expand(form)]
    return found


_ids = itertools.count(1)


class Unknown(Exception):
    pass


def _resolve(command: str, env: dict) -> list[str]:
    """argv for one audit command with its placeholders filled in."""
    words = command.split()
    words = [w.split("|")[0] for w in words if w != "..."]  # first alternative; drop "repeat"
    if words[0] in (".venv/bin/audit", "audit"):
        words = words[1:]
    elif words[:3] in (["python", "-m", "audit"], [".venv/bin/python", "-m", "audit"]):
        words = words[3:]
    else:
        raise Unknown(f"README example {command!r} is not an audit command this test knows")
    argv = []
    for i, word in enumerate(words):
        if PLACEHOLDER.match(word):
            before = words[i - 1] if i else ""
            if before in OPTION_VALUES:
                word = OPTION_VALUES[before].format(**env, out=_fresh(env))
            elif word == "DATA_DIR":
                word = env["data"]
            elif word == "OUT":
                word = _fresh(env)
            elif word == "ID":
                word = f"HOUSE-{next(_ids):03d}" if words[:2] == ["rules", "new"] else "KYC-001"
            else:
                raise Unknown(f"README example {command!r}: placeholder {word!r} after "
                              f"{before or 'the command'}; add a value for it to "
                              "OPTION_VALUES in tests/test_readme.py")
        argv.append(word)
    return argv


def _fresh(env: dict) -> str:
    return str(Path(env["tmp"]) / f"out{next(_ids)}")


def _expected(argv: list[str], command: str) -> int:
    name = tuple(argv[:2]) if argv[0] == "rules" else tuple(argv[:1])
    flagged = [key for key in EXPECTED_EXIT if key[:len(name)] == name and len(key) > len(name)
               and all(flag in argv for flag in key[len(name):])]
    if flagged:
        return EXPECTED_EXIT[flagged[0]]
    if name in EXPECTED_EXIT:
        return EXPECTED_EXIT[name]
    raise Unknown(f"README example {command!r} runs `audit {' '.join(name)}`, a command "
                  "tests/test_readme.py does not know: add it to EXPECTED_EXIT with the exit "
                  "code it should end with on the sample")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    """A generated sample, a copy of the bundled one (the quick start names sample_data), a
    mapping outside both, and a rules folder of one's own."""
    tmp = tmp_path_factory.mktemp("readme")
    data = tmp / "data"
    made = _audit(["sample-data", str(data), "--accounts", "100", "--seed", "1"], tmp)
    assert made.returncode == 0, made.stderr
    shutil.copytree(ROOT / "sample_data", tmp / "sample_data")
    shutil.copy2(data / "mapping.yaml", tmp / "mapping.yaml")
    rules = tmp / "own-rules"
    made = _audit(["rules", "new", "ACME-001", "--rules", str(rules)], tmp)
    assert made.returncode == 0, made.stderr
    from audit.stress import load_scenarios

    return {"tmp": str(tmp), "data": str(data), "mapping": str(tmp / "mapping.yaml"),
            "rules": str(rules), "scenario": load_scenarios()[0].name}


def _audit(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    run_env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "audit", *argv], cwd=cwd, env=run_env,
                          capture_output=True, text=True, timeout=1800)


def _shell_step(step: str, cwd: Path) -> None:
    """The README's setup and test steps: checked, not executed (setup.sh installs system
    packages; the test suite is what is running this)."""
    if step in ("bash scripts/setup.sh", "bash scripts/setup.sh --test"):
        done = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "setup.sh")],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"scripts/setup.sh: {done.stderr}"
        return
    if step == ".venv/bin/python -m pytest -q":
        assert (ROOT / "tests").is_dir() and (ROOT / "pyproject.toml").is_file()
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider", "tests/test_readme.py"], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:]
        return
    raise Unknown(f"README shell step {step!r} is not one tests/test_readme.py knows: run it "
                  "from _shell_step or make it an audit command")


EXAMPLES = examples()


def test_the_readme_has_the_examples_this_file_reads():
    commands = [c for _, c in EXAMPLES]
    assert len(commands) >= 20
    assert any(c.startswith("audit leverage --table") for c in commands)
    assert any("--rules" in c for c in commands)


@pytest.mark.parametrize("where, command", EXAMPLES, ids=[c for _, c in EXAMPLES])
def test_readme_example_runs(env, where, command):
    cwd = Path(env["tmp"])
    try:
        steps = [s.strip() for s in command.split("&&")]
        for step in steps:
            if not re.match(r"^(\.venv/bin/audit|audit|python -m audit|\.venv/bin/python -m "
                            r"audit)\b", step):
                _shell_step(step, cwd)
                continue
            argv = _resolve(step, env)
            want = _expected(argv, step)
            done = _audit(argv, cwd)
            shown = shlex.join(["audit", *argv])
            assert "Traceback" not in done.stderr, f"{shown}\n{done.stderr[-3000:]}"
            assert done.returncode == want, (f"README ({where}) `{step}` ran as `{shown}`: "
                                             f"exit {done.returncode}, expected {want}\n"
                                             f"{done.stderr[-3000:]}")
    except Unknown as err:
        pytest.fail(str(err))
