"""The deck's storyline: the storyboard file, and the slides it plans from the source's structure.

The storyboard (``deck/storyboard.yaml`` in the template search path: ``--templates DIR``
first, the built-in one last) lists steps — title, summary, sections, maps, timeline,
claims, notes, sources … — each with the slide kind of the theme it uses. ``plan_story``
turns the steps into ``SlidePlan`` items from the brief's structure only: judgments point
to claims, a section's headline and the claims judgments cite make its message slides,
and its figures, charts and quotes are the visuals beside them. The deck builder then
renders each plan item; nothing here knows one article.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ..model import Model
from ..theme import SLIDE_KINDS

Loc = tuple[str | int, ...]

STEP_KINDS = ("title", "summary", "agenda", "sections", "maps", "timeline", "quotes", "claims", "notes", "sources")
CARDS_PER_VISUAL = 3


class StoryStep(Model):
    """One step of the storyboard: a kind of slide, its layout and the options the kind reads."""

    kind: Literal[STEP_KINDS]  # type: ignore[valid-type]
    layout: Literal[SLIDE_KINDS] | None = None  # type: ignore[valid-type]
    """The theme's slide kind to use (the theme maps it to a master layout); each kind has a default."""
    per_section: Annotated[int, Field(ge=1, le=3)] = 2
    """``sections``: the most message slides one section gets."""
    max_events: Annotated[int, Field(ge=2, le=10)] = 7
    """``timeline``: the most events the one timeline slide shows."""
    which: Literal["unused", "all"] = "unused"
    """``claims``: the claims no message slide carries, or all of them."""


class Storyboard(Model):
    """The storyboard file: the steps of the deck in order."""

    slides: list[StoryStep] = Field(min_length=1)


DEFAULT_LAYOUT = {"title": "title", "summary": "content", "agenda": "agenda", "sections": "two_content",
                  "maps": "title_only", "timeline": "title_only", "quotes": "title_only", "claims": "content",
                  "notes": "content", "sources": "content"}


def storyboard_path(user_dir: Path | None) -> Path:
    """Return the storyboard file: the user's ``deck/storyboard.yaml`` when it exists, else the built-in one."""
    from ..resources import template_search_path

    for folder in template_search_path(user_dir):
        candidate = folder / "deck" / "storyboard.yaml"
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return template_search_path(None)[-1] / "deck" / "storyboard.yaml"


def load_storyboard(user_dir: Path | None) -> Storyboard:
    """Return the storyboard from the search path, or raise InputError located in its file."""
    from ..loader import load_model

    return load_model(storyboard_path(user_dir), Storyboard, "storyboard")[0]


def layout_kinds(storyboard: Storyboard) -> list[str]:
    """Return the slide kinds (theme layout keys) the storyboard's slides are made on, in first use."""
    kinds = [step.layout or DEFAULT_LAYOUT[step.kind] for step in storyboard.slides]
    if any(step.kind in ("sections", "maps") for step in storyboard.slides):
        kinds.append("title_only")  # a section's map is a full-width slide on it
    return list(dict.fromkeys(kinds))


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visual:
    """The evidence beside a message: ``cards`` (figure keys), ``chart``, ``quote`` or ``passage``."""

    kind: str
    keys: tuple[str, ...]


@dataclass
class SlidePlan:
    """One slide (or a run of continued slides) to render."""

    kind: str
    """The renderer: title, summary, agenda, message, map, timeline, quote, claims, notes, sources."""
    layout: str
    section: int | None = None
    claim_loc: Loc | None = None
    visual: Visual | None = None
    map_index: int | None = None
    quote_index: int | None = None
    events: tuple[int, ...] = ()
    claims: tuple[Loc, ...] = ()
    unused_claims: tuple[Loc, ...] = ()
    """``message``: claims of the section no message slide carries (the talk track mentions them)."""
    extra: dict = field(default_factory=dict)


def claim_at(brief, loc: Loc):
    """Return the claim at ``("sections", i, "headline")`` or ``("sections", i, "claims", j)``."""
    section = brief.sections[loc[1]]
    return section.headline if loc[2] == "headline" else section.claims[loc[3]]


def section_claims(si: int, section) -> list[Loc]:
    """Return the locations of a section's claims: the headline first."""
    return [("sections", si, "headline"), *(("sections", si, "claims", ci) for ci in range(len(section.claims)))]


def section_visuals(brief, section) -> list[Visual]:
    """Return a section's evidence visuals: its charts, its figures not already in a chart (in cards of
    up to three), its quotes; the headline's own passage when it has none of these."""
    charts = [c for c in brief.charts if c.id in section.charts]
    charted = {key for chart in charts for key in chart.figures}
    figures = [key for key in section.figures if key not in charted]
    visuals = [Visual("chart", (c.id,)) for c in charts]
    visuals += [Visual("cards", tuple(figures[i:i + CARDS_PER_VISUAL]))
                for i in range(0, len(figures), CARDS_PER_VISUAL)]
    visuals += [Visual("quote", (key,)) for key in section.quotes]
    return visuals or [Visual("passage", ("headline",))]


def cited_claims(brief) -> list[str]:
    """Return the claim ids the judgments cite, in the judgments' order."""
    return [key for judgment in brief.judgments for key in judgment.claims]


def message_claims(brief, si: int, section, count: int) -> list[Loc]:
    """Return the claims of a section's ``count`` message slides: the headline, then claims the
    judgments cite (in the section's order), then the others."""
    cited = set(cited_claims(brief))
    rest = section_claims(si, section)[1:]
    ranked = [loc for loc in rest if claim_at(brief, loc).id in cited] + \
             [loc for loc in rest if claim_at(brief, loc).id not in cited]
    return [section_claims(si, section)[0], *ranked][:count]


def pick_events(total: int, count: int) -> tuple[int, ...]:
    """Return ``count`` event indexes spread evenly over ``total`` (first and last always kept)."""
    if total <= count:
        return tuple(range(total))
    return tuple(sorted({round(i * (total - 1) / (count - 1)) for i in range(count)}))


def plan_story(brief, storyboard: Storyboard) -> list[SlidePlan]:
    """Return the slides the storyboard's steps make from the brief, in order."""
    maps_own_step = any(step.kind == "maps" for step in storyboard.slides)
    plans: list[SlidePlan] = []
    carried: set[Loc] = set()
    shown_quotes: set[str] = set()
    for step in storyboard.slides:
        layout = step.layout or DEFAULT_LAYOUT[step.kind]
        if step.kind == "sections":
            for si, section in enumerate(brief.sections):
                visuals = section_visuals(brief, section)
                count = min(step.per_section, len(visuals))
                claims = message_claims(brief, si, section, count)
                carried.update(claims)
                unused = tuple(loc for loc in section_claims(si, section) if loc not in claims)
                for n, (loc, visual) in enumerate(zip(claims, visuals)):
                    if visual.kind == "passage":
                        visual = Visual("passage", (loc[2],) if loc[2] == "headline" else ("claims", str(loc[3])))
                    shown_quotes.update(visual.keys if visual.kind == "quote" else ())
                    plans.append(SlidePlan("message", layout, section=si, claim_loc=loc, visual=visual,
                                           unused_claims=unused if n == 0 else ()))
                if not maps_own_step:
                    for key in section.maps:
                        mi = next(i for i, m in enumerate(brief.maps) if m.id == key)
                        plans.append(SlidePlan("map", "title_only", section=si, map_index=mi))
            if not maps_own_step:  # maps no section names still get their slide
                named = {key for s in brief.sections for key in s.maps}
                plans += [SlidePlan("map", "title_only", map_index=mi)
                          for mi, m in enumerate(brief.maps) if m.id not in named]
        elif step.kind == "maps":
            plans += [SlidePlan("map", layout, section=_section_of_map(brief, m.id), map_index=mi)
                      for mi, m in enumerate(brief.maps)]
        elif step.kind == "timeline":
            if brief.timeline:
                plans.append(SlidePlan("timeline", layout, events=pick_events(len(brief.timeline), step.max_events)))
        elif step.kind == "quotes":
            plans += [SlidePlan("quote", layout, quote_index=qi)
                      for qi, q in enumerate(brief.quotes) if q.id not in shown_quotes]
        elif step.kind == "claims":
            everything = [loc for si, s in enumerate(brief.sections) for loc in section_claims(si, s)]
            chosen = tuple(everything if step.which == "all" else [loc for loc in everything if loc not in carried])
            if chosen:
                plans.append(SlidePlan("claims", layout, claims=chosen))
        elif step.kind == "notes":
            if brief.notes:
                plans.append(SlidePlan("notes", layout))
        else:  # title, summary, agenda, sources
            plans.append(SlidePlan(step.kind, layout))
    return plans


def _section_of_map(brief, key: str) -> int | None:
    """Return the index of the first section that names the map, or None."""
    return next((si for si, s in enumerate(brief.sections) if key in s.maps), None)
