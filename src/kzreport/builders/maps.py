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

Cache: each PNG and each interactive page is stored under ``$KZREPORT_CACHE_DIR/maps`` (default
``~/.cache/kzreport/maps``, or ``$XDG_CACHE_HOME/kzreport/maps``) keyed by a SHA-256 of what it is
made from (``cache_key``: the map, the theme's map colours and fonts, the words, the target, the code,
the basemap and Leaflet), computed without making the page, so a build whose maps did not change
neither imports Folium nor starts a browser. ``--no-cache`` bypasses it.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from base64 import b64encode
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from pathlib import Path

from . import Builder
from .. import geo, maplayout
from ..errors import BuildError
from ..model import ROUTE_KINDS, ROUTE_STATUSES

@dataclass(frozen=True)
class Target:
    """Where a map is placed and at what size: the page it is drawn in and how its labels are sized.

    One CSS pixel of a rasterized target is about one point where the image is placed, so the font
    sizes below (CSS pixels at size 1, times ``size``) read as points there.
    """

    name: str
    viewport: tuple[int, int]
    """CSS pixels of the page."""
    device_scale: float
    """Device pixels per CSS pixel of the PNG."""
    size: float
    """Factor on every label, line and legend size."""
    width_pt: float
    """Width, in points, at which the image is placed."""

    @property
    def pixels(self) -> tuple[int, int]:
        """Return the PNG's size in device pixels."""
        return round(self.viewport[0] * self.device_scale), round(self.viewport[1] * self.device_scale)

    @property
    def dpi(self) -> float:
        """Return the PNG's resolution where it is placed."""
        return self.pixels[0] / (self.width_pt / 72)

    def points(self, css_px: float) -> float:
        """Return how many points ``css_px`` CSS pixels of the page measure where it is placed."""
        return css_px * self.width_pt / self.viewport[0]


SCREEN = Target("screen", (1440, 810), 1, 1.0, 1440 * 0.75)
"""The interactive map: a browser window (its labels are laid out for this size)."""
PDF = Target("pdf", (482, 271), 4, 0.6, 170 / 25.4 * 72)
"""The PDF's figure: 170 mm wide (an A4 or Letter text column), 1928 × 1084 pixels, 288 dpi; place
labels 7.8 pt, the legend 7.2 pt as printed."""
SLIDE = Target("slide", (864, 334), 3.5, 1.17, 864)
"""The deck's full-width map: the built-in master's map area (12 × 4.64 in: the slide's width within its
margins, under the title and above one row of legend), 3024 × 1169 pixels, 252 dpi; place labels 15.2 pt,
the legend 14 pt as shown. Another master's area of another shape shows it a little smaller."""
TARGETS = {"pdf": PDF, "slide": SLIDE}
"""The rasters each map gets, by the name ``Project.map_image`` takes."""
PNG_NAMES = {"pdf": "{id}.png", "slide": "{id}.slide.png"}
"""Each target's file name under ``maps/`` (map ids have no dots, so the names never clash)."""

RASTER_VIEWPORT = PDF.viewport
RASTER_SCALE = PDF.device_scale
RASTER_VERSION = "kzreport-maps-4"
"""Part of the cache key: change it when the rasterizing changes what a PNG looks like."""
SIMPLIFY_DEVICE_PX = 0.8
"""How far (device pixels of the PNG) a simplified coastline or border may stray from Natural Earth's."""
DETAIL_REFERENCE_SCALE = 2
"""Device pixels per CSS pixel that ``geo.level_for``'s thresholds were set for."""
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


def leaflet_static() -> Path:
    """Return the folder of Leaflet's files in django-js-lib-leaflet; raise BuildError when it is not installed."""
    try:
        static = Path(str(resources.files("js_lib_leaflet"))) / "static" / "js_lib_leaflet"
    except ModuleNotFoundError as error:
        raise _leaflet_missing() from error
    if not (static / "leaflet.js").is_file():
        raise _leaflet_missing()
    return static


def _leaflet_missing() -> BuildError:
    """Return the error of a missing Leaflet, saying what to install."""
    return BuildError("Leaflet is missing: install the PyPI package django-js-lib-leaflet "
                      "(pip install django-js-lib-leaflet)")


@cache
def leaflet_assets() -> tuple[str, str]:
    """Return Leaflet's CSS (images inlined as data: URIs) and JavaScript from django-js-lib-leaflet."""
    static = leaflet_static()
    try:
        css = (static / "leaflet.css").read_text(encoding="utf-8")
        script = (static / "leaflet.js").read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise _leaflet_missing() from error

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
    """How Leaflet's fitBounds shows a map's bounds in a target's page (zoomSnap 0)."""

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
    viewport: tuple[int, int] = SCREEN.viewport
    detail: float = 1.0
    """Device pixels per CSS pixel relative to ``DETAIL_REFERENCE_SCALE``: how fine the basemap is cut."""
    pad: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """CSS pixels on the left, top, right and bottom of the page kept out of the bounds' fit (Leaflet's
    ``paddingTopLeft`` and ``paddingBottomRight``): strips beside the map's content for the furniture."""

    @property
    def crosses_antimeridian(self) -> bool:
        """Return whether the bounds span the 180° meridian."""
        return self.east > 180

    def lon(self, lon: float) -> float:
        """Return a longitude as this map draws it: moved past 180° on a map across the antimeridian."""
        return geo.unwrap_lon(lon, math.degrees(self.x)) if self.crosses_antimeridian else lon

    def pixel(self, lat: float, lon: float) -> tuple[float, float]:
        """Return where (lat, lon) lands in the page, in CSS pixels from its top left corner."""
        return self.mercator_pixel(math.radians(self.lon(lon)), geo.mercator_y(lat))

    def mercator_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Return where a Web Mercator point lands in the page, in CSS pixels."""
        return ((x - self.x) * self.scale + self.viewport[0] / 2,
                (self.y - y) * self.scale + self.viewport[1] / 2)

    def location(self, px: float, py: float) -> tuple[float, float]:
        """Return the (lat, lon) at a pixel of the page (lon as drawn: past 180° across the antimeridian)."""
        x = (px - self.viewport[0] / 2) / self.scale + self.x
        y = self.y - (py - self.viewport[1] / 2) / self.scale
        return geo.latitude(y), math.degrees(x)


def map_view(spec, target: Target = SCREEN, pad: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)) -> View:
    """Return the view of a map's bounds in a target's page, fitted inside strips of ``pad`` CSS pixels
    (left, top, right, bottom), as Leaflet's fitBounds with paddings and zoomSnap 0 fits it."""
    b = spec.bounds
    east = geo.unwrap_east(b.west, b.east)
    x0, x1 = math.radians(b.west), math.radians(east)
    y0, y1 = geo.mercator_y(b.south), geo.mercator_y(b.north)
    viewport = target.viewport
    left, top, right, bottom = pad
    scale = min((viewport[0] - left - right) / (x1 - x0), (viewport[1] - top - bottom) / (y1 - y0))
    # Leaflet moves the map's centre from the bounds' centre by half the difference of the paddings.
    return View(b.west, b.south, east, b.north, scale, (x0 + x1) / 2 + (right - left) / 2 / scale,
                (y0 + y1) / 2 - (bottom - top) / 2 / scale, viewport,
                target.device_scale / DETAIL_REFERENCE_SCALE if target.name != "screen" else 1.0, tuple(pad))


def basemap_box(view: View) -> geo.Box:
    """Return the part of the world the map's basemap covers: a square around the view's centre."""
    half = max(view.viewport) / 2 * VIEW_MARGIN / view.scale
    half_lon = min(math.degrees(half), 360.0)
    center = math.degrees(view.x)
    return (center - half_lon, max(-geo.MAX_LAT, geo.latitude(view.y - half)),
            center + half_lon, min(geo.MAX_LAT, geo.latitude(view.y + half)))


def basemap_areas(spec, target: Target = SCREEN) -> tuple[geo.Area, ...]:
    """Return the countries the map draws, cut to its basemap box at the level and detail its scale needs."""
    return _view_areas(map_view(spec, target))


def _view_areas(view: View) -> tuple[geo.Area, ...]:
    """Return the countries a view draws: 1:50m or 1:110m by its scale, simplified to a fraction of a device pixel."""
    device_scale = view.scale * view.detail * DETAIL_REFERENCE_SCALE
    level = geo.level_for(view.scale * view.detail * math.pi / 180)
    return geo.basemap(basemap_box(view), level, SIMPLIFY_DEVICE_PX / device_scale)


def basemap_geojson(spec, target: Target = SCREEN, view: View | None = None) -> dict:
    """Return the map's basemap as GeoJSON (for ``view``, else the target's unpadded view), each country
    marked whether it is highlighted."""
    features = []
    for area in _view_areas(view or map_view(spec, target)):
        coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in area.polygons]
        features.append({"type": "Feature", "properties": {"highlight": bool(area.code) and area.code in spec.highlight},
                         "geometry": {"type": "MultiPolygon", "coordinates": coordinates}})
    return {"type": "FeatureCollection", "features": features}


# --- sizes ------------------------------------------------------------------------------------------------


COUNTRY_FONT = (15, 19)
"""Font size (CSS pixels at size 1) of a country's name: other countries, highlighted ones."""
PLACE_FONT = 13
"""Font size of a place's label."""
LABEL_LINE = 1.25
"""Line height of labels, in ems: the height of a label's box."""
LEGEND_FONT = (12, 13)
"""Font size of the legend's rows and its title."""
LEGEND_LINE = 1.3
LEGEND_PAD = (6, 8)
"""Padding of the legend box: top and bottom, left and right."""
LEGEND_TITLE_WIDTH = 260
"""Widest line of the legend's title before it wraps."""
SWATCH = (44, 10, 6)
"""A legend row's line sample: width, height, gap before the text."""
CREDIT_FONT = 11
CREDIT_WIDTHS = (0.42, 0.34, 0.27)
"""Widest line of the credit, as a share of the map's width (longer credits wrap): the first, or a
narrower one where that keeps the credit off the map's content."""
LEGEND_TITLE_WRAP = (1.0, 0.75, 0.55)
"""Shares of ``LEGEND_TITLE_WIDTH`` the legend's title may wrap to, to make the legend narrower."""
SCALE_FONT = 12
SCALE_WIDTH = 100
"""Longest scale bar."""
CONTROL_MARGIN = 8
"""Space between the map's edge and the legend, the scale and the credit."""
LABEL_GAP = 3
"""Space between a place's marker and its label."""
MARKER_RADIUS = {"capital": 6.0}
"""Radius of a place's marker by kind (others: ``MARKER_RADIUS_DEFAULT``)."""
MARKER_RADIUS_DEFAULT = 4.5
PLACE_RANK = {"capital": 0, "oil_terminal": 2, "lng_terminal": 2, "port": 2, "border_crossing": 2, "city": 3}
"""Which place labels go first (and are dropped last): capitals, then route ends (rank 1), terminals
and ports, cities, the rest; the source's order within a rank."""


def place_rank(place, route_end: bool) -> int:
    """Return the rank of a place's label (0 first, dropped last): capitals, route ends, then by kind."""
    return 0 if place.kind == "capital" else 1 if route_end else PLACE_RANK.get(place.kind, 4)


def at_route_end(x: float, y: float, ends, size: float) -> bool:
    """Return whether the pixel (x, y) is a route's end (within 3 CSS pixels at size 1)."""
    return any(math.hypot(x - ex, y - ey) <= 3 * size for ex, ey in ends)


ROUTE_GAP = 2.0
"""White space between two parallel routes drawn side by side (CSS pixels at size 1)."""
ROUTE_CASING = 7.0
"""Width (CSS pixels at size 1) of the white casing under a route, which covers what lies beside the line."""


def heading_families(project) -> tuple[str, ...]:
    """Return the families the map's text is set in: the theme's heading stack for the brief's script."""
    return tuple(project.theme.fonts.stack("heading", project.words.language.script))


def letter_spacing(script: str, highlighted: bool) -> float:
    """Return the letter spacing (CSS pixels at size 1) of country names: wider between Han characters."""
    if script == "latin":
        return 1.5 if highlighted else 1.0
    return 4.0 if highlighted else 2.0


# --- the layout of one map in one target -----------------------------------------------------------------


@dataclass(frozen=True)
class Furniture:
    """Where the legend and the scale and credit go, their boxes in the page, and the legend's lines."""

    legend_corner: str
    legend_box: tuple[float, float, float, float]
    legend_size: tuple[float, float]
    title_lines: tuple[str, ...]
    foot_corner: str
    """The corner of the credit, and of the scale unless ``scale_corner`` says otherwise (under the scale in
    a bottom corner, over it in a top one)."""
    scale_box: tuple[float, float, float, float]
    credit_box: tuple[float, float, float, float]
    credit_lines: tuple[str, ...]
    scale_corner: str = ""
    """The scale's own corner, when it is not the credit's (side by side in a strip below the map)."""

    @property
    def boxes(self) -> tuple[tuple[float, float, float, float], ...]:
        """Return the boxes of the legend, the scale and the credit, with their margins."""
        return self.legend_box, self.scale_box, self.credit_box


@dataclass(frozen=True)
class MapLayout:
    """Everything placed on one map in one target, in the page's CSS pixels."""

    target: Target
    view: View
    furniture: Furniture
    routes: tuple[tuple[tuple[float, float], ...], ...]
    """Each route's points (lat, lon as drawn), moved apart where routes run side by side."""
    route_pixels: tuple[tuple[tuple[float, float], ...], ...]
    labels: dict
    """Place id -> ``maplayout.PlacedLabel`` of each labelled place that got its label."""
    dropped: tuple[str, ...]
    """Ids of the places whose labels did not fit, least important last."""
    countries: tuple[tuple[str, float, float, bool], ...]
    """(name, lat, lon, highlighted) of each country named."""
    country_boxes: tuple[tuple[float, float, float, float], ...]
    dropped_countries: tuple[str, ...] = ()
    """Names of the highlighted countries that could not be named anywhere in their visible part."""
    hidden: float = 0.0
    """What the legend, the scale and the credit hide of routes, places and route ends (``_furniture``)."""

    @property
    def faults(self) -> tuple[bool, int, int]:
        """Return what is wrong with the layout, worst first: furniture over content, place labels
        dropped, highlighted countries unnamed."""
        return self.hidden > 0, len(self.dropped), len(self.dropped_countries)


def map_layout(project, spec, target: Target = SCREEN) -> MapLayout:
    """Return the layout of a map in a target: routes side by side, legend and credit in the emptiest
    corners, place labels without collisions (dropped in importance order), then country names.

    When the furniture cannot keep off the content, or place labels or a highlighted country's name find
    no room, the map is also laid out fitted beside strips kept for the furniture, outside the bounds and
    so over no route or place: below it for the scale and the credit, on its right or its left for the
    legend, or both; the layout with the fewest faults is kept (the first tried, of those as good)."""
    layout = _layout_in(project, spec, target, map_view(spec, target))
    if any(layout.faults):
        # The strips: the widest credit's height beside the scale (each in a bottom corner), the narrowest
        # legend's width with its margin.
        low = strip_height(_furniture(project, spec, target, [], [], strip=True)[0][2])
        side = math.ceil(min(w for _, (w, _) in _legend_shapes(project, spec, target)) + CONTROL_MARGIN * target.size)
        tries = [((0, 0, 0, low), True), ((0, 0, side, 0), False), ((side, 0, 0, 0), False),
                 ((0, 0, side, low), True), ((side, 0, 0, low), True)]
        for pad, strip in tries:
            other = _layout_in(project, spec, target, map_view(spec, target, pad), strip=strip)
            if other.faults < layout.faults:
                layout = other
            if not any(layout.faults):
                break
    return layout


def _layout_in(project, spec, target: Target, view: View, strip: bool = False) -> MapLayout:
    """Return the layout of a map in a target's view."""
    size = target.size
    weights = [route_style(line, project.theme.map, size)["weight"] for line in spec.pipelines]
    raw = [[view.pixel(w.lat, w.lon) for w in line.waypoints] for line in spec.pipelines]
    moved = maplayout.offset_parallel(raw, weights, ROUTE_GAP * size)
    routes = tuple(tuple((round(lat, 5), round(lon, 5)) for lat, lon in (view.location(*p) for p in line))
                   if line != original else tuple((w.lat, view.lon(w.lon)) for w in source.waypoints)
                   for line, original, source in zip(moved, raw, spec.pipelines))
    segments = [(a, b) for line in moved for a, b in zip(line, line[1:])]
    points = [view.pixel(p.lat, p.lon) for p in spec.places]
    ends = [view.pixel(w.lat, w.lon) for line in spec.pipelines for w in (line.waypoints[0], line.waypoints[-1])]
    # The furniture that hides nothing and leaves room for the most place labels (then hides the least of
    # the highlighted countries' middles), among the few best arrangements.
    best = None
    for n, (hard, soft, option) in enumerate(_furniture(project, spec, target, points + ends, segments,
                                                        _highlight_points(spec, view, size), strip)):
        placed, lost = _place_labels(project, spec, target, view, points, ends, segments, option)
        key = (hard, len(lost), soft, n)
        if best is None or key < best[0]:
            best = (key, option, placed, lost)
    _, furniture, labels, dropped = best
    fixed = [*_point_boxes(spec, points, ends, size), *furniture.boxes]
    countries, country_boxes, dropped_countries = _country_labels(project, spec, target, view, segments,
                                                                  [*(label.box for label in labels.values()), *fixed])
    if dropped_countries:
        # A highlighted country's name may go first, where a place label other than a capital's or a route
        # end's was (that label moving elsewhere), when that names more highlighted countries and drops no
        # more place labels. The labels are tried one at a time, least important first, then all together.
        key = _key_places(spec, points, ends, size)
        movable = [k for k in reversed(list(labels)) if k not in key]
        for moved_away in [*([k] for k in movable), *([movable] if len(movable) > 1 else [])]:
            first = _country_labels(project, spec, target, view, segments,
                                    [*(label.box for k, label in labels.items() if k not in moved_away), *fixed],
                                    True)
            if len(first[2]) >= len(dropped_countries):
                continue
            again, lost = _place_labels(project, spec, target, view, points, ends, segments, furniture, first[1])
            if len(lost) <= len(dropped):
                rest = _country_labels(project, spec, target, view, segments,
                                       [*(label.box for label in again.values()), *fixed, *first[1]], False)
                labels, dropped = again, lost
                countries, country_boxes, dropped_countries = first[0] + rest[0], first[1] + rest[1], first[2]
                break
    return MapLayout(target, view, furniture, routes, tuple(tuple(line) for line in moved), labels,
                     tuple(dropped), countries, country_boxes, dropped_countries, best[0][0])


def legend_rows(spec, colors, words) -> list[tuple[str, str]]:
    """Return (label, swatch SVG) of each row of the legend: each kind and status of route, the place marker."""
    rows = [(label, swatch_svg(style)) for label, style in legend_entries(spec, colors, words)]
    if spec.places:
        rows.append((words("map_places"), place_swatch_svg(colors)))
    return rows


def _highlight_points(spec, view: View, size: float) -> list[tuple[float, float]]:
    """Return, per highlighted country on the map, the point of its largest visible part where its name
    goes first."""
    inset_x, inset_y = (view.east - view.west) * 0.03, (view.north - view.south) * 0.03
    box = (view.west + inset_x, view.south + inset_y, view.east - inset_x, view.north - inset_y)
    found = []
    for area in _view_areas(view):
        if area.code and area.code in spec.highlight:
            _, rings = _visible_part(area, view, box)
            if rings:
                found.append(geo.inner_point(rings, 2.0 * size)[:2])
    return found


HIGHLIGHT_WEIGHT = 300.0
"""What hiding the middle of a highlighted country's visible part costs a corner block: less than a place
(1000) or a route's length across the block, more than any stretch of bare map."""


FURNITURE_TRIES = 6
"""How many of the arrangements of legend and foot that hide the least are tried with the place labels."""


def _furniture(project, spec, target: Target, points, segments, highlights=(),
               strip: bool = False) -> list[tuple[float, float, Furniture]]:
    """Return the best places for the legend and for the scale with the credit under it, best first, as
    (what they hide of routes, places and route ends; of highlighted countries' middles; the furniture):
    each in a corner of its own, the legend's title and the credit wrapped narrower (and taller) where
    that frees a corner. The first ``FURNITURE_TRIES`` arrangements that hide the least of routes and
    places are returned (at least one).

    With ``strip``, the map is fitted above a strip (``strip_height``): the credit and the scale go side
    by side in its bottom corners, the legend in a top corner."""
    families, s = heading_families(project), target.size
    width, height = target.viewport
    margin = CONTROL_MARGIN * s
    legends = _legend_shapes(project, spec, target)
    credit_font = CREDIT_FONT * s
    scale_h = SCALE_FONT * s * 1.1 + 4 * s
    feet = []
    for share in CREDIT_WIDTHS:
        credit_lines = maplayout.wrap_text(spec.credit, families, credit_font, width * share)
        credit_w = max(maplayout.text_width(line, families, credit_font) for line in credit_lines) + 10 * s
        credit_h = len(credit_lines) * credit_font * LEGEND_LINE + 2 * s
        # The credit at the corner's edge, the scale beside it: each with the margin to the map's edge,
        # the scale also with the margins between the two.
        foot = ((math.ceil(credit_w + margin + 2), math.ceil(credit_h + margin + 1)),
                (math.ceil((SCALE_WIDTH + 14) * s + margin + 2), math.ceil(scale_h + margin + 1)))
        if not feet or foot != feet[-1][1]:
            feet.append((tuple(credit_lines), foot))
    # A point just outside a block would have no room for its label, and a route passing just outside
    # would run its white casing into it: both count as hidden.
    reach = PLACE_FONT * s * LABEL_LINE + LABEL_GAP * s
    casing = ROUTE_CASING / 2 * s

    def hidden(box):
        return maplayout.hidden_content(maplayout.grow(box, casing), points, segments, 1000.0, reach)

    def soft(box):
        return maplayout.hidden_content(box, highlights, [], HIGHLIGHT_WEIGHT)

    viewport = (width, height)

    def foot_boxes(sizes, corner):
        if not strip:
            return maplayout.stacked_boxes(corner, list(sizes), viewport)
        return [maplayout.corner_box(corner, *sizes[0], viewport),
                maplayout.corner_box(_other_bottom(corner), *sizes[1], viewport)]

    arrangements = maplayout.arrange_corners(
        [partial(lambda size, corner: [maplayout.corner_box(corner, *size, viewport)], (w + margin, h + margin))
         for _, (w, h) in legends],
        [partial(foot_boxes, sizes) for _, sizes in (feet[:1] if strip else feet)], hidden,
        *((("topright", "topleft"), ("bottomright", "bottomleft")) if strip else ()))
    options = []
    for legend_corner, li, foot_corner, fi, hard in arrangements:
        if options and (hard > arrangements[0][4] or len(options) == FURNITURE_TRIES):
            break
        (title_lines, (legend_w, legend_h)), (credit_lines, sizes) = legends[li], feet[fi]
        legend_box = maplayout.corner_box(legend_corner, legend_w + margin, legend_h + margin, viewport)
        credit_box, scale_box = foot_boxes(sizes, foot_corner)
        options.append((hard, soft(legend_box) + soft(credit_box) + soft(scale_box),
                        Furniture(legend_corner, legend_box, (legend_w, legend_h), title_lines, foot_corner,
                                  scale_box, credit_box, credit_lines,
                                  _other_bottom(foot_corner) if strip else "")))
    return options


def _legend_shapes(project, spec, target: Target) -> list[tuple[tuple[str, ...], tuple[int, int]]]:
    """Return the legend's shapes, widest first: (its title's lines, its (width, height)) with the title
    wrapped at each of ``LEGEND_TITLE_WRAP``."""
    families, s = heading_families(project), target.size
    title_font, row_font = LEGEND_FONT[1] * s, LEGEND_FONT[0] * s
    rows = [label for label, _ in legend_rows(spec, project.theme.map, project.words)]
    row_w = max(((SWATCH[0] + SWATCH[2]) * s + maplayout.text_width(r, families, row_font) for r in rows), default=0)
    legends = []
    for share in LEGEND_TITLE_WRAP:
        title_lines = maplayout.wrap_text(spec.title, families, title_font, LEGEND_TITLE_WIDTH * s * share, bold=True)
        inner = max([*(maplayout.text_width(t, families, title_font, True) for t in title_lines), row_w])
        legend_w = math.ceil(inner + 2 * LEGEND_PAD[1] * s + 2)
        legend_h = math.ceil(len(title_lines) * title_font * LEGEND_LINE + 3 * s
                             + len(rows) * _row_height(s) + 2 * LEGEND_PAD[0] * s)
        if not legends or (legend_w, legend_h) != legends[-1][1]:
            legends.append((tuple(title_lines), (legend_w, legend_h)))
    return legends


def _other_bottom(corner: str) -> str:
    """Return the other bottom corner."""
    return "bottomleft" if corner == "bottomright" else "bottomright"


def strip_height(furniture: Furniture) -> int:
    """Return the height of a strip below the map that holds the credit and the scale side by side."""
    return math.ceil(max(furniture.credit_box[3] - furniture.credit_box[1],
                         furniture.scale_box[3] - furniture.scale_box[1]))


def _row_height(size: float) -> float:
    """Return the height of a legend row."""
    return max(LEGEND_FONT[0] * LEGEND_LINE, SWATCH[1]) * size


def marker_radius(place) -> float:
    """Return the radius (CSS pixels at size 1) of a place's marker."""
    return MARKER_RADIUS.get(place.kind, MARKER_RADIUS_DEFAULT)


def _point_boxes(spec, points, ends, size: float) -> list[tuple[float, float, float, float]]:
    """Return the boxes of the place markers (with their outline) and of the route ends."""
    boxes = [maplayout.grow((x, y, x, y), (marker_radius(p) + 1) * size) for p, (x, y) in zip(spec.places, points)]
    boxes += [maplayout.grow((x, y, x, y), 3 * size) for x, y in ends]
    return boxes


def label_width(text: str, families, font: float, size: float) -> float:
    """Return the width of a place label's box: its bold text and a pixel each side at size 1."""
    return maplayout.text_width(text, families, font, bold=True) + 2 * size


WRAP_FROM = 6.5
"""A place's name wider than this many ems may be set on two lines (a name of four Han characters never is)."""


def label_lines(text: str, families, font: float, size: float) -> tuple[str, str] | None:
    """Return a place's name on two lines when it is long and that makes its label much narrower, or None."""
    if label_width(text, families, font, size) <= WRAP_FROM * font:
        return None
    lines = maplayout.two_lines(text, lambda part: label_width(part, families, font, size))
    if lines is None or max(label_width(line, families, font, size) for line in lines) > 0.7 * label_width(
            text, families, font, size):
        return None
    return lines


def _place_labels(project, spec, target, view, points, ends, segments, furniture, extra=()):
    """Return (place id -> PlacedLabel, ids dropped) of the labelled places, kept off the markers, the route
    ends, the furniture and the ``extra`` boxes."""
    families, s = heading_families(project), target.size
    font = PLACE_FONT * s
    requests = []
    for index, (place, (x, y)) in enumerate(zip(spec.places, points)):
        if not place.label:
            continue
        rank = place_rank(place, at_route_end(x, y, ends, s))
        width = label_width(place.name, families, font, s)
        lines = label_lines(place.name, families, font, s)
        wrapped = (max(label_width(line, families, font, s) for line in lines), 2 * font * LABEL_LINE) if lines else None
        requests.append((rank, index, maplayout.LabelRequest(place.id, x, y, width, font * LABEL_LINE,
                                                             (marker_radius(place) + LABEL_GAP) * s, wrapped)))
    requests.sort(key=lambda r: r[:2])
    obstacles = [*_point_boxes(spec, points, ends, s), *furniture.boxes, *extra]
    frame = (2 * s, 2 * s, target.viewport[0] - 2 * s, target.viewport[1] - 2 * s)
    placed, dropped = maplayout.place_labels([r[2] for r in requests], obstacles, frame, segments, pad=1.5 * s)
    return {label.key: label for label in placed}, dropped


LABEL_MIN_RADIUS = (9.0, 3.0)
"""How far (CSS pixels at size 1) a label's point must lie inside a country's visible part: other
countries, highlighted ones. Smaller countries stay unnamed rather than get a label that covers their
neighbours."""
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
                                              for x, y in clipped], 0.7 * view.viewport[0] / 1000))
        if not rings or len(rings[0]) < 3:
            continue
        size = abs(geo.ring_area(rings[0])) - sum(abs(geo.ring_area(r)) for r in rings[1:])
        if size > best[0]:
            best = (size, rings)
    return best


def country_box(name: str, px: float, py: float, highlighted: bool, families, script: str, size: float):
    """Return the pixel box (left, top, right, bottom) a centred country label covers."""
    font = COUNTRY_FONT[highlighted] * size
    half_w = maplayout.text_width(name, families, font, highlighted, letter_spacing(script, highlighted) * size) / 2 + 2 * size
    half_h = font * LABEL_LINE / 2
    return px - half_w, py - half_h, px + half_w, py + half_h


def country_labels(project, spec, target: Target = SCREEN) -> list[tuple[str, float, float, bool]]:
    """Return (name, lat, lon, highlighted) of the countries named on a map, in the brief's language."""
    return list(map_layout(project, spec, target).countries)


def _key_places(spec, points, ends, size: float) -> set[str]:
    """Return the ids of the places whose labels come first: capitals and route ends."""
    return {place.id for place, (x, y) in zip(spec.places, points) if place_rank(place, at_route_end(x, y, ends, size)) <= 1}


def _country_labels(project, spec, target, view, segments, taken, which: bool | None = None):
    """Return ((name, lat, lon, highlighted), ...), their boxes and the names of the highlighted countries
    left unnamed: the countries to name.

    Each label goes at the point of the country's largest visible part farthest from its edges,
    highlighted and larger countries first; a label that would overlap a place, its label, the legend,
    the scale, the credit or a label already placed, or be crossed by a route, moves within the
    country (a highlighted country's anywhere in its visible part, nearest that point first), or is
    left out. ``which`` limits the countries to the highlighted ones (True) or the others (False).
    """
    families, script, s = heading_families(project), project.words.language.script, target.size
    inset_x, inset_y = (view.east - view.west) * 0.03, (view.north - view.south) * 0.03
    box = (view.west + inset_x, view.south + inset_y, view.east - inset_x, view.north - inset_y)
    highlight = frozenset(spec.highlight)
    candidates = []
    for area in _view_areas(view):
        name = geo.country_name(area.code, area.name, project.source.meta.language)
        if not name:
            continue
        size, rings = _visible_part(area, view, box)
        if not rings:
            continue
        highlighted = bool(area.code) and area.code in highlight
        if which is not None and highlighted != which:
            continue
        px, py, depth = geo.inner_point(rings, 2.0 * s)
        if depth >= LABEL_MIN_RADIUS[highlighted] * s:
            candidates.append((not highlighted, -size, name, px, py, highlighted, rings))
    placed = list(taken)
    frame = (0, 0, *view.viewport)
    labels, boxes, unnamed = [], [], []
    for _, _, name, px, py, highlighted, rings in sorted(candidates, key=lambda c: c[:3]):
        first = country_box(name, px, py, highlighted, families, script, s)
        width, height = first[2] - first[0], first[3] - first[1]
        spots = [(px + fx * width, py + fy * height) for fx, fy in LABEL_NUDGES]
        if highlighted:
            spots += _spread_spots(rings, px, py, width, height)
        for k, at in enumerate(spots):
            if k and not geo.contains(rings, *at):
                continue
            label = country_box(name, *at, highlighted, families, script, s)
            # A route passing beside the name still covers its letters with its white casing: keep that clear too.
            clear = maplayout.grow(label, ROUTE_CASING / 2 * s)
            # Leaflet puts the label at a whole pixel: keep a pixel's room around it.
            if (maplayout.inside(label, frame) and not any(maplayout.overlaps(maplayout.grow(label, 1.0), o)
                                                          for o in placed)
                    and not any(maplayout.segment_crosses(clear, a, b) for a, b in segments)):
                placed.append(label)
                boxes.append(label)
                lat, lon = view.location(*at)
                labels.append((name, round(lat, 5), round(lon, 5), highlighted))
                break
        else:
            if highlighted:
                unnamed.append(name)
    return tuple(labels), tuple(boxes), tuple(unnamed)


def _spread_spots(rings, px: float, py: float, width: float, height: float) -> list[tuple[float, float]]:
    """Return points over a country's visible part, a quarter of a label's width and half its height apart,
    nearest (px, py) first (ties in grid order): where else a highlighted country's name may go."""
    xs, ys = [x for x, _ in rings[0]], [y for _, y in rings[0]]
    step_x, step_y = max(width / 4, 1.0), max(height / 2, 1.0)
    spots = []
    for row in range(int((max(ys) - min(ys)) / step_y) + 1):
        for column in range(int((max(xs) - min(xs)) / step_x) + 1):
            at = (min(xs) + column * step_x, min(ys) + row * step_y)
            if geo.contains(rings, *at):
                spots.append((math.hypot(at[0] - px, at[1] - py), row, column, at))
    return [spot[3] for spot in sorted(spots)[:COUNTRY_SPOTS]]


COUNTRY_SPOTS = 400
"""Most positions tried for a highlighted country's name beyond ``LABEL_NUDGES``."""


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


def legend_html(spec, colors, words, title_lines: tuple[str, ...] | None = None) -> str:
    """Return the legend's HTML: the map's title (in the lines given, else one), a line per kind and
    status of route, the place marker."""
    lines = title_lines or (spec.title,)
    rows = [f'<div class="kz-legend-title{" kz-legend-title-last" if i == len(lines) - 1 else ""}">'
            f'{html_text(line)}</div>' for i, line in enumerate(lines)]
    rows += [f'<div class="kz-legend-row">{swatch}<span>{html_text(label)}</span></div>'
             for label, swatch in legend_rows(spec, colors, words)]
    return "".join(rows)


def _sources_line(brief, keys: list[str], words) -> str:
    """Return the popup's sources line: each key with its source's title."""
    known = {s.key: s for s in brief.sources}
    items = [words("labelled", label=k, text=known[k].title) if k in known else k for k in keys]
    return html_text(words("labelled", label=words("sources"), text=words.series(items)))


def route_status_text(pipeline, words) -> str:
    """Return a route's status as the source gives it: the status, then its dates (disrupted, March 2022 –
    August 2022), never in parentheses of their own, so that a legend can put the whole in one pair."""
    status = words(f"status_{pipeline.status}")
    dates = words.date_range(pipeline.since, pipeline.until)
    return words("status_dated", status=status, dates=dates) if dates else status


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


def map_css(theme, script: str, size: float, furniture: Furniture | None = None) -> str:
    """Return the page's CSS: water, labels, legend, scale and credit; sizes multiplied by ``size``.

    Every size the layout measured (fonts, line heights, paddings, margins, the legend's width) is set
    here, so the boxes the browser draws are the boxes ``map_layout`` placed.
    """
    colors = theme.map
    halo = ", ".join(f"{x * size:g}px {y * size:g}px 0 #FFFFFF" for x, y in
                     ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, -1.5), (0, 1.5), (-1.5, 0), (1.5, 0)))

    def px(value: float) -> str:
        return f"{value * size:g}px"

    legend_width = f"width: {furniture.legend_size[0]}px; box-sizing: border-box;" if furniture else ""
    return f"""
.leaflet-container {{ background: {colors.water}; font-family: {font_family(theme, script)}; }}
.kz-country {{ background: none; border: none; }}
.kz-country span {{ position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font-size: {px(COUNTRY_FONT[0])}; line-height: {LABEL_LINE}; letter-spacing: {px(letter_spacing(script, False))};
  color: {colors.border}; font-weight: 400; }}
.kz-country.kz-highlight span {{ color: {colors.label}; font-size: {px(COUNTRY_FONT[1])}; font-weight: 700;
  letter-spacing: {px(letter_spacing(script, True))}; }}
.kz-place {{ background: none; border: none; }}
.kz-label {{ position: absolute; white-space: nowrap; color: {colors.label}; font-size: {px(PLACE_FONT)};
  line-height: {LABEL_LINE}; font-weight: 700; text-shadow: {halo}; }}
.leaflet-tooltip.kz-place-label {{ background: none; border: none; box-shadow: none; padding: 0 {px(3)};
  color: {colors.label}; font-size: {px(PLACE_FONT)}; font-weight: 700; text-shadow: {halo}; }}
.leaflet-tooltip.kz-place-label::before {{ display: none; }}
.leaflet-container .leaflet-control {{ margin: {px(CONTROL_MARGIN)}; }}
.kz-legend {{ background: rgba(255, 255, 255, 0.92); padding: {px(LEGEND_PAD[0])} {px(LEGEND_PAD[1])};
  border-radius: {px(3)}; box-shadow: 0 0 {px(4)} rgba(0, 0, 0, 0.25); color: {colors.label};
  font-size: {px(LEGEND_FONT[0])}; line-height: {LEGEND_LINE}; {legend_width} }}
.kz-legend-title {{ font-weight: 700; font-size: {px(LEGEND_FONT[1])}; white-space: nowrap; }}
.kz-legend-title-last {{ margin-bottom: {px(3)}; }}
.kz-legend-row {{ display: flex; align-items: center; gap: {px(SWATCH[2])}; height: {_row_height(size):g}px;
  white-space: nowrap; }}
.kz-swatch {{ width: {px(SWATCH[0])}; height: {px(SWATCH[1])}; flex: none; }}
.leaflet-container .leaflet-control-scale-line {{ font-size: {px(SCALE_FONT)}; line-height: 1.1;
  padding: {px(1)} {px(5)}; border-width: {px(2)}; border-top: none; }}
.leaflet-container .leaflet-control-attribution {{ font-size: {px(CREDIT_FONT)}; line-height: {LEGEND_LINE};
  padding: {px(1)} {px(5)}; white-space: nowrap; }}
.kz-popup {{ font-size: 13px; line-height: 1.5; }}
"""


PRINT_CSS = ".leaflet-control-zoom { display: none; }"
"""Extra CSS of the printed map: no zoom buttons on paper."""


def _ready_script() -> str:
    """Return the script that fits the bounds, places the credit, scale and legend and tells the
    rasterizer the map is drawn."""
    return ("{parent}.fitBounds({bounds}, {{animate: false, paddingTopLeft: {top_left},"
            " paddingBottomRight: {bottom_right}}});\n"
            "{parent}.attributionControl.setPrefix(false);\n"
            "{parent}.attributionControl.setPosition({foot});\n"
            "{parent}.attributionControl.addAttribution({credit});\n"
            "L.control.scale({{imperial: false, maxWidth: {scale_width}, position: {scale_corner}}}).addTo({parent});\n"
            "var kzLegend = L.control({{position: {corner}}});\n"
            "kzLegend.onAdd = function () {{ var box = L.DomUtil.create('div', 'kz-legend'); "
            "box.innerHTML = {legend}; return box; }};\n"
            "kzLegend.addTo({parent});\n"
            "window.kzreportMap = {parent};\n"
            "window.kzreportBounds = {bounds};\n"
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


def label_style(label, x: float, y: float) -> str:
    """Return the CSS placing a label's box relative to its point: anchored on the side nearest the
    point, so text a little narrower than measured still starts (or ends) where the layout put it."""
    left, top, right, _ = label.box
    width = right - left
    if label.side in ("w", "nw", "sw"):
        return f"right: {x - right:.2f}px; top: {top - y:.2f}px; text-align: right;"
    if label.side in ("n", "s"):
        return f"left: {left - x:.2f}px; width: {width:.2f}px; top: {top - y:.2f}px; text-align: center;"
    return f"left: {left - x:.2f}px; top: {top - y:.2f}px;"


def render_map_html(project, spec, target: Target = SCREEN, layout: MapLayout | None = None) -> str:
    """Return the self-contained HTML page of one map laid out for a target (the interactive map by default)."""
    folium, RawHtml, OfflineMap, Script = _elements()
    layout = layout or map_layout(project, spec, target)
    size, view, furniture = target.size, layout.view, layout.furniture
    colors, words = project.theme.map, project.words
    tag, script_name = project.source.meta.language, words.language.script
    fmap = OfflineMap(location=[geo.latitude(view.y), math.degrees(view.x)], zoom_start=4, tiles=None,
                      control_scale=False, zoom_snap=0, zoom_delta=0.5, prefer_canvas=False,
                      attribution_control=True)
    figure = fmap.get_root()
    figure.title = html_text(spec.title)
    css, script = leaflet_assets()
    figure.header.add_child(RawHtml(f"<style>{css}</style>"), name="leaflet_css")
    figure.header.add_child(RawHtml(f"<script>{script}</script>"), name="leaflet_js")
    page_css = map_css(project.theme, script_name, size, furniture) + (PRINT_CSS if target is not SCREEN else "")
    figure.header.add_child(RawHtml(f'<meta name="description" content="{html_text(spec.alt)}">'
                                    f"<style>{page_css}</style>"), name="kz_css")

    fmap.add_child(Script("Basemap",
                          "L.geoJSON({data}, {{interactive: false, style: function (f) {{"
                          " return f.properties.highlight ? {highlight} : {land}; }}}}).addTo({parent});",
                          data=basemap_geojson(spec, target, view),
                          land={"color": colors.border, "weight": 0.8 * size, "fillColor": colors.land,
                                "fillOpacity": 1},
                          highlight={"color": colors.border, "weight": 1.2 * size, "fillColor": colors.highlight,
                                     "fillOpacity": 1}))
    for name, lat, lon, highlighted in layout.countries:
        # The icon goes in the marker's options: Folium's Marker sets it afterwards, by which time
        # Leaflet has asked for its default marker images.
        icon = {"html": f"<span>{html_text(name)}</span>", "iconSize": [0, 0],
                "className": "kz-country kz-highlight" if highlighted else "kz-country"}
        fmap.add_child(Script("CountryLabel", "L.marker({at}, {{icon: L.divIcon({icon}), interactive: false,"
                                              " keyboard: false}}).addTo({parent});", at=[lat, lon], icon=icon))

    for pipeline, points in zip(spec.pipelines, layout.routes):
        points = [list(p) for p in points]
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

    for place in spec.places:
        marker = folium.CircleMarker([place.lat, view.lon(place.lon)], radius=marker_radius(place) * size,
                                     color=colors.label, weight=2 * size, fill=True, fill_color="#FFFFFF",
                                     fill_opacity=1)
        marker.add_to(fmap)
        bind_popup(Script, marker, place_popup(project.source, place, words))
    for place in spec.places:
        label = layout.labels.get(place.id)
        if label is None:
            continue
        x, y = view.pixel(place.lat, place.lon)
        lines = label_lines(place.name, heading_families(project), PLACE_FONT * size, size) if label.wrapped else None
        text = "<br>".join(html_text(line) for line in lines) if lines else html_text(place.name)
        icon = {"html": f'<div class="kz-label" data-place="{html_text(place.id)}" style="{label_style(label, x, y)}">'
                        f"{text}</div>", "iconSize": [0, 0], "className": "kz-place"}
        fmap.add_child(Script("PlaceLabel", "L.marker({at}, {{icon: L.divIcon({icon}), interactive: false,"
                                            " keyboard: false}}).addTo({parent});",
                              at=[place.lat, view.lon(place.lon)], icon=icon))

    fmap.add_child(Script("Ready", _ready_script(),
                          bounds=[[view.south, view.west], [view.north, view.east]],
                          top_left=list(view.pad[:2]), bottom_right=list(view.pad[2:]),
                          credit="<br>".join(html_text(line) for line in furniture.credit_lines),
                          legend=legend_html(spec, colors, words, furniture.title_lines),
                          scale_width=round(SCALE_WIDTH * size), foot=furniture.foot_corner,
                          scale_corner=furniture.scale_corner or furniture.foot_corner,
                          corner=furniture.legend_corner))
    _stabilise_ids(figure)
    page = figure.render()
    # Leaflet's CSS and Folium's header carry no language: tell the browser which language the labels are in.
    return page.replace("<html>", f'<html lang="{html_text(tag)}">', 1)


# --- cache --------------------------------------------------------------------------
#
# A map's key is computed from what its page is made from, not from the page itself: making the page
# takes Folium (0.36 s to import) and the label layout, and a warm build needs neither.

PAGE_MODULES = ("builders/maps.py", "maplayout.py", "geo.py", "rasterize.py", "i18n.py", "templating.py")
"""kzreport's modules whose code decides what a map's page and its raster look like (paths in the
package): their text is part of the key, so that a changed checkout never serves an old map."""
PAGE_PACKAGES = ("folium", "branca", "jinja2", "pycountry", "babel", "playwright")
"""Installed packages whose version is part of the key: they write the page (Folium, branca, Jinja2),
its country names (pycountry), its dates and numbers (Babel) and drive the browser (Playwright). The
browser itself is left out, as before, so that maps drawn earlier serve a build on a machine without one."""
HTML_ENTRY = b"kzreport-map-page\n"
"""Start of a cached interactive page: this tag, the SHA-256 of the page, a newline, the page."""


def cache_key(project, spec, target: Target = PDF) -> str:
    """Return the cache key (hex SHA-256) of a map's page for a target, from everything the page and its
    raster are made from: the map, the theme's map colours and fonts (and the font files the labels are
    measured with), the words and language, the target, the code and the basemap and Leaflet assets."""
    from ..cache import software_identity
    from ..fonts import family_identities

    families = heading_families(project)
    words = project.words
    inputs = {
        "raster": RASTER_VERSION,
        "target": [target.name, list(target.viewport), target.device_scale, target.size, target.width_pt],
        "map": spec.model_dump_json(),
        "colours": project.theme.map.model_dump_json(),
        "families": list(families),
        "faces": family_identities(families),
        "language": project.source.meta.language,
        "words": [words.language.tag, words.language.locale, words.language.script, words.messages],
        "sources": cited_sources(project.source, spec),
        "software": software_identity(PAGE_MODULES, PAGE_PACKAGES),
        "assets": assets_digest(),
    }
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cited_sources(brief, spec) -> dict[str, str | None]:
    """Return key -> title (None when unknown) of every source the map's popups name."""
    known = {s.key: s.title for s in brief.sources}
    keys = [k for item in (*spec.pipelines, *spec.places) for k in (item.sources or ())]
    return {key: known.get(key) for key in keys}


@cache
def assets_digest() -> str:
    """Return a digest of the content of the basemap's files and of Leaflet's (read once per process)."""
    from ..cache import files_digest
    from ..resources import assets_dir

    static = leaflet_static()
    files = sorted((assets_dir() / "geodata").glob("*.json"))
    files += [static / "leaflet.css", static / "leaflet.js", *sorted((static / "images").glob("*.png"))]
    return files_digest(files)


def read_cache(key: str) -> bytes | None:
    """Return the cached PNG for ``key``, or None; an entry that is not a whole PNG is dropped so that
    the map is drawn again (a corrupt cache is never the brief's fault)."""
    from ..cache import drop_cached, read_cached

    data = read_cached("maps", f"{key}.png")
    if data is None or png_is_whole(data):
        return data
    drop_cached("maps", f"{key}.png")
    return None


def png_is_whole(data: bytes) -> bool:
    """Return True when ``data`` is a PNG whose chunks are all present and checksummed right, from a
    header of at most the slide's size to the end chunk.

    The chunks' CRC-32s catch a flipped byte or a cut anywhere, without decoding the image (decoding the
    slide's raster took 0.13 s of every warm build).
    """
    import zlib

    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    at, first = 8, True
    while at + 12 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        end = at + 12 + length
        if end > len(data) or zlib.crc32(kind + body) != int.from_bytes(data[end - 4:end], "big"):
            return False
        if first and (kind != b"IHDR" or not _size_fits(body)):
            return False
        if kind == b"IEND":
            return end == len(data)
        at, first = end, False
    return False


def _size_fits(header: bytes) -> bool:
    """Return whether a PNG header's width and height are between 1 and the slide raster's side."""
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    return len(header) == 13 and 1 <= min(width, height) and max(width, height) <= max(SLIDE.pixels)


def write_cache(key: str, png: bytes) -> None:
    """Store a PNG in the cache (atomically; a cache that cannot be written is skipped)."""
    from ..cache import write_cached

    write_cached("maps", f"{key}.png", png)


def interactive_page(project, spec) -> bytes:
    """Return the interactive page of a map (UTF-8): cached under its key, else made with Folium and cached."""
    key = cache_key(project, spec, SCREEN)
    page = read_page(key) if project.options.use_cache else None
    if page is None:
        page = render_map_html(project, spec).encode("utf-8")
        write_page(key, page)
    return page


def read_page(key: str) -> bytes | None:
    """Return the cached interactive page for ``key``, or None; an entry whose digest does not match its
    page is dropped, so that the page is made again."""
    from ..cache import drop_cached, read_cached

    data = read_cached("maps", f"{key}.html")
    if data is None:
        return None
    digest, _, page = data[len(HTML_ENTRY):].partition(b"\n")
    if data.startswith(HTML_ENTRY) and digest == _digest(page):
        return page
    drop_cached("maps", f"{key}.html")
    return None


def write_page(key: str, page: bytes) -> None:
    """Store an interactive page with its digest (atomically; a cache that cannot be written is skipped)."""
    from ..cache import write_cached

    write_cached("maps", f"{key}.html", HTML_ENTRY + _digest(page) + b"\n" + page)


def _digest(data: bytes) -> bytes:
    """Return the hex SHA-256 of ``data``, as ASCII bytes."""
    return hashlib.sha256(data).hexdigest().encode("ascii")


def print_html(project, spec, target: Target = PDF) -> str:
    """Return the HTML the rasterizer draws for a target: the map at the target's size, no zoom buttons."""
    return render_map_html(project, spec, target)


def png_name(map_id: str, target: str = "pdf") -> str:
    """Return the file name, under ``maps/``, of a map's raster for a target."""
    return PNG_NAMES[target].format(id=map_id)


def cached_png(project, map_id: str, target: str = "pdf") -> bytes | None:
    """Return the cached PNG of a map of the project for a target (neither Folium nor a browser needed),
    or None when not cached."""
    if not project.options.use_cache or target not in TARGETS:
        return None
    spec = next((m for m in project.source.maps if m.id == map_id), None)
    if spec is None:
        return None
    return read_cache(cache_key(project, spec, TARGETS[target]))


# --- checks -------------------------------------------------------------------------


def check_maps(project) -> None:
    """Raise a located InputError for each map that would draw nothing useful (``geo.map_problems``)."""
    from ..errors import InputError

    problems = []
    for mi, spec in enumerate(project.source.maps):
        for loc, message in geo.map_problems(spec):
            problems += project.problem(("maps", mi, *loc), message).problems
    if problems:
        raise InputError(problems)


# --- the builder --------------------------------------------------------------------


class MapsBuilder(Builder):
    """Writes ``maps/<id>.html`` (interactive, offline), ``maps/<id>.png`` (the PDF's figure) and
    ``maps/<id>.slide.png`` (the deck's full-width map)."""

    name = "maps"
    feeds_others = True
    finish_stage = "rasterize"

    def __init__(self) -> None:
        self.pending: list[tuple[object, str, Target, str, str]] = []  # (project, map id, target, HTML, cache key)

    def build(self, project, reporter) -> None:
        """Take every map's interactive page and PNGs from the cache; make the pages that are missing (only
        then is Folium imported) and queue their PNGs for ``finish``."""
        for spec in project.source.maps:
            project.add_output(project.output_path("maps", f"{spec.id}.html"), interactive_page(project, spec))
            for name, target in TARGETS.items():
                # The layout is only made when asked for (--verbose) or needed to draw the page.
                layout = _report_labels(reporter, spec, partial(map_layout, project, spec, target))
                key = cache_key(project, spec, target)
                cached = read_cache(key) if project.options.use_cache else None
                if cached is not None:
                    project.add_output(project.output_path("maps", png_name(spec.id, name)), cached)
                else:
                    printed = render_map_html(project, spec, target, layout)
                    self.pending.append((project, spec.id, target, printed, key))

    def finish(self, reporter) -> None:
        """Rasterize every queued map of every project in one browser, and cache the PNGs."""
        from ..rasterize import rasterize_maps

        if not self.pending:
            return
        queued, self.pending = self.pending, []
        pages = {f"{n}-{map_id}-{target.name}": printed for n, (_, map_id, target, printed, _) in enumerate(queued)}
        sizes = {f"{n}-{map_id}-{target.name}": (target.viewport, target.device_scale)
                 for n, (_, map_id, target, _, _) in enumerate(queued)}
        images = rasterize_maps(pages, PDF.viewport, PDF.device_scale, sizes=sizes)
        for n, (project, map_id, target, _, key) in enumerate(queued):
            png = images[f"{n}-{map_id}-{target.name}"]
            project.add_output(project.output_path("maps", png_name(map_id, target.name)), png)
            write_cache(key, png)


def _report_labels(reporter, spec, make_layout) -> MapLayout | None:
    """Report, with --verbose, how many place labels a map's target placed and which it dropped; return
    the layout made for the report (None without --verbose)."""
    if getattr(reporter, "verbosity", 0) <= 1:
        return None
    layout = make_layout()
    names = {p.id: p.name for p in spec.places}
    dropped = f"; dropped: {', '.join(names[key] for key in layout.dropped)}" if layout.dropped else ""
    if layout.dropped_countries:
        dropped += f"; highlighted countries unnamed: {', '.join(layout.dropped_countries)}"
    font = layout.target.points(PLACE_FONT * layout.target.size)
    reporter.info(f"map {spec.id} ({layout.target.name}): {len(layout.labels)} place labels at {font:.1f} pt"
                  f"{dropped}")
    return layout
