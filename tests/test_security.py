"""Hostile inputs from issue 12, round two: terminal escapes in messages, files that never end."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kzreport.errors import InputError, Problem, terminal_safe
from kzreport.theme import MAX_LOGO_BYTES, load_theme, read_logo

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen


def kzreport(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the command line in a child process, so that a hang fails the test instead of stalling the suite."""
    return subprocess.run([sys.executable, "-m", "kzreport", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def assert_inert(text: str) -> None:
    """Fail when ``text`` holds anything a terminal would act on (ESC, BEL, C1, bidi overrides)."""
    acting = [ch for ch in text if ch not in "\n\t" and (ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f
                                                         or 0x202a <= ord(ch) <= 0x202e or 0x2066 <= ord(ch) <= 0x2069)]
    assert acting == [], f"raw control characters reach the terminal: {acting!r}"


@pytest.mark.parametrize("key", [
    '"\\e]0;pwned\\a"',  # YAML escapes: the key holds a real ESC and BEL
    '"\\e[2J"',
    '"\\x9b2J\\u202e"',  # C1 CSI and a right-to-left override
])
def test_escape_sequences_in_yaml_keys_are_shown_not_obeyed(cli, broken, key):
    path = broken("  author: kzreport 测试", f"  {key}: kzreport 测试")
    status, out, err = cli("validate", path)
    assert status == 2 and "unknown field" in err
    assert_inert(err + out)
    assert "\\x1b" in err or "\\x9b" in err


def test_escape_sequences_in_yaml_values_are_shown_not_obeyed(cli, broken):
    path = broken("  date: 2022-09", '  date: "\\e]0;pwned\\a\\e[2J"')
    status, _, err = cli("validate", path)
    assert status == 2 and "meta.date" in err
    assert_inert(err)


def test_raw_escape_bytes_in_yaml_are_shown_not_obeyed(cli, broken):
    path = broken("  author: kzreport 测试", f"  {TITLE}{CLEAR}: x")
    status, _, err = cli("validate", path)
    assert status == 2
    assert_inert(err)


def test_escape_sequences_in_a_file_name_are_shown_not_obeyed(cli, tmp_path):
    path = tmp_path / f"brief{TITLE}{CLEAR}.yaml"
    path.write_text("meta: {}\n", encoding="utf-8")
    status, _, err = cli("validate", path)
    assert status == 2 and "brief\\x1b]0;pwned\\x07\\x1b[2J.yaml" in err
    assert_inert(err)


def test_terminal_safe_escapes_every_acting_character_and_keeps_lines():
    text = f"a{TITLE}b{CLEAR}\r\x9b\u202e\u2066\ud800\nc\td"
    safe = terminal_safe(text)
    assert safe == "a\\x1b]0;pwned\\x07b\\x1b[2J\\x0d\\x9b\\u202e\\u2066\\ud800\nc\td"
    assert terminal_safe("a\nb", one_line=True) == "a\\x0ab"
    assert str(Problem("f.yaml", 1, 2, f"meta.{CLEAR}\nx", f"bad {TITLE}")) == \
        "f.yaml:1:2: meta.\\x1b[2J\\x0ax: bad \\x1b]0;pwned\\x07"


def test_layout_names_of_a_master_are_printed_inert(cli, tmp_path):
    from pptx import Presentation

    from kzreport.resources import templates_dir

    prs = Presentation(str(templates_dir() / "deck" / "kzreport.pptx"))
    prs.slide_layouts[0].name = "Title\u202eevil\u2066"
    master = tmp_path / "bidi.pptx"
    prs.save(str(master))
    status, out, _ = cli("templates", "check", master)
    assert "Title\\u202eevil\\u2066" in out
    assert_inert(out)


def test_a_fifo_as_the_brief_is_refused_at_once(tmp_path):
    fifo = tmp_path / "brief.yaml"
    os.mkfifo(fifo)
    result = kzreport("validate", fifo, timeout=60)
    assert result.returncode == 2 and "FIFO" in result.stderr and str(fifo) in result.stderr, result.stderr


def test_a_fifo_as_the_brief_of_a_build_writes_nothing(tmp_path):
    fifo = tmp_path / "brief.yaml"
    os.mkfifo(fifo)
    result = kzreport("build", fifo, "--format", "md", "--out", tmp_path / "out", "-q", timeout=60)
    assert result.returncode == 2 and "FIFO" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def theme_with_logo(folder: Path, make_logo) -> Path:
    """Return a theme file whose logo ``logo.png`` is made by ``make_logo(path)``."""
    folder.mkdir()
    make_logo(folder / "logo.png")
    theme = folder / "theme.yaml"
    theme.write_text("logo: logo.png\n", encoding="utf-8")
    return theme


def null_device(path: Path) -> None:
    """Make ``path`` a character device (/dev/null's); skip where mknod is not allowed.

    Not /dev/zero's: a reader that failed to refuse it would fill the memory of the test run.
    """
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")


@pytest.mark.parametrize("make_logo,message", [
    (os.mkfifo, "FIFO"),
    (lambda p: p.symlink_to("/dev/zero"), "must be inside"),
    (null_device, "character device"),
    (lambda p: os.truncate(p.touch() or p, MAX_LOGO_BYTES + 1), "larger than 8 MiB"),
])
def test_a_logo_that_is_no_regular_file_or_too_big_is_refused_at_once(tmp_path, make_logo, message):
    from tests.conftest import outcome_within

    theme, theme_dir = load_theme(theme_with_logo(tmp_path / "theme", make_logo))
    error = outcome_within(lambda: read_logo(theme, theme_dir), 10)
    assert isinstance(error, InputError), error
    assert message in str(error) and "logo" in str(error)


def png_bytes(width: int, height: int) -> bytes:
    """Return a solid PNG of the given size."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#8E1B2B").save(buffer, "PNG")
    return buffer.getvalue()


def huge_png(path: Path) -> None:
    """Write a 30000×30000 PNG of a few kilobytes: tiny on disk, 2.7 GB once decoded."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    side = 30000
    rows = zlib.compress((b"\0" + b"\0" * side) * 64)  # 64 rows is enough: the header is what matters
    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("make_logo,message", [
    (huge_png, "not a readable PNG"),
    (lambda p: p.write_bytes(png_bytes(7000, 10)), "at most 6000 a side"),
    (lambda p: p.write_bytes(png_bytes(400, 300)[:-200]), "not a readable PNG"),
    (lambda p: p.write_bytes(b"GIF89a" + bytes(100)), "not a readable PNG"),
    (lambda p: p.write_text("<html><script>alert(1)</script></html>"), "not a readable PNG"),
], ids=["huge", "wide", "truncated", "gif", "html"])
def test_a_logo_whose_image_would_fail_or_balloon_later_is_refused_with_the_theme_named(tmp_path, make_logo,
                                                                                         message):
    import weasyprint.images  # noqa: F401 - as in a build: it tells Pillow to accept truncated images

    from tests.conftest import outcome_within

    theme, theme_dir = load_theme(theme_with_logo(tmp_path / "theme", make_logo))
    error = outcome_within(lambda: read_logo(theme, theme_dir), 20)
    assert isinstance(error, InputError), error
    assert message in str(error) and "'logo.png'" in str(error), str(error)


@pytest.mark.parametrize("svg,message", [
    ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>', "with a DTD"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><rect', "not well-formed"),
    ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "root element is not <svg>"),
])
def test_an_svg_logo_with_a_dtd_or_broken_xml_is_refused(tmp_path, svg, message):
    folder = tmp_path / "theme"
    folder.mkdir()
    (folder / "logo.svg").write_text(svg, encoding="utf-8")
    (folder / "theme.yaml").write_text("logo: logo.svg\n", encoding="utf-8")
    theme, theme_dir = load_theme(folder / "theme.yaml")
    with pytest.raises(InputError, match=message):
        read_logo(theme, theme_dir)


def test_a_sound_logo_is_returned_unchanged(tmp_path):
    data = png_bytes(240, 80)
    theme, theme_dir = load_theme(theme_with_logo(tmp_path / "theme", lambda p: p.write_bytes(data)))
    assert read_logo(theme, theme_dir) == (data, "image/png")


def test_a_fifo_logo_fails_the_deck_build_with_exit_2(minimal_source, tmp_path):
    theme = theme_with_logo(tmp_path / "theme", os.mkfifo)
    result = kzreport("build", minimal_source, "--theme", theme, "--format", "pptx", "--out", tmp_path / "out", "-q")
    assert result.returncode == 2 and "FIFO" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
