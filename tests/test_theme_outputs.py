"""One theme file drives the PDF, the deck and the maps: colours, logo and layout names reach every output."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation

from kzreport.build import BuildOptions, Reporter, load_project
from kzreport.builders.pdf import PdfBuilder

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def house_theme(tmp_path) -> Path:
    """Return a theme with its own primary colour, tanker-route colour and a PNG logo."""
    folder = tmp_path / "house"
    folder.mkdir()
    Image.new("RGB", (240, 80), "#8E1B2B").save(folder / "logo.png")
    (folder / "theme.yaml").write_text(
        "organisation: 示例研究所\nlogo: logo.png\ncolors:\n  primary: '#123456'\nmap:\n  tanker: '#ABCDEF'\n",
        encoding="utf-8")
    return folder / "theme.yaml"


def test_theme_colour_and_logo_reach_the_pdf(house_theme, tmp_path):
    project = load_project(FIXTURES / "minimal.yaml", BuildOptions(theme_file=house_theme), Reporter(verbosity=0))
    html, resources = PdfBuilder().render_html(project)
    assert "--primary: #123456;" in html
    assert '<img class="logo" src="kzreport:logo" alt="示例研究所">' in html
    assert resources["kzreport:logo"][1] == "image/png"


def test_theme_colour_and_logo_reach_the_deck(house_theme, cli, tmp_path):
    status, _, err = cli("build", FIXTURES / "minimal.yaml", "--format", "pptx", "--out", tmp_path / "out",
                         "--theme", house_theme, "-q")
    assert status == 0, err
    deck = tmp_path / "out" / "minimal.pptx"
    with zipfile.ZipFile(deck) as archive:
        theme_xml = archive.read("ppt/theme/theme1.xml").decode()
    assert '<a:dk2><a:srgbClr val="123456"/></a:dk2>' in theme_xml
    prs = Presentation(str(deck))
    logos = [s for slide in prs.slides for s in slide.shapes
             if s.shape_type == 13 and s._element.xpath("./p:nvPicPr/p:cNvPr/@descr") == ["示例研究所"]]
    assert len(logos) == len(prs.slides)


@pytest.mark.browser
def test_theme_route_colour_reaches_the_map(house_theme, cli, tmp_path):
    status, _, err = cli("build", FIXTURES / "maps.yaml", "--format", "maps", "--out", tmp_path / "out",
                         "--theme", house_theme, "-q", "--no-cache")
    assert status == 0, err
    html = next((tmp_path / "out" / "maps").glob("*.html")).read_text(encoding="utf-8")
    assert "#abcdef" in html.lower()
    png = Image.open(io.BytesIO(next((tmp_path / "out" / "maps").glob("*.png")).read_bytes())).convert("RGB")
    colours = {c for _, c in png.getcolors(maxcolors=1 << 20)}
    assert (0xAB, 0xCD, 0xEF) in colours


def test_master_missing_a_layout_stops_the_build_with_the_names_it_has(cli, tmp_path):
    from kzreport.resources import templates_dir

    prs = Presentation(str(templates_dir() / "deck" / "kzreport.pptx"))
    prs.slide_layouts.remove(next(lay for lay in prs.slide_layouts if lay.name == "Two Content"))
    master = tmp_path / "short.pptx"
    prs.save(str(master))
    status, out, _ = cli("templates", "check", master)
    assert status == 2 and "two_content 'Two Content'" in out and "no such layout" in out
    assert "section" not in out.split("layouts:", 1)[1], "the built-in storyboard makes no section slides"
    status, _, err = cli("build", FIXTURES / "minimal.yaml", "--format", "pptx", "--out", tmp_path / "out",
                         "--pptx-template", master)
    assert status == 2 and "no slide layout named 'Two Content'" in err and "'Title Slide'" in err
    assert not (tmp_path / "out").exists()
