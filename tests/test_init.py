"""`audit init`: a pre-filled mapping for an unknown export, every table at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from audit import contract
from audit.cli import app
from audit.load.guess import MAYBE, SURE, guess_tables, header_score
from audit.load.headers import match_header
from audit.load.mapping import read_mapping
from audit.load.peek import survey

from unknown_export import RENAMES, true_mapping, write_unknown_export

runner = CliRunner()
FILE_TABLE = {new: source[:-4] for source, (new, _) in RENAMES.items()}


@pytest.fixture(scope="module")
def unknown(tmp_path_factory) -> Path:
    return write_unknown_export(tmp_path_factory.mktemp("exports") / "unknown")


def _init(data: Path, out: Path, *extra: str):
    return runner.invoke(app, ["init", str(data), "--out", str(out), *extra])


def test_every_file_goes_to_its_table_and_no_guess_is_wrong(unknown):
    guesses, left = guess_tables(survey(unknown.resolve()).samples)
    assert {g.sample.file: g.table for g in guesses} == FILE_TABLE
    assert left == []
    truth = true_mapping()
    for g in guesses:
        for c in g.columns:
            assert c.score >= MAYBE
            assert truth[g.table].get(c.header, c.header) == c.column, (g.table, c)


def test_draft_lists_what_is_left_and_review_makes_validate_clean(unknown, tmp_path):
    out = tmp_path / "unknown.mapping.yaml"
    result = _init(unknown, out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    read_mapping(out)  # the loader accepts the draft as written
    # Unreviewed, the draft does not pass: guesses short of sure are commented out.
    raw = runner.invoke(app, ["validate", str(unknown), "--mapping", str(out)])
    assert raw.exit_code == 2 and "missing required column" in raw.output
    # Every required column the draft says no header matched is truly renamed beyond the
    # guesser, and together with the confirmations it is exactly what stands between the
    # draft and a clean validate.
    truth = true_mapping()
    listed = {t: cols.split(", ") for t, cols in
              re.findall(r"^  (\w+):\n(?:    .*\n)*?    # required columns no header was "
                         r"matched to: (.*)$", text, re.M)}
    assert listed["kyc_events"] == ["outcome"] and listed["audits"] == ["auditor"]
    for table, columns in listed.items():
        for column in columns:
            assert column in truth[table].values()
    # Review: accept every '# confirm:' line, type an entry for every header left unmatched.
    reviewed = re.sub(r'^(\s+)# ("(?:[^"\\]|\\.)*": \w+   # confirm)', r"\1\2", text, flags=re.M)
    document = yaml.safe_load(reviewed)
    typed = 0
    for table, mapping in document["tables"].items():
        columns = mapping["columns"] = mapping.get("columns") or {}
        for header, column in truth[table].items():
            if header not in columns and match_header(header, table, {}) != column:
                columns[header] = column
                typed += 1
    assert typed == 12  # headers no guess reached (platform's 5, result, loan_bal, ...)
    final = tmp_path / "reviewed.yaml"
    final.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(unknown), "--mapping", str(final)])
    # NOTE: the sample's own three notes (margin-event times carry +00:00) are all that is left.
    assert "15 table(s), 0 missing, 3 data-quality issue(s)" in result.output, result.output[-2000:]


def test_chinese_headers_and_names(tmp_path):
    data = tmp_path / "导出"
    data.mkdir()
    (data / "客户资料表(1).csv").write_text(
        "客户资料导出\n"  # a title line above the header
        "客户号,客户名称,投资者类别,证件种类,身份证号,开户时间,是否政要,风险等级（AML）\n"
        "C1,张三,零售,身份证,110101199001011234,2024-01-02,否,低\n", encoding="gb18030")
    guesses, _ = guess_tables(survey(data.resolve()).samples)
    (guess,) = guesses
    assert guess.table == "clients" and guess.sample.header_at == 1
    found = {c.header: (c.column, c.score) for c in guess.columns}
    assert found["客户号"] == ("client_id", 1.0)
    assert found["风险等级（AML）"] == ("risk_rating", 0.95)
    assert found["客户名称"][0] == "name" and MAYBE <= found["客户名称"][1] < SURE
    out = tmp_path / "m.yaml"
    assert _init(data, out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert '"风险等级（AML）": risk_rating   # 0.95' in text
    assert '# "客户名称": name   # confirm:' in text
    assert "category: values outside the contract's list: 零售" in text


def test_header_scores_are_graded():
    assert header_score("client_id", "clients", "client_id") == (1.0, "name or alias")
    assert header_score("cust_no", "accounts", "client_id")[0] == 0.9
    assert header_score("宽限期(小时)", "platform", "notice_period_hours")[0] == 0.95
    assert header_score("zzz", "clients", "client_id")[0] < MAYBE


def test_hostile_file_names_cannot_add_entries(tmp_path):
    data = tmp_path / "export"
    data.mkdir()
    outside = tmp_path / "secret.csv"
    outside.write_text("client_id,name\nX,secret\n", encoding="utf-8")
    os.symlink(outside, data / "clients.csv")  # leads out of the export: never read
    os.mkfifo(data / "ledger.csv")  # opening it would wait forever: listed, never opened
    evil = 'positions"\n  platform:\n    file: "x\u2028# .csv'
    (data / evil).write_text("date,account_id,instrument_id,quantity,price,market_value\n"
                             "2024-01-02,A1,600000,100,10.5,1050\n", encoding="utf-8")
    out = tmp_path / "m.yaml"
    result = _init(data, out)
    assert result.exit_code == 0, result.output
    mapping = read_mapping(out)
    assert set(mapping.tables) == {"positions"}
    assert mapping.tables["positions"].file == evil
    text = out.read_text(encoding="utf-8")
    assert "secret" not in text.replace("secret.csv", "")
    assert "clients.csv: leads outside the export folder" in text
    assert "ledger.csv: is a named pipe (FIFO)" in text
    (data / "ledger.csv").unlink()
    # validate refuses the export for the same link, as init's comment warned
    refused = runner.invoke(app, ["validate", str(data), "--mapping", str(out)])
    assert refused.exit_code == 2 and "clients.csv: leads outside" in refused.output
    (data / "clients.csv").unlink()
    loaded = runner.invoke(app, ["validate", str(data), "--mapping", str(out)])
    assert "positions" in loaded.output and "rows read          1" in loaded.output


def test_never_writes_inside_the_export(tmp_path, unknown):
    inside = unknown / "m.yaml"
    result = _init(unknown, inside)
    assert result.exit_code == 2 and "inside the export folder" in result.output
    assert not inside.exists()
    link = tmp_path / "link"
    link.symlink_to(unknown)
    result = _init(unknown, link / "m.yaml")
    assert result.exit_code == 2 and not inside.exists()
    exported_link = tmp_path / "points-in.yaml"
    exported_link.symlink_to(unknown / "kyc_hist.csv")
    result = _init(unknown, exported_link, "--force")
    assert result.exit_code == 2 and "inside the export folder" in result.output


def test_default_name_and_no_overwrite_without_force(tmp_path, unknown, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["init", str(unknown)])
    assert first.exit_code == 0, first.output
    target = tmp_path / "unknown.mapping.yaml"
    target.write_text("kept\n", encoding="utf-8")
    again = runner.invoke(app, ["init", str(unknown)])
    assert again.exit_code == 2 and "--force" in again.output
    assert target.read_text(encoding="utf-8") == "kept\n"
    forced = runner.invoke(app, ["init", str(unknown), "--force"])
    assert forced.exit_code == 0 and "tables:" in target.read_text(encoding="utf-8")


def test_empty_folder_lists_every_table_not_found(tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    out = tmp_path / "m.yaml"
    assert _init(data, out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert read_mapping(out).tables == {}
    for t in contract.TABLES:
        assert f"#   {t.name}" in text


def test_a_columns_key_with_every_entry_commented_out_is_no_entries(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("tables:\n  clients:\n    columns:\n      # \"x\": name\n", encoding="utf-8")
    assert read_mapping(path).tables["clients"].columns == {}


def test_workbook_sheets_and_parquet(tmp_path):
    import openpyxl
    import polars as pl

    data = tmp_path / "export"
    data.mkdir()
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本文件由平台导出"])
    sheet = book.create_sheet("Sheet2")
    sheet.append(["合约编号", "资金账号", "客户编号", "放款时间", "融资金额", "自有资金",
                  "杠杆倍数", "年利率", "期限(天)", "产品风险等级"])
    sheet.append(["F1", "A1", "C1", "2024-01-02", 100000, 50000, 2, 0.08, 180, "R3"])
    book.save(data / "融资数据.xlsx")
    pl.DataFrame({"BizDate": ["2024-01-02"], "AcctNo": ["A1"], "SecCode": ["600000"],
                  "Qty": [100], "Px": [10.5], "MktVal": [1050.0]}).write_parquet(
        data / "holdings_export.parquet")
    out = tmp_path / "m.yaml"
    result = _init(data, out)
    assert result.exit_code == 0, result.output
    mapping = read_mapping(out)
    assert mapping.tables["financings"].file == "融资数据.xlsx"
    assert mapping.tables["financings"].sheet == "Sheet2"
    assert mapping.tables["financings"].columns == {"期限(天)": "term_days"}
    assert mapping.tables["positions"].file == "holdings_export.parquet"
    assert mapping.tables["positions"].columns == {
        "AcctNo": "account_id", "SecCode": "instrument_id", "Qty": "quantity", "Px": "price",
        "MktVal": "market_value"}
    assert '# "BizDate": date   # confirm:' in out.read_text(encoding="utf-8")
    assert "融资数据.xlsx (sheet 说明)" in out.read_text(encoding="utf-8")  # fits no table
