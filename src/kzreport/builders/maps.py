"""Pipeline maps: a Folium (Leaflet) map per map definition, saved as offline HTML and as PNG.

Steps for each ``maps`` entry of the source: build a Folium map with no tiles (the basemap is
Natural Earth's countries, cut to the map's view by ``kzreport.geo`` from the world basemap in
``assets/geodata/``, made by ``scripts/make_basemap.py``), styled from the theme's ``map``
colours; add ``maps/<id>.html``; then draw the print version of the same map in headless
Chromium (``kzreport.rasterize``) and add ``maps/<id>.png``.

Words: every word the map writes (legend, popups, country names) is in the brief's language:
interface words from the message catalog (``project.words``), country names from pycountry
(``kzreport.geo.country_name``). The page's ``lang`` is the brief's language and its fonts
the theme's heading stack for that language's script.

Routes: one colour per route kind (theme ``map``), the status drawn as a dash pattern
(``ROUTE_LINES``) so the kind's colour stays visible. ``route_style``, ``route_swatch_svg``,
``route_legend_label`` and ``legend_entries`` are shared with the PDF and the deck, so a
legend reads and looks the same everywhere.

Bounds across the antimeridian are written with ``west`` greater than ``east``
(``west: 160, east: -170`` spans 30° over the 180° meridian); the map then draws longitudes
east of 180° as 180°–360° (``kzreport.geo.unwrap_lon``).

Offline: Leaflet is inlined from the PyPI package ``django-js-lib-leaflet`` (its images as
data: URIs); Folium's CDN links (Leaflet, jQuery, Bootstrap, Font Awesome) are dropped.

Escaping: every string from the source goes through ``html_text`` (HTML-escaped, and the
characters a JavaScript template literal treats specially turned into entities) and reaches
the page's script only inside JSON written by ``js_value`` (``<``, ``>``, ``&`` and ``'`` as
``\\uXXXX``), never inside a template literal: Folium's own ``Tooltip`` and ``Popup`` put their
text into template literals (and ``Popup`` needs jQuery), so this module uses its own. Font
names reach the CSS as CSS strings (``templating.css_string``).

Reproducible: Folium gives every element a random id; ``_stabilise_ids`` renames them in
tree order, so the same source gives the same HTML bytes.

Cache: a PNG is stored under ``$KZREPORT_CACHE_DIR/maps`` (default ``~/.cache/kzreport/maps``,
or ``$XDG_CACHE_HOME/kzreport/maps``) keyed by the SHA-256 of the print HTML and the raster
options, so a build whose maps did not change starts no browser. ``--no-cache`` bypasses it.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import tempfile
import unicodedata
from base64 import b64encode
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from . import Builder
from .. import geo
from ..errors import BuildError
from ..model import ROUTE_KINDS, ROUTE_STATUSES

RASTER_VIEWPORT = (1440, 810)
"""CSS pixels of the printed map: 16:9, the shape of a slide's content area."""
RASTER_SCALE = 2
"""Device pixels per CSS pixel: 2880 × 1620 PNGs, 430 dpi across a 170 mm A4 figure."""
PRINT_SIZE = 1.6
"""Labels, lines and legend grow by this factor in the printed map so that they read at print size."""
RASTER_VERSION = "kzreport-maps-2"
"""Part of the cache key: change it when the rasterizing changes what a PNG looks like."""
SIMPLIFY_PX = 0.4
"""How far (CSS pixels of the printed map) a simplified coastline or border may stray from Natural Earth's."""
VIEW_MARGIN = 1.3
"""The basemap covers a square this many times the printed map's half-width around its centre:
room for the interactive map's window shape and some panning, with clipped edges out of sight."""

ROUTE_WEIGHT = 4.0
"""Line width (CSS pixels at size 1) of an operating route."""
ROUTE_LINES: dict[str, tuple[tuple[float, ...], float, float]] = {
    "operating": ((), 1.0, 1.0),
    "disrupted": ((10, 10), 1.0, 1.0),
    "damaged": ((10, 8, 0.1, 8), 1.0, 1.0),
    "halted": ((3, 9), 1.0, 1.0),
    "under_construction": ((10, 8, 0.1, 8, 0.1, 8), 1.0, 1.0),
    "planned": ((0.1, 7), 0.8, 0.9),
    "cancelled": ((0.1, 7), 0.6, 0.5),
}
"""Per status: dash pattern (CSS pixels at size 1, drawn with round caps, so each dash grows by the
line's width and a 0.1 dash is a dot), width factor and opacity. Solid, long dashes, dash-dot,
short dashes, dash-dot-dot; thinner dots for planned and faded ones for cancelled."""
# --- escaping ---------------------------------------------------------------------


def html_text(text: object) -> str:
    """Return ``text`` safe as HTML text and attribute values, and inert inside a JS template literal."""
    escaped = html.escape(str(text), quote=True)
    return escaped.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def js_value(value: object) -> str:
    """Return ``value`` as a JavaScript literal that cannot end a ``<script>`` or a string early."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# --- offline resources ------------------------------------------------------------


@cache
def leaflet_assets() -> tuple[str, str]:
    """Return Leaflet's CSS (images inlined as data: URIs) and JavaScript from django-js-lib-leaflet."""
    try:
        static = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        css = (static / "leaflet.css").read_text(encoding="utf-8")
        script = (static / "leaflet.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise BuildError("Leaflet is missing: install the PyPI package django-js-lib-leaflet "
                         "(pip install django-js-lib-leaflet)") from error

    def inline(match: re.Match) -> str:
        data = (static / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{b64encode(data).decode('ascii')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    # The source map comment would make browsers' developer tools fetch a file that is not there.
    script = re.sub(r"//# sourceMappingURL=\S+\s*$", "", script)
    if "</script" in script.lower() or "</style" in css.lower():
        raise BuildError("the installed Leaflet cannot be inlined: it contains a closing tag")
    return css, script


# --- where things land on the printed map --------------------------------------------------


@dataclass(frozen=True)
class View:
    """How Leaflet's fitBounds shows a map's bounds in the printed map (zoomSnap 0)."""

    west: float
    south: float
    east: float
    """The east edge as drawn: past 180 for bounds across the antimeridian."""
    north: float
    scale: float
    """CSS pixels per Web Mercator radian."""
    x: float
    y: float
    """The centre, in Web Mercator radians."""

    @property
    def crosses_antimeridian(self) -> bool:
        """Return whether the bounds span the 180° meridian."""
        return self.east > 180

    def lon(self, lon: float) -> float:
        """Return a longitude as this map draws it: moved past 180° on a map across the antimeridian."""
        return geo.unwrap_lon(lon, math.degrees(self.x)) if self.crosses_antimeridian else lon

    def pixel(self, lat: float, lon: float) -> tuple[float, float]:
        """Return where (lat, lon) lands in the printed map, in CSS pixels from its top left corner."""
        return self.mercator_pixel(math.radians(self.lon(lon)), geo.mercator_y(lat))

    def mercator_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Return where a Web Mercator point lands in the printed map, in CSS pixels."""
        return ((x - self.x) * self.scale + RASTER_VIEWPORT[0] / 2,
                (self.y - y) * self.scale + RASTER_VIEWPORT[1] / 2)

    def location(self, px: float, py: float) -> tuple[float, float]:
        """Return the (lat, lon) at a pixel of the printed map."""
        x = (px - RASTER_VIEWPORT[0] / 2) / self.scale + self.x
        y = self.y - (py - RASTER_VIEWPORT[1] / 2) / self.scale
        return geo.latitude(y), math.degrees(x)


def map_view(spec, viewport: tuple[int, int] = RASTER_VIEWPORT) -> View:
    """Return the printed view of a map's bounds."""
    b = spec.bounds
    east = geo.unwrap_east(b.west, b.east)
    x0, x1 = math.radians(b.west), math.radians(east)
    y0, y1 = geo.mercator_y(b.south), geo.mercator_y(b.north)
    scale = min(viewport[0] / (x1 - x0), viewport[1] / (y1 - y0))
    return View(b.west, b.south, east, b.north, scale, (x0 + x1) / 2, (y0 + y1) / 2)


def basemap_box(view: View) -> geo.Box:
    """Return the part of the world the map's basemap covers: a square around the printed view's centre."""
    half = max(RASTER_VIEWPORT) / 2 * VIEW_MARGIN / view.scale
    half_lon = min(math.degrees(half), 360.0)
    center = math.degrees(view.x)
    return (center - half_lon, max(-geo.MAX_LAT, geo.latitude(view.y - half)),
            center + half_lon, min(geo.MAX_LAT, geo.latitude(view.y + half)))


def basemap_areas(spec) -> tuple[geo.Area, ...]:
    """Return the countries the map draws, cut to its basemap box at the level and detail its scale needs."""
    return _view_areas(map_view(spec))


def _view_areas(view: View) -> tuple[geo.Area, ...]:
    """Return the countries a view draws: 1:50m or 1:110m by its scale, simplified to a fraction of a pixel."""
    level = geo.level_for(view.scale * math.pi / 180)
    return geo.basemap(basemap_box(view), level, SIMPLIFY_PX / view.scale)


def basemap_geojson(spec) -> dict:
    """Return the map's basemap as GeoJSON, each country marked whether it is highlighted."""
    features = []
    for area in basemap_areas(spec):
        coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in area.polygons]
        features.append({"type": "Feature", "properties": {"highlight": bool(area.code) and area.code in spec.highlight},
                         "geometry": {"type": "MultiPolygon", "coordinates": coordinates}})
    return {"type": "FeatureCollection", "features": features}


# --- labels -----------------------------------------------------------------------------------


COUNTRY_FONT = (15, 19)
"""Font size (CSS pixels at size 1) of a country's name: other countries, highlighted ones."""
PLACE_FONT = 13
"""Font size of a place's label."""


def text_width(text: str, font_px: float, spacing_px: float = 0.0) -> float:
    """Return about how wide ``text`` sets, in pixels: Han characters a full em, others about 0.62 em."""
    ems = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text)
    return ems * font_px + len(text) * spacing_px


def letter_spacing(script: str, highlighted: bool) -> float:
    """Return the letter spacing (CSS pixels at size 1) of country names: wider between Han characters."""
    if script == "latin":
        return 1.5 if highlighted else 1.0
    return 4.0 if highlighted else 2.0


def _label_box(name: str, px: float, py: float, highlighted: bool, script: str) -> tuple[float, ...]:
    """Return the pixel box (left, top, right, bottom) a centred country label covers in the printed map."""
    font = COUNTRY_FONT[highlighted]
    half_w = text_width(name, font, letter_spacing(script, highlighted)) * PRINT_SIZE / 2 + 6
    half_h = font * 0.75 * PRINT_SIZE
    return px - half_w, py - half_h, px + half_w, py + half_h


def place_label_sides(spec) -> dict[str, str]:
    """Return, per place id, the side its label goes: right, or left where it would leave the map."""
    view = map_view(spec)
    return {place.id: _label_side(view, place.name, place.lat, place.lon) for place in spec.places}


def _label_side(view: View, name: str, lat: float, lon: float) -> str:
    """Return the side a place's label goes: right, or left where it would leave the printed map."""
    px, _ = view.pixel(lat, lon)
    return "left" if px + (text_width(name, PLACE_FONT) + 14) * PRINT_SIZE > RASTER_VIEWPORT[0] else "right"


def _place_boxes(view: View, places: tuple) -> list[tuple[float, ...]]:
    """Return the pixel boxes the places' markers and labels, (id, name, lat, lon, labelled), cover."""
    boxes = []
    for _, name, lat, lon, labelled in places:
        px, py = view.pixel(lat, lon)
        width = (text_width(name, PLACE_FONT) + 14) * PRINT_SIZE if labelled else 8 * PRINT_SIZE
        half_h = 10 * PRINT_SIZE
        if _label_side(view, name, lat, lon) == "left":
            left, right = px - width, px + 8 * PRINT_SIZE
        else:
            left, right = px - 8 * PRINT_SIZE, px + width
        boxes.append((left, py - half_h, right, py + half_h))
    return boxes


LABEL_MIN_RADIUS = (9.0, 3.0)
"""How far (CSS pixels at size 1, so times PRINT_SIZE on the printed map) a label's point must lie
inside a country's visible part: other countries, highlighted ones. Smaller countries stay unnamed
rather than get a label that covers their neighbours."""
LABEL_NUDGES = [(0, 0), (0, -1.2), (0, 1.2), (0.35, 0), (-0.35, 0), (0.35, -1.2), (-0.35, -1.2),
                (0.35, 1.2), (-0.35, 1.2), (0, -2.4), (0, 2.4), (0.7, 0), (-0.7, 0), (0.7, -1.2),
                (-0.7, -1.2), (0.7, 1.2), (-0.7, 1.2), (0.35, -2.4), (-0.35, -2.4), (0.35, 2.4), (-0.35, 2.4)]
"""Where to try a country label that collides: fractions of the label's width and height from its point."""


def _visible_part(area: geo.Area, view: View, box: geo.Box) -> tuple[float, list]:
    """Return the pixel area and pixel rings of the largest part of a country inside ``box``."""
    best: tuple[float, list] = (0.0, [])
    for polygon in area.polygons:
        rings = []
        for ring in polygon:
            clipped = geo.clip_ring(list(ring[:-1]), box)
            if len(clipped) >= 3:
                # A coarser outline is enough to find a label's point, and much quicker.
                rings.append(geo.simplify_xy([view.mercator_pixel(math.radians(x), geo.mercator_y(y))
                                              for x, y in clipped], 2.0))
        if not rings or len(rings[0]) < 3:
            continue
        size = abs(geo.ring_area(rings[0])) - sum(abs(geo.ring_area(r)) for r in rings[1:])
        if size > best[0]:
            best = (size, rings)
    return best


def _overlaps(box: tuple[float, ...], others: list[tuple[float, ...]]) -> bool:
    """Return whether a pixel box overlaps any of ``others``."""
    return any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in others)


def country_labels(spec, words) -> list[tuple[str, float, float, bool]]:
    """Return (name, lat, lon, highlighted) of the countries to name, in the brief's language.

    Each label goes at the point of the country's largest visible part farthest from its edges,
    highlighted and larger countries first; a label that would overlap a place, the legend, the
    scale, the credit or a label already placed, or be crossed by a route, moves within the
    country, or is left out.
    """
    view = map_view(spec)
    places = tuple((p.id, p.name, p.lat, p.lon, p.label) for p in spec.places)
    routes = tuple(tuple((w.lat, w.lon) for w in line.waypoints) for line in spec.pipelines)
    return list(_country_labels(view, frozenset(spec.highlight), words.language.tag, words.language.script,
                                places, routes, _control_boxes(spec, words)))


def _control_boxes(spec, words) -> tuple[tuple[float, ...], ...]:
    """Return about where the legend (top right), the scale (bottom left) and the credit (bottom right)
    cover the printed map, in pixels."""
    width, height = RASTER_VIEWPORT
    rows = [route_legend_label(p, words) for p in spec.pipelines] + ([words("map_places")] if spec.places else [])
    legend_w = max([min(text_width(spec.title, 13), 260), *(50 + text_width(r, 12) for r in rows)]) + 20
    title_lines = max(1, math.ceil(text_width(spec.title, 13) / 260))
    legend_h = 13 * 1.45 * title_lines + 4 + 12 * 1.45 * len(set(rows)) + 16
    credit_w = text_width(spec.credit, 10) + 10
    return ((width - (legend_w + 10) * PRINT_SIZE, 0, width, (legend_h + 10) * PRINT_SIZE),
            (0, height - 30 * PRINT_SIZE, 175 * PRINT_SIZE, height),
            (width - credit_w * PRINT_SIZE, height - 18 * PRINT_SIZE, width, height))


def _crosses(box: tuple[float, ...], a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Return whether the segment a-b passes through a pixel box (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = a, b
    low, high = 0.0, 1.0
    for p, q in ((x0 - x1, x0 - box[0]), (x1 - x0, box[2] - x0), (y0 - y1, y0 - box[1]), (y1 - y0, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


@lru_cache(maxsize=32)
def _country_labels(view: View, highlight: frozenset, tag: str, script: str, places: tuple, routes: tuple,
                    controls: tuple) -> tuple[tuple[str, float, float, bool], ...]:
    """Return ``country_labels`` of a view (cached: the screen and the print version share them)."""
    inset_x, inset_y = (view.east - view.west) * 0.03, (view.north - view.south) * 0.03
    box = (view.west + inset_x, view.south + inset_y, view.east - inset_x, view.north - inset_y)
    candidates = []
    for area in _view_areas(view):
        name = geo.country_name(area.code, area.name, tag)
        if not name:
            continue
        size, rings = _visible_part(area, view, box)
        if not rings:
            continue
        highlighted = bool(area.code) and area.code in highlight
        px, py, depth = geo.inner_point(rings, 2.0)
        if depth >= LABEL_MIN_RADIUS[highlighted] * PRINT_SIZE:
            candidates.append((not highlighted, -size, name, px, py, highlighted, rings))
    placed = _place_boxes(view, places) + list(controls)
    segments = [(view.pixel(*a), view.pixel(*b)) for route in routes for a, b in zip(route, route[1:])]
    labels = []
    for _, _, name, px, py, highlighted, rings in sorted(candidates, key=lambda c: c[:3]):
        first = _label_box(name, px, py, highlighted, script)
        width, height = first[2] - first[0], first[3] - first[1]
        for fx, fy in LABEL_NUDGES:
            at = (px + fx * width, py + fy * height)
            if (fx or fy) and not geo.contains(rings, *at):
                continue
            label = _label_box(name, *at, highlighted, script)
            if not _overlaps(label, placed) and not any(_crosses(label, a, b) for a, b in segments):
                placed.append(label)
                lat, lon = view.location(*at)
                labels.append((name, round(lat, 4), round(lon, 4), highlighted))
                break
    return tuple(labels)


# --- Folium elements that keep source text out of template literals -------------------


def _elements():
    """Return the Folium/branca element classes this module defines (imported lazily: Folium is slow)."""
    import folium
    from branca.element import Element, MacroElement
    from folium.template import Template

    class RawHtml(Element):
        """Markup written as is (inlined Leaflet and the map's CSS), never parsed as a template."""

        def __init__(self, markup: str):
            super().__init__()
            self._name = "RawHtml"
            self.markup = markup

        def render(self, **kwargs) -> str:
            return self.markup

    class OfflineMap(folium.Map):
        """A Folium map that loads nothing: Leaflet is inlined in the page's head."""

        default_js: list = []
        default_css: list = []

    class Script(MacroElement):
        """A script whose values come from ``js_value``; ``{parent}`` names the element it is attached to."""

        _template = Template("{% macro script(this, kwargs) %}{{ this.code() }}{% endmacro %}")

        def __init__(self, name: str, code: str, **values: object):
            super().__init__()
            self._name = name
            self._code = code
            self._values = values

        def code(self) -> str:
            values = {k: js_value(v) for k, v in self._values.items()}
            return self._code.format(parent=self._parent.get_name(), **values) + "\n"

    return folium, RawHtml, OfflineMap, Script


def bind_tooltip(script_cls, layer, html_content: str, **options: object):
    """Attach a tooltip whose HTML (already escaped) reaches Leaflet as a JSON string."""
    layer.add_child(script_cls("Tooltip", "{parent}.bindTooltip({content}, {options});",
                               content=html_content, options=options))


def bind_popup(script_cls, layer, html_content: str):
    """Attach a popup whose HTML (already escaped) reaches Leaflet as a JSON string."""
    layer.add_child(script_cls("Popup", "{parent}.bindPopup({content}, {options});",
                               content=html_content, options={"maxWidth": 420}))



# --- what the map says ------------------------------------------------------------


def route_style(pipeline, colors, size: float = 1.0) -> dict:
    """Return the Leaflet path options of a route: the colour of its kind, the dash pattern of its status.

    Keys: ``color``, ``weight``, ``opacity``, ``lineCap``, ``lineJoin``, ``interactive`` and,
    for any status but operating, ``dashArray`` (pixels, drawn with round caps).
    """
    dashes, width, opacity = ROUTE_LINES[pipeline.status]
    style = {"color": getattr(colors, pipeline.kind), "weight": round(ROUTE_WEIGHT * width * size, 3),
             "opacity": opacity, "lineCap": "round", "lineJoin": "round", "interactive": True}
    if dashes:
        style["dashArray"] = " ".join(f"{d * size:g}" for d in dashes)
    return style


def swatch_svg(style: dict, width: int = 44, height: int = 10) -> str:
    """Return an inline SVG line drawn with a ``route_style``, for legends."""
    dash = f' stroke-dasharray="{style["dashArray"]}"' if "dashArray" in style else ""
    y = height / 2
    return (f'<svg class="kz-swatch" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-hidden="true">'
            f'<line x1="{y:g}" y1="{y:g}" x2="{width - y:g}" y2="{y:g}" stroke="{style["color"]}" '
            f'stroke-width="{style["weight"]:g}" stroke-opacity="{style["opacity"]:g}" '
            f'stroke-linecap="round"{dash}/></svg>')


def route_swatch_svg(pipeline, colors, width: int = 44, height: int = 10) -> str:
    """Return an inline SVG of a route's line (its kind's colour, its status's dashes), for legends."""
    return swatch_svg(route_style(pipeline, colors), width, height)


def route_kind_label(pipeline, words) -> str:
    """Return what a route is, in the brief's language: its kind's word, or its own label with kind 'other'."""
    if pipeline.kind == "other" and pipeline.label:
        return pipeline.label
    return words(f"route_{pipeline.kind}")


def route_legend_label(pipeline, words) -> str:
    """Return a route's legend entry: its kind, and its status unless operating (Gas pipeline (damaged))."""
    kind = route_kind_label(pipeline, words)
    if pipeline.status == "operating":
        return kind
    return words("parenthetical", text=kind, aside=words(f"status_{pipeline.status}"))


def legend_entries(spec, colors, words) -> list[tuple[str, dict]]:
    """Return (legend label, ``route_style``) of each kind and status of route the map shows, in a fixed order."""
    entries: dict[tuple, tuple[str, dict]] = {}
    for pipeline in spec.pipelines:
        other = (pipeline.label or "") if pipeline.kind == "other" else ""
        key = (ROUTE_KINDS.index(pipeline.kind), other, ROUTE_STATUSES.index(pipeline.status))
        entries.setdefault(key, (route_legend_label(pipeline, words), route_style(pipeline, colors)))
    return [entries[key] for key in sorted(entries)]


def place_swatch_svg(colors, width: int = 44, height: int = 10) -> str:
    """Return an inline SVG of a place's marker, for legends."""
    return (f'<svg class="kz-swatch" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-hidden="true"><circle cx="{width / 2:g}" cy="{height / 2:g}" '
            f'r="{height / 2 - 1:g}" fill="#FFFFFF" stroke="{colors.label}" stroke-width="2"/></svg>')


def legend_html(spec, colors, words) -> str:
    """Return the legend's HTML: the map's title, a line per kind and status of route, the place marker."""
    rows = [f'<div class="kz-legend-title">{html_text(spec.title)}</div>']
    rows += [f'<div class="kz-legend-row">{swatch_svg(style)}<span>{html_text(label)}</span></div>'
             for label, style in legend_entries(spec, colors, words)]
    if spec.places:
        rows.append(f'<div class="kz-legend-row">{place_swatch_svg(colors)}<span>{html_text(words("map_places"))}</span></div>')
    return "".join(rows)


def _sources_line(brief, keys: list[str], words) -> str:
    """Return the popup's sources line: each key with its source's title."""
    known = {s.key: s for s in brief.sources}
    items = [words("labelled", label=k, text=known[k].title) if k in known else k for k in keys]
    return html_text(words("labelled", label=words("sources"), text=words.series(items)))


def route_status_text(pipeline, words) -> str:
    """Return a route's status as the source gives it: the status, with its dates (disrupted (March 2022 – August 2022))."""
    status = words(f"status_{pipeline.status}")
    dates = words.date_range(pipeline.since, pipeline.until)
    return words("parenthetical", text=status, aside=dates) if dates else status


def pipeline_popup(brief, pipeline, words) -> str:
    """Return the popup HTML of a route: names, kind, status and dates, figures, disruptions, sources."""
    parts = [f"<b>{html_text(pipeline.name)}</b>"]
    if pipeline.alt_name:
        parts.append(f"<i>{html_text(pipeline.alt_name)}</i>")
    parts.append(f"{html_text(route_kind_label(pipeline, words))} · {html_text(route_status_text(pipeline, words))}")
    if pipeline.status_note:
        parts.append(html_text(pipeline.status_note))
    length = words("length_km", km=words.number(pipeline.length_km)) if pipeline.length_km else None
    for key, value in (("popup_capacity", pipeline.capacity), ("popup_length", length),
                       ("popup_years", pipeline.years), ("popup_owners", pipeline.owners)):
        if value:
            parts.append(html_text(words("labelled", label=words(key), text=value)))
    if pipeline.disruptions:
        parts.append(html_text(words("labelled", label=words("popup_disruptions"), text="").rstrip()) + "<br>"
                     + "<br>".join(f"· {html_text(d)}" for d in pipeline.disruptions))
    if pipeline.note:
        parts.append(html_text(pipeline.note))
    estimated = [w.name for w in pipeline.waypoints if w.estimated]
    if estimated:
        parts.append(html_text(words("popup_estimated", names=words.join(list(dict.fromkeys(estimated))))))
    parts.append(_sources_line(brief, pipeline.sources, words))
    return '<div class="kz-popup">' + "<br>".join(parts) + "</div>"


def place_popup(brief, place, words) -> str:
    """Return the popup HTML of a place: names, kind (and whether its position is estimated), sources."""
    parts = [f"<b>{html_text(place.name)}</b>"]
    if place.alt_name:
        parts.append(f"<i>{html_text(place.alt_name)}</i>")
    parts.append(html_text(words(f"place_{place.kind}") + (words("position_estimated") if place.estimated else "")))
    if place.sources:
        parts.append(_sources_line(brief, place.sources, words))
    return '<div class="kz-popup">' + "<br>".join(parts) + "</div>"


def font_family(theme, script: str) -> str:
    """Return the CSS font-family of the map's text: the theme's heading stack for the script, as CSS strings."""
    from ..templating import css_string

    return ", ".join(str(css_string(family)) for family in theme.fonts.stack("heading", script)) + ", sans-serif"


def map_css(theme, script: str, size: float) -> str:
    """Return the page's CSS: water, labels, legend; sizes multiplied by ``size``."""
    colors = theme.map
    halo = ", ".join(f"{x * size:g}px {y * size:g}px 0 #FFFFFF" for x, y in
                     ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, -1.5), (0, 1.5), (-1.5, 0), (1.5, 0)))

    def px(value: float) -> str:
        return f"{value * size:g}px"

    return f"""
.leaflet-container {{ background: {colors.water}; font-family: {font_family(theme, script)}; }}
.kz-country {{ background: none; border: none; }}
.kz-country span {{ position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font-size: {px(COUNTRY_FONT[0])}; letter-spacing: {px(letter_spacing(script, False))}; color: {colors.border};
  font-weight: 500; }}
.kz-country.kz-highlight span {{ color: {colors.label}; font-size: {px(COUNTRY_FONT[1])}; font-weight: 700;
  letter-spacing: {px(letter_spacing(script, True))}; }}
.leaflet-tooltip.kz-place-label {{ background: none; border: none; box-shadow: none; padding: 0 {px(3)};
  color: {colors.label}; font-size: {px(PLACE_FONT)}; font-weight: 700; text-shadow: {halo}; }}
.leaflet-tooltip.kz-place-label::before {{ display: none; }}
.kz-legend {{ background: rgba(255, 255, 255, 0.92); padding: {px(8)} {px(10)}; border-radius: {px(3)};
  box-shadow: 0 0 {px(4)} rgba(0, 0, 0, 0.25); color: {colors.label}; font-size: {px(12)}; line-height: 1.45; }}
.kz-legend-title {{ font-weight: 700; font-size: {px(13)}; margin-bottom: {px(4)}; max-width: {px(260)}; }}
.kz-legend-row {{ display: flex; align-items: center; gap: {px(6)}; }}
.kz-swatch {{ width: {px(44)}; height: {px(10)}; flex: none; }}
.leaflet-control-scale-line {{ font-size: {px(11)}; border-width: {px(2)}; border-top: none; }}
.leaflet-control-attribution {{ font-size: {px(10)}; }}
.kz-popup {{ font-size: 13px; line-height: 1.5; }}
"""


PRINT_CSS = ".leaflet-control-zoom { display: none; }"
"""Extra CSS of the printed map: no zoom buttons on paper."""


def _ready_script() -> str:
    """Return the script that fits the bounds, sets the credit and tells the rasterizer the map is drawn."""
    return ("{parent}.fitBounds({bounds}, {{animate: false}});\n"
            "{parent}.attributionControl.setPrefix(false);\n"
            "{parent}.attributionControl.addAttribution({credit});\n"
            "L.control.scale({{imperial: false, maxWidth: {scale_width}}}).addTo({parent});\n"
            "var kzLegend = L.control({{position: 'topright'}});\n"
            "kzLegend.onAdd = function () {{ var box = L.DomUtil.create('div', 'kz-legend'); "
            "box.innerHTML = {legend}; return box; }};\n"
            "kzLegend.addTo({parent});\n"
            "window.kzreportMap = {parent};\n"
            # Drawn means: Leaflet has laid out the view, the fonts are loaded and two frames have been
            # painted since (the first frame lays out, the second paints the labels).
            "{parent}.whenReady(function () {{ document.fonts.ready.then(function () {{"
            " requestAnimationFrame(function () {{ requestAnimationFrame(function () {{"
            " window.kzreportReady = true; }}); }}); }}); }});")



def _stabilise_ids(root) -> None:
    """Give every element of the tree an id from its position, replacing Folium's random ones."""
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop(0)
        counter += 1
        element._id = f"{counter:04d}"
        stack.extend(element._children.values())
        for extra in ("header", "html", "script"):
            child = getattr(element, extra, None)
            if child is not None and hasattr(child, "_children") and child is not element:
                stack.append(child)




def render_map_html(project, spec, size: float = 1.0, print_version: bool = False) -> str:
    """Return the self-contained HTML page of one map; ``size`` scales labels, lines and legend."""
    folium, RawHtml, OfflineMap, Script = _elements()
    colors, words = project.theme.map, project.words
    tag, script_name = project.source.meta.language, words.language.script
    view = map_view(spec)
    fmap = OfflineMap(location=[geo.latitude(view.y), math.degrees(view.x)], zoom_start=4, tiles=None,
                      control_scale=False, zoom_snap=0, zoom_delta=0.5, prefer_canvas=False,
                      attribution_control=True)
    figure = fmap.get_root()
    figure.title = html_text(spec.title)
    css, script = leaflet_assets()
    figure.header.add_child(RawHtml(f"<style>{css}</style>"), name="leaflet_css")
    figure.header.add_child(RawHtml(f"<script>{script}</script>"), name="leaflet_js")
    page_css = map_css(project.theme, script_name, size) + (PRINT_CSS if print_version else "")
    figure.header.add_child(RawHtml(f'<meta name="description" content="{html_text(spec.alt)}">'
                                    f"<style>{page_css}</style>"), name="kz_css")

    fmap.add_child(Script("Basemap",
                          "L.geoJSON({data}, {{interactive: false, style: function (f) {{"
                          " return f.properties.highlight ? {highlight} : {land}; }}}}).addTo({parent});",
                          data=basemap_geojson(spec),
                          land={"color": colors.border, "weight": 0.8 * size, "fillColor": colors.land,
                                "fillOpacity": 1},
                          highlight={"color": colors.border, "weight": 1.2 * size, "fillColor": colors.highlight,
                                     "fillOpacity": 1}))
    for name, lat, lon, highlighted in country_labels(spec, words):
        # The icon goes in the marker's options: Folium's Marker sets it afterwards, by which time
        # Leaflet has asked for its default marker images.
        icon = {"html": f"<span>{html_text(name)}</span>", "iconSize": [0, 0],
                "className": "kz-country kz-highlight" if highlighted else "kz-country"}
        fmap.add_child(Script("CountryLabel", "L.marker({at}, {{icon: L.divIcon({icon}), interactive: false,"
                                              " keyboard: false}}).addTo({parent});", at=[lat, lon], icon=icon))

    for pipeline in spec.pipelines:
        points = [[w.lat, view.lon(w.lon)] for w in pipeline.waypoints]
        style = route_style(pipeline, colors, size)
        # A casing under each route keeps it readable over borders and other routes.
        folium.PolyLine(points, color=colors.casing, weight=style["weight"] + 3 * size,
                        opacity=0.9 * style["opacity"], line_cap="round", line_join="round",
                        interactive=False).add_to(fmap)
        line = folium.PolyLine(points, **{k: v for k, v in style.items() if k not in ("lineCap", "lineJoin")},
                               line_cap="round", line_join="round")
        line.add_to(fmap)
        tooltip = f"<b>{html_text(pipeline.name)}</b>"
        if pipeline.alt_name:
            tooltip += f"<br>{html_text(pipeline.alt_name)}"
        bind_tooltip(Script, line, tooltip, sticky=True)
        bind_popup(Script, line, pipeline_popup(project.source, pipeline, words))

    sides = place_label_sides(spec)
    for place in spec.places:
        radius = (6 if place.kind == "capital" else 4.5) * size
        marker = folium.CircleMarker([place.lat, view.lon(place.lon)], radius=radius, color=colors.label,
                                     weight=2 * size, fill=True, fill_color="#FFFFFF", fill_opacity=1)
        marker.add_to(fmap)
        if place.label:
            side = sides[place.id]
            bind_tooltip(Script, marker, html_text(place.name), permanent=True, direction=side,
                         className="kz-place-label", offset=[(4 if side == "right" else -4) * size, 0],
                         interactive=False)
        bind_popup(Script, marker, place_popup(project.source, place, words))

    fmap.add_child(Script("Ready", _ready_script(),
                          bounds=[[view.south, view.west], [view.north, view.east]], credit=html_text(spec.credit),
                          legend=legend_html(spec, colors, words), scale_width=round(160 * size)))
    _stabilise_ids(figure)
    page = figure.render()
    # Leaflet's CSS and Folium's header carry no language: tell the browser which language the labels are in.
    return page.replace("<html>", f'<html lang="{html_text(tag)}">', 1)


# --- cache --------------------------------------------------------------------------


def cache_dir() -> Path:
    """Return the folder of cached map PNGs: $KZREPORT_CACHE_DIR/maps, else the user's cache folder."""
    root = os.environ.get("KZREPORT_CACHE_DIR", "").strip()
    if root:
        return Path(root).expanduser() / "maps"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kzreport" / "maps"


def cache_key(print_html: str) -> str:
    """Return the cache key of a printed map: SHA-256 of its HTML and the raster options."""
    options = f"{RASTER_VERSION}\n{RASTER_VIEWPORT[0]}x{RASTER_VIEWPORT[1]}@{RASTER_SCALE}\n"
    return hashlib.sha256(options.encode() + print_html.encode("utf-8")).hexdigest()


def read_cache(key: str) -> bytes | None:
    """Return the cached PNG for ``key``, or None."""
    try:
        data = (cache_dir() / f"{key}.png").read_bytes()
    except OSError:
        return None
    return data if data.startswith(b"\x89PNG\r\n\x1a\n") else None


def write_cache(key: str, png: bytes) -> None:
    """Store a PNG in the cache atomically; a cache that cannot be written is skipped."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".png")
        with os.fdopen(fd, "wb") as handle:
            handle.write(png)
        os.replace(temp, folder / f"{key}.png")
    except OSError:
        return


def print_html(project, spec) -> str:
    """Return the HTML the rasterizer draws: the map with print sizes and no zoom buttons."""
    return render_map_html(project, spec, size=PRINT_SIZE, print_version=True)


def cached_png(project, map_id: str) -> bytes | None:
    """Return the cached PNG of a map of the project (no browser needed), or None when not cached."""
    if not project.options.use_cache:
        return None
    spec = next((m for m in project.source.maps if m.id == map_id), None)
    if spec is None:
        return None
    return read_cache(cache_key(print_html(project, spec)))


# --- the builder --------------------------------------------------------------------


class MapsBuilder(Builder):
    """Writes ``maps/<id>.html`` (interactive, offline) and ``maps/<id>.png`` (for print and slides)."""

    name = "maps"
    feeds_others = True
    finish_stage = "rasterize"

    def __init__(self) -> None:
        self.pending: list[tuple[object, str, str, str]] = []  # (project, map id, print HTML, cache key)

    def build(self, project, reporter) -> None:
        """Render every map's HTML and take its PNG from the cache; queue the others for ``finish``."""
        for spec in project.source.maps:
            page = render_map_html(project, spec)
            project.add_output(project.output_path("maps", f"{spec.id}.html"), page.encode("utf-8"))
            printed = print_html(project, spec)
            key = cache_key(printed)
            cached = read_cache(key) if project.options.use_cache else None
            if cached is not None:
                project.add_output(project.output_path("maps", f"{spec.id}.png"), cached)
            else:
                self.pending.append((project, spec.id, printed, key))

    def finish(self, reporter) -> None:
        """Rasterize every queued map of every project in one browser, and cache the PNGs."""
        from ..rasterize import rasterize_maps

        if not self.pending:
            return
        queued, self.pending = self.pending, []
        pages = {f"{n}-{map_id}": printed for n, (_, map_id, printed, _) in enumerate(queued)}
        images = rasterize_maps(pages, RASTER_VIEWPORT, RASTER_SCALE)
        for n, (project, map_id, _, key) in enumerate(queued):
            png = images[f"{n}-{map_id}"]
            project.add_output(project.output_path("maps", f"{map_id}.png"), png)
            write_cache(key, png)
