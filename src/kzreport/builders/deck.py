"""The PowerPoint deck: the brief's argument as 16:9 slides with speaker notes, from the same source.

Steps: open the template (``templates/deck/kzreport.pptx`` or ``--pptx-template``) and
drop its slides; add the slides in order — title, agenda, bottom line, key judgments,
then per section a section header, one slide per claim (with （续） continuation slides
when evidence overflows) and the section's key figures, chart and maps; then timeline,
quotes, notes on other sources, sources and credits; save with fixed dates and a
rewritten zip and add ``<stem>.pptx``.

Every text box is filled at a size chosen by ``textfit`` with the real font metrics,
never below 18 pt for body text and 28 pt for titles; what does not fit continues on a
next slide or, when a single item cannot fit, stops the build with an error naming the
item's path in the source. All XML that python-pptx has no API for is in ``_pptx_xml``.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from . import Builder
from .. import _pptx_xml as xml
from ..errors import BuildError, InputError
from ..pptx_master import open_master
from ..reproducible import build_time, zip_time
from ..i18n import language
from ..textfit import (EMU_PER_PT, LINE_SPACING, MIN_BODY_PT, MIN_TITLE_PT, FontMetrics, fit_paragraphs, fits,
                       stack_metrics, text_height_pt, wrap_lines)

Loc = tuple[str | int, ...]

INSET_X = 91440  # PowerPoint's default text insets, written out so that measuring and drawing agree
INSET_Y = 45720
BULLET_INDENT = 342900  # 0.375 in: room for the hanging bullet
BULLET_GAP = 0.5  # space between bullet paragraphs, as a multiple of the size
TITLE_MAX_PT = 36.0
BODY_MAX_PT = 28.0
MAX_BULLETS = 5  # one idea per slide: three to five bullets (design brief)
CARDS_PER_SLIDE = 3
EVENTS_PER_SLIDE = 6


@dataclass(frozen=True)
class Para:
    """One paragraph of slide text: an optional emphasised lead, the text, and where it comes from."""

    text: str
    loc: Loc
    lead: str = ""

    @property
    def full(self) -> str:
        """Return the paragraph as it reads."""
        return self.lead + self.text


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide, in EMU."""

    left: int
    top: int
    width: int
    height: int

    @property
    def text_width(self) -> int:
        """Return the width left for text inside the insets."""
        return self.width - 2 * INSET_X

    @property
    def text_height(self) -> int:
        """Return the height left for text inside the insets."""
        return self.height - 2 * INSET_Y


@dataclass
class Notes:
    """The speaker notes of one slide, paragraph by paragraph."""

    words: object
    """The brief's ``Words``: the labels and quotation marks of the notes."""
    article_words: object
    """The article's ``Words``: passages are quoted in the article's marks."""
    lines: list[str] = field(default_factory=list)

    def add(self, text: str | None, prefix: str = "") -> None:
        """Add a paragraph when there is text."""
        if text:
            self.lines.append(prefix + text)

    def passage(self, item) -> None:
        """Add the article passage an item rests on, verbatim, with its translation when it has one."""
        if item.passage:
            quote = self.article_words.quoted(item.passage)
            if getattr(item, "translation", None):
                self.lines.append(self.words("passage_translated", quote=quote,
                                             translation=self.words.quoted(item.translation)))
            else:
                self.lines.append(self.words("passage", quote=quote))


class DeckWriter:
    """Adds slides to one presentation with the project's layouts, fonts and colours."""

    def __init__(self, project, prs):
        self.project = project
        self.brief = project.source
        self.prs = prs
        self.theme = project.theme
        self.t = project.words
        self.article_words = project.article_words
        script = self.t.language.script
        # Slides read best in the sans face throughout (design brief): headings' faces for all text.
        self.fonts = tuple(project.theme.fonts.stack("heading", script))
        self.latin, self.east_asian = self.fonts[0], project.theme.fonts.east_asian("heading", script)
        self.colors = project.theme.colors
        self.layouts = {layout.name: layout for layout in prs.slide_layouts}

    # --- basic pieces ------------------------------------------------------------

    def fail(self, loc: Loc, message: str) -> InputError:
        """Return an InputError naming the source file and the item's path."""
        return self.project.problem(loc, message)

    def layout(self, kind: str):
        """Return the template's layout for a slide kind, or raise InputError listing the available ones."""
        name = self.theme.layout_name(kind)
        if name not in self.layouts:
            raise InputError(f"deck template: no slide layout named {name!r} (for {kind} slides); "
                             f"the template has: {', '.join(repr(n) for n in self.layouts)}")
        return self.layouts[name]

    def new_slide(self, kind: str):
        """Add a slide with the layout for ``kind``."""
        return self.prs.slides.add_slide(self.layout(kind))

    def style(self, size_pt: float, *, color: str | None = None, bold: bool = False) -> xml.RunStyle:
        """Return a run style in the deck's typefaces."""
        return xml.RunStyle(size_pt, self.latin, self.east_asian, color or self.colors.text, bold,
                            lang=self.t.language.office)

    def measure_font(self, bold: bool = False) -> FontMetrics:
        """Return the metrics that measure slide text: each character in the first face of the stack that has it."""
        return stack_metrics(self.fonts, bold)

    def notes(self) -> Notes:
        """Return empty speaker notes in the brief's words."""
        return Notes(self.t, self.article_words)

    def layout_box(self, slide, idx: int) -> Box | None:
        """Return the box of the slide's placeholder ``idx`` as the layout places it, or None."""
        for ph in slide.placeholders:
            if ph.placeholder_format.idx == idx:
                return Box(ph.left, ph.top, ph.width, ph.height)
        return None

    def content_box(self, slide) -> Box:
        """Return the area under the title where content goes."""
        title = self.title_box(slide)
        top = title.top + title.height + 91440 if title else 457200
        bottom = self.prs.slide_height - 731520
        return Box(title.left if title else 609600, top, (title.width if title else self.prs.slide_width - 1219200),
                   bottom - top)

    def title_box(self, slide) -> Box | None:
        """Return the slide's title box."""
        title = slide.shapes.title
        return Box(title.left, title.top, title.width, title.height) if title is not None else None

    def write_paragraphs(self, text_frame, paras: list[Para], size_pt: float, *, color: str | None = None,
                         bold: bool = False, bullet: bool = False, lead_color: str | None = None,
                         align: str = "l", anchor: str = "t", gap: float = BULLET_GAP) -> None:
        """Replace a text frame's content with ``paras`` at ``size_pt``, spaced as textfit measures them."""
        xml.set_body_insets(text_frame, left=INSET_X, top=INSET_Y, right=INSET_X, bottom=INSET_Y, anchor=anchor)
        text_frame.clear()
        layout = xml.ParagraphLayout(
            line_spacing=LINE_SPACING, bullet="•" if bullet else None, bullet_color=self.colors.accent,
            indent_emu=BULLET_INDENT if bullet else 0, align=align)
        style = self.style(size_pt, color=color, bold=bold)
        for i, para in enumerate(paras):
            paragraph = text_frame.paragraphs[0] if i == 0 else text_frame.add_paragraph()
            xml.layout_paragraph(paragraph, size_pt, xml.ParagraphLayout(
                layout.line_spacing, gap * size_pt if i else 0.0, layout.bullet, layout.bullet_color, layout.indent_emu, layout.align))
            if para.lead:
                run = paragraph.add_run()
                run.text = xml.clean_text(para.lead)
                xml.style_run(run, self.style(size_pt, color=lead_color or color, bold=True))
            run = paragraph.add_run()
            run.text = xml.clean_text(para.text)
            xml.style_run(run, style)
            xml.style_end_of_paragraph(paragraph, style)

    def fit(self, paras: list[Para], box: Box, *, max_pt: float, min_pt: float, bullet: bool = False,
            bold: bool = False):
        """Return the Fit of ``paras`` in ``box`` (bullets narrow the width), or None."""
        width = box.text_width - (BULLET_INDENT if bullet else 0)
        # A bold lead ("1. ", a date) is measured in the regular face: the difference is far inside the margin.
        return fit_paragraphs([p.full for p in paras], self.measure_font(bold), width, box.text_height,
                              max_pt=max_pt, min_pt=min_pt, space_before=BULLET_GAP)

    def text_box(self, slide, box: Box, paras: list[Para], *, max_pt: float, min_pt: float = MIN_BODY_PT,
                 what: str = "text", **style) -> None:
        """Add a text box holding ``paras`` at the largest size that fits, or raise naming the first paragraph."""
        fit = self.fit(paras, box, max_pt=max_pt, min_pt=min_pt, bullet=style.get("bullet", False),
                       bold=style.get("bold", False))
        if fit is None:
            raise self.fail(paras[0].loc, f"{what} does not fit on its slide at {min_pt:g} pt; shorten it")
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = what
        self.write_paragraphs(shape.text_frame, paras, fit.size_pt, **style)

    def caption(self, slide, area: Box, paras: list[Para]) -> int:
        """Add ``paras`` as a caption at the foot of ``area`` at 18 pt; return the height it takes."""
        lines = [len(wrap_lines(p.full, self.measure_font(), MIN_BODY_PT, area.width - 2 * INSET_X)) for p in paras]
        needed = text_height_pt(lines, MIN_BODY_PT, space_before_pt=BULLET_GAP * MIN_BODY_PT * 0.5)
        height = int(needed * EMU_PER_PT) + 2 * INSET_Y + EMU_PER_PT  # a point spare for rounding
        if height > area.height * 0.45:
            raise self.fail(paras[0].loc, "caption too long: it would take almost half the slide; shorten it")
        box = Box(area.left, area.top + area.height - height, area.width, height)
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = "caption"
        self.write_paragraphs(shape.text_frame, paras, MIN_BODY_PT, color=self.colors.muted, gap=BULLET_GAP * 0.5)
        return height

    def place(self, shape, box: Box) -> None:
        """Give a placeholder its own position (so its size is explicit in the slide)."""
        shape.left, shape.top, shape.width, shape.height = box.left, box.top, box.width, box.height

    def set_title(self, slide, text: str, loc: Loc, *, short: str | None = None, suffix: str = "",
                  max_pt: float = TITLE_MAX_PT) -> None:
        """Fill the title placeholder at ≥ 28 pt: the text, else its short form, else raise naming ``loc``."""
        title = slide.shapes.title
        box = self.title_box(slide)
        for candidate in (text, short):
            if not candidate:
                continue
            para = [Para(candidate + suffix, loc)]
            fit = self.fit(para, box, max_pt=max_pt, min_pt=MIN_TITLE_PT, bold=True)
            if fit:
                self.place(title, box)
                self.write_paragraphs(title.text_frame, para, fit.size_pt, color=self.colors.primary, bold=True,
                                      anchor="ctr")
                return
        hint = "add a shorter `short` form" if short is None and loc[-1] != "title" else "shorten it"
        raise self.fail(loc, f"too long for a slide title at {MIN_TITLE_PT:g} pt; {hint}")

    def fill_placeholder(self, slide, idx: int, paras: list[Para], *, max_pt: float, min_pt: float = MIN_BODY_PT,
                         what: str = "text", **style) -> None:
        """Fill placeholder ``idx`` with ``paras`` at the largest size that fits, or raise naming the first."""
        shape = next(ph for ph in slide.placeholders if ph.placeholder_format.idx == idx)
        box = Box(shape.left, shape.top, shape.width, shape.height)
        fit = self.fit(paras, box, max_pt=max_pt, min_pt=min_pt, bullet=style.get("bullet", False),
                       bold=style.get("bold", False))
        if fit is None:
            raise self.fail(paras[0].loc, f"{what} does not fit on its slide at {min_pt:g} pt; shorten it")
        self.place(shape, box)
        self.write_paragraphs(shape.text_frame, paras, fit.size_pt, **style)

    def drop_empty_placeholders(self, slide) -> None:
        """Remove placeholders left empty, so no 'Click to add text' prompt remains."""
        for ph in list(slide.placeholders):
            if ph.has_text_frame and not ph.text_frame.text.strip():
                xml.remove_shape(ph)

    def set_notes(self, slide, notes: Notes) -> None:
        """Write the speaker notes, every run in the brief's language with both typefaces."""
        frame = slide.notes_slide.notes_text_frame
        frame.clear()
        style = self.style(12)
        for i, line in enumerate(notes.lines or [" "]):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = paragraph.add_run()
            run.text = xml.clean_text(line)
            xml.style_run(run, style)

    # --- pagination ------------------------------------------------------------------

    def paginate(self, paras: list[Para], box: Box, *, bullet: bool, max_items: int, what: str) -> list[list[Para]]:
        """Split ``paras`` into pages that each fit ``box`` at ≥ 18 pt; raise naming an item that fits nowhere."""
        pages: list[list[Para]] = []
        page: list[Para] = []
        for para in paras:
            if self.fit([para], box, max_pt=MIN_BODY_PT, min_pt=MIN_BODY_PT, bullet=bullet) is None:
                raise self.fail(para.loc, f"{what} does not fit on a slide even alone at {MIN_BODY_PT:g} pt; "
                                          "shorten it or split it in two")
            trial = [*page, para]
            if len(trial) > max_items or (
                    page and self.fit(trial, box, max_pt=MIN_BODY_PT, min_pt=MIN_BODY_PT, bullet=bullet) is None):
                pages.append(page)
                trial = [para]
            page = trial
        return [*pages, page] if page else pages

    def list_slides(self, kind: str, title: str, title_loc: Loc, paras: list[Para], notes: Notes, *,
                    short: str | None = None, bullet: bool = True, max_items: int = MAX_BULLETS,
                    what: str = "item", lead_color: str | None = None) -> None:
        """Add one or more title-and-content slides for ``paras``; later ones are marked continued."""
        probe = self.new_slide(kind)
        box = self.body_box(probe)
        pages = self.paginate(paras, box, bullet=bullet, max_items=max_items, what=what)
        for number, page in enumerate(pages):
            slide = probe if number == 0 else self.new_slide(kind)
            self.set_title(slide, title, title_loc, short=short, suffix=self.t("continued") if number else "")
            self.fill_placeholder(slide, 1, page, max_pt=BODY_MAX_PT, what=what, bullet=bullet,
                                  lead_color=lead_color or self.colors.primary)
            self.drop_empty_placeholders(slide)
            self.set_notes(slide, notes)

    def body_box(self, slide) -> Box:
        """Return the box of the body placeholder (idx 1), or the content area when the layout has none."""
        return self.layout_box(slide, 1) or self.content_box(slide)

    # --- slides --------------------------------------------------------------------------

    def title_slide(self) -> None:
        """Add the title slide: title, subtitle, date and outlet, with the first map beside them when there is one."""
        meta = self.brief.meta
        slide = self.new_slide("title")
        image = self.map_png(self.brief.maps[0].id) if self.brief.maps else None
        title_box, sub_box = self.layout_box(slide, 0), self.layout_box(slide, 1)
        if image:
            half = self.prs.slide_width // 2
            title_box = Box(609600, 1371600, half - 762000, 2286000)
            sub_box = Box(609600, 3749040, half - 762000, 1828800)
            area = Box(half, 457200, half - 457200, self.prs.slide_height - 914400)
            self.picture(slide, image, area, self.brief.maps[0].alt)
        title = slide.shapes.title
        self.place(title, title_box)
        self.set_title(slide, meta.title, ("meta", "title"), short=meta.short_title, max_pt=44)
        lines = [Para(meta.subtitle, ("meta", "subtitle"))] if meta.subtitle else []
        lines.append(Para(f"{meta.outlet.name} · {self.t.date(meta.date)}", ("meta", "outlet", "name")))
        sub = next(ph for ph in slide.placeholders if ph.placeholder_format.idx == 1)
        self.place(sub, sub_box)
        self.fill_placeholder(slide, 1, lines, max_pt=24, what="subtitle", color=self.colors.muted)
        self.drop_empty_placeholders(slide)
        notes = self.notes()
        notes.add(meta.article_title, self.t("notes_article"))
        notes.add(meta.outlet.note)
        notes.add(meta.date_note)
        notes.add(self.t("notes_compiled", author=meta.author, date=self.t.date(meta.updated)))
        self.set_notes(slide, notes)

    def agenda(self) -> None:
        """Add the agenda: the section titles, numbered."""
        paras = [Para(s.title, ("sections", i, "title"), lead=f"{i + 1:02d}  ")
                 for i, s in enumerate(self.brief.sections)]
        notes = self.notes()
        for i, s in enumerate(self.brief.sections):
            notes.add(self.t("labelled", label=f"{i + 1}. {s.title}", text=s.summary))
        self.list_slides("agenda", self.t("contents"), ("sections",), paras, notes, bullet=False, max_items=8,
                         what="section title", lead_color=self.colors.accent)

    def bottom_line(self) -> None:
        """Add the bottom line (the thesis) on its own slide, large."""
        slide = self.new_slide("content")
        self.set_title(slide, self.t("bottom_line"), ("thesis",))
        self.fill_placeholder(slide, 1, [Para(self.brief.thesis, ("thesis",))], max_pt=32, what="thesis",
                              color=self.colors.primary, anchor="ctr")
        notes = self.notes()
        notes.add(self.brief.thesis)
        notes.add(self.brief.meta.article_title, self.t("notes_article"))
        self.set_notes(slide, notes)

    def judgments(self) -> None:
        """Add the key judgments, numbered, with the passages of the claims behind them in the notes."""
        paras = [Para(j.text, ("judgments", i, "text"), lead=f"{i + 1}. ") for i, j in enumerate(self.brief.judgments)]
        claims = {c.id: c for c in self.brief.all_claims()}
        notes = self.notes()
        for i, judgment in enumerate(self.brief.judgments):
            notes.add(judgment.text, self.t("notes_judgment", number=i + 1))
            for key in judgment.claims:
                notes.add(claims[key].text, self.t("notes_drawn_from"))
                notes.passage(claims[key])
        self.list_slides("content", self.t("key_judgments"), ("judgments",), paras, notes, bullet=False, max_items=6,
                         what="judgment", lead_color=self.colors.accent)

    def section(self, si: int, section, shown: set[str]) -> None:
        """Add a section: its header, one slide (or more) per claim, then its figures, charts and maps."""
        slide = self.new_slide("section")
        self.set_title(slide, section.title, ("sections", si, "title"), short=section.short)
        if self.layout_box(slide, 1):
            self.fill_placeholder(slide, 1, [Para(self.t("part_of", number=si + 1, total=len(self.brief.sections)),
                                                  ("sections", si))], max_pt=24, color=self.colors.muted)
        self.drop_empty_placeholders(slide)
        notes = self.notes()
        notes.add(section.summary)
        self.set_notes(slide, notes)
        claims = [(("sections", si, "headline"), section.headline),
                  *((("sections", si, "claims", ci), c) for ci, c in enumerate(section.claims))]
        for loc, claim in claims:
            self.claim(loc, claim, section)
        figures = [self.brief.figure(k) for k in section.figures if k not in shown]
        shown.update(section.figures)
        self.figures(figures)
        for key in section.charts:
            if key not in shown:
                shown.add(key)
                self.chart(next(i for i, c in enumerate(self.brief.charts) if c.id == key))
        for key in section.maps:
            if key not in shown:
                shown.add(key)
                self.map_slide(next(i for i, m in enumerate(self.brief.maps) if m.id == key))

    def claim(self, loc: Loc, claim, section) -> None:
        """Add a claim slide: the claim as title, its evidence as bullets, continued when it overflows."""
        paras = [Para(e.text, (*loc, "evidence", i, "text")) for i, e in enumerate(claim.evidence)]
        notes = self.notes()
        notes.add(section.summary, self.t("notes_section", title=section.short or section.title))
        notes.add(claim.text, self.t("notes_claim"))
        notes.add(claim.detail)
        notes.passage(claim)
        sources = sorted({k for e in claim.evidence for k in e.sources})
        notes.add(self.t.series(self.brief.source(k).title for k in sources), self.t("notes_sources"))
        for note_id in claim.notes:
            note = next(n for n in self.brief.notes if n.id == note_id)
            notes.add(note.text, self.t("notes_note", title=note.title))
        self.list_slides("content", claim.text, (*loc, "text"), paras, notes, short=claim.short, what="evidence")

    def figures(self, figures) -> None:
        """Add big-number slides: up to three key figures each, the number large in the accent colour."""
        index = {f.id: i for i, f in enumerate(self.brief.figures)}
        for start in range(0, len(figures), CARDS_PER_SLIDE):
            group = figures[start:start + CARDS_PER_SLIDE]
            slide = self.new_slide("title_only")
            self.set_title(slide, self.t("key_figures") + (self.t("continued") if start else ""), ("figures",))
            area = self.content_box(slide)
            gap = 228600
            width = (area.width - gap * (CARDS_PER_SLIDE - 1)) // CARDS_PER_SLIDE
            # Fewer cards than columns: centre the group rather than leave a gap on the right.
            first = area.left + (area.width - len(group) * width - (len(group) - 1) * gap) // 2
            notes = self.notes()
            for n, figure in enumerate(group):
                loc = ("figures", index[figure.id])
                left = first + n * (width + gap)
                card = slide.shapes.add_shape(1, left, area.top, width, area.height)  # 1: rectangle
                xml.set_fill(card, self.colors.light)
                card.name = f"card {figure.id}"
                number = Box(left, area.top + 182880, width, 1280160)
                self.big_number(slide, number, Para(figure.display, (*loc, "display")))
                label_text = self.t("figure_year", label=figure.label, year=figure.year) if figure.year else figure.label
                label = Box(left, number.top + number.height, width, 868680)
                self.text_box(slide, label, [Para(label_text, (*loc, "label"))], max_pt=22, what="label",
                              color=self.colors.primary, bold=True, align="ctr")
                shows = Box(left, label.top + label.height, width, area.top + area.height - label.top - label.height)
                self.text_box(slide, shows, [Para(figure.shows, (*loc, "shows"))], max_pt=20, what="figure text",
                              color=self.colors.text, align="ctr")
                notes.add(self.t("labelled", label=label_text, text=figure.display))
                notes.add(figure.shows)
                notes.passage(figure)
            self.set_notes(slide, notes)

    def big_number(self, slide, box: Box, para: Para) -> None:
        """Add a key figure's number on one line as large as fits (wrapped only when no size gives one line)."""
        font = self.measure_font(bold=True)
        size = 60.0
        while size >= MIN_TITLE_PT and len(wrap_lines(para.full, font, size, box.text_width)) > 1:
            size -= 1
        if size < MIN_TITLE_PT or not fits(1, size, box.text_height):
            self.text_box(slide, box, [para], max_pt=48, min_pt=MIN_TITLE_PT, what="figure", color=self.colors.accent,
                          bold=True, align="ctr", anchor="ctr")
            return
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = "figure"
        self.write_paragraphs(shape.text_frame, [para], size, color=self.colors.accent, bold=True,
                              align="ctr", anchor="ctr")

    def chart(self, ci: int) -> None:
        """Add a native, editable chart of the source's series (a chart part with its workbook)."""
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

        spec = self.brief.charts[ci]
        slide = self.new_slide("title_only")
        self.set_title(slide, spec.title, ("charts", ci, "title"))
        area = self.content_box(slide)
        caption_height = self.caption(slide, area, [Para(spec.caption, ("charts", ci, "caption"))])
        data = CategoryChartData(number_format=chart_number_format(spec))
        data.categories = spec.categories
        for series in spec.series:
            data.add_series(series.name, series.values)
        frame = slide.shapes.add_chart(self.chart_type(spec, XL_CHART_TYPE), area.left, area.top, area.width,
                                       area.height - caption_height, data)
        frame.name = f"chart {spec.id}"
        chart = frame.chart
        chart.has_legend = True
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
        chart.has_title = False
        plot = chart.plots[0]
        plot.has_data_labels = True
        plot.data_labels.number_format = data.number_format
        plot.data_labels.number_format_is_linked = False
        palette = {"primary": self.colors.primary, "accent": self.colors.accent, "accent2": self.colors.accent2,
                   "muted": self.colors.muted, "light": self.colors.light}
        for series, source in zip(plot.series, spec.series):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = xml._rgb(palette[source.color])
            self.label_points(series, source, spec)
        xml.style_chart_text(chart, self.style(16))
        xml.set_alt_text(frame, spec.alt, spec.title)
        workbook = chart.part.chart_workbook
        workbook.update_from_xlsx_blob(xml.fix_workbook_dates(workbook.xlsx_part.blob, build_time()))
        notes = self.notes()
        notes.add(spec.caption)
        notes.add(spec.alt, self.t("notes_chart"))
        for key in spec.figures:
            notes.passage(self.brief.figure(key))
        self.set_notes(slide, notes)

    def label_points(self, series, source, spec) -> None:
        """Label each bar as the source writes the value (不足20%, 约70%), not only as the plotted number."""
        custom = False
        for point, value, category in zip(series.points, source.values, spec.categories):
            if value is None:
                continue
            label = self.brief.chart_figure_label(spec, value, category)
            if label:
                frame = point.data_label.text_frame
                frame.text = label
                xml.style_run(frame.paragraphs[0].runs[0], self.style(16))
                custom = True
        if custom:  # a point's own label adds series-level labels, which must still show the other values
            labels = series.data_labels
            labels.show_value = True
            labels.number_format = chart_number_format(spec)
            labels.number_format_is_linked = False

    @staticmethod
    def chart_type(spec, types):
        """Return the chart type: stacked bars (100% when the series add up to 100 %), else clustered columns."""
        if spec.kind == "stacked_bar":
            totals = [sum(v or 0 for v in values) for values in zip(*(s.values for s in spec.series))]
            full = spec.unit == "%" and all(abs(t - 100) < 0.5 for t in totals)
            return types.BAR_STACKED_100 if full else types.BAR_STACKED
        return types.COLUMN_CLUSTERED

    def map_png(self, map_id: str) -> bytes | None:
        """Return the map's PNG from this build or the map cache, or None while there is none."""
        try:
            return self.project.map_image(map_id)
        except ModuleNotFoundError as exc:
            # The maps builder is optional for the deck: without it the slide shows a placeholder.
            if exc.name and exc.name.startswith("kzreport.builders.maps"):
                return None
            raise

    def picture(self, slide, png: bytes, area: Box, alt: str):
        """Add a picture as large as fits ``area`` with its aspect ratio kept, centred; return the shape."""
        width_px, height_px = png_size(png)
        scale = min(area.width / width_px, area.height / height_px)
        width, height = round(width_px * scale), round(height_px * scale)
        left = area.left + (area.width - width) // 2
        top = area.top + (area.height - height) // 2
        shape = slide.shapes.add_picture(io.BytesIO(png), left, top, width, height)
        xml.set_alt_text(shape, alt)
        return shape

    def map_slide(self, mi: int) -> None:
        """Add a map slide: the image filling the content area, then caption, legend and credit."""
        spec = self.brief.maps[mi]
        slide = self.new_slide("title_only")
        self.set_title(slide, spec.title, ("maps", mi, "title"))
        area = self.content_box(slide)
        legend = self.legend_text(spec)
        credit = self.t("labelled", label=self.t("sources"), text=spec.credit)
        paras = [Para(spec.caption, ("maps", mi, "caption")),
                 Para(f"{legend}    {credit}" if legend else credit, ("maps", mi, "credit"))]
        caption_height = self.caption(slide, area, paras)
        image_area = Box(area.left, area.top, area.width, area.height - caption_height)
        png = self.map_png(spec.id)
        if png:
            self.picture(slide, png, image_area, spec.alt)
        else:
            shape = slide.shapes.add_shape(1, image_area.left, image_area.top, image_area.width, image_area.height)
            xml.set_fill(shape, self.colors.light)
            shape.name = "map placeholder"
            self.write_paragraphs(shape.text_frame, [Para(self.t("map_not_drawn"), ("maps", mi))], 28, color=self.colors.muted,
                                  align="ctr", anchor="ctr")
        notes = self.notes()
        notes.add(spec.caption)
        notes.add(spec.alt, self.t("notes_map"))
        for line in spec.pipelines:
            details = self.t.join_parts([line.capacity, line.years, line.status_note, line.note, *line.disruptions])
            if details:
                notes.add(self.t("labelled", label=line.name, text=details))
        self.set_notes(slide, notes)

    def legend_text(self, spec) -> str:
        """Return the map's legend as text: a line sign and the words of each kind of route drawn on it."""
        from .maps import legend_entries

        return "  ".join(f"{'━' if 'dashArray' not in style else '╌'} {label}"
                         for label, style in legend_entries(spec, self.theme.map, self.t))

    def timeline(self) -> None:
        """Add the timeline: dated events as a list, split over slides when there are many."""
        if not self.brief.timeline:
            return
        paras = [Para(self.t("labelled", label=e.title, text=e.text), ("timeline", i, "text"),
                      lead=f"{e.when or self.t.date(e.date)}  ") for i, e in enumerate(self.brief.timeline)]
        notes = self.notes()
        for event in self.brief.timeline:
            notes.add(event.text, self.t("labelled", label=f"{event.when or self.t.date(event.date)} {event.title}", text=""))
            notes.passage(event)
        self.list_slides("content", self.t("timeline"), ("timeline",), paras, notes, bullet=False, max_items=EVENTS_PER_SLIDE,
                         what="timeline event", lead_color=self.colors.accent)

    def quotes(self) -> None:
        """Add one slide per quote: the words large in the accent colour, then speaker and date."""
        for qi, quote in enumerate(self.brief.quotes):
            actor = self.brief.actor(quote.speaker)
            slide = self.new_slide("title_only")
            self.set_title(slide, self.t("in_their_words", name=actor.name), ("quotes", qi, "speaker"))
            area = self.content_box(slide)
            words = Box(area.left, area.top, area.width, area.height - 914400)
            self.text_box(slide, words, [Para(quote.text if quote.indirect else self.t.quoted(quote.text), ("quotes", qi, "text"))], max_pt=36,
                          min_pt=20, what="quote", color=self.colors.accent, bold=True, anchor="ctr")
            kind = self.t("indirect") if quote.indirect else ""
            who = Box(area.left, area.top + area.height - 914400, area.width, 914400)
            attribution = self.t("quote_attribution", name=actor.name, role=actor.role, date=self.t.date(quote.date))
            self.text_box(slide, who, [Para(self.t("dash_attribution", text=attribution) + kind,
                                            ("quotes", qi, "speaker"))],
                          max_pt=22, what="attribution", color=self.colors.muted, align="r")
            notes = self.notes()
            notes.add(quote.context)
            notes.passage(quote)
            notes.passage(actor)
            self.set_notes(slide, notes)

    def other_sources(self) -> None:
        """Add the notes on where other sources differ from the article."""
        if not self.brief.notes:
            return
        paras = [Para(n.text, ("notes", i, "text"), lead=self.t("labelled", label=n.title, text=""))
                 for i, n in enumerate(self.brief.notes)]
        notes = self.notes()
        for note in self.brief.notes:
            sources = self.t("labelled", label=self.t("sources"),
                             text=self.t.series(self.brief.source(k).title for k in note.sources))
            notes.add(self.t("parenthetical", text=note.text, aside=sources),
                      self.t("labelled", label=note.title, text=""))
        self.list_slides("content", self.t("other_sources"), ("notes",), paras, notes, what="note")

    def sources(self) -> None:
        """Add sources and credits: every source, the image credits and who compiled the brief."""
        meta = self.brief.meta
        paras = []
        for i, s in enumerate(self.brief.sources):
            detail = self.t.join_parts([s.publisher, s.date])
            paras.append(Para(self.t("parenthetical", text=s.title, aside=detail) if detail else s.title,
                              ("sources", i, "title")))
        for i, credit in enumerate(meta.image_credits):
            paras.append(Para(self.t("parenthetical", text=credit.caption, aside=credit.credit) if credit.credit
                              else credit.caption, ("meta", "image_credits", i, "caption"), lead=self.t("notes_image")))
        paras.append(Para(self.t("notes_compiled", author=meta.author, date=self.t.date(meta.updated)),
                          ("meta", "author")))
        notes = self.notes()
        for s in self.brief.sources:
            notes.add(self.t.join_parts([s.title, s.publisher, s.date, s.url, s.note]))
        self.list_slides("content", self.t("sources_and_credits"), ("sources",), paras, notes, max_items=7, what="source")

    def all_slides(self) -> None:
        """Add every slide of the deck in order."""
        self.title_slide()
        self.agenda()
        self.bottom_line()
        self.judgments()
        shown: set[str] = set()
        for si, section in enumerate(self.brief.sections):
            self.section(si, section, shown)
        self.figures([f for f in self.brief.figures if f.id not in shown and self.unplaced_figure(f.id)])
        for ci, chart in enumerate(self.brief.charts):
            if chart.id not in shown:
                self.chart(ci)
        for mi, spec in enumerate(self.brief.maps):
            if spec.id not in shown:
                self.map_slide(mi)
        self.timeline()
        self.quotes()
        self.other_sources()
        self.sources()

    def unplaced_figure(self, key: str) -> bool:
        """Return True for a figure no section shows (it gets a slide after the sections)."""
        return not any(key in s.figures for s in self.brief.sections)


def chart_number_format(spec) -> str:
    """Return the Excel number format of a chart's values: a percent sign after the number for % charts."""
    return '0"%"' if spec.unit == "%" else "General"


def png_size(data: bytes) -> tuple[int, int]:
    """Return a PNG's width and height in pixels, or raise BuildError when the bytes are not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise BuildError("map image is not a PNG")
    return struct.unpack(">II", data[16:24])


def template_path(project) -> Path:
    """Return the deck template: the user's ``--pptx-template`` or the built-in one."""
    from ..resources import templates_dir

    return Path(project.options.pptx_template or templates_dir() / "deck" / "kzreport.pptx")


def theme_colors(theme) -> dict[str, str]:
    """Return the PowerPoint theme's colour slots filled from a kzreport theme."""
    c = theme.colors
    return {"dk1": c.text, "lt1": c.background, "dk2": c.primary, "lt2": c.light,
            "accent1": c.primary, "accent2": c.accent, "accent3": c.accent2, "accent4": c.muted,
            "accent5": theme.map.crude_oil, "accent6": theme.map.gas,
            "hlink": c.accent2, "folHlink": c.muted}


def restyle_theme(prs, theme) -> None:
    """Write a kzreport theme's colours and fonts into the deck's theme part."""
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme_part = prs.slide_master.part.part_related_by(RT.THEME)
    blob = xml.set_theme_colors(theme_part.blob, theme_colors(theme))
    heading = theme.fonts.heading
    # Slides read best in the sans face throughout (design brief), so body text uses it too.
    faces = xml.ThemeFaces(latin=heading.latin, hans=heading.hans, hant=heading.hant)
    theme_part._blob = xml.set_theme_fonts(blob, major=faces, minor=faces)


def uses_theme_in_master(project) -> bool:
    """Return whether the theme file styles the master: always for the built-in one, for a user's
    master only when a theme is given (a corporate master keeps its own colours otherwise)."""
    return project.options.pptx_template is None or project.options.theme_file is not None


LOGO_HEIGHT = 292608  # 0.32 in, inside the bottom margin that slide content leaves free


def add_logo(prs, project) -> None:
    """Put the theme's PNG or JPEG logo in the bottom-right corner of every slide (SVG logos go to the PDF only)."""
    from ..theme import read_logo

    logo = read_logo(project.theme, project.theme_dir)
    if not logo or logo[1] == "image/svg+xml":
        return
    for slide in prs.slides:
        picture = slide.shapes.add_picture(io.BytesIO(logo[0]), 0, 0, height=LOGO_HEIGHT)
        picture.left = prs.slide_width - picture.width - 457200
        picture.top = prs.slide_height - LOGO_HEIGHT - 182880
        xml.set_alt_text(picture, project.theme.organisation)


def add_slide_numbers(prs, writer: "DeckWriter") -> None:
    """Number every slide but the title slide, "N / M" in the bottom-left corner."""
    total = len(prs.slides)
    for number, slide in enumerate(prs.slides, start=1):
        if number == 1:
            continue
        box = slide.shapes.add_textbox(457200, prs.slide_height - LOGO_HEIGHT - 182880, 1371600, LOGO_HEIGHT)
        box.name = "slide number"
        writer.write_paragraphs(box.text_frame, [Para(f"{number} / {total}", ())], 11, color=writer.colors.muted)


def remove_all_slides(prs) -> None:
    """Remove the template's own slides (a template may carry examples)."""
    id_list = prs.slides._sldIdLst
    for sld_id in list(id_list):
        prs.part.drop_rel(sld_id.rId)
        id_list.remove(sld_id)


def set_core_properties(prs, brief) -> None:
    """Fill the deck's metadata from the source, dated by the build time (SOURCE_DATE_EPOCH when set)."""
    meta = brief.meta
    props = prs.core_properties
    moment = build_time().replace(tzinfo=None)
    props.title = xml.clean_text(meta.title)
    props.author = xml.clean_text(meta.author)
    props.subject = xml.clean_text(meta.subtitle or meta.article_title)
    props.keywords = xml.clean_text("; ".join(meta.keywords))
    props.language = language(meta.language).office
    props.last_modified_by = "kzreport"
    props.revision = 1
    props.created = props.modified = moment
    props.last_printed = moment


def render_deck(project) -> bytes:
    """Return the finished deck's bytes, reproducible for the same source and SOURCE_DATE_EPOCH."""
    prs = open_master(template_path(project))
    if uses_theme_in_master(project):
        restyle_theme(prs, project.theme)
    remove_all_slides(prs)
    writer = DeckWriter(project, prs)
    writer.all_slides()
    add_slide_numbers(prs, writer)
    add_logo(prs, project)
    set_core_properties(prs, project.source)
    buffer = io.BytesIO()
    prs.save(buffer)
    return xml.reproducible_package(buffer.getvalue(), zip_time())


class DeckBuilder(Builder):
    """Writes ``<stem>.pptx``: the brief as a 16:9 PowerPoint deck with speaker notes."""

    name = "pptx"
    runs_apart = True

    def build(self, project, reporter) -> None:
        """Render the deck and add it to the project's outputs."""
        project.add_output(project.output_path(f"{project.stem}.pptx"), render_deck(project))
