"""Version-guarded adaptations of pydyf and WeasyPrint's image embedding, for speed only.

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
CHECKED_WEASYPRINT_VERSIONS = ("70.0",)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_lock = threading.Lock()
_image_lock = threading.Lock()


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


# --- PNG image data passed through --------------------------------------------------------------------
#
# WeasyPrint embeds a PNG by decoding it with Pillow and encoding it again only to take the IDAT
# chunks out (0.15 s for a map figure). The IDAT stream of an 8-bit, non-interlaced RGB or grey PNG
# is already what the PDF's FlateDecode with the PNG predictor reads, so it can be passed on as it is:
# the same pixels, compressed as the file was.


def weasyprint_is_checked() -> bool:
    """Return whether the installed WeasyPrint is a version whose PNG embedding was checked."""
    import weasyprint

    return getattr(weasyprint, "__version__", None) in CHECKED_WEASYPRINT_VERSIONS


def png_idat(data: bytes) -> bytes | None:
    """Return the joined IDAT data of an 8-bit, non-interlaced RGB or grey PNG, or None for any other."""
    import struct
    import zlib

    if not data.startswith(PNG_SIGNATURE):
        return None
    at, idat, header, ended = len(PNG_SIGNATURE), [], None, False
    while at + 12 <= len(data) and not ended:
        length, kind = struct.unpack("!I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length or zlib.crc32(kind + body) != struct.unpack("!I", data[at + 8 + length:at + 12 + length])[0]:
            return None
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        ended = kind == b"IEND"
        at += 12 + length
    # IHDR: width, height, bit depth, colour type (0 grey, 2 RGB), compression, filter, interlace.
    if (not ended or header is None or len(header) != 13 or header[8] != 8 or header[9] not in (0, 2)
            or header[12] != 0):
        return None
    return b"".join(idat) or None


@contextmanager
def png_data_passed_through() -> Iterator[None]:
    """Within the block, WeasyPrint embeds the PNGs ``png_idat`` accepts without decoding them."""
    if not weasyprint_is_checked():
        yield
        return
    from weasyprint.images import RasterImage

    with _image_lock:  # its own lock: it runs inside ``streams_serialized_once``
        original = RasterImage.__dict__["_get_png_data"]

        def get_png_data(pillow_image) -> bytes:
            source = getattr(pillow_image, "fp", None)
            data = source.getvalue() if pillow_image.format == "PNG" and hasattr(source, "getvalue") else None
            return (png_idat(data) if data else None) or original.__func__(pillow_image)

        RasterImage._get_png_data = staticmethod(get_png_data)
        try:
            yield
        finally:
            RasterImage._get_png_data = original
