"""The PDF's layout measured on WeasyPrint's own boxes and on the written PDF's text: no near-empty
page, a cover without overlap at any title length, units and citations on one line, page references
once and in order, English hyphenated and set ragged."""

from __future__ import annotations

import io
import re
from itertools import combinations
from pathlib import Path

import pytest
from pypdf import PdfReader

from kzreport.resources import default_source
from tests.builders.pdf_layout import (content_boxes, element_rects, fill_report, lay_out_brief, page_fill, page_rect,
                                       page_sections, short_pages, starts_part)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BRIEFS = {
    "built-in": default_source(),
    "built-in-en": default_source().with_name("kazakhstan-2022.en.yaml"),
    "long-titles": FIXTURES / "cover-title.en.yaml",
    "many-figures": FIXTURES / "many-figures.yaml",
    "no-maps": FIXTURES / "no-maps.en.yaml",
}
#: Briefs whose pages are held to the fill rule: ``BRIEFS``, and a section made only of maps, each
#: figure about half a page (two share a page only when their furniture is tight, or one map is
#: set narrower, which the layout decides).
FILLED = {**BRIEFS, "map-regions": FIXTURES / "map-regions.yaml"}
#: Every brief a test lays out by name: ``FILLED``, and one where WeasyPrint broke a line after
#: its first word while units were nowrap spans ("Ger-" / "many's first LNG terminal …").
SOURCES = {**FILLED, "europe-gas": FIXTURES / "europe-gas.en.yaml"}
SIZES = ["A4", "Letter"]
MM = 96 / 25.4  # CSS px per millimetre


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory):
    """Return a function laying out one of ``SOURCES`` by name on a page size (A4 unless told),
    each once per size for the module."""
    done = {}

    def get(name: str, size: str = "A4"):
        if (name, size) not in done:
            folder = tmp_path_factory.mktemp(f"{name}-{size}")
            done[name, size] = lay_out_brief(SOURCES[name], folder, page_size=None if size == "A4" else size)
        return done[name, size]

    return get


@pytest.fixture(scope="module")
def written(laid_out):
    """Return a function giving a brief's PDF as the build writes it, read by pypdf, each once."""
    done = {}

    def get(name: str) -> PdfReader:
        if name not in done:
            done[name] = PdfReader(io.BytesIO(laid_out(name).pdf()))
        return done[name]

    return get


@pytest.fixture(scope="module")
def pdf_text(written):
    """Return a function giving a brief's PDF text, page by page, as pypdf extracts it (lines kept)."""
    return lambda name: [page.extract_text() for page in written(name).pages]


# --- page fill ---

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", FILLED)
def test_no_page_but_cover_contents_and_part_ends_is_under_60_percent(laid_out, name, size):
    document = laid_out(name, size).document
    assert short_pages(document) == [], f"{name}: page fills {fill_report(document)}"


def map_image_widths(document) -> list[float]:
    """Return the width of every map image in the sections, as a share of the text block's width."""
    from weasyprint.formatting_structure import boxes

    found = []

    def walk(box, inside: bool, column: float) -> None:
        element = getattr(box, "element", None)
        if element is not None and box.element_tag == "figure":
            inside = "map" in (element.get("class") or "").split()
        if inside and isinstance(box, boxes.ReplacedBox) and box.element_tag == "img":
            found.append(box.border_width() / column)
        for child in getattr(box, "children", ()):
            walk(child, inside, column)

    for page in document.pages[1:]:
        walk(page._page_box, False, page._page_box.width)
    return found


@pytest.mark.parametrize("size", SIZES)
def test_maps_are_set_narrower_only_to_keep_labels_at_7_pt(laid_out, size):
    # the PDF raster's place labels are 7.8 pt at full width: a map set narrower so that it shares
    # a page keeps nine tenths of it, and the figure's caption keeps the column's width
    widths = map_image_widths(laid_out("map-regions", size).document)
    assert len(widths) == 6
    assert min(widths) >= 0.9 - 1e-3, f"map widths {widths}"


def test_a_short_part_end_is_pulled_up(laid_out):
    # the fixture's sections ended on a page holding one claim (9% full on A4) or a pull quote alone
    # (15% on Letter): the drafts move a float of the part so the tail rises, or at least is not
    # a lone line or a lone figure
    for size in SIZES:
        document = laid_out("long-titles", size).document
        last = max(number for number, page in enumerate(document.pages)
                   if any(key.startswith("part-") for key, _ in page_sections(page)))
        assert page_fill(document.pages[last]) >= 0.2, f"{size}: page fills {fill_report(document)}"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["no-maps", "europe-gas", "built-in", "many-figures"])
def test_back_matter_follows_on_rather_than_leave_a_near_empty_page(laid_out, name, size):
    # no-maps ended its sections on a page 16% full, europe-gas on one 24% full, before the timeline's
    # new page: the timeline now follows on there
    pages = laid_out(name, size).document.pages
    tails = [(n + 1, round(page_fill(pages[n]), 2)) for n in range(1, len(pages) - 1)
             if starts_part(pages[n + 1], pages[n]) and page_fill(pages[n]) < 0.25
             and any("back" in classes for _, classes in page_sections(pages[n + 1]))]
    assert tails == [], f"{name}: page fills {fill_report(laid_out(name, size).document)}"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["europe-gas", "many-figures", "long-titles", "no-maps"])
def test_following_on_never_leaves_a_stub_of_a_last_page(laid_out, name, size):
    # europe-gas on Letter: its timeline following on pushed two lines of the sources onto a last page
    # 2% full; it keeps its own page there (its sections' last page, 26%, stays a part end)
    document = laid_out(name, size).document
    assert page_fill(document.pages[-1]) >= 0.15, f"{name}: page fills {fill_report(document)}"


def text_outside_figures(page) -> int:
    """Return how many pieces of text the page's main flow sets outside figures (charts, maps,
    pull quotes); footnotes do not count."""
    from weasyprint.formatting_structure import boxes

    def count(box, inside: bool) -> int:
        inside = inside or getattr(box, "element_tag", None) == "figure"
        if isinstance(box, boxes.TextBox):
            return int(not inside and bool(box.text.strip()))
        return sum(count(child, inside) for child in getattr(box, "children", ()))

    return sum(count(child, False) for child in page._page_box.children
               if not isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", BRIEFS)
def test_no_page_holds_only_figures_or_pull_quotes(laid_out, name, size):
    alone = [number for number, page in enumerate(laid_out(name, size).document.pages[1:], start=2)
             if text_outside_figures(page) == 0]
    assert alone == []


# --- the cover ---

COVER_PIECES = {"logo": "logo", "kicker": "kicker", "<h1>": "title", "subtitle": "subtitle",
                "<img>": "map", "<figcaption>": "caption", "facts": "facts", "band": "band"}
#: Word counts of the fixture's title that set it on 1..5 lines (checked by the test itself).
TITLE_WORDS = {1: 4, 2: 10, 3: 22, 4: 34, 5: 46}
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
        '<rect width="120" height="40" fill="#c8102e"/></svg>')


def cover_source(folder: Path, words: int, subtitle: bool = True, cover_map: bool = True) -> Path:
    """Write the long-title fixture with a title of its first ``words`` words (repeated as needed),
    without its subtitle or its map as asked; return its path."""
    text = (FIXTURES / "cover-title.en.yaml").read_text(encoding="utf-8")
    title = re.search(r'^  title: "(.*)"$', text, re.M).group(1)
    text = text.replace(title, " ".join((title.split() * 3)[:words]))
    if not subtitle:
        text = re.sub(r"^  subtitle: .*\n", "", text, flags=re.M)
    if not cover_map:
        text = re.sub(r"^    maps: \[routes\]\n", "", text, flags=re.M)
        text = re.sub(r"^maps:\n.*?(?=^sources:)", "", text, flags=re.M | re.S)
    path = folder / "cover.en.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def logo_theme(folder: Path) -> Path:
    """Write a theme with an SVG logo; return the theme file."""
    (folder / "logo.svg").write_text(LOGO, encoding="utf-8")
    theme = folder / "theme.yaml"
    theme.write_text("logo: logo.svg\n", encoding="utf-8")
    return theme


def cover_rects(folder: Path, words: int, size: str, logo: bool = True, **parts):
    """Return the first page of the cover with a title of ``words`` words as laid out, and the
    rectangles of its pieces by name."""
    options = {"page_size": size, "theme_file": logo_theme(folder) if logo else None}
    document = lay_out_brief(cover_source(folder, words, **parts), folder, settle=False, **options).document
    page = document.pages[0]
    return page, {rect.what: rect for rect in element_rects(page, COVER_PIECES)}


def title_lines(page) -> int:
    """Return how many lines the cover's title is set on."""
    title = next(b for b in page._page_box.descendants() if getattr(b, "element_tag", None) == "h1")
    return len(title.children)


def assert_cover_fits(page, rects: dict, expected: set[str]) -> None:
    """Fail unless the cover shows exactly the ``expected`` pieces, each inside the page, none
    overlapping another (the band only holds the kicker, title and subtitle, and the logo on it)."""
    assert set(rects) == expected, f"cover pieces: {sorted(rects)}"
    sheet = page_rect(page)
    for rect in rects.values():
        assert sheet.left <= rect.left and rect.right <= sheet.right + 0.5, f"{rect.what} runs off the page"
        assert sheet.top <= rect.top and rect.bottom <= sheet.bottom + 0.5, f"{rect.what} runs off the page"
    on_band = {"kicker", "title", "subtitle", "logo"}
    for first, second in combinations(rects.values(), 2):
        if "band" in (first.what, second.what) and {first.what, second.what} & on_band:
            continue  # the band is their background
        assert not first.overlaps(second), f"{first.what} overlaps {second.what}: {first} {second}"
    if "map" in rects:  # the map shrinks to what the title leaves, but stays a map
        assert rects["map"].bottom - rects["map"].top >= 60 * MM


@pytest.mark.parametrize("size", ["A4", "Letter"])
@pytest.mark.parametrize("lines", [1, 2, 3, 4, 5])
def test_cover_fits_titles_of_one_to_five_lines(tmp_path, lines, size):
    page, rects = cover_rects(tmp_path, TITLE_WORDS[lines], size)
    assert title_lines(page) == lines
    assert_cover_fits(page, rects, set(COVER_PIECES.values()))


@pytest.mark.parametrize("size", ["A4", "Letter"])
def test_cover_fits_a_title_of_extreme_length(tmp_path, size):
    # 130 words, about 660 letters: 11 or 12 lines even in the smallest title size
    page, rects = cover_rects(tmp_path, 130, size)
    assert title_lines(page) >= 10
    assert_cover_fits(page, rects, set(COVER_PIECES.values()))


@pytest.mark.parametrize("missing", ["subtitle", "map", "all"])
def test_cover_fits_without_subtitle_map_or_logo(tmp_path, missing):
    parts = {"subtitle": missing not in ("subtitle", "all"), "cover_map": missing not in ("map", "all")}
    page, rects = cover_rects(tmp_path, TITLE_WORDS[5], "Letter", logo=missing != "all", **parts)
    expected = set(COVER_PIECES.values())
    expected -= {"subtitle"} if not parts["subtitle"] else set()
    expected -= {"map", "caption"} if not parts["cover_map"] else set()
    expected -= {"logo"} if missing == "all" else set()
    assert_cover_fits(page, rects, expected)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(FILLED))
def test_cover_of_every_brief_fits(laid_out, name, size):
    page = laid_out(name, size).document.pages[0]
    rects = {rect.what: rect for rect in element_rects(page, COVER_PIECES)}
    assert {"kicker", "title", "facts", "band"} <= set(rects)
    assert_cover_fits(page, rects, set(rects))


# --- text that must not break, page references ---

def line_ends(pages: list[str]) -> str:
    """Return the text with every line break marked, white space inside lines removed (extraction
    spaces CJK text), so that a break shows as ``\\n`` between two characters."""
    return "\n".join(re.sub(r"\s+", "", line) for page in pages for line in page.splitlines())


#: What a line break must never fall inside: a number and its unit or qualifier, a unit with a
#: slash, a citation marker.
SPLITS = [
    r"\d[\d,.]*\n(?:[十百千万亿]*(?:立方米|公里|吨|桶|人|%|％)|bcm|mcm|km|million|billion|%)",
    r"(?:亿|万)?立方米/?\n/?年",
    r"(?:about|around|morethan|lessthan|upto|nearly|约|超过)\n\d",
    r"〔[^〕\n]*\n",
    r"\[source[^\]\n]*\n",
]


def without_card_values(text: str, brief) -> str:
    """Return ``text`` without the key figure cards' values: set large in a narrow card, a value
    may wrap after its qualifier ("more than / 19 million"), a display line, not running text."""
    for figure in brief.figures:
        shown = r"\n?".join(re.escape(ch) for ch in re.sub(r"\s", "", figure.display))
        text = re.sub(shown, "", text)
    return text


@pytest.mark.parametrize("name", ["built-in", "many-figures", "long-titles"])
def test_units_numbers_and_citations_never_break(pdf_text, laid_out, name):
    text = without_card_values(line_ends(pdf_text(name)), laid_out(name).project.source)
    found = [m.group(0) for pattern in SPLITS for m in re.finditer(pattern, text, re.I)]
    assert found == []


@pytest.mark.parametrize("name", list(BRIEFS))
def test_citation_markers_sit_on_one_line(laid_out, name):
    from weasyprint.formatting_structure import boxes

    split = []
    for page in laid_out(name).document.pages:
        fragments: dict[int, int] = {}
        for box in page._page_box.descendants():
            if isinstance(box, boxes.InlineBox) and "cite" in (box.element.get("class") or "").split():
                fragments[id(box.element)] = fragments.get(id(box.element), 0) + 1  # one per line it is on
        split += [count for count in fragments.values() if count > 1]
    assert split == []


def short_lines(document) -> list[tuple[int, str]]:
    """Return (page number, text) of every line that uses less than half its block's width yet is
    not the block's last line: a break far too early. Blocks with a forced break (``<br>``) are left
    out, and so are key figure values: set large in a narrow card, they may wrap after their
    qualifier."""
    from weasyprint.formatting_structure import boxes

    found = []
    for number, page in enumerate(document.pages, start=1):
        for block in page._page_box.descendants():
            if not isinstance(block, boxes.BlockContainerBox) or not block.width:
                continue
            element = block.element
            if element is None or element.find(".//br") is not None or "value" in (element.get("class") or "").split():
                continue
            lines = [b for b in block.children if isinstance(b, boxes.LineBox)]
            for line in lines[:-1]:
                pieces = [b for b in line.descendants() if isinstance(b, (boxes.TextBox, boxes.InlineReplacedBox))]
                if sum(b.width for b in pieces) < 0.5 * block.width:
                    found.append((number, "".join(getattr(b, "text", "") for b in pieces)))
    return found


@pytest.mark.parametrize("name", ["built-in", "built-in-en", "long-titles", "europe-gas"])
def test_no_line_breaks_far_too_early(laid_out, name):
    assert short_lines(laid_out(name).document) == []


PAGE_REFS = {"zh": r"见第([\d、]+)页", "en": r"\(seepages?([\d,]+)\)"}


@pytest.mark.parametrize("name, language", [("built-in", "zh"), ("many-figures", "zh"), ("long-titles", "en")])
def test_judgments_cite_each_page_once_in_order(pdf_text, name, language):
    text = re.sub(r"\s", "", "".join(pdf_text(name)))
    refs = [[int(n) for n in re.split(r"[、,]", m.group(1)) if n] for m in re.finditer(PAGE_REFS[language], text)]
    assert refs, "no page references found"
    for pages in refs:
        assert pages == sorted(set(pages)), f"page references {pages}"


# --- English ---

def styles_within(document, within: str, tag: str) -> list[dict]:
    """Return the computed styles of the ``tag`` boxes inside an element of class ``within``, on
    every page."""
    found = []

    def walk(box, inside: bool) -> None:
        element = getattr(box, "element", None)
        if element is not None:
            inside = inside or within in (element.get("class") or "").split()
            if inside and box.element_tag == tag:
                found.append(box.style)
        for child in getattr(box, "children", ()):
            walk(child, inside)

    for page in document.pages:
        walk(page._page_box, False)
    return found


def test_english_pdf_is_tagged_english(written):
    assert written("long-titles").trailer["/Root"]["/Lang"] == "en"


def test_english_body_is_hyphenated_and_ragged(laid_out):
    brief = laid_out("built-in-en")
    assert re.search(r'<html lang="en"', brief.html())
    paragraphs = styles_within(brief.document, "evidence", "li") + styles_within(brief.document, "summary", "p")
    assert paragraphs
    for style in paragraphs:
        assert style["lang"] == "en" and style["hyphens"] == "auto"
        assert style["text_align_all"] in ("left", "start")


@pytest.mark.parametrize("name", ["built-in", "built-in-en"])
def test_figure_cards_are_never_justified(laid_out, name):
    cards = styles_within(laid_out(name).document, "card", "p")
    assert cards
    assert {style["text_align_all"] for style in cards} <= {"left", "start"}
    assert {style["text_align_last"] for style in cards} <= {"auto", "left", "start"}


# --- pages as a reader sees them: header rule, running heads, headings, legends, numerals ---

def margin_boxes(page, *keywords: str) -> list:
    """Return the page's margin boxes of the given at-keywords ("@top-left", ...)."""
    from weasyprint.formatting_structure import boxes

    return [b for b in page._page_box.children if isinstance(b, boxes.MarginBox) and b.at_keyword in keywords]


def first_ink_top(page) -> float | None:
    """Return the top of the highest ink in the page's main flow (None on an empty page)."""
    from weasyprint.formatting_structure import boxes

    tops = [box.position_y for child in page._page_box.children
            if not isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)) for box in content_boxes(child)]
    return min(tops, default=None)


@pytest.mark.parametrize("name", ["built-in", "long-titles"])
def test_text_keeps_clear_of_the_header_rule(laid_out, name):
    crowded = []
    for number, page in enumerate(laid_out(name).document.pages[1:], start=2):
        top = first_ink_top(page)
        for head in margin_boxes(page, "@top-left", "@top-right"):
            rule = head.border_box_y() + head.border_height()
            if top is not None and top - rule < 3 * MM:
                crowded.append((number, round((top - rule) / MM, 1)))
    assert crowded == []


@pytest.mark.parametrize("name", ["built-in", "long-titles"])
def test_running_heads_hold_one_line(laid_out, name):
    from weasyprint.formatting_structure import boxes

    for page in laid_out(name).document.pages[1:]:
        for head in margin_boxes(page, "@top-left", "@top-right"):
            lines = [b for b in head.descendants() if isinstance(b, boxes.LineBox)]
            texts = [b for b in head.descendants() if isinstance(b, boxes.TextBox)]
            assert len(lines) <= 1
            assert sum(b.width for b in texts) <= head.width + 0.5, "".join(b.text for b in texts)


def line_counts(page) -> dict[int, tuple[object, int]]:
    """Return id(element) -> (element, lines it sets on the page) for every block of text."""
    from weasyprint.formatting_structure import boxes

    counts: dict[int, tuple[object, int]] = {}
    for box in page._page_box.descendants():
        if isinstance(box, boxes.BlockContainerBox) and box.element is not None:
            lines = sum(isinstance(child, boxes.LineBox) for child in box.children)
            if lines:
                counts[id(box.element)] = (box.element, counts.get(id(box.element), (None, 0))[1] + lines)
    return counts


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(FILLED))
def test_no_widows_or_orphans(laid_out, name, size):
    pages = [line_counts(page) for page in laid_out(name, size).document.pages]
    lonely = [(number, element.tag, before[key][1], after[key][1])
              for number, (before, after) in enumerate(zip(pages, pages[1:]), start=1)
              for key, (element, _) in before.items() if key in after
              and min(before[key][1], after[key][1]) < 2]
    assert lonely == []


def last_text_ancestors(page) -> list[str]:
    """Return the tags and classes (as "tag.class") of the elements around the lowest text of the
    page's main flow, outermost first."""
    from weasyprint.formatting_structure import boxes

    lowest: tuple[float, list[str]] = (-1.0, [])

    def walk(box, chain: list[str]) -> None:
        nonlocal lowest
        element = getattr(box, "element", None)
        if element is not None and isinstance(box, boxes.ParentBox):
            chain = chain + [f"{box.element_tag}.{'.'.join((element.get('class') or '').split())}"]
        if isinstance(box, boxes.TextBox) and box.text.strip():
            bottom = box.position_y + box.height
            if bottom >= lowest[0]:
                lowest = (bottom, chain)
        for child in getattr(box, "children", ()):
            walk(child, chain)

    for child in page._page_box.children:
        if not isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)):
            walk(child, [])
    return lowest[1]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(FILLED))
def test_no_page_ends_with_a_heading(laid_out, name, size):
    ends = [(number, chain[-1]) for number, page in enumerate(laid_out(name, size).document.pages[1:-1], start=2)
            for chain in [last_text_ancestors(page)]
            if any(re.match(r"h[1-4]\.", tag) for tag in chain)]
    assert ends == []


def test_hanging_lines_align_under_the_text(laid_out):
    # legend entries hang in their padding: swatch, then text, and the text's next lines under it
    from weasyprint.formatting_structure import boxes

    def starts(box) -> list[float]:
        """Return the left edges of the line's pieces: words, images and inline blocks."""
        if isinstance(box, boxes.TextBox):
            return [box.position_x] if box.text.strip() else []
        if isinstance(box, (boxes.InlineReplacedBox, boxes.InlineBlockBox)):
            return [box.position_x]
        return [x for child in getattr(box, "children", ()) for x in starts(child)]

    wrapped = 0
    for page in laid_out("long-titles").document.pages:
        for item in page._page_box.descendants():
            if getattr(item, "element_tag", None) != "li" or item.style["padding_left"].value <= 0:
                continue
            lines = [b for b in item.children if isinstance(b, boxes.LineBox)]
            if len(lines) > 1:
                wrapped += 1
                assert abs(starts(lines[0])[1] - starts(lines[1])[0]) < 1.5, "a wrapped line does not hang"
    assert wrapped >= 2, "two of the fixture's legend entries should wrap"


@pytest.mark.parametrize("name", ["built-in", "long-titles"])
def test_contents_entries_hang_and_page_numbers_align_right(laid_out, name):
    from weasyprint.formatting_structure import boxes

    page = laid_out(name).document.pages[2]
    right = page._page_box.content_box_x() + page._page_box.width
    ends, wrapped = [], 0
    for item in page._page_box.descendants():
        if getattr(item, "element_tag", None) != "li" or not isinstance(item, boxes.BlockBox):
            continue
        words = [b for b in item.descendants() if isinstance(b, boxes.TextBox) and b.text.strip()]
        ends.append(round(right - (words[-1].position_x + words[-1].width), 1))
        title = [b for b in words if "no" not in (b.element.get("class") or "").split() and b.text.strip(".")]
        starts = {round(b.position_y): b.position_x for b in reversed(title)}  # each line's first word
        wrapped += len(starts) > 1
        assert max(starts.values()) - min(starts.values()) < 1.5, "a wrapped title does not hang under itself"
    assert ends and max(ends) < 2, f"page numbers stop short of the right edge by {ends} px"
    assert wrapped or name != "long-titles", "the fixture's first section title should wrap"


@pytest.mark.parametrize("name", ["built-in", "long-titles"])
def test_nothing_runs_into_the_side_margins(laid_out, name):
    from weasyprint.formatting_structure import boxes

    outside = []
    for number, page in enumerate(laid_out(name).document.pages[1:], start=2):
        left = page._page_box.content_box_x()
        right = left + page._page_box.width
        inked = [box for child in page._page_box.children if not isinstance(child, boxes.MarginBox)
                 for box in child.descendants() if isinstance(box, boxes.ReplacedBox)
                 or isinstance(box, boxes.TextBox) and box.text.strip()]
        outside += [(number, getattr(box, "text", box.element_tag)[:20]) for box in inked
                    if box.position_x < left - 0.5 or box.position_x + box.margin_width() > right + 0.5]
    assert outside == []


def test_theme_sets_old_style_or_lining_numbers(tmp_path):
    theme = FIXTURES / "themes" / "letter.yaml"  # numerals: oldstyle
    document = lay_out_brief(FIXTURES / "no-maps.en.yaml", tmp_path, settle=False, theme_file=theme).document
    body = styles_within(document, "evidence", "li")
    assert body and all("oldstyle-nums" in (style["font_variant_numeric"] or ()) for style in body)
    # list numbers and judgment counters stay lining, so they sit on the baseline
    counters = [box.style for page in document.pages for box in page._page_box.descendants()
                if getattr(box, "element_tag", None) == "li::marker"
                or getattr(box, "element_tag", None) == "li::before" and box.element.get("class") == "judgment"]
    assert counters and all("lining-nums" in (style["font_variant_numeric"] or ()) for style in counters)
