#!/usr/bin/env python3
"""Generate templates/deck/kzreport.pptx: the 16:9 deck template with the theme's colours and fonts.

Starts from python-pptx's default template (4:3, Office theme), then:
- widens the slide to 16:9 and stretches every master and layout shape to match;
- keeps the eight layouts PowerPoint and pandoc users know, by name, and drops the others;
- writes the colours of templates/theme.yaml into the theme's colour scheme and the theme's
  heading font (Latin and East Asian) into its major and minor fonts, with zh-CN as the default language;
- saves with fixed dates and a rewritten zip, so that running the script twice gives the same bytes.

Usage: .venv/bin/python scripts/make_deck_template.py [OUT]  (default: templates/deck/kzreport.pptx)
"""

from __future__ import annotations

import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from pptx import Presentation
from pptx.opc.constants import RELATIONSHIP_TYPE as RT

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kzreport import _pptx_xml as xml  # noqa: E402
from kzreport.builders.deck import BODY_PT, LINE_PCT, SPACE_BEFORE_PT, TITLE_PT, restyle_theme  # noqa: E402
from kzreport.theme import load_theme  # noqa: E402

SLIDE_WIDTH = 12192000  # 16:9 at PowerPoint's standard height
SLIDE_HEIGHT = 6858000
LAYOUT_NAMES = ("Title Slide", "Title and Content", "Section Header", "Two Content", "Comparison",
                "Title Only", "Blank", "Content with Caption")
# A fixed date for the template's own metadata: the template changes only when this script does.
TEMPLATE_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def keep_named_layouts(prs) -> None:
    """Remove every layout whose name is not one of LAYOUT_NAMES; fail if one of them is missing."""
    layouts = prs.slide_layouts
    for layout in [l for l in layouts if l.name not in LAYOUT_NAMES]:
        layouts.remove(layout)
    names = [l.name for l in layouts]
    missing = [n for n in LAYOUT_NAMES if n not in names]
    if missing:
        raise SystemExit(f"default template lacks layouts {missing}")


def widen_to_16_9(prs) -> None:
    """Make the slide 16:9 and stretch the master's and layouts' shapes horizontally to fit."""
    factor = SLIDE_WIDTH / prs.slide_width
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    master = prs.slide_master
    xml.scale_shapes_horizontally(master._element.find(xml.qn("p:cSld")), factor)
    for layout in prs.slide_layouts:
        xml.scale_shapes_horizontally(layout._element.find(xml.qn("p:cSld")), factor)


def style_master(prs) -> None:
    """Put the look into the master: title and body styles (sizes, theme colours and fonts, bullets,
    percent line spacing), 12 pt footers, shrink-on-overflow on every placeholder, zh-CN as the default
    language; slides added in PowerPoint from any layout then look like kzreport's."""
    master = prs.slide_master._element
    xml.style_master_text(master, title_pt=TITLE_PT, body_pts=[BODY_PT, 20, 18, 16, 16], line_pct=LINE_PCT,
                          space_before_pt=SPACE_BEFORE_PT, other_pt=18)
    xml.style_footer_placeholders(master, 12, "accent4")
    xml.shrink_on_overflow(master)
    xml.raise_small_sizes(master, 12)
    xml.set_default_language(master)
    xml.set_default_language(prs.part._element)
    for layout in prs.slide_layouts:
        xml.style_footer_placeholders(layout._element, 12, "accent4")
        xml.shrink_on_overflow(layout._element)
        xml.raise_small_sizes(layout._element, 12)
        xml.set_default_language(layout._element)


def drop_thumbnail(prs) -> None:
    """Remove the default template's 4:3 thumbnail picture: it would show the wrong deck."""
    package = prs.part.package
    for rId, rel in list(package._rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package.drop_rel(rId)


def set_core_properties(prs) -> None:
    """Give the template fixed, descriptive metadata."""
    props = prs.core_properties
    props.title = "kzreport deck template"
    props.author = "kzreport"
    props.subject = "16:9 template for kzreport briefing decks"
    props.keywords = "kzreport; template"
    props.language = xml.LANG
    props.last_modified_by = "kzreport"
    props.revision = 1
    props.created = props.modified = TEMPLATE_DATE.replace(tzinfo=None)
    props.last_printed = TEMPLATE_DATE.replace(tzinfo=None)


def make_template() -> bytes:
    """Return the bytes of the deck template."""
    theme, _ = load_theme(ROOT / "templates" / "theme.yaml")
    prs = Presentation()
    keep_named_layouts(prs)
    widen_to_16_9(prs)
    style_master(prs)
    restyle_theme(prs, theme, xml.LANG)
    drop_thumbnail(prs)
    set_core_properties(prs)
    buffer = io.BytesIO()
    prs.save(buffer)
    return xml.reproducible_package(buffer.getvalue(), TEMPLATE_DATE.timetuple()[:6])


def main(argv: list[str]) -> int:
    """Write the template to the path given (or the default one)."""
    out = Path(argv[0]) if argv else ROOT / "templates" / "deck" / "kzreport.pptx"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(make_template())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
