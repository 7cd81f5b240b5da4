"""A version-guarded adaptation of pydyf, the PDF writer under WeasyPrint.

With a file identifier, ``pydyf.PDF.write`` serializes every object twice: once to write
it, once more to hash all objects for ``/ID``; a stream's serialization deflates it at
level 9 each time, so the CJK font subsets and the map images are compressed twice. Within
``streams_serialized_once`` each stream is serialized once per write and its bytes reused.

The output is byte-identical (tests build with and without it and compare). Only the pydyf
versions whose ``write`` is known to treat streams this way are adapted; with any other
version this does nothing, and a test fails until the new version is checked and listed.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

CHECKED_PYDYF_VERSIONS = ("0.13.0",)
_lock = threading.Lock()


def pydyf_is_checked() -> bool:
    """Return whether the installed pydyf is a version this adaptation was checked against."""
    import pydyf

    return getattr(pydyf, "__version__", None) in CHECKED_PYDYF_VERSIONS


@contextmanager
def streams_serialized_once() -> Iterator[None]:
    """Within the block, ``pydyf.PDF.write`` serializes each stream once (see the module's docstring)."""
    if not pydyf_is_checked():
        yield
        return
    import pydyf

    with _lock:  # the class attribute is shared by every thread of the process
        original_write = pydyf.PDF.write
        pydyf.PDF.write = _write_once(original_write, pydyf.Stream)
        try:
            yield
        finally:
            pydyf.PDF.write = original_write


def _write_once(original_write, stream_class):
    """Return a ``PDF.write`` that memoizes ``stream_class.data`` while it runs; objects are final by then."""
    serialize = stream_class.data

    def write(pdf, *args, **kwargs):
        done: dict[int, bytes] = {}

        def data(stream) -> bytes:
            if id(stream) not in done:
                done[id(stream)] = serialize.fget(stream)
            return done[id(stream)]

        stream_class.data = property(data)
        try:
            return original_write(pdf, *args, **kwargs)
        finally:
            stream_class.data = serialize

    return write
