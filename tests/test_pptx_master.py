"""A user's PowerPoint master: refused when unsafe, checked against the slide kinds, usable by name mapping."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pptx import Presentation

from kzreport.errors import InputError
from kzreport.pptx_master import open_master, read_master
from kzreport.resources import templates_dir

BUILTIN = templates_dir() / "deck" / "kzreport.pptx"
DUTCH = {"Title Slide": "Titeldia", "Title and Content": "Titel en object", "Section Header": "Sectiekop",
         "Title Only": "Alleen titel"}


def rezip(members: dict[str, bytes], path: Path) -> Path:
    """Write ``members`` as a zip at ``path``; return the path."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def builtin_members() -> dict[str, bytes]:
    with zipfile.ZipFile(BUILTIN) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


@pytest.fixture
def dutch_master(tmp_path) -> Path:
    prs = Presentation(str(BUILTIN))
    for layout in prs.slide_layouts:
        layout.name = DUTCH.get(layout.name, layout.name)
    path = tmp_path / "huisstijl.pptx"
    prs.save(str(path))
    return path


def test_builtin_master_serves_every_kind(cli):
    status, out, err = cli("templates", "check", BUILTIN)
    assert status == 0, err
    assert "16:9" in out and "headings Noto Sans CJK SC, body Noto Sans CJK SC" in out
    # The built-in storyboard's kinds: title, content, two_content and title_only (maps, timeline).
    assert out.count(" ok\n") == 4 and all(f"  {kind} " in out for kind in ("title", "content", "two_content", "title_only"))


def test_master_with_other_names_is_reported_then_served_through_the_theme(cli, dutch_master, tmp_path):
    status, out, _ = cli("templates", "check", dutch_master)
    assert status == 2
    assert "'Title Slide'" in out and "no such layout" in out and "layouts:" in out
    theme = tmp_path / "theme.yaml"
    theme.write_text("layouts:\n  title: Titeldia\n  agenda: Titel en object\n  content: Titel en object\n"
                     "  section: Sectiekop\n  title_only: Alleen titel\n", encoding="utf-8")
    assert cli("templates", "check", dutch_master, "--theme", theme)[0] == 0
    status, _, err = cli("build", "--format", "pptx", "--out", tmp_path / "out", "-q",
                         "--pptx-template", dutch_master, "--theme", theme)
    assert status == 0, err
    deck = Presentation(str(tmp_path / "out" / "kazakhstan-2022.pptx"))
    assert deck.slides[0].slide_layout.name == "Titeldia"


def test_potx_opens_as_a_presentation(tmp_path):
    members = builtin_members()
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"presentationml.presentation.main+xml", b"presentationml.template.main+xml")
    prs = open_master(rezip(members, tmp_path / "corp.potx"))
    assert len(prs.slide_layouts) == 8


def zip_bomb(path: Path) -> Path:
    members = builtin_members()
    members["ppt/media/filler.bin"] = b"\0" * (60 * 1024 * 1024)
    return rezip(members, path)


def with_external_link(path: Path) -> Path:
    members = builtin_members()
    rels = "ppt/slideMasters/_rels/slideMaster1.xml.rels"
    members[rels] = members[rels].replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        b'Target="http://169.254.169.254/logo.png" TargetMode="External"/></Relationships>'))
    return rezip(members, path)


def with_macros(path: Path) -> Path:
    return rezip({**builtin_members(), "ppt/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}, path)


@pytest.mark.parametrize("make,message", [
    (lambda p: (p.write_bytes(b"not a zip at all"), p)[1], "not a zip"),
    (lambda p: (p.write_bytes(BUILTIN.read_bytes()[:5000]), p)[1], "not a zip|damaged"),
    (zip_bomb, "zip bomb"),
    (with_external_link, "links to outside content"),
    (with_macros, "macros"),
    (lambda p: rezip({"hello.txt": b"hi"}, p), "not a PowerPoint"),
])
def test_unsafe_masters_are_refused_with_a_reason(tmp_path, cli, make, message):
    path = make(tmp_path / "corporate.pptx")
    with pytest.raises(InputError, match=message):
        read_master(path)
    out_dir = tmp_path / "out"
    status, _, err = cli("build", "--format", "pptx", "--out", out_dir, "--pptx-template", path)
    assert status == 2 and "Traceback" not in err, err
    assert not out_dir.exists()


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
MS_RELS = "http://schemas.microsoft.com/office/2006/relationships/"
OLE_TYPE = "application/vnd.openxmlformats-officedocument.oleObject"
VBA_TYPE = "application/vnd.ms-office.vbaProject"


def with_part(part: str, data: bytes, content_type: str | None, source: str, rel_type: str, target: str,
              extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Return the built-in master's members with ``part`` added, declared and related from ``source``'s .rels."""
    members = {**builtin_members(), part: data, **(extra or {})}
    if content_type:
        members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
            b"</Types>", f'<Override PartName="/{part}" ContentType="{content_type}"/></Types>'.encode())
    folder, name = source.rsplit("/", 1) if "/" in source else ("", source)
    rels = f"{folder}/_rels/{name}.rels".lstrip("/")
    members[rels] = members[rels].replace(b"</Relationships>", (
        f'<Relationship Id="rId90" Type="{rel_type}" Target="{target}"/></Relationships>').encode())
    return members


HOSTILE_MASTERS = {
    # An OLE "Package" object (it can carry any file, an .exe too) in a slide layout.
    "ole-in-layout": (with_part, ("ppt/embeddings/oleObject1.bin", OLE_MAGIC + b"Package", OLE_TYPE,
                                  "ppt/slideLayouts/slideLayout1.xml", RELS + "oleObject", "../embeddings/oleObject1.bin"),
                      "ppt/embeddings/oleObject1.bin"),
    # The same under a harmless-looking name: found by its content type, not its file name.
    "ole-named-as-image": (with_part, ("ppt/media/image7.png", OLE_MAGIC + b"Package", OLE_TYPE,
                                       "ppt/slideLayouts/slideLayout2.xml", RELS + "image", "../media/image7.png"),
                           "ppt/media/image7.png"),
    # VBA under another part name, with the right relationship and content type.
    "vba-renamed": (with_part, ("ppt/media/theme-data.bin", OLE_MAGIC + b"VBA", VBA_TYPE,
                                "ppt/presentation.xml", MS_RELS + "vbaProject", "media/theme-data.bin"),
                    "ppt/media/theme-data.bin"),
    # VBA declared as an image: the relationship type gives it away.
    "vba-relationship": (with_part, ("ppt/media/image8.png", b"\x89PNG not really", "image/png",
                                     "ppt/presentation.xml", MS_RELS + "vbaProject", "media/image8.png"),
                         "ppt/media/image8.png"),
    # An ActiveX control on the slide master.
    "activex": (with_part, ("ppt/activeX/activeX1.xml", b'<?xml version="1.0"?><ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX"/>',
                            "application/vnd.ms-office.activeX+xml", "ppt/slideMasters/slideMaster1.xml",
                            RELS + "control", "../activeX/activeX1.xml"),
                "ppt/activeX/activeX1.xml"),
    # An OLE compound file kept under a plain content type and no telling relationship.
    "compound-file": (with_part, ("ppt/media/image9.png", OLE_MAGIC + b"anything", "image/png",
                                  "ppt/slideLayouts/slideLayout3.xml", RELS + "image", "../media/image9.png"),
                      "ppt/media/image9.png"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_MASTERS))
def test_masters_with_active_content_under_any_name_are_refused(tmp_path, cli, kind):
    make, args, part = HOSTILE_MASTERS[kind]
    path = rezip(make(*args), tmp_path / "corporate.pptx")
    with pytest.raises(InputError, match="active content") as caught:
        read_master(path)
    assert part in str(caught.value)
    out_dir = tmp_path / "out"
    status, _, err = cli("build", "--format", "pptx", "--out", out_dir, "--pptx-template", path)
    assert status == 2 and part in err and "Traceback" not in err, err
    assert not out_dir.exists()


def test_relationship_types_are_matched_in_strict_ooxml_too(tmp_path):
    strict = "http://purl.oclc.org/ooxml/officeDocument/relationships/oleObject"
    members = with_part("ppt/embeddings/blob.dat", b"plain bytes", "application/octet-stream",
                        "ppt/slideLayouts/slideLayout1.xml", strict, "../embeddings/blob.dat")
    with pytest.raises(InputError, match=r"active content.*ppt/embeddings/blob\.dat"):
        read_master(rezip(members, tmp_path / "strict.pptx"))


def test_a_macro_enabled_main_part_is_refused(tmp_path):
    members = builtin_members()
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"presentationml.presentation.main+xml", b"ms-powerpoint.presentation.macroEnabled.main+xml")
    with pytest.raises(InputError, match=r"ppt/presentation\.xml"):
        read_master(rezip(members, tmp_path / "macro.pptx"))


def with_slide_size(size: str):
    """Return a maker of the built-in master with ``size`` (a p:sldSz element, or "" for none) in its place."""
    import re

    def make(path: Path) -> Path:
        members = builtin_members()
        presentation = members["ppt/presentation.xml"].decode()
        members["ppt/presentation.xml"] = re.sub(r"<p:sldSz [^>]*/>", size, presentation).encode()
        return rezip(members, path)
    return make


@pytest.mark.parametrize("size,message", [
    ('<p:sldSz cx="0" cy="0"/>', "no slide size"),
    ("", "no slide size"),
    ('<p:sldSz cx="12192000" cy="100"/>', "1 to 56 in"),
    ('<p:sldSz cx="2147483647" cy="6858000"/>', "1 to 56 in"),
])
def test_a_master_without_a_usable_slide_size_is_refused_by_build_and_check(tmp_path, cli, size, message):
    path = with_slide_size(size)(tmp_path / "odd.pptx")
    status, _, err = cli("templates", "check", path)
    assert status == 2 and message in err and "Traceback" not in err, err
    status, _, err = cli("build", "--format", "pptx", "--out", tmp_path / "out", "--pptx-template", path)
    assert status == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
