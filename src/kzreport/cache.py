"""The on-disk cache shared by map rasters and font tables: one folder, one way in and out.

An entry is only ever a speed-up: one that cannot be read, written or trusted is treated as
missing and made again, never as an error of the build.
"""

from __future__ import annotations

import os
import tempfile
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
