"""Make the world basemap in assets/geodata/: Natural Earth country outlines for the maps, offline.

The outlines come from the npm package ``world-atlas`` (Natural Earth admin-0 countries as
TopoJSON, public domain). Install it outside the repository, then run:

    npm install --prefix /tmp/wa world-atlas@2
    .venv/bin/python scripts/make_basemap.py /tmp/wa/node_modules/world-atlas

Without an argument the script looks for ``node_modules/world-atlas`` in the current folder
and in /tmp/wa. It writes three files:

- ``world-50m.json`` and ``world-110m.json``: the whole world at 1:50m (for maps of a region)
  and 1:110m (for maps of a continent or more). Each keeps world-atlas's quantized,
  delta-encoded arcs as they are (lossless and compact: shared borders are stored once),
  with every arc flattened to ``[x0, y0, dx1, dy1, ...]`` and only the arcs countries use;
  each country is its ISO 3166-1 alpha-3 code, Natural Earth's short English name and its
  polygons as lists of rings of arc indexes (``~i`` is arc ``i`` reversed). kzreport
  clips and simplifies them to each map's bounds when it builds the map (``kzreport.geo``).
- ``countries.json``: alpha-3 code -> Natural Earth name of every country of the basemap,
  which ``kzreport validate`` reads to check a map's ``highlight`` codes.

Alpha-3 codes come from pycountry's ISO 3166-1 table by the numeric code world-atlas gives;
areas Natural Earth draws without a code (Kosovo, N. Cyprus, Somaliland, ...) keep their
name and no code. Two features with one code (Australia and its Ashmore and Cartier Islands)
become one country. The same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "assets" / "geodata"
LEVELS = ("50m", "110m")


def find_package(argument: str | None) -> Path:
    """Return the folder of the world-atlas package: the argument, else a node_modules copy."""
    candidates = [Path(argument)] if argument else [Path("node_modules/world-atlas"),
                                                    Path("/tmp/wa/node_modules/world-atlas")]
    for path in candidates:
        if path.is_file():  # a countries-*.json file was named: use its folder
            path = path.parent
        if all((path / f"countries-{level}.json").is_file() for level in LEVELS):
            return path
    sys.exit("make_basemap: world-atlas not found; run 'npm install --prefix /tmp/wa world-atlas@2' "
             "and pass /tmp/wa/node_modules/world-atlas")


def package_version(package: Path) -> str:
    """Return world-atlas's version from its package.json."""
    manifest = package / "package.json"
    if manifest.is_file():
        return json.loads(manifest.read_text(encoding="utf-8")).get("version", "unknown")
    return "unknown"


def alpha3(numeric: str | None) -> str:
    """Return the ISO 3166-1 alpha-3 code of a numeric code ('' for areas without one)."""
    import pycountry

    if numeric is None:
        return ""
    country = pycountry.countries.get(numeric=numeric)
    if country is None:
        sys.exit(f"make_basemap: pycountry knows no country with numeric code {numeric}; update pycountry")
    return country.alpha_3


def _polygons(geometry: dict) -> list:
    """Return a geometry's polygons (lists of rings of arc indexes)."""
    return geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]


def _size(geometry: dict) -> int:
    """Return how many arc references a geometry has: which of two features with one code is the main one."""
    return sum(len(ring) for polygon in _polygons(geometry) for ring in polygon)


def countries_of(topology: dict) -> list[dict]:
    """Return the countries (code, name, polygons), features sharing a code merged, sorted by code then name."""
    merged: dict[str, dict] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        code = alpha3(geometry.get("id"))
        name = geometry["properties"]["name"]
        key = code or name
        entry = merged.setdefault(key, {"code": code, "name": name, "polygons": [], "size": 0})
        if _size(geometry) > entry["size"]:  # the main feature names the country
            entry["name"], entry["size"] = name, _size(geometry)
        entry["polygons"] += _polygons(geometry)
    countries = sorted(merged.values(), key=lambda c: (c["code"] or "~", c["name"]))
    return [{"code": c["code"], "name": c["name"], "polygons": c["polygons"]} for c in countries]


def renumber_arcs(topology: dict, countries: list[dict]) -> list[list[int]]:
    """Return the arcs the countries use, flattened, in their original order; rewrite the countries' indexes."""
    used = sorted({i if i >= 0 else ~i for c in countries for polygon in c["polygons"] for ring in polygon
                   for i in ring})
    new_index = {old: new for new, old in enumerate(used)}
    for country in countries:
        country["polygons"] = [[[new_index[i] if i >= 0 else ~new_index[~i] for i in ring] for ring in polygon]
                               for polygon in country["polygons"]]
    return [[value for point in topology["arcs"][old] for value in point] for old in used]


def make_level(topology: dict, level: str, version: str) -> dict:
    """Return one level of the basemap: transform, arcs and countries."""
    countries = countries_of(topology)
    arcs = renumber_arcs(topology, countries)
    return {"source": f"Natural Earth 1:{level} admin-0 countries (public domain), via the npm package "
                      f"world-atlas {version} (countries-{level}.json)",
            "made_by": "scripts/make_basemap.py",
            "scale": topology["transform"]["scale"], "translate": topology["transform"]["translate"],
            "arcs": arcs, "countries": countries}


def write_json(path: Path, data: dict) -> int:
    """Write compact, sorted JSON; return its size in bytes."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Write the basemap files; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", help="folder of the world-atlas npm package")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="folder to write into (default: assets/geodata)")
    args = parser.parse_args(argv)
    package = find_package(args.package)
    version = package_version(package)
    args.out.mkdir(parents=True, exist_ok=True)
    index: dict[str, str] = {}
    for level in LEVELS:
        topology = json.loads((package / f"countries-{level}.json").read_text(encoding="utf-8"))
        data = make_level(topology, level, version)
        size = write_json(args.out / f"world-{level}.json", data)
        for country in data["countries"]:
            if country["code"]:
                index.setdefault(country["code"], country["name"])
        print(f"wrote {args.out / f'world-{level}.json'} ({size / 1e6:.2f} MB, {len(data['countries'])} countries)")
    size = write_json(args.out / "countries.json",
                      {"source": f"Natural Earth via world-atlas {version}; codes from pycountry",
                       "made_by": "scripts/make_basemap.py", "countries": index})
    print(f"wrote {args.out / 'countries.json'} ({size / 1e3:.1f} kB, {len(index)} codes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
