"""The PowerPoint deck: layouts, fitting text, Chinese runs, native chart, alt text, reproducibility, a real client."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pptx import Presentation

from kzreport.build import BuildOptions, Reporter, load_project
from kzreport.builders.deck import DeckBuilder, contrast_ratio, render_deck
from kzreport.builders.maps import png_name
from kzreport.i18n import Words

CONTINUED = Words("zh-Hans")("continued")
from kzreport.errors import InputError
from kzreport.resources import default_source

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "deck" / "kzreport.pptx"
LAYOUTS = ["Title Slide", "Title and Content", "Section Header", "Two Content", "Comparison", "Title Only",
           "Blank", "Content with Caption"]
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"

# A small brief with every kind of slide: chart, map, timeline, quote, notes.
RICH = """\
meta:
  title: 哈萨克斯坦测试简报
  short_title: 测试
  subtitle: 副标题
  date: 2022-09
  updated: 2026-11-24
  outlet: {name: 测试媒体}
  article_title: 测试文章
  author: kzreport 测试
  keywords: [哈萨克斯坦, 测试]
thesis: 这是核心判断。
judgments:
  - {id: j1, text: 判断一, claims: [c1]}
  - {id: j2, text: 判断二}
  - {id: j3, text: 判断三}
sections:
  - id: s1
    title: 第一部分
    summary: 本部分的概要。
    headline:
      id: c1
      text: HEADLINE
      short: 简短论点
      evidence: EVIDENCE
      passage: 原文引文。
      detail: 论点的详细说明。
    figures: [f1]
    charts: [ethnic]
    maps: [routes]
figures:
  - {id: f1, label: 人口, value: 19000000, display: 超过1900万, year: 2022, shows: 人口规模, passage: 人口超过1900万人}
charts:
  - id: ethnic
    title: 民族构成
    kind: bar
    unit: "%"
    categories: ["1990", "2022"]
    series:
      - {name: 俄罗斯族, values: [40, 20]}
      - {name: 哈萨克族, values: [null, 70], color: accent}
    caption: 俄罗斯族比例下降。
    alt: 柱状图：俄罗斯族从40%降到20%。
maps:
  - id: routes
    title: 出口通道
    caption: 向西的管道经过俄国。
    alt: 地图：哈萨克斯坦的油气管道。
    credit: Natural Earth
    bounds: {south: 35, west: 45, north: 55, east: 90}
    pipelines:
      - id: cpc
        name: CPC管道
        alt_name: CPC
        kind: crude_oil
        status: disrupted
        since: 2022-03
        until: 2022-08
        sources: [article]
        waypoints: [{name: 田吉兹, lat: 46.1, lon: 53.4}, {name: 新罗西斯克, lat: 44.7, lon: 37.8}]
timeline:
  - {date: "1991", title: 独立, text: 哈萨克斯坦独立。}
  - {date: 2022-01, when: 2022年1月, title: 骚乱, text: 独立以来最大内乱。, passage: 最大的内乱}
actors:
  - {id: tokayev, name: 托卡耶夫, role: 总统, passage: 托卡耶夫说}
quotes:
  - {id: q1, speaker: tokayev, date: 2022-01, text: 这是一次政变企图。, passage: 政变企图}
notes:
  - {id: n1, title: 年份, text: 其他来源给出不同年份。, sources: [wiki]}
sources:
  - {key: article, title: 测试文章}
  - {key: wiki, title: Wikipedia, publisher: Wikimedia}
"""


def write_source(tmp_path: Path, *, headline: str = "主要论点。", evidence: list[str] | None = None,
                 name: str = "rich.yaml") -> Path:
    """Write the rich brief with this headline and evidence; return its path."""
    evidence = evidence or ["证据一", "证据二"]
    items = "\n".join(f"        - {{text: {e}}}" for e in evidence)
    text = RICH.replace("HEADLINE", headline).replace(" EVIDENCE", "\n" + items)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def project_for(source: Path, tmp_path: Path, **options):
    """Return the loaded project for a source, with outputs under tmp_path."""
    return load_project(source, BuildOptions(out_dir=tmp_path / "out", formats=("pptx",), **options), Reporter(0))


def png(width: int = 300, height: int = 150) -> bytes:
    """Return a real PNG of the given size."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#D4E4EE").save(buffer, "PNG")
    return buffer.getvalue()


def deck(project) -> Presentation:
    """Build the project's deck and reopen it with python-pptx."""
    return Presentation(io.BytesIO(render_deck(project)))


@pytest.fixture
def rich(tmp_path):
    """Return the rich brief's project with a map image made 'in this build'."""
    project = project_for(write_source(tmp_path), tmp_path)
    project.add_output(project.output_path("maps", png_name("routes", "slide")), png())
    return project


# --- the template ------------------------------------------------------------------------------


def test_template_is_16_9_with_the_eight_layouts_by_name():
    prs = Presentation(TEMPLATE)
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)
    assert [layout.name for layout in prs.slide_layouts] == LAYOUTS
    for layout in prs.slide_layouts:
        for shape in layout.placeholders:
            assert shape.left + shape.width <= prs.slide_width, (layout.name, shape.name)


def test_template_theme_carries_colours_and_east_asian_fonts():
    with zipfile.ZipFile(TEMPLATE) as z:
        theme = etree.fromstring(z.read("ppt/theme/theme1.xml"))
    assert theme.find(f".//{A}dk2/{A}srgbClr").get("val") == "0B3C5D"
    assert theme.find(f".//{A}accent2/{A}srgbClr").get("val") == "E0A526"
    for tag in ("majorFont", "minorFont"):
        fonts = theme.find(f".//{A}{tag}")
        assert fonts.find(f"{A}ea").get("typeface") == "Noto Sans CJK SC"
        assert fonts.find(f"{A}latin").get("typeface") == "Noto Sans"
        assert fonts.find(f"{A}font[@script='Hans']").get("typeface") == "Noto Sans CJK SC"
        assert fonts.find(f"{A}font[@script='Hant']").get("typeface") == "Noto Sans CJK TC"


def test_template_script_is_reproducible_and_matches_the_committed_template(tmp_path):
    outputs = []
    for name in ("a.pptx", "b.pptx"):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_deck_template.py"), str(tmp_path / name)],
                       check=True, capture_output=True, timeout=120)
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == TEMPLATE.read_bytes(), "templates/deck/kzreport.pptx is stale: rerun the script"


# --- the storyline ---------------------------------------------------------------------------------


def slide_title(slide) -> str:
    return slide.shapes.title.text_frame.text if slide.shapes.title is not None else ""


def is_message(slide) -> bool:
    return slide.slide_layout.name == "Two Content"


def has_visual(slide) -> bool:
    names = {shape.name for shape in slide.shapes}
    return any(shape.has_chart or shape.shape_type == 13 for shape in slide.shapes) or bool(
        names & {"figure number", "quote"})


@pytest.fixture(scope="module")
def default_deck(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("default")
    data = render_deck(project_for(default_source(), tmp))
    return data, Presentation(io.BytesIO(data))


def test_default_brief_is_a_storyline_of_14_to_22_slides(default_deck):
    _, prs = default_deck
    assert 14 <= len(prs.slides) <= 22
    assert prs.slides[0].slide_layout.name == "Title Slide"
    messages = [s for s in prs.slides if is_message(s)]
    assert len(messages) >= 5, "one message slide per section at least"
    assert all(has_visual(s) for s in messages), [slide_title(s) for s in messages if not has_visual(s)]
    assert sum(1 for s in prs.slides if slide_title(s) == "大事记") == 1, "one timeline slide"


def test_summary_points_to_the_slides_of_its_judgments(default_deck):
    _, prs = default_deck
    summary = prs.slides[1]
    text = "\n".join(shape.text_frame.text for shape in summary.shapes if shape.has_text_frame)
    assert "→ 第" in text
    number = int(text.split("→ 第")[1].split("页")[0].split("、")[0].split("，")[0])
    assert is_message(prs.slides[number - 1])


def test_no_run_is_set_below_12_pt_and_every_slide_has_the_number_field(default_deck):
    data, _ = default_deck
    parts = xml_parts(data, ("ppt/slides/",))
    for name, root in parts.items():
        sizes = [int(r.get("sz")) / 100 for r in root.iter(f"{A}rPr", f"{A}endParaRPr") if r.get("sz")]
        assert all(size >= 12 for size in sizes), name
        assert root.findall(f".//{A}fld[@type='slidenum']"), name


def test_figure_numbers_and_text_keep_their_contrast(default_deck):
    from kzreport.theme import load_theme
    from kzreport.builders.deck import Palette, theme_colors

    theme, _ = load_theme(None)
    palette = Palette(theme_colors(theme))
    number = palette.readable("tx2", ("accent2", "accent1", "bg1"), 3.0)
    assert contrast_ratio(palette.hex(number), palette.hex("tx2")) >= 3.0
    text = palette.readable("tx2", ("bg1", "bg2", "tx1"), 4.5)
    assert contrast_ratio(palette.hex(text), palette.hex("tx2")) >= 4.5
    muted = palette.readable("bg1", ("accent4", "tx1"), 4.5)
    assert contrast_ratio(palette.hex(muted), "#FFFFFF") >= 4.5


def test_speaker_notes_repeat_no_block(default_deck):
    _, prs = default_deck
    blocks = [p for s in prs.slides for p in s.notes_slide.notes_text_frame.text.split("\n") if p.strip()]
    assert len(blocks) == len(set(blocks))


def test_master_holds_the_style_and_shrink_on_overflow():
    with zipfile.ZipFile(TEMPLATE) as z:
        master = etree.fromstring(z.read("ppt/slideMasters/slideMaster1.xml"))
        layouts = [etree.fromstring(z.read(n)) for n in z.namelist() if n.startswith("ppt/slideLayouts/slideLayout")]
    title = master.find(f".//{P}titleStyle/{A}lvl1pPr")
    assert title.find(f"{A}defRPr").get("sz") == "3200"
    assert title.find(f"{A}defRPr/{A}solidFill/{A}schemeClr").get("val") == "tx2"
    assert title.find(f"{A}lnSpc/{A}spcPct") is not None
    body = master.find(f".//{P}bodyStyle/{A}lvl1pPr")
    assert int(body.find(f"{A}defRPr").get("sz")) >= 2000 and body.find(f"{A}buChar") is not None
    for root in [master, *layouts]:
        for sz in root.iter(f"{A}defRPr"):
            if sz.get("sz"):
                assert int(sz.get("sz")) >= 1200
    assert all(l.find(f".//{A}normAutofit") is not None for l in layouts if l.find(f".//{P}ph[@type='title']") is not None)


def test_runs_carry_no_colours_or_fonts_with_a_users_master_and_no_theme(tmp_path, rich):
    master = tmp_path / "user.pptx"
    master.write_bytes(TEMPLATE.read_bytes())
    project = project_for(rich.source_path, tmp_path, pptx_template=master)
    project.add_output(project.output_path("maps", png_name("routes", "slide")), png())
    for name, root in xml_parts(render_deck(project), ("ppt/slides/",)).items():
        for rpr in root.iter(f"{A}rPr"):
            assert rpr.find(f".//{A}srgbClr") is None, name
            assert rpr.find(f"{A}latin") is None and rpr.find(f"{A}ea") is None, name


def test_a_long_title_falls_back_to_the_short_form(tmp_path):
    project = project_for(write_source(tmp_path, headline="很长的论点" * 30), tmp_path)
    titles = [slide_title(s) for s in deck(project).slides]
    assert "简短论点" in titles


def long_evidence(n: int) -> list[str]:
    return [f"第{i}条证据：" + "哈萨克斯坦的石油出口依赖经过俄国的管道，" * 3 for i in range(n)]


def test_overflowing_evidence_continues_on_a_slide_marked_continued(tmp_path):
    prs = deck(project_for(write_source(tmp_path, evidence=long_evidence(7)), tmp_path))
    titles = [slide_title(s) for s in prs.slides]
    assert "主要论点。" + CONTINUED in titles
    text = "\n".join(shape.text_frame.text for s in prs.slides for shape in s.shapes if shape.has_text_frame)
    assert all(e in text for e in long_evidence(7))


def test_every_problem_is_reported_in_one_run_at_its_field(tmp_path):
    source = write_source(tmp_path, headline="很长的论点" * 30, evidence=["正常的证据", "太长" * 1500])
    source.write_text(source.read_text(encoding="utf-8").replace("      short: 简短论点", "      short: " + "短" * 200),
                      encoding="utf-8")
    with pytest.raises(InputError) as error:
        render_deck(project_for(source, tmp_path))
    message = str(error.value)
    assert "sections[0].headline.short" in message
    assert "sections[0].headline.evidence[1].text" in message and "rich.yaml" in message


def test_missing_layout_is_an_input_error_listing_the_layouts(tmp_path, rich):
    theme = tmp_path / "theme.yaml"
    theme.write_text("layouts: {two_content: Zwei}\n", encoding="utf-8")
    with pytest.raises(InputError, match="'Zwei'.*'Title Slide', 'Title and Content'"):
        render_deck(project_for(rich.source_path, tmp_path, theme_file=theme))


def test_a_file_that_is_not_a_pptx_is_refused_as_a_template(tmp_path, rich):
    bad = tmp_path / "master.pptx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip"):
        render_deck(project_for(rich.source_path, tmp_path, pptx_template=bad))


def xml_parts(data: bytes, prefixes=("ppt/slides/", "ppt/notesSlides/", "ppt/charts/")) -> dict[str, etree._Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: etree.fromstring(z.read(n)) for n in z.namelist()
                if n.endswith(".xml") and n.startswith(prefixes)}


def test_the_chart_is_a_native_chart_beside_its_claim(rich):
    prs = deck(rich)
    slide = next(s for s in prs.slides if any(shape.has_chart for shape in s.shapes))
    assert is_message(slide)
    plot = next(shape for shape in slide.shapes if shape.has_chart).chart.plots[0]
    assert list(plot.categories) == ["1990", "2022"]
    assert list(plot.series[0].values) == [40, 20]


def test_map_slide_has_the_picture_and_a_legend_in_route_colours(rich):
    prs = deck(rich)
    slide = next(s for s in prs.slides if slide_title(s) == "出口通道")
    picture = next(shape for shape in slide.shapes if shape.shape_type == 13)
    assert picture._element.xpath("./p:nvPicPr/p:cNvPr")[0].get("descr") == "地图：哈萨克斯坦的油气管道。"
    line = next(shape for shape in slide.shapes if shape.name == "legend line")
    assert line._element.find(f".//{A}srgbClr").get("val") == "C8553D"  # the theme's crude-oil colour


def test_same_bytes_twice_with_source_date_epoch(rich, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert render_deck(rich) == render_deck(rich)


def test_builder_adds_the_deck_to_the_outputs(rich):
    DeckBuilder().build(rich, Reporter(0))
    path = rich.output_path("rich.pptx")
    assert Presentation(io.BytesIO(rich.outputs[path])).slides[0].shapes.title.text == "哈萨克斯坦测试简报"


def test_a_users_storyboard_drops_the_timeline_and_puts_the_map_first(tmp_path, rich):
    folder = tmp_path / "tpl"
    (folder / "deck").mkdir(parents=True)
    (folder / "deck" / "storyboard.yaml").write_text(
        "slides:\n  - {kind: maps}\n  - {kind: title}\n  - {kind: sections}\n  - {kind: claims, which: all}\n",
        encoding="utf-8")
    project = project_for(rich.source_path, tmp_path, templates_dir=folder)
    titles = [slide_title(s) for s in deck(project).slides]
    assert titles[0] == "出口通道" and "时间线" not in titles and "大事记" not in titles


def test_a_bad_storyboard_is_a_located_error(tmp_path, rich):
    folder = tmp_path / "tpl"
    (folder / "deck").mkdir(parents=True)
    (folder / "deck" / "storyboard.yaml").write_text("slides:\n  - {kind: nonsense}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"storyboard.yaml:2:.*slides\[0\]\.kind"):
        render_deck(project_for(rich.source_path, tmp_path, templates_dir=folder))


def test_the_built_in_brief_builds_on_pandocs_reference_deck(tmp_path):
    import pypandoc  # pypandoc-binary, a test dependency: the pandoc master is a case users have
    data = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.pptx"],
                          check=True, capture_output=True).stdout
    master = tmp_path / "reference.pptx"
    master.write_bytes(data)
    prs = Presentation(io.BytesIO(render_deck(project_for(default_source(), tmp_path, pptx_template=master))))
    assert 14 <= len(prs.slides) <= 22


def test_a_master_with_renamed_layouts_gives_the_same_storyline(tmp_path, default_deck):
    prs = Presentation(TEMPLATE)
    mapping = {}
    for layout in prs.slide_layouts:
        mapping[layout.name] = "Haus " + layout.name
        layout.name = mapping[layout.name]
    master = tmp_path / "renamed.pptx"
    prs.save(master)
    from kzreport.theme import DEFAULT_LAYOUTS

    theme = tmp_path / "theme.yaml"
    theme.write_text("layouts:\n" + "".join(f"  {kind}: {mapping[name]}\n" for kind, name in DEFAULT_LAYOUTS.items()),
                     encoding="utf-8")
    renamed = Presentation(io.BytesIO(render_deck(project_for(default_source(), tmp_path, pptx_template=master,
                                                               theme_file=theme))))
    assert [slide_title(s) for s in renamed.slides] == [slide_title(s) for s in default_deck[1].slides]


@pytest.mark.soffice
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="needs LibreOffice and poppler-utils")
def test_libreoffice_converts_the_deck_with_the_chinese_text(rich, tmp_path):
    data = render_deck(rich)
    pptx = tmp_path / "deck.pptx"
    pptx.write_bytes(data)
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(pptx)], check=True, capture_output=True, timeout=180)
    from pypdf import PdfReader

    pdf = tmp_path / "deck.pdf"
    assert len(PdfReader(pdf).pages) == len(Presentation(io.BytesIO(data)).slides)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "哈萨克斯坦测试简报" in text and "主要论点" in text


def test_timeline_events_on_one_side_never_overlap_and_stay_on_the_slide(tmp_path):
    # Six events with the first near the left edge: an edge box shifted inward used to cover its neighbour.
    source = ROOT / "tests" / "fixtures" / "europe-gas.en.yaml"
    prs = Presentation(io.BytesIO(render_deck(load_project(source, BuildOptions(out_dir=tmp_path, formats=("pptx",)),
                                                           Reporter(0)))))
    (slide,) = [s for s in prs.slides if any(sh.name == "timeline event" for sh in s.shapes)]
    events = [sh for sh in slide.shapes if sh.name == "timeline event"]
    assert len(events) >= 5
    for shape in events:
        assert 0 <= shape.left and shape.left + shape.width <= prs.slide_width
    for side in ("t", "b"):
        boxes = sorted((sh.left, sh.left + sh.width) for sh in events if sh._element.txBody.bodyPr.get("anchor") == side)
        assert all(right <= next_left for (_, right), (next_left, _) in zip(boxes, boxes[1:])), boxes
