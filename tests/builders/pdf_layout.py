"""Measures of a PDF's layout taken from WeasyPrint's own page boxes: how full each page is, which
parts start where, and the rectangles the cover's pieces occupy. Shared by the layout tests; also
runnable as ``python tests/builders/pdf_layout.py BRIEF.yaml ... [--page-size Letter]`` to print
the fill of every page.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

#: Classes of the brief's top-level sections, reported by ``page_sections``.
PART_CLASSES = {"cover", "bluf", "toc-page", "part", "back"}
#: Breaks that end a part: the page before an element with one of them may be short.
FORCED_BREAKS = {"page", "left", "right", "recto", "verso"}
#: Pages allowed to be short whatever their fill: the cover and the contents.
EXEMPT_CLASSES = {"cover", "toc-page"}
MIN_FILL = 0.60


@dataclass(frozen=True)
class Rect:
    """A box's border rectangle on its page, in CSS px; ``what`` says which element it is."""

    what: str
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: "Rect", tolerance: float = 0.5) -> bool:
        """Return whether the two rectangles share an area larger than ``tolerance`` on both axes."""
        return (min(self.right, other.right) - max(self.left, other.left) > tolerance
                and min(self.bottom, other.bottom) - max(self.top, other.top) > tolerance)


@dataclass
class LaidOut:
    """A brief as the PDF builder lays it out: its project, the builder, the settled WeasyPrint
    document and the fetcher that served it."""

    project: object
    builder: object
    document: object
    fetcher: object

    def html(self) -> str:
        """Return the HTML the builder renders for the brief (its first draft)."""
        return self.builder.render_html(self.project)[0]

    def pdf(self) -> bytes:
        """Return the PDF bytes the build writes from this layout."""
        return self.builder.write(self.project, self.document, self.fetcher)


def lay_out_brief(source: Path, out: Path, settle: bool = True, **options) -> LaidOut:
    """Return ``source`` laid out as the build does (maps drawn first into ``out``, so map figures
    have their real size); with ``settle`` false, only the first draft (enough for the cover)."""
    from kzreport.build import BuildOptions, Reporter, build, load_project
    from kzreport.builders.pdf import PdfBuilder

    options = BuildOptions(out_dir=out, formats=("maps",), **options)
    project = load_project(source, options, Reporter(verbosity=0))
    if any(project.map_image(spec.id) is None for spec in project.source.maps):
        build([source], options, Reporter(verbosity=0))  # the maps are drawn once, then cached
        project = load_project(source, options, Reporter(verbosity=0))
    builder = PdfBuilder()
    if settle:
        document, fetcher = builder.render_and_layout(project)
    else:
        document, fetcher = builder.layout(project, *builder.render_html(project))
    return LaidOut(project, builder, document, fetcher)


def lay_out(source: Path, out: Path, **options):
    """Return the WeasyPrint document of ``source``'s PDF, settled as the build settles it."""
    return lay_out_brief(source, out, **options).document


def content_boxes(box):
    """Yield the boxes under ``box`` that put ink on the page: text, images, SVG and boxes with a
    background or border (the empty parts of a tall block do not count)."""
    from weasyprint.formatting_structure import boxes

    for child in box.descendants():
        if isinstance(child, (boxes.TextBox, boxes.ReplacedBox)):
            yield child
        elif isinstance(child, boxes.BlockLevelBox) and _is_painted(child):
            yield child


def _is_painted(box) -> bool:
    """Return whether a block draws a background or a border of its own."""
    style = box.style
    background = style["background_color"]
    if background and background[3] > 0:
        return True
    return any(style[f"border_{side}_width"] > 0 and style[f"border_{side}_style"] not in ("none", "hidden")
               for side in ("top", "bottom"))


def page_fill(page) -> float:
    """Return the share (0..1) of the page's text block, from its top to its bottom, that holds
    content: the lowest ink of the main flow plus the footnote area at the foot of the page."""
    from weasyprint.formatting_structure import boxes

    page_box = page._page_box
    top, height = page_box.content_box_y(), page_box.height
    lowest, footnotes = top, 0.0
    for child in page_box.children:
        if isinstance(child, boxes.FootnoteAreaBox):
            if child.children:
                footnotes = child.margin_height()
        elif not isinstance(child, boxes.MarginBox):
            for box in content_boxes(child):
                lowest = max(lowest, box.position_y + box.margin_height() - box.margin_bottom)
    return min(1.0, (lowest - top + footnotes) / height)


def page_sections(page) -> list[tuple[str, set[str]]]:
    """Return the ``<section>``/``<nav>`` elements with a part class drawn on the page, as
    (id, classes) pairs in document order."""
    found = {}
    for box in page._page_box.descendants():
        element = getattr(box, "element", None)
        if element is None or box.element_tag not in ("section", "nav"):
            continue
        classes = set((element.get("class") or "").split())
        if classes & PART_CLASSES:
            found.setdefault(element.get("id") or element.get("class"), classes)
    return list(found.items())


def _flow_elements(page) -> dict[int, object]:
    """Return id(element) -> one box of every element drawn in the page's main flow."""
    from weasyprint.formatting_structure import boxes

    found = {}
    for child in page._page_box.children:
        if isinstance(child, boxes.MarginBox):
            continue
        for box in child.descendants():
            element = getattr(box, "element", None)
            if element is not None:
                found.setdefault(id(element), box)
    return found


def starts_part(page, before) -> bool:
    """Return whether ``page`` begins with an element that forces a page break before it (a part
    the template starts on a new page), so that ``before`` is the last page of the part before."""
    earlier = _flow_elements(before)
    starting = [box for key, box in _flow_elements(page).items() if key not in earlier]
    return any(box.style["break_before"] in FORCED_BREAKS for box in starting)


def short_pages(document, minimum: float = MIN_FILL) -> list[tuple[int, float]]:
    """Return (page number from 1, fill) of every page less than ``minimum`` full that is not the
    cover, the contents or the last page of a part (the document's last page included): sections
    that only follow on are no part, so a short page before one counts."""
    pages = document.pages
    short = []
    for index, page in enumerate(pages):
        if any(classes & EXEMPT_CLASSES for _, classes in page_sections(page)):
            continue
        if index == len(pages) - 1 or starts_part(pages[index + 1], page):
            continue
        fill = page_fill(page)
        if fill < minimum:
            short.append((index + 1, round(fill, 3)))
    return short


def fill_report(document) -> list[int]:
    """Return every page's fill in whole percent."""
    return [round(100 * page_fill(page)) for page in document.pages]


def element_rects(page, selector_classes: dict[str, str]) -> list[Rect]:
    """Return the border rectangles of the elements on ``page`` whose class (or tag, for keys that
    start with ``<``) matches a key of ``selector_classes``, named by its value; one per element."""
    rects: dict[int, Rect] = {}
    for box in page._page_box.descendants():
        element = getattr(box, "element", None)
        if element is None or id(element) in rects:
            continue
        classes = set((element.get("class") or "").split())
        for key, name in selector_classes.items():
            hit = box.element_tag == key.strip("<>") if key.startswith("<") else key in classes
            if hit and hasattr(box, "border_box_x"):
                x, y = box.border_box_x(), box.border_box_y()
                rects[id(element)] = Rect(name, x, y, x + box.border_width(), y + box.border_height())
                break
    return list(rects.values())


def page_rect(page) -> Rect:
    """Return the page's own rectangle (the sheet, without bleed)."""
    box = page._page_box
    return Rect("page", 0, 0, box.margin_width(), box.margin_height())


def main(argv: list[str]) -> int:
    """Print the fill of every page of each brief named on the command line."""
    import tempfile

    size = None
    if "--page-size" in argv:
        at = argv.index("--page-size")
        size, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    for name in argv:
        with tempfile.TemporaryDirectory() as folder:
            document = lay_out(Path(name), Path(folder), page_size=size)
        fills = fill_report(document)
        print(f"{name}: {len(fills)} pages; fill % {fills}; short {short_pages(document)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
