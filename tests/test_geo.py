"""The world basemap: assets, cutting to a view, the antimeridian, country names and codes."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from kzreport import geo
from kzreport.resources import assets_dir

REPO = Path(__file__).resolve().parents[1]
WORLD_ATLAS = [REPO / ".venv" / "npm" / "node_modules" / "world-atlas",  # where scripts/bootstrap.sh test puts it
               Path("/tmp/wa/node_modules/world-atlas"), REPO / "node_modules" / "world-atlas"]


def test_assets_are_small_and_cover_the_world():
    sizes = {p.name: p.stat().st_size for p in (assets_dir() / "geodata").iterdir()}
    assert set(sizes) == {"world-50m.json", "world-110m.json", "countries.json"}
    assert sum(sizes.values()) < 2_000_000
    codes = geo.country_codes()
    assert len(codes) > 230
    for code in ("KAZ", "NOR", "DNK", "DEU", "MMR", "MOZ", "TZA", "USA", "MEX", "GBR", "BRA", "AUS", "ATA", "FJI"):
        assert code in codes, code
    assert "XYZ" not in codes


def test_levels_hold_the_same_countries_in_more_or_less_detail():
    fine, coarse = geo.world(geo.FINE), geo.world(geo.COARSE)
    assert {c.code for c in coarse.countries} <= {c.code for c in fine.countries}
    assert sum(map(len, fine.arcs)) > 5 * sum(map(len, coarse.arcs))
    # Australia and its Ashmore and Cartier Islands share a code: one country, named after the main one.
    assert [c.name for c in fine.countries if c.code == "AUS"] == ["Australia"]


@pytest.mark.skipif(not any((p / "countries-50m.json").is_file() for p in WORLD_ATLAS),
                    reason="world-atlas not installed (scripts/bootstrap.sh test installs it where npm is)")
def test_the_script_makes_the_committed_assets_byte_for_byte(tmp_path):
    package = next(p for p in WORLD_ATLAS if (p / "countries-50m.json").is_file())
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_basemap.py"), str(package), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("world-50m.json", "world-110m.json", "countries.json"):
        assert (tmp_path / name).read_bytes() == (assets_dir() / "geodata" / name).read_bytes(), name


def test_level_follows_the_scale():
    assert geo.level_for(25.0) == geo.FINE  # Kazakhstan and its neighbours
    assert geo.level_for(4.0) == geo.COARSE  # the world


def _points(areas):
    """Return every (lon, lat) of the areas."""
    return [p for area in areas for polygon in area.polygons for ring in polygon for p in ring]


def test_basemap_is_clipped_to_the_view_and_deterministic():
    view = (30.0, -27.0, 46.0, -10.0)
    first = geo.basemap(view, geo.FINE, 0.0002)
    geo.basemap.cache_clear()
    again = geo.basemap(view, geo.FINE, 0.0002)
    assert first == again
    assert {"MOZ", "MDG", "TZA", "ZAF", "MWI"} <= {a.code for a in first}
    assert all(30.0 <= x <= 46.0 and -27.0 <= y <= -10.0 for x, y in _points(first))
    for area in first:
        for polygon in area.polygons:
            assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in polygon)


def test_basemap_is_simplified_to_the_tolerance():
    view = (-6.0, 50.0, 14.0, 62.0)
    detailed = len(_points(geo.basemap(view, geo.FINE, 0.00005)))
    coarse = len(_points(geo.basemap(view, geo.FINE, 0.002)))
    assert coarse < detailed / 2


def test_basemap_across_the_antimeridian_draws_both_sides():
    areas = {a.code: a for a in geo.basemap((150.0, 50.0, 210.0, 75.0), geo.FINE, 0.0002)}
    assert set(areas) >= {"RUS", "USA"}
    russia, alaska = [p[0] for p in _points([areas["RUS"]])], [p[0] for p in _points([areas["USA"]])]
    assert min(russia) == 150.0 and max(russia) > 185  # Chukotka runs on past 180°
    assert min(alaska) > 170 and max(alaska) == 210.0  # Alaska is drawn east of 180°
    assert all(150.0 <= x <= 210.0 for x in russia + alaska)


def test_antarctica_is_closed_along_the_pole_and_cut_where_mercator_stops():
    areas = {a.code: a for a in geo.basemap((-180.0, -geo.MAX_LAT, 180.0, -50.0), geo.COARSE, 0.002)}
    ys = [y for _, y in _points([areas["ATA"]])]
    assert min(ys) == pytest.approx(-geo.MAX_LAT, abs=0.01)
    # The cut runs along the map's bottom edge all the way across.
    xs = [x for x, y in _points([areas["ATA"]]) if y == min(ys)]
    assert min(xs) == -180.0 and max(xs) == 180.0


def test_arc_far_from_the_view_costs_two_points():
    cut = geo._cut_arcs(geo.FINE, (30.0, -27.0, 46.0, -10.0), 0.0002)
    data = geo.world(geo.FINE)
    far = [i for i, box in enumerate(data.boxes) if not geo._overlaps_turns(box, (30.0, -27.0, 46.0, -10.0))]
    assert len(far) > len(data.arcs) / 2
    assert all(len(cut[i]) == 2 for i in far)


def test_simplify_keeps_the_ends_and_stays_within_tolerance():
    line = [(x / 10, math.sin(x / 10) * 0.01) for x in range(100)]
    kept = geo.simplify_xy(line, 0.001)
    assert kept[0] == line[0] and kept[-1] == line[-1] and len(kept) < len(line)
    assert geo.simplify_xy(line[:2], 1.0) == line[:2]


def test_clip_ring_and_inner_point():
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert sorted(geo.clip_ring(square, (5.0, -1.0, 20.0, 20.0))) == [(5.0, 0.0), (5.0, 10.0), (10.0, 0.0), (10.0, 10.0)]
    assert geo.clip_ring(square, (20.0, 20.0, 30.0, 30.0)) == []
    x, y, depth = geo.inner_point([square], 0.1)
    assert abs(x - 5) < 0.2 and abs(y - 5) < 0.2 and abs(depth - 5) < 0.2
    # An L shape: the point lies inside it, not at its centroid in the notch.
    ell = [(0.0, 0.0), (10.0, 0.0), (10.0, 2.0), (2.0, 2.0), (2.0, 10.0), (0.0, 10.0)]
    x, y, depth = geo.inner_point([ell], 0.05)
    assert geo.contains([ell], x, y) and depth > 0.9


def test_unwrapping_longitudes():
    assert geo.unwrap_east(160.0, -170.0) == 190.0
    assert geo.unwrap_east(30.0, 60.0) == 60.0
    assert geo.unwrap_lon(-165.4, 175.0) == pytest.approx(194.6)
    assert geo.unwrap_lon(51.0, 60.0) == 51.0


def test_mercator_round_trip():
    for lat in (-80.0, -12.5, 0.0, 47.1, 84.0):
        assert geo.latitude(geo.mercator_y(lat)) == pytest.approx(lat)
    assert geo.mercator_y(90.0) == geo.mercator_y(geo.MAX_LAT)


@pytest.mark.parametrize("code, natural_earth, tag, expected", [
    ("RUS", "Russia", "en", "Russia"),
    ("RUS", "Russia", "zh-Hans", "俄罗斯"),
    ("KAZ", "Kazakhstan", "zh-Hans", "哈萨克斯坦"),
    ("NOR", "Norway", "zh-Hant", "挪威"),
    ("MKD", "Macedonia", "en", "North Macedonia"),
    ("COD", "Dem. Rep. Congo", "en", "Dem. Rep. Congo"),
    ("IRN", "Iran", "en", "Iran"),
    ("USA", "United States of America", "en", "United States"),
    ("STP", "São Tomé and Principe", "en", "São Tomé and Principe"),
    ("", "Kosovo", "en", "Kosovo"),
    ("", "Kosovo", "zh-Hans", None),
])
def test_country_names_come_from_the_datasets(code, natural_earth, tag, expected):
    assert geo.country_name(code, natural_earth, tag) == expected


def test_traditional_names_are_traditional():
    name = geo.country_name("RUS", "Russia", "zh-Hant")
    assert "俄羅斯" in name and "俄罗斯" not in name
    assert geo.country_name("UKR", "Ukraine", "zh-Hant") == "烏克蘭"


def test_every_country_of_the_basemap_has_a_name_in_every_language():
    for country in geo.world(geo.FINE).countries:
        if country.code:
            for tag in ("en", "zh-Hans", "zh-Hant"):
                assert geo.country_name(country.code, country.name, tag), (country.code, tag)


def test_model_check_loads_no_folium():
    code = ("import sys; from kzreport.loader import load_source; "
            f"load_source({str(REPO / 'tests' / 'fixtures' / 'map-regions.yaml')!r}); "
            "print('folium' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
