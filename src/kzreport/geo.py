"""The world basemap of the maps: Natural Earth countries cut to a map's view, and their names.

The assets (``assets/geodata/world-50m.json``, ``world-110m.json``, ``countries.json``) are made
by ``scripts/make_basemap.py`` from the npm package ``world-atlas``: the whole world as
TopoJSON-like arcs (quantized, delta-encoded, shared borders stored once). For each map,
``basemap`` decodes them once per process and returns the countries clipped to the map's view:

- arcs are simplified once each (Douglas-Peucker in Web Mercator, to a fraction of a pixel at
  the map's scale), so neighbouring countries keep one identical border;
- an arc whose box lies outside the view is cut to its two ends: its simplified form stays
  inside that box, so what the view shows cannot change, and far-away coastlines cost nothing;
- rings are made continuous across the 180° meridian (Chukotka runs on to 190°E) and clipped
  to the view and its copies 360° east and west, so a map across the antimeridian draws both sides;
- coordinates are rounded to what the scale can show. Same inputs, same output.

Country names come from maintained datasets: ISO 3166-1 names and their Chinese translations
from pycountry (gettext catalogs ``iso3166-1``), English map labels from pycountry or Natural
Earth, whichever reads as a label (see ``english_name``).

Coordinates are (lon, lat) in degrees; "Mercator" means Web Mercator in radians (x = lon,
y = asinh(tan lat)), the projection Leaflet draws.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from heapq import heappop, heappush

FINE, COARSE = "50m", "110m"
FINE_MIN_PX_PER_DEGREE = 14.0
"""Maps showing at least this many CSS pixels per degree of longitude use 1:50m, others 1:110m."""
MAX_LAT = 85.0511287798
"""The latitude where Web Mercator (and Leaflet) stops."""

Box = tuple[float, float, float, float]
"""(west, south, east, north) in degrees; east may pass 180 for a view across the antimeridian."""
Point = tuple[float, float]


# --- Web Mercator ---------------------------------------------------------------------------


def mercator_y(lat: float) -> float:
    """Return the Web Mercator y (radians) of a latitude, clamped where the projection stops."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    return math.asinh(math.tan(math.radians(lat)))


def latitude(y: float) -> float:
    """Return the latitude (degrees) of a Web Mercator y."""
    return math.degrees(math.atan(math.sinh(y)))


def unwrap_east(west: float, east: float) -> float:
    """Return the east edge of a box as drawn: ``east + 360`` when the box crosses the antimeridian."""
    return east + 360 if east < west else east


def unwrap_lon(lon: float, center: float) -> float:
    """Return ``lon`` moved by whole turns to lie within 180° of ``center``."""
    return lon - 360 * math.floor((lon - center + 180) / 360)


# --- the assets ------------------------------------------------------------------------------


def _asset(name: str) -> dict:
    """Return a basemap asset file, parsed."""
    from .errors import BuildError
    from .resources import assets_dir

    path = assets_dir() / "geodata" / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BuildError(f"the basemap {path} is missing: make it with scripts/make_basemap.py") from error


@cache
def country_codes() -> frozenset[str]:
    """Return the ISO 3166-1 alpha-3 codes of every country of the basemap."""
    return frozenset(_asset("countries.json")["countries"])


@dataclass(frozen=True)
class Country:
    """A country of the basemap: its alpha-3 code ('' for areas without one), Natural Earth name, polygons."""

    code: str
    name: str
    polygons: tuple[tuple[tuple[int, ...], ...], ...]
    """Rings of arc indexes, outer ring first; ``~i`` is arc ``i`` reversed."""


@dataclass(frozen=True)
class World:
    """One level of the basemap, decoded."""

    arcs: tuple[tuple[Point, ...], ...]
    """Each arc's points (lon, lat), continuous across the antimeridian (lon may pass ±180)."""
    boxes: tuple[Box, ...]
    """Each arc's box."""
    countries: tuple[Country, ...]


@cache
def world(level: str) -> World:
    """Return a level of the basemap (``50m`` or ``110m``) with its arcs decoded."""
    data = _asset(f"world-{level}.json")
    (sx, sy), (tx, ty) = data["scale"], data["translate"]
    arcs, boxes = [], []
    for flat in data["arcs"]:
        x = y = 0
        shift = 0.0
        points: list[Point] = []
        for i in range(0, len(flat), 2):
            x += flat[i]
            y += flat[i + 1]
            lon = x * sx + tx + shift
            # A step of more than half the world is the arc crossing the antimeridian: keep going east or west.
            if points and abs(lon - points[-1][0]) > 180:
                turn = 360 if lon < points[-1][0] else -360
                shift += turn
                lon += turn
            points.append((lon, y * sy + ty))
        arcs.append(tuple(points))
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    countries = tuple(Country(c["code"], c["name"], tuple(tuple(tuple(ring) for ring in polygon)
                                                          for polygon in c["polygons"]))
                      for c in data["countries"])
    return World(tuple(arcs), tuple(boxes), countries)


def level_for(px_per_degree: float) -> str:
    """Return the level that suits a map's scale: 1:50m for a region, 1:110m for a continent or more."""
    return FINE if px_per_degree >= FINE_MIN_PX_PER_DEGREE else COARSE


# --- cutting the world to a view -----------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A country as a map draws it: code ('' for areas without one), Natural Earth name, clipped polygons."""

    code: str
    name: str
    polygons: tuple[tuple[tuple[Point, ...], ...], ...]
    """Closed rings (lon, lat) inside the view, outer ring first."""


def _overlaps_turns(box: Box, view: Box) -> bool:
    """Return whether ``box`` overlaps ``view`` or one of its copies whole turns east or west."""
    if box[3] < view[1] or box[1] > view[3]:
        return False
    return any(box[2] + k >= view[0] and box[0] + k <= view[2] for k in range(-720, 721, 360))


def _kept(xs: list[float], ys: list[float], tolerance: float) -> list[bool]:
    """Return which points Douglas-Peucker keeps at ``tolerance``; the ends always stay."""
    n = len(xs)
    keep = [False] * n
    keep[0] = keep[-1] = True
    limit = tolerance * tolerance
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        ax, ay = xs[first], ys[first]
        dx, dy = xs[last] - ax, ys[last] - ay
        length = dx * dx + dy * dy
        best, index = limit, -1
        for i in range(first + 1, last):
            px, py = xs[i] - ax, ys[i] - ay
            t = 0.0 if length == 0 else max(0.0, min(1.0, (px * dx + py * dy) / length))
            ex, ey = px - t * dx, py - t * dy
            d = ex * ex + ey * ey
            if d > best:
                best, index = d, i
        if index >= 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return keep


def simplify(points: tuple[Point, ...] | list[Point], tolerance: float) -> list[Point]:
    """Return the (lon, lat) points Douglas-Peucker keeps, measured in Web Mercator radians."""
    if len(points) < 3:
        return list(points)
    keep = _kept([math.radians(p[0]) for p in points], [mercator_y(p[1]) for p in points], tolerance)
    return [p for p, k in zip(points, keep) if k]


def simplify_xy(points: list[Point], tolerance: float) -> list[Point]:
    """Return the plane points Douglas-Peucker keeps at ``tolerance`` (in the points' units)."""
    if len(points) < 3:
        return list(points)
    keep = _kept([p[0] for p in points], [p[1] for p in points], tolerance)
    return [p for p, k in zip(points, keep) if k]


def _cut_arcs(level: str, view: Box, tolerance: float) -> list[list[Point]]:
    """Return every arc simplified for the view: near the view to ``tolerance``, elsewhere its two ends."""
    data = world(level)
    return [simplify(arc, tolerance) if _overlaps_turns(box, view) else [arc[0], arc[-1]]
            for arc, box in zip(data.arcs, data.boxes)]


def _ring(refs: tuple[int, ...], arcs: list[list[Point]]) -> list[Point]:
    """Return a ring stitched from arcs, continuous across the antimeridian, unclosed.

    A ring around a pole (Antarctica) ends a whole turn from where it starts: it is closed
    along the pole's latitude, which clipping to the view then cuts away.
    """
    points: list[Point] = []
    for ref in refs:
        arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
        if not points:
            points.extend(arc)
            continue
        shift = 360 * round((points[-1][0] - arc[0][0]) / 360)
        points.extend((x + shift, y) for x, y in arc[1:])
    if len(points) > 1 and abs(points[-1][0] - points[0][0]) > 180:
        pole = -90.0 if sum(y for _, y in points) < 0 else 90.0
        points += [(points[-1][0], pole), (points[0][0], pole)]
    if len(points) > 1 and points[-1] == points[0]:
        points.pop()
    return points


def clip_ring(points: list[Point], box: Box) -> list[Point]:
    """Return a ring (unclosed) clipped to ``box`` (Sutherland-Hodgman; the result may run along the box's edges)."""
    west, south, east, north = box
    edges = ((0, west, True), (0, east, False), (1, south, True), (1, north, False))
    for axis, value, above in edges:
        if not points:
            break
        clipped = []
        previous = points[-1]
        for current in points:
            inside_now = current[axis] >= value if above else current[axis] <= value
            inside_before = previous[axis] >= value if above else previous[axis] <= value
            if inside_now != inside_before:
                t = (value - previous[axis]) / (current[axis] - previous[axis])
                other = 1 - axis
                crossing = previous[other] + t * (current[other] - previous[other])
                clipped.append((value, crossing) if axis == 0 else (crossing, value))
            if inside_now:
                clipped.append(current)
            previous = current
        points = clipped
    return points


def ring_area(points) -> float:
    """Return the signed area of a ring (shoelace formula), in the square of its units."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]])) / 2


def _finish(points: list[Point], shift: float, decimals: int, min_area: float) -> tuple[Point, ...] | None:
    """Return a clipped ring moved by ``shift`` degrees, rounded and closed, or None when too small to see."""
    rounded: list[Point] = []
    for x, y in points:
        p = (round(x + shift, decimals), round(y, decimals))
        if not rounded or rounded[-1] != p:
            rounded.append(p)
    while len(rounded) > 1 and rounded[-1] == rounded[0]:
        rounded.pop()
    if len(rounded) < 3 or abs(ring_area(rounded)) < min_area:
        return None
    return (*rounded, rounded[0])


def _clip_polygon(rings: list[list[Point]], view: Box, decimals: int, min_area: float) -> list[tuple]:
    """Return the polygon's pieces in the view and in its copies whole turns east and west."""
    if not rings or not rings[0]:
        return []
    xs = [x for x, _ in rings[0]]
    pieces = []
    for k in range(-720, 721, 360):
        if max(xs) + k < view[0] or min(xs) + k > view[2]:
            continue
        shifted = (view[0] - k, view[1], view[2] - k, view[3])
        outer = _finish(clip_ring(rings[0], shifted), k, decimals, min_area)
        if outer is None:
            continue
        holes = [h for ring in rings[1:] if (h := _finish(clip_ring(ring, shifted), k, decimals, min_area))]
        pieces.append((outer, *holes))
    return pieces


@lru_cache(maxsize=32)
def basemap(view: Box, level: str, tolerance: float) -> tuple[Area, ...]:
    """Return the countries that reach into ``view``, simplified to ``tolerance`` (Mercator radians) and clipped.

    ``view`` is (west, south, east, north) with south and north within Web Mercator's ±85.05°.
    """
    arcs = _cut_arcs(level, view, tolerance)
    degrees = math.degrees(tolerance)
    decimals = max(2, min(5, math.ceil(-math.log10(degrees / 4)))) if degrees > 0 else 5
    min_area = (degrees / 2) ** 2
    areas = []
    for country in world(level).countries:
        polygons = []
        for polygon in country.polygons:
            polygons += _clip_polygon([_ring(refs, arcs) for refs in polygon], view, decimals, min_area)
        if polygons:
            areas.append(Area(country.code, country.name, tuple(polygons)))
    return tuple(areas)


# --- shapes, for placing labels ---------------------------------------------------------------------


def contains(rings, x: float, y: float) -> bool:
    """Return whether (x, y) lies inside the rings (even-odd rule, so holes are outside)."""
    inside = False
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]]):
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                inside = not inside
    return inside


def _edge_distance(rings, x: float, y: float) -> float:
    """Return the distance from (x, y) to the rings' nearest edge, negative outside (even-odd rule)."""
    best = math.inf
    inside = False
    for ring in rings:
        ax, ay = ring[-1]
        for bx, by in ring:
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                inside = not inside
            dx, dy = bx - ax, by - ay
            length = dx * dx + dy * dy
            t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length))
            ex, ey = x - ax - t * dx, y - ay - t * dy
            d = ex * ex + ey * ey
            if d < best:
                best = d
            ax, ay = bx, by
    distance = math.sqrt(best)
    return distance if inside else -distance


def _centroid(ring) -> Point:
    """Return the centroid of a ring (its first point when the ring has no area)."""
    area = ring_area(ring)
    if not area:
        return ring[0]
    pairs = list(zip(ring, [*ring[1:], ring[0]]))
    cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairs)
    cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairs)
    return cx / (6 * area), cy / (6 * area)


def inner_point(rings, precision: float) -> tuple[float, float, float]:
    """Return (x, y, distance): the point of a polygon farthest from its edges (its pole of
    inaccessibility, found as in Mapbox's polylabel) and that distance, to within ``precision``."""
    xs = [x for x, _ in rings[0]]
    ys = [y for _, y in rings[0]]
    west, south, east, north = min(xs), min(ys), max(xs), max(ys)
    cell = min(east - west, north - south)
    if cell <= 0:
        return west, south, 0.0
    half = cell / 2
    queue: list[tuple[float, float, float, float, float]] = []

    def push(x: float, y: float, h: float) -> None:
        d = _edge_distance(rings, x, y)
        heappush(queue, (-(d + h * math.sqrt(2)), d, x, y, h))

    x = west
    while x < east:
        y = south
        while y < north:
            push(x + half, y + half, half)
            y += cell
        x += cell
    # Start from the centroid: for most shapes it is already near the answer, which prunes more cells.
    cx, cy = _centroid(rings[0])
    best = (_edge_distance(rings, cx, cy), cx, cy)
    probes = 0
    while queue and probes < 4000:  # a bound on the work for very ragged shapes
        bound, d, x, y, h = heappop(queue)
        probes += 1
        if d > best[0]:
            best = (d, x, y)
        if -bound - best[0] <= precision:
            continue
        h /= 2
        for sx in (-h, h):
            for sy in (-h, h):
                push(x + sx, y + sy, h)
    return best[1], best[2], best[0]


# --- names ---------------------------------------------------------------------------------------------


GETTEXT_LANGUAGES = {"zh-Hans": "zh_CN", "zh-Hant": "zh_TW"}
"""The pycountry catalog of each Chinese language tag."""


@cache
def _iso_country(code: str):
    """Return pycountry's record of an alpha-3 code, or None."""
    import pycountry

    return pycountry.countries.get(alpha_3=code) if code else None


@cache
def _translation(tag: str):
    """Return the gettext catalog of ISO 3166-1 names in a language."""
    import gettext

    import pycountry

    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[GETTEXT_LANGUAGES[tag]])


def _plain(text: str) -> str:
    """Return text without accents (São Tomé -> Sao Tome)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def english_name(code: str, natural_earth: str) -> str:
    """Return a country's English map label.

    pycountry's common name where it has one (Iran, Syria, Bolivia); else its ISO name when that
    is a plain name at most six letters longer than Natural Earth's, which abbreviates for maps
    but predates renamings (North Macedonia, Eswatini); else Natural Earth's (Russia, Dem. Rep.
    Congo, Palestine). Natural Earth's spelling wins where the two differ only in accents.
    """
    record = _iso_country(code)
    if record is None:
        return natural_earth
    common = getattr(record, "common_name", None)
    name = common or record.name
    if not common and (any(c in name for c in ",()") or len(name) > len(natural_earth) + 6):
        return natural_earth
    return natural_earth if _plain(natural_earth) == name else name


def country_name(code: str, natural_earth: str, tag: str) -> str | None:
    """Return a country's name in a brief's language (BCP 47 tag), or None where no dataset names it.

    Chinese names are pycountry's translations (common name if any, else the ISO name); areas
    without an ISO code (Kosovo, N. Cyprus) have a Natural Earth name in English only.
    """
    if tag == "en":
        return english_name(code, natural_earth)
    record = _iso_country(code)
    if record is None:
        return None
    source = getattr(record, "common_name", None) or record.name
    translated = _translation(tag).gettext(source)
    return translated if translated != source else None


# --- checks of a map's extent ----------------------------------------------------------------------------


MIN_MAP_KM = 20.0
"""The narrowest map worth drawing: Natural Earth's 1:50m coastlines are drawn to about a kilometre,
so a map only a few kilometres across would show a blank or a smudge."""


def _span_km(west: float, south: float, east: float, north: float) -> tuple[float, float]:
    """Return the width (at the middle latitude) and height of a box, in kilometres."""
    middle = math.radians((south + north) / 2)
    return (unwrap_east(west, east) - west) * 111.32 * math.cos(middle), (north - south) * 110.57


def _in_bounds(bounds, lat: float, lon: float) -> bool:
    """Return whether (lat, lon) lies inside bounds (across the antimeridian where west > east)."""
    east = unwrap_east(bounds.west, bounds.east)
    return bounds.south <= lat <= bounds.north and bounds.west <= unwrap_lon(lon, (bounds.west + east) / 2) <= east


def map_problems(spec) -> list[tuple[tuple[str | int, ...], str]]:
    """Return (location inside the map, message) of each reason a map would come out blank or misleading:
    bounds too small to draw, a place outside the bounds, nothing to draw (no land and no route)."""
    b = spec.bounds
    if b.south >= b.north or b.west == b.east:
        return []  # the model's own check reports these
    width, height = _span_km(b.west, b.south, b.east, b.north)
    if min(width, height) < MIN_MAP_KM:
        return [(("bounds",), f"the bounds span only {width:.1f} × {height:.1f} km; a map must span at least "
                              f"{MIN_MAP_KM:g} km each way (the basemap draws nothing finer): widen the bounds")]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for pi, place in enumerate(spec.places):
        if not _in_bounds(b, place.lat, place.lon):
            problems.append((("places", pi), f"{place.name!r} at {place.lat:g}, {place.lon:g} lies outside the map's "
                                             f"bounds ({b.south:g}–{b.north:g}°N, {b.west:g}–{b.east:g}°E) and "
                                             "would not be drawn: widen the bounds or remove the place"))
    if not spec.pipelines:
        east = unwrap_east(b.west, b.east)
        if not basemap((b.west, max(-MAX_LAT, b.south), east, min(MAX_LAT, b.north)), COARSE, 1e-3) and \
                not basemap((b.west, max(-MAX_LAT, b.south), east, min(MAX_LAT, b.north)), FINE, 1e-4):
            problems.append((("bounds",), "the map would show no land and has no routes: move the bounds "
                                          "over land or add a route"))
    return problems


def located_map_problems(brief, located) -> list:
    """Return the located Problems (``loader._Located``) of every map of a brief that ``map_problems`` finds."""
    before = len(located.problems)
    for mi, spec in enumerate(brief.maps):
        for loc, message in map_problems(spec):
            located.problem(("maps", mi, *loc), message)
    return located.problems[before:]
