"""`audit init`: draft a mapping file for an unknown export, every table at once."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from audit.cli.common import EXIT_ERROR, DataDir, LimitOpt, fail, info, limits_from, require_dir


def init(
    data_dir: Path = DataDir,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Mapping file to write (default: FOLDER.mapping.yaml in the "
        "current folder, FOLDER being DATA_DIR's name). Never inside DATA_DIR."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
    limit: Optional[list[str]] = LimitOpt,
) -> None:
    """Read an unknown export in DATA_DIR and write a pre-filled mapping file for every table:
    tables guessed from file names and headers, headers matched by alias and fuzzy match, each
    with its confidence; guesses short of sure are left commented out to confirm. Then run
    `audit validate DATA_DIR --mapping FILE`.

    Exit code: 0 written, 2 unreadable folder or refused output file.
    """
    from audit import __version__
    from audit.load.draft import check_round_trip, render
    from audit.load.guess import guess_tables
    from audit.load.mapping import read_mapping
    from audit.load.paths import export_root
    from audit.load.peek import survey
    from audit.load.types import LoadError

    require_dir(data_dir)
    limits = limits_from(limit)
    try:
        root = export_root(data_dir)
    except LoadError as err:
        fail(str(err), EXIT_ERROR)
    target = out if out is not None else Path.cwd() / f"{root.name}.mapping.yaml"
    real = _check_target(target, root, force)
    try:
        found = survey(root, limits)
    except OSError as exc:
        fail(f"{root}: cannot list the folder ({exc.strerror}); check its permissions")
    guesses, left = guess_tables(found.samples)
    draft = render(root.name, found, guesses, left, date.today().isoformat(), __version__)
    if not check_round_trip(draft):  # NOTE: a bug, never the export's doing: exit code 3
        raise RuntimeError("the drafted mapping does not read back as written")
    _write(real, draft.text)
    try:
        read_mapping(real)  # the loader accepts what init wrote, or the run says so now
    except LoadError as err:
        raise RuntimeError(f"the drafted mapping is refused by the loader: {err}") from None
    info(f"wrote {target}")
    info(f"  tables: {draft.sure_tables:,} found, {draft.tables_to_confirm:,} to confirm, "
         f"{len(found.samples) - len(guesses):,} file(s) or sheet(s) fit no table, "
         f"{len(found.skipped):,} folder entries not read")
    info(f"  headers: {draft.sure_columns:,} mapped, {draft.columns_to_confirm:,} guesses to "
         f"confirm (commented out)")
    for name, missing in draft.missing_required.items():
        info(f"  {name}: required column(s) no header was matched to: {', '.join(missing)}")
    info(f"next: review {target.name} (every '# confirm:' line), then run: audit validate "
         f"{data_dir} --mapping {target}")


def _check_target(target: Path, root: Path, force: bool) -> Path:
    """The file to write, resolved; exit 2 when it is inside the export, a folder, or exists
    without --force. A link is replaced, never written through."""
    parent = target.parent.resolve()
    real = parent / target.name
    for where in {real, target.resolve()}:
        if where == root or where.is_relative_to(root):
            fail(f"{target}: inside the export folder {root}; the export is the auditee's and "
                 f"init never writes into it: give --out a path outside it")
    if not parent.is_dir():
        fail(f"{target.parent}: no such folder; create it or give --out another path")
    if target.is_dir():
        fail(f"{target}: is a folder; give --out a file name")
    if (target.exists() or target.is_symlink()) and not force:
        fail(f"{target}: already exists; pass --force to replace it, or --out another file")
    return real


def _write(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".audit-init-", suffix=".yaml", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        fail(f"{path}: cannot write the mapping ({exc.strerror}); check the folder's "
             f"permissions or give --out another path")
