"""CLI conventions, run as a user runs them (subprocess): --version, -h, completion,
did-you-mean, rule ids and profiles in any case, NO_COLOR, -q / -v, config-file defaults (and
a config inside the export refused), thousands separators, Chinese messages."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit import __version__

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[")


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # NOTE: cwd is a scratch folder, never the repository: its pyproject.toml must not count
    # as a config, and a test's own audit.toml must not leak into another test.
    full = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-m", "audit", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=300)


def flat(text: str) -> str:
    """Text with rich's error box and its line wrapping taken out."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def on_terminal(*args: str, cwd: Path, no_color: bool) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal (where colour would be used)."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(ROOT)
    env["TERM"] = "xterm-256color"
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "audit", *args], cwd=cwd, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out


@pytest.fixture(scope="module")
def export() -> Path:
    """The committed sample export (read only here; copied where a test writes into it)."""
    return ROOT / "sample_data"


@pytest.fixture()
def here(tmp_path: Path) -> Path:
    cwd = tmp_path / "work"
    cwd.mkdir()
    return cwd


# --- version, help, completion ---------------------------------------------------------------

def test_version_is_the_package_version(here):
    result = cli("--version", cwd=here)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(__version__)


@pytest.mark.parametrize("args", [["-h"], ["rules", "-h"], ["rules", "explain", "-h"]])
def test_short_help_everywhere(here, args):
    result = cli(*args, cwd=here)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_every_command_has_quiet_verbose_lang_config(here):
    for args in (["run"], ["validate"], ["stress"], ["sample-data"], ["rules", "list"],
                 ["rules", "explain"], ["rules", "test"], ["rules", "coverage"]):
        shown = cli(*args, "-h", cwd=here, env={"TERMINAL_WIDTH": "200"}).stdout
        for flag in ("--quiet", "-q", "--verbose", "-v", "--lang", "--config"):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", shown), (args, flag)


def test_leverage_keeps_its_own_short_v(here):
    # NOTE: `leverage -v` was the position value before -v meant verbose; it still is.
    result = cli("leverage", "-v", "200000", "-e", "100000", cwd=here)
    assert result.returncode == 0, result.stderr
    assert "2.00x" in result.stdout or "2x" in result.stdout


def test_shell_completion_script(here):
    # NOTE: typer detects the user's shell from the process tree; its test switch makes the
    # shell an argument instead, as under pytest there is no interactive shell to find.
    result = cli("--show-completion", "bash", cwd=here,
                 env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout


# --- did-you-mean, any case ------------------------------------------------------------------

def test_did_you_mean_on_commands(here):
    result = cli("rnu", cwd=here)
    assert result.returncode == 2
    assert "Did you mean 'run'" in flat(result.stderr)
    result = cli("rules", "lsit", cwd=here)
    assert result.returncode == 2
    assert "Did you mean 'list'" in flat(result.stderr)


def test_rule_ids_in_any_case_and_did_you_mean(here):
    result = cli("rules", "explain", "kyc-001", cwd=here)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KYC-001: ")
    result = cli("rules", "explain", "kyc-01", cwd=here)
    assert result.returncode == 2
    assert "did you mean 'KYC-001'" in result.stderr
    assert "Traceback" not in result.stderr


def test_profiles_in_any_case_and_did_you_mean(here):
    upper = cli("rules", "list", "--profile", "SEED", cwd=here)
    lower = cli("rules", "list", "--profile", "seed", cwd=here)
    assert upper.returncode == 0, upper.stderr
    assert upper.stdout == lower.stdout
    typo = cli("rules", "list", "--profile", "sede", cwd=here)
    assert typo.returncode == 2
    assert "did you mean 'seed'" in flat(typo.stderr)


# --- NO_COLOR --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["validate", "no-such-folder"], ["rnu"],
                                  ["rules", "explain", "XX-999"]])
def test_no_color_on_a_terminal(here, args):
    rc, coloured = on_terminal(*args, cwd=here, no_color=False)
    assert rc == 2
    assert ANSI.search(coloured.decode()), "the control run shows colour on a terminal"
    rc, plain = on_terminal(*args, cwd=here, no_color=True)
    assert rc == 2
    assert not ANSI.search(plain.decode()), plain[:300]


def test_no_colour_off_a_terminal(here):
    result = cli("validate", "no-such-folder", cwd=here)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no-such-folder: no such folder")
    assert not ANSI.search(result.stderr)


# --- -q / -v, stage timings, thousands separators --------------------------------------------

def test_quiet_normal_verbose(export, here):
    common = ("run", str(export), "--no-report", "--no-stress", "--out")
    normal = cli(*common, str(here / "a"), cwd=here)
    quiet = cli(*common, str(here / "b"), "-q", cwd=here)
    verbose = cli(*common, str(here / "c"), "--verbose", cwd=here)
    assert normal.returncode == quiet.returncode == verbose.returncode == 1, normal.stderr
    summary = [line for line in normal.stderr.splitlines() if " rules: " in line]
    assert len(summary) == 1
    # quiet: the summary line alone
    assert quiet.stderr.strip().splitlines() == [summary[0].replace(str(here / "a"),
                                                                      str(here / "b"))]
    # normal: progress and one plain line per stage (stderr is no terminal: no bar)
    for stage in ("load", "contract", "rules", "write"):
        assert re.search(rf"^{stage}: \d+\.\d s$", normal.stderr, re.M), stage
    assert "loaded accounts" in normal.stderr
    assert not re.search(r"^stages: ", normal.stderr, re.M)
    # verbose: the stage timings in one line too
    assert re.search(r"^stages: load \d+\.\d, contract \d+\.\d, rules \d+\.\d, write \d+\.\d; "
                     r"total \d+\.\d s$", verbose.stderr, re.M)
    assert not ANSI.search(normal.stderr + quiet.stderr + verbose.stderr)
    # thousands separators: every count of 1,000 or more the run printed
    big = re.findall(r"loaded \w+: ([\d,]+) rows read", normal.stderr)
    assert any(int(n.replace(",", "")) >= 1000 for n in big), big
    for n in big + re.findall(r"\[(\d[\d,]*)/(\d[\d,]*)", normal.stderr):
        for part in ([n] if isinstance(n, str) else n):
            assert part == f"{int(part.replace(',', '')):,}", part


def test_quiet_and_verbose_together_is_usage_error(here):
    result = cli("validate", str(here), "-q", "-v", cwd=here)
    assert result.returncode == 2


def test_validate_counts_and_quiet(export, here):
    result = cli("validate", str(export), cwd=here)
    assert result.returncode in (0, 1), result.stderr
    rows = re.findall(r"rows read +([\d,]+)", result.stderr)
    assert rows and any("," in r for r in rows), rows
    quiet = cli("validate", str(export), "-q", cwd=here)
    assert len(quiet.stderr.strip().splitlines()) == 1
    assert re.fullmatch(r"\d+ table\(s\), [\d,]+ missing, [\d,]+ data-quality issue\(s\)",
                        quiet.stderr.strip())


# --- Chinese messages ------------------------------------------------------------------------

def test_chinese_errors_and_summaries(export, here):
    result = cli("validate", "no-such-folder", "--lang", "zh", cwd=here)
    assert result.returncode == 2
    assert result.stderr.strip() == "错误：no-such-folder：文件夹不存在；请给出存放导出文件的文件夹"
    result = cli("validate", str(export), "-q", "--lang", "zh", cwd=here)
    assert re.fullmatch(r"共 \d+ 张表，缺失 [\d,]+ 张，数据质量问题 [\d,]+ 项", result.stderr.strip())


# --- config file -----------------------------------------------------------------------------

def test_config_defaults_apply_and_flags_win(export, here):
    (here / "audit.toml").write_text(
        'lang = "zh"\nfail-on = "critical"\n[run]\nreport = false\nstress = false\n',
        encoding="utf-8")
    out = here / "out"
    result = cli("run", str(export), "--out", str(out), "-v", cwd=here)
    assert f"默认值取自 {here / 'audit.toml'}" in result.stderr
    assert re.search(r"^共 \d+ 条规则：通过 \d+ 条", result.stderr, re.M), result.stderr[-800:]
    assert not (out / "report.html").exists()          # [run] report = false
    assert not (out / "stress.json").exists()          # [run] stress = false
    assert "压力测试：" not in result.stderr
    assert result.returncode in (0, 1)
    flags = cli("run", str(export), "--out", str(here / "out2"), "-q", "--lang", "en",
                cwd=here)
    assert re.fullmatch(r"\d+ rules: .*", flags.stderr.strip()), flags.stderr


def test_config_unknown_key_exits_2_with_did_you_mean(export, here):
    (here / "audit.toml").write_text('fail_onn = "low"\n', encoding="utf-8")
    result = cli("validate", str(export), cwd=here)
    assert result.returncode == 2
    assert "'fail_onn' is no option (did you mean 'fail_on'?)" in result.stderr
    (here / "audit.toml").write_text('[rnu]\nlang = "zh"\n', encoding="utf-8")
    result = cli("validate", str(export), cwd=here)
    assert result.returncode == 2
    assert "did you mean 'run'" in result.stderr


def test_config_in_pyproject_and_relative_paths(export, here):
    (here / "pyproject.toml").write_text('[tool.audit.validate]\nmapping = "maps/m.yaml"\n',
                                         encoding="utf-8")
    result = cli("validate", str(export), cwd=here)
    assert result.returncode == 2
    assert str(here / "maps" / "m.yaml") in result.stderr
    elsewhere = here / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "audit.toml").write_text('mapping = "m.yaml"\n', encoding="utf-8")
    result = cli("validate", str(export), "--config", "elsewhere/audit.toml", cwd=here)
    assert result.returncode == 2
    assert str(elsewhere / "m.yaml") in result.stderr


def test_config_inside_the_export_is_never_applied(export, tmp_path):
    data = tmp_path / "export"
    shutil.copytree(export, data)
    (data / "audit.toml").write_text('lang = "zh"\n', encoding="utf-8")
    # found because the command runs from inside the export folder
    result = cli("validate", ".", "-q", cwd=data)
    assert "is inside the export folder" in result.stderr
    assert "not applied" in result.stderr
    assert re.search(r"^\d+ table\(s\)", result.stderr, re.M), result.stderr  # not Chinese
    # and named with --config: still not applied
    result = cli("validate", str(data), "-q", "--config", str(data / "audit.toml"),
                 cwd=tmp_path)
    assert "not applied" in result.stderr
    assert re.search(r"^\d+ table\(s\)", result.stderr, re.M)
    # the same file outside the export applies
    (tmp_path / "audit.toml").write_text('lang = "zh"\n', encoding="utf-8")
    result = cli("validate", str(data), "-q", cwd=tmp_path)
    assert re.search(r"^共 \d+ 张表", result.stderr, re.M), result.stderr


def test_did_you_mean_on_scenarios(export, here):
    result = cli("stress", str(export), "--out", str(here / "out"), "--scenario", "uniform-2O",
                 cwd=here)
    assert result.returncode == 2
    assert "(did you mean 'uniform-20'" in result.stderr
    assert not (here / "out").exists()
