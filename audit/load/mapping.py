"""mapping.yaml: how an export departs from the contract (file names, sheets, headers, values,
day order, decimal mark, encoding, time zones), validated so every mistake is a one-line LoadError.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from audit import contract
from audit.load.types import LoadError
from audit.load.zones import check_zone


MAX_MAPPING_BYTES = 1 << 20  # a mapping of every table and header is a few kilobytes


class TableMapping(BaseModel):
    """How one table's file departs from the contract (``tables.<name>`` in mapping.yaml).

    tables:
      clients:
        file: 客户信息.xlsx            # default: <table>.csv|.parquet|.xlsx or an alias
        sheet: 客户                   # default: a sheet named after the table, else the best match
        columns: {客户号: client_id}   # header in the file -> contract column
        values: {category: {零售: retail, 专业: professional}}
        dayfirst: false               # a/b/yyyy dates are month-first
        decimal_comma: true           # 1.234,56
        encoding: big5                # CSV text encoding, when detection gets it wrong
        timezone: UTC                 # date-times written without an offset are in this zone
                                      # (default: the export's zone, the top-level timezone:)
    """

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = {}  # header in the file -> contract column
    values: dict[str, dict[str, str]] = {}  # contract column -> {value in the file: value to use}
    dayfirst: bool | None = None
    decimal_comma: bool | None = None
    encoding: str | None = None
    timezone: str | None = None  # zone of date-times without an offset (default: the export's)

    @field_validator("columns", mode="before")
    @classmethod
    def _headers_as_text(cls, value: Any) -> Any:
        # NOTE: YAML reads a header like 2024 or yes as a number or a bool; the user meant text.
        # An empty 'columns:' (every entry commented out, as audit init leaves guesses) is none.
        if value is None:
            return {}
        if isinstance(value, dict):
            return {_yaml_text(k): _yaml_text(v) if v is not None else v for k, v in value.items()}
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {
                _yaml_text(col): (
                    {_yaml_text(k): _yaml_text(v) for k, v in sub.items()}
                    if isinstance(sub, dict) else sub
                )
                for col, sub in value.items()
            }
        return value


class MappingFile(BaseModel):
    """The whole mapping.yaml: the export's time zone (IANA name) and the tables.

    timezone: Asia/Shanghai           # the export's zone, unless the auditor chose another
    tables: {...}
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    tables: dict[str, TableMapping | None] = {}


@dataclass
class ExportMapping:
    """A checked mapping file: the export's time zone (when it names one) and each table's."""

    tables: dict[str, TableMapping] = field(default_factory=dict)
    timezone: str | None = None


def _yaml_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def read_mapping(path: Path) -> ExportMapping:
    """Parse and validate a mapping file; every problem is a LoadError naming the key."""
    name = path.name
    try:
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise LoadError(f"{name}: {path.stat().st_size:,} bytes is too large for a mapping "
                            f"file (at most {MAX_MAPPING_BYTES:,}); check it is the right file",
                            code="mapping-too-large")
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the mapping file ({exc.strerror}); check the path")
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw_bytes.decode("gb18030", errors="replace")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LoadError(f"{name}: not valid YAML{where}; fix the syntax")
    except RecursionError:
        raise LoadError(f"{name}: the YAML is nested too deeply to be a mapping file; fix the "
                        f"file") from None
    if document is None:
        return ExportMapping()
    if not isinstance(document, dict):
        raise LoadError(f"{name}: expected a 'tables:' section at the top level")
    try:
        parsed = MappingFile.model_validate(document)
    except ValidationError as exc:
        raise LoadError(f"{name}: {_describe_validation_error(exc)}") from None
    if parsed.timezone is not None:
        check_zone(parsed.timezone, f"{name}: timezone")
    mappings = {t: m or TableMapping() for t, m in parsed.tables.items()}
    for table_name, mapping in mappings.items():
        check_table_mapping(name, table_name, mapping)
    return ExportMapping(mappings, parsed.timezone)


def _describe_validation_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        fields = TableMapping.model_fields if len(error["loc"]) > 1 else MappingFile.model_fields
        allowed = ", ".join(fields)
        return f"unknown key '{location}'; allowed keys: {allowed}"
    return f"{location}: {error['msg']}"


def check_table_mapping(source: str, table_name: str, mapping: TableMapping) -> None:
    """Reject a mapping that names an unknown table, contract column or categorical value."""
    if table_name not in contract.TABLES_BY_NAME:
        raise LoadError(
            f"{source}: unknown table '{table_name}' under tables; "
            f"allowed: {', '.join(contract.TABLES_BY_NAME)}"
        )
    t = contract.TABLES_BY_NAME[table_name]
    if mapping.encoding is not None:
        try:
            codecs.lookup(mapping.encoding)
        except LookupError:
            raise LoadError(f"{source}: tables.{table_name}.encoding: unknown encoding "
                            f"{mapping.encoding!r}; use e.g. utf-8, gb18030, big5, cp1252") from None
    if mapping.timezone is not None:
        check_zone(mapping.timezone, f"{source}: tables.{table_name}.timezone")
    allowed_columns = ", ".join(t.column_names)
    for header, target in mapping.columns.items():
        if target not in t.column_names:
            raise LoadError(
                f"{source}: tables.{table_name}.columns.{header}: '{target}' is not a column of "
                f"table {table_name}; allowed: {allowed_columns} "
                f"(entries read <header in your file>: <contract column>)"
            )
    for column_name, replacements in mapping.values.items():
        if column_name not in t.column_names:
            raise LoadError(
                f"{source}: tables.{table_name}.values: '{column_name}' is not a column of table "
                f"{table_name}; allowed: {allowed_columns}"
            )
        allowed_values = t.column(column_name).allowed
        if not allowed_values:
            # NOTE: rewriting an id, an amount or a date would let a mapping change what a
            # record says; value replacements translate a closed vocabulary, nothing else.
            raise LoadError(
                f"{source}: tables.{table_name}.values.{column_name}: value replacements apply "
                f"only to columns with a closed list of values; {table_name}.{column_name} has "
                f"none: fix the data in the export instead", code="mapping-not-categorical")
        for source_value, target in replacements.items():
            if allowed_values and target not in allowed_values:
                raise LoadError(
                    f"{source}: tables.{table_name}.values.{column_name}.{source_value}: "
                    f"'{target}' is not allowed; allowed: {', '.join(allowed_values)}"
                )
