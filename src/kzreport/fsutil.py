"""Files in and out: checked reads, and writes where every output appears whole or none changes.

Reads go through ``read_checked``: symlinks resolved, confined to allowed folders, regular
files only (a FIFO or a device would block or never end), size-bounded. Writes go through
``commit``: every output is checked to lie inside the output folder once symlinks are
resolved, staged beside its name, and renamed into place with the earlier files kept until
every rename succeeded, so a failure puts the earlier outputs back.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import BuildError, InputError, Problem, terminal_safe

_TMP_MARK = ".kztmp-"
_BACKUP_MARK = "-bak-"
_FILE_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
               stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def display_path(path: Path) -> str:
    """Return the path as the user would recognise it (relative to the working folder if inside it), safe to print."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = ".."
    return terminal_safe(str(path) if relative.startswith("..") else relative, one_line=True)


def _size(limit: int) -> str:
    """Return ``4 MiB`` for 4 * 2**20, ``512 KiB`` for 2**19, else bytes."""
    for unit, factor in (("MiB", 2**20), ("KiB", 2**10)):
        if limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"


def read_checked(path: Path, *, roots: Iterable[Path] | None = None, max_bytes: int, what: str) -> bytes:
    """Return the bytes of the regular file at ``path``, or raise InputError naming the path and the reason.

    The path is resolved (symlinks followed) first; the resolved file must lie inside one of
    ``roots`` (when given, themselves resolved), be a regular file, and hold at most
    ``max_bytes``. The type is checked before opening, because opening a FIFO blocks until a
    writer comes; the file is then opened non-blocking without following a symlink, and the
    descriptor is checked to be the same regular file, so a file swapped in between is refused.
    """
    name = display_path(path)

    def refuse(message: str) -> InputError:
        return InputError([Problem(name, 0, 0, "", message)])

    try:
        resolved = Path(os.path.realpath(path, strict=True))
        before = os.stat(resolved)
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop on older Pythons
        raise refuse(f"cannot read {what}: {getattr(error, 'strerror', None) or error}") from None
    if roots is not None:
        allowed = [Path(os.path.realpath(root)) for root in roots]
        if not any(resolved.is_relative_to(root) for root in allowed):
            raise refuse(f"{what} must be inside {' or '.join(map(display_path, allowed))}, "
                         f"but it leads to {display_path(resolved)}")
    _require_regular(before, what, refuse)
    if before.st_size > max_bytes:
        raise refuse(f"{what} is larger than {_size(max_bytes)}")
    data = _read_descriptor(resolved, before, max_bytes, what, refuse)
    if len(data) > max_bytes:  # the file grew since stat
        raise refuse(f"{what} is larger than {_size(max_bytes)}")
    return data


def _require_regular(info: os.stat_result, what: str, refuse) -> None:
    """Raise ``refuse(...)`` unless ``info`` describes a regular file."""
    if stat.S_ISREG(info.st_mode):
        return
    kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"is a directory, not a {what} file")
    raise refuse(f"{what} is {kind}, not a regular file; kzreport reads only regular files")


def _read_descriptor(resolved: Path, before: os.stat_result, max_bytes: int, what: str, refuse) -> bytes:
    """Return up to ``max_bytes + 1`` bytes of ``resolved``, opened as the same regular file ``before`` saw."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(resolved, flags | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise refuse(f"cannot read {what}: {error.strerror or error}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise refuse(f"{what} changed while it was being opened; try again")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise refuse(f"cannot read {what}: {error.strerror or error}") from None
    finally:
        os.close(fd)


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


def write_atomic(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    commit({path: data}, root=root)


def commit(files: dict[Path, bytes], *, root: Path | None = None) -> None:
    """Write every file so that all of them are replaced or none is.

    ``root`` is the output folder every path must stay inside once symlinks are resolved
    (default: the deepest folder holding all of them). Every target is checked before
    anything is written (inside ``root``, not a folder, its folder writable); then all are
    staged, then renamed into place, each earlier file kept as a backup until every rename
    succeeded and put back if one fails. Raises InputError or BuildError naming the output.
    """
    if not files:
        return
    root = root if root is not None else Path(os.path.commonpath([str(p.parent) for p in files]))
    for path in files:
        check_output_path(path, root)
    staged: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            try:
                staged[path] = stage_file(path, data)
            except OSError as exc:
                raise _write_error(exc, path) from None
        _swap(staged, root)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def check_output_path(path: Path, root: Path) -> None:
    """Raise InputError unless ``path`` can be replaced by a new file inside ``root``.

    The path must stay inside ``root`` with every symlink resolved (a symlinked ``OUT/maps``
    must not send files to another folder), must not be a folder, and its nearest existing
    folder must be a writable folder.
    """
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(real_root):
        raise InputError(f"{display_path(path)}: cannot write there: a symlink leads it outside the output folder "
                         f"{display_path(root)} (to {display_path(real)}); remove the symlink or choose another "
                         "--out folder")
    if path.is_dir() and not path.is_symlink():
        raise InputError(f"{display_path(path)}: cannot write there: a folder is in the place of this output; "
                         "move it away or choose another --out folder")
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{display_path(path)}: cannot write there: {display_path(folder)} is a file, not a folder; "
                         "move it away or choose another --out folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{display_path(path)}: cannot write there (permission denied); choose another --out folder")


def _swap(staged: dict[Path, Path], root: Path) -> None:
    """Rename every staged file onto its target; on a failure put back every target already replaced."""
    done: list[tuple[Path, Path | None]] = []
    path = next(iter(staged))
    try:
        for path, tmp in staged.items():
            check_output_path(path, root)  # again: the folders may have changed while staging
            backup = _backup(path)
            try:
                os.replace(tmp, path)
            except BaseException:
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
            done.append((path, backup))
    except BaseException as exc:
        unrestored = _roll_back(done)
        if isinstance(exc, OSError):
            raise _write_error(exc, path, unrestored) from None
        raise
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)


def _backup(path: Path) -> Path | None:
    """Return a hidden backup of the file at ``path`` (None when there is none); the file stays in place."""
    if not os.path.lexists(path):
        return None
    backup = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}{_BACKUP_MARK}{os.urandom(4).hex()}")
    try:
        # A hard link keeps the old file without a moment where the output name is missing.
        os.link(path, backup, follow_symlinks=False)
    except OSError:
        shutil.copy2(path, backup, follow_symlinks=False)  # file systems without hard links
    return backup


def _roll_back(done: list[tuple[Path, Path | None]]) -> list[Path]:
    """Put back the earlier file of every replaced target (remove new ones); return those that could not be."""
    failed = []
    for path, backup in reversed(done):
        try:
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(backup, path)
        except OSError:
            failed.append(path)
    return failed


def _write_error(exc: OSError, path: Path, unrestored: list[Path] | None = None) -> Exception:
    """Return the user-facing error for a failed write of the output ``path``."""
    where = display_path(path)
    left = (f"; could not put back the earlier {', '.join(map(display_path, unrestored))}" if unrestored
            else "; nothing was changed")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return InputError(f"{where}: cannot write there ({exc.strerror}){left}; choose another --out folder")
    if exc.errno == errno.ENOSPC:
        return BuildError(f"{where}: the disk is full{left}")
    return BuildError(f"{where}: cannot write: {exc.strerror or exc}{left}")


def clean_stale_temporaries(folder: Path) -> int:
    """Remove temporary files and backups left by builds that are no longer running; return how many."""
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
