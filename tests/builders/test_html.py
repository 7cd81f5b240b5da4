"""The HTML edition: one self-contained page, checked as text and in real Chromium (Playwright).

In the browser every request that is not the page's own file fails the test: the route
handler aborts it and records it, and the test asserts the record is empty.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzreport.builders.html import claim_numbers, readable_color
from kzreport.contrast import contrast_ratio as contrast
from kzreport.cli import main
from kzreport.loader import load_source
from kzreport.resources import default_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCES = {"builtin": default_source(), "english": default_source().with_name("kazakhstan-2022.en.yaml"),
           "no-maps": FIXTURES / "no-maps.en.yaml", "hant": FIXTURES / "mozambique-lng.zh-Hant.yaml"}


def build_html(source: Path, out: Path, *extra: str) -> Path:
    """Build the HTML edition of ``source`` into ``out``; return the page's path."""
    status = main(["build", "-q", "--format", "html", "--out", str(out), *extra, str(source)])
    assert status == 0
    return out / f"{source.stem}.html"


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Return the HTML edition of each sample source, built once for the module."""
    out = tmp_path_factory.mktemp("html")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1663113600")
        return {name: build_html(source, out) for name, source in SOURCES.items()}


# --- the page as text ------------------------------------------------------------------------


def test_page_has_every_part_of_the_brief(pages):
    brief = load_source(SOURCES["builtin"])
    page = pages["builtin"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-Hans">' in page
    assert page.count("<main") == 1 and "<header" in page and "<nav" in page and "<footer" in page
    for section in brief.sections:
        assert f'id="part-{section.id}"' in page
        for claim in [section.headline, *section.claims]:
            assert f'id="claim-{claim.id}"' in page
    for judgment in brief.judgments:
        for key in judgment.claims:
            assert f'href="#claim-{key}"' in page
    placed_quotes = [brief.quote(key) for section in brief.sections for key in section.quotes]
    assert page.count('<details class="passage">') == sum(1 for c in brief.all_claims() if c.passage) \
        + sum(1 for q in placed_quotes if q.passage) + sum(1 for e in brief.timeline if e.passage)
    assert page.count('<figure class="chart"') == sum(len(s.charts) for s in brief.sections) and "<svg" in page
    assert page.count("<iframe") == sum(len(s.maps) for s in brief.sections)
    assert 'id="timeline"' in page and 'id="sources"' in page


def test_page_fetches_nothing_from_anywhere(pages):
    for name, path in pages.items():
        page = path.read_text(encoding="utf-8")
        assert not re.search(r'<(script|img|iframe|link|source|video|audio)\b[^>]*\s(src|href)\s*=\s*"(?!data:|#)', page), name
        assert not re.search(r"url\((?!data:|#)", page), name
        assert "default-src 'none'" in page  # and the page says so to the browser


def test_same_source_same_bytes(pages, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1663113600")
    again = build_html(SOURCES["builtin"], tmp_path)
    assert again.read_bytes() == pages["builtin"].read_bytes()


def test_interface_words_follow_the_language(pages):
    english = pages["english"].read_text(encoding="utf-8")
    hant = pages["hant"].read_text(encoding="utf-8")
    assert "The article&#39;s words" in english and "Key judgments" in english and "Skip to the brief" in english
    assert "文章原文" in hant and "本圖的線路和地點" in hant and '<html lang="zh-Hant">' in hant


def test_claims_are_numbered_by_section(pages):
    brief = load_source(SOURCES["builtin"])
    numbers = claim_numbers(brief)
    assert numbers[brief.sections[0].headline.id] == "1"
    assert numbers[brief.sections[1].claims[0].id] == "2.1"


def test_text_from_the_source_is_escaped(broken, tmp_path):
    source = broken("这是核心判断。", "<script>alert(1)</script>&")
    page = build_html(source, tmp_path / "out").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in page and "<script>alert(1)" not in page


def test_a_user_template_overrides_one_partial(tmp_path, minimal_source):
    partial = tmp_path / "mine" / "html" / "partials" / "cover.html.j2"
    partial.parent.mkdir(parents=True)
    partial.write_text('<header class="cover"><h1>{{ meta.title }} (ours)</h1></header>\n', encoding="utf-8")
    page = build_html(minimal_source, tmp_path / "out", "--templates", str(tmp_path / "mine"))
    assert "(ours)</h1>" in page.read_text(encoding="utf-8")


def test_a_template_mistake_is_located_and_nothing_is_written(tmp_path, minimal_source, capsys):
    partial = tmp_path / "mine" / "html" / "partials" / "cover.html.j2"
    partial.parent.mkdir(parents=True)
    partial.write_text("<header>{{ no_such_name }}</header>\n", encoding="utf-8")
    status = main(["build", "-q", "--format", "html", "--out", str(tmp_path / "out"), "--templates",
                   str(tmp_path / "mine"), str(minimal_source)])
    assert status == 2
    assert "cover.html.j2:1" in capsys.readouterr().err
    assert not (tmp_path / "out" / "minimal.html").exists()


def test_templates_export_includes_the_html_templates(tmp_path):
    assert main(["templates", "export", str(tmp_path / "style")]) == 0
    assert (tmp_path / "style" / "html" / "brief.html.j2").is_file()
    assert (tmp_path / "style" / "html" / "brief.css").is_file()


def test_secondary_text_reads_on_the_tinted_cards():
    muted = readable_color("#6B7785", ["#FFFFFF", "#E6ECF1"], "#1F2933")
    assert contrast(muted, "#E6ECF1") >= 4.5 and contrast(muted, "#FFFFFF") >= 4.5
    assert readable_color("#111111", ["#FFFFFF"], "#000000") == "#111111"


# --- the page in Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Return a headless Chromium (the one kzreport rasterizes with), closed after the module."""
    from playwright.sync_api import sync_playwright

    from kzreport.rasterize import BROWSER_ARGS, find_browser

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(find_browser()), args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser):
    """Return a function opening a page at a width; every request other than the file itself fails the test."""
    contexts, refused, errors = [], [], []

    def refuse(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
            return
        refused.append(route.request.url)
        route.abort()

    def open_at(path: Path, width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        context.route("**/*", refuse)
        context.route_web_socket(re.compile(".*"), lambda ws: refused.append(ws.url) or ws.close())
        contexts.append(context)
        page = context.new_page()
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else refused.append(r.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        return page

    yield open_at
    for context in contexts:
        context.close()
    assert refused == [], f"the page asked the network for {refused}"
    assert errors == [], f"the page logged errors: {errors}"


def map_frame(page):
    """Return the frame of the page's first map, once its map is drawn."""
    page.locator("figure.map iframe").first.scroll_into_view_if_needed()
    frame = page.frame_locator("figure.map iframe").first
    frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached", timeout=30_000)
    return page.frames[1]


@pytest.mark.browser
def test_maps_draw_and_their_popups_open(pages, open_page):
    page = open_page(pages["builtin"])
    frame = map_frame(page)
    frame.wait_for_function("window.kzreportReady === true", timeout=30_000)
    assert frame.locator(".kz-legend").count() == 1
    assert frame.locator(".leaflet-overlay-pane path").count() > 5
    # Drawn at the map's bounds, not at the world's: the routes span most of the frame's width (a map
    # fitted while its box had no size shows the world at zoom 0, its routes a speck in the middle).
    span = frame.evaluate("() => { const r = [...document.querySelectorAll('path.leaflet-interactive')]"
                          ".map(p => p.getBoundingClientRect()).filter(b => b.width > 0);"
                          " return (Math.max(...r.map(b => b.right)) - Math.min(...r.map(b => b.left)))"
                          " / document.querySelector('.folium-map').clientWidth; }")
    assert span > 0.5, span
    # A pointer on a route opens its popup: click the middle of the first route's line ...
    x, y = frame.locator("path.leaflet-interactive").first.evaluate(
        "p => { const m = p.getPointAtLength(p.getTotalLength() / 2).matrixTransform(p.getScreenCTM());"
        " return [m.x, m.y]; }")
    box = page.locator("figure.map iframe").first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    frame.locator(".leaflet-popup .kz-popup").wait_for(timeout=20_000)
    frame.evaluate("window.kzreportMap.closePopup()")
    # ... and so does the keyboard, from the list under the map.
    page.locator("details.map-items summary").first.focus()
    page.keyboard.press("Enter")
    button = page.locator("button.show-on-map").nth(1)
    button.focus()
    page.keyboard.press("Enter")
    popup = frame.locator(".leaflet-popup .kz-popup")
    popup.wait_for(timeout=20_000)
    name = load_source(SOURCES["builtin"]).maps[0].pipelines[1].name
    assert name in popup.inner_text()


VISIBLE_LABEL_BOXES = """() => [...document.querySelectorAll('.kz-label, .kz-country span')]
  .filter(el => getComputedStyle(el).visibility !== 'hidden')
  .map(el => { const r = el.getBoundingClientRect();
               return {text: el.textContent, place: el.getAttribute('data-place'),
                       box: [r.left, r.top, r.right, r.bottom]}; })"""
CONTROL_BOXES = """() => [...document.querySelectorAll('.kz-legend, .leaflet-control-attribution, .leaflet-control-scale,'
  + ' .leaflet-control-zoom')].map(el => el.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
  .map(r => [r.left, r.top, r.right, r.bottom])"""


def boxes_overlap(a, b) -> bool:
    """Return whether two (left, top, right, bottom) boxes share more than half a pixel each way."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


@pytest.mark.browser
@pytest.mark.parametrize("name,width", [("builtin", 375), ("builtin", 1280), ("english", 375), ("hant", 375)])
def test_live_map_labels_never_overlap_at_any_width(pages, open_page, name, width):
    page = open_page(pages[name], width=width, height=800)
    frame = map_frame(page)
    frame.wait_for_function("window.kzreportReady === true", timeout=30_000)
    page.wait_for_timeout(300)  # the frame's size settles, and the labels are sorted out again
    labels = frame.evaluate(VISIBLE_LABEL_BOXES)
    controls = frame.evaluate(CONTROL_BOXES)
    assert any(a["place"] for a in labels) and any(a["place"] is None for a in labels), labels
    clashes = [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
               if boxes_overlap(a["box"], b["box"])]
    assert clashes == []
    assert [a["text"] for a in labels if any(boxes_overlap(a["box"], c) for c in controls)] == []
    # The most important labels stay: every capital of the map keeps its name.
    capitals = {p.id for p in load_source(SOURCES[name]).maps[0].places if p.kind == "capital" and p.label}
    assert capitals <= {a["place"] for a in labels}
    # A phone's frame leaves the legend and the credit to the figure under the map.
    narrow = frame.evaluate("() => document.querySelector('.folium-map').clientWidth") < 560
    assert frame.locator(".kz-legend").is_visible() is not narrow
    # Zoomed in, labels hidden for want of room come back.
    if narrow:
        frame.evaluate("window.kzreportMap.setZoom(window.kzreportMap.getZoom() + 2, {animate: false})")
        page.wait_for_timeout(200)
        zoomed = frame.evaluate(VISIBLE_LABEL_BOXES)
        assert all(not boxes_overlap(a["box"], b["box"]) for i, a in enumerate(zoomed) for b in zoomed[i + 1:])


@pytest.mark.browser
def test_a_judgment_links_to_its_claim(pages, open_page):
    page = open_page(pages["builtin"])
    brief = load_source(SOURCES["builtin"])
    key = brief.judgments[0].claims[0]
    link = page.locator(f'.judgment a[href="#claim-{key}"]').first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"location.hash === '#claim-{key}'")
    target = page.locator(f"#claim-{key}")
    assert target.evaluate("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }")
    # The passage behind the claim opens on demand, from the keyboard too.
    details = target.locator("details.passage")
    assert not details.evaluate("el => el.open")
    details.locator("summary").focus()
    page.keyboard.press("Enter")
    assert details.evaluate("el => el.open")
    claim = next(c for c in brief.all_claims() if c.id == key)
    assert claim.passage[:8] in details.inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["builtin", "english", "no-maps", "hant"])
def test_no_horizontal_scroll_on_a_phone(pages, open_page, name):
    page = open_page(pages[name], width=375, height=800)
    page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.browser
@pytest.mark.parametrize("name", ["builtin", "english", "no-maps"])
def test_no_serious_accessibility_findings(pages, open_page, name):
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(pages[name])
    if page.locator("figure.map").count():
        map_frame(page)
    page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")
    results = Axe().run(page)
    serious = [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []


@pytest.mark.browser
def test_headings_are_in_order(pages, open_page):
    page = open_page(pages["english"])
    levels = page.locator("h1, h2, h3, h4, h5, h6").evaluate_all("all => all.map(h => Number(h.tagName[1]))")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))


@pytest.mark.browser
def test_print_preview_opens_the_passages_and_hides_the_buttons(pages, open_page):
    page = open_page(pages["builtin"])
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.passage:not([open])").count() == 0
    assert not page.locator("button.show-on-map").first.is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
