"""A user's PowerPoint master: refused when unsafe, checked against the slide kinds, usable by name mapping."""

from __future__ import annotations

import io
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
    assert out.count(" ok\n") == 5


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
