"""The map cache's keys: made from the map's inputs without Folium, changed by each input, kept otherwise;
a warm build takes every map from the cache without importing Folium."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kzreport.build import BuildOptions, Reporter, load_project
from kzreport.builders import maps
from kzreport.builders.maps import PDF, SCREEN, SLIDE, cache_key, interactive_page, png_is_whole, render_map_html

from tests.builders.test_maps import map_cache  # noqa: F401 - autouse: each test gets a cache of its own

FIXTURES = Path(__file__).parent / "fixtures"
FIRST_WAYPOINT = "{name: 阿特劳, lat: 47.1, lon: 51.9, estimated: true}"


@pytest.fixture
def fresh_assets_digest():
    """Forget the digest of the assets before and after the test (it is computed once per process)."""
    maps.assets_digest.cache_clear()
    yield
    maps.assets_digest.cache_clear()


def write_source(tmp_path: Path, old: str = "", new: str = "", name: str = "maps.yaml") -> Path:
    """Write the maps fixture, with one text replaced, and return its path."""
    text = (FIXTURES / "maps.yaml").read_text(encoding="utf-8")
    assert old in text, f"fixture has no {old!r}"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1) if old else text, encoding="utf-8")
    return path


def key_of(source: Path, target=PDF, **options) -> str:
    """Return the cache key of the source's first map for a target."""
    project = load_project(source, BuildOptions(out_dir=source.parent / "out", **options), Reporter(0))
    return cache_key(project, project.source.maps[0], target)


def test_unchanged_inputs_keep_the_key_in_this_process_and_another(tmp_path):
    source = write_source(tmp_path)
    key = key_of(source)
    assert key == key_of(write_source(tmp_path, name="copy.yaml"))
    script = ("import sys; from pathlib import Path; from kzreport.build import BuildOptions, Reporter, load_project;"
              "from kzreport.builders.maps import cache_key;"
              "p = load_project(Path(sys.argv[1]), BuildOptions(), Reporter(0));"
              "print(cache_key(p, p.source.maps[0]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # another set order must not change the key
    other = subprocess.run([sys.executable, "-c", script, str(source)], capture_output=True, text=True, env=env,
                           check=True).stdout.strip()
    assert other == key


@pytest.mark.parametrize("old, new", [
    ("title: 测试出口通道", "title: 测试出口通道二"),  # the map's title (its legend)
    ("south: 38.0", "south: 38.5"),  # its bounds
    (FIRST_WAYPOINT, FIRST_WAYPOINT.replace("51.9", "52.0")),  # a route's waypoint
    ("highlight: [KAZ]", "highlight: [KAZ, RUS]"),  # the countries highlighted
    ("  author: kzreport 测试\n", "  author: kzreport 测试\n  language: zh-Hant\n"),  # the brief's language
    ("title: Caspian Pipeline Consortium", "title: CPC"),  # a source a popup names
], ids=["title", "bounds", "waypoint", "highlight", "language", "cited source"])
def test_each_input_of_the_map_changes_the_key(tmp_path, old, new):
    assert key_of(write_source(tmp_path, old, new, "changed.yaml")) != key_of(write_source(tmp_path))


def test_a_source_no_popup_names_leaves_the_key(tmp_path):
    changed = write_source(tmp_path, "sources:\n", "sources:\n  - {key: zz, title: Unrelated}\n",
                           "changed.yaml")
    assert key_of(changed) == key_of(write_source(tmp_path))


def test_each_target_has_its_own_key(tmp_path):
    source = write_source(tmp_path)
    assert len({key_of(source, target) for target in (SCREEN, PDF, SLIDE)}) == 3


@pytest.mark.parametrize("theme", ["map: {crude_oil: '#123456'}\n", "map: {water: '#FFFFFF'}\n",
                                   "fonts: {heading: {latin: Noto Sans, hans: DejaVu Sans, hant: Noto Sans CJK TC}}\n"],
                         ids=["route colour", "water colour", "heading font"])
def test_the_themes_map_colours_and_fonts_change_the_key(tmp_path, theme):
    source = write_source(tmp_path)
    path = tmp_path / "theme.yaml"
    path.write_text(theme, encoding="utf-8")
    assert key_of(source, theme_file=path) != key_of(source)


def test_a_theme_change_the_map_does_not_use_leaves_the_key(tmp_path):
    source = write_source(tmp_path)
    path = tmp_path / "theme.yaml"
    path.write_text("page_size: Letter\n", encoding="utf-8")
    assert key_of(source, theme_file=path) == key_of(source)


def test_an_interface_word_of_the_map_changes_the_key(tmp_path):
    source = write_source(tmp_path)
    (tmp_path / "tpl" / "i18n").mkdir(parents=True)
    (tmp_path / "tpl" / "i18n" / "zh-Hans.yaml").write_text("map_places: 地名\n", encoding="utf-8")
    assert key_of(source, templates_dir=tmp_path / "tpl") != key_of(source)


def test_a_changed_leaflet_changes_the_key(tmp_path, monkeypatch, fresh_assets_digest):
    source = write_source(tmp_path)
    before = key_of(source)
    static = Path(shutil.copytree(maps.leaflet_static(), tmp_path / "leaflet"))
    monkeypatch.setattr(maps, "leaflet_static", lambda: static)
    maps.assets_digest.cache_clear()
    assert key_of(source) == before, "the same files elsewhere are the same Leaflet"
    (static / "leaflet.js").write_text((static / "leaflet.js").read_text(encoding="utf-8") + "\n// 1.9.5\n",
                                       encoding="utf-8")
    maps.assets_digest.cache_clear()
    assert key_of(source) != before


def test_a_changed_basemap_changes_the_key(tmp_path, monkeypatch, fresh_assets_digest):
    from kzreport import resources

    source = write_source(tmp_path)
    before = key_of(source)
    assets = tmp_path / "assets"
    shutil.copytree(resources.assets_dir() / "geodata", assets / "geodata")
    monkeypatch.setattr(resources, "assets_dir", lambda: assets)
    maps.assets_digest.cache_clear()
    assert key_of(source) == before
    world = assets / "geodata" / "world-110m.json"
    world.write_bytes(world.read_bytes().replace(b"]]", b"] ]", 1))
    maps.assets_digest.cache_clear()
    assert key_of(source) != before


def test_the_key_is_made_without_folium(tmp_path):
    source = write_source(tmp_path)
    script = ("import sys; from pathlib import Path; from kzreport.build import BuildOptions, Reporter, load_project;"
              "from kzreport.builders.maps import cache_key, SCREEN, SLIDE;"
              "p = load_project(Path(sys.argv[1]), BuildOptions(), Reporter(0));"
              "[cache_key(p, p.source.maps[0], t) for t in (SCREEN, SLIDE)];"
              "assert 'folium' not in sys.modules and 'branca' not in sys.modules, 'Folium imported'")
    subprocess.run([sys.executable, "-c", script, str(source)], check=True, env=dict(os.environ))


def test_the_interactive_page_is_cached_and_a_damaged_entry_made_again(tmp_path, map_cache):
    source = write_source(tmp_path)
    project = load_project(source, BuildOptions(out_dir=tmp_path / "out"), Reporter(0))
    spec = project.source.maps[0]
    page = render_map_html(project, spec).encode("utf-8")
    assert interactive_page(project, spec) == page
    entry, = map_cache.glob("*.html")
    assert entry.name == f"{cache_key(project, spec, SCREEN)}.html"
    entry.write_bytes(entry.read_bytes().replace(b"<html", b"<HTML", 1))
    assert interactive_page(project, spec) == page
    assert entry.read_bytes().endswith(page), "the damaged entry is replaced"
    assert interactive_page(project, spec) == page


def png(width: int, height: int) -> bytes:
    """Return a PNG of the given size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#336699").save(out, "PNG")
    return out.getvalue()


def test_png_is_whole_checks_every_chunk_and_the_size():
    good = png(40, 20)
    assert png_is_whole(good)
    assert not png_is_whole(good[:-1]), "cut in the end chunk"
    assert not png_is_whole(good[: len(good) // 2]), "cut in the middle"
    assert not png_is_whole(good + b"junk"), "bytes after the end"
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    assert not png_is_whole(bytes(flipped)), "a flipped bit"
    assert not png_is_whole(b"<html>not an image</html>")
    assert png_is_whole(png(*SLIDE.pixels))
    assert not png_is_whole(png(max(SLIDE.pixels) + 1, 1)), "larger than any map's raster"


@pytest.mark.browser
def test_a_warm_build_takes_every_map_from_the_cache_without_folium(tmp_path):
    source = write_source(tmp_path)
    env = {**os.environ, "KZREPORT_CACHE_DIR": str(tmp_path / "cache"), "SOURCE_DATE_EPOCH": "1663113600"}
    build = ["build", "-q", "--format", "maps,pdf", str(source), "--out"]
    subprocess.run([sys.executable, "-m", "kzreport", *build, str(tmp_path / "cold")], env=env, check=True)
    driver = ("import sys; from kzreport.cli import main; status = main(sys.argv[1:]);"
              "assert status == 0, status;"
              "assert 'folium' not in sys.modules, 'a warm build imported Folium';"
              "from kzreport.rasterize import STATS; assert STATS.launches == 0, 'a warm build started a browser'")
    subprocess.run([sys.executable, "-c", driver, *build, str(tmp_path / "warm")], env=env, check=True)
    cold = sorted(p.relative_to(tmp_path / "cold") for p in (tmp_path / "cold").rglob("*") if p.is_file())
    warm = sorted(p.relative_to(tmp_path / "warm") for p in (tmp_path / "warm").rglob("*") if p.is_file())
    assert cold == warm and len(cold) == 4  # the PDF, the map's page and its two rasters
    for name in cold:
        assert (tmp_path / "cold" / name).read_bytes() == (tmp_path / "warm" / name).read_bytes(), name
