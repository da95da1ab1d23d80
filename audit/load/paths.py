"""Confinement: which paths an audit may read. The export is the auditee's; nothing it holds may
make the audit read outside it.

* The data folder is resolved once (the auditor named it, so a link to it is fine); every input
  is resolved too and must lie under it: no ``..``, no absolute names in a mapping, no symbolic
  link that leads out, no FIFO, socket or device (opening a FIFO would hang the audit).
* Each refusal is a one-line ``LoadError`` naming the file and saying what to do.
* Inputs are recorded by their path relative to the data folder, and compared by resolved path,
  so two names for one file never count as two files and a decoy never hides the real one.
"""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from audit.load.types import LoadError

OUTSIDE = "path-outside-export"
NOT_REGULAR = "not-a-regular-file"


def export_root(data_dir: Path) -> Path:
    """The data folder, resolved; a LoadError when it is not a folder."""
    root = Path(data_dir)
    if not root.is_dir():
        raise LoadError(f"{root}: not a directory; point the audit at the folder holding the "
                        f"export")
    return root.resolve()


def confined(root: Path, path: Path, label: str | None = None) -> Path:
    """``path`` resolved, when it is a regular file under ``root``; else a LoadError.

    ``label`` is how the user knows the file (its name in the folder or in the mapping).
    """
    label = label or path.name
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise LoadError(f"{label}: the link points to a file that does not exist; put the file "
                        f"itself in the export folder", code=OUTSIDE) from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise LoadError(f"{label}: cannot resolve the path ({exc}); put the file itself in the "
                        f"export folder", code=OUTSIDE) from None
    if not real.is_relative_to(root):
        raise LoadError(f"{label}: leads outside the export folder (to {real}); the audit reads "
                        f"only files inside {root}: copy the file into it", code=OUTSIDE)
    mode = real.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a folder" if stat.S_ISDIR(mode) else "not a regular file")
        raise LoadError(f"{label}: is {kind}, not a file; export the table as a regular file",
                        code=NOT_REGULAR)
    return real


def named_input(root: Path, name: str, source: str) -> Path:
    """A file named in a mapping (``tables.<t>.file``): a relative path inside the export.

    Absolute paths and ``..`` are refused outright (even when they would land inside), so a
    mapping means the same wherever the export is copied.
    """
    if not name or not name.strip():
        raise LoadError(f"{source}: empty file name; name a file in the export folder")
    for flavour in (PurePosixPath(name), PureWindowsPath(name)):
        if flavour.is_absolute() or flavour.drive or flavour.anchor:
            raise LoadError(f"{source}: {name!r} is an absolute path; name the file relative "
                            f"to the export folder", code=OUTSIDE)
        if ".." in flavour.parts:
            raise LoadError(f"{source}: {name!r} climbs out with '..'; name a file inside the "
                            f"export folder", code=OUTSIDE)
    candidate = root / name
    if candidate.is_symlink() or candidate.exists():
        return confined(root, candidate, f"{source}: {name}")
    # NOTE: file names typed into a mapping often differ from the real one only in case.
    parent = candidate.parent
    if parent.is_dir():
        for entry in parent.iterdir():
            if entry.name.lower() == candidate.name.lower():
                return confined(root, entry, f"{source}: {name}")
    raise LoadError(f"{source}: no file {name!r} in the export folder; fix the file name")


def relative(root: Path, path: Path) -> str:
    """How findings name an input: its path relative to the data folder (POSIX separators)."""
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def special(entry: Path) -> bool:
    """True for a directory entry that is a link or not a regular file or folder (checked with
    lstat: nothing is opened or followed)."""
    try:
        mode = entry.lstat().st_mode
    except OSError:
        return True
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
