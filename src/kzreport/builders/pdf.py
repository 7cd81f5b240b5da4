"""The PDF briefing: Jinja2 templates to HTML, laid out and written by WeasyPrint.

Steps: check that the fonts draw every character; render ``pdf/brief.html.j2``
(user templates first, built-ins last) into HTML; lay it out; write the PDF to
bytes. WeasyPrint reads only through ``SafeFetcher``: files under the template
and asset folders, and the map images and logo kzreport hands it; anything else
(``file:///etc/passwd``, ``http://…``) stops the build with an error; ``data:`` URLs
are inline and allowed.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel

from ..errors import InputError
from ..fonts import require_coverage
from ..limits import work_limits
from ..reproducible import build_time
from ..resources import assets_dir, mime_type, template_search_path
from ..theme import read_logo
from ..templating import render_template, template_environment
from . import Builder

PAGE_SIZES = {"A4": "A4", "Letter": "letter"}
MAX_RESOURCE_BYTES = 32 * 1024 * 1024
INTERNAL_SCHEME = "kzreport:"


def brief_text(node) -> str:
    """Return every text of the brief joined, for the font coverage check."""
    if isinstance(node, BaseModel):
        return "\n".join(brief_text(getattr(node, name)) for name in type(node).model_fields)
    if isinstance(node, (list, tuple)):
        return "\n".join(brief_text(item) for item in node)
    return node if isinstance(node, str) else ""


def _maps():
    """Return the maps builder's module, whose route styles the PDF's legends share."""
    from . import maps

    return maps


def route_legend_text(line, words) -> str:
    """Return a route's entry in the figure's legend: its name, then in one pair of parentheses its capacity
    and its status with dates when not operating (Norpipe (30 Mt/yr; halted, January 2023 – March 2023))."""
    status = _maps().route_status_text(line, words) if line.status != "operating" else None
    aside = words("route_detail_separator").join(part for part in (line.capacity, status) if part)
    return words("parenthetical", text=line.name, aside=aside) if aside else line.name


def _fetcher_class():
    """Return SafeFetcher, defined on first use so that WeasyPrint is imported only by a PDF build."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """Serves kzreport's own resources and files under the allowed folders; refuses everything else."""

        def __init__(self, roots: list[Path], resources: dict[str, tuple[bytes, str]]):
            super().__init__(allowed_protocols={"file", "kzreport", "data"}, allow_redirects=False,
                             fail_on_errors=True, timeout=5)
            self.roots = [r.resolve() for r in roots]
            self.resources = resources
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(INTERNAL_SCHEME):
                return self._internal(url)
            if url.startswith("file:"):
                return self._file(url)
            if url.startswith("data:"):  # inline data: nothing is read from anywhere
                return super().fetch(url, headers)
            return self._refuse(url, "only files under the template and asset folders are read")

        def _internal(self, url: str):
            if url not in self.resources:
                return self._refuse(url, "no such kzreport resource")
            data, mime = self.resources[url]
            return URLFetcherResponse(url, data, {"Content-Type": mime})

        def _file(self, url: str):
            from urllib.request import url2pathname

            from ..fsutil import read_checked

            path = Path(url2pathname(url.split("?")[0].split("#")[0].removeprefix("file:")))
            try:  # the one check every file read goes through: inside the roots, regular, bounded
                data = read_checked(path, roots=self.roots, max_bytes=MAX_RESOURCE_BYTES, what="resource")
            except InputError as error:
                return self._refuse(url, str(error).partition(": ")[2] or str(error))
            return URLFetcherResponse(path.resolve().as_uri(), data, {"Content-Type": mime_type(path)})

        def _refuse(self, url: str, why: str):
            self.refused.append(f"{url[:200]} ({why})")
            raise PermissionError(why)

    return SafeFetcher


class _CollectLogs(logging.Handler):
    """Keeps WeasyPrint's log records so the build reports them itself."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _weasyprint_logs() -> Iterator[_CollectLogs]:
    """Divert WeasyPrint's warnings from the root logger into a collector for the duration."""
    collector = _CollectLogs()
    loggers = [logging.getLogger(n) for n in ("weasyprint", "weasyprint.progress", "fontTools")]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(collector)
        lg.propagate = False
    loggers[0].setLevel(logging.WARNING)
    try:
        yield collector
    finally:
        for lg, (propagate, level) in zip(loggers, saved):
            lg.removeHandler(collector)
            lg.propagate, lg.level = propagate, level


# --- pagination: floats placed where they fit, page references once, running heads on one line ---

MAX_DRAFTS = 5
#: A float that did not fit at the foot of a page and left more than this share of the page's
#: text block empty moves within its section, so text fills the gap (well before a page is left
#: under 60% full, the rule the layout tests hold every page to).
MAX_FLOAT_GAP = 0.25
#: A drawn map may be set this much narrower (its height in proportion) when that lets it share a
#: page with what comes before it instead of leaving that page short: its place labels, 7.8 pt at
#: full width, stay at 7 pt or more.
MIN_MAP_WIDTH = 90
#: A part (what the template starts on a new page) whose last page is less full than this share
#: of the text block is pulled together: in its pages, a float that left a gap at the foot of the
#: page before at least half as tall as that tail moves to fill it, so the tail can rise.
MIN_TAIL_FILL = 0.25
#: When the sections still end on a page less full than this, the first back part (the timeline)
#: follows on that page rather than leave it mostly empty ...
FOLLOW_ON_BELOW = 0.4
#: ... unless that leaves the document's last page holding less than this (a line or two of the
#: sources pushed over): then the part starts its own page after all.
STUB_FILL = 0.15
FORCED_BREAKS = {"page", "left", "right", "recto", "verso"}
ELLIPSIS = "…"
MM = 96 / 25.4  # CSS px per millimetre


@dataclass(frozen=True)
class Placement:
    """What one draft of the layout decided for the next: where each float sits in its section
    (element id -> number of text blocks before it), which drawn maps are set narrower (element id
    -> width in percent of the column, at least ``MIN_MAP_WIDTH``), which claims each judgment
    cites (one per page, in page order), and the running heads shortened to fit one line (key ->
    text)."""

    floats: dict = field(default_factory=dict)
    refs: dict = field(default_factory=dict)
    running: dict = field(default_factory=dict)
    widths: dict = field(default_factory=dict)
    flowing: tuple = ()
    """Ids of the back parts that follow on the sections' last page rather than start a new one."""
    apart: tuple = ()
    """Ids of the back parts that followed on once and left a stub of a last page: they keep their page."""


def section_text_blocks(section) -> list[tuple[str, object, str]]:
    """Return the section's text blocks in order as (kind, item, element id): the headline claim,
    the key figure cards, then the claims."""
    blocks = [("claim", section.headline, f"claim-{section.headline.id}")]
    if section.figures:
        blocks.append(("figures", None, f"{section.id}-figures"))
    blocks += [("claim", claim, f"claim-{claim.id}") for claim in section.claims]
    return blocks


def section_floats(section) -> list[tuple[str, str, str]]:
    """Return the section's floats in order as (kind, key, element id): charts, pull quotes, maps."""
    return ([("chart", key, f"{section.id}-chart-{key}") for key in section.charts]
            + [("quote", key, f"{section.id}-quote-{key}") for key in section.quotes]
            + [("map", key, f"{section.id}-map-{key}") for key in section.maps])


def section_blocks(section, placement: Placement) -> list[tuple[str, object]]:
    """Return what the section shows, in order, as (kind, item): text blocks with each float after
    the number of text blocks ``placement`` gives it (by default after all of them)."""
    text = section_text_blocks(section)
    after: dict[int, list] = {}
    for kind, key, element_id in section_floats(section):
        position = min(max(placement.floats.get(element_id, len(text)), 1), len(text))
        after.setdefault(position, []).append((kind, key))
    blocks = []
    for index, (kind, item, _) in enumerate(text, start=1):
        blocks.append((kind, item))
        blocks += after.get(index, [])
    return blocks


def _ink_boxes(box):
    """Yield the boxes under ``box`` that put ink on the page: text, images and painted blocks."""
    from weasyprint.formatting_structure import boxes

    for child in box.descendants():
        if isinstance(child, (boxes.TextBox, boxes.ReplacedBox)):
            yield child
        elif isinstance(child, boxes.BlockLevelBox):
            style = child.style
            if (style["background_color"][3] > 0
                    or any(style[f"border_{side}_width"] > 0 for side in ("top", "bottom"))):
                yield child


def _flow_children(page_box):
    """Return the page's main-flow and footnote boxes, without its margin boxes."""
    from weasyprint.formatting_structure import boxes

    return [c for c in page_box.children if not isinstance(c, boxes.MarginBox)]


def page_gap(page) -> float:
    """Return the height (CSS px) left empty at the foot of the page's text block."""
    from weasyprint.formatting_structure import boxes

    page_box = page._page_box
    top = page_box.content_box_y()
    lowest, footnotes = top, 0.0
    for child in _flow_children(page_box):
        if isinstance(child, boxes.FootnoteAreaBox):
            footnotes = child.margin_height() if child.children else 0.0
            continue
        for box in _ink_boxes(child):
            lowest = max(lowest, box.position_y + box.margin_height() - box.margin_bottom)
    return max(0.0, page_box.height - (lowest - top) - footnotes)


def page_filled(page) -> float:
    """Return the share (0..1) of the page's text block that its content and footnotes fill."""
    height = page._page_box.height
    return (height - page_gap(page)) / height if height else 1.0


def _has_class(box, name: str) -> bool:
    """Return whether the box's element has the class ``name``."""
    return name in (box.element.get("class") or "").split()


def _element_extents(document) -> dict[str, list[tuple[int, float, float]]]:
    """Return element id -> [(page index, top, bottom)] for every element with an id, per page."""
    extents: dict[str, dict[int, list[float]]] = {}
    for index, page in enumerate(document.pages):
        for child in _flow_children(page._page_box):
            for box in child.descendants():
                element = getattr(box, "element", None)
                if element is None or not element.get("id") or not hasattr(box, "border_box_y"):
                    continue
                top, bottom = box.border_box_y(), box.border_box_y() + box.border_height()
                span = extents.setdefault(element.get("id"), {}).setdefault(index, [top, bottom])
                span[0], span[1] = min(span[0], top), max(span[1], bottom)
    return {key: [(i, t, b) for i, (t, b) in sorted(pages.items())] for key, pages in extents.items()}


def _moved_float(section, element_id: str, position: int, gap: float, extents, page: int,
                 alone: bool = False) -> int | None:
    """Return a new position for a float that did not fit in ``gap`` at the foot of ``page``:
    before the fewest preceding text blocks that start on that page and make room for it, else
    after the text block that follows it, else, for a float that would stay alone on its page (at
    the end of its section), before the text block before it, which then follows it onto its page;
    None when none is possible within the section."""
    text = section_text_blocks(section)
    float_height = sum(b - t for _, t, b in extents[element_id][:1])
    room = gap
    for count in range(1, position):
        spans = extents.get(text[position - count][2], [])
        if not spans or spans[0][0] != page:
            break  # that block starts on an earlier page: the float would only move there
        room += spans[0][2] - spans[0][1]
        if room >= float_height:
            return position - count
    if position < len(text):
        return position + 1
    return position - 1 if alone and position > 1 else None


def _holds_only_floats(page_box, float_spans: list[tuple[float, float]]) -> bool:
    """Return whether every ink of the page's main flow lies within the given float spans (tops and
    bottoms): a page of a float or two and nothing else (footnotes aside)."""
    from weasyprint.formatting_structure import boxes

    inks = [b for c in _flow_children(page_box) if not isinstance(c, boxes.FootnoteAreaBox) for b in _ink_boxes(c)]
    return all(any(top - 1 <= b.position_y <= bottom + 1 for top, bottom in float_spans) for b in inks)


def _map_image(page_box, element_id: str):
    """Return the box of the map figure ``element_id`` on the page and its image's box, or None
    (a map not drawn: its placeholder keeps its size)."""
    from weasyprint.formatting_structure import boxes

    for box in page_box.descendants():
        element = getattr(box, "element", None)
        if element is not None and element.get("id") == element_id and box.element_tag == "figure":
            image = next((b for b in box.descendants()
                          if isinstance(b, boxes.ReplacedBox) and b.element_tag == "img"), None)
            return (box, image) if image is not None and image.height else None
    return None


def _narrowed_map(page_box, element_id: str, spans, gap: float) -> int | None:
    """Return the width (percent of the column, at least ``MIN_MAP_WIDTH``) at which the map figure
    ``element_id``, at the top of the page, fits in ``gap`` at the foot of the page before (its
    image and so its height shrinking in proportion, its caption unchanged), or None."""
    import math

    found = _map_image(page_box, element_id)
    if found is None:
        return None
    figure, image = found
    # On the page before, the figure takes its height and its top margin, and the gap is measured
    # from the last ink there, above the leading of its last line and the margins of its boxes.
    excess = (spans[0][2] - spans[0][1]) + figure.style["margin_top"].value + 3 * MM - gap
    if excess <= 0:
        return None
    narrower = math.floor(100 * (1 - excess / image.height))
    return narrower if narrower >= MIN_MAP_WIDTH else None


def _first_drawn(document) -> Iterator[tuple[int, object]]:
    """Yield (page index, box) of each element's first box in the main flow, in document order."""
    seen = set()
    for index, page in enumerate(document.pages):
        for child in _flow_children(page._page_box):
            for box in child.descendants():
                element = getattr(box, "element", None)
                if element is not None and id(element) not in seen:
                    seen.add(id(element))
                    yield index, box


def _part_starts(document) -> list[bool]:
    """Return, for each page, whether it starts a part: whether an element first drawn on it forces
    a page break before itself (the cover's page always does)."""
    starts = [index == 0 for index in range(len(document.pages))]
    for index, box in _first_drawn(document):
        starts[index] = starts[index] or box.style["break_before"] in FORCED_BREAKS
    return starts


def _largest_gaps(document) -> list[float]:
    """Return, for each page, the largest gap at the foot of the page before that lets a float
    starting the page move: ``MAX_FLOAT_GAP`` of the text block, or, in a part whose last page is
    less than ``MIN_TAIL_FILL`` full, half the height that last page fills (its tail)."""
    starts = _part_starts(document)
    limits = [MAX_FLOAT_GAP * page._page_box.height for page in document.pages]
    end = len(document.pages)
    for first in reversed([i for i, start in enumerate(starts) if start]):
        last = document.pages[end - 1]
        if page_filled(last) < MIN_TAIL_FILL:
            tail = last._page_box.height - page_gap(last)
            for index in range(first + 1, end):
                limits[index] = min(limits[index], max(tail / 2, 1.0))
        end = first
    return limits


def _revised_floats(document, brief, placement: Placement, extents) -> tuple[dict, dict]:
    """Return the float positions and map widths for the next draft: each float that begins a page
    after a page with a gap of more than ``MAX_FLOAT_GAP`` at its foot (or of its part's short
    tail, ``_largest_gaps``), or that begins a page holding only floats (a pull quote alone on the
    last page of a part), moves, once, to where it fits; a drawn map that cannot move is set
    narrower, once, when that lets it fit in the gap."""
    floats, widths = dict(placement.floats), dict(placement.widths)
    owners = {element_id: (section, len(section_text_blocks(section)))
              for section in brief.sections for _, _, element_id in section_floats(section)}
    maps = {element_id for section in brief.sections
            for kind, _, element_id in section_floats(section) if kind == "map"}
    firsts = {}
    for element_id, spans in extents.items():
        if element_id in owners:
            firsts.setdefault(spans[0][0], []).append((spans[0][1], element_id))
    limits = _largest_gaps(document)
    for page, starters in firsts.items():
        if page == 0:
            continue
        gap = page_gap(document.pages[page - 1])
        float_spans = [(top, bottom) for _, key in starters for i, top, bottom in extents[key] if i == page]
        alone = _holds_only_floats(document.pages[page]._page_box, float_spans)
        if gap < limits[page] and not alone:
            continue
        top, element_id = min(starters)
        first_ink = min((b.position_y for c in _flow_children(document.pages[page]._page_box)
                         for b in _ink_boxes(c)), default=top)
        if top > first_ink + 1:
            continue  # the page starts with text: the float is not what left the gap
        section, count = owners[element_id]
        moved = _moved_float(section, element_id, floats.get(element_id, count), gap, extents, page - 1, alone)
        if moved is not None and element_id not in placement.floats:
            floats[element_id] = moved
        elif element_id in maps and element_id not in placement.widths:
            width = _narrowed_map(document.pages[page]._page_box, element_id, extents[element_id], gap)
            if width is not None:
                widths[element_id] = width
    return floats, widths


def _revised_refs(brief, extents) -> dict:
    """Return judgment id -> the claims it cites: the first claim on each page, in page order."""
    refs = {}
    for judgment in brief.judgments:
        by_page = {}
        for key in judgment.claims:
            spans = extents.get(f"claim-{key}")
            by_page.setdefault(spans[0][0] if spans else 10**6, key)
        refs[judgment.id] = tuple(by_page[page] for page in sorted(by_page))
    return refs


def _revised_running(document, placement: Placement) -> dict:
    """Return the running heads for the next draft: each one wider than its margin box cut, at a
    length in proportion, and ended with an ellipsis."""
    from weasyprint.formatting_structure import boxes

    running = dict(placement.running)
    sources = _running_sources(document)
    for page in document.pages:
        for margin in page._page_box.children:
            if not isinstance(margin, boxes.MarginBox) or margin.at_keyword not in ("@top-left", "@top-right"):
                continue
            texts = [b for b in margin.descendants() if isinstance(b, boxes.TextBox)]
            width = sum(b.width for b in texts)
            text = "".join(b.text for b in texts)
            key = next((k for k, full in sources.items() if text in (full, running.get(k))), None)
            if not texts or width <= margin.width + 0.5 or key is None:
                continue
            keep = max(1, int(len(text.rstrip(ELLIPSIS)) * margin.width / width) - 2)
            running[key] = sources[key][:keep].rstrip(" ,;:·、，") + ELLIPSIS
    return running


def _running_sources(document) -> dict[str, str]:
    """Return key -> full text of the elements that set running heads (``data-running-key``)."""
    if not document.pages:
        return {}
    root = document.pages[0]._page_box.children[0].element
    return {e.get("data-running-key"): e.get("data-running-full") or ""
            for e in root.iter() if e.get("data-running-key")}


def revise_placement(document, brief, placement: Placement) -> Placement:
    """Return the placement for the next draft, equal to ``placement`` when the draft is settled."""
    extents = _element_extents(document)
    floats, widths = _revised_floats(document, brief, placement, extents)
    settled = (floats, widths) == (placement.floats, placement.widths)
    flowing, apart = _revised_flowing(document, placement) if settled else (placement.flowing, placement.apart)
    return Placement(floats=floats, refs=_revised_refs(brief, extents),
                     running=_revised_running(document, placement), widths=widths, flowing=flowing, apart=apart)


def _revised_flowing(document, placement: Placement) -> tuple[tuple, tuple]:
    """Return the back parts that follow on, and those kept apart, for the next draft: with the floats
    settled, a back part (the timeline, the notes) that starts a page after a last page of the sections
    less than ``FOLLOW_ON_BELOW`` full follows on instead, so the two share a page; a part that followed
    on and left the document's last page less than ``STUB_FILL`` full is kept apart again, for good."""
    flowing, apart = set(placement.flowing), set(placement.apart)
    if flowing and document.pages and page_filled(document.pages[-1]) < STUB_FILL:
        apart |= flowing
        flowing = set()
    for index, element_id in _back_part_starts(document).items():
        if index and element_id not in apart and page_filled(document.pages[index - 1]) < FOLLOW_ON_BELOW:
            flowing.add(element_id)
    return tuple(sorted(flowing)), tuple(sorted(apart))


def _back_part_starts(document) -> dict[int, str]:
    """Return page index -> id of the back part (``section.back``) whose forced break starts that page."""
    starts = {}
    for index, box in _first_drawn(document):
        if box.element_tag == "section" and _has_class(box, "back") and box.style["break_before"] in FORCED_BREAKS:
            starts.setdefault(index, box.element.get("id"))
    return starts


# --- the settled placement, cached ---

PLACEMENT_MODULES = ("builders/pdf.py", "templating.py", "fonts.py")
"""kzreport's modules whose code decides the drafts (paths in the package)."""
PLACEMENT_PACKAGES = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "pyphen")
"""Packages that lay the drafts out."""


def placement_key(first_draft: str, resources: dict[str, tuple[bytes, str]], project) -> str:
    """Return the cache key (hex SHA-256) of a brief's settled placement: its first draft's HTML (the
    source, theme, templates and words as rendered), the images it links to, the font files of the
    theme's stacks, and the code and packages that lay it out."""
    import json
    import re

    from ..cache import files_digest, software_identity
    from ..fonts import family_identities

    user = project.options.templates_dir
    # A user's stylesheet or image may be linked rather than included: its bytes count too.
    linked = sorted(p for p in (user / "pdf").rglob("*") if p.is_file()) if user and (user / "pdf").is_dir() else []
    script = project.words.language.script
    families = [f for role in ("body", "heading") for f in project.theme.fonts.stack(role, script)]
    # The build time in the document's metadata changes every second and lays nothing out.
    laid_out = re.sub(r'<meta name="dcterms\.(?:created|modified)" content="[^"]*">', "", first_draft)
    inputs = {"html": hashlib.sha256(laid_out.encode("utf-8")).hexdigest(),
              "resources": {url: [hashlib.sha256(data).hexdigest(), mime] for url, (data, mime) in resources.items()},
              "faces": family_identities(families), "linked": files_digest(linked),
              "software": software_identity(PLACEMENT_MODULES, PLACEMENT_PACKAGES),
              "page_size": project.options.page_size, "print": project.options.print_marks}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


def read_placement(key: str) -> Placement | None:
    """Return the cached placement for ``key``, or None (an entry that does not read as one is dropped)."""
    import json

    from ..cache import drop_cached, read_cached

    data = read_cached("pdf", f"{key}.json")
    if data is None:
        return None
    try:
        raw = json.loads(data)
        return Placement(floats={k: int(v) for k, v in raw["floats"].items()},
                         refs={k: tuple(str(c) for c in v) for k, v in raw["refs"].items()},
                         running={k: str(v) for k, v in raw["running"].items()},
                         widths={k: int(v) for k, v in raw["widths"].items()},
                         flowing=tuple(str(k) for k in raw["flowing"]), apart=tuple(str(k) for k in raw["apart"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        drop_cached("pdf", f"{key}.json")
        return None


def write_placement(key: str, placement: Placement) -> None:
    """Store a settled placement (atomically; a cache that cannot be written is skipped)."""
    raw = {"floats": placement.floats, "refs": {k: list(v) for k, v in placement.refs.items()},
           "running": placement.running, "widths": placement.widths, "flowing": list(placement.flowing),
           "apart": list(placement.apart)}
    _write_json(f"{key}.json", raw)


def _write_json(name: str, raw) -> None:
    """Store ``raw`` as the PDF cache's entry ``name``, in JSON with sorted keys; an entry already holding
    those bytes is left alone (a warm build keeps its references without rewriting them)."""
    import json

    from ..cache import read_cached, write_cached

    data = json.dumps(raw, sort_keys=True, ensure_ascii=False).encode("utf-8")
    if read_cached("pdf", name) != data:
        write_cached("pdf", name, data)


def sections_stand_apart(document) -> bool:
    """Return whether the sections start a page of their own (a forced break before the first part, as the
    built-in stylesheet has it), so that what comes before them cannot move anything in them."""
    for _, box in _first_drawn(document):
        if box.element_tag == "section" and _has_class(box, "part"):
            return box.style["break_before"] in FORCED_BREAKS
    return True


def _refs_guess_name(project) -> str:
    """Return the cache entry that keeps a source's last settled judgment references: by the source's path,
    page size and templates, whatever its text (an edit is what it is for)."""
    import json

    options = project.options
    ident = [str(Path(project.source_path).resolve()), options.page_size, options.print_marks,
             str(options.templates_dir.resolve()) if options.templates_dir else None]
    return f"refs-{hashlib.sha256(json.dumps(ident).encode('utf-8')).hexdigest()[:40]}.json"


def read_refs_guess(project) -> dict:
    """Return judgment id -> the claims its references cited at the source's last settled layout (in page
    order), kept only where they still are the judgment's own claims ({} when there is none)."""
    import json

    from ..cache import read_cached

    data = read_cached("pdf", _refs_guess_name(project))
    try:
        raw = json.loads(data) if data else {}
        guess = {k: tuple(str(c) for c in v) for k, v in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return {}
    own = {judgment.id: judgment.claims for judgment in project.source.judgments}
    return {k: v for k, v in guess.items() if k in own and v and len(set(v)) == len(v) and set(v) <= set(own[k])}


def write_refs_guess(project, refs: dict) -> None:
    """Keep a settled layout's judgment references as the next draft's first guess for this source."""
    _write_json(_refs_guess_name(project), {k: list(v) for k, v in refs.items()})


# --- text that must not break ---

_QUALIFIERS = {
    "latin": r"(?:about|around|roughly|nearly|almost|over|more than|less than|fewer than|under|up to|"
             r"at least|at most|close to|some|approximately|~)\s",
    "cjk": r"(?:约|約|大约|大約|超过|超過|近|逾|不足|不到|将近|將近|至少|最多|多达|多達|高达|高達)",
}
_NUMBER = r"[$€£¥]?\d[\d,.]*(?:\s?[-–~～至]\s?\d[\d,.]*)?"
_CJK_UNIT = (r"[多余餘]?[十百千万萬亿億兆]*(?:个|個)?(?:立方米|立方公尺|公噸|吨|噸|桶|公里|千米|平方公里|米|公尺|"
             r"美元|欧元|歐元|元|人|年|岁|歲|倍|艘|条|條|个|個|百分点|百分點|%|％)?(?:/(?:年|日|天))?")
_LATIN_UNIT = (r"(?:\s?(?:%|per ?cent|percent)|(?:\s(?:thousand|million|billion|trillion))?"
               r"(?:\s(?:bcm|mcm|tcm|km|km²|kb/d|b/d|bpd|mtpa|MTPA|Mt|mt|MW|GW|TWh|m³|ft|"
               r"barrels|tonnes|tons|cubic metres|metres|miles|euros|dollars))?(?:/(?:yr|y|year|d|day))?"
               r"(?:\s(?:a|per)\s(?:year|day))?)")


NO_BREAK_SPACE = "\u00a0"
WORD_JOINER = "\u2060"


def unbreakable(text: str) -> str:
    """Return ``text`` that no line can break inside: spaces made no-break spaces, and a word
    joiner (invisible, dropped from the PDF's text) wherever a break could fall between two
    characters that are not both Latin letters or digits (between CJK characters, after "/")."""
    text = text.replace(" ", NO_BREAK_SPACE)
    out = text[:1]
    for before, after in zip(text, text[1:]):
        latin = all(ch.isascii() and ch.isalnum() for ch in (before, after))
        out += after if latin or NO_BREAK_SPACE in (before, after) else WORD_JOINER + after
    return out


def keep_together(text, units: tuple[str, ...] = (), qualifiers: bool = True):
    """Return ``text`` escaped, with each number and its unit (and qualifier, unless ``qualifiers``
    is false) made unbreakable, so no line breaks inside "120亿立方米/年" or "about 55 bcm";
    ``units`` are the brief's own units, kept with the number before them too. No-break characters
    rather than a ``white-space: nowrap`` span: WeasyPrint 70 can break a line after its first word
    when an inline box is what overflows it, and a unit then often is."""
    import re

    from markupsafe import Markup, escape

    if not text:
        return text
    own = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True) if u.strip())
    latin_unit = rf"(?:(?:\s(?:thousand|million|billion|trillion))?\s(?:{own}))" if own else r"(?!x)x"
    qualifier = rf"(?:{_QUALIFIERS['latin']}|{_QUALIFIERS['cjk']})?" if qualifiers else ""
    pattern = re.compile(rf"{qualifier}{_NUMBER}(?:{latin_unit}|{_CJK_UNIT}{_LATIN_UNIT})", re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(str(text)):
        whole = match.group(0)
        if re.fullmatch(r"\d+", whole):
            continue  # a bare number never breaks
        pieces += [escape(text[last:match.start()]), escape(unbreakable(whole))]
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def cover_title_size(title: str, script: str) -> str:
    """Return the cover title's size class for its length: "" up to about two lines at full size,
    "long" up to about four, "longest" up to about five, "extreme" beyond, so that even a title of
    hundreds of letters leaves the map and the facts room on the page (a Chinese character counts
    as two Latin letters)."""
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in title)
    for size, most in (("", 60), ("long", 120), ("longest", 240)):
        if width <= most:
            return size
    return "extreme"


class PdfBuilder(Builder):
    """Builds ``<stem>.pdf``: check fonts, render the templates, lay out, write."""

    name = "pdf"

    def build(self, project, reporter) -> None:
        """Add the brief's PDF to the project's outputs."""
        with reporter.stage("pdf fonts"):
            self.check_fonts(project)
        with reporter.stage("pdf layout"):
            document, fetcher = self.render_and_layout(project)
        with reporter.stage("pdf write"):
            data = self.write(project, document, fetcher)
        project.add_output(project.output_path(f"{project.stem}.pdf"), data)

    def check_fonts(self, project) -> None:
        """Raise InputError when the fonts the PDF sets its text in lack a character of the brief or its words."""
        script = project.words.language.script
        text = brief_text(project.source) + "\n".join(project.words.messages.values())
        for role in ("body", "heading"):
            require_coverage(text, project.theme.fonts.stack(role, script), f"{project.source_path}: PDF {role} text")

    def render_html(self, project, placement: "Placement | None" = None) -> tuple[str, dict[str, tuple[bytes, str]]]:
        """Return the brief as HTML (floats, page references and running heads as ``placement``
        says; the first draft without one) and the in-memory resources (map images, logo) it links to."""
        resources = self.resources(project)
        env = template_environment(project.options.templates_dir)
        context = self.context(project, resources, placement or Placement())
        return render_template(env, "pdf/brief.html.j2", context), resources

    def render_and_layout(self, project):
        """Return the laid-out document and its fetcher after settling the layout: each draft is
        measured, then floats that left a page short move within their section, judgments cite each
        page once, and running heads too wide for one line are shortened, until nothing changes.

        A settled placement is cached under everything the drafts depend on (``placement_key``), so an
        unchanged brief is laid out once; it is used only when its layout proves settled, so the
        document is the one the drafts would reach (the same bytes, cache or not).
        An edited brief starts from the judgments' references of its last settled layout (``read_refs_guess``)
        rather than from all their claims: they sit before the sections, which start a page of their own, so
        they move nothing the drafts decide from, and a right guess saves a draft while a wrong one is
        corrected in the first (the same placement, and the same bytes, either way).
        """
        first, resources = self.render_html(project, Placement())
        key = placement_key(first, resources, project)
        cached = read_placement(key) if project.options.use_cache else None
        if cached is not None:
            document, fetcher = self.layout(project, self.render_html(project, cached)[0], resources)
            if revise_placement(document, project.source, cached) == cached:
                write_refs_guess(project, cached.refs)
                return document, fetcher
        guess = read_refs_guess(project) if project.options.use_cache else {}
        placement = Placement(refs=guess)
        html = self.render_html(project, placement)[0] if guess else first
        for draft in range(MAX_DRAFTS):
            if draft:
                html, resources = self.render_html(project, placement)
            document, fetcher = self.layout(project, html, resources)
            if not draft and guess and not sections_stand_apart(document):
                placement = Placement()  # a template that runs the sections on: the references could move them
                document, fetcher = self.layout(project, first, resources)
            revised = revise_placement(document, project.source, placement)
            if revised == placement:
                write_placement(key, placement)
                write_refs_guess(project, placement.refs)
                break
            placement = revised
        return document, fetcher

    def resources(self, project) -> dict[str, tuple[bytes, str]]:
        """Return ``kzreport:`` URL -> (bytes, MIME type) for the map images and the theme's logo."""
        found = {}
        for spec in project.source.maps:
            png = project.map_image(spec.id)
            if png:
                found[f"{INTERNAL_SCHEME}map/{spec.id}.png"] = (png, "image/png")
        logo = read_logo(project.theme, project.theme_dir)
        if logo:
            found[f"{INTERNAL_SCHEME}logo"] = logo
        return found

    def context(self, project, resources, placement: "Placement") -> dict:
        """Return what the templates see: the brief, the theme, page settings and helpers."""
        from ..svgchart import layout_chart

        from markupsafe import Markup

        theme, brief, words = project.theme, project.source, project.words
        article_words = project.article_words
        palette = {**theme.colors.model_dump(), "light": theme.colors.light}
        units = tuple(f.unit for f in brief.figures if f.unit)
        size = project.options.page_size or theme.page_size
        return {
            "brief": brief, "meta": brief.meta, "theme": theme,
            "t": words, "language": words.language,
            "article_words": article_words, "article_language": article_words.language,
            "route_swatch_svg": lambda line: Markup(_maps().route_swatch_svg(line, theme.map)),
            "route_legend_text": lambda line: route_legend_text(line, words),
            "figure_displays": lambda chart: [brief.figure(key).display for key in chart.figures],
            "page_size": PAGE_SIZES[size], "print_marks": project.options.print_marks,
            "created": build_time().isoformat(), "maps": {m.id: m for m in project.source.maps},
            "map_url": lambda map_id: f"{INTERNAL_SCHEME}map/{map_id}.png"
            if f"{INTERNAL_SCHEME}map/{map_id}.png" in resources else None,
            "logo_url": f"{INTERNAL_SCHEME}logo" if f"{INTERNAL_SCHEME}logo" in resources else None,
            "chart_layout": lambda chart: layout_chart(brief, chart, palette, words("chart_no_value")),
            "map_colors": theme.map,
            "source_numbers": {s.key: i for i, s in enumerate(project.source.sources, 1)},
            "note_titles": {n.id: n.title for n in project.source.notes},
            "section_blocks": lambda section: section_blocks(section, placement),
            "judgment_refs": lambda judgment: placement.refs.get(judgment.id, judgment.claims),
            "running_head": lambda key, text: placement.running.get(key, text),
            "map_width": lambda element_id: placement.widths.get(element_id),
            "follows_on": lambda element_id: element_id in placement.flowing,
            "keep": lambda text: keep_together(text, units),
            "keep_value": lambda text: keep_together(text, units, qualifiers=False),
            "cover_title_size": cover_title_size(brief.meta.title, words.language.script),
        }

    def allowed_roots(self, project) -> list[Path]:
        """Return the folders WeasyPrint may read: the template search path and the assets."""
        return [*template_search_path(project.options.templates_dir), assets_dir()]

    def layout(self, project, html: str, resources):
        """Return the laid-out WeasyPrint document and the fetcher that served it."""
        from weasyprint import HTML

        fetcher = _fetcher_class()(self.allowed_roots(project), resources)
        base = template_search_path(project.options.templates_dir)[0] / "pdf" / "brief.html.j2"
        with self._weasyprint(project, fetcher, "layout") as logs:
            document = HTML(string=html, base_url=base.resolve().as_uri(), url_fetcher=fetcher).render()
        self._report_logs(project, logs)
        return document, fetcher

    def write(self, project, document, fetcher) -> bytes:
        """Return the PDF bytes: tagged (PDF/UA-1), with a stable identifier."""
        identifier = hashlib.sha256(project.source.model_dump_json().encode()).hexdigest()[:32].encode()
        # Attachments are fetched while writing, so the fetcher's refusals count here too.
        from ..pdf_writer import png_data_passed_through, streams_serialized_once

        with self._weasyprint(project, fetcher, "write") as logs, streams_serialized_once(), png_data_passed_through():
            data = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=identifier,
                                      uncompressed_pdf=False)
        self._report_logs(project, logs)
        return data

    @contextmanager
    def _weasyprint(self, project, fetcher, step: str) -> Iterator[_CollectLogs]:
        """Run a WeasyPrint step under the time limit; its refused or unreadable resources become InputErrors."""
        from weasyprint.urls import FatalURLFetchingError

        with _weasyprint_logs() as logs, work_limits(f"{project.source_path}: PDF {step}"):
            try:
                yield logs
            except FatalURLFetchingError as error:  # a BaseException: never let it reach the user as a traceback
                self._raise_refused(project, fetcher, error)
                if isinstance(error.__cause__, RecursionError):
                    raise InputError(f"{project.source_path}: PDF: a stylesheet imports itself ({error})") from None
                raise InputError(f"{project.source_path}: PDF: a template or stylesheet asks for a resource "
                                 f"that cannot be read ({error})") from None
            except RecursionError:
                raise InputError(f"{project.source_path}: PDF: a template or stylesheet refers to itself "
                                 "(an @import or include loop)") from None
            except Exception as error:
                self._raise_refused(project, fetcher, error)
                raise
        self._raise_refused(project, fetcher, None)

    def _raise_refused(self, project, fetcher, error) -> None:
        """Raise InputError when the templates asked for a resource kzreport does not serve."""
        if fetcher.refused:
            lines = [f"{project.source_path}: PDF: a template or stylesheet asks for {r}"
                     for r in dict.fromkeys(fetcher.refused)]
            raise InputError("\n".join(lines)) from error

    def _report_logs(self, project, logs: _CollectLogs) -> None:
        """Turn WeasyPrint's warnings into an InputError that blames what they are about: the theme's logo,
        or the templates and stylesheets (the brief's text and the map images are checked before)."""
        warnings = list(dict.fromkeys(r.getMessage() for r in logs.records if r.levelno >= logging.WARNING))
        if not warnings:
            return
        about_logo = [w for w in warnings if f"{INTERNAL_SCHEME}logo" in w]
        lines = [f"{project.theme_file_name()}: logo: {w}" for w in about_logo]
        rest = [w for w in warnings if w not in about_logo]
        if rest:
            shown = "\n".join(f"  {w}" for w in rest)
            lines.append(f"{project.source_path}: PDF: the templates or stylesheets have problems:\n{shown}")
        raise InputError("\n".join(lines))

