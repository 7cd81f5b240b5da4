"""The PowerPoint deck: a storyline of message slides with their evidence beside them, from the same source.

Steps: open the master (``templates/deck/kzreport.pptx`` or ``--pptx-template``), drop its
slides, read the storyboard (``deck_story``) and plan the slides from the brief's structure,
then render each planned slide on its layout: title, executive summary, per section a
message slide (action title, evidence bullets, evidence visual), maps full width, a
one-slide timeline, appendices and sources; number slides with the master's slide-number
field; save with fixed dates and a rewritten zip.

The look lives in the master: placeholders inherit title and body styles, runs carry only
their language and what differs (a size the fitter chose, emphasis), colours are theme
slots. Text is fitted with the real font metrics — shrunk to a floor, then the short form,
then continued on a next slide — and every text that still cannot fit is collected, so
one run reports all of them, each at the field that caused it. All raw XML is in ``_pptx_xml``.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from . import Builder
from .. import _pptx_xml as xml
from ..contrast import contrast_ratio
from ..errors import BuildError, InputError, Problem
from ..i18n import language
from ..pptx_master import open_master
from ..reproducible import build_time, zip_time
from ..textfit import EMU_PER_PT, MIN_TITLE_PT, FontMetrics, fit_paragraphs, stack_metrics, wrap_lines
from .deck_story import SlidePlan, Visual, claim_at, load_storyboard, plan_story

Loc = tuple[str | int, ...]

# One type scale (points): titles, body, visual labels, small print. Nothing is set below SMALL_PT.
TITLE_PT = 32.0
BODY_PT = 24.0
MIN_BODY_PT = 20.0
LABEL_PT = 16.0
MIN_LABEL_PT = 14.0
SMALL_PT = 12.0
NUMBER_PT = 40.0
LINE_PCT = 0.9
"""Line spacing as a fraction of the face's single spacing, written as a percentage."""
SPACE_BEFORE_PT = 8.0
INSET_X = 91440
INSET_Y = 45720
BULLET_INDENT = 342900  # the master's level-1 hanging indent
MAX_BULLETS = 4
MAX_LIST_ITEMS = 8
GAP = 182880  # 0.2 in between blocks
TRACKER_HEIGHT = 274320
LEGEND_ROW = 365760
LEGEND_SWATCH = 457200


@dataclass(frozen=True)
class TypeScale:
    """The deck's sizes in points, scaled to the slide: a 10-inch master gets the same proportions as
    the 13.33-inch built-in one, never below 12 pt."""

    title: float
    min_title: float
    body: float
    min_body: float
    label: float
    min_label: float
    number: float
    small: float

    @classmethod
    def for_width(cls, slide_width: int) -> "TypeScale":
        """Return the scale for a slide ``slide_width`` EMU wide (the built-in sizes at 13.33 in or wider)."""
        factor = min(1.0, slide_width / 12192000)

        def size(pt: float) -> float:
            return max(SMALL_PT, round(pt * factor))

        return cls(size(TITLE_PT), size(MIN_TITLE_PT), size(BODY_PT), size(MIN_BODY_PT), size(LABEL_PT),
                   size(MIN_LABEL_PT), size(NUMBER_PT), SMALL_PT)


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

    @property
    def bottom(self) -> int:
        """Return the bottom edge."""
        return self.top + self.height


@dataclass
class Notes:
    """The speaker notes of one slide; a paragraph another slide already says is left out."""

    words: object
    article_words: object
    said: set[str]
    lines: list[str] = field(default_factory=list)

    def add(self, text: str | None, prefix: str = "") -> None:
        """Add a paragraph when there is text no slide's notes have said yet."""
        if text and text not in self.said:
            self.said.add(text)
            self.lines.append(prefix + text)

    def passage(self, item) -> None:
        """Add the article passage an item rests on, verbatim, with its translation when it has one."""
        if not getattr(item, "passage", None) or item.passage in self.said:
            return
        self.said.add(item.passage)
        quote = self.article_words.quoted(item.passage)
        if getattr(item, "translation", None):
            self.lines.append(self.words("passage_translated", quote=quote,
                                         translation=self.words.quoted(item.translation)))
        else:
            self.lines.append(self.words("passage", quote=quote))


SCHEME_OF = {"tx1": "dk1", "bg1": "lt1", "tx2": "dk2", "bg2": "lt2"}


class Palette:
    """The deck theme's colour slots, and the slot to use for text on a ground at a given contrast."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def hex(self, slot: str) -> str:
        """Return a slot's colour (``tx2`` → ``dk2``), black or white when the theme lacks it."""
        return self.values.get(SCHEME_OF.get(slot, slot), "#FFFFFF" if slot in ("bg1", "lt1") else "#000000")

    def readable(self, ground: str, candidates: tuple[str, ...], minimum: float) -> str:
        """Return the first slot of ``candidates`` with at least ``minimum`` contrast on ``ground``, else the
        one with the most."""
        ranked = [(contrast_ratio(self.hex(c), self.hex(ground)), c) for c in candidates]
        return next((c for ratio, c in ranked if ratio >= minimum), max(ranked)[1])


class DeckWriter:
    """Renders the planned slides into one presentation, collecting every text that cannot fit."""

    def __init__(self, project, prs, themed: bool):
        self.project = project
        self.brief = project.source
        self.prs = prs
        self.theme = project.theme
        self.t = project.words
        self.article_words = project.article_words
        self.lang = self.t.language.office
        script = self.t.language.script
        self.fonts = tuple(project.theme.fonts.stack("heading", script))
        self.layouts = {layout.name: layout for layout in prs.slide_layouts}
        self.palette = Palette(xml.theme_color_values(prs))
        self.title_default = xml.master_style_size(prs, "p:titleStyle")
        self.body_default = xml.master_style_size(prs, "p:bodyStyle")
        self.problems: list[Problem] = []
        self.said: set[str] = set()
        self.slide_of_claim: dict[str, int] = {}
        self.muted = self.palette.readable("bg1", ("accent4", "tx1"), 4.5)
        self.s = TypeScale.for_width(prs.slide_width)

    # --- basic pieces ------------------------------------------------------------

    def report(self, loc: Loc, message: str) -> None:
        """Record a problem at the source item ``loc``; the build goes on to find the others."""
        self.problems += self.project.problem(loc, message).problems

    def layout(self, kind: str):
        """Return the master's layout for a slide kind, or raise InputError listing the available ones."""
        name = self.theme.layout_name(kind)
        if name not in self.layouts:
            raise InputError(f"deck template: no slide layout named {name!r} (for {kind} slides); "
                             f"the template has: {', '.join(repr(n) for n in self.layouts)}")
        return self.layouts[name]

    def new_slide(self, kind: str):
        """Add a slide with the layout for ``kind``, numbered by the master's slide-number field."""
        slide = self.prs.slides.add_slide(self.layout(kind))
        number = xml.clone_layout_placeholder(slide, slide.slide_layout, "sldNum")
        if number is not None:
            xml.add_slide_number_field(number, self.lang)
        return slide

    def measure(self, bold: bool = False) -> FontMetrics:
        """Return the metrics that measure slide text: each character in the first face of the stack that has it."""
        return stack_metrics(self.fonts, bold)

    def notes(self) -> Notes:
        """Return empty speaker notes that skip what another slide's notes said."""
        return Notes(self.t, self.article_words, self.said)

    def placeholder(self, slide, idx: int):
        """Return the slide's placeholder ``idx``, or None."""
        return next((ph for ph in slide.placeholders if ph.placeholder_format.idx == idx), None)

    def box_of(self, shape) -> Box:
        """Return a shape's box."""
        return Box(shape.left, shape.top, shape.width, shape.height)

    def content_bottom(self) -> int:
        """Return where content ends: above the footer strip."""
        return self.prs.slide_height - 640080

    def fit(self, paras: list[Para], box: Box, *, max_pt: float, min_pt: float, bullet: bool = False,
            bold: bool = False, one_line: bool = False):
        """Return the Fit of ``paras`` in ``box`` between the sizes, or None."""
        width = box.text_width - (BULLET_INDENT if bullet else 0)
        font = self.measure(bold)
        fit = fit_paragraphs([p.full for p in paras], font, width, box.text_height, max_pt=max_pt, min_pt=min_pt,
                             spacing=LINE_PCT * font.line_height, space_before_pt=SPACE_BEFORE_PT,
                             avoid_short_last_line=True)
        if fit and one_line and any(len(lines) > 1 for lines in fit.paragraphs):
            return None
        return fit

    def write(self, text_frame, paras: list[Para], size_pt: float, *, default_pt: float | None = None,
              color: str | None = None, bold: bool | None = None, bullet: bool | None = None,
              lead_color: str | None = None, align: str | None = None, anchor: str | None = None) -> None:
        """Replace a text frame's content with ``paras`` at ``size_pt`` (left to the master when it is the
        master's size), spaced as the fitter measured them."""
        xml.body_frame(text_frame, anchor=anchor, inset_emu=(INSET_X, INSET_Y))
        text_frame.clear()
        size = None if default_pt is not None and abs(size_pt - default_pt) < 0.01 else size_pt
        for i, para in enumerate(paras):
            paragraph = text_frame.paragraphs[0] if i == 0 else text_frame.add_paragraph()
            xml.paragraph_spacing(paragraph, line_pct=LINE_PCT, space_before_pt=SPACE_BEFORE_PT if i else 0.0,
                                  bullet=bullet, align=align)
            if para.lead:
                run = paragraph.add_run()
                run.text = xml.clean_text(para.lead.rstrip("\n"))
                xml.run_properties(run._r.get_or_add_rPr(), lang=self.lang, size_pt=size, bold=True,
                                   color=lead_color or color)
                if para.lead.endswith("\n"):  # a line break (a:br): a newline inside a:t is only a space
                    br = paragraph._p.add_br()
                    xml.run_properties(br.get_or_add_rPr(), lang=self.lang, size_pt=size)
            run = paragraph.add_run()
            run.text = xml.clean_text(para.text)
            xml.run_properties(run._r.get_or_add_rPr(), lang=self.lang, size_pt=size, bold=bold, color=color)
            xml.run_properties(paragraph._p.get_or_add_endParaRPr(), lang=self.lang, size_pt=size)

    def text_box(self, slide, box: Box, paras: list[Para], *, max_pt: float, min_pt: float, what: str,
                 name: str = "text", one_line: bool = False, **style) -> None:
        """Add a text box holding ``paras`` at the largest size that fits; report the first paragraph when none does."""
        fit = self.fit(paras, box, max_pt=max_pt, min_pt=min_pt, bold=bool(style.get("bold")), one_line=one_line)
        if fit is None:
            self.report(paras[0].loc, f"{what} does not fit its place on the slide even at {min_pt:g} pt; shorten it")
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = name
        self.write(shape.text_frame, paras, fit.size_pt if fit else min_pt, bullet=False, **style)

    def title(self, slide, candidates: list[tuple[str | None, Loc]], *, box: Box | None = None,
              suffix: str = "", max_pt: float | None = None) -> None:
        """Fill the title: the first candidate that fits between ``max_pt`` and the floor, shrinking before
        falling back to the next (the short form); report the last candidate's field when none fits."""
        shape = slide.shapes.title
        box = box or self.box_of(shape)
        max_pt = max_pt or self.s.title
        given = [(text, loc) for text, loc in candidates if text]
        chosen, fit = given[-1], None
        for text, loc in given:
            fit = self.fit([Para(text + suffix, loc)], box, max_pt=max_pt, min_pt=self.s.min_title, bold=True)
            if fit:
                chosen = (text, loc)
                break
        if fit is None:
            text, loc = chosen
            if len(given) == 1 and loc[-1] in ("text",):
                hint = "add a shorter `short` form"
            else:
                hint = "shorten it"
            self.report(loc, f"too long for a slide title even at {self.s.min_title:g} pt; {hint}")
        shape.left, shape.top, shape.width, shape.height = box.left, box.top, box.width, box.height
        self.write(shape.text_frame, [Para(chosen[0] + suffix, chosen[1])], fit.size_pt if fit else self.s.min_title,
                   default_pt=self.title_default)

    def drop_empty_placeholders(self, slide) -> None:
        """Remove placeholders left empty, so no 'Click to add text' prompt remains."""
        for ph in list(slide.placeholders):
            if ph.placeholder_format.type is not None and "SLIDE_NUMBER" in str(ph.placeholder_format.type):
                continue
            if ph.has_text_frame and not ph.text_frame.text.strip():
                xml.remove_shape(ph)

    def set_notes(self, slide, notes: Notes) -> None:
        """Write the speaker notes in the brief's language."""
        frame = slide.notes_slide.notes_text_frame
        frame.clear()
        for i, line in enumerate(notes.lines or [" "]):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = paragraph.add_run()
            run.text = xml.clean_text(line)
            xml.run_properties(run._r.get_or_add_rPr(), lang=self.lang, size_pt=self.s.small)

    def footer(self, slide, label: str, items: list[str]) -> None:
        """Put a one-line footer in the layout's footer placeholder, widened to the slide number: the label
        and as many whole items as fit, with "…" after the last one shown when some are left out (the
        first item cut short when even it does not fit alone)."""
        sp = xml.clone_layout_placeholder(slide, slide.slide_layout, "ftr")
        if sp is None or not items:
            return
        width = self.prs.slide_width - 2 * 609600 - 2286000
        box = Box(609600, self.prs.slide_height - 502920, width, 365760)
        font = self.measure()

        def fits(line: str) -> bool:
            # A tenth spare: the master's footer style may centre the line or space it differently.
            return len(wrap_lines(line, font, self.s.small, int(box.text_width * 0.9))) == 1

        def line(shown: list[str], cut: bool) -> str:
            return self.t("labelled", label=label, text=self.t.series(shown) + ("…" if cut else ""))

        chosen = next((line(items[:n], n < len(items)) for n in range(len(items), 0, -1)
                       if fits(line(items[:n], n < len(items)))), None)
        first = items[0]
        while chosen is None and len(first) > 4:
            first = first[:-2].rstrip()
            chosen = line([first], True) if fits(line([first], True)) else None
        xml.place_element(sp, box.left, box.top, box.width, box.height)
        xml.set_placeholder_text(sp, chosen or line([first], True), self.lang)

    def tracker(self, slide, si: int | None) -> None:
        """Add the section tracker above the title: every section's short name, the current one emphasised."""
        if si is None:
            return
        names = [s.short or s.title for s in self.brief.sections]
        box = Box(609600, 45720, self.prs.slide_width - 2 * 609600, TRACKER_HEIGHT)
        sep = "   "
        font = self.measure()
        if len(wrap_lines(sep.join(names), font, self.s.small, box.text_width)) > 1:
            names = [f"{si + 1}/{len(names)}  {names[si]}"]
            si = 0
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = "section tracker"
        frame = shape.text_frame
        xml.body_frame(frame, anchor="ctr", shrink=False)
        paragraph = frame.paragraphs[0]
        xml.paragraph_spacing(paragraph, line_pct=1.0, space_before_pt=0, bullet=False, align="l")
        for i, name in enumerate(names):
            run = paragraph.add_run()
            run.text = xml.clean_text((sep if i else "") + name)
            current = i == si
            xml.run_properties(run._r.get_or_add_rPr(), lang=self.lang, size_pt=self.s.small, bold=current,
                               color="tx2" if current else self.muted)

    def source_footer(self, slide, keys: list[str]) -> None:
        """Put the sources the slide rests on in its footer, each named once, in order of first use."""
        keys = list(dict.fromkeys(keys))
        self.footer(slide, self.t("sources"), [self.brief.source(k).title for k in keys])

    # --- slides ---------------------------------------------------------------------------

    def title_slide(self, plan: SlidePlan) -> None:
        """Add the title slide: title, subtitle, organisation and briefing date."""
        meta = self.brief.meta
        slide = self.new_slide(plan.layout)
        self.title(slide, [(meta.title, ("meta", "title")), (meta.short_title, ("meta", "short_title"))],
                   max_pt=self.s.number)
        sub = self.placeholder(slide, 1)
        lines = [Para(meta.subtitle, ("meta", "subtitle"))] if meta.subtitle else []
        lines.append(Para(self.t("organisation_date", organisation=self.theme.organisation,
                                 date=self.t.date(meta.updated)), ("meta", "updated")))
        if sub is not None:
            box = self.box_of(sub)
            fit = self.fit(lines, box, max_pt=self.s.body, min_pt=self.s.min_body)
            if fit is None:
                self.report(lines[0].loc, f"subtitle does not fit the title slide even at {self.s.min_body:g} pt; shorten it")
            self.write(sub.text_frame, lines, fit.size_pt if fit else self.s.min_body, bullet=False)
        self.drop_empty_placeholders(slide)
        notes = self.notes()
        notes.add(meta.article_title, self.t("notes_article"))
        notes.add(meta.outlet.note)
        notes.add(meta.date_note)
        notes.add(self.t("notes_compiled", author=meta.author, date=self.t.date(meta.updated)))
        self.set_notes(slide, notes)

    def summary(self, plan: SlidePlan) -> None:
        """Add the executive summary: the thesis as the title, each judgment as a short bullet that points
        to the slides carrying its claims."""
        slide = self.new_slide(plan.layout)
        thesis = self.brief.thesis
        # A thesis too long even in its lead clause leaves the title to the brief's short title;
        # the thesis is then said from the notes rather than failing the build.
        candidates = [(thesis, ("thesis",)), (first_sentence(thesis), ("thesis",)), (lead_clause(thesis), ("thesis",)),
                      (self.brief.meta.short_title, ("meta", "short_title"))]
        # The action title of the summary may take three lines: the judgments below need less room.
        title = self.box_of(slide.shapes.title)
        tall = Box(title.left, title.top, title.width, max(title.height, int(3 * self.s.min_title * 1.45 * LINE_PCT
                                                                               * EMU_PER_PT) + 2 * INSET_Y))
        self.title(slide, candidates, box=tall)
        body = self.body_box(slide)
        top = max(body.top, tall.bottom + GAP // 2)
        paras = []
        for i, judgment in enumerate(self.brief.judgments):
            slides = sorted({self.slide_of_claim[k] for k in judgment.claims if k in self.slide_of_claim})
            pointer = self.t("see_slides", numbers=self.t.series([str(n) for n in slides])) if slides else ""
            paras.append(Para(lead_clause(judgment.text) + pointer, ("judgments", i, "text")))
        rest = self.body(slide, 1, paras, what="judgment", box=Box(body.left, top, body.width, body.bottom - top),
                         max_items=MAX_LIST_ITEMS)
        for para in rest:
            self.report(para.loc, "the judgments do not all fit on the summary slide; shorten their first clauses")
        notes = self.notes()
        notes.add(thesis)
        for i, judgment in enumerate(self.brief.judgments):
            notes.add(judgment.text, self.t("notes_judgment", number=i + 1))
        self.drop_empty_placeholders(slide)
        self.set_notes(slide, notes)

    def body(self, slide, idx: int, paras: list[Para], *, what: str, bullet: bool = True,
             box: Box | None = None, max_items: int = MAX_BULLETS) -> list[Para]:
        """Fill body placeholder ``idx`` with as many of ``paras`` as fit at ≥ 20 pt (up to ``max_items``);
        return the rest, to continue on a next slide. An item that fits nowhere alone is reported."""
        shape = self.placeholder(slide, idx)
        box = box or self.box_of(shape)
        if shape is not None:
            shape.left, shape.top, shape.width, shape.height = box.left, box.top, box.width, box.height
        count = min(len(paras), max_items)
        while count > 1 and self.fit(paras[:count], box, max_pt=self.s.body, min_pt=self.s.min_body, bullet=bullet) is None:
            count -= 1
        fit = self.fit(paras[:count], box, max_pt=self.s.body, min_pt=self.s.min_body, bullet=bullet)
        if fit is None:
            self.report(paras[0].loc, f"{what} does not fit on a slide even alone at {self.s.min_body:g} pt; "
                                      "shorten it or split it in two")
        target = shape.text_frame if shape is not None else slide.shapes.add_textbox(
            box.left, box.top, box.width, box.height).text_frame
        self.write(target, paras[:count], fit.size_pt if fit else self.s.min_body, default_pt=self.body_default,
                   bullet=None if bullet else False, lead_color="tx2")
        return paras[count:]

    def message(self, plan: SlidePlan) -> None:
        """Add a message slide: the claim as action title, its evidence as bullets, the visual beside them."""
        loc = plan.claim_loc
        claim = claim_at(self.brief, loc)
        section = self.brief.sections[plan.section]
        slide = self.new_slide(plan.layout)
        self.tracker(slide, plan.section)
        self.title(slide, [(claim.text, (*loc, "text")), (claim.short, (*loc, "short"))])
        left, right = self.two_boxes(slide)
        paras = [Para(e.text, (*loc, "evidence", i, "text")) for i, e in enumerate(claim.evidence)]
        rest = self.body(slide, 1, paras, what="evidence", box=left)
        visual_sources = self.visual(slide, plan.visual, right, loc)
        right_ph = self.placeholder(slide, 2)
        if right_ph is not None:
            xml.remove_shape(right_ph)
        sources = [k for e in claim.evidence for k in e.sources] + visual_sources
        self.source_footer(slide, sources)
        self.drop_empty_placeholders(slide)
        self.slide_of_claim[claim.id] = len(self.prs.slides)
        notes = self.notes()
        self.talk_track(notes, plan, claim, section)
        self.set_notes(slide, notes)
        if rest:
            self.continued(plan, claim, loc, rest)

    def continued(self, plan: SlidePlan, claim, loc: Loc, rest: list[Para]) -> None:
        """Add the evidence that did not fit on slides of its own, marked continued."""
        while rest:
            slide = self.new_slide("content")
            self.tracker(slide, plan.section)
            self.title(slide, [(claim.text, (*loc, "text")), (claim.short, (*loc, "short"))],
                       suffix=self.t("continued"))
            before = len(rest)
            rest = self.body(slide, 1, rest, what="evidence",
                             box=self.body_box(slide))
            self.drop_empty_placeholders(slide)
            self.set_notes(slide, self.notes())
            if len(rest) == before:  # an item that fits nowhere was reported: do not loop on it
                rest = rest[1:]

    def talk_track(self, notes: Notes, plan: SlidePlan, claim, section) -> None:
        """Write what to say: the claim and its detail, how it supports a judgment, then passage and sources."""
        if plan.unused_claims or plan.claim_loc[2] == "headline":
            notes.add(section.summary)
        notes.add(claim.text)
        notes.add(claim.detail)
        for number, judgment in enumerate(self.brief.judgments, 1):
            if claim.id in judgment.claims:
                notes.add(self.t("notes_supports", number=number, judgment=lead_clause(judgment.text)))
        also = [claim_at(self.brief, loc) for loc in plan.unused_claims]
        if also:
            notes.add(self.t.series([c.short or c.text for c in also]), self.t("notes_also"))
        notes.passage(claim)
        if plan.visual and plan.visual.kind == "cards":
            for key in plan.visual.keys:
                figure = self.brief.figure(key)
                notes.add(figure.shows, self.t("labelled", label=figure.display, text=""))
                notes.passage(figure)
        if plan.visual and plan.visual.kind == "quote":
            quote = self.brief.quote(plan.visual.keys[0])
            notes.add(quote.context)
            notes.passage(quote)
        if plan.visual and plan.visual.kind == "chart":
            chart = self.brief.chart(plan.visual.keys[0])
            notes.add(chart.caption, self.t("notes_chart"))
        sources = sorted({k for e in claim.evidence for k in e.sources})
        notes.add(self.t.series([self.brief.source(k).title for k in sources]), self.t("notes_sources"))
        for note_id in claim.notes:
            note = next(n for n in self.brief.notes if n.id == note_id)
            notes.add(note.text, self.t("notes_note", title=note.title))

    def two_boxes(self, slide) -> tuple[Box, Box]:
        """Return the left (text) and right (visual) boxes of a two-content slide, from its placeholders."""
        left_ph, right_ph = self.placeholder(slide, 1), self.placeholder(slide, 2)
        bottom = self.content_bottom()
        if left_ph is not None and right_ph is not None:
            left, right = self.box_of(left_ph), self.box_of(right_ph)
        else:
            area = self.body_box(slide)
            half = (area.width - GAP) // 2
            left, right = Box(area.left, area.top, half, area.height), Box(area.left + half + GAP, area.top, half, area.height)
        return (Box(left.left, left.top, left.width, min(left.bottom, bottom) - left.top),
                Box(right.left, right.top, right.width, min(right.bottom, bottom) - right.top))

    def body_box(self, slide) -> Box:
        """Return the box of the body placeholder (idx 1), or the area under the title."""
        ph = self.placeholder(slide, 1)
        if ph is not None:
            box = self.box_of(ph)
            return Box(box.left, box.top, box.width, min(box.bottom, self.content_bottom()) - box.top)
        title = slide.shapes.title
        top = (title.top + title.height + GAP) if title is not None else 914400
        return Box(609600, top, self.prs.slide_width - 2 * 609600, self.content_bottom() - top)

    # --- visuals ----------------------------------------------------------------------------

    def visual(self, slide, visual: Visual, box: Box, claim_loc: Loc) -> list[str]:
        """Draw a message's evidence visual in ``box``; return the source keys it cites."""
        if visual.kind == "cards":
            return self.cards(slide, [self.brief.figure(k) for k in visual.keys], box)
        if visual.kind == "chart":
            return self.chart(slide, self.brief.charts.index(self.brief.chart(visual.keys[0])), box)
        if visual.kind == "quote":
            qi = next(i for i, q in enumerate(self.brief.quotes) if q.id == visual.keys[0])
            return self.quote(slide, qi, box)
        return self.passage(slide, claim_loc, box)

    def cards(self, slide, figures, box: Box) -> list[str]:
        """Draw up to three figure cards stacked in ``box``: the number large, label and meaning beside it."""
        index = {f.id: i for i, f in enumerate(self.brief.figures)}
        count = len(figures)
        height = (box.height - GAP * (count - 1)) // count
        fill = "tx2"
        number_color = self.palette.readable(fill, ("accent2", "accent1", "bg1"), 3.0)
        text_color = self.palette.readable(fill, ("bg1", "bg2", "tx1"), 4.5)
        number_width = int(box.width * 0.42)
        sources = []
        for n, figure in enumerate(figures):
            loc = ("figures", index[figure.id])
            top = box.top + n * (height + GAP)
            card = slide.shapes.add_shape(1, box.left, top, box.width, height)  # 1: rectangle
            card.name = f"card {figure.id}"
            xml.fill_scheme(card, fill)
            card.text_frame.text = ""
            self.text_box(slide, Box(box.left, top, number_width, height), [Para(figure.display, (*loc, "display"))],
                          max_pt=self.s.number, min_pt=self.s.min_body, what="figure", name="figure number",
                          color=number_color, bold=True, align="ctr", anchor="ctr")
            label = self.t("figure_year", label=figure.label, year=figure.year) if figure.year else figure.label
            text_area = Box(box.left + number_width, top, box.width - number_width, height)
            paras = [Para(label, (*loc, "label")), Para(figure.shows, (*loc, "shows"))]
            if self.fit(paras, text_area, max_pt=self.s.label, min_pt=self.s.min_label) is None:
                paras = paras[:1]  # the short form: the label alone (what it shows is in the notes)
            self.text_box(slide, text_area, paras,
                          max_pt=self.s.label, min_pt=self.s.min_label, what="figure label and text", name="figure text",
                          color=text_color, anchor="ctr")
            sources += figure.sources
        return sources

    def chart(self, slide, ci: int, box: Box) -> list[str]:
        """Draw a native, editable chart of the source's series in ``box``; return its sources."""
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

        spec = self.brief.charts[ci]
        data = CategoryChartData(number_format=chart_number_format(spec))
        data.categories = spec.categories
        for series in spec.series:
            data.add_series(series.name, series.values)
        frame = slide.shapes.add_chart(chart_type(spec, XL_CHART_TYPE), box.left, box.top, box.width, box.height, data)
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
        slots = {"primary": "tx2", "accent": "accent2", "accent2": "accent3", "muted": "accent4", "light": "bg2"}
        for series, source in zip(plot.series, spec.series):
            xml.fill_scheme_series(series, slots[source.color])
            self.label_points(series, source, spec)
        xml.style_chart_text(chart, xml.RunStyle(self.s.label - 2, "+mn-lt", "+mn-ea", None, lang=self.lang))
        xml.set_alt_text(frame, spec.alt, spec.title)
        workbook = chart.part.chart_workbook
        workbook.update_from_xlsx_blob(xml.fix_workbook_dates(workbook.xlsx_part.blob, build_time()))
        return list(spec.sources)

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
                xml.run_properties(frame.paragraphs[0].runs[0]._r.get_or_add_rPr(), lang=self.lang, size_pt=self.s.min_label)
                custom = True
        if custom:  # a point's own label adds series-level labels, which must still show the other values
            labels = series.data_labels
            labels.show_value = True
            labels.number_format = chart_number_format(spec)
            labels.number_format_is_linked = False

    def quote(self, slide, qi: int, box: Box) -> list[str]:
        """Draw a quote beside the message: an accent rule, the words, the speaker and date."""
        quote = self.brief.quotes[qi]
        actor = self.brief.actor(quote.speaker)
        words = quote.text if quote.indirect else self.t.quoted(quote.text)
        kind = self.t("indirect") if quote.indirect else ""
        who = self.t("dash_attribution", text=self.t("quote_attribution", name=actor.name, role=actor.role,
                                                      date=self.t.date(quote.date))) + kind
        self.pull_quote(slide, box, Para(words, ("quotes", qi, "text")), Para(who, ("quotes", qi, "speaker")))
        return list(quote.sources)

    def passage(self, slide, claim_loc: Loc, box: Box) -> list[str]:
        """Draw the article's own words for a claim as the visual, when its section has no figure, chart or quote."""
        claim = claim_at(self.brief, claim_loc)
        self.pull_quote(slide, box, Para(self.article_words.quoted(claim.passage), (*claim_loc, "passage")),
                        Para(self.t("dash_attribution", text=self.brief.meta.article_title), ("meta", "article_title")))
        return []

    def pull_quote(self, slide, box: Box, words: Para, who: Para) -> None:
        """Draw words large in the title colour beside an accent rule, the attribution under them."""
        rule = slide.shapes.add_shape(1, box.left, box.top, 54864, box.height)
        rule.name = "quote rule"
        xml.fill_scheme(rule, "accent2")
        inner = Box(box.left + 182880, box.top, box.width - 182880, box.height)
        lines = len(wrap_lines(who.full, self.measure(), self.s.label, inner.text_width))
        who_height = int(lines * self.s.label * LINE_PCT * self.measure().line_height * EMU_PER_PT) + 2 * INSET_Y + EMU_PER_PT
        self.text_box(slide, Box(inner.left, inner.top, inner.width, inner.height - who_height), [words],
                      max_pt=self.s.body, min_pt=self.s.min_body - 2, what="quote", name="quote", color="tx2", bold=True,
                      anchor="ctr")
        self.text_box(slide, Box(inner.left, inner.bottom - who_height, inner.width, who_height), [who],
                      max_pt=self.s.label, min_pt=self.s.min_label, what="attribution", name="attribution", color=self.muted)

    # --- map, timeline, appendices ---------------------------------------------------------------

    def map_slide(self, plan: SlidePlan) -> None:
        """Add a map full width: the slide-sized raster under the title, a legend in the route colours, the credit."""
        mi = plan.map_index
        spec = self.brief.maps[mi]
        slide = self.new_slide(plan.layout)
        self.tracker(slide, plan.section)
        self.title(slide, [(spec.title, ("maps", mi, "title"))])
        area = self.body_box(slide)
        rows = self.legend_rows(self.legend(spec), area.width) if spec.pipelines else []
        legend_height = LEGEND_ROW * len(rows)
        image_area = Box(area.left, area.top, area.width, area.height - legend_height)
        png = self.map_png(spec.id)
        if png:
            picture(slide, png, image_area, spec.alt)
        else:
            shape = slide.shapes.add_shape(1, image_area.left, image_area.top, image_area.width, image_area.height)
            xml.fill_scheme(shape, "bg2")
            shape.name = "map placeholder"
            self.write(shape.text_frame, [Para(self.t("map_not_drawn"), ("maps", mi))], self.s.body, color="tx1",
                       bullet=False, align="ctr", anchor="ctr")
        if rows:
            self.draw_legend(slide, rows, Box(area.left, image_area.bottom, area.width, legend_height), mi)
        if not png:  # a drawn map carries its credit in the picture
            self.footer(slide, self.t("sources"), [spec.credit])
        self.drop_empty_placeholders(slide)
        notes = self.notes()
        notes.add(spec.caption)
        notes.add(spec.alt, self.t("notes_map"))
        for line in spec.pipelines:
            details = self.t.join_parts([line.capacity, line.years, line.status_note, line.note, *line.disruptions])
            if details:
                notes.add(self.t("labelled", label=line.name, text=details))
        self.set_notes(slide, notes)

    def legend(self, spec) -> list[tuple[str, dict]]:
        """Return the map's legend entries: (label, route style) in the theme's route colours."""
        from .maps import legend_entries

        return legend_entries(spec, self.theme.map, self.t)

    def legend_rows(self, entries, width: int) -> list[list[tuple[str, dict, int]]]:
        """Return the legend entries flowed into rows of ``width``: (label, style, entry width) each."""
        font = self.measure()
        rows: list[list[tuple[str, dict, int]]] = [[]]
        used = 0
        for label, style in entries:
            text = int(font.width_pt(label, self.s.min_label) / 0.96 * EMU_PER_PT) + 2 * INSET_X + EMU_PER_PT * 4
            entry = LEGEND_SWATCH + INSET_X + text + GAP
            if rows[-1] and used + entry > width:
                rows.append([])
                used = 0
            rows[-1].append((label, style, entry))
            used += entry
        return rows

    def draw_legend(self, slide, rows, box: Box, mi: int) -> None:
        """Draw each route kind as a line in its colour and dash, with its label, row after row."""
        for r, row in enumerate(rows):
            left = box.left
            top = box.top + r * LEGEND_ROW
            for label, style, width in row:
                y = top + LEGEND_ROW // 2
                line = slide.shapes.add_connector(1, left + INSET_X, y, left + INSET_X + LEGEND_SWATCH, y)
                line.name = "legend line"
                xml.line_color(line, style["color"], int(style["weight"] * 1.6 * EMU_PER_PT / 1.333),
                               "dash" if "dashArray" in style else None)
                text_left = left + INSET_X + LEGEND_SWATCH
                self.text_box(slide, Box(text_left, top, width - LEGEND_SWATCH - INSET_X - GAP, LEGEND_ROW),
                              [Para(label, ("maps", mi, "pipelines"))], max_pt=self.s.min_label, min_pt=self.s.min_label,
                              what="legend label", name="legend label", color="tx1", anchor="ctr")
                left += width

    def map_png(self, map_id: str) -> bytes | None:
        """Return the map's slide-sized PNG from this build or the map cache, or None while there is none."""
        try:
            return self.project.map_image(map_id, target="slide")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("kzreport.builders.maps"):
                return None
            raise

    def timeline(self, plan: SlidePlan) -> None:
        """Add the timeline on one slide: a horizontal rule with the chosen events alternately above and below."""
        slide = self.new_slide(plan.layout)
        self.title(slide, [(self.t("timeline"), ("timeline",))])
        area = self.body_box(slide)
        events = [self.brief.timeline[i] for i in plan.events]
        count = len(events)
        step = area.width // count
        y = area.top + area.height // 2
        rule = slide.shapes.add_connector(1, area.left, y, area.left + area.width, y)
        rule.name = "timeline rule"
        xml.line_color(rule, "tx2", 28575)
        half = area.height // 2 - GAP
        for n, (index, event) in enumerate(zip(plan.events, events)):
            centre = area.left + step * n + step // 2
            dot = slide.shapes.add_shape(9, centre - 68580, y - 68580, 137160, 137160)  # 9: oval
            dot.name = "timeline dot"
            xml.fill_scheme(dot, "accent2")
            # At most a step either side of its dot (the neighbours on the same side are two steps away, so
            # boxes never overlap), cut at the area's edges; a cut box aligns its text to that edge.
            left = max(area.left, centre - step + GAP // 2)
            right = min(area.left + area.width, centre + step - GAP // 2)
            width = right - left
            edge = "l" if left == area.left else "r" if right == area.left + area.width else "ctr"
            top = area.top if n % 2 == 0 else y + GAP
            paras = [Para(event.title, ("timeline", index, "title"), lead=(event.when or self.t.date(event.date)) + "\n")]
            self.text_box(slide, Box(left, top, width, half), paras, max_pt=self.s.min_body, min_pt=self.s.min_label,
                          what="timeline event", name="timeline event", color="tx1", lead_color="tx2",
                          align=edge, anchor="b" if n % 2 == 0 else "t")
        notes = self.notes()
        for event in self.brief.timeline:
            notes.add(event.text, self.t("labelled", label=f"{event.when or self.t.date(event.date)} {event.title}", text=""))
        self.source_footer(slide, [k for e in events for k in e.sources])
        self.drop_empty_placeholders(slide)
        self.set_notes(slide, notes)

    def list_slides(self, plan: SlidePlan, title: str, title_loc: Loc, paras: list[Para], notes: Notes, *,
                    what: str, bullet: bool = True) -> None:
        """Add a titled list, continued on further slides while items remain."""
        rest, number = paras, 0
        while rest:
            slide = self.new_slide(plan.layout)
            self.title(slide, [(title, title_loc)], suffix=self.t("continued") if number else "")
            before = len(rest)
            rest = self.body(slide, 1, rest, what=what, bullet=bullet, box=self.body_box(slide),
                             max_items=MAX_LIST_ITEMS)
            if len(rest) == before:
                rest = rest[1:]
            self.drop_empty_placeholders(slide)
            self.set_notes(slide, notes if number == 0 else self.notes())
            number += 1

    def agenda(self, plan: SlidePlan) -> None:
        """Add the agenda: the section titles, numbered."""
        paras = [Para(s.title, ("sections", i, "title"), lead=f"{i + 1}  ") for i, s in enumerate(self.brief.sections)]
        self.list_slides(plan, self.t("contents"), ("sections",), paras, self.notes(), what="section title", bullet=False)

    def claims(self, plan: SlidePlan) -> None:
        """Add the appendix of claims: each claim's short form (or text), with its passage in the notes."""
        paras, notes = [], self.notes()
        for loc in plan.claims:
            claim = claim_at(self.brief, loc)
            field_name = "short" if claim.short else "text"
            paras.append(Para(claim.short or claim.text, (*loc, field_name)))
            notes.add(claim.text)
            notes.passage(claim)
        self.list_slides(plan, self.t("supporting_claims"), ("sections",), paras, notes, what="claim")

    def other_sources(self, plan: SlidePlan) -> None:
        """Add where other sources differ from the article."""
        paras = [Para(n.text, ("notes", i, "text"), lead=self.t("labelled", label=n.title, text=""))
                 for i, n in enumerate(self.brief.notes)]
        notes = self.notes()
        for note in self.brief.notes:
            notes.add(self.t.series([self.brief.source(k).title for k in note.sources]), self.t("notes_sources"))
        self.list_slides(plan, self.t("other_sources"), ("notes",), paras, notes, what="note", bullet=False)

    def sources(self, plan: SlidePlan) -> None:
        """Add every source on one appendix slide in two columns (continued only when they cannot fit)."""
        paras = []
        for i, s in enumerate(self.brief.sources):
            detail = self.t.join_parts([s.publisher, s.date])
            paras.append(Para(self.t("parenthetical", text=s.title, aside=detail) if detail else s.title,
                              ("sources", i, "title")))
        paras.append(Para(self.t("notes_compiled", author=self.brief.meta.author,
                                 date=self.t.date(self.brief.meta.updated)), ("meta", "author")))
        notes = self.notes()
        for s in self.brief.sources:
            notes.add(self.t.join_parts([s.title, s.publisher, s.date, s.url, s.note]))
        rest, number = paras, 0
        while rest:
            slide = self.new_slide(plan.layout)
            self.title(slide, [(self.t("sources"), ("sources",))], suffix=self.t("continued") if number else "")
            area = self.body_box(slide)
            body = self.placeholder(slide, 1)
            if body is not None:
                xml.remove_shape(body)
            half = (area.width - GAP) // 2
            for left in (area.left, area.left + half + GAP):
                if rest:
                    rest = self.column(slide, Box(left, area.top, half, area.height), rest)
            self.drop_empty_placeholders(slide)
            self.set_notes(slide, notes if number == 0 else self.notes())
            number += 1

    def column(self, slide, box: Box, paras: list[Para]) -> list[Para]:
        """Fill a text column with as many of ``paras`` as fit at the label sizes; return the rest."""
        count = len(paras)
        sizes = dict(max_pt=self.s.label + 2, min_pt=self.s.min_label)
        while count > 1 and self.fit(paras[:count], box, **sizes) is None:
            count -= 1
        fit = self.fit(paras[:count], box, **sizes)
        if fit is None:
            self.report(paras[0].loc, f"source does not fit a column even alone at {self.s.min_label:g} pt; shorten it")
        shape = slide.shapes.add_textbox(box.left, box.top, box.width, box.height)
        shape.name = "sources"
        self.write(shape.text_frame, paras[:count], fit.size_pt if fit else self.s.min_label, bullet=False, color="tx1")
        return paras[count:]

    RENDERERS = {"title": title_slide, "summary": summary, "agenda": agenda, "message": message, "map": map_slide,
                 "timeline": timeline, "claims": claims, "notes": other_sources, "sources": sources}

    def render(self, plans: list[SlidePlan]) -> None:
        """Render every planned slide; the summary is drawn last, in its place, once slide numbers are known."""
        summary_at = None
        for plan in plans:
            if plan.kind == "summary":
                summary_at = len(self.prs.slides)
                continue
            if plan.kind == "quote":
                self.quote_slide(plan)
                continue
            self.RENDERERS[plan.kind](self, plan)
        if summary_at is not None:
            # Message slides after the summary's place move one on when it is put in.
            self.slide_of_claim = {k: n + 1 if n > summary_at else n for k, n in self.slide_of_claim.items()}
            self.summary(plans[0] if plans[0].kind == "summary" else next(p for p in plans if p.kind == "summary"))
            xml.move_last_slide(self.prs, summary_at)

    def quote_slide(self, plan: SlidePlan) -> None:
        """Add a quote no message slide shows, on a slide of its own."""
        slide = self.new_slide(plan.layout)
        actor = self.brief.actor(self.brief.quotes[plan.quote_index].speaker)
        self.title(slide, [(self.t("in_their_words", name=actor.name), ("quotes", plan.quote_index, "speaker"))])
        sources = self.quote(slide, plan.quote_index, self.body_box(slide))
        self.source_footer(slide, sources)
        self.drop_empty_placeholders(slide)
        notes = self.notes()
        notes.add(self.brief.quotes[plan.quote_index].context)
        notes.passage(self.brief.quotes[plan.quote_index])
        self.set_notes(slide, notes)


def first_sentence(text: str) -> str:
    """Return the first sentence of ``text`` (up to 。！？ or a full stop followed by a space)."""
    for i, ch in enumerate(text):
        if ch in "。！？!?" or (ch == "." and (i + 1 == len(text) or text[i + 1] == " ")):
            return text[:i + 1].strip()
    return text.strip()


def lead_clause(text: str) -> str:
    """Return the lead of a statement: its first sentence up to a colon, without the closing stop."""
    sentence = first_sentence(text)
    for mark in ("：", ": ", "；", "; "):
        if mark in sentence:
            sentence = sentence.split(mark, 1)[0]
            break
    return sentence.rstrip("。.!！?？ ")


def chart_number_format(spec) -> str:
    """Return the Excel number format of a chart's values: a percent sign after the number for % charts."""
    return '0"%"' if spec.unit == "%" else "General"


def chart_type(spec, types):
    """Return the chart type: stacked bars (100% when the series add up to 100 %), else clustered columns."""
    if spec.kind == "stacked_bar":
        totals = [sum(v or 0 for v in values) for values in zip(*(s.values for s in spec.series))]
        full = spec.unit == "%" and all(abs(t - 100) < 0.5 for t in totals)
        return types.BAR_STACKED_100 if full else types.BAR_STACKED
    return types.COLUMN_CLUSTERED


def png_size(data: bytes) -> tuple[int, int]:
    """Return a PNG's width and height in pixels, or raise BuildError when the bytes are not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise BuildError("map image is not a PNG")
    return struct.unpack(">II", data[16:24])


def picture(slide, png: bytes, area: Box, alt: str):
    """Add a picture as large as fits ``area`` with its aspect ratio kept, centred; return the shape."""
    width_px, height_px = png_size(png)
    scale = min(area.width / width_px, area.height / height_px)
    width, height = round(width_px * scale), round(height_px * scale)
    shape = slide.shapes.add_picture(io.BytesIO(png), area.left + (area.width - width) // 2,
                                     area.top + (area.height - height) // 2, width, height)
    xml.set_alt_text(shape, alt)
    return shape


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


def restyle_theme(prs, theme, lang: str) -> None:
    """Write a kzreport theme's colours and fonts into the deck's theme part, for a deck in ``lang``."""
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme_part = prs.slide_master.part.part_related_by(RT.THEME)
    blob = xml.set_theme_colors(theme_part.blob, theme_colors(theme))
    heading = theme.fonts.heading
    # Slides read best in the sans face throughout (design brief), so body text uses it too.
    faces = xml.ThemeFaces(latin=heading.latin, hans=heading.hans, hant=heading.hant)
    theme_part._blob = xml.set_theme_fonts(blob, major=faces, minor=faces, lang=lang)


def uses_theme_in_master(project) -> bool:
    """Return whether the theme file styles the master: always for the built-in one, for a user's
    master only when a theme is given (a corporate master keeps its own colours otherwise)."""
    return project.options.pptx_template is None or project.options.theme_file is not None


LOGO_HEIGHT = 292608  # 0.32 in, inside the bottom margin that slide content leaves free


def add_logo(prs, project) -> None:
    """Put the theme's PNG or JPEG logo in the top-right corner of every slide (SVG logos go to the PDF only)."""
    from ..theme import read_logo

    logo = read_logo(project.theme, project.theme_dir)
    if not logo or logo[1] == "image/svg+xml":
        return
    for slide in prs.slides:
        shape = slide.shapes.add_picture(io.BytesIO(logo[0]), 0, 0, height=LOGO_HEIGHT)
        shape.left = prs.slide_width - shape.width - 457200
        shape.top = prs.slide_height - LOGO_HEIGHT - 91440
        xml.set_alt_text(shape, project.theme.organisation)


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


def compose_deck(project):
    """Return the presentation with every planned slide, and the fit problems found (empty when all fit)."""
    storyboard = load_storyboard(project.options.templates_dir)
    prs = open_master(template_path(project))
    themed = uses_theme_in_master(project)
    if themed:
        restyle_theme(prs, project.theme, language(project.source.meta.language).office)
    remove_all_slides(prs)
    writer = DeckWriter(project, prs, themed)
    writer.render(plan_story(project.source, storyboard))
    return prs, writer.problems


def check_deck_fonts(project) -> None:
    """Raise InputError when the faces the deck measures and sets its text in lack a character of the brief."""
    from ..fonts import require_coverage
    from .pdf import brief_text

    script = project.words.language.script
    text = brief_text(project.source) + "\n".join(project.words.messages.values())
    require_coverage(text, project.theme.fonts.stack("heading", script), f"{project.source_path}: deck text")


def validate_deck(project) -> list[Problem]:
    """Return every problem building the deck would report: font coverage, then every text that does not
    fit (what ``kzreport validate`` checks, so that validate and build agree)."""
    try:
        check_deck_fonts(project)
        return sorted(compose_deck(project)[1], key=lambda p: (p.line, p.column))
    except InputError as error:
        return error.problems


def validate_deck_source(path: Path, options) -> list[Problem]:
    """Return the deck's problems for the source at ``path`` built with ``options`` (empty when it builds)."""
    from ..build import Reporter, load_project

    try:
        return validate_deck(load_project(path, options, Reporter(0)))
    except InputError as error:
        return error.problems


def render_deck(project) -> bytes:
    """Return the finished deck's bytes, reproducible for the same source and SOURCE_DATE_EPOCH; raise
    InputError listing every text that does not fit."""
    check_deck_fonts(project)
    prs, problems = compose_deck(project)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.line, p.column)))
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
