"""What the parsers of one file share: the file, table and mapping, the table's time zones, the
file-wide decimal mark and day order (worked out only when a column cannot tell on its own), and
the notes and cell problems they leave.
"""

from __future__ import annotations

import polars as pl

from audit.contract import DATE, DATETIME, FLOAT, INT, MONEY, RATE, Table
from audit.load.mapping import TableMapping
from audit.load.parse.dates import day_order_evidence
from audit.load.parse.numbers import decimal_evidence, split_number_text
from audit.load.types import DataIssue
from audit.load.zones import Converted, TableZones, aware_to_export, to_export_zone


class ParseContext:
    """What the parsers of one file need beyond the column itself, and the notes they leave.

    The decimal mark and day order of the whole file are worked out only when a column cannot
    tell on its own (most files never need them).
    """

    def __init__(self, file: str, t: Table, fmt: str, mapping: TableMapping,
                 texts: dict[str, pl.Series], zones: TableZones | None = None,
                 rows: pl.Series | None = None):
        self.file, self.table, self.format, self.mapping = file, t, fmt, mapping
        self.texts = texts  # contract column -> cleaned text, for text-typed sources only
        self.zones = zones or TableZones()
        self.rows = rows if rows is not None else pl.Series("_row", [], dtype=pl.Int64)
        self.notes: list[DataIssue] = []
        self.replaced: list[dict] = []  # the mapping's value replacements that changed cells
        # contract column -> (cells, why): why those cells are unreadable, when not plain text
        self.cell_problems: dict[str, tuple[pl.Series, str]] = {}
        self._decimal_comma: bool | None = None
        self._dayfirst: bool | None = None
        self._dayfirst_known = False

    def note(self, column: str, problem: str) -> None:
        self.notes.append(DataIssue(self.file, self.table.name, None, column, None, problem,
                                             "column-note"))

    def in_export_zone(self, wall: pl.Series, offsets: pl.Series | None, column: str) -> pl.Series:
        """Date-times (naive, or with offsets in minutes) as wall-clock times of the export zone."""
        return self._reported(to_export_zone(wall, offsets, self.zones, column, self.rows), column)

    def aware_in_export_zone(self, s: pl.Series, column: str) -> pl.Series:
        """A zone-aware column as wall-clock times of the export zone."""
        return self._reported(aware_to_export(s, self.zones, column), column)

    def _reported(self, converted: Converted, column: str) -> pl.Series:
        for problem in converted.notes:
            self.note(column, problem)
        if converted.nonexistent is not None:
            self.cell_problems[column] = (
                converted.nonexistent,
                f"that time does not exist in {self.zones.naive} (the clocks went forward); "
                f"correct it or write it with its offset",
            )
        return converted.value

    def file_decimal_comma(self) -> bool:
        """Whether the file's other numeric columns show a decimal comma rather than a dot."""
        if self._decimal_comma is None:
            commas = dots = 0
            for name, text in self.texts.items():
                if self.table.column(name).type in (FLOAT, MONEY, RATE, INT):
                    comma, dot = decimal_evidence(split_number_text(text)[0])
                    commas += comma and not dot
                    dots += dot and not comma
            self._decimal_comma = commas > dots
        return self._decimal_comma

    def file_dayfirst(self) -> bool | None:
        """Day order shown unambiguously (and consistently) by the file's other date columns."""
        if not self._dayfirst_known:
            votes = {
                vote for name, text in self.texts.items()
                if self.table.column(name).type in (DATE, DATETIME)
                and (vote := day_order_evidence(text)) is not None
            }
            self._dayfirst = votes.pop() if len(votes) == 1 else None
            self._dayfirst_known = True
        return self._dayfirst
