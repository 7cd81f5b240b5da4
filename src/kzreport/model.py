"""The brief's source format: the reference for what a brief's YAML holds.

A brief is the argument of one analytical article, held as structure:

- ``meta``: title, dates, the article's outlet and image credits;
- ``thesis``: the bottom line up front; ``judgments``: three to six key judgments;
- ``sections``: a headline claim and supporting claims, each with evidence and the
  article ``passage`` it rests on (a short verbatim quote, so a reader can trace it);
- ``figures``: key figures as data; ``charts``: small data series drawn as charts;
- ``timeline``, ``actors``, ``quotes``;
- ``maps``: map definitions (places and pipelines with waypoints);
- ``notes``: where other sources differ from the article; ``sources``: every source
  key a claim, figure or map cites. ``article`` is the key of the article itself.

Every scalar reaches these models as the text written in the YAML (see
``loader``), so a string field keeps ``no`` or ``1.10`` as written; numbers and
booleans are parsed from that text by the field's type.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

ARTICLE_KEY = "article"


def _strip_nonempty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _yaml_bool(value: object) -> object:
    # pydantic's lax bool accepts "no", "off", "y"; a brief says true or false.
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


Text = Annotated[str, AfterValidator(_strip_nonempty)]
"""Non-empty text; surrounding white space is dropped."""

URL_SCHEMES = ("http", "https", "mailto")


def _web_address(value: str) -> str:
    """Return an absolute http, https or mailto address; refuse anything a reader's viewer could run or open locally."""
    from urllib.parse import urlsplit

    value = _strip_nonempty(value)
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in value):
        raise ValueError("must be a web address without spaces or backslashes")
    parts = urlsplit(value)
    if parts.scheme.lower() not in URL_SCHEMES:
        raise ValueError(f"must be an absolute web address starting with {', '.join(s + ':' for s in URL_SCHEMES)} "
                         f"(found {value[:40]!r})")
    if parts.scheme.lower() != "mailto" and not parts.hostname:
        raise ValueError("must name a host, as in https://example.org/page")
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]
"""An absolute ``http``, ``https`` or ``mailto`` address: what a reader may follow from the PDF."""

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
DATE_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
COUNTRY_PATTERN = r"^[A-Z]{3}$"
PATTERN_HINTS = {
    KEY_PATTERN: "must be an id of lower-case letters, digits, '-' and '_'",
    DATE_PATTERN: "must be a date written 2022, 2022-09 or 2022-09-14",
    COUNTRY_PATTERN: "must be an ISO 3166-1 alpha-3 country code such as KAZ",
}

Key = Annotated[str, Field(pattern=KEY_PATTERN, max_length=64)]
"""An identifier: lower-case letters, digits, ``-`` and ``_``."""

PartialDate = Annotated[str, Field(pattern=DATE_PATTERN)]
"""A date as precise as known: ``2022``, ``2022-09`` or ``2022-09-14``."""

Flag = Annotated[bool, BeforeValidator(_yaml_bool)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class Model(BaseModel):
    """Base of every part of the format: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=20_000)


# --- meta -----------------------------------------------------------------------


class Outlet(Model):
    """Where the article appeared."""

    name: Text
    note: Text | None = None
    """How the attribution was made, where the article does not state it."""


class ImageCredit(Model):
    """An image of the article, described by its caption and credit (the image is not reproduced)."""

    caption: Text
    credit: Text | None = None


LANGUAGES = ("zh-Hans", "zh-Hant", "en")
"""The BCP 47 tags a brief may be written in: every interface word, date and font follows from it."""


class Meta(Model):
    title: Text
    short_title: Text
    """For running heads and footers."""
    subtitle: Text | None = None
    language: Literal[LANGUAGES] = "zh-Hans"  # type: ignore[valid-type]
    """The brief's language: every word kzreport writes, its dates and its fonts follow it."""
    article_language: Literal[LANGUAGES] | None = None  # type: ignore[valid-type]
    """The article's language, where it differs: its passages are quoted in it, with a ``translation``."""
    date: PartialDate
    """When the article was published, as precisely as known."""
    date_note: Text | None = None
    updated: PartialDate
    """When this brief was last revised."""
    outlet: Outlet
    article_title: Text
    image_credits: list[ImageCredit] = []
    author: Text
    """Who compiled the brief."""
    keywords: list[Text] = []


# --- the argument ---------------------------------------------------------------


class Evidence(Model):
    """One piece of support for a claim."""

    text: Text
    sources: list[Key] = [ARTICLE_KEY]


class Claim(Model):
    """A claim the article makes, its evidence, and the passage it rests on."""

    id: Key
    text: Text
    short: Text | None = None
    """A shorter form for slides, when the full claim is long."""
    evidence: list[Evidence] = Field(min_length=1)
    passage: Text
    """A short verbatim quote of the article, in the article's language."""
    translation: Text | None = None
    """The passage in the brief's language, where the article is in another one."""
    detail: Text | None = None
    """Fuller explanation, for speaker notes and the PDF's notes."""
    notes: list[Key] = []
    """Keys of ``notes`` that qualify this claim."""


class Judgment(Model):
    id: Key
    text: Text
    claims: list[Key] = []
    """Claims (by id) this judgment draws on."""


class Section(Model):
    id: Key
    title: Text
    short: Text | None = None
    """A shorter title for slides and running heads, when the title is long."""
    summary: Text
    """What the section argues, in a paragraph: the presenter's notes draw on it."""
    headline: Claim
    claims: list[Claim] = []
    figures: list[Key] = []
    """Key figures (by id) shown with this section."""
    charts: list[Key] = []
    maps: list[Key] = []
    quotes: list[Key] = []
    """Quotes (by id) shown as pull quotes with this section."""


# --- data -----------------------------------------------------------------------


class KeyFigure(Model):
    """A number the article gives, as data."""

    id: Key
    label: Text
    value: Number | None = None
    """The number; null where the article gives a comparison, not a number."""
    qualifier: Literal["exact", "about", "more_than", "less_than", "up_to", "at_least", "range",
                       "comparison"] = "exact"
    value_max: Number | None = None
    """The upper end, with ``qualifier: range`` (``value`` is the lower end)."""
    display: Text
    """How the number is written, e.g. ``约43%`` or ``超过1900万``."""
    unit: Text | None = None
    year: Annotated[int, Field(ge=1000, le=2100)] | None = None
    shows: Text
    """What the number shows, in one line."""
    passage: Text
    translation: Text | None = None
    sources: list[Key] = [ARTICLE_KEY]


ChartValue = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
"""A value a chart can draw: finite, and within ±10¹² (scale the unit for larger numbers)."""


class ChartSeries(Model):
    name: Text
    values: list[ChartValue | None]
    """One value per category; null where the source gives none."""
    color: Literal["primary", "accent", "accent2", "muted", "light"] = "primary"


class Chart(Model):
    """A small bar chart drawn from the source's figures."""

    id: Key
    title: Text
    kind: Literal["stacked_bar", "bar"] = "stacked_bar"
    unit: Text
    categories: list[Text] = Field(min_length=1)
    series: list[ChartSeries] = Field(min_length=1)
    caption: Text
    """What to see in the chart."""
    alt: Text
    """The chart described in words, for readers who cannot see it."""
    figures: list[Key] = []
    """Key figures the values come from."""
    sources: list[Key] = [ARTICLE_KEY]


class TimelineEvent(Model):
    date: PartialDate
    when: Text | None = None
    """The date as the brief writes it, where the date alone would mislead (``2022年6月``)."""
    title: Text
    text: Text
    passage: Text | None = None
    translation: Text | None = None
    sources: list[Key] = [ARTICLE_KEY]
    notes: list[Key] = []


class Actor(Model):
    id: Key
    name: Text
    alt_name: Text | None = None
    """The name in another language or script (Токаев, Tokayev)."""
    role: Text
    passage: Text
    translation: Text | None = None


class Quote(Model):
    id: Key
    speaker: Key
    """An actor's id."""
    date: PartialDate
    text: Text
    indirect: Flag = False
    """True where the article reports the words rather than quoting them."""
    context: Text | None = None
    passage: Text
    translation: Text | None = None
    sources: list[Key] = [ARTICLE_KEY]


# --- maps -----------------------------------------------------------------------


class Waypoint(Model):
    name: Text
    lat: Latitude
    lon: Longitude
    estimated: Flag = False
    """True where the coordinates are an estimate with no source."""


PLACE_KINDS = ("capital", "city", "oil_field", "gas_field", "oil_terminal", "lng_terminal", "refinery", "port",
               "border_crossing", "compressor_station", "incident_site")
ROUTE_KINDS = ("crude_oil", "oil_products", "gas", "lng_shipping", "tanker", "rail", "road", "power_line", "other")
ROUTE_STATUSES = ("operating", "disrupted", "damaged", "halted", "under_construction", "planned", "cancelled")


class Place(Model):
    id: Key
    name: Text
    alt_name: Text | None = None
    """The name in another language or script, shown in the popup."""
    kind: Literal[PLACE_KINDS]  # type: ignore[valid-type]
    lat: Latitude
    lon: Longitude
    estimated: Flag = False
    label: Flag = True
    """Whether the place is labelled on the printed map."""
    sources: list[Key] = []


class Pipeline(Model):
    """A route: a pipeline, a shipping lane, a railway, a power line."""

    id: Key
    name: Text
    alt_name: Text | None = None
    kind: Literal[ROUTE_KINDS]  # type: ignore[valid-type]
    label: Text | None = None
    """What the route is, in the legend, with ``kind: other`` (a conveyor belt)."""
    status: Literal[ROUTE_STATUSES] = "operating"  # type: ignore[valid-type]
    since: PartialDate | None = None
    """When the status began (disrupted since 2022-03)."""
    until: PartialDate | None = None
    """When the status ended, where it has."""
    status_note: Text | None = None
    """What the source says of the status, in a line (repeated stoppages at the terminal)."""
    waypoints: list[Waypoint] = Field(min_length=2)
    capacity: Text | None = None
    length_km: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    years: Text | None = None
    owners: Text | None = None
    disruptions: list[Text] = []
    """Dated interruptions, one line each."""
    note: Text | None = None
    sources: list[Key] = Field(min_length=1)


class Bounds(Model):
    south: Latitude
    west: Longitude
    north: Latitude
    east: Longitude


class MapSpec(Model):
    id: Key
    title: Text
    caption: Text
    """What to see on the map."""
    alt: Text
    credit: Text
    bounds: Bounds
    highlight: list[Annotated[str, Field(pattern=COUNTRY_PATTERN)]] = []
    """ISO 3166-1 alpha-3 codes of the countries to highlight."""
    places: list[Place] = []
    pipelines: list[Pipeline] = []


# --- notes and sources ----------------------------------------------------------


class Note(Model):
    """Where another source differs from, or adds to, the article."""

    id: Key
    title: Text
    text: Text
    sources: list[Key] = Field(min_length=1)


class Source(Model):
    key: Key
    title: Text
    publisher: Text | None = None
    date: Text | None = None
    url: WebAddress | None = None
    note: Text | None = None


class Brief(Model):
    """The whole brief."""

    meta: Meta
    thesis: Text
    """The bottom line up front."""
    judgments: list[Judgment] = Field(min_length=3, max_length=6)
    sections: list[Section] = Field(min_length=1)
    figures: list[KeyFigure] = []
    charts: list[Chart] = []
    timeline: list[TimelineEvent] = []
    actors: list[Actor] = []
    quotes: list[Quote] = []
    maps: list[MapSpec] = []
    notes: list[Note] = []
    sources: list[Source] = Field(min_length=1)

    def all_claims(self) -> list[Claim]:
        """Return every claim, headline claims first within each section."""
        return [c for s in self.sections for c in (s.headline, *s.claims)]

    def figure(self, key: str) -> KeyFigure:
        """Return the key figure with this id."""
        return next(f for f in self.figures if f.id == key)

    def chart(self, key: str) -> Chart:
        """Return the chart with this id."""
        return next(c for c in self.charts if c.id == key)

    def chart_figure_label(self, chart: Chart, value: float, category: str) -> str | None:
        """Return the display of the key figure a chart value comes from (不足20%), or None when none matches."""
        for key in chart.figures:
            figure = self.figure(key)
            if figure.value == value and (figure.year is None or str(figure.year) == category):
                return figure.display
        return None

    def chart_label(self, chart: Chart, value: float, category: str) -> str:
        """Return how the source writes a chart value: its key figure's display, else the number."""
        return self.chart_figure_label(chart, value, category) or f"{value:g}{chart.unit if chart.unit == '%' else ''}"

    def map(self, key: str) -> MapSpec:
        """Return the map definition with this id."""
        return next(m for m in self.maps if m.id == key)

    def quote(self, key: str) -> Quote:
        """Return the quote with this id."""
        return next(q for q in self.quotes if q.id == key)

    def actor(self, key: str) -> Actor:
        """Return the actor with this id."""
        return next(a for a in self.actors if a.id == key)

    def source(self, key: str) -> Source:
        """Return the source with this key."""
        return next(s for s in self.sources if s.key == key)


# --- cross-references -----------------------------------------------------------

Loc = tuple[str | int, ...]


def _duplicates(items: list, attr: str, where: str) -> list[tuple[Loc, str]]:
    """Return a problem for every item whose ``attr`` repeats an earlier one."""
    seen: set[str] = set()
    problems = []
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            problems.append(((where, i, attr), f"duplicate {attr} {value!r}"))
        seen.add(value)
    return problems


def _unknown(keys: list[str], known: set[str], loc: Loc, what: str) -> list[tuple[Loc, str]]:
    """Return a problem for every key that names no ``what``."""
    return [((*loc, i), f"no {what} with key {k!r} (known: {', '.join(sorted(known)) or 'none'})")
            for i, k in enumerate(keys) if k not in known]


def cross_reference_problems(brief: Brief) -> list[tuple[Loc, str]]:
    """Return ``(location, message)`` for every key that is repeated or names nothing."""
    problems = []
    for where, attr in (("figures", "id"), ("charts", "id"), ("actors", "id"), ("quotes", "id"),
                        ("maps", "id"), ("notes", "id"), ("sources", "key"), ("sections", "id")):
        problems += _duplicates(getattr(brief, where), attr, where)
    claims = {c.id for c in brief.all_claims()}
    sources = {s.key for s in brief.sources}
    notes = {n.id for n in brief.notes}
    tables = {"figures": {f.id for f in brief.figures}, "charts": {c.id for c in brief.charts},
              "maps": {m.id for m in brief.maps}, "quotes": {q.id for q in brief.quotes}}
    seen_claims: set[str] = set()
    for si, section in enumerate(brief.sections):
        for ci, (loc, claim) in enumerate(_section_claims(section, si)):
            if claim.id in seen_claims:
                problems.append(((*loc, "id"), f"duplicate claim id {claim.id!r}"))
            seen_claims.add(claim.id)
            problems += _unknown(claim.notes, notes, (*loc, "notes"), "note")
            for ei, ev in enumerate(claim.evidence):
                problems += _unknown(ev.sources, sources, (*loc, "evidence", ei, "sources"), "source")
        for table, known in tables.items():
            problems += _unknown(getattr(section, table), known, ("sections", si, table), table[:-1])
    for ji, judgment in enumerate(brief.judgments):
        problems += _unknown(judgment.claims, claims, ("judgments", ji, "claims"), "claim")
    for where in ("figures", "charts", "timeline", "quotes", "notes"):
        for i, item in enumerate(getattr(brief, where)):
            problems += _unknown(item.sources, sources, (where, i, "sources"), "source")
    for i, chart in enumerate(brief.charts):
        problems += _unknown(chart.figures, tables["figures"], ("charts", i, "figures"), "figure")
        for si, series in enumerate(chart.series):
            if chart.kind == "stacked_bar" and any(v is not None and v < 0 for v in series.values):
                problems.append((("charts", i, "series", si, "values"),
                                 "a stacked bar shows parts of a whole: values must not be negative "
                                 "(use kind: bar for values below zero)"))
            if len(series.values) != len(chart.categories):
                problems.append((("charts", i, "series", si, "values"),
                                 f"has {len(series.values)} values for {len(chart.categories)} categories"))
    for i, figure in enumerate(brief.figures):
        problems += _range_problems(figure, ("figures", i))
    for i, event in enumerate(brief.timeline):
        problems += _unknown(event.notes, notes, ("timeline", i, "notes"), "note")
    actors = {a.id for a in brief.actors}
    for i, quote in enumerate(brief.quotes):
        if quote.speaker not in actors:
            problems.append((("quotes", i, "speaker"), f"no actor with id {quote.speaker!r}"))
    for mi, spec in enumerate(brief.maps):
        for pi, place in enumerate(spec.places):
            problems += _unknown(place.sources, sources, ("maps", mi, "places", pi, "sources"), "source")
        for pi, line in enumerate(spec.pipelines):
            problems += _unknown(line.sources, sources, ("maps", mi, "pipelines", pi, "sources"), "source")
            problems += _route_problems(line, ("maps", mi, "pipelines", pi))
        # West greater than east is a box across the antimeridian: west: 160, east: -170 spans 30°
        # over the 180° meridian, and its west edge is still left of its east edge on the map.
        if spec.bounds.south >= spec.bounds.north or spec.bounds.west == spec.bounds.east:
            problems.append((("maps", mi, "bounds"), "south must be below north and west left of east"))
        if max(abs(spec.bounds.south), abs(spec.bounds.north)) > 85:
            problems.append((("maps", mi, "bounds"), "web maps stop at 85° north and south: keep south and north "
                                                     "between -85 and 85"))
        from .geo import country_codes

        for ci, code in enumerate(spec.highlight):
            if code not in country_codes():
                problems.append((("maps", mi, "highlight", ci), f"unknown country code {code!r}; highlight takes "
                                                                "ISO 3166-1 alpha-3 codes of the basemap such as KAZ, NOR"))
    return problems


def _range_problems(figure: KeyFigure, loc: Loc) -> list[tuple[Loc, str]]:
    """Return a problem when a figure's ``value_max`` and ``qualifier: range`` do not go together."""
    if figure.qualifier == "range":
        if figure.value is None or figure.value_max is None:
            return [((*loc, "value_max"), "qualifier 'range' needs both value (the lower end) and value_max")]
        if figure.value_max < figure.value:
            return [((*loc, "value_max"), f"is below value ({figure.value:g})")]
    elif figure.value_max is not None:
        return [((*loc, "value_max"), "is only for qualifier 'range'")]
    return []


def _route_problems(line: Pipeline, loc: Loc) -> list[tuple[Loc, str]]:
    """Return problems of a route's label and status dates."""
    problems = []
    if line.kind == "other" and not line.label:
        problems.append(((*loc, "label"), "kind 'other' needs a label saying what the route is"))
    if line.since and line.until and line.until < line.since:
        problems.append(((*loc, "until"), f"is before since ({line.since})"))
    return problems


def _section_claims(section: Section, si: int) -> list[tuple[Loc, Claim]]:
    """Return each claim of a section with its location, the headline first."""
    return [(("sections", si, "headline"), section.headline),
            *((("sections", si, "claims", ci), c) for ci, c in enumerate(section.claims))]
