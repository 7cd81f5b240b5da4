"""Reliability and security end to end: hostile text, huge inputs, crashes, concurrent builds, unsafe themes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pptx import Presentation
from pypdf import PdfReader

from kzreport.build import BuildOptions, Reporter, build
from kzreport.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = "<script>alert(1)</script> {{ 7*7 }} {% raw %} ${x} `y` </style> &amp; \\u0041"


def yaml_quoted(text: str) -> str:
    """Return ``text`` as a single-quoted YAML scalar."""
    return "'" + text.replace("'", "''") + "'"


def yaml_escaped(text: str) -> str:
    """Return ``text`` as a double-quoted YAML scalar with every non-ASCII code point escaped."""
    def one(ch: str) -> str:
        if " " <= ch <= "~" and ch not in '"\\':
            return ch
        return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
    return '"' + "".join(one(ch) for ch in text) + '"'


def deck_text(path: Path) -> str:
    """Return all text of a deck's slides and notes."""
    prs = Presentation(str(path))
    parts = []
    for slide in prs.slides:
        parts += [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def test_hostile_text_is_text_in_every_output(broken, cli, tmp_path):
    source = broken("thesis: 这是核心判断。", f"thesis: {yaml_quoted(HOSTILE)}")
    status, _, err = cli("build", source, "--format", "md,pdf,pptx", "--out", tmp_path / "out", "-q")
    assert status == 0, err
    pdf_text = PdfReader(tmp_path / "out" / "broken.pdf").pages[1].extract_text()
    assert "<script>alert(1)</script>" in pdf_text and "{{ 7*7 }}" in pdf_text and "49" not in pdf_text
    assert HOSTILE in deck_text(tmp_path / "out" / "broken.pptx")
    markdown = (tmp_path / "out" / "broken.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown


def test_very_long_unbroken_strings_build_or_fail_located(broken, cli, tmp_path):
    long_latin = "A" * 3000
    long_chinese = "哈" * 3000
    source = broken("      evidence: [{text: 证据一}]",
                    f"      evidence: [{{text: {long_latin}}}, {{text: {long_chinese}}}]")
    status, _, err = cli("build", source, "--format", "pdf,pptx", "--out", tmp_path / "out", "-q")
    assert "Traceback" not in err and "internal error" not in err
    if status == 2:  # the deck cannot fit it: the error is located at the item
        assert re.search(r"broken\.yaml:21:\d+: sections\[0\]\.headline\.evidence\[0\]\.text: ", err), err
    else:
        assert status == 0
        reader = PdfReader(tmp_path / "out" / "broken.pdf")
        for page in reader.pages:  # nothing drawn outside the page
            assert float(page.mediabox.width) < 700
        assert long_chinese[:100] in "".join(p.extract_text().replace("\n", "") for p in reader.pages)


def thousand_claims(path: Path) -> Path:
    """Write a valid source with 1,000 claims in 50 sections; return its path."""
    lines = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8").split("sections:\n")[0].splitlines()
    lines.append("sections:")
    for s in range(50):
        lines += [f"  - id: s{s}", f"    title: 第{s}部分", "    summary: 概要。",
                  f"    headline: {{id: h{s}, text: 论点{s}。, evidence: [{{text: 证据。}}], passage: 引文。}}",
                  "    claims:"]
        lines += [f"      - {{id: c{s}-{c}, text: 第{s}-{c}条论点。, evidence: [{{text: 证据。}}], passage: 引文。}}"
                  for c in range(19)]
    lines += ["sources:", "  - {key: article, title: 测试文章}"]
    text = "\n".join(lines).replace("claims: [c1]", "claims: [h0]")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_thousand_claims_build(cli, tmp_path):
    source = thousand_claims(tmp_path / "big.yaml")
    status, out, err = cli("validate", source)
    assert status == 0 and "1000 claims" in out, err
    status, _, err = cli("build", source, "--format", "md,pdf,pptx", "--out", tmp_path / "out", "-q")
    assert status == 0, err
    assert len(PdfReader(tmp_path / "out" / "big.pdf").pages) > 50
    deck = Presentation(str(tmp_path / "out" / "big.pptx"))
    said = "\n".join([shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
                     + [slide.notes_slide.notes_text_frame.text for slide in deck.slides])
    # Every claim is carried: on a message slide, in the appendix of claims, or in a talk track.
    missing = [f"{s}-{c}" for s in range(50) for c in range(19) if f"第{s}-{c}条论点" not in said]
    assert not missing and len(deck.slides) >= 50, (len(deck.slides), missing[:10])


@pytest.mark.parametrize("logo", ["../../../../etc/passwd", "/etc/hostname", "logo.txt"])
def test_theme_logo_outside_its_folder_is_refused(minimal_source, cli, tmp_path, logo):
    theme_dir = tmp_path / "theme"
    theme_dir.mkdir()
    (theme_dir / "logo.txt").write_text("not an image")
    (theme_dir / "theme.yaml").write_text(f"logo: {yaml_quoted(logo)}\n", encoding="utf-8")
    status, _, err = cli("build", minimal_source, "--format", "pdf", "--out", tmp_path / "out",
                         "--theme", theme_dir / "theme.yaml")
    assert status == 2 and "logo" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_theme_logo_symlink_out_is_refused(minimal_source, cli, tmp_path):
    theme_dir = tmp_path / "theme"
    theme_dir.mkdir()
    (theme_dir / "logo.png").symlink_to("/etc/hostname")
    (theme_dir / "theme.yaml").write_text("logo: logo.png\n", encoding="utf-8")
    status, _, err = cli("build", minimal_source, "--format", "pdf", "--out", tmp_path / "out",
                         "--theme", theme_dir / "theme.yaml")
    assert status == 2 and "logo" in err


def run_build(source: Path, out: Path, *extra: str) -> subprocess.Popen:
    """Start ``kzreport build`` of ``source`` into ``out`` as a separate process."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1669766400"}
    return subprocess.Popen([sys.executable, "-m", "kzreport", "build", str(source), "--out", str(out),
                             "--format", "md,pdf,pptx", "-q", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    """Wait for a build process; return its exit status and what it printed on stderr."""
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def assert_valid_outputs(out: Path, stem: str) -> None:
    """Fail unless the folder holds a readable PDF, deck and Markdown file and no partial file."""
    assert len(PdfReader(out / f"{stem}.pdf").pages) >= 2
    with zipfile.ZipFile(out / f"{stem}.pptx") as archive:
        assert archive.testzip() is None
    assert (out / f"{stem}.md").read_text(encoding="utf-8").startswith("---")


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_whole_files(minimal_source, tmp_path):
    out = tmp_path / "out"
    status, err = finish(run_build(minimal_source, out), 120)
    assert status == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    edited = minimal_source.read_text(encoding="utf-8").replace("这是核心判断。", "改过的核心判断。")
    minimal_source.write_text(edited, encoding="utf-8")
    for delay in (0.2, 0.6, 1.0, 1.4, 1.8, 2.4):
        proc = run_build(minimal_source, out)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        finish(proc, 30)
        names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
        assert names == set(before), names
        for name in names:  # each file is the earlier one or a complete new one
            data = (out / name).read_bytes()
            assert data == before[name] or name.endswith(".md") or len(data) > 1000
        assert_valid_outputs(out, "minimal")
    assert finish(run_build(minimal_source, out), 120)[0] == 0
    assert not [p for p in out.rglob(".*") if p.name != ".gitkeep"], "stale temporaries were not cleaned"
    assert_valid_outputs(out, "minimal")


@pytest.mark.slow
def test_two_builds_at_once_into_one_folder_both_finish(minimal_source, tmp_path):
    out = tmp_path / "out"
    procs = [run_build(minimal_source, out) for _ in range(2)]
    for proc in procs:
        status, err = finish(proc, 180)
        assert status == 0, err
    assert_valid_outputs(out, "minimal")


settings.register_profile("builders", max_examples=12, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text the fonts can draw (ASCII, Chinese, CJK punctuation, Cyrillic, Latin-1); characters no font has
# are refused before rendering, which test_pdf checks. The loader's own property tests take any text.
TEXT = st.text(alphabet=st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                                  st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                                  st.sampled_from("，。、；：？！“”（）《》—…\u3000"),
                                  st.characters(min_codepoint=0xA0, max_codepoint=0xFF),
                                  st.characters(min_codepoint=0x410, max_codepoint=0x44F)),
               min_size=1, max_size=80)
OUTCOMES: list[str] = []


@settings.get_profile("builders")
@given(thesis=TEXT, claim=TEXT)
def test_any_text_builds_or_fails_cleanly_in_every_builder(tmp_path_factory, thesis, claim):
    folder = tmp_path_factory.mktemp("prop")
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    # escaped in double quotes, any code point reaches the loader
    text = text.replace("thesis: 这是核心判断。", f"thesis: {yaml_escaped(thesis)}")
    text = text.replace("      text: 主要论点。", f"      text: {yaml_escaped(claim)}")
    source = folder / "p.yaml"
    source.write_text(text, encoding="utf-8")
    try:
        build([source], BuildOptions(out_dir=folder / "out", formats=("md", "pdf", "pptx")), Reporter(verbosity=0))
    except InputError as error:
        assert str(error) and "Traceback" not in str(error)
        assert not (folder / "out").exists()
        OUTCOMES.append("refused")
    else:
        assert (folder / "out" / "p.pdf").stat().st_size > 0
        OUTCOMES.append("built")


def test_most_generated_texts_build():
    """The property test above must mostly build, or it tests only the refusals."""
    if OUTCOMES:
        assert OUTCOMES.count("built") >= len(OUTCOMES) // 2, OUTCOMES


def small_filesystem(folder: Path, options: str) -> bool:
    """Mount a tmpfs at ``folder`` with ``options``; return False where mounting is not allowed."""
    folder.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("options,status,message", [
    ("size=64k", 1, "the disk is full; nothing was changed"),
    ("ro", 2, "cannot write there"),
])
def test_full_disk_and_read_only_folder_are_clear_errors(minimal_source, tmp_path, options, status, message):
    out = tmp_path / "mnt"
    if os.geteuid() != 0 or not small_filesystem(out, options):
        pytest.skip("needs root and tmpfs mounts")
    try:
        result = subprocess.run([sys.executable, "-m", "kzreport", "build", str(minimal_source), "--out", str(out),
                                 "--format", "md,pdf,pptx", "-q"], capture_output=True, text=True, timeout=120)
        assert result.returncode == status, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert not [p for p in out.rglob("*") if p.is_file()], "a partial file was left"
    finally:
        subprocess.run(["umount", str(out)], check=True)
