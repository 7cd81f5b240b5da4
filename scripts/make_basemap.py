"""Make assets/geodata/basemap.geojson: Natural Earth country outlines for the maps, offline.

The outlines come from the npm package ``world-atlas`` (Natural Earth 1:50m admin-0
countries as TopoJSON, public domain). Install it outside the repository, then run:

    npm install --prefix /tmp/wa world-atlas@2
    .venv/bin/python scripts/make_basemap.py /tmp/wa/node_modules/world-atlas/countries-50m.json

Without an argument the script looks for ``node_modules/world-atlas/countries-50m.json`` in
the current folder and in /tmp/wa. Steps, in pure Python: decode the TopoJSON arcs (quantized
and delta-encoded), simplify each shared arc once (so neighbouring borders stay identical),
assemble the countries, clip them to the region box, round coordinates to 3 decimals, add
Chinese names, ISO 3166-1 alpha-3 codes and a label point, and write compact, sorted JSON.
The same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "assets" / "geodata" / "basemap.geojson"

# The region the maps can show: from the Balkans and the eastern Mediterranean to Beijing.
WEST, SOUTH, EAST, NORTH = 20.0, 25.0, 125.0, 62.0
TOLERANCE_DEG = 0.01  # Douglas-Peucker tolerance: about 1 km, invisible at the maps' scale
DECIMALS = 3

# ISO 3166-1 numeric (world-atlas ids) -> (alpha-3, Chinese name), for every country in the box.
COUNTRIES: dict[str, tuple[str, str]] = {
    "004": ("AFG", "阿富汗"), "008": ("ALB", "阿尔巴尼亚"), "031": ("AZE", "阿塞拜疆"),
    "051": ("ARM", "亚美尼亚"), "064": ("BTN", "不丹"), "100": ("BGR", "保加利亚"),
    "104": ("MMR", "缅甸"), "112": ("BLR", "白俄罗斯"), "156": ("CHN", "中国"),
    "196": ("CYP", "塞浦路斯"), "233": ("EST", "爱沙尼亚"), "246": ("FIN", "芬兰"),
    "248": ("ALA", "奥兰"), "268": ("GEO", "格鲁吉亚"), "275": ("PSE", "巴勒斯坦"),
    "300": ("GRC", "希腊"), "348": ("HUN", "匈牙利"), "356": ("IND", "印度"),
    "364": ("IRN", "伊朗"), "368": ("IRQ", "伊拉克"), "376": ("ISR", "以色列"),
    "398": ("KAZ", "哈萨克斯坦"), "400": ("JOR", "约旦"), "408": ("PRK", "朝鲜"),
    "414": ("KWT", "科威特"), "417": ("KGZ", "吉尔吉斯斯坦"), "422": ("LBN", "黎巴嫩"),
    "428": ("LVA", "拉脱维亚"), "434": ("LBY", "利比亚"), "440": ("LTU", "立陶宛"),
    "496": ("MNG", "蒙古"), "498": ("MDA", "摩尔多瓦"), "499": ("MNE", "黑山"),
    "524": ("NPL", "尼泊尔"), "586": ("PAK", "巴基斯坦"), "616": ("POL", "波兰"),
    "642": ("ROU", "罗马尼亚"), "643": ("RUS", "俄罗斯"), "682": ("SAU", "沙特阿拉伯"),
    "688": ("SRB", "塞尔维亚"), "703": ("SVK", "斯洛伐克"), "760": ("SYR", "叙利亚"),
    "762": ("TJK", "塔吉克斯坦"), "792": ("TUR", "土耳其"), "795": ("TKM", "土库曼斯坦"),
    "804": ("UKR", "乌克兰"), "807": ("MKD", "北马其顿"), "818": ("EGY", "埃及"),
    "860": ("UZB", "乌兹别克斯坦"),
    # Further countries a wider box would take in.
    "048": ("BHR", "巴林"), "050": ("BGD", "孟加拉国"), "392": ("JPN", "日本"),
    "410": ("KOR", "韩国"), "512": ("OMN", "阿曼"), "634": ("QAT", "卡塔尔"),
    "784": ("ARE", "阿联酋"), "158": ("TWN", "台湾"),
}
# Areas Natural Earth draws without an ISO id: named in Chinese, no alpha-3 code.
UNCODED = {"Kosovo": "科索沃", "N. Cyprus": "北塞浦路斯", "Siachen Glacier": "锡亚琴冰川"}

# Where a country's label goes, where the centroid of its largest clipped part reads badly
# (Russia's centroid inside the box is far to the north; China's falls in the desert edge).
LABEL_POINTS = {"RUS": (56.0, 55.5), "CHN": (103.0, 35.0), "KAZ": (67.5, 48.3),
                "MNG": (103.0, 46.8), "IRN": (54.5, 32.5), "TUR": (35.0, 39.0)}


def find_input(argument: str | None) -> Path:
    """Return the path of countries-50m.json: the argument, else a node_modules copy."""
    candidates = [Path(argument)] if argument else [
        Path("node_modules/world-atlas/countries-50m.json"),
        Path("/tmp/wa/node_modules/world-atlas/countries-50m.json")]
    for path in candidates:
        if path.is_file():
            return path
    sys.exit("make_basemap: countries-50m.json not found; run 'npm install --prefix /tmp/wa world-atlas@2' "
             "and pass /tmp/wa/node_modules/world-atlas/countries-50m.json")


def package_version(topojson_path: Path) -> str:
    """Return world-atlas's version from the package.json next to the TopoJSON file."""
    manifest = topojson_path.parent / "package.json"
    if manifest.is_file():
        return json.loads(manifest.read_text(encoding="utf-8")).get("version", "unknown")
    return "unknown"


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Return every arc as absolute (lon, lat) points: undo the delta encoding and the quantization."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _distance_to_segment(p, a, b) -> float:
    """Return the distance from point p to segment ab, in degrees."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == dy == 0:
        return ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5


def simplify(points: list, tolerance: float) -> list:
    """Return the points Douglas-Peucker keeps at ``tolerance``; the ends always stay."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            d = _distance_to_segment(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep) if k]


def ring_from_arcs(indexes: list[int], arcs: list) -> list:
    """Return a closed ring stitched from arc indexes (``~i`` is arc i reversed)."""
    ring: list = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(arc if not ring else arc[1:])
    return ring


def _clip_edge(ring: list, inside, intersect) -> list:
    """Return the ring clipped against one edge of the box (one Sutherland-Hodgman pass)."""
    out = []
    for i, current in enumerate(ring):
        previous = ring[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(intersect(previous, current))
            out.append(current)
        elif inside(previous):
            out.append(intersect(previous, current))
    return out


def _at_x(x):
    return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))


def _at_y(y):
    return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)


def clip_ring(ring: list) -> list:
    """Return the ring clipped to the region box (closed), or [] when nothing is left."""
    points = ring[:-1] if ring and ring[0] == ring[-1] else list(ring)
    for inside, intersect in ((lambda p: p[0] >= WEST, _at_x(WEST)), (lambda p: p[0] <= EAST, _at_x(EAST)),
                              (lambda p: p[1] >= SOUTH, _at_y(SOUTH)), (lambda p: p[1] <= NORTH, _at_y(NORTH))):
        if not points:
            return []
        points = _clip_edge(points, inside, intersect)
    rounded = []
    for x, y in points:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not rounded or rounded[-1] != p:
            rounded.append(p)
    if len(rounded) < 3 or abs(ring_area(rounded)) < 1e-6:
        return []
    return [*rounded, rounded[0]]


def ring_area(ring: list) -> float:
    """Return the signed area of a ring in square degrees (shoelace formula)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1])) / 2


def ring_centroid(ring: list) -> tuple[float, float]:
    """Return the centroid (lon, lat) of a simple ring."""
    area = ring_area(ring[:-1]) or 1e-12
    pts = ring[:-1]
    cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]))
    cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]))
    return cx / (6 * area), cy / (6 * area)


def country_polygons(geometry: dict, arcs: list) -> list[list[list]]:
    """Return the country's polygons clipped to the box, each a list of rings (outer first)."""
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    out = []
    for polygon in polygons:
        rings = [clip_ring(ring_from_arcs(r, arcs)) for r in polygon]
        if rings and rings[0]:
            out.append([r for r in rings if r])
    return out


def make_feature(geometry: dict, arcs: list) -> dict | None:
    """Return the GeoJSON feature of one country inside the box, or None when it lies outside."""
    polygons = country_polygons(geometry, arcs)
    if not polygons:
        return None
    english = geometry["properties"]["name"]
    code = geometry.get("id")
    if code is not None and code not in COUNTRIES:
        sys.exit(f"make_basemap: no alpha-3 code and Chinese name for {english} ({code}); add it to COUNTRIES")
    iso_a3, name_zh = COUNTRIES[code] if code is not None else ("", UNCODED.get(english, english))
    largest = max((p[0] for p in polygons), key=lambda r: abs(ring_area(r[:-1])))
    lon, lat = LABEL_POINTS.get(iso_a3) or ring_centroid(largest)
    shape = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
             else {"type": "MultiPolygon", "coordinates": polygons})
    return {"type": "Feature", "id": iso_a3 or english,
            "properties": {"iso_a3": iso_a3, "name_en": english, "name_zh": name_zh,
                           "label": [round(lon, 2), round(lat, 2)]},
            "geometry": shape}


def make_basemap(topology: dict, version: str) -> dict:
    """Return the clipped, simplified basemap as a GeoJSON FeatureCollection."""
    arcs = [simplify(arc, TOLERANCE_DEG) for arc in decode_arcs(topology)]
    features = [f for g in topology["objects"]["countries"]["geometries"] if (f := make_feature(g, arcs))]
    features.sort(key=lambda f: (f["properties"]["iso_a3"] or "~", f["properties"]["name_en"]))
    return {"type": "FeatureCollection",
            "bbox": [WEST, SOUTH, EAST, NORTH],
            "properties": {
                "source": f"Natural Earth 1:50m admin-0 countries (public domain), via the npm package "
                          f"world-atlas {version} (countries-50m.json)",
                "made_by": "scripts/make_basemap.py",
                "simplified_tolerance_deg": TOLERANCE_DEG},
            "features": features}


def main(argv: list[str] | None = None) -> int:
    """Write the basemap; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topojson", nargs="?", help="path of world-atlas's countries-50m.json")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    source = find_input(args.topojson)
    topology = json.loads(source.read_text(encoding="utf-8"))
    basemap = make_basemap(topology, package_version(source))
    text = json.dumps(basemap, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()) / 1e6:.2f} MB, {len(basemap['features'])} countries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
