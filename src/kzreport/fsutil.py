"""Atomic file writes: outputs appear whole under their names or not at all."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import BuildError, InputError

_TMP_MARK = ".kztmp-"


def display_path(path: Path) -> str:
    """Return the path as the user would recognise it: relative to the working folder if inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def stage_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file beside ``path`` and return the temporary path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{_TMP_MARK}{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    commit({path: data})


def commit(files: dict[Path, bytes]) -> None:
    """Write every file, each atomically; the earlier files stay until all are staged."""
    staged: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            staged[path] = stage_file(path, data)
        for path, tmp in staged.items():
            os.replace(tmp, path)
    except OSError as exc:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise _write_error(exc) from None


def _write_error(exc: OSError) -> Exception:
    """Return the user-facing error for a failed write."""
    where = exc.filename or "output folder"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return InputError(f"{where}: cannot write there ({exc.strerror}); choose another --out folder")
    if exc.errno == errno.ENOSPC:
        return BuildError(f"{where}: the disk is full; nothing was changed")
    return BuildError(f"{where}: cannot write: {exc.strerror or exc}")


def clean_stale_temporaries(folder: Path) -> int:
    """Remove temporary files left by builds that are no longer running; return how many."""
    removed = 0
    if not folder.is_dir():
        return 0
    for tmp in folder.rglob(f".*{_TMP_MARK}*"):
        pid = tmp.name.split(_TMP_MARK, 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    """Return whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
