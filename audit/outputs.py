"""The output folder of a run: written whole or not at all, and self-describing.

A command writes every output into a hidden sibling of OUT, ``.OUT.partial-<token>``, and only
when all of them are written adds ``manifest.json`` (last: the run id and every file with its
sha256 and size) and moves the folder into place. So a folder named OUT is always one complete
run; a run that fails or is interrupted removes its partial folder, and one killed outright
leaves a folder whose name says ``partial``, never a result.

Where the outputs may go is checked before any work:

* OUT missing or empty: it becomes the run's folder;
* OUT holding an earlier run of this tool (its ``manifest.json`` lists every file in it): the
  earlier run is replaced as a whole (moved aside, the new folder moved in, the old deleted),
  never mixed with the new one;
* OUT holding anything else (the auditor's own files, an export): refused;
* OUT equal to, inside or holding an input folder (the export): refused, since outputs written
  into the export would be read as input by the next audit.

A failure to write (no space, no permission, a read-only disk) is an ``OutputError``: one
line naming the folder and what to do, exit code 2.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from audit import __version__
from audit.errors import OutputError
from audit.load.types import file_sha256

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TOOL = "platform-audit"
PARTIAL = "partial"  # .OUT.partial-<token>: a run being written (or one that was killed)
REPLACED = "replaced"  # .OUT.replaced-<token>: an earlier run being deleted
_MANIFEST_MAX_BYTES = 1 << 20  # ours lists a handful of files; anything larger is not ours

_NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
# Errors of writing a folder (as opposed to a bug): they become one-line OutputErrors.
_OUTPUT_ERRNOS = _NO_SPACE | _NO_PERMISSION | {
    errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EIO,
    errno.ENOTEMPTY, errno.EXDEV, errno.EBUSY,
}


class OutputFolder:
    """``with OutputFolder(out, inputs=[data_dir]) as folder:`` write into ``folder.path``,
    then ``folder.publish(run_id)``; leaving the block without publishing (an error, an
    interrupt) removes everything written.

    ``inputs`` are the folders and files the run reads (None entries are ignored): OUT may not
    be one of them, inside one or hold one. ``command`` is recorded in the manifest.
    """

    def __init__(self, out: Path, *, inputs: Iterable[Path | None] = (), command: str = "run"):
        # NOTE: resolved, so a symlinked OUT is written where it points and the checks
        # compare real locations (an export reached through a symlink too).
        try:
            self.out = Path(out).resolve()
        except (OSError, RuntimeError) as err:  # a symlink loop
            raise OutputError(f"--out {out}: {err}; choose another folder") from err
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.command = command
        self.path = self.out.parent / f".{self.out.name}.{PARTIAL}-{secrets.token_hex(6)}"
        self.published = False

    # --- the block -------------------------------------------------------------------------

    def __enter__(self) -> "OutputFolder":
        if self.out == self.out.parent:
            raise OutputError(f"--out {self.out}: give a folder for the outputs, not a disk's "
                              "root")
        check_target(self.out, self.inputs)
        with self.writing(self.out.parent):
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        return self

    def __exit__(self, *exc_info) -> bool:
        # NOTE: any exception, an interrupt too (audit.cli.main turns Ctrl-C and SIGTERM into
        # audit.errors.Interrupted); only a kill -9 leaves the partial folder behind.
        if not self.published:
            shutil.rmtree(self.path, ignore_errors=True)
        return False

    @contextmanager
    def writing(self, folder: Path | None = None) -> Iterator[None]:
        """Turn a failure to write (no space, no permission ...) into an OutputError naming
        ``folder`` (default OUT); any other error is a bug and passes through."""
        try:
            yield
        except OSError as err:
            if err.errno not in _OUTPUT_ERRNOS:
                raise
            raise OutputError(_message(err, folder or self.out)) from err

    def publish(self, run_id: str) -> Path:
        """Write the manifest (last), then move the folder into place as OUT; return OUT."""
        with self.writing():
            manifest = manifest_of(self.path, run_id, self.command)
            (self.path / MANIFEST).write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            check_target(self.out, self.inputs)  # again: OUT may have changed during the run
            _move_into_place(self.path, self.out)
        self.published = True
        return self.out


# --- where the outputs may go --------------------------------------------------------------

def check_target(out: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse an OUT the run must not write (see the module's docstring) with an OutputError."""
    for given in inputs:
        source = Path(given).resolve()
        what = "the export folder" if source.is_dir() else "the input file"
        if out == source:
            raise OutputError(f"--out {out} is {what} itself; outputs written there would be "
                              "read as input by the next audit: choose a new or empty folder "
                              "outside it")
        if source in out.parents:
            raise OutputError(f"--out {out} is inside {what} {source}; outputs written there "
                              "would be read as input by the next audit: choose a new or empty "
                              "folder outside it")
        if out in source.parents:
            raise OutputError(f"--out {out} holds {what} {source}, and a run replaces its "
                              f"output folder as a whole: choose a new or empty folder that "
                              f"does not hold {what}")
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder: choose a new or empty folder "
                          "for the outputs")
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as err:
        raise OutputError(_message(err, out)) from err
    if not entries:
        return
    listed = earlier_run(out)
    if listed is None:
        shown = ", ".join(entries[:3]) + (" ..." if len(entries) > 3 else "")
        raise OutputError(f"--out {out} is not empty ({shown}) and holds no earlier output of "
                          "this tool (no manifest.json of ours); nothing was written: choose a "
                          "new or empty folder")
    foreign = [e for e in entries if e != MANIFEST and e not in listed]
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise OutputError(f"--out {out} holds an earlier audit's outputs and files that run did "
                          f"not write ({shown}), which replacing it would delete: move them "
                          "out or choose a new or empty folder")


def earlier_run(folder: Path) -> set[str] | None:
    """The top-level names an earlier run of this tool wrote into ``folder`` (from its
    manifest), or None when ``folder`` holds no manifest of ours."""
    path = folder / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > _MANIFEST_MAX_BYTES:
            return None
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("tool", {}).get("name") != TOOL:
            return None
        return {Path(f["path"]).parts[0] for f in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


# --- the manifest --------------------------------------------------------------------------

def manifest_of(folder: Path, run_id: str, command: str) -> dict[str, Any]:
    """The manifest of ``folder``: every file in it (but the manifest) with sha256 and size."""
    from audit.findings import generated_at

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": {"name": TOOL, "version": __version__},
        "command": command,
        "run_id": run_id,
        "generated_at": generated_at(),
        "files": [{"path": p.relative_to(folder).as_posix(), "sha256": file_sha256(p),
                   "bytes": p.stat().st_size} for p in files],
    }





# --- moving into place ---------------------------------------------------------------------

def _move_into_place(staged: Path, out: Path) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(staged, out)
        return
    # NOTE: two renames, not a copy: at every moment OUT is either the whole earlier run or
    # the whole new one. If the second rename fails the earlier run is put back.
    old = out.parent / f".{out.name}.{REPLACED}-{secrets.token_hex(6)}"
    os.rename(out, old)
    try:
        os.rename(staged, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _message(err: OSError, folder: Path) -> str:
    reason = err.strerror or str(err)
    if err.errno in _NO_SPACE:
        return (f"cannot write the outputs in {folder}: {reason}; free space there or choose "
                "--out on another disk (nothing was written)")
    if err.errno in _NO_PERMISSION:
        return (f"cannot write in {folder}: {reason}; choose --out in a folder you can write "
                "to (nothing was written)")
    return f"cannot write the outputs in {folder}: {reason}; choose another --out folder"
