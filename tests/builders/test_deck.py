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
from kzreport.builders.deck import DeckBuilder, render_deck
from kzreport.i18n import Words

CONTINUED = Words("zh-Hans")("continued")
NO_MAP_TEXT = Words("zh-Hans")("map_not_drawn")
from kzreport.errors import InputError
from kzreport.resources import default_source
from kzreport.textfit import EMU_PER_PT, MIN_BODY_PT, MIN_TITLE_PT, metrics, wrap_lines

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
    project.add_output(project.output_path("maps", "routes.png"), png())
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


# --- slides ---------------------------------------------------------------------------------


def slide_title(slide) -> str:
    return slide.shapes.title.text_frame.text if slide.shapes.title is not None else ""


def test_each_slide_kind_uses_its_layout(rich):
    prs = deck(rich)
    layouts = [(slide_title(s), s.slide_layout.name) for s in prs.slides]
    assert layouts[0] == ("哈萨克斯坦测试简报", "Title Slide")
    assert layouts[1] == ("目录", "Title and Content")
    assert ("核心判断", "Title and Content") in layouts
    assert ("第一部分", "Section Header") in layouts
    assert ("主要论点。", "Title and Content") in layouts
    assert ("民族构成", "Title Only") in layouts
    assert ("出口通道", "Title Only") in layouts
    assert all(title for title, _ in layouts), "every slide has a title"


def test_every_slide_has_speaker_notes_and_claims_bring_their_passage(rich):
    prs = deck(rich)
    for slide in prs.slides:
        assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip(), slide_title(slide)
    claim = next(s for s in prs.slides if slide_title(s) == "主要论点。")
    notes = claim.notes_slide.notes_text_frame.text
    assert "原文：「原文引文。」" in notes and "论点的详细说明。" in notes and "本部分的概要。" in notes


def long_evidence(n: int) -> list[str]:
    return [f"第{i}条证据：" + "哈萨克斯坦的石油出口依赖经过俄国的管道，" * 4 for i in range(n)]


def test_overflowing_evidence_continues_on_a_slide_marked_continued(tmp_path):
    project = project_for(write_source(tmp_path, evidence=long_evidence(9)), tmp_path)
    prs = deck(project)
    titles = [slide_title(s) for s in prs.slides]
    assert "主要论点。" in titles and "主要论点。" + CONTINUED in titles
    bullets = [p.text for s in prs.slides if slide_title(s).startswith("主要论点。")
               for shape in s.placeholders if shape.placeholder_format.idx == 1
               for p in shape.text_frame.paragraphs]
    assert bullets == long_evidence(9), "every piece of evidence once, in order"


def measured_overflows(prs) -> list[str]:
    """Return every text frame whose text, wrapped with the font metrics, is taller than its box."""
    problems = []
    for number, slide in enumerate(prs.slides, 1):
        for shape in slide.shapes:
            if not shape.has_text_frame or not shape.text_frame.text.strip():
                continue
            body = shape.text_frame._txBody.bodyPr
            width = shape.width - int(body.get("lIns")) - int(body.get("rIns"))
            height = (shape.height - int(body.get("tIns")) - int(body.get("bIns"))) / EMU_PER_PT
            used = 0.0
            for i, p in enumerate(shape.text_frame.paragraphs):
                rpr = p.runs[0]._r.rPr
                size = int(rpr.get("sz")) / 100
                ppr = p._p.pPr
                pitch = int(ppr.find(f"{A}lnSpc/{A}spcPts").get("val")) / 100
                before = int(ppr.find(f"{A}spcBef/{A}spcPts").get("val")) / 100
                face = metrics("Noto Sans CJK SC", rpr.get("b") == "1" and len(p.runs) == 1)
                lines = wrap_lines(p.text, face, size, width - int(ppr.get("marL")))
                used += len(lines) * pitch + (before if i else 0)
                minimum = MIN_TITLE_PT if shape == slide.shapes.title else MIN_BODY_PT
                if size < minimum and shape.name not in ("figure", "slide number"):  # small by design
                    problems.append(f"slide {number} {shape.name}: {size} pt")
            if used > height + 0.01:
                problems.append(f"slide {number} {shape.name}: {used:.1f} pt of text in {height:.1f} pt")
            if shape.left < 0 or shape.top < 0 or shape.left + shape.width > prs.slide_width \
                    or shape.top + shape.height > prs.slide_height:
                problems.append(f"slide {number} {shape.name}: off the slide")
    return problems


@pytest.mark.parametrize("evidence", [None, long_evidence(9)], ids=["short", "long"])
def test_no_text_frame_holds_more_than_fits(tmp_path, evidence):
    project = project_for(write_source(tmp_path, evidence=evidence), tmp_path)
    project.add_output(project.output_path("maps", "routes.png"), png())
    assert measured_overflows(deck(project)) == []


def test_minimal_brief_builds_and_fits(minimal_source, tmp_path):
    prs = deck(project_for(minimal_source, tmp_path))
    assert len(prs.slides) >= 6
    assert measured_overflows(prs) == []


def test_a_long_title_falls_back_to_the_short_form(tmp_path):
    project = project_for(write_source(tmp_path, headline="很长的论点" * 30), tmp_path)
    titles = [slide_title(s) for s in deck(project).slides]
    assert "简短论点" in titles


def test_evidence_too_long_for_any_slide_names_its_path(tmp_path):
    source = write_source(tmp_path, evidence=["正常的证据", "太长" * 1500])
    with pytest.raises(InputError) as error:
        render_deck(project_for(source, tmp_path))
    message = str(error.value)
    assert "sections[0].headline.evidence[1].text" in message and "rich.yaml" in message


def test_title_too_long_without_short_form_names_its_path(tmp_path):
    source = write_source(tmp_path, headline="很长的论点" * 30)
    source.write_text(source.read_text(encoding="utf-8").replace("      short: 简短论点\n", ""), encoding="utf-8")
    with pytest.raises(InputError, match=r"sections\[0\]\.headline\.text.*short"):
        render_deck(project_for(source, tmp_path))


def test_missing_layout_is_an_input_error_listing_the_layouts(tmp_path, rich):
    theme = tmp_path / "theme.yaml"
    theme.write_text("layouts: {section: Abschnitt}\n", encoding="utf-8")
    project = project_for(rich.source_path, tmp_path, theme_file=theme)
    with pytest.raises(InputError, match="'Abschnitt'.*'Title Slide', 'Title and Content'"):
        render_deck(project)


def test_a_file_that_is_not_a_pptx_is_refused_as_a_template(tmp_path, rich):
    bad = tmp_path / "master.pptx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip"):
        render_deck(project_for(rich.source_path, tmp_path, pptx_template=bad))


# --- Chinese, chart, pictures, metadata ------------------------------------------------------------


def xml_parts(data: bytes, prefixes=("ppt/slides/", "ppt/notesSlides/", "ppt/charts/")) -> dict[str, etree._Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: etree.fromstring(z.read(n)) for n in z.namelist()
                if n.endswith(".xml") and n.startswith(prefixes)}


def test_every_run_is_chinese_with_latin_and_east_asian_faces(rich):
    parts = xml_parts(render_deck(rich))
    assert any(n.startswith("ppt/notesSlides/") for n in parts)
    runs = 0
    for name, root in parts.items():
        for rpr in root.iter(f"{A}rPr", f"{A}defRPr"):
            if rpr.tag == f"{A}defRPr" and name.startswith("ppt/slides/"):
                continue
            runs += 1
            assert rpr.get("lang") == "zh-CN" and rpr.get("altLang") == "en-US", name
            assert rpr.find(f"{A}ea").get("typeface") == "Noto Sans CJK SC", name
            assert rpr.find(f"{A}latin") is not None, name
    assert runs > 50


def test_the_chart_is_a_native_chart_with_the_source_numbers(rich):
    prs = deck(rich)
    slide = next(s for s in prs.slides if slide_title(s) == "民族构成")
    frame = next(shape for shape in slide.shapes if shape.has_chart)
    chart = frame.chart
    assert chart.part.partname.startswith("/ppt/charts/chart")
    plot = chart.plots[0]
    assert list(plot.categories) == ["1990", "2022"]
    assert [s.name for s in plot.series] == ["俄罗斯族", "哈萨克族"]
    assert list(plot.series[0].values) == [40, 20]
    assert list(plot.series[1].values) == [None, 70]
    assert chart.part.chart_workbook.xlsx_part is not None, "editable: the data travels with the chart"
    assert frame._element.xpath("./p:nvGraphicFramePr/p:cNvPr")[0].get("descr") == "柱状图：俄罗斯族从40%降到20%。"


def test_map_picture_fills_the_area_with_its_aspect_and_alt_text(rich):
    prs = deck(rich)
    slide = next(s for s in prs.slides if slide_title(s) == "出口通道")
    picture = next(shape for shape in slide.shapes if shape.shape_type == 13)  # MSO_SHAPE_TYPE.PICTURE
    assert picture._element.xpath("./p:nvPicPr/p:cNvPr")[0].get("descr") == "地图：哈萨克斯坦的油气管道。"
    assert picture.width / picture.height == pytest.approx(2, rel=0.01)
    caption = next(shape for shape in slide.shapes if shape.name == "caption")
    title = slide.shapes.title
    fills_height = abs(picture.top + picture.height - caption.top) <= 2 and picture.top >= title.top + title.height
    fills_width = abs(picture.width - title.width) <= 2
    assert fills_height or fills_width, "the image fills the content area in one direction"
    assert abs((picture.left + picture.width / 2) - (title.left + title.width / 2)) <= 2, "centred"
    text = " ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)
    assert "向西的管道经过俄国。" in text and "Natural Earth" in text and "原油管道" in text


def test_map_slide_without_an_image_says_so(tmp_path):
    prs = deck(project_for(write_source(tmp_path), tmp_path))
    slide = next(s for s in prs.slides if slide_title(s) == "出口通道")
    assert any(shape.has_text_frame and shape.text_frame.text == NO_MAP_TEXT for shape in slide.shapes)
    assert not any(shape.shape_type == 13 for shape in slide.shapes)


def test_same_bytes_twice_with_source_date_epoch(rich, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = render_deck(rich)
    second = render_deck(rich)
    assert first == second
    props = Presentation(io.BytesIO(first)).core_properties
    assert props.created.year == 2023 and props.modified == props.created
    assert props.title == "哈萨克斯坦测试简报" and props.author == "kzreport 测试" and props.language == "zh-CN"
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {info.date_time for info in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_builder_adds_the_deck_to_the_outputs(rich):
    DeckBuilder().build(rich, Reporter(0))
    path = rich.output_path("rich.pptx")
    assert Presentation(io.BytesIO(rich.outputs[path])).slides[0].shapes.title.text == "哈萨克斯坦测试简报"


# --- a real client ---------------------------------------------------------------------------------


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
    pdf = tmp_path / "deck.pdf"
    assert pdf.exists()
    from pypdf import PdfReader

    assert len(PdfReader(pdf).pages) == len(Presentation(io.BytesIO(data)).slides)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "哈萨克斯坦测试简报" in text and "主要论点" in text


@pytest.mark.slow
def test_default_brief_holds_every_claim_and_evidence_and_fits(tmp_path):
    project = project_for(default_source(), tmp_path)
    prs = deck(project)
    assert measured_overflows(prs) == []
    titles = {slide_title(s).removesuffix(CONTINUED) for s in prs.slides}
    body = "\n".join(shape.text_frame.text for s in prs.slides for shape in s.shapes if shape.has_text_frame)
    notes = "\n".join(s.notes_slide.notes_text_frame.text for s in prs.slides)
    for claim in project.source.all_claims():
        assert claim.text in titles or claim.short in titles, claim.id
        assert all(e.text in body for e in claim.evidence), claim.id
        assert f"「{claim.passage}」" in notes, claim.id
    assert all(s.notes_slide.notes_text_frame.text.strip() for s in prs.slides)


def test_characters_xml_cannot_hold_are_dropped_not_escaped(rich):
    # The loader refuses these with a located error; text reaching the deck another way is cleaned.
    meta = rich.source.meta.model_copy(update={"title": "哈萨克斯坦\x01测试\ufffe简报"})
    rich.source = rich.source.model_copy(update={"meta": meta})
    prs = deck(rich)
    assert prs.slides[0].shapes.title.text_frame.text == "哈萨克斯坦测试简报"
    assert prs.core_properties.title == "哈萨克斯坦测试简报"


def test_chart_labels_say_what_the_source_says(tmp_path):
    project = project_for(default_source(), tmp_path)
    slide = next(s for s in deck(project).slides if any(shape.has_chart for shape in s.shapes))
    russians = next(shape for shape in slide.shapes if shape.has_chart).chart.plots[0].series[0]
    assert russians.points[1].data_label.text_frame.text == "不足20%"  # not a bare "20%"
    assert russians.data_labels.show_value  # the 1990 bar keeps its plain value label


@pytest.mark.browser
def test_map_pictures_are_at_least_250_dpi_where_placed(tmp_path):
    from kzreport.build import build

    build([default_source()], BuildOptions(out_dir=tmp_path, formats=("maps", "pptx")), Reporter(0))
    prs = Presentation(str(tmp_path / "kazakhstan-2022.pptx"))
    pictures = [shape for slide in prs.slides for shape in slide.shapes if shape.shape_type == 13]
    assert len(pictures) >= 2  # the title slide and the map slide
    for picture in pictures:
        width_px = picture.image.size[0]
        assert width_px / (picture.width / 914400) >= 250
