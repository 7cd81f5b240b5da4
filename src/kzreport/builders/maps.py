"""Pipeline maps: a Folium (Leaflet) map per map definition, saved as offline HTML and as PNG.

Steps for each ``maps`` entry of the source: build a Folium map with no tiles (the basemap is
Natural Earth outlines from ``assets/geodata/basemap.geojson``, made by
``scripts/make_basemap.py``), styled from the theme's ``map`` colours; add ``maps/<id>.html``;
then draw the print version of the same map in headless Chromium (``kzreport.rasterize``) and
add ``maps/<id>.png``.

Offline: Leaflet is inlined from the PyPI package ``django-js-lib-leaflet`` (its images as
data: URIs); Folium's CDN links (Leaflet, jQuery, Bootstrap, Font Awesome) are dropped.

Escaping: every string from the source goes through ``html_text`` (HTML-escaped, and the
characters a JavaScript template literal treats specially turned into entities) and reaches
the page's script only inside JSON written by ``js_value`` (``<``, ``>``, ``&`` and ``'`` as
``\\uXXXX``), never inside a template literal: Folium's own ``Tooltip`` and ``Popup`` put their
text into template literals (and ``Popup`` needs jQuery), so this module uses its own.

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
from base64 import b64encode
from functools import cache
from importlib import resources
from pathlib import Path

from . import Builder
from ..errors import BuildError

RASTER_VIEWPORT = (1440, 810)
"""CSS pixels of the printed map: 16:9, the shape of a slide's content area."""
RASTER_SCALE = 2
"""Device pixels per CSS pixel: 2880 × 1620 PNGs, 430 dpi across a 170 mm A4 figure."""
PRINT_SIZE = 1.6
"""Labels, lines and legend grow by this factor in the printed map so that they read at print size."""
RASTER_VERSION = "kzreport-maps-1"
"""Part of the cache key: change it when the rasterizing changes what a PNG looks like."""

KIND_LABELS = {"oil": "原油管道", "gas": "天然气管道", "tanker": "油轮航线"}
STATUS_LABELS = {"operating": "运行中", "disrupted_2022": "2022年曾中断", "planned": "规划中"}
PLACE_KIND_LABELS = {"capital": "首都", "city": "城市", "field": "油田", "terminal": "油港终端",
                     "port": "港口", "border_crossing": "口岸"}


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


@cache
def load_basemap() -> dict:
    """Return the basemap GeoJSON (Natural Earth countries clipped to the region)."""
    from ..resources import assets_dir

    path = assets_dir() / "geodata" / "basemap.geojson"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BuildError(f"the basemap {path} is missing: make it with scripts/make_basemap.py") from error


def _feature_box(feature: dict) -> tuple[float, float, float, float]:
    """Return (west, south, east, north) of a feature's outline."""
    polygons = feature["geometry"]["coordinates"]
    if feature["geometry"]["type"] == "Polygon":
        polygons = [polygons]
    xs = [x for polygon in polygons for ring in polygon for x, _ in ring]
    ys = [y for polygon in polygons for ring in polygon for _, y in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _padded_view(bounds) -> tuple[float, float, float, float]:
    """Return (west, south, east, north): the map's bounds grown so that any window shape stays covered."""
    width, height = bounds.east - bounds.west, bounds.north - bounds.south
    pad = max(width, height) * 0.6
    return bounds.west - pad, bounds.south - pad, bounds.east + pad, bounds.north + pad


def basemap_for(spec) -> dict:
    """Return the basemap's countries that reach into the map's view, highlighted ones marked."""
    west, south, east, north = _padded_view(spec.bounds)
    features = []
    for feature in load_basemap()["features"]:
        fw, fs, fe, fn = _feature_box(feature)
        if fe < west or fw > east or fn < south or fs > north:
            continue
        properties = {"highlight": feature["properties"]["iso_a3"] in spec.highlight}
        features.append({"type": "Feature", "properties": properties, "geometry": feature["geometry"]})
    return {"type": "FeatureCollection", "features": features}


def _mercator(lat: float, lon: float) -> tuple[float, float]:
    """Return Web Mercator (x, y) in radians, y growing northwards."""
    return math.radians(lon), math.asinh(math.tan(math.radians(lat)))


def _pixels_per_radian(bounds, viewport: tuple[int, int] = RASTER_VIEWPORT) -> float:
    """Return the scale at which Leaflet's fitBounds shows ``bounds`` in the viewport."""
    x0, y0 = _mercator(bounds.south, bounds.west)
    x1, y1 = _mercator(bounds.north, bounds.east)
    return min(viewport[0] / (x1 - x0), viewport[1] / (y1 - y0))


def _label_box(name: str, lat: float, lon: float, highlighted: bool, scale: float) -> tuple[float, ...]:
    """Return the pixel box (left, top, right, bottom) a centred country label covers in the printed map."""
    x, y = _mercator(lat, lon)
    em = (19 + 4) if highlighted else (15 + 2)  # font size plus letter spacing, as in map_css
    half_w, half_h = len(name) * em * PRINT_SIZE / 2 + 6, 15 * PRINT_SIZE
    return x * scale - half_w, -y * scale - half_h, x * scale + half_w, -y * scale + half_h


def place_label_sides(spec) -> dict[str, str]:
    """Return, per labelled place id, the side its label goes: right, or left where it would leave the map."""
    scale = _pixels_per_radian(spec.bounds)
    x0, _ = _mercator(spec.bounds.south, spec.bounds.west)
    x1, _ = _mercator(spec.bounds.north, spec.bounds.east)
    right_edge = (x0 + x1) / 2 * scale + RASTER_VIEWPORT[0] / 2
    sides = {}
    for place in spec.places:
        x, _ = _mercator(place.lat, place.lon)
        width = (len(place.name) * 13 + 14) * PRINT_SIZE
        sides[place.id] = "left" if x * scale + width > right_edge else "right"
    return sides


def _place_boxes(spec, scale: float) -> list[tuple[float, ...]]:
    """Return the pixel boxes the places' markers and labels cover in the printed map."""
    sides = place_label_sides(spec)
    boxes = []
    for place in spec.places:
        x, y = _mercator(place.lat, place.lon)
        px, py = x * scale, -y * scale
        width = (len(place.name) * 13 + 14) * PRINT_SIZE if place.label else 8 * PRINT_SIZE
        half_h = 10 * PRINT_SIZE
        left, right = (px - width, px + 8 * PRINT_SIZE) if sides[place.id] == "left" else (px - 8 * PRINT_SIZE, px + width)
        boxes.append((left, py - half_h, right, py + half_h))
    return boxes


def _clip_ring(ring: list, box: tuple[float, float, float, float]) -> list:
    """Return the ring clipped to box (west, south, east, north), Sutherland-Hodgman, unclosed."""
    west, south, east, north = box
    edges = ((lambda p: p[0] >= west, 0, west), (lambda p: p[0] <= east, 0, east),
             (lambda p: p[1] >= south, 1, south), (lambda p: p[1] <= north, 1, north))
    points = [tuple(p) for p in ring[:-1]]
    for inside, axis, value in edges:
        clipped = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside(current) != inside(previous):
                t = (value - previous[axis]) / (current[axis] - previous[axis])
                clipped.append(tuple(previous[k] + t * (current[k] - previous[k]) for k in (0, 1)))
            if inside(current):
                clipped.append(current)
        points = clipped
        if not points:
            break
    return points


def _visible_part(feature: dict, box: tuple[float, float, float, float]) -> tuple[float, tuple[float, float]]:
    """Return the area (square degrees) and centroid (lon, lat) of the largest part of a country inside box."""
    polygons = feature["geometry"]["coordinates"]
    if feature["geometry"]["type"] == "Polygon":
        polygons = [polygons]
    best = (0.0, (0.0, 0.0))
    for polygon in polygons:
        points = _clip_ring(polygon[0], box)
        pairs = list(zip(points, points[1:] + points[:1]))
        cross = [x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairs]
        area = sum(cross) / 2
        if abs(area) > best[0]:
            cx = sum((x0 + x1) * c for ((x0, _), (x1, _)), c in zip(pairs, cross)) / (6 * area)
            cy = sum((y0 + y1) * c for ((_, y0), (_, y1)), c in zip(pairs, cross)) / (6 * area)
            best = (abs(area), (cx, cy))
    return best


def country_labels(spec) -> list[tuple[str, float, float, bool]]:
    """Return (Chinese name, lat, lon, highlighted) of the countries to label: label point in the bounds,
    highlighted and larger countries first, a label that would overlap a place or a label already
    placed left out."""
    b = spec.bounds
    inset_lat, inset_lon = (b.north - b.south) * 0.03, (b.east - b.west) * 0.03
    box = (b.west + inset_lon, b.south + inset_lat, b.east - inset_lon, b.north - inset_lat)
    candidates = []
    for feature in load_basemap()["features"]:
        lon, lat = feature["properties"]["label"]
        area, (lon_in, lat_in) = _visible_part(feature, box)
        if not (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
            # The label point is off the map: label the visible part instead, if there is enough of it.
            if area < (box[2] - box[0]) * (box[3] - box[1]) * 0.03:
                continue
            lon, lat = lon_in, lat_in
        highlighted = feature["properties"]["iso_a3"] in spec.highlight
        candidates.append((not highlighted, -area, feature, feature["properties"]["name_zh"], lat, lon, highlighted))
    scale = _pixels_per_radian(b)
    placed = _place_boxes(spec, scale)
    labels = []
    for *_, feature, name, lat, lon, highlighted in sorted(candidates, key=lambda c: c[:2]):
        # Try the label point, then points around it that are still inside the country and the map.
        for dlon, dlat in LABEL_NUDGES:
            at_lat, at_lon = lat + dlat * (b.north - b.south), lon + dlon * (b.east - b.west)
            if (dlon or dlat) and not (box[1] <= at_lat <= box[3] and box[0] <= at_lon <= box[2]
                                       and _contains(feature, at_lon, at_lat)):
                continue
            label = _label_box(name, at_lat, at_lon, highlighted, scale)
            if not any(label[0] < p[2] and p[0] < label[2] and label[1] < p[3] and p[1] < label[3] for p in placed):
                placed.append(label)
                labels.append((name, at_lat, at_lon, highlighted))
                break
    return labels


LABEL_NUDGES = [(0, 0), (0.08, 0), (-0.08, 0), (0, 0.08), (0, -0.08), (0.08, 0.08), (0.08, -0.08),
                (-0.08, 0.08), (-0.08, -0.08), (0.16, 0), (-0.16, 0), (0, 0.16), (0, -0.16)]
"""Where to try a country label that collides, as fractions of the map's width and height."""


def _contains(feature: dict, lon: float, lat: float) -> bool:
    """Return whether the point lies inside the country (even-odd rule over all its rings)."""
    polygons = feature["geometry"]["coordinates"]
    if feature["geometry"]["type"] == "Polygon":
        polygons = [polygons]
    inside = False
    for polygon in polygons:
        for ring in polygon:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
    return inside


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


def route_style(pipeline, colors, size: float) -> dict:
    """Return the Leaflet path options of a pipeline: colour by kind, dashed if disrupted or by sea."""
    color = getattr(colors, pipeline.kind)
    dash = None
    if pipeline.kind == "tanker":
        dash = f"{2 * size:g} {9 * size:g}"
    if pipeline.status == "disrupted_2022":
        color, dash = colors.disrupted, f"{12 * size:g} {8 * size:g}"
    elif pipeline.status == "planned":
        color, dash = colors.planned, f"{6 * size:g} {6 * size:g}"
    style = {"color": color, "weight": 4 * size, "opacity": 1.0, "lineCap": "round", "lineJoin": "round",
             "interactive": True}
    if dash:
        style["dashArray"] = dash
    return style


def legend_entries(spec, colors) -> list[tuple[str, dict]]:
    """Return (label, line style) for each kind of route the map shows, in a fixed order."""
    entries: dict[tuple[str, str], tuple[str, dict]] = {}
    for pipeline in spec.pipelines:
        key = (pipeline.kind, pipeline.status)
        label = KIND_LABELS[pipeline.kind] + ("" if pipeline.status == "operating" else
                                              f"（{STATUS_LABELS[pipeline.status]}）")
        entries[key] = (label, route_style(pipeline, colors, 1))
    order = [(k, s) for k in KIND_LABELS for s in STATUS_LABELS]
    return [entries[key] for key in order if key in entries]


def _line_swatch(style: dict) -> str:
    """Return an inline SVG line drawn like the route."""
    dash = f' stroke-dasharray="{style["dashArray"]}"' if "dashArray" in style else ""
    return (f'<svg class="kz-swatch" viewBox="0 0 44 10" aria-hidden="true"><line x1="3" y1="5" x2="41" y2="5" '
            f'stroke="{style["color"]}" stroke-width="4" stroke-linecap="round"{dash}/></svg>')


def legend_html(spec, colors) -> str:
    """Return the legend's HTML: the map's title, a line per kind of route, the place marker."""
    rows = [f'<div class="kz-legend-title">{html_text(spec.title)}</div>']
    rows += [f'<div class="kz-legend-row">{_line_swatch(style)}<span>{html_text(label)}</span></div>'
             for label, style in legend_entries(spec, colors)]
    if spec.places:
        rows.append('<div class="kz-legend-row"><svg class="kz-swatch" viewBox="0 0 44 10" aria-hidden="true">'
                    f'<circle cx="22" cy="5" r="4" fill="#FFFFFF" stroke="{colors.label}" stroke-width="2"/></svg>'
                    '<span>城市、油田、港口</span></div>')
    return "".join(rows)


def _sources_line(brief, keys: list[str]) -> str:
    """Return the popup's sources line: each key with its source's title."""
    known = {s.key: s for s in brief.sources}
    items = [f"{html_text(k)}：{html_text(known[k].title)}" if k in known else html_text(k) for k in keys]
    return "来源：" + "；".join(items)


def pipeline_popup(brief, pipeline) -> str:
    """Return the popup HTML of a pipeline: names, kind, status, figures, disruptions, sources."""
    parts = [f"<b>{html_text(pipeline.name)}</b>", f"<i>{html_text(pipeline.name_en)}</i>",
             f"{KIND_LABELS[pipeline.kind]} · {STATUS_LABELS[pipeline.status]}"]
    for label, value in (("运力", pipeline.capacity), ("长度", f"{pipeline.length_km:g} 公里" if pipeline.length_km else None),
                         ("年份", pipeline.years), ("所有者", pipeline.owners)):
        if value:
            parts.append(f"{label}：{html_text(value)}")
    if pipeline.disruptions:
        parts.append("2022年中断：<br>" + "<br>".join(f"· {html_text(d)}" for d in pipeline.disruptions))
    if pipeline.note:
        parts.append(html_text(pipeline.note))
    estimated = [w.name for w in pipeline.waypoints if w.estimated]
    if estimated:
        parts.append("估计位置：" + "、".join(html_text(n) for n in estimated))
    parts.append(_sources_line(brief, pipeline.sources))
    return '<div class="kz-popup">' + "<br>".join(parts) + "</div>"


def place_popup(brief, place) -> str:
    """Return the popup HTML of a place."""
    parts = [f"<b>{html_text(place.name)}</b>"]
    if place.name_en:
        parts.append(f"<i>{html_text(place.name_en)}</i>")
    parts.append(PLACE_KIND_LABELS[place.kind] + ("（位置为估计）" if place.estimated else ""))
    if place.sources:
        parts.append(_sources_line(brief, place.sources))
    return '<div class="kz-popup">' + "<br>".join(parts) + "</div>"


def map_css(theme, size: float) -> str:
    """Return the page's CSS: water, labels, legend; sizes multiplied by ``size``."""
    colors, fonts = theme.map, theme.fonts
    family = ", ".join(json.dumps(f) for f in [fonts.heading.cjk, *fonts.cjk_fallbacks]) + ", sans-serif"
    halo = ", ".join(f"{x * size:g}px {y * size:g}px 0 #FFFFFF" for x, y in
                     ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, -1.5), (0, 1.5), (-1.5, 0), (1.5, 0)))

    def px(value: float) -> str:
        return f"{value * size:g}px"

    return f"""
.leaflet-container {{ background: {colors.water}; font-family: {family}; }}
.kz-country {{ background: none; border: none; }}
.kz-country span {{ position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font-size: {px(15)}; letter-spacing: {px(2)}; color: {colors.border}; font-weight: 500; }}
.kz-country.kz-highlight span {{ color: {colors.label}; font-size: {px(19)}; font-weight: 700; letter-spacing: {px(4)}; }}
.leaflet-tooltip.kz-place-label {{ background: none; border: none; box-shadow: none; padding: 0 {px(3)};
  color: {colors.label}; font-size: {px(13)}; font-weight: 700; text-shadow: {halo}; }}
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


def _ready_script(bounds) -> str:
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
    colors = project.theme.map
    b = spec.bounds
    center = [(b.south + b.north) / 2, (b.west + b.east) / 2]
    fmap = OfflineMap(location=center, zoom_start=4, tiles=None, control_scale=False, zoom_snap=0,
                      zoom_delta=0.5, prefer_canvas=False, attribution_control=True)
    figure = fmap.get_root()
    figure.title = html_text(spec.title)
    css, script = leaflet_assets()
    figure.header.add_child(RawHtml(f"<style>{css}</style>"), name="leaflet_css")
    figure.header.add_child(RawHtml(f"<script>{script}</script>"), name="leaflet_js")
    page_css = map_css(project.theme, size) + (PRINT_CSS if print_version else "")
    figure.header.add_child(RawHtml(f'<meta name="description" content="{html_text(spec.alt)}">'
                                    f"<style>{page_css}</style>"), name="kz_css")

    fmap.add_child(Script("Basemap",
                          "L.geoJSON({data}, {{interactive: false, style: function (f) {{"
                          " return f.properties.highlight ? {highlight} : {land}; }}}}).addTo({parent});",
                          data=basemap_for(spec),
                          land={"color": colors.border, "weight": 0.8 * size, "fillColor": colors.land,
                                "fillOpacity": 1},
                          highlight={"color": colors.border, "weight": 1.2 * size, "fillColor": colors.highlight,
                                     "fillOpacity": 1}))
    for name, lat, lon, highlighted in country_labels(spec):
        # The icon goes in the marker's options: Folium's Marker sets it afterwards, by which time
        # Leaflet has asked for its default marker images.
        icon = {"html": f"<span>{html_text(name)}</span>", "iconSize": [0, 0],
                "className": "kz-country kz-highlight" if highlighted else "kz-country"}
        fmap.add_child(Script("CountryLabel", "L.marker({at}, {{icon: L.divIcon({icon}), interactive: false,"
                                              " keyboard: false}}).addTo({parent});", at=[lat, lon], icon=icon))

    for pipeline in spec.pipelines:
        points = [[w.lat, w.lon] for w in pipeline.waypoints]
        style = route_style(pipeline, colors, size)
        # A white casing under each route keeps it readable over borders and other routes.
        folium.PolyLine(points, color="#FFFFFF", weight=style["weight"] + 3 * size, opacity=0.9,
                        line_cap="round", line_join="round", interactive=False).add_to(fmap)
        line = folium.PolyLine(points, **{k: v for k, v in style.items() if k not in ("lineCap", "lineJoin")},
                               line_cap="round", line_join="round")
        line.add_to(fmap)
        bind_tooltip(Script, line, f"<b>{html_text(pipeline.name)}</b><br>{html_text(pipeline.name_en)}",
                     sticky=True)
        bind_popup(Script, line, pipeline_popup(project.source, pipeline))

    sides = place_label_sides(spec)
    for place in spec.places:
        radius = (6 if place.kind == "capital" else 4.5) * size
        marker = folium.CircleMarker([place.lat, place.lon], radius=radius, color=colors.label,
                                     weight=2 * size, fill=True, fill_color="#FFFFFF", fill_opacity=1)
        marker.add_to(fmap)
        if place.label:
            side = sides[place.id]
            bind_tooltip(Script, marker, html_text(place.name), permanent=True, direction=side,
                         className="kz-place-label", offset=[(4 if side == "right" else -4) * size, 0],
                         interactive=False)
        bind_popup(Script, marker, place_popup(project.source, place))

    fmap.add_child(Script("Ready", _ready_script(b),
                          bounds=[[b.south, b.west], [b.north, b.east]], credit=html_text(spec.credit),
                          legend=legend_html(spec, colors), scale_width=round(160 * size)))
    _stabilise_ids(figure)
    page = figure.render()
    # Leaflet's CSS and Folium's header carry no language: tell the browser the labels are Chinese.
    return page.replace("<html>", '<html lang="zh-Hans">', 1)


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
