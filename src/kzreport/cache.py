"""The on-disk cache shared by map rasters and font tables: one folder, one way in and out.

An entry is only ever a speed-up: one that cannot be read, written or trusted is treated as
missing and made again, never as an error of the build.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

MAX_ENTRY_BYTES = 64 * 1024 * 1024


def cache_dir(kind: str) -> Path:
    """Return the folder of one kind of cached entry: $KZREPORT_CACHE_DIR/KIND, else the user's cache folder."""
    root = os.environ.get("KZREPORT_CACHE_DIR", "").strip()
    if root:
        return Path(root).expanduser() / kind
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kzreport" / kind


def read_cached(kind: str, name: str) -> bytes | None:
    """Return the bytes of the entry ``name``, or None when it is missing or not a plain file in the cache."""
    from .errors import InputError
    from .fsutil import read_checked

    folder = cache_dir(kind)
    try:
        return read_checked(folder / name, roots=[folder], max_bytes=MAX_ENTRY_BYTES, what="a cache entry")
    except InputError:
        return None


def write_cached(kind: str, name: str, data: bytes) -> None:
    """Store an entry atomically (a reader sees the old entry or the whole new one); skip a cache that cannot be written."""
    folder = cache_dir(kind)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, folder / name)
    except OSError:
        return


def drop_cached(kind: str, name: str) -> None:
    """Remove an entry found corrupt, so that the next build makes it again."""
    try:
        os.unlink(cache_dir(kind) / name)
    except OSError:
        return


def files_digest(paths: list[Path]) -> str:
    """Return the SHA-256 of the files' names and contents (a missing file counts by its name alone)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()


@cache
def software_identity(modules: tuple[str, ...], packages: tuple[str, ...]) -> tuple[str, ...]:
    """Return kzreport's version, a digest of the code of ``modules`` (paths in the package) and the
    versions of the installed ``packages`` (read once per process): part of a key, so that a changed
    checkout or dependency never serves an entry made by other code."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    package = Path(__file__).resolve().parent
    versions = []
    for name in packages:
        try:
            versions.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} missing")
    return (__version__, files_digest([package / name for name in modules]), *versions)
