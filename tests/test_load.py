"""Tests of the load stage: file discovery, encodings, delimiters, formats, typing and hostile input."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from audit import contract
from audit.load import DataIssue, LoadError, load_export, load_table, match_header
from audit.vocab import UNREADABLE

CUSTODY = ["date", "custodian", "statement_balance"]
FEES = ["fee_id", "date", "account_id", "fee_type", "base_amount", "rate", "days", "charged"]
DEFAULTS = {
    contract.STRING: "x", contract.INT: "1", contract.FLOAT: "1", contract.MONEY: "1",
    contract.RATE: "0.1", contract.DATE: "2024-01-01", contract.DATETIME: "2024-01-01 00:00:00",
    contract.BOOL: "true",
}




def readable(lt):
    """The rows with no unreadable cell (a partly unreadable row stays in the frame, its bad
    cells null and named in the UNREADABLE column)."""
    f = lt.frame
    return f.filter(pl.col(UNREADABLE).is_null()).drop(UNREADABLE) if UNREADABLE in f.columns else f

def mapped(folder):
    """The mapping the test wrote into the folder: the auditor names it (it is never applied
    on its own)."""
    path = folder / "mapping.yaml"
    return path if path.exists() else None

def _default(col: contract.Column) -> str:
    return col.allowed[0] if col.allowed else DEFAULTS[col.type]


def complete(table: str, header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Add the other required contract columns (valid values): tests survive contract growth."""
    t = contract.table(table)
    present = {match_header(h, table, {}) for h in header}
    missing = [c for c in t.columns if c.required and c.name not in present]
    return header + [c.name for c in missing], [r + [_default(c) for c in missing] for r in rows]


def write_csv(path: Path, table: str, header: list[str], rows: list[list[str]], *,
              delimiter: str = ",", encoding: str = "utf-8") -> Path:
    header, rows = complete(table, header, rows)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def invariant(lt) -> None:
    assert lt.rows_read == lt.frame.height + lt.rows_unreadable


def row_issues(lt) -> list[DataIssue]:
    return [i for i in lt.issues if i.row is not None]


# ----------------------------------------------------------------------------- CSV encodings


def test_utf8_csv_is_typed_numbered_and_hashed(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody",
                     ["date", "custodian", "statement_balance", "unknown_col"],
                     [["2024-01-05", "Bank A", "1000.5", "z"], ["2024-01-06", "Bank B", "2000", "z"]])
    lt = load_table(path, "custody")
    assert lt.format == "csv" and lt.encoding == "utf-8"
    assert lt.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert lt.frame["date"].to_list() == [date(2024, 1, 5), date(2024, 1, 6)]
    assert lt.frame["statement_balance"].to_list() == [1000.5, 2000.0]
    assert lt.frame["_row"].to_list() == [2, 3]
    assert lt.frame["_row"].dtype == pl.Int64
    assert lt.extra_columns == ["unknown_col"] and "unknown_col" not in lt.frame.columns
    assert lt.column_map["statement_balance"] == "statement_balance"
    for col in contract.table("custody").columns:  # optional columns are present, typed, null
        assert lt.frame.schema[col.name] == contract.POLARS_DTYPES[col.type]
    invariant(lt)


def test_utf8_bom_does_not_stick_to_the_first_header(tmp_path):
    path = tmp_path / "custody.csv"
    write_csv(path, "custody", CUSTODY, [["2024-01-05", "A", "1"]])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    lt = load_table(path, "custody")
    assert lt.encoding == "utf-8-sig"
    assert lt.column_map["date"] == "date"
    assert lt.frame["date"].to_list() == [date(2024, 1, 5)]


def test_gb18030_with_chinese_headers(tmp_path):
    rows = [["2024-01-05", "招商银行", "1234.5"], ["2024-01-06", "中国工商银行", "２３４"]]
    path = write_csv(tmp_path / "存管对账单.csv", "custody", ["日期", "存管银行", "存管余额"], rows,
                     encoding="gbk")
    lt = load_table(path, "custody")
    assert lt.encoding == "gb18030"
    assert lt.column_map == {"日期": "date", "存管银行": "custodian",
                             "存管余额": "statement_balance"}
    assert lt.frame["custodian"].to_list() == ["招商银行", "中国工商银行"]
    assert lt.frame["statement_balance"].to_list() == [1234.5, 234.0]  # full-width digits


def test_western_legacy_encoding_is_detected(tmp_path):
    rows = [[f"2024-01-{d:02d}", "Crédit Agricole Société Générale", "1"] for d in range(1, 20)]
    path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                     rows, encoding="cp1252")
    lt = load_table(path, "custody")
    assert lt.encoding == "cp1252"
    assert lt.frame["custodian"][0] == "Crédit Agricole Société Générale"


def test_mapping_can_force_the_encoding(tmp_path):
    name = "Bank Polski Łódź Świętokrzyska"  # detectors take this cp1250 text for cp1252
    write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
              [["2024-01-05", name, "1"]] * 3, encoding="cp1250")
    (tmp_path / "mapping.yaml").write_text("tables:\n  custody:\n    encoding: cp1250\n")
    lt = load_export(tmp_path, mapping=mapped(tmp_path)).tables["custody"]
    assert lt.encoding == "cp1250" and lt.frame["custodian"].to_list() == [name] * 3


def test_semicolon_delimiter_with_decimal_comma(tmp_path):
    path = write_csv(tmp_path / "capital.csv", "capital", ["date", "net_capital", "liquid_assets"],
                     [["05.01.2024", "1.234.567,89", "0,25"], ["06.01.2024", "1.000", "12,5"]],
                     delimiter=";")
    lt = load_table(path, "capital")
    assert lt.frame["net_capital"].to_list() == [1234567.89, 1000.0]
    assert lt.frame["liquid_assets"].to_list() == [0.25, 12.5]
    assert lt.frame["date"].to_list() == [date(2024, 1, 5), date(2024, 1, 6)]
    invariant(lt)


def test_tab_and_pipe_delimiters(tmp_path):
    for delimiter in ("\t", "|"):
        path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                         [["2024-01-05", "A, B", "1,234.5"]], delimiter=delimiter)
        lt = load_table(path, "custody")
        assert lt.frame["custodian"].to_list() == ["A, B"]
        assert lt.frame["statement_balance"].to_list() == [1234.5]


# ----------------------------------------------------------------------------- Excel


def test_excel_title_rows_native_dates_serials_and_numeric_ids(tmp_path):
    header, rows = complete("custody", ["日期", "存管银行", "存管余额", "备注"], [[]])
    extra = rows[0]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["存管对账单 2024"])  # a title line above the header
    ws.append([])
    ws.append(header)
    ws.append([datetime(2024, 1, 5), "招商银行", 1234.5, "note", *extra])
    ws.append([45297, 1001, "1,000.00", None, *extra])  # Excel serial date, numeric text ID
    ws.append(["not a date", "X", 3, None, *extra])
    path = tmp_path / "custody.xlsx"
    wb.save(path)
    lt = load_table(path, "custody")
    assert lt.format == "excel" and lt.encoding is None
    assert readable(lt)["date"].to_list() == [date(2024, 1, 5), date(2024, 1, 6)]
    assert readable(lt)["custodian"].to_list() == ["招商银行", "1001"]
    assert readable(lt)["statement_balance"].to_list() == [1234.5, 1000.0]
    assert readable(lt)["_row"].to_list() == [4, 5]  # rows as Excel numbers them
    assert lt.extra_columns == ["备注"]
    bad = row_issues(lt)
    assert [(i.row, i.column) for i in bad if i.column] == [(6, "date")]
    assert lt.rows_read == 3 and lt.rows_partly_unreadable == 1 and lt.rows_unreadable == 0
    invariant(lt)


def test_excel_uses_the_sheet_named_after_the_table(tmp_path):
    header, rows = complete("custody", CUSTODY,
                            [["2024-01-05", "A", "7"]])
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["read me first"])
    ws = wb.create_sheet("Custody")
    ws.append(header)
    ws.append(rows[0])
    path = tmp_path / "custody.xlsx"
    wb.save(path)
    assert load_table(path, "custody").frame["statement_balance"].to_list() == [7.0]


def test_workbook_with_one_sheet_per_table_is_discovered(tmp_path):
    wb = openpyxl.Workbook()
    for i, table in enumerate(("custody", "capital")):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = table
        header, rows = complete(table, ["date"], [["2024-01-05"]])
        ws.append(header)
        ws.append(rows[0])
    wb.save(tmp_path / "export.xlsx")
    export = load_export(tmp_path)
    assert set(export.tables) == {"custody", "capital"}
    assert export.unrecognised_files == []


def test_legacy_xls_gives_a_one_line_error(tmp_path):
    path = tmp_path / "custody.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(500))
    with pytest.raises(LoadError, match=r"custody\.xls: .*save it as \.xlsx") as err:
        load_table(path, "custody")
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- Parquet


def test_parquet_typed_columns_keep_their_values(tmp_path):
    frame = pl.DataFrame({
        "date": [datetime(2024, 1, 5, 23, 0), datetime(2024, 1, 6)],
        "account_id": ["A1", "A2"],
        "instrument_id": ["600000", "000001"],
        "quantity": pl.Series([100, 200], dtype=pl.UInt32),
        "price": [10.5, float("nan")],  # NaN is how many writers store a missing number
        "market_value": pl.Series([1050, 2000], dtype=pl.Int64),
    }).with_columns(pl.col("date").dt.replace_time_zone("Asia/Shanghai"))
    path = tmp_path / "positions.parquet"
    frame.write_parquet(path)
    lt = load_table(path, "positions")
    assert lt.format == "parquet"
    assert lt.frame["date"].to_list() == [date(2024, 1, 5), date(2024, 1, 6)]  # wall-clock date
    assert lt.frame["instrument_id"].to_list() == ["600000", "000001"]
    assert lt.frame["quantity"].dtype == pl.Float64 and lt.frame["quantity"].to_list() == [100, 200]
    assert lt.frame["price"].to_list() == [10.5, None]
    assert lt.frame["_row"].to_list() == [1, 2]  # Parquet: the first data row is row 1
    assert lt.rows_unreadable == 0
    invariant(lt)


def test_parquet_string_columns_are_parsed_like_csv(tmp_path):
    frame = pl.DataFrame({
        "日期": ["2024/01/05", "2024年1月6日", "someday"],
        "资金账号": ["A1", "A2", "A3"],
        "证券代码": ["600000", "600001", "600002"],
        "数量": ["1,000", "2000", "3"],
        "价格": ["¥10.50", "(1.5)", "2"],
        "市值": ["10500", "x", "6"],
    })
    path = tmp_path / "holdings.parquet"
    frame.write_parquet(path)
    lt = load_table(path, "positions")
    assert readable(lt)["date"].to_list() == [date(2024, 1, 5)]
    assert readable(lt)["quantity"].to_list() == [1000.0]
    assert readable(lt)["price"].to_list() == [10.5]
    assert [(i.row, i.column, i.value) for i in row_issues(lt)] == [
        (2, "market_value", "x"), (3, "date", "someday")]
    assert lt.rows_partly_unreadable == 2 and lt.rows_unreadable == 0
    invariant(lt)


def test_parquet_nested_column_is_a_load_error(tmp_path):
    path = tmp_path / "custody.parquet"
    pl.DataFrame({"date": ["2024-01-05"], "custodian": [["a", "b"]],
                  "statement_balance": [1.0]}).write_parquet(path)
    with pytest.raises(LoadError, match="custody.parquet: .*nested"):
        load_table(path, "custody")


# ----------------------------------------------------------------------------- mapping


def test_mapping_file_names_file_columns_and_values(tmp_path):
    write_csv(tmp_path / "资本数据.csv", "capital", ["日", "NC", "LA"],
              [["2024-01-05", "1,000", "200"]])
    header, rows = complete("clients", ["client_no", "category"], [["0001", "零售"]])
    (tmp_path / "kyc_dump.csv").write_text(",".join(header) + "\n" + ",".join(rows[0]) + "\n")
    (tmp_path / "mapping.yaml").write_text(
        "tables:\n"
        "  capital:\n"
        "    file: 资本数据.csv\n"
        "    columns: {日: date, NC: net_capital, LA: liquid_assets}\n"
        "  clients:\n"
        "    file: kyc_dump.csv\n"
        "    columns: {client_no: client_id}\n"
        "    values: {category: {零售: retail}}\n",
        encoding="utf-8",
    )
    export = load_export(tmp_path, mapping=mapped(tmp_path))
    assert set(export.tables) == {"capital", "clients"}
    assert export.tables["capital"].frame["net_capital"].to_list() == [1000.0]
    assert export.tables["capital"].column_map["NC"] == "net_capital"
    assert export.tables["clients"].frame["client_id"].to_list() == ["0001"]  # leading zeros kept
    assert export.tables["clients"].frame["category"].to_list() == ["retail"]


def test_explicit_mapping_beats_an_alias_match(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody", ["date", "日期", *CUSTODY[1:]],
                     [["2024-01-05", "2024-02-01", "A", "1"]])
    with pytest.raises(LoadError, match="headers 'date' and '日期' both match column 'date'"):
        load_table(path, "custody")
    lt = load_table(path, "custody", {"日期": "date"})
    assert lt.frame["date"].to_list() == [date(2024, 2, 1)]
    assert "date" in lt.extra_columns


@pytest.mark.parametrize("text, message", [
    ("tables: {clientz: {}}\n", "unknown table 'clientz' under tables; allowed: platform"),
    ("tables: {clients: {columns: {a: b}}}\n",
     "'b' is not a column of table clients; allowed: client_id"),
    ("tables: {clients: {colums: {}}}\n", "unknown key 'tables.clients.colums'"),
    ("tables: {clients: {file: nope.csv}}\n", "tables.clients.file: no file 'nope.csv'"),
    ("tables: [unclosed\n", "not valid YAML"),
    ("tables: {clients: {values: {category: {零售: shop}}}}\n",
     "'shop' is not allowed; allowed: retail"),
    ("tables: {clients: {encoding: klingon}}\n", "unknown encoding 'klingon'"),
])
def test_invalid_mapping_is_a_load_error_naming_the_key(tmp_path, text, message):
    (tmp_path / "mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(LoadError, match="^mapping.yaml: ") as err:
        load_export(tmp_path, mapping=mapped(tmp_path))
    assert message in str(err.value)


def test_mapping_argument_outside_the_data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "bank.csv", "custody", ["day", "custodian", "statement_balance"],
              [["2024-01-05", "A", "1"]])
    mapping = tmp_path / "my-mapping.yaml"
    mapping.write_text("tables:\n  custody:\n    file: bank.csv\n    columns: {day: date}\n")
    export = load_export(data, mapping=mapping)
    assert export.tables["custody"].frame["date"].to_list() == [date(2024, 1, 5)]


# ----------------------------------------------------------------------------- bad cells and rows


def test_bad_cells_name_row_and_column_and_keep_the_rest_of_the_row(tmp_path):
    path = write_csv(tmp_path / "fees.csv", "fees",
                     FEES,
                     [["F1", "2024-01-05", "A1", "interest", "1000", "5%", "30", "4.1"],
                      ["F2", "2024-01-05", "A1", "interest", "abc", "5%", "2.5", "4.1"],
                      ["F3", "2024-13-45", "A1", "Interest", "1000", "0.05", "", "4.1"]])
    lt = load_table(path, "fees")
    found = [(i.row, i.column, i.value, i.problem) for i in row_issues(lt)]
    assert found == [
        (3, "base_amount", "abc", "cannot parse 'abc' as money"),
        (3, "days", "2.5", "cannot parse '2.5' as integer"),
        (4, "date", "2024-13-45", "cannot parse '2024-13-45' as date"),
    ]
    assert lt.rows_read == 3 and lt.rows_partly_unreadable == 2 and lt.rows_unreadable == 0
    assert readable(lt)["fee_id"].to_list() == ["F1"] and readable(lt)["rate"].to_list() == [0.05]
    # the partly unreadable rows stay: their bad cells null and named, the rest readable
    assert lt.frame["fee_id"].to_list() == ["F1", "F2", "F3"]
    assert lt.frame[UNREADABLE].to_list() == [None, ["base_amount", "days"], ["date"]]
    assert lt.frame["base_amount"].to_list() == [1000.0, None, 1000.0]
    invariant(lt)


def test_missing_required_column_message(tmp_path):
    path = tmp_path / "custody.csv"
    path.write_text("date,custodian,balance_eod\n2024-01-05,A,1\n")
    with pytest.raises(LoadError) as err:
        load_table(path, "custody")
    message = str(err.value)
    assert message.startswith(
        "custody.csv: missing required column 'statement_balance' (table custody)")
    assert "map your header to it in a mapping file given with --mapping" in message
    assert "balance_eod" in message  # the unmatched header is suggested
    assert "\n" not in message


def test_ragged_rows_are_unreadable_not_fatal(tmp_path):
    header, rows = complete("custody", CUSTODY, [[]])
    tail = "," + ",".join(rows[0]) if rows[0] else ""
    path = tmp_path / "custody.csv"
    path.write_text(
        f"{','.join(header)}\n"
        f"2024-01-05,A,1{tail}\n"
        f"2024-01-06,B{tail}\n"            # one field short
        f"2024-01-07,C,3,99{tail}\n"       # one field too many
        f"2024-01-08,\"D, E\",4{tail},,\n"  # trailing empty fields lose nothing
        f"\n"                               # blank line: no data, not counted
        f"2024-01-09,F,5{tail}\n"
    )
    lt = load_table(path, "custody")
    assert lt.frame["_row"].to_list() == [2, 5, 7]
    assert lt.frame["custodian"].to_list() == ["A", "D, E", "F"]
    ragged = row_issues(lt)
    assert [i.row for i in ragged] == [3, 4]
    assert all("fields but the header has" in i.problem for i in ragged)
    assert lt.rows_read == 5 and lt.rows_unreadable == 2
    invariant(lt)


def test_unclosed_quote_is_reported(tmp_path):
    header, rows = complete("custody", CUSTODY, [[]])
    tail = "," + ",".join(rows[0]) if rows[0] else ""
    path = tmp_path / "custody.csv"
    path.write_text(f"{','.join(header)}\n2024-01-05,A,1{tail}\n2024-01-06,\"oops,2{tail}\n"
                    f"2024-01-07,C,3{tail}\n")
    lt = load_table(path, "custody")
    assert lt.frame["custodian"].to_list() == ["A"]
    assert any("unclosed quote" in i.problem for i in lt.issues)
    invariant(lt)


# ----------------------------------------------------------------------------- hostile input


def test_empty_file_is_a_load_error(tmp_path):
    path = tmp_path / "custody.csv"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match=r"^custody\.csv: the file is empty"):
        load_table(path, "custody")


def test_header_only_file_is_an_empty_table(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY, [])
    lt = load_table(path, "custody")
    assert lt.rows_read == 0 and lt.frame.height == 0
    assert lt.frame.schema["date"] == pl.Date()


@pytest.mark.parametrize("payload", [
    os.urandom(4096),
    b"\x00\x01\x02\x03" * 1000,
    bytes(range(256)) * 20,
])
def test_binary_garbage_with_csv_extension_is_a_one_line_error(tmp_path, payload):
    path = tmp_path / "custody.csv"
    path.write_bytes(payload)
    with pytest.raises(LoadError) as err:
        load_table(path, "custody")
    assert str(err.value).startswith("custody.csv: ") and "\n" not in str(err.value)


def test_content_wins_over_a_wrong_extension(tmp_path):
    path = tmp_path / "custody.csv"
    header, rows = complete("custody", CUSTODY,
                            [["2024-01-05", "A", "1"]])
    pl.DataFrame({h: [v] for h, v in zip(header, rows[0])}).write_parquet(path)
    lt = load_table(path, "custody")
    assert lt.format == "parquet" and lt.frame.height == 1
    assert any("content is parquet" in i.problem for i in lt.issues)


@pytest.mark.parametrize("payload, message", [
    (b"PAR1" + b"\x00" * 64, "not a readable Parquet file"),
    (b"PK\x03\x04" + b"\x01" * 64, "cannot open as an Excel workbook"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 64, "compressed"),
    (b"<html><body><table></table></body></html>", "HTML"),
])
def test_damaged_containers_give_one_line_errors(tmp_path, payload, message):
    path = tmp_path / "custody.csv"
    path.write_bytes(payload)
    with pytest.raises(LoadError, match=message) as err:
        load_table(path, "custody")
    assert "\n" not in str(err.value)


def test_formula_like_cells_and_huge_fields_stay_text(tmp_path):
    huge = "y" * 1_000_000
    path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                     [["2024-01-05", "=cmd|'/c calc'!A1", "1"], ["2024-01-06", huge, "2"],
                      ["2024-01-07", "B", huge]])
    lt = load_table(path, "custody")
    assert readable(lt)["custodian"].to_list() == ["=cmd|'/c calc'!A1", huge]
    (issue,) = row_issues(lt)
    assert issue.row == 4 and len(issue.value) <= 201  # the issue keeps a prefix, not 1 MB
    invariant(lt)


def test_stray_nul_byte_makes_only_its_row_unreadable(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                     [["2024-01-05", "A\x00", "1"], ["2024-01-06", "B", "2"]])
    lt = load_table(path, "custody")
    assert readable(lt)["custodian"].to_list() == ["B"]
    assert [i.row for i in row_issues(lt)] == [2]


# ----------------------------------------------------------------------------- discovery


def test_discovery_aliases_case_ignored_and_unrecognised_files(tmp_path):
    write_csv(tmp_path / "Custodian_Statements.CSV", "custody", CUSTODY,
              [["2024-01-05", "A", "1"]])
    write_csv(tmp_path / "资本.csv", "capital", ["date", "net_capital", "liquid_assets"],
              [["2024-01-05", "1", "1"]])
    (tmp_path / "expected_violations.json").write_text("{}")
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / "whatever.csv").write_text("a,b\n1,2\n")
    export = load_export(tmp_path)
    assert set(export.tables) == {"custody", "capital"}
    # every file offered is accounted for: the ones not read are listed, whatever they are
    assert export.unrecognised_files == ["README.txt", "expected_violations.json", "whatever.csv"]
    assert export.root == tmp_path.resolve()
    only = load_export(tmp_path, tables=["capital"])
    assert set(only.tables) == {"capital"}


def test_loose_file_names_match_when_nothing_matches_exactly(tmp_path):
    write_csv(tmp_path / "custody_20240131.csv", "custody", CUSTODY,
              [["2024-01-05", "A", "1"]])
    write_csv(tmp_path / "capital.csv", "capital", ["date", "net_capital", "liquid_assets"],
              [["2024-01-05", "1", "1"]])
    write_csv(tmp_path / "old_capital.csv", "capital", ["date", "net_capital", "liquid_assets"],
              [["2023-01-05", "1", "1"]])
    export = load_export(tmp_path)
    assert export.tables["custody"].path.name == "custody_20240131.csv"
    assert any("from part of its name" in i.problem for i in export.tables["custody"].issues)
    assert export.tables["capital"].path.name == "capital.csv"  # the exact name wins
    assert export.unrecognised_files == ["old_capital.csv"]  # the loser is listed, not dropped
    assert load_export(tmp_path, tables=["custody"]).unrecognised_files == []


def test_mapping_file_name_is_case_insensitive(tmp_path):
    write_csv(tmp_path / "Bank_Statement.CSV", "custody", CUSTODY,
              [["2024-01-05", "A", "1"]])
    (tmp_path / "mapping.yaml").write_text("tables:\n  custody:\n    file: bank_statement.csv\n")
    assert load_export(tmp_path, mapping=mapped(tmp_path)).tables["custody"].frame.height == 1


def test_duplicate_candidate_files_are_a_load_error(tmp_path):
    for name in ("custody.csv", "存管对账单.csv"):
        write_csv(tmp_path / name, "custody", CUSTODY,
                  [["2024-01-05", "A", "1"]])
    with pytest.raises(LoadError, match="several files match table 'custody'") as err:
        load_export(tmp_path)
    assert "custody.csv" in str(err.value) and "存管对账单.csv" in str(err.value)
    (tmp_path / "mapping.yaml").write_text("tables:\n  custody:\n    file: custody.csv\n")
    assert load_export(tmp_path, mapping=mapped(tmp_path)).tables["custody"].path.name == "custody.csv"


def test_export_issues_collect_every_table(tmp_path):
    write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
              [["bad", "A", "1"]])
    write_csv(tmp_path / "capital.csv", "capital", ["date", "net_capital", "liquid_assets"],
              [["2024-01-05", "x", "1"]])
    export = load_export(tmp_path)
    assert {(i.table, i.column) for i in export.issues} == {("custody", "date"),
                                                             ("capital", "net_capital")}


def test_header_variants_match_without_mapping(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody", [" Date ", "CUSTODIAN", "Statement-Balance"],
                     [["2024-01-05", "A", "1"]])
    lt = load_table(path, "custody")
    assert lt.column_map[" Date "] == "date"
    assert lt.column_map["CUSTODIAN"] == "custodian"
    assert lt.column_map["Statement-Balance"] == "statement_balance"
    assert lt.frame["statement_balance"].to_list() == [1.0]


# ----------------------------------------------------------------------------- value parsing


DATE_CASES = [
    ("2024-01-05", date(2024, 1, 5)),
    ("2024/01/05", date(2024, 1, 5)),
    ("2024.01.05", date(2024, 1, 5)),
    ("20240105", date(2024, 1, 5)),
    ("2024-1-5", date(2024, 1, 5)),
    ("2024年1月5日", date(2024, 1, 5)),
    ("２０２４－０１－０５", date(2024, 1, 5)),
    ("2024-01-05 09:30:00", date(2024, 1, 5)),  # a DATE column keeps the date
    ("2024-01-05T23:30:00+08:00", date(2024, 1, 5)),  # ... as written, not shifted to UTC
    ("25/01/2024", date(2024, 1, 25)),
    ("5 Jan 2024", date(2024, 1, 5)),
    ("Jan 5, 2024", date(2024, 1, 5)),
    ("2024-02-30", None),
    ("24-01-05", None),
]


@pytest.mark.parametrize("text, expected", DATE_CASES)
def test_date_formats(tmp_path, text, expected):
    path = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                     [[text, "A", "1"]])
    lt = load_table(path, "custody")
    if expected is None:
        assert readable(lt).height == 0 and row_issues(lt)[0].problem == f"cannot parse {text!r} as date"
    else:
        assert readable(lt)["date"].to_list() == [expected]


DATETIME_CASES = [
    ("2024-01-05 09:30:00", datetime(2024, 1, 5, 9, 30)),
    ("2024-01-05T09:30:00", datetime(2024, 1, 5, 9, 30)),
    ("2024-01-05 09:30", datetime(2024, 1, 5, 9, 30)),
    ("2024-01-05T09:30:00.250", datetime(2024, 1, 5, 9, 30, 0, 250000)),
    ("2024-01-05", datetime(2024, 1, 5)),  # a DATETIME column gets midnight
    ("2024/01/05 9:30 PM", datetime(2024, 1, 5, 21, 30)),
    ("2024年1月5日 9时30分", datetime(2024, 1, 5, 9, 30)),
    ("2024-01-05 09:30:00+08:00", datetime(2024, 1, 5, 1, 30)),  # converted to UTC, the default
    ("2024-01-05 24:30", None),
]


@pytest.mark.parametrize("text, expected", DATETIME_CASES)
def test_datetime_formats(tmp_path, text, expected):
    path = write_csv(tmp_path / "margin_events.csv", "margin_events",
                     ["event_id", "account_id", "event_type", "event_at"],
                     [["E1", "A1", "margin_call", text]])
    lt = load_table(path, "margin_events")
    assert readable(lt)["event_at"].to_list() == ([expected] if expected else [])


def test_mixed_offsets_are_converted_to_utc_and_noted(tmp_path):
    path = write_csv(tmp_path / "margin_events.csv", "margin_events",
                     ["event_id", "account_id", "event_type", "event_at"],
                     [["E1", "A1", "margin_call", "2024-01-05T09:30:00+08:00"],
                      ["E2", "A1", "margin_call", "2024-01-05T01:30:00Z"]])
    lt = load_table(path, "margin_events")
    assert lt.frame["event_at"].to_list() == [datetime(2024, 1, 5, 1, 30)] * 2
    assert any(i.row is None and "mixes time-zone offsets" in i.problem for i in lt.issues)


def test_day_month_order_is_chosen_per_column(tmp_path):
    path = write_csv(tmp_path / "audits.csv", "audits",
                     ["audit_id", "period_start", "period_end", "report_date"],
                     [["R1", "01/02/2024", "12/31/2024", "03/04/2025"]])
    lt = load_table(path, "audits")
    # period_end only fits month-first, and the file's other ambiguous columns follow it
    assert lt.frame.row(0, named=True)["period_end"] == date(2024, 12, 31)
    assert lt.frame.row(0, named=True)["period_start"] == date(2024, 1, 2)
    assert lt.frame.row(0, named=True)["report_date"] == date(2025, 3, 4)
    ambiguous = write_csv(tmp_path / "custody.csv", "custody", CUSTODY,
                          [["01/02/2024", "A", "1"]])
    lt = load_table(ambiguous, "custody")
    assert lt.frame["date"].to_list() == [date(2024, 2, 1)]  # day-first by default ...
    assert any(i.column == "date" and "day-first" in i.problem for i in lt.issues)  # ... and said


NUMBER_CASES = [
    ("1,234,567.89", "statement_balance", 1234567.89),
    ("(1,234.50)", "statement_balance", -1234.5),
    ("¥1,000", "statement_balance", 1000.0),
    ("$ -12.5", "statement_balance", -12.5),
    ("RMB 2,000.00", "statement_balance", 2000.0),
    ("1 234 567,5", "statement_balance", 1234567.5),
    ("１２３．５", "statement_balance", 123.5),
    ("3.5万", "statement_balance", 35000.0),
    ("1e3", "statement_balance", 1000.0),
    ("12,34", "statement_balance", 12.34),  # comma not in thousands position: decimal comma
    ("12%", "statement_balance", None),  # a percent is not money
    ("1,23,4", "statement_balance", None),
    ("abc", "statement_balance", None),
    ("inf", "statement_balance", None),
]


@pytest.mark.parametrize("text, column, expected", NUMBER_CASES)
def test_money_formats(tmp_path, text, column, expected):
    path = write_csv(tmp_path / "custody.csv", "custody", ["date", "custodian", column],
                     [["2024-01-05", "A", text]])
    lt = load_table(path, "custody")
    assert readable(lt)[column].to_list() == ([expected] if expected is not None else [])
    invariant(lt)


@pytest.mark.parametrize("text, expected", [
    ("5%", 0.05), ("12.5 %", 0.125), ("(2%)", -0.02), ("0.05", 0.05), ("３％", 0.03), ("5‰", 0.005),
])
def test_rates_with_percent_signs(tmp_path, text, expected):
    path = write_csv(tmp_path / "fees.csv", "fees",
                     FEES,
                     [["F1", "2024-01-05", "A1", "interest", "1000", text, "30", "4.1"]])
    assert load_table(path, "fees").frame["rate"].to_list() == [pytest.approx(expected)]


def test_booleans_categories_and_null_markers(tmp_path):
    t = contract.table("clients")
    header = [c.name for c in t.columns if c.required]
    base = {c.name: _default(c) for c in t.columns}
    rows = []
    for pep, category, name in [("是", "Retail", "N/A"), ("No", "PROFESSIONAL", "—"),
                                ("y", "shop", "  Bob  "), ("maybe", "retail", "C")]:
        row = dict(base, pep=pep, category=category, name=name)
        rows.append([row[h] for h in header])
    path = write_csv(tmp_path / "clients.csv", "clients", header, rows)
    lt = load_table(path, "clients")
    assert readable(lt)["pep"].to_list() == [True, False, True]
    assert readable(lt)["category"].to_list() == ["retail", "professional", "shop"]  # 'shop' kept
    assert readable(lt)["name"].to_list() == [None, None, "Bob"]
    assert [(i.row, i.column) for i in row_issues(lt)] == [(5, "pep")]
    invariant(lt)
