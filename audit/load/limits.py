"""Resource caps of the loader: the export is written by the platform under audit, so a file may
be built to exhaust memory or time (a zip bomb, a header of 200,000 columns, a cell of a
gigabyte). Each cap is checked as early and as cheaply as possible (file size and the zip
directory before anything is parsed, the header width from the first lines before a frame is
built), and a file past one is refused with a one-line LoadError carrying the cap's code, so the
audit ends with exit code 2 in seconds instead of running for minutes; it never passes.

The defaults fit a real export of tens of millions of rows (bench/README.md has the memory each
input byte costs); the auditor raises or lowers them with ``load_export(limits=Limits(...))`` or
``--limit name=value`` on the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from audit.errors import UsageError
from audit.load.types import LoadError

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    """The caps, one per way a hostile file can blow up a load (defaults in brackets).

    * ``max_text_bytes`` [512 MiB, about 10 million rows of positions]: size of a CSV/text
      file, which is read whole into memory (checked from the file's size before a byte is
      read; code ``too-large``). A load costs about 7 bytes of memory per byte of a regular
      file and 24 per byte of an irregular one (ragged rows send it through Python's csv
      module), so the cap keeps one file under about 4 GB, or 12 GB when irregular.
    * ``max_workbook_bytes`` [1 GiB]: an Excel workbook's unzipped size, the sum of its members'
      sizes in the zip directory, read before the workbook is opened (``too-large``). Python's
      zip reader never inflates a member past the size the directory declares, so the sum holds.
      openpyxl reads about 3 MB of sheet XML a second and holds about 3.5 bytes per byte, so a
      workbook at the cap takes about 6 minutes and 3.5 GB: bounded, not quick.
    * ``max_compression_ratio`` [100]: unzipped / zipped size of a workbook; real workbooks
      compress 5-30x, zip bombs hundreds to thousands of times (``zip-bomb``).
    * ``max_columns`` [2,000]: fields in any row of a table file or sheet; the contract's
      widest table has a few dozen columns (``too-many-columns``).
    * ``max_rows`` [20,000,000]: rows of one CSV or Parquet file, blank and title rows
      included; for text files every line counts, so a quoted value spanning lines counts
      more than once (``too-many-rows``).
    * ``max_sheet_rows`` [1,048,576, Excel's own limit]: row numbers of one sheet. A few bytes
      of sheet XML can claim row 100,000,000, and the reader walks every row number up to it
      (about a microsecond each), so a sheet is held to what Excel can open (``too-many-rows``).
    * ``max_cells`` [300,000,000]: rows x columns of one table file or sheet: what a frame of
      text cells costs in memory (about 16 bytes a cell before any value) (``too-many-cells``).
    * ``max_cell_chars`` [1,000,000]: characters in one cell; Excel itself stops at 32,767. A
      longer cell refuses the file, naming its row and column (``cell-too-long``): the file is
      in memory already, so reporting the cell unreadable would save nothing, while a refusal
      keeps a multi-megabyte value out of every parser, issue and report.
    """

    max_text_bytes: int = 512 * MIB
    max_workbook_bytes: int = GIB
    max_compression_ratio: float = 100.0
    max_columns: int = 2_000
    max_rows: int = 20_000_000
    max_sheet_rows: int = 1_048_576
    max_cells: int = 300_000_000
    max_cell_chars: int = 1_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise UsageError(f"limit {f.name}={value!r}: a limit is a positive number")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_options(self, options: list[str] | None) -> "Limits":
        """These limits with ``name=value`` overrides (``--limit``); UsageError when one has no
        meaning. Sizes may carry a unit (``512MiB``, ``2GB``, ``64k``); counts may use ``_``
        or ``,`` as thousands separators (``5_000_000``)."""
        changes: dict[str, int | float] = {}
        for item in options or []:
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep or not name:
                raise UsageError(f"--limit {item!r}: write it as name=value, e.g. --limit "
                                 f"max_rows=50000000")
            if name not in self.names():
                raise UsageError(f"--limit {name!r}: no such limit; the limits are "
                                 f"{', '.join(self.names())}")
            changes[name] = _parse_value(name, raw.strip())
        return replace(self, **changes)


DEFAULT_LIMITS = Limits()

_UNITS = {"": 1, "k": KIB, "kb": 1000, "kib": KIB, "m": MIB, "mb": 1000**2, "mib": MIB,
          "g": GIB, "gb": 1000**3, "gib": GIB}
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]*)$")


def _parse_value(name: str, raw: str) -> int | float:
    text = raw.replace("_", "").replace(",", "").lower()
    match = _NUMBER.match(text)
    unit = match.group(2) if match else None
    if match is None or unit not in _UNITS or (unit and not name.endswith("_bytes")):
        example = "512MiB" if name.endswith("_bytes") else "1000"
        raise UsageError(f"--limit {name}={raw!r}: write a positive number, e.g. --limit "
                         f"{name}={example}")
    value = float(match.group(1)) * _UNITS[unit]
    if value <= 0:
        raise UsageError(f"--limit {name}={raw!r}: a limit is a positive number")
    return value if name == "max_compression_ratio" else int(value)


def size_text(n: float) -> str:
    """A byte count as a person reads it (1.5 GiB, 300 MiB, 12 KiB)."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(n)} bytes"


def over_limit(file: str, found: str, name: str, code: str, advice: str) -> LoadError:
    """The one-line refusal of a file past a cap: what was found, the cap, what to do."""
    return LoadError(f"{file}: {found}, over the cap {name}; {advice}, or raise the cap with "
                     f"--limit {name}=... if the file is genuine", code=code)


def cell_too_long(file: str, row: int, column: str | None, length: int | str,
                  sheet: str | None = None) -> LoadError:
    """The refusal of a file holding a cell longer than max_cell_chars, naming the cell."""
    place = (f"{sheet}, " if sheet else "") + f"row {row}" + (f", column {column}" if column else "")
    size = f"{length:,}" if isinstance(length, int) else length
    return over_limit(file, f"{place} holds a cell of {size} characters", "max_cell_chars",
                      "cell-too-long", "shorten or remove that value")
