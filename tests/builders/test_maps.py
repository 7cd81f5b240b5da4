"""The maps builder: real Folium HTML, real Chromium PNGs, escaping, offline, reproducible, cached."""

from __future__ import annotations

import io
import math
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from kzreport.build import BuildOptions, Reporter, build, load_project
from kzreport.builders.maps import (RASTER_SCALE, RASTER_VIEWPORT, MapsBuilder, cached_png, html_text,
                                    render_map_html)
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
    text = text.replace("name: 阿特劳, name_en: Atyrau", "name: '" + HOSTILE_PLACE.replace("'", "''") + "', name_en: Atyrau", 1)
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


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
    for text in ("哈萨克斯坦", "俄罗斯", "新罗西斯克", "测试出口通道", "原油管道（2022年曾中断）", "油轮航线",
                 "底图：Natural Earth（公有领域）", "CPC pipeline, Tengiz–Novorossiysk"):
        assert text in page


def test_cached_png_is_none_for_an_unknown_map_or_an_empty_cache(maps_source, tmp_path):
    project = project_for(maps_source, tmp_path / "out")
    assert cached_png(project, "routes") is None
    assert cached_png(project, "no-such-map") is None


# --- with the browser -------------------------------------------------------------------------


def _pixel(lat: float, lon: float, bounds) -> tuple[int, int]:
    """Return where (lat, lon) lands in the PNG, as Leaflet's fitBounds (zoomSnap 0) places it."""

    def merc(la, lo):
        return math.radians(lo), math.asinh(math.tan(math.radians(la)))

    x0, y0 = merc(bounds.south, bounds.west)
    x1, y1 = merc(bounds.north, bounds.east)
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
    assert image.size == (2880, 1620)
    project = project_for(maps_source, out)
    spec, theme = project.source.maps[0], project.theme.map
    assert len(image.resize((288, 162)).getcolors(maxcolors=1 << 16)) > 50  # not blank
    cpc, tanker = spec.pipelines
    # The disrupted CPC line between Astrakhan and Novorossiysk, the tanker route across the Caspian.
    mid_cpc = _pixel((cpc.waypoints[1].lat + cpc.waypoints[2].lat) / 2, (cpc.waypoints[1].lon + cpc.waypoints[2].lon) / 2, spec.bounds)
    assert _colour_near(image, mid_cpc, theme.disrupted)
    mid_tanker = _pixel((tanker.waypoints[0].lat + tanker.waypoints[1].lat) / 2,
                        (tanker.waypoints[0].lon + tanker.waypoints[1].lon) / 2, spec.bounds)
    assert _colour_near(image, mid_tanker, theme.tanker)
    # The place markers sit where Atyrau and Novorossiysk project (dark ring of the marker).
    for place in spec.places:
        assert _colour_near(image, _pixel(place.lat, place.lon, spec.bounds), theme.label, radius=14)
    assert not _colour_near(image, mid_cpc, theme.gas, radius=40)  # no gas line drawn there
    assert len(list(map_cache.glob("*.png"))) == 1


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
            labels = page.locator(".kz-place-label").all_inner_texts()
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
    assert set(project.outputs) == {tmp_path / "out" / "maps" / "routes.html", tmp_path / "out" / "maps" / "routes.png"}
    assert not (tmp_path / "out").exists()
    assert project.map_image("routes") == project.outputs[tmp_path / "out" / "maps" / "routes.png"]


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
    assert len({p.read_bytes() for p in (tmp_path / "out").rglob("*.png")}) == 2


def test_two_sources_writing_one_file_differently_is_an_input_error(maps_source, tmp_path, cli):
    second = tmp_path / "second.yaml"
    second.write_text(maps_source.read_text(encoding="utf-8").replace("测试出口通道", "第二张地图"), encoding="utf-8")
    status, _, err = cli("build", maps_source, second, "--format", "md,maps", "--out", tmp_path / "out", "--no-cache")
    assert status == 2 and "maps/routes.html" in err and "--out" in err
    assert not (tmp_path / "out").exists()
