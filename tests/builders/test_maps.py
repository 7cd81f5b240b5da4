"""The maps builder: real Folium HTML, real Chromium PNGs, escaping, offline, reproducible, cached."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from kzreport.build import BuildOptions, Reporter, build, load_project
from kzreport.builders.maps import (PDF, RASTER_SCALE, RASTER_VIEWPORT, SLIDE, MapsBuilder, cached_png,
                                    html_text, render_map_html)
from kzreport.rasterize import STATS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTILE_LINE = "</script><script>alert(1)</script>"
HOSTILE_PLACE = "`${x}` \\ <b>bold</b> & 'q'"


@pytest.fixture(autouse=True)
def map_cache(tmp_path, monkeypatch) -> Path:
    """Point the map cache at an empty folder of the test's own."""
    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "maps"


@pytest.fixture
def maps_source(tmp_path) -> Path:
    """Return a copy of the maps fixture."""
    return Path(shutil.copy(FIXTURES / "maps.yaml", tmp_path / "maps.yaml"))


@pytest.fixture
def hostile_source(tmp_path) -> Path:
    """Return the maps fixture with a script-injecting pipeline name and a template-literal place name."""
    text = (FIXTURES / "maps.yaml").read_text(encoding="utf-8")
    text = text.replace("name: 跨里海油轮航线", "name: '" + HOSTILE_LINE + "'", 1)
    text = text.replace("name: 阿特劳, alt_name: Atyrau", "name: '" + HOSTILE_PLACE.replace("'", "''") + "', alt_name: Atyrau", 1)
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited_fixture(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, str]:
    """Return a copy of a fixture with ``old`` replaced by ``new`` once (it must be there), and its text."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    source = tmp_path / "bad.yaml"
    source.write_text(text, encoding="utf-8")
    return source, text


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based line and column of ``offset`` in ``text``."""
    return text[:offset].count("\n") + 1, offset - text.rfind("\n", 0, offset)


def project_for(source: Path, out: Path, **options):
    """Return a loaded project writing into ``out``."""
    return load_project(source, BuildOptions(out_dir=out, formats=("maps",), **options), Reporter(0))


def map_html(source: Path, out: Path) -> str:
    """Return the screen HTML of the source's first map."""
    project = project_for(source, out)
    return render_map_html(project, project.source.maps[0])


def test_html_text_escapes_for_html_and_template_literals():
    escaped = html_text(HOSTILE_LINE + HOSTILE_PLACE)
    assert not set("<>`$\\'\"") & set(escaped)
    assert "&lt;/script&gt;" in escaped and "&#96;&#36;{x}&#96;" in escaped


def test_hostile_names_do_not_reach_the_page_as_markup(hostile_source, tmp_path):
    page = map_html(hostile_source, tmp_path / "out")
    assert "<script>alert" not in page and "alert(1)</script>" not in page
    assert page.count("</script>") == page.count("<script>")  # no script closed early
    assert "${x}" not in page and "`${" not in page
    # The names are there, HTML-escaped inside JSON strings (& written as \u0026).
    assert "\\u0026lt;/script\\u0026gt;\\u0026lt;script\\u0026gt;alert(1)" in page
    assert "\\u0026#96;\\u0026#36;{x}\\u0026#96;" in page


def test_html_loads_nothing_from_the_network(maps_source, tmp_path):
    page = map_html(maps_source, tmp_path / "out")
    # Leaflet's own code mentions https://leafletjs.com in a string; what matters is what the page loads.
    assert not re.search(r"""<(script|img|iframe)\b[^>]*\bsrc\s*=""", page, re.I)
    assert not re.search(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", page, re.I)
    assert "@import" not in page
    assert "L.version=" in page.replace(" ", "") or 't.version="1.9.4"' in page  # Leaflet is inlined
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()


def test_html_is_reproducible(maps_source, tmp_path):
    first = map_html(maps_source, tmp_path / "a")
    second = map_html(maps_source, tmp_path / "b")
    assert first == second
    assert not re.search(r"[0-9a-f]{32}", first), "a random Folium id is left in the page"


def test_html_shows_the_source_text(maps_source, tmp_path):
    page = map_html(maps_source, tmp_path / "out")
    for text in ("哈萨克斯坦", "俄罗斯", "新罗西斯克", "测试出口通道", "原油管道（曾中断）", "油轮航线", "地点",
                 "底图：Natural Earth（公有领域）", "CPC pipeline, Tengiz–Novorossiysk"):
        assert text in page
    assert '<html lang="zh-Hans">' in page


def test_cached_png_is_none_for_an_unknown_map_or_an_empty_cache(maps_source, tmp_path):
    project = project_for(maps_source, tmp_path / "out")
    assert cached_png(project, "routes") is None
    assert cached_png(project, "no-such-map") is None


# --- with the browser -------------------------------------------------------------------------


def _pixel(lat: float, lon: float, bounds) -> tuple[int, int]:
    """Return where (lat, lon) lands in the PNG, as Leaflet's fitBounds (zoomSnap 0) places it.

    Bounds across the antimeridian (west > east) are drawn from west to east + 360°.
    """

    def merc(la, lo):
        return math.radians(lo), math.asinh(math.tan(math.radians(la)))

    east = bounds.east + 360 if bounds.east < bounds.west else bounds.east
    if bounds.east < bounds.west and lon < bounds.west - 90:
        lon += 360
    x0, y0 = merc(bounds.south, bounds.west)
    x1, y1 = merc(bounds.north, east)
    scale = min(RASTER_VIEWPORT[0] / (x1 - x0), RASTER_VIEWPORT[1] / (y1 - y0))
    x, y = merc(lat, lon)
    px = RASTER_VIEWPORT[0] / 2 + (x - (x0 + x1) / 2) * scale
    py = RASTER_VIEWPORT[1] / 2 - (y - (y0 + y1) / 2) * scale
    return round(px * RASTER_SCALE), round(py * RASTER_SCALE)


def _colour_near(image: Image.Image, at: tuple[int, int], colour: str, radius: int = 24) -> bool:
    """Return whether a pixel within ``radius`` of ``at`` has ``colour`` (within a small tolerance)."""
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    x, y = at
    for px in range(x - radius, x + radius + 1, 2):
        for py in range(y - radius, y + radius + 1, 2):
            if all(abs(a - b) <= 12 for a, b in zip(image.getpixel((px, py)), target)):
                return True
    return False


@pytest.mark.browser
def test_build_writes_html_and_a_drawn_png(maps_source, tmp_path, map_cache):
    out = tmp_path / "out"
    launches = STATS.launches
    build([maps_source], BuildOptions(out_dir=out, formats=("maps",)), Reporter(0))
    assert STATS.launches == launches + 1 and STATS.aborted == []
    assert (out / "maps" / "routes.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    image = Image.open(out / "maps" / "routes.png").convert("RGB")
    assert image.size == PDF.pixels == (1928, 1084)
    with Image.open(out / "maps" / "routes.slide.png") as slide:
        assert slide.size == SLIDE.pixels == (3024, 1169)
    project = project_for(maps_source, out)
    spec, theme = project.source.maps[0], project.theme.map
    assert len(image.resize((288, 162)).getcolors(maxcolors=1 << 16)) > 50  # not blank
    cpc, tanker = spec.pipelines
    # The disrupted CPC line between Astrakhan and Novorossiysk, the tanker route across the Caspian.
    mid_cpc = _pixel((cpc.waypoints[1].lat + cpc.waypoints[2].lat) / 2, (cpc.waypoints[1].lon + cpc.waypoints[2].lon) / 2, spec.bounds)
    assert _colour_near(image, mid_cpc, theme.crude_oil)
    mid_tanker = _pixel((tanker.waypoints[0].lat + tanker.waypoints[1].lat) / 2,
                        (tanker.waypoints[0].lon + tanker.waypoints[1].lon) / 2, spec.bounds)
    assert _colour_near(image, mid_tanker, theme.tanker)
    # The place markers sit where Atyrau and Novorossiysk project (dark ring of the marker).
    for place in spec.places:
        assert _colour_near(image, _pixel(place.lat, place.lon, spec.bounds), theme.label, radius=14)
    assert not _colour_near(image, mid_cpc, theme.gas, radius=40)  # no gas line drawn there
    assert len(list(map_cache.glob("*.png"))) == 2  # the PDF's raster and the slide's


@pytest.mark.browser
@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "not a png", "a folder"])
def test_a_corrupt_cache_entry_is_dropped_and_the_map_drawn_again(maps_source, tmp_path, map_cache, damage):
    options = BuildOptions(out_dir=tmp_path / "out", formats=("maps",))
    build([maps_source], options, Reporter(0))
    good = (tmp_path / "out" / "maps" / "routes.png").read_bytes()
    entry = next(p for p in map_cache.glob("*.png") if p.read_bytes() == good)
    if damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "flipped byte":
        entry.write_bytes(good[:5000] + bytes([good[5000] ^ 0xFF]) + good[5001:])
    elif damage == "not a png":
        entry.write_text("<html>not an image</html>")
    else:
        entry.unlink()
        entry.mkdir()
    launches = STATS.launches
    build([maps_source], options, Reporter(0))
    assert STATS.launches == launches + 1, "a damaged entry must be drawn again, not used"
    assert (tmp_path / "out" / "maps" / "routes.png").read_bytes() == good
    if damage != "a folder":
        assert entry.read_bytes() == good, "the redrawn map replaces the damaged entry"


@pytest.mark.browser
def test_second_build_uses_the_cache_and_no_browser(maps_source, tmp_path):
    options = BuildOptions(out_dir=tmp_path / "out", formats=("maps",))
    build([maps_source], options, Reporter(0))
    first = (tmp_path / "out" / "maps" / "routes.png").read_bytes()
    launches = STATS.launches
    build([maps_source], options, Reporter(0))
    assert STATS.launches == launches, "a cached map started the browser"
    assert (tmp_path / "out" / "maps" / "routes.png").read_bytes() == first
    assert cached_png(project_for(maps_source, tmp_path / "other"), "routes") == first
    build([maps_source], BuildOptions(out_dir=tmp_path / "out", formats=("maps",), use_cache=False), Reporter(0))
    assert STATS.launches == launches + 1, "--no-cache must draw the map again"
    assert cached_png(project_for(maps_source, tmp_path / "x", use_cache=False), "routes") is None


@pytest.mark.browser
def test_hostile_names_show_as_text_in_the_browser(hostile_source, tmp_path):
    from playwright.sync_api import sync_playwright

    from kzreport.rasterize import BROWSER_ARGS, find_browser

    page_html = map_html(hostile_source, tmp_path / "out")
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 700})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.set_content(page_html)
            page.wait_for_function("() => window.kzreportReady === true", timeout=20000)
            labels = page.locator(".kz-label").all_inner_texts()
            popups = page.evaluate("""() => {
                const texts = [];
                window.kzreportMap.eachLayer(layer => {
                    if (layer.getPopup && layer.getPopup()) {
                        layer.openPopup();
                        texts.push(layer.getPopup().getElement().innerText);
                        layer.closePopup();
                    }
                });
                return texts;
            }""")
        finally:
            browser.close()
    assert HOSTILE_PLACE in labels
    assert any(HOSTILE_LINE in text for text in popups), popups
    assert dialogs == [] and requests == []


@pytest.mark.browser
def test_builder_adds_outputs_without_writing(maps_source, tmp_path):
    project = project_for(maps_source, tmp_path / "out")
    builder = MapsBuilder()
    builder.build(project, Reporter(0))
    builder.finish(Reporter(0))
    maps_dir = tmp_path / "out" / "maps"
    assert set(project.outputs) == {maps_dir / "routes.html", maps_dir / "routes.png", maps_dir / "routes.slide.png"}
    assert not (tmp_path / "out").exists()
    assert project.map_image("routes") == project.outputs[maps_dir / "routes.png"]
    assert project.map_image("routes", target="slide") == project.outputs[maps_dir / "routes.slide.png"]
    assert project.map_image("routes", target="slide") != project.map_image("routes")


@pytest.mark.browser
def test_a_batch_draws_every_map_in_one_browser(maps_source, tmp_path):
    second = tmp_path / "second.yaml"
    text = maps_source.read_text(encoding="utf-8").replace("测试出口通道", "第二张地图")
    second.write_text(text.replace("maps: [routes]", "maps: [routes-2]").replace("  - id: routes", "  - id: routes-2"),
                      encoding="utf-8")
    launches = STATS.launches
    build([maps_source, second], BuildOptions(out_dir=tmp_path / "out", formats=("maps",), use_cache=False),
          Reporter(0))
    assert STATS.launches == launches + 1
    assert len({p.read_bytes() for p in (tmp_path / "out").rglob("*.png")}) == 4  # two maps, two targets each


def test_two_sources_writing_one_file_differently_is_an_input_error(maps_source, tmp_path, cli):
    second = tmp_path / "second.yaml"
    second.write_text(maps_source.read_text(encoding="utf-8").replace("测试出口通道", "第二张地图"), encoding="utf-8")
    status, _, err = cli("build", maps_source, second, "--format", "md,maps", "--out", tmp_path / "out", "--no-cache")
    assert status == 2 and "maps/routes.html" in err and "--out" in err
    assert not (tmp_path / "out").exists()


# --- any region, any language -------------------------------------------------------------------------

HAN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def regions_project(tmp_path):
    """Return the project of the English regions fixture."""
    return project_for(FIXTURES / "map-regions.yaml", tmp_path / "out")


def test_english_brief_writes_english_names_and_words(tmp_path):
    project = regions_project(tmp_path)
    page = render_map_html(project, project.source.map("north-sea"))
    assert '<html lang="en">' in page
    for text in ("Norway", "Denmark", "Germany", "United Kingdom", "Netherlands", "Crude oil pipeline (halted)",
                 "Gas pipeline (damaged)", "Places", "halted, January 2023 – March 2023",
                 "damaged, since September 2022", "Estimated positions: Draupner", "Sources: article: Test article",
                 "Oil terminal"):
        assert text in page, text
    # The map's own words are English: no Han character anywhere in the page (the brief has none either).
    assert not HAN.search(page), HAN.search(page)
    # Latin names are set in the theme's Latin face first.
    assert 'font-family: "Noto Sans", "Noto Sans CJK SC"' in page


def test_every_map_of_an_english_brief_is_free_of_han(tmp_path):
    project = regions_project(tmp_path)
    for spec in project.source.maps:
        assert not HAN.search(render_map_html(project, spec)), spec.id


def test_traditional_brief_writes_traditional_names(tmp_path):
    project = project_for(FIXTURES / "map-hant.yaml", tmp_path / "out")
    page = render_map_html(project, project.source.maps[0])
    assert '<html lang="zh-Hant">' in page
    assert "俄羅斯" in page and "俄罗斯" not in page
    assert "烏克蘭" in page and "乌克兰" not in page
    for text in ("原油管道（曾中斷）", "地點", "曾中斷，2022年3月至2022年8月", "長度：1,511 公里", "估計位置：",
                 "石油碼頭（位置為估計）", "來源：w2：Caspian Pipeline Consortium"):
        assert text in page, text
    assert 'font-family: "Noto Sans CJK TC", "Noto Sans"' in page


def test_simplified_popups_say_status_and_dates(maps_source, tmp_path):
    page = map_html(maps_source, tmp_path / "out")
    for text in ("原油管道 · 曾中断，2022年3月至2022年8月", "运力：6,700万吨/年", "长度：1,511 公里",
                 "中断记录：", "估计位置：", "来源：w2：Caspian Pipeline Consortium", "石油码头"):
        assert text in page, text


def test_no_interface_word_is_typed_in_the_code():
    import kzreport.builders.maps as maps

    source = Path(maps.__file__).read_text(encoding="utf-8")
    assert not HAN.search(source), HAN.search(source)
    for name in ("KIND_LABELS", "STATUS_LABELS", "PLACE_KIND_LABELS"):
        assert not hasattr(maps, name)


def test_font_names_are_escaped_for_css(tmp_path):
    theme = (Path(__file__).resolve().parents[2] / "templates" / "theme.yaml").read_text(encoding="utf-8")
    hostile = "</style><script>alert(1)</script>"
    theme = theme.replace("hans: Noto Sans CJK SC", f"hans: '{hostile}'", 1)
    assert hostile in theme
    path = tmp_path / "theme.yaml"
    path.write_text(theme, encoding="utf-8")
    project = project_for(FIXTURES / "maps.yaml", tmp_path / "out", theme_file=path)
    page = render_map_html(project, project.source.maps[0])
    assert "alert(1)" not in page
    assert page.count("</style>") == page.count("<style>")
    assert '"\\00003c\\00002fstyle\\00003e' in page  # the name is there, as a CSS string


def test_legend_words_and_swatches_are_shared(tmp_path):
    from kzreport.builders.maps import legend_entries, route_legend_label, route_style, route_swatch_svg
    from kzreport.model import Pipeline

    project = regions_project(tmp_path)
    colors, words = project.theme.map, project.words
    norpipe, europipe = project.source.map("north-sea").pipelines
    assert route_legend_label(europipe, words) == "Gas pipeline (damaged)"
    assert route_legend_label(norpipe, words) == "Crude oil pipeline (halted)"
    swatch = route_swatch_svg(europipe, colors)
    assert swatch.startswith("<svg") and f'stroke="{colors.gas}"' in swatch and "stroke-dasharray" in swatch
    conveyor = Pipeline(id="belt", name="Belt", kind="other", label="Conveyor belt", sources=["article"],
                        waypoints=[{"name": "a", "lat": 1, "lon": 1}, {"name": "b", "lat": 2, "lon": 2}])
    assert route_legend_label(conveyor, words) == "Conveyor belt"
    assert "stroke-dasharray" not in route_swatch_svg(conveyor, colors)
    assert route_style(conveyor, colors)["color"] == colors.other
    # One entry per kind and status, crude oil before gas; every status keeps its kind's colour.
    entries = legend_entries(project.source.map("north-sea"), colors, words)
    assert [label for label, _ in entries] == ["Crude oil pipeline (halted)", "Gas pipeline (damaged)"]
    assert [style["color"] for _, style in entries] == [colors.crude_oil, colors.gas]


def test_every_status_has_its_own_dashes_in_the_kinds_colour(tmp_path):
    from kzreport.builders.maps import route_style
    from kzreport.model import ROUTE_KINDS, ROUTE_STATUSES, Pipeline

    colors = project_for(FIXTURES / "maps.yaml", tmp_path / "out").theme.map
    looks = set()
    for status in ROUTE_STATUSES:
        line = Pipeline(id="p", name="P", kind="gas", status=status, sources=["article"],
                        waypoints=[{"name": "a", "lat": 1, "lon": 1}, {"name": "b", "lat": 2, "lon": 2}])
        style = route_style(line, colors)
        assert style["color"] == colors.gas
        looks.add((style.get("dashArray"), style["weight"], style["opacity"]))
    assert len(looks) == len(ROUTE_STATUSES)
    assert len({getattr(colors, kind) for kind in ROUTE_KINDS}) == len(ROUTE_KINDS)


def test_map_across_the_antimeridian_draws_both_sides(tmp_path):
    project = regions_project(tmp_path)
    spec = project.source.map("bering")
    page = render_map_html(project, spec)
    assert "fitBounds([[52.0,160.0],[70.0,210.0]]" in page
    assert "[64.5, 194.6]" in page  # Nome, west of the meridian, drawn east of 180°
    from kzreport.builders.maps import basemap_geojson

    lons = {feature["properties"]["highlight"]: [] for feature in basemap_geojson(spec)["features"]}
    for feature in basemap_geojson(spec)["features"]:
        lons[feature["properties"]["highlight"]] += [p[0] for polygon in feature["geometry"]["coordinates"]
                                                     for ring in polygon for p in ring]
    assert min(lons[True]) < 175 and max(lons[True]) > 200  # Chukotka and Alaska


@pytest.mark.parametrize("old, new, at, where, message", [
    ("highlight: [NOR, DNK, DEU]", "highlight: [NOR, XYZ, DEU]", "XYZ", "maps[1].highlight[1]",
     "unknown country code 'XYZ'; highlight takes ISO 3166-1 alpha-3 codes of the basemap such as KAZ, NOR"),
    ("{south: 9.0, west: 88.0, north: 29.0, east: 106.0}", "{south: 29.0, west: 88.0, north: 9.0, east: 106.0}",
     "{south: 29.0", "maps[2].bounds", "south must be below north"),
    ("{south: 9.0, west: 88.0, north: 29.0, east: 106.0}", "{south: 9.0, west: 88.0, north: 29.0, east: 88.0}",
     "{south: 9.0", "maps[2].bounds", "west left of east"),
    ("{south: -60.0, west: -180.0, north: 80.0, east: 180.0}", "{south: -60.0, west: -180.0, north: 89.0, east: 180.0}",
     "{south: -60.0", "maps[5].bounds", "web maps stop at 85° north and south"),
])
def test_bad_highlight_or_bounds_is_a_located_error(tmp_path, cli, old, new, at, where, message):
    source, text = edited_fixture(tmp_path, "map-regions.yaml", old, new)
    line, column = line_and_column(text, text.index(new) + new.index(at))
    status, _, err = cli("validate", source)
    assert status == 2
    assert f"bad.yaml:{line}:{column}: {where}: " in err and message in err, err


def test_antimeridian_bounds_are_valid(tmp_path, cli):
    status, out, err = cli("validate", FIXTURES / "map-regions.yaml")
    assert status == 0, err


REGION_POINTS = {
    # map id: (lat, lon, what the pixel shows), points far from labels, routes and borders.
    "mozambique": [(-13.0, 36.5, "highlight"), (-20.5, 40.5, "water"), (-18.5, 46.5, "land"),
                   (-16.0, 29.5, "land")],
    "north-sea": [(55.0, 3.5, "water"), (57.2, -4.5, "land"), (59.2, 8.0, "highlight"), (53.0, -8.0, "land"),
                  (50.6, -3.0, "water")],
    "myanmar": [(23.8, 95.0, "highlight"), (15.0, 90.0, "water"), (17.0, 99.8, "land"), (11.0, 106.5, "land"),
                (18.0, 89.5, "water")],
    "gulf-of-mexico": [(25.0, -90.0, "water"), (31.2, -86.0, "highlight"), (24.5, -100.5, "highlight"),
                       (21.8, -79.0, "land")],
    "bering": [(66.0, 172.0, "highlight"), (65.2, -154.0, "highlight"), (58.0, 180.0, "water"),
               (62.0, -172.0, "water")],
}


@pytest.fixture(scope="module")
def region_pngs(tmp_path_factory) -> dict[str, Image.Image]:
    """Return the PNG of each map of the regions fixture, drawn in one build."""
    out = tmp_path_factory.mktemp("regions")
    build([FIXTURES / "map-regions.yaml"], BuildOptions(out_dir=out, formats=("maps",), use_cache=False), Reporter(0))
    return {path.stem: Image.open(path).convert("RGB") for path in (out / "maps").glob("*.png")}


def _colour_at(image: Image.Image, at: tuple[int, int]) -> tuple[int, ...]:
    """Return the colour of a 5 × 5 patch around ``at``, which must be flat (no border or label there)."""
    x, y = at
    colours = {image.getpixel((px, py)) for px in range(x - 2, x + 3) for py in range(y - 2, y + 3)}
    assert len(colours) == 1, f"not a flat patch at {at}: {colours}"
    return colours.pop()


@pytest.mark.browser
@pytest.mark.parametrize("map_id", sorted(REGION_POINTS))
def test_land_is_drawn_where_land_is(region_pngs, map_id, tmp_path):
    project = regions_project(tmp_path)
    spec, colors = project.source.map(map_id), project.theme.map
    image = region_pngs[map_id]
    for lat, lon, what in REGION_POINTS[map_id]:
        expected = tuple(int(getattr(colors, what)[i:i + 2], 16) for i in (1, 3, 5))
        found = _colour_at(image, _pixel(lat, lon, spec.bounds))
        assert all(abs(a - b) <= 3 for a, b in zip(found, expected)), (map_id, lat, lon, what, found, expected)


@pytest.mark.browser
def test_world_map_draws_every_continent(region_pngs, tmp_path):
    project = regions_project(tmp_path)
    spec, colors = project.source.map("world"), project.theme.map
    land = tuple(int(colors.land[i:i + 2], 16) for i in (1, 3, 5))
    # Inland points of South America, Africa, Australia, North America and Asia, and the Pacific.
    for lat, lon in ((-8.0, -60.0), (26.0, 30.0), (-31.0, 121.0), (45.0, -100.0), (60.0, 100.0)):
        assert _colour_at(region_pngs["world"], _pixel(lat, lon, spec.bounds)) == land, (lat, lon)
    water = tuple(int(colors.water[i:i + 2], 16) for i in (1, 3, 5))
    assert _colour_at(region_pngs["world"], _pixel(0.0, -140.0, spec.bounds)) == water


# --- layout read back from the page: labels, legend, parallel routes, sizes per target ---------------------

BRIEFS = Path(__file__).resolve().parents[2] / "briefs"
LAYOUT_SOURCES = {"myanmar": FIXTURES / "myanmar-pipelines.yaml", "europe": FIXTURES / "europe-gas.en.yaml",
                  "kazakhstan": BRIEFS / "kazakhstan-2022.yaml", "kazakhstan-en": BRIEFS / "kazakhstan-2022.en.yaml",
                  "mozambique": FIXTURES / "mozambique-lng.zh-Hant.yaml"}
MEASURE_PAGE = """(CASING) => {
    const map = window.kzreportMap;
    const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    // A label's text as drawn: the text's own width, the line box's height.
    const textBox = el => { const range = document.createRange(); range.selectNodeContents(el);
        const t = range.getBoundingClientRect(), r = el.getBoundingClientRect(); return [t.left, r.top, t.right, r.bottom]; };
    const labels = [...document.querySelectorAll('.kz-label, .kz-country span')].map(el => ({
        text: el.textContent, box: textBox(el), font: parseFloat(getComputedStyle(el).fontSize),
        place: el.dataset.place || null}));
    const markers = [], routes = [];
    map.eachLayer(layer => {
        if (layer instanceof L.CircleMarker) {
            const p = map.latLngToContainerPoint(layer.getLatLng());
            markers.push([p.x, p.y, layer.getRadius() + layer.options.weight / 2]);
        } else if (layer instanceof L.Polyline && !(layer instanceof L.Polygon) && !layer.feature
                   && layer.options.color !== CASING) {
            routes.push({color: layer.options.color, weight: layer.options.weight, points: layer.getLatLngs().map(ll => {
                const p = map.latLngToContainerPoint(ll); return [p.x, p.y]; })});
        }
    });
    const furniture = ['.kz-legend', '.leaflet-control-scale', '.leaflet-control-attribution']
        .map(s => rect(document.querySelector(s)));
    const legendFont = parseFloat(getComputedStyle(document.querySelector('.kz-legend-row')).fontSize);
    const highlighted = [...document.querySelectorAll('.kz-highlight span')].map(el => el.textContent);
    return {labels, markers, routes, furniture, legendFont, highlighted};
}"""


def _boxes_meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _circle_meets_box(x, y, r, box) -> bool:
    dx = max(box[0] - x, 0, x - box[2])
    dy = max(box[1] - y, 0, y - box[3])
    return dx * dx + dy * dy < r * r


def _segment_meets_box(a, b, box) -> bool:
    from kzreport.maplayout import segment_crosses

    return segment_crosses(box, tuple(a), tuple(b))


CLUSTER_PLACES = """
      - {id: inkoo, name: Inkoo LNG, kind: lng_terminal, lat: 60.04, lon: 24.0, sources: [w-nord-stream]}
      - {id: helsinki, name: Helsinki, kind: capital, lat: 60.17, lon: 24.94, sources: [w-nord-stream]}
      - {id: dornum, name: Dornum, kind: compressor_station, lat: 53.65, lon: 7.43, sources: [w-nord-stream]}
      - {id: goleniow, name: Goleniów, kind: compressor_station, lat: 53.56, lon: 14.83, sources: [w-nord-stream]}
      - {id: ust-luga, name: Ust-Luga, kind: port, lat: 59.66, lon: 28.1, sources: [w-nord-stream]}
      - {id: vyborg, name: Vyborg, kind: city, lat: 60.55, lon: 28.07, sources: [w-nord-stream]}
      - {id: tallinn, name: Tallinn, kind: capital, lat: 59.44, lon: 24.75, sources: [w-nord-stream]}
      - {id: copenhagen, name: Copenhagen, kind: capital, lat: 55.68, lon: 12.57, sources: [w-nord-stream]}
      - {id: berlin, name: Berlin, kind: capital, lat: 52.52, lon: 13.4, sources: [w-nord-stream]}
    pipelines:
"""


def cluster_source(folder: Path) -> Path:
    """Return the European gas brief with a crowded Baltic: Inkoo beside Helsinki, Dornum beside
    Wilhelmshaven, Goleniów beside Świnoujście and Lubmin, the Nord Stream ends, four capitals."""
    text = (FIXTURES / "europe-gas.en.yaml").read_text(encoding="utf-8")
    assert "\n    pipelines:\n" in text
    path = folder / "europe-cluster.en.yaml"
    path.write_text(text.replace("\n    pipelines:\n", CLUSTER_PLACES, 1), encoding="utf-8")
    return path


STRIP_PLACES = "".join(
    f"      - {{id: s{n}, name: 南{n}, kind: city, lat: 39.5, lon: {lon}}}\n" for n, lon in enumerate(range(34, 63, 4))
) + "      - {id: nw, name: 西北, kind: city, lat: 51.4, lon: 34.8}\n"


def strip_source(folder: Path) -> Path:
    """Return the maps fixture with places all along its bottom edge and in its top left corner: no corner
    but the top right is free, so the scale and the credit go into a strip below the map."""
    text = (FIXTURES / "maps.yaml").read_text(encoding="utf-8")
    assert "\n    pipelines:\n" in text
    path = folder / "strip.yaml"
    path.write_text(text.replace("\n    pipelines:\n", "\n" + STRIP_PLACES + "    pipelines:\n", 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def measured_pages(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """Return, per (source, target), what the page of its first map draws, read back in the browser."""
    from playwright.sync_api import sync_playwright

    from kzreport.builders.maps import TARGETS, print_html
    from kzreport.rasterize import BROWSER_ARGS, find_browser

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=BROWSER_ARGS)
        try:
            sources = {**LAYOUT_SOURCES, "cluster": cluster_source(tmp_path_factory.mktemp("cluster")),
                       "strip": strip_source(tmp_path_factory.mktemp("strip"))}
            for name, source in sources.items():
                project = project_for(source, Path("/nonexistent/out"))
                spec = project.source.maps[0]
                for target_name, target in TARGETS.items():
                    page = browser.new_page(viewport={"width": target.viewport[0], "height": target.viewport[1]})
                    page.set_content(print_html(project, spec, target))
                    page.wait_for_function("() => window.kzreportReady === true", timeout=30000)
                    found[name, target_name] = {**page.evaluate(MEASURE_PAGE, project.theme.map.casing),
                                                "spec": spec, "target": target}
                    page.close()
        finally:
            browser.close()
    return found


PAGES = [(name, target) for name in [*LAYOUT_SOURCES, "cluster", "strip"] for target in ("pdf", "slide")]


@pytest.mark.browser
@pytest.mark.parametrize("name, target", PAGES)
def test_no_label_meets_another_a_marker_a_route_end_or_the_furniture(measured_pages, name, target):
    page = measured_pages[name, target]
    labels = page["labels"]
    assert labels, "no labels drawn"
    for i, label in enumerate(labels):
        box = label["box"]
        for other in labels[i + 1:]:
            assert not _boxes_meet(box, other["box"]), (label["text"], other["text"])
        for x, y, r in page["markers"]:
            assert not _circle_meets_box(x, y, r, box), (label["text"], x, y)
        for route in page["routes"]:
            for x, y in (route["points"][0], route["points"][-1]):
                assert not _circle_meets_box(x, y, 1.5, box), (label["text"], "route end", x, y)
        for furniture in page["furniture"]:
            assert not _boxes_meet(box, furniture), (label["text"], furniture)
        assert 0 <= box[0] and box[2] <= page["target"].viewport[0], label["text"]


@pytest.mark.browser
@pytest.mark.parametrize("name, target", PAGES)
def test_legend_hides_no_place_or_route_end_and_credit_clears_the_scale(measured_pages, name, target):
    page = measured_pages[name, target]
    legend, scale, credit = page["furniture"]
    for x, y, r in page["markers"]:
        assert not _circle_meets_box(x, y, r, legend), ("marker under the legend", x, y)
    for route in page["routes"]:
        for x, y in (route["points"][0], route["points"][-1]):
            assert not _circle_meets_box(x, y, 3, legend), ("route end under the legend", x, y)
    assert not _boxes_meet(scale, credit) and not _boxes_meet(legend, credit) and not _boxes_meet(legend, scale)
    width = page["target"].viewport[0]
    assert credit[2] - credit[0] <= width * 0.5  # the credit wraps instead of running across the map


@pytest.mark.browser
@pytest.mark.parametrize("name, target", PAGES)
def test_no_furniture_sits_over_a_route_a_place_or_a_route_end(measured_pages, name, target):
    # The legend, the scale and the credit as drawn, against each route's line (with half its width) and
    # each place's marker: the BTC line's end and Ceyhan sat under the credit of the English brief's PDF map.
    page = measured_pages[name, target]
    for which, box in zip(("legend", "scale", "credit"), page["furniture"]):
        for x, y, r in page["markers"]:
            assert not _circle_meets_box(x, y, r, box), (which, "marker", x, y)
        for route in page["routes"]:
            grown = (box[0] - route["weight"] / 2, box[1] - route["weight"] / 2,
                     box[2] + route["weight"] / 2, box[3] + route["weight"] / 2)
            for a, b in zip(route["points"], route["points"][1:]):
                assert not _segment_meets_box(a, b, grown), (which, "route", route["color"], a, b)


@pytest.mark.browser
@pytest.mark.parametrize("target", ["pdf", "slide"])
def test_a_map_with_no_free_corner_puts_scale_and_credit_in_a_strip_below(measured_pages, target):
    from kzreport.builders.maps import TARGETS, map_layout

    page = measured_pages["strip", target]
    project = project_for(FIXTURES / "maps.yaml", Path("/nonexistent/out"))
    layout = map_layout(project, page["spec"], TARGETS[target])
    assert layout.view.pad[3] > 0 and not any(layout.faults), layout.faults
    # Every place and route lies above the strip; the scale and the credit lie in it, side by side.
    _, scale, credit = page["furniture"]
    top = page["target"].viewport[1] - layout.view.pad[3]
    assert all(y + r <= top for _, y, r in page["markers"])
    assert all(y <= top for route in page["routes"] for _, y in route["points"])
    assert scale[1] >= top - 1 and credit[1] >= top - 1 and not _boxes_meet(scale, credit)


@pytest.mark.browser
@pytest.mark.parametrize("name, names", [
    ("europe", {"Norway", "Denmark", "Germany", "Poland"}), ("kazakhstan", {"哈萨克斯坦"}),
    ("kazakhstan-en", {"Kazakhstan"}), ("myanmar", {"缅甸", "中国"}), ("mozambique", {"莫三比克", "坦尚尼亞"}),
])
def test_every_highlighted_country_is_named(measured_pages, name, names):
    # Poland, highlighted on the Baltic map, lost its name on the slide to the place labels around it.
    for target in ("pdf", "slide"):
        page = measured_pages[name, target]
        assert set(page["highlighted"]) == names, (target, page["highlighted"])


@pytest.mark.browser
@pytest.mark.parametrize("name", ["myanmar", "europe", "kazakhstan", "kazakhstan-en", "cluster", "strip"])
def test_legend_box_meets_no_route(measured_pages, name):
    for target in ("pdf", "slide"):
        page = measured_pages[name, target]
        legend = page["furniture"][0]
        for route in page["routes"]:
            assert not any(_segment_meets_box(a, b, legend) for a, b in zip(route["points"], route["points"][1:]))


@pytest.mark.browser
@pytest.mark.parametrize("name, target", PAGES)
def test_labels_are_sized_in_points_for_the_target(measured_pages, name, target):
    page = measured_pages[name, target]
    least = {"pdf": 7.0, "slide": 14.0}[target]
    shown = page["target"]
    # The PDF figure is printed 170 mm wide; an A4 text column (168 mm) shrinks it by a little over 1 %.
    shrink = 168 / 170 if target == "pdf" else 1.0
    for label in page["labels"]:
        assert shown.points(label["font"]) * shrink >= least, (label["text"], label["font"])
    assert shown.points(page["legendFont"]) * shrink >= least
    assert shown.dpi >= 250


@pytest.fixture(scope="module")
def layout_pngs(tmp_path_factory) -> Path:
    """Return the maps folder of a build of the layout sources (one browser for all)."""
    out = tmp_path_factory.mktemp("layout")
    build(list(LAYOUT_SOURCES.values()), BuildOptions(out_dir=out, formats=("maps",), use_cache=False), Reporter(0))
    return out / "maps"


def _share_in_colour(image: Image.Image, points, colour: str, scale: float, skip: float) -> float:
    """Return the share of samples along a drawn line (CSS pixels) whose device pixel has ``colour``,
    leaving out ``skip`` CSS pixels at each end (where routes meet their terminals)."""
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    samples = []
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        steps = max(1, int(math.hypot(bx - ax, by - ay) / 2))
        samples += [(ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps) for k in range(steps)]
    total = len(samples)
    cut = int(skip / 2)
    samples = samples[cut:total - cut]
    hits = sum(all(abs(a - b) <= 40 for a, b in zip(image.getpixel((round(x * scale), round(y * scale))), target))
               for x, y in samples)
    return hits / max(1, len(samples))


@pytest.mark.browser
@pytest.mark.parametrize("name, map_id", [("myanmar", "pipelines"), ("europe", "gas-routes")])
def test_each_parallel_route_shows_its_own_colour_along_its_length(measured_pages, layout_pngs, name, map_id):
    for target in ("pdf", "slide"):
        page = measured_pages[name, target]
        suffix = ".png" if target == "pdf" else ".slide.png"
        with Image.open(layout_pngs / f"{map_id}{suffix}") as png:
            image = png.convert("RGB")
        assert image.size == page["target"].pixels
        spec = page["spec"]
        for line, route in zip(spec.pipelines, page["routes"]):
            dashed = line.status != "operating"
            share = _share_in_colour(image, route["points"], route["color"], page["target"].device_scale,
                                     skip=30 * page["target"].size)
            # Solid lines show their colour nearly everywhere (only the markers of the places they pass and
            # the routes crossing them sit on a few samples: no label covers them); dashed ones on their dashes.
            assert share >= (0.3 if dashed else 0.85), (target, line.id, share)


@pytest.mark.parametrize("old, new, at, where, message", [
    ("{south: 38.0, west: 34.0, north: 52.0, east: 62.0}", "{south: 47.1, west: 51.88, north: 47.102, east: 51.886}",
     "{south: 47.1", "maps[0].bounds", "a map must span at least 20 km each way"),
    ("lat: 44.717, lon: 37.783}", "lat: 44.717, lon: 17.783}", "{id: novorossiysk", "maps[0].places[1]",
     "lies outside the map's bounds"),
])
def test_a_map_that_would_come_out_blank_is_a_located_error(tmp_path, cli, old, new, at, where, message):
    source, text = edited_fixture(tmp_path, "maps.yaml", old, new)
    line, column = line_and_column(text, text.index(at) if at in text.split(new)[0] else text.index(new) + new.index(at))
    for command in (("validate", source), ("build", source, "--format", "maps", "--out", tmp_path / "out")):
        status, _, err = cli(*command)
        assert status == 2 and "Traceback" not in err
        assert f"bad.yaml:{line}:{column}: {where}: " in err and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.browser
def test_a_crowded_map_keeps_its_capitals_and_route_ends(measured_pages):
    for target in ("pdf", "slide"):
        page = measured_pages["cluster", target]
        labelled = {label["place"] for label in page["labels"] if label["place"]}
        assert {"helsinki", "tallinn", "copenhagen", "berlin", "lubmin", "ust-luga", "vyborg"} <= labelled, labelled
        assert len(labelled) >= 12, labelled
