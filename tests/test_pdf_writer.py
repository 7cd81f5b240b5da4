"""The pydyf adaptation: checked against the installed version, and byte-identical output."""

from __future__ import annotations

import pydyf

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
