"""An auditor's own rule packs and profiles: `--rules DIR`, entry points of group
platform_audit.packs and `audit rules new`, loaded by the same loader, linter and self-test as
the built-in packs; collisions and a rules folder inside the export are refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from audit.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def own_rules(tmp_path_factory) -> Path:
    """A rules folder made by `audit rules new`, plus a profile that runs only its rule."""
    folder = tmp_path_factory.mktemp("own") / "rules"
    made = cli("rules", "new", "acme-001", "--rules", str(folder))
    assert made.exit_code == 0, made.output
    (folder / "profiles").mkdir()
    (folder / "profiles" / "acme.yaml").write_text(
        "schema_version: 1\nname: acme\ndescription: only the house rule\n"
        "enable_only: [ACME-001]\n", encoding="utf-8")
    return folder


def test_rules_new_writes_a_pack_and_a_rule_whose_examples_run_green(own_rules):
    assert (own_rules / "acme" / "pack.yaml").is_file()
    rule = (own_rules / "acme" / "ACME-001.yaml").read_text(encoding="utf-8")
    assert "id: ACME-001" in rule and "TODO" in rule and "fail:" in rule
    tested = cli("rules", "test", "--rules", str(own_rules))
    assert tested.exit_code == 0, tested.output
    assert "ok   ACME-001 (2 example(s))" in tested.output


def test_rules_new_says_what_to_edit_and_refuses_a_taken_id(own_rules, tmp_path):
    made = cli("rules", "new", "ACME-002", "--rules", str(tmp_path / "r"))
    assert made.exit_code == 0
    assert "edit the TODOs" in made.output and "audit rules test --rules" in made.output
    for args, fragment in ((["KYC-001"], "already used"),
                           (["ACME-001", "--rules", str(own_rules)], "already used"),
                           (["XY-001", "--pack", "kyc"], "built-in pack"),
                           (["acme1"], "must look like ACME-001"),
                           (["XY-002", "--norm", "N9"], "N1")):
        extra = [] if "--rules" in args else ["--rules", str(tmp_path / "other")]
        refused = cli("rules", "new", *args, *extra)
        assert refused.exit_code == 2, (args, refused.output)
        assert fragment in refused.output


def test_own_rules_are_listed_explained_and_selected_by_their_own_profile(own_rules):
    listed = cli("rules", "list", "--rules", str(own_rules), "--json")
    assert listed.exit_code == 0, listed.output
    ids = [r["id"] for r in json.loads(listed.output)]
    assert "ACME-001" in ids and "KYC-001" in ids  # added to the built-in ones
    only = cli("rules", "list", "--rules", str(own_rules), "--profile", "acme", "--json")
    assert [r["id"] for r in json.loads(only.output)] == ["ACME-001"]
    explained = cli("rules", "explain", "ACME-001", "--rules", str(own_rules))
    assert explained.exit_code == 0 and "leverage_at_open <= @acme_max_leverage" in explained.output
    unknown = cli("rules", "list", "--profile", "acme")  # without --rules: not known
    assert unknown.exit_code == 2 and "unknown profile 'acme'" in unknown.output


def test_run_evaluates_own_rules_on_the_export(own_rules, tmp_path):
    out = tmp_path / "out"
    ran = cli("run", str(SAMPLE), "--out", str(out), "--rules", str(own_rules), "--profile",
              "acme", "--no-report", "--no-stress", "--quiet", "--param", "acme_max_leverage=3")
    assert ran.exit_code == 1, ran.output  # a high-severity rule with violations
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    [rule] = findings["rules"]
    fin = pl.read_csv(SAMPLE / "financings.csv")
    over = fin.filter(pl.col("leverage_at_open") > 3)
    assert over.height > 0
    assert rule["id"] == "ACME-001" and rule["violations"] == over.height
    assert rule["checked"] == fin.filter(pl.col("leverage_at_open").is_not_null()).height
    assert "acme" in [p["name"] for p in findings["rule_packs"]["packs"]]


def _write_rule(folder: Path, pack: str, rule_id: str, **edit: str) -> Path:
    """A copy of the scaffolded rule under another id, pack or text."""
    made = cli("rules", "new", "ZZ-001", "--rules", str(folder / "_tmp"))
    assert made.exit_code == 0, made.output
    text = (folder / "_tmp" / "zz" / "ZZ-001.yaml").read_text(encoding="utf-8")
    text = text.replace("ZZ-001", rule_id).replace("@zz_max_leverage", "5")
    for old, new in edit.items():
        text = text.replace(old, new)
    shutil.rmtree(folder / "_tmp")
    target = folder / "rules" / pack
    target.mkdir(parents=True, exist_ok=True)
    (target / "pack.yaml").write_text(f"schema_version: 1\nname: {pack}\ntitle: t\n"
                                      "version: 0.1.0\ndescription: d\n", encoding="utf-8")
    (target / f"{rule_id}.yaml").write_text(text, encoding="utf-8")
    return folder / "rules"


@pytest.mark.parametrize("pack, rule_id, edit, fragment", [
    ("house", "KYC-001", {}, "id KYC-001 is already used by the built-in rule KYC-001"),
    ("kyc", "HOUSE-001", {}, "pack name 'kyc' is already used by the built-in pack kyc"),
    ("house", "HOUSE-001", {"leverage_at_open <= 5": "levrage_at_open <= 5"},
     "HOUSE-001.yaml:"),  # the linter names the file and line of the unknown column
])
def test_collisions_and_bad_rules_are_refused_naming_the_file(tmp_path, pack, rule_id, edit,
                                                              fragment):
    folder = _write_rule(tmp_path, pack, rule_id, **edit)
    done = cli("rules", "test", "--rules", str(folder))
    assert done.exit_code == 2, done.output
    assert fragment in done.output
    assert "Traceback" not in done.output


def test_profile_name_taken_missing_and_empty_folders_are_refused(tmp_path, own_rules):
    taken = tmp_path / "taken"
    shutil.copytree(own_rules, taken)
    shutil.copy2(taken / "profiles" / "acme.yaml", taken / "profiles" / "seed.yaml")
    (tmp_path / "empty").mkdir()
    for folder, fragment in ((taken, "profile name 'seed' is already used"),
                             (tmp_path / "nowhere", "no such folder"),
                             (tmp_path / "empty", "no rule pack or profile in it")):
        done = cli("rules", "list", "--rules", str(folder))
        assert done.exit_code == 2, done.output
        assert fragment in done.output


def test_a_rules_folder_inside_the_export_is_refused(tmp_path, own_rules):
    data = tmp_path / "export"
    shutil.copytree(SAMPLE, data)
    shutil.copytree(own_rules, data / "rules")
    for command in (["validate", str(data)], ["run", str(data), "--out", str(tmp_path / "o"),
                                                  "--no-report", "--no-stress"],
                    ["stress", str(data), "--out", str(tmp_path / "s")]):
        done = cli(*command, "--rules", str(data / "rules"))
        assert done.exit_code == 2, (command, done.output)
        assert "inside the export folder" in done.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def _installed_plugin(tmp_path: Path, own_rules: Path, body: str) -> dict[str, str]:
    """A package on the path that declares an entry point of group platform_audit.packs, as
    `pip install` would leave it (a dist-info folder importlib.metadata finds)."""
    site = tmp_path / "site"
    dist = site / "acme_rules-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n",
                                   encoding="utf-8")
    (dist / "entry_points.txt").write_text("[platform_audit.packs]\nacme = acme_rules:packs_dir\n",
                                           encoding="utf-8")
    shutil.copytree(own_rules, site / "acme_packs")
    (site / "acme_rules.py").write_text(body, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
    return env


def test_entry_point_packs_load_without_rules_option(tmp_path, own_rules):
    env = _installed_plugin(tmp_path, own_rules, "from pathlib import Path\n\n"
                            "def packs_dir():\n    return Path(__file__).parent / 'acme_packs'\n")
    done = subprocess.run([sys.executable, "-m", "audit", "rules", "list", "--profile", "acme",
                           "--json"], env=env, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == ["ACME-001"]
    # the same pack named again with --rules is one source, not a collision
    again = subprocess.run([sys.executable, "-m", "audit", "rules", "test", "--rules",
                            str(tmp_path / "site" / "acme_packs")], env=env, capture_output=True,
                           text=True, timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_broken_entry_point_is_one_line_and_exit_2(tmp_path, own_rules):
    env = _installed_plugin(tmp_path, own_rules,
                            "def packs_dir():\n    raise RuntimeError('boom')\n")
    done = subprocess.run([sys.executable, "-m", "audit", "rules", "list"], env=env,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 2
    assert "entry point acme" in done.stderr and "RuntimeError: boom" in done.stderr
    assert "uninstall" in done.stderr and "Traceback" not in done.stderr
