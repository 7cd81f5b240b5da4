"""The PDF builder, with the real WeasyPrint: contents, pages, typesetting, safety and reproducibility."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from kzreport.build import BuildOptions, Reporter, build
from kzreport.errors import InputError
from kzreport.loader import load_source
from kzreport.resources import default_source

EPOCH = "1669766400"  # 2022-11-30


def build_pdf(source: Path, out: Path, formats: tuple[str, ...] = ("pdf",), **options) -> Path:
    """Build the PDF of ``source`` (and the other ``formats``) into ``out``; return its path."""
    build([source], BuildOptions(out_dir=out, formats=formats, **options), Reporter(verbosity=0))
    return out / f"{source.stem}.pdf"


@pytest.fixture(scope="module")
def brief_pdf(tmp_path_factory) -> PdfReader:
    out = tmp_path_factory.mktemp("pdf")
    return PdfReader(build_pdf(default_source(), out, formats=("maps", "pdf")))


def page_texts(reader: PdfReader) -> list[str]:
    """Return each page's text with white space removed (CJK extraction inserts spaces)."""
    return [re.sub(r"\s", "", page.extract_text()) for page in reader.pages]


def test_footer_numbers_every_page_but_the_cover(brief_pdf):
    texts = page_texts(brief_pdf)
    total = len(texts)
    assert total >= 8
    assert "第1页" not in texts[0]
    for number, text in enumerate(texts[1:], start=2):
        assert f"第{number}页/共{total}页" in text


def test_order_of_the_brief(brief_pdf):
    brief = load_source(default_source())
    texts = page_texts(brief_pdf)
    assert brief.meta.title in texts[0]
    assert "核心判断" in texts[1] and re.sub(r"\s", "", brief.thesis)[:30] in texts[1]
    assert "目录" in texts[2]
    first_pages = [next(i for i, t in enumerate(texts) if t.find(s.title) >= 0 and i > 2) for s in brief.sections]
    assert first_pages == sorted(first_pages)
    assert "大事记" in "".join(texts[first_pages[-1]:])
    assert "来源与图片说明" in texts[-1]


def test_contents_page_numbers_point_at_the_sections(brief_pdf):
    brief = load_source(default_source())
    texts = page_texts(brief_pdf)
    for number, section in enumerate(brief.sections, start=1):
        # each entry reads "<no><title>....<page>", so the next entry's number follows the page
        follows = str(number + 1) if number < len(brief.sections) else r"\D"
        listed = re.search(re.escape(section.title) + r"\.+(\d+?)" + follows, texts[2])
        assert listed, f"{section.title} not in the contents"
        page = int(listed.group(1))
        assert section.title in texts[page - 1], f"{section.title}: contents says page {page}"


def test_bookmarks_follow_the_sections(brief_pdf):
    brief = load_source(default_source())
    titles = [item.title for item in brief_pdf.outline]
    assert titles == ["核心判断", "目录", *(s.title for s in brief.sections), "大事记",
                      "说明：其他来源与文章的出入", "来源与图片说明"]


def test_every_passage_is_a_footnote(brief_pdf):
    brief = load_source(default_source())
    text = "".join(page_texts(brief_pdf))
    for claim in brief.all_claims():
        assert "原文：「" + re.sub(r"\s", "", claim.passage) in text, claim.id


def test_only_the_theme_fonts_are_embedded_chinese_first(brief_pdf):
    fonts = set()
    for page in brief_pdf.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert fonts and all(re.search(r"\+Noto-(Sans|Serif)(-CJK-SC)?(-Bold)?$", f) for f in fonts), fonts
    assert {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC-Bold"} <= {f.split("+")[1] for f in fonts}


def test_tagged_with_language_and_metadata(brief_pdf):
    root = brief_pdf.trailer["/Root"]
    assert root["/Lang"] == "zh-Hans"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert brief_pdf.metadata.title == load_source(default_source()).meta.title


def test_chart_is_vector(brief_pdf):
    texts = page_texts(brief_pdf)
    page = next(i for i, t in enumerate(texts) if "原文未给出" in t and "不足20%" in t)
    assert drawn_images(brief_pdf, page) == []
    assert drawn_images(brief_pdf, 0), "the cover's map should count as a drawn image"


def drawn_images(reader: PdfReader, index: int) -> list[str]:
    """Return the names of the image XObjects that page ``index`` draws (resources may be shared)."""
    from pypdf.generic import ContentStream

    page = reader.pages[index]
    xobjects = page["/Resources"].get("/XObject") or {}
    used = [ops[0] for ops, op in ContentStream(page.get_contents(), reader).operations if op == b"Do"]
    return [str(n) for n in used if xobjects[n].get_object()["/Subtype"] == "/Image"]


def test_a4_by_default_letter_on_request(minimal_source, tmp_path):
    a4 = PdfReader(build_pdf(minimal_source, tmp_path / "a4")).pages[1].mediabox
    letter = PdfReader(build_pdf(minimal_source, tmp_path / "letter", page_size="Letter")).pages[1].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_print_option_adds_bleed_and_crop_marks(minimal_source, tmp_path):
    page = PdfReader(build_pdf(minimal_source, tmp_path, print_marks=True)).pages[1]
    trim, bleed = page.trimbox, page.bleedbox
    assert round(float(bleed.width) - float(trim.width)) == round(2 * 3 * 72 / 25.4)
    assert page.mediabox == bleed and float(bleed.width) > float(trim.width)


def test_same_bytes_with_source_date_epoch(minimal_source, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    first = build_pdf(minimal_source, tmp_path / "a").read_bytes()
    second = build_pdf(minimal_source, tmp_path / "b").read_bytes()
    assert first == second
    assert PdfReader(tmp_path / "a" / "minimal.pdf").metadata["/CreationDate"].startswith("D:20221130")


def test_hostile_text_prints_as_text(broken, tmp_path):
    hostile = "<script>alert(1)</script> {{ 7*7 }} ${x} `y`"
    source = broken("thesis: 这是核心判断。", f"thesis: '{hostile}'")
    text = PdfReader(build_pdf(source, tmp_path)).pages[1].extract_text()
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text
    assert "49" not in text


def write_override(root: Path, name: str, text: str) -> Path:
    """Write a user template under ``root``; return ``root``."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return root


def test_user_partial_overrides_the_built_in(minimal_source, tmp_path):
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2",
                          '<section class="cover"><h1>{{ meta.title }}（本机构版）</h1></section>')
    text = PdfReader(build_pdf(minimal_source, tmp_path / "out", templates_dir=user)).pages[0].extract_text()
    assert "测试简报（本机构版）" in text


def test_user_template_extends_the_built_in_block(minimal_source, tmp_path):
    user = write_override(tmp_path / "tpl", "pdf/brief.html.j2",
                          '{% extends "kzreport/pdf/brief.html.j2" %}{% block contents %}{% endblock %}'
                          '{% block extra_css %}.part h2 { color: #ff0000; }{% endblock %}')
    texts = page_texts(PdfReader(build_pdf(minimal_source, tmp_path / "out", templates_dir=user)))
    assert "目录" not in "".join(texts) and "第一部分" in "".join(texts)


@pytest.mark.parametrize("markup", [
    '<img src="file:///etc/passwd">',
    '<img src="/proc/self/environ">',
    '<img src="http://169.254.169.254/latest">',
    '<style>@import url("http://169.254.169.254/x.css");</style>',
    '<div style="background: url(file:///dev/urandom)">x</div>',
    '<img src="../../../../etc/hostname">',
])
def test_templates_cannot_read_outside_their_folders(minimal_source, tmp_path, markup):
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2", f'<section class="cover">{markup}</section>')
    with pytest.raises(InputError, match="asks for"):
        build_pdf(minimal_source, tmp_path / "out", templates_dir=user)
    assert not (tmp_path / "out").exists()


def test_symlink_out_of_the_templates_folder_is_refused(minimal_source, tmp_path):
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2", '<section class="cover"><img src="pic.png"></section>')
    (user / "pdf" / "pic.png").symlink_to("/etc/hostname")
    with pytest.raises(InputError, match="must be inside"):
        build_pdf(minimal_source, tmp_path / "out", templates_dir=user)


def test_user_templates_are_sandboxed(minimal_source, tmp_path):
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2",
                          "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(InputError, match="not allowed|template error"):
        build_pdf(minimal_source, tmp_path / "out", templates_dir=user)


def test_template_error_names_file_and_line(minimal_source, tmp_path):
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2", "<section>\n\n{{ no_such_name.x }}\n</section>")
    with pytest.raises(InputError) as info:
        build_pdf(minimal_source, tmp_path / "out", templates_dir=user)
    assert re.search(r"cover\.html\.j2:3: template error: 'no_such_name' is undefined", str(info.value))


def test_missing_font_names_the_package(minimal_source, tmp_path):
    theme = tmp_path / "theme.yaml"
    faces = "{latin: No Such Font, hans: No Such Font CJK, hant: No Such Font TC}"
    theme.write_text(f"fonts:\n  body: {faces}\n  heading: {faces}\n  fallbacks: []\n", encoding="utf-8")
    with pytest.raises(InputError, match="fonts-noto-core fonts-noto-cjk"):
        build_pdf(minimal_source, tmp_path / "out", theme_file=theme)


def test_characters_the_theme_fonts_lack_name_an_installed_family_that_has_them(minimal_source, tmp_path):
    # A Latin-only theme: the Chinese brief's characters are in installed Noto CJK, not in the theme.
    theme = tmp_path / "theme.yaml"
    faces = "{latin: Noto Sans, hans: Noto Sans, hant: Noto Sans}"
    theme.write_text(f"fonts:\n  body: {faces}\n  heading: {faces}\n  fallbacks: []\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has the characters .*add an installed family that has them.*Noto \w+ CJK"):
        build_pdf(minimal_source, tmp_path / "out", theme_file=theme)


def test_every_claim_evidence_and_key_figure_is_in_the_text(brief_pdf):
    brief = load_source(default_source())
    text = "".join(page_texts(brief_pdf))
    missing = [c.text for c in brief.all_claims() if re.sub(r"\s", "", c.text) not in text]
    missing += [e.text for c in brief.all_claims() for e in c.evidence if re.sub(r"\s", "", e.text) not in text]
    missing += [f.display for f in brief.figures if re.sub(r"\s", "", f.display) not in text]
    assert not missing


@pytest.mark.browser
def test_images_are_at_least_250_dpi_where_placed(brief_pdf):
    assert sum(len(page.images) for page in brief_pdf.pages) >= 2  # the cover visual and the map figure
    for page in brief_pdf.pages:
        for image in page.images:
            width_px = image.image.width
            placed_pt = float(page.mediabox.width) - 2 * 21 * 72 / 25.4  # at most the text width
            assert width_px / (placed_pt / 72) >= 250, (image.name, width_px)


def test_data_urls_are_inline_and_allowed(minimal_source, tmp_path):
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    user = write_override(tmp_path / "tpl", "pdf/partials/cover.html.j2",
                          f'<section class="cover"><img src="data:image/png;base64,{pixel}" alt="点" '
                          'style="width: 20mm"><h1>{{ meta.title }}</h1></section>')
    reader = PdfReader(build_pdf(minimal_source, tmp_path / "out", templates_dir=user))
    assert drawn_images(reader, 0)


def test_two_sections_may_show_the_same_map_chart_and_quote(tmp_path):
    text = default_source().read_text(encoding="utf-8")
    text = text.replace("    figures: [sco-population, area-india, muslim-share]\n",
                        "    figures: [sco-population, area-india, muslim-share]\n"
                        "    charts: [ethnic-composition]\n    maps: [export-routes]\n    quotes: [tukumov-us]\n")
    source = tmp_path / "twice.yaml"
    source.write_text(text, encoding="utf-8")
    text = "".join(page_texts(PdfReader(build_pdf(source, tmp_path / "out"))))
    assert text.count("哈萨克斯坦人口中的俄罗斯族和哈萨克族") >= 2


def test_numbers_and_units_are_joined_by_no_break_characters():
    from kzreport.builders.pdf import keep_together

    # no nowrap span: WeasyPrint can break a line after its first word when an inline box overflows it
    chinese = str(keep_together("设计输送能力为120亿立方米/年的管道", ()))
    assert "120\u2060亿\u2060立\u2060方\u2060米\u2060/\u2060年的管道" in chinese
    english = str(keep_together("about 55 bcm a year over 2,000 km, 5 bcm/yr", ("bcm a year",)))
    assert "about\xa055\xa0bcm\xa0a\xa0year" in english and "5\xa0bcm\u2060/\u2060yr" in english
    assert "<span" not in english + chinese


@pytest.mark.parametrize("title, size", [("A short title", ""), ("word " * 20, "long"), ("word " * 40, "longest"),
                                         ("word " * 100, "extreme"), ("长" * 100, "longest"), ("长" * 130, "extreme")])
def test_cover_title_size_follows_its_length(title, size):
    from kzreport.builders.pdf import cover_title_size

    assert cover_title_size(title, "latin") == size


def count_layouts(monkeypatch) -> list[int]:
    """Return a list that grows by one on each WeasyPrint layout the PDF builder makes."""
    from kzreport.builders.pdf import PdfBuilder

    calls: list[int] = []
    layout = PdfBuilder.layout
    monkeypatch.setattr(PdfBuilder, "layout", lambda self, *a, **k: calls.append(1) or layout(self, *a, **k))
    return calls


def test_a_settled_placement_is_reused_and_gives_the_same_bytes(tmp_path, monkeypatch):
    from kzreport.cache import cache_dir

    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = default_source()
    layouts = count_layouts(monkeypatch)
    cold = build_pdf(source, tmp_path / "cold", formats=("maps", "pdf")).read_bytes()
    drafts = len(layouts)
    assert drafts >= 2, "the built-in brief needs a second draft (page references), or this test proves nothing"
    (entry,) = placement_entries()
    warm = build_pdf(source, tmp_path / "warm").read_bytes()
    assert len(layouts) == drafts + 1 and warm == cold
    uncached = build_pdf(source, tmp_path / "uncached", formats=("maps", "pdf"), use_cache=False).read_bytes()
    assert uncached == cold and len(layouts) == 2 * drafts + 1
    entry.write_text('{"floats": "not a mapping"')
    assert build_pdf(source, tmp_path / "damaged").read_bytes() == cold
    # The damaged entry is ignored and the drafts made again, from the last references (right: one draft).
    assert len(layouts) == 2 * drafts + 2
    assert entry.read_text().startswith("{") and "not a mapping" not in entry.read_text()


def placement_entries() -> list[Path]:
    """Return the settled placements in the PDF cache (not the references kept per source)."""
    from kzreport.cache import cache_dir

    return [p for p in cache_dir("pdf").iterdir() if not p.name.startswith("refs-")]


def test_an_edited_brief_starts_from_its_last_references_and_gets_the_same_bytes(tmp_path, monkeypatch):
    import json

    from kzreport.cache import cache_dir

    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = tmp_path / "brief.yaml"
    text = default_source().read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    build_pdf(source, tmp_path / "first", formats=("maps", "pdf"))
    layouts = count_layouts(monkeypatch)
    edits = {"subtitle": text.replace("  subtitle: ", "  subtitle: 1 ", 1),
             # the first judgment cites its claims the other way round: last build's references are stale
             "claims": _reversed_first_judgment(text)}
    for name, edited in edits.items():
        source.write_text(edited, encoding="utf-8")
        before = len(layouts)
        guessed = build_pdf(source, tmp_path / f"{name}-guessed").read_bytes()
        guessed_drafts = len(layouts) - before
        fresh = build_pdf(source, tmp_path / f"{name}-fresh", formats=("maps", "pdf"), use_cache=False).read_bytes()
        assert guessed == fresh, name
        if name == "subtitle":  # the references are right: one draft instead of two
            assert guessed_drafts == 1 and len(layouts) - before - guessed_drafts == 2
    # A guess that is wrong though it names the judgments' own claims (in the wrong order) costs a draft,
    # and changes nothing.
    (kept,) = [p for p in cache_dir("pdf").iterdir() if p.name.startswith("refs-")]
    wrong = {judgment: list(reversed(refs)) for judgment, refs in json.loads(kept.read_text()).items()}
    assert any(len(refs) > 1 for refs in wrong.values())
    kept.write_text(json.dumps(wrong))
    for entry in placement_entries():
        entry.unlink()
    before = len(layouts)
    assert build_pdf(source, tmp_path / "wrong-guess").read_bytes() == fresh
    assert len(layouts) - before == 2


def _reversed_first_judgment(text: str) -> str:
    """Return the built-in source with its first judgment's claims listed in reverse."""
    from kzreport.loader import load_source

    claims = load_source(default_source()).judgments[0].claims
    listed = f"claims: [{', '.join(claims)}]"
    assert listed in text, "the built-in source lists its first judgment's claims on one line"
    return text.replace(listed, f"claims: [{', '.join(reversed(claims))}]", 1)


def test_a_placement_that_does_not_settle_the_layout_is_not_trusted(tmp_path, monkeypatch):
    import json

    from kzreport.cache import cache_dir

    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = default_source()
    cold = build_pdf(source, tmp_path / "cold", formats=("maps", "pdf")).read_bytes()
    (entry,) = placement_entries()
    wrong = json.loads(entry.read_text())
    wrong["refs"] = {judgment: list(reversed(claims)) for judgment, claims in wrong["refs"].items()}
    entry.write_text(json.dumps(wrong))
    assert build_pdf(source, tmp_path / "again").read_bytes() == cold


def test_a_cached_placement_keeps_every_decision(tmp_path, monkeypatch):
    from kzreport.builders.pdf import Placement, read_placement, write_placement

    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    placement = Placement(floats={"s1-quote-q1": 2}, refs={"j1": ("c2", "c1")},
                          running={"section-s1": "A long head…"}, widths={"s1-map-routes": 93},
                          flowing=("notes",), apart=("timeline",))
    write_placement("key", placement)
    assert read_placement("key") == placement
