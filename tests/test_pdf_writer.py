"""The pydyf adaptation: checked against the installed version, and byte-identical output."""

from __future__ import annotations

import pydyf
import pytest

from kzreport.pdf_writer import CHECKED_PYDYF_VERSIONS, pydyf_is_checked, streams_serialized_once


def test_the_installed_pydyf_is_a_checked_version():
    # A new pydyf must be read and listed before the adaptation applies again; until then it silently does nothing.
    assert pydyf_is_checked(), f"pydyf {pydyf.__version__} is not in {CHECKED_PYDYF_VERSIONS}: check pdf_writer.py"


def sample_pdf() -> pydyf.PDF:
    """Return a small PDF with two compressed streams, one of them shared by two pages."""
    document = pydyf.PDF()
    shared = pydyf.Stream([b"BT /F1 12 Tf 72 720 Td (shared) Tj ET"], compress=True)
    document.add_object(shared)
    for text in (b"one", b"two"):
        content = pydyf.Stream([b"BT /F1 12 Tf 72 700 Td (" + text + b") Tj ET"], compress=True)
        document.add_object(content)
        page = pydyf.Dictionary({"Type": "/Page", "Parent": document.pages.reference,
                                 "MediaBox": pydyf.Array([0, 0, 612, 792]),
                                 "Contents": pydyf.Array([shared.reference, content.reference])})
        document.add_page(page)
    return document


def written(document: pydyf.PDF) -> bytes:
    """Return the bytes of ``document`` written with a file identifier (the case that serializes twice)."""
    import io

    output = io.BytesIO()
    document.write(output, version=b"1.7", identifier=True)
    return output.getvalue()


def test_streams_serialized_once_writes_the_same_bytes_and_serializes_each_stream_once(monkeypatch):
    plain = written(sample_pdf())
    calls = []
    serialize = pydyf.Stream.data
    monkeypatch.setattr(pydyf.Stream, "data", property(lambda stream: calls.append(id(stream)) or serialize.fget(stream)))
    with streams_serialized_once():
        once = written(sample_pdf())
    assert once == plain and b"/ID" in once
    assert len(calls) == len(set(calls)) == 3, calls
    assert pydyf.Stream.data.fget is not None and pydyf.PDF.write is not None


def test_the_installed_weasyprint_is_a_checked_version():
    import weasyprint

    from kzreport.pdf_writer import CHECKED_WEASYPRINT_VERSIONS, weasyprint_is_checked

    assert weasyprint_is_checked(), (f"WeasyPrint {weasyprint.__version__} is not in {CHECKED_WEASYPRINT_VERSIONS}: "
                                     "check png_data_passed_through in pdf_writer.py")


def noisy_png(mode: str) -> bytes:
    """Return a 64 × 48 PNG of varied pixels (so that every PNG filter type is likely used)."""
    import io
    import random

    from PIL import Image

    rng = random.Random(7)
    image = Image.new(mode, (64, 48))
    bands = len(mode)
    image.putdata([tuple(rng.randrange(256) for _ in range(bands)) if bands > 1 else rng.randrange(256)
                   for _ in range(64 * 48)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pdf_of_image(png: bytes) -> bytes:
    """Return a PDF of one page showing ``png``, written by WeasyPrint."""
    import base64

    from weasyprint import HTML

    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return HTML(string=f'<img src="{url}" style="width: 64px">').write_pdf()


def embedded_image(pdf: bytes):
    """Return (raw stream data, decoded pixels) of the one image of a PDF."""
    import io

    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    (image,) = page.images
    xobject = next(v.get_object() for v in page["/Resources"]["/XObject"].values())
    return xobject._data, image.image.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_png_data_passed_through_keeps_every_pixel(mode):
    from kzreport.pdf_writer import png_data_passed_through, png_idat

    png = noisy_png(mode)
    plain_data, plain_pixels = embedded_image(pdf_of_image(png))
    with png_data_passed_through():
        passed_data, passed_pixels = embedded_image(pdf_of_image(png))
    assert passed_pixels == plain_pixels
    if mode == "RGBA":  # an alpha channel needs WeasyPrint's own split into image and mask
        assert png_idat(png) is None and passed_data == plain_data
    else:
        assert passed_data == png_idat(png), "the file's own compressed data was not passed on"


def test_png_idat_refuses_what_it_cannot_pass_on():
    from kzreport.pdf_writer import png_idat

    png = noisy_png("RGB")
    assert png_idat(png)
    assert png_idat(png[:-12]) is None, "cut before its end chunk"
    assert png_idat(png[:-30]) is None, "cut inside a chunk"
    flipped = bytearray(png)
    flipped[40] ^= 0xFF
    assert png_idat(bytes(flipped)) is None, "a chunk whose checksum fails"
    assert png_idat(b"GIF89a") is None
