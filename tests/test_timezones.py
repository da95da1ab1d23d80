"""Time zones: every date-time of an export ends as wall-clock time in the export's one zone.

Expected values are worked out here with zoneinfo, independently of the loader's polars code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import polars as pl
import pytest

from audit.load import DataIssue, LoadError, load_export, load_table
from test_load import complete, invariant, readable, write_csv

EVENTS = ["event_id", "account_id", "event_type", "event_at"]
FINANCINGS = ["financing_id", "account_id", "client_id", "opened_at"]



def mapped(folder):
    """The mapping the test wrote into the folder: the auditor names it (it is never applied
    on its own)."""
    path = folder / "mapping.yaml"
    return path if path.exists() else None

def wall(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock time of an aware instant in ``zone``."""
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def events(path: Path, *values: str) -> Path:
    return write_csv(path / "margin_events.csv", "margin_events", EVENTS,
                     [[f"E{i}", "A1", "margin_call", v] for i, v in enumerate(values, 1)])


def financings(path: Path, *values: str) -> Path:
    return write_csv(path / "financings.csv", "financings", FINANCINGS,
                     [[f"F{i}", "A1", "C1", v] for i, v in enumerate(values, 1)])


def events_parquet(path: Path, values: list[datetime], zone: str | None = None) -> Path:
    """margin_events.parquet with native date-times (the other columns as text)."""
    header, rows = complete("margin_events", EVENTS,
                            [[f"E{i}", "A1", "margin_call", ""] for i in range(1, len(values) + 1)])
    frame = pl.DataFrame(rows, schema=header, orient="row").with_columns(
        pl.Series("event_at", values, dtype=pl.Datetime("us")))
    if zone is not None:
        frame = frame.with_columns(pl.col("event_at").dt.replace_time_zone(zone))
    frame.write_parquet(path / "margin_events.parquet")
    return path / "margin_events.parquet"


def column_notes(lt, column: str) -> list[DataIssue]:
    return [i for i in lt.issues if i.row is None and i.column == column]


# ----------------------------------------------------------------------------- one zone for all


@pytest.mark.parametrize("mapping, option, zone", [
    # the export is in Shanghai; financings.csv was written in UTC with 'Z'
    ("timezone: Asia/Shanghai\n", None, "Asia/Shanghai"),
    # the auditor works in UTC; margin_events.csv is naive Shanghai time, declared per table
    ("tables: {margin_events: {timezone: Asia/Shanghai}}\n", "UTC", "UTC"),
    # the auditor's choice wins over mapping.yaml's zone; the table's own zone still holds
    ("timezone: Asia/Shanghai\ntables: {margin_events: {timezone: Asia/Shanghai}}\n",
     "America/New_York", "America/New_York"),
])
def test_utc_offsets_and_naive_shanghai_times_give_the_same_instants(tmp_path, mapping, option,
                                                                       zone):
    instant = utc(2024, 1, 5, 1, 30)
    financings(tmp_path, "2024-01-05T01:30:00Z")
    events(tmp_path, wall(instant, "Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S"))
    (tmp_path / "mapping.yaml").write_text(mapping)
    export = load_export(tmp_path, mapping=mapped(tmp_path), timezone=option)
    assert export.timezone == zone
    opened = export.tables["financings"].frame["opened_at"].to_list()
    happened = export.tables["margin_events"].frame["event_at"].to_list()
    assert opened == happened == [wall(instant, zone)]
    assert export.tables["margin_events"].frame["event_at"].dtype == pl.Datetime("us")


@pytest.mark.parametrize("option, mapping, default, zone, source", [
    ("Europe/Paris", "Asia/Shanghai", "Asia/Tokyo", "Europe/Paris", "option"),
    (None, "Asia/Shanghai", "Asia/Tokyo", "Asia/Shanghai", "mapping"),
    (None, None, "Asia/Tokyo", "Asia/Tokyo", "default"),
    (None, None, None, "UTC", "default"),
])
def test_the_option_beats_mapping_yaml_beats_the_default(tmp_path, option, mapping, default,
                                                         zone, source):
    events(tmp_path, "2024-07-01T12:00:00Z")
    if mapping is not None:
        (tmp_path / "mapping.yaml").write_text(f"timezone: {mapping}\n")
    kwargs = {"default_timezone": default} if default is not None else {}
    export = load_export(tmp_path, mapping=mapped(tmp_path), timezone=option, **kwargs)
    assert (export.timezone, export.timezone_source) == (zone, source)
    assert export.tables["margin_events"].frame["event_at"].to_list() == [
        wall(utc(2024, 7, 1, 12), zone)]


def test_a_table_zone_converts_its_naive_values_to_the_export_zone(tmp_path):
    # the plain ISO fast path and the general parser both convert
    financings(tmp_path, "2024-01-05 01:30:00", "2024-06-30 23:00:00")
    events(tmp_path, "2024/01/05 1:30", "2024-01-05 09:30:00")
    (tmp_path / "mapping.yaml").write_text(
        "timezone: Asia/Shanghai\ntables:\n  financings: {timezone: UTC}\n"
        "  margin_events: {timezone: Europe/London}\n")
    export = load_export(tmp_path, mapping=mapped(tmp_path))
    assert export.tables["financings"].frame["opened_at"].to_list() == [
        wall(utc(2024, 1, 5, 1, 30), "Asia/Shanghai"), wall(utc(2024, 6, 30, 23), "Asia/Shanghai")]
    london = ZoneInfo("Europe/London")
    assert export.tables["margin_events"].frame["event_at"].to_list() == [
        wall(datetime(2024, 1, 5, 1, 30, tzinfo=london), "Asia/Shanghai"),
        wall(datetime(2024, 1, 5, 9, 30, tzinfo=london), "Asia/Shanghai")]
    # a declared zone is what the auditor said: nothing to report
    assert not export.issues


def test_naive_values_in_the_export_zone_are_not_converted(tmp_path):
    financings(tmp_path, "2024-01-05 01:30:00", "2024-03-10 02:30:00")  # a skipped hour in New York
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        lt = load_export(tmp_path, timezone=zone).tables["financings"]
        assert lt.frame["opened_at"].to_list() == [datetime(2024, 1, 5, 1, 30),
                                                   datetime(2024, 3, 10, 2, 30)]
        assert lt.rows_unreadable == 0 and not lt.issues


def test_date_columns_keep_the_date_as_written(tmp_path):
    path = write_csv(tmp_path / "custody.csv", "custody",
                     ["date", "custodian", "statement_balance"],
                     [["2024-01-05T23:30:00Z", "A", "1"], ["2024-01-05T00:30:00+08:00", "A", "1"]])
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        lt = load_table(path, "custody", timezone=zone)
        assert lt.frame["date"].to_list() == [date(2024, 1, 5)] * 2
        assert not lt.issues


# ----------------------------------------------------------------------------- what is reported


def test_values_with_and_without_an_offset_are_all_kept_and_reported(tmp_path):
    path = events(tmp_path, "2024-01-05T09:30:00+08:00", "2024-01-05 03:00:00",
                  "2024-01-05T02:00:00+08:00", "2024-01-06 04:00")
    lt = load_table(path, "margin_events", timezone="Asia/Shanghai")
    assert lt.frame["event_at"].to_list() == [
        datetime(2024, 1, 5, 9, 30), datetime(2024, 1, 5, 3), datetime(2024, 1, 5, 2),
        datetime(2024, 1, 6, 4)]
    assert lt.rows_unreadable == 0
    invariant(lt)
    [note] = column_notes(lt, "event_at")
    assert "2 of 4 values carry no time-zone offset (first at row 3)" in note.problem
    assert "taken as Asia/Shanghai time" in note.problem
    assert "+08:00" in note.problem


def test_naive_values_of_a_table_zone_beside_offsets_say_both_zones(tmp_path):
    events(tmp_path, "2024-01-05T09:30:00+08:00", "2024-01-05 03:00:00")
    (tmp_path / "mapping.yaml").write_text("tables: {margin_events: {timezone: Europe/Berlin}}\n")
    lt = load_export(tmp_path, mapping=mapped(tmp_path), timezone="UTC").tables["margin_events"]
    assert lt.frame["event_at"].to_list() == [
        datetime(2024, 1, 5, 1, 30),
        wall(datetime(2024, 1, 5, 3, tzinfo=ZoneInfo("Europe/Berlin")), "UTC")]
    [note] = column_notes(lt, "event_at")
    assert "taken as Europe/Berlin time and converted to UTC time" in note.problem


def test_mixed_offsets_are_listed_and_all_converted(tmp_path):
    path = events(tmp_path, "2024-01-05T09:30:00+08:00", "2024-01-05T01:30:00Z",
                  "2024-01-04 20:30:00-05", "2024-01-05T07:00:00+0530", "2024-01-05T01:30:00 UTC")
    lt = load_table(path, "margin_events", timezone="Europe/Paris")
    instant = wall(utc(2024, 1, 5, 1, 30), "Europe/Paris")
    assert lt.frame["event_at"].to_list() == [instant] * 5
    [note] = column_notes(lt, "event_at")
    assert "mixes time-zone offsets (-05:00, +00:00, +05:30, +08:00)" in note.problem
    assert "converted to Europe/Paris time" in note.problem


def test_many_offsets_are_listed_only_in_part(tmp_path):
    values = [f"2024-01-05T12:00:00+{h:02d}:00" for h in range(1, 8)]
    lt = load_table(events(tmp_path, *values), "margin_events")
    assert lt.frame["event_at"].to_list() == [datetime(2024, 1, 5, 12 - h) for h in range(1, 8)]
    [note] = column_notes(lt, "event_at")
    assert "(+01:00, +02:00, +03:00, +04:00 and 3 more)" in note.problem


def test_one_foreign_offset_is_converted_and_noted(tmp_path):
    path = events(tmp_path, "2024-01-05T09:30:00+08:00", "2024-01-05T23:30:00+08:00")
    lt = load_table(path, "margin_events", timezone="UTC")
    assert lt.frame["event_at"].to_list() == [datetime(2024, 1, 5, 1, 30),
                                              datetime(2024, 1, 5, 15, 30)]
    [note] = column_notes(lt, "event_at")
    assert "converted from +08:00 to UTC" in note.problem
    # the same offset in the matching zone: nothing converted, nothing to say
    lt = load_table(path, "margin_events", timezone="Asia/Shanghai")
    assert lt.frame["event_at"].to_list() == [datetime(2024, 1, 5, 9, 30),
                                              datetime(2024, 1, 5, 23, 30)]
    assert not column_notes(lt, "event_at")


@pytest.mark.parametrize("value, noted", [
    ("2024-07-01T12:00:00+01:00", False),  # London's own summer offset
    ("2024-01-05T12:00:00+01:00", True),  # London is +00:00 in winter
])
def test_an_offset_is_foreign_only_where_the_zone_differs_at_that_time(tmp_path, value, noted):
    lt = load_table(events(tmp_path, value), "margin_events", timezone="Europe/London")
    instant = datetime.fromisoformat(value)
    assert lt.frame["event_at"].to_list() == [wall(instant, "Europe/London")]
    assert bool(column_notes(lt, "event_at")) == noted


def test_an_offset_out_of_range_makes_the_cell_unreadable(tmp_path):
    lt = load_table(events(tmp_path, "2024-01-05T09:30:00+25:00", "2024-01-05T09:30:00Z"),
                    "margin_events")
    assert lt.frame["event_at"].to_list() == [None, datetime(2024, 1, 5, 9, 30)]
    assert lt.rows_partly_unreadable == 1 and [i.row for i in lt.issues if i.row] == [2]
    invariant(lt)


# ----------------------------------------------------------------------------- Parquet and Excel


def test_parquet_aware_columns_are_converted_and_noted(tmp_path):
    path = events_parquet(tmp_path, [datetime(2024, 1, 5, 9, 30), datetime(2024, 7, 1, 0, 15)],
                          "Asia/Shanghai")
    lt = load_table(path, "margin_events", timezone="Europe/London")
    shanghai_zone = ZoneInfo("Asia/Shanghai")
    assert lt.frame["event_at"].to_list() == [
        wall(datetime(2024, 1, 5, 9, 30, tzinfo=shanghai_zone), "Europe/London"),
        wall(datetime(2024, 7, 1, 0, 15, tzinfo=shanghai_zone), "Europe/London")]
    assert lt.frame["event_at"].dtype == pl.Datetime("us")
    [note] = column_notes(lt, "event_at")
    assert "stored in time zone Asia/Shanghai" in note.problem and "Europe/London" in note.problem
    # stored in the export's own zone: converted to naive, nothing to say
    lt = load_table(path, "margin_events", timezone="Asia/Shanghai")
    assert lt.frame["event_at"].to_list() == [datetime(2024, 1, 5, 9, 30),
                                              datetime(2024, 7, 1, 0, 15)]
    assert not lt.issues


def test_parquet_and_excel_naive_values_are_taken_in_the_table_zone(tmp_path):
    naive = [datetime(2024, 1, 5, 9, 30), datetime(2024, 7, 1, 0, 15)]
    (tmp_path / "parquet").mkdir()
    frame = pl.read_parquet(events_parquet(tmp_path / "parquet", naive))
    (tmp_path / "excel").mkdir()
    workbook = openpyxl.Workbook()
    workbook.active.append(frame.columns)
    for row in frame.iter_rows():
        workbook.active.append(list(row))  # native Excel date-times
    workbook.save(tmp_path / "excel" / "margin_events.xlsx")
    expected = [wall(v.replace(tzinfo=ZoneInfo("Asia/Shanghai")), "UTC") for v in naive]
    for folder in ("parquet", "excel"):
        (tmp_path / folder / "mapping.yaml").write_text(
            "timezone: UTC\ntables: {margin_events: {timezone: Asia/Shanghai}}\n")
        export = load_export(tmp_path / folder, mapping=mapped(tmp_path / folder))
        assert export.tables["margin_events"].frame["event_at"].to_list() == expected, folder


# ----------------------------------------------------------------------------- daylight saving


DST_VALUES = [
    "2024-03-10 02:30:00",  # New York skips 02:00-03:00: no such time
    "2024-11-03 01:30:00",  # New York repeats 01:00-02:00: the earlier (EDT) is taken
    "2024-07-01 12:00:00",
]


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_daylight_saving_edges_of_a_table_zone(tmp_path, source):
    if source == "csv":
        events(tmp_path, *DST_VALUES)
    else:
        events_parquet(tmp_path, [datetime.fromisoformat(v) for v in DST_VALUES])
    (tmp_path / "mapping.yaml").write_text(
        "tables: {margin_events: {timezone: America/New_York}}\n")
    lt = load_export(tmp_path, mapping=mapped(tmp_path)).tables["margin_events"]
    new_york = ZoneInfo("America/New_York")
    assert readable(lt)["event_id"].to_list() == ["E2", "E3"]
    assert readable(lt)["event_at"].to_list() == [
        wall(datetime(2024, 11, 3, 1, 30, tzinfo=new_york, fold=0), "UTC"),
        wall(datetime(2024, 7, 1, 12, tzinfo=new_york), "UTC")]
    assert readable(lt)["event_at"][0] == datetime(2024, 11, 3, 5, 30)  # EDT is UTC-4
    assert lt.rows_read == 3 and lt.rows_partly_unreadable == 1
    invariant(lt)
    [cell] = [i for i in lt.issues if i.row is not None]
    assert cell.column == "event_at" and cell.row == (2 if source == "csv" else 1)
    assert cell.value.startswith("2024-03-10 02:30:00")  # Parquet shows the microseconds too
    assert cell.problem.startswith(f"cannot parse {cell.value!r} as date-time: ")
    assert "does not exist in America/New_York" in cell.problem
    [note] = column_notes(lt, "event_at")
    assert "repeated" in note.problem and "America/New_York" in note.problem


# ----------------------------------------------------------------------------- unknown zones


@pytest.mark.parametrize("mapping, kwargs, message", [
    ("timezone: Asia/Shang\n", {},
     "mapping.yaml: timezone 'Asia/Shang': not a known time zone; use an IANA name such as "
     "Asia/Shanghai or UTC"),
    ("tables: {financings: {timezone: Mars/Olympus}}\n", {},
     "mapping.yaml: tables.financings.timezone 'Mars/Olympus': not a known time zone"),
    ("timezone: 8\n", {}, "mapping.yaml: timezone"),
    ("", {"timezone": "Asia/Shang"}, "timezone 'Asia/Shang': not a known time zone"),
    ("", {"timezone": "localtime"}, "timezone 'localtime': not a known time zone"),
    ("", {"default_timezone": "+08:00"}, "default_timezone '+08:00': not a known time zone"),
])
def test_an_unknown_zone_is_a_one_line_load_error(tmp_path, mapping, kwargs, message):
    financings(tmp_path, "2024-01-05 01:30:00")
    if mapping:
        (tmp_path / "mapping.yaml").write_text(mapping)
    with pytest.raises(LoadError) as err:
        load_export(tmp_path, mapping=mapped(tmp_path), **kwargs)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_the_unknown_key_message_lists_timezone(tmp_path):
    (tmp_path / "mapping.yaml").write_text("time_zone: UTC\n")
    with pytest.raises(LoadError, match="allowed keys: timezone, tables"):
        load_export(tmp_path, mapping=mapped(tmp_path))
    (tmp_path / "mapping.yaml").write_text("tables: {clients: {tz: UTC}}\n")
    with pytest.raises(LoadError, match="allowed keys: .*timezone"):
        load_export(tmp_path, mapping=mapped(tmp_path))


def test_a_generated_export_loads_the_same_in_any_zone(tmp_path):
    """Naive values are taken in the export's zone: choosing another zone changes no value.
    The generator writes its margin events in UTC with a Z: read in Beijing time they are
    eight hours later on the clock, and equal to the UTC reading otherwise."""
    from audit.sample import UTC_TABLES, generate

    generate(tmp_path, accounts=120, seed=7, days=8)
    frames = {zone: {n: t.frame for n, t in load_export(tmp_path, timezone=zone).tables.items()}
              for zone in ("UTC", "Asia/Shanghai")}
    assert frames["UTC"].keys() == frames["Asia/Shanghai"].keys()
    for name, frame in frames["UTC"].items():
        if name not in UTC_TABLES:
            assert frame.equals(frames["Asia/Shanghai"][name]), name
    utc, beijing = frames["UTC"]["margin_events"], frames["Asia/Shanghai"]["margin_events"]
    timed = utc["event_at"]
    assert timed.dtype == pl.Datetime("us") and timed.is_not_null().all() and len(timed) > 0
    assert ((beijing["event_at"] - timed).dt.total_hours() == 8).all()
    # In Beijing time every margin call goes out after the close (the simulation's 18:00).
    calls = beijing.filter(pl.col("event_type") == "margin_call")
    assert (calls["event_at"].dt.hour() == 18).all()


def test_offsets_move_instants_not_just_labels(tmp_path):
    """An 8-hour skew is gone: a call at 09:00 Shanghai comes before a 02:00 UTC liquidation."""
    path = events(tmp_path, "2024-01-05T09:00:00+08:00", "2024-01-05T02:00:00Z")
    lt = load_table(path, "margin_events", timezone="Asia/Shanghai")
    call, liquidation = lt.frame["event_at"].to_list()
    assert liquidation - call == timedelta(hours=1)
