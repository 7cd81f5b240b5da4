"""The rasterizer: real Chromium through Playwright, no network, a ready signal, a clear error without a browser."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from kzreport.errors import BuildError, InputError
from kzreport import rasterize
from kzreport.rasterize import STATS, find_browser, rasterize_maps

READY = "<script>requestAnimationFrame(() => requestAnimationFrame(() => { window.kzreportReady = true; }));</script>"


def page(body: str, ready: bool = True) -> str:
    """Return a small self-contained page, signalling ready unless told not to."""
    return f"<!DOCTYPE html><html><head><style>html,body{{margin:0}}</style></head><body>{body}{READY if ready else ''}</body></html>"


def test_missing_browser_named_by_variable_is_an_input_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KZREPORT_BROWSER", str(tmp_path / "no-such-browser"))
    with pytest.raises(InputError) as caught:
        find_browser()
    assert "KZREPORT_BROWSER" in str(caught.value) and "apt-get install chromium" in str(caught.value)
    assert caught.value.exit_status == 2


def test_no_browser_installed_names_what_to_install(monkeypatch):
    monkeypatch.delenv("KZREPORT_BROWSER", raising=False)
    monkeypatch.setattr(rasterize, "BROWSER_CANDIDATES", [])
    monkeypatch.setenv("PATH", "")
    with pytest.raises(InputError, match="apt-get install chromium.*KZREPORT_BROWSER"):
        rasterize_maps({"m": page("x")})


def test_nothing_to_draw_starts_no_browser(monkeypatch):
    monkeypatch.setenv("KZREPORT_BROWSER", "/nonexistent")  # would fail if a browser were looked for
    launches = STATS.launches
    assert rasterize_maps({}) == {}
    assert STATS.launches == launches


@pytest.mark.browser
def test_pages_are_drawn_at_device_scale_with_no_requests():
    red = page('<div style="width:100px;height:50px;background:#C8553D"></div>')
    blue = page('<div style="width:200px;height:100px;background:#2A9D8F"></div>')
    launches = STATS.launches
    images = rasterize_maps({"red": red, "blue": blue}, viewport=(200, 100), device_scale=2)
    assert STATS.launches == launches + 1  # one browser for every page
    assert STATS.aborted == []
    red_png = Image.open(io.BytesIO(images["red"])).convert("RGB")
    assert red_png.size == (400, 200)
    assert red_png.getpixel((100, 50)) == (0xC8, 0x55, 0x3D)
    assert red_png.getpixel((300, 150)) == (255, 255, 255)
    assert Image.open(io.BytesIO(images["blue"])).convert("RGB").getpixel((399, 199)) == (0x2A, 0x9D, 0x8F)


@pytest.mark.browser
def test_a_page_that_reaches_for_the_network_fails_and_connects_nowhere():
    # The conftest guard raises on any IP connection from this process; the browser's requests are aborted.
    tracker = page('<img src="https://tracker.example/pixel.png"><link rel="stylesheet" href="http://cdn.example/x.css">')
    with pytest.raises(BuildError, match="tried to load"):
        rasterize_maps({"leaky": tracker}, viewport=(100, 100))
    assert any("tracker.example" in url for url in STATS.aborted)


@pytest.mark.browser
def test_a_page_that_never_signals_ready_times_out():
    start = time.monotonic()
    with pytest.raises(BuildError, match="did not signal|longer than"):
        rasterize_maps({"stuck": page("never ready", ready=False)}, viewport=(100, 100), timeout_s=4)
    assert time.monotonic() - start < 30


@pytest.mark.browser
def test_a_script_error_in_the_page_is_reported():
    broken = page("<script>window.kzreportReady = true; throw new Error('boom');</script>", ready=False)
    with pytest.raises(BuildError, match="boom"):
        rasterize_maps({"broken": broken}, viewport=(100, 100))
