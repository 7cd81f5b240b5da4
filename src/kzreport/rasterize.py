"""Rasterize self-contained HTML pages (the maps) to PNG in headless Chromium, with no network.

One browser serves every page of a call. Each page is served from a made-up origin
(``http://kzreport.invalid/<id>.html``) by a route this module fulfils; every other
request is aborted and counted, and a page that made one is a BuildError, so a map that
would need the network fails here rather than rendering half-empty. The page says when it
is drawn by setting ``window.kzreportReady`` (see ``builders/maps.py``); there is no fixed
sleep. A wall-clock limit bounds the whole call and the browser is closed in every case.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BuildError, InputError

ORIGIN = "http://kzreport.invalid"
READY_EXPRESSION = "() => window.kzreportReady === true"
DEFAULT_TIMEOUT_S = 90.0
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-default-apps", "--disable-extensions", "--mute-audio"]
BROWSER_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                      "/usr/bin/google-chrome-stable", "/usr/bin/microsoft-edge", "/snap/bin/chromium",
                      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                      "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                      "/Applications/Chromium.app/Contents/MacOS/Chromium"]
BROWSER_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge", "msedge"]
INSTALL_HINT = ("install Chromium ('apt-get install chromium' on Debian/Ubuntu, 'dnf install chromium' on Fedora) "
                "or Google Chrome, or set KZREPORT_BROWSER to the executable of a Chromium-based browser")


@dataclass
class RasterStats:
    """What the last ``rasterize_maps`` call did: browser launches and the requests it refused."""

    launches: int = 0
    aborted: list[str] = field(default_factory=list)


STATS = RasterStats()
"""Counters over the process's lifetime: tests read them to prove a cache hit launched no browser."""


def find_browser() -> Path:
    """Return the browser to drive: ``$KZREPORT_BROWSER``, else the first Chromium-based one installed.

    Raises InputError (exit 2) naming what to install when there is none.
    """
    named = os.environ.get("KZREPORT_BROWSER", "").strip()
    if named:
        path = Path(named).expanduser()
        found = path if path.is_file() else (Path(w) if (w := shutil.which(named)) else None)
        if found is None or not os.access(found, os.X_OK):
            raise InputError(f"KZREPORT_BROWSER={named!r} is not an executable browser; {INSTALL_HINT}")
        return found
    for candidate in BROWSER_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    for name in BROWSER_NAMES:
        if found := shutil.which(name):
            return Path(found)
    raise InputError(f"no Chromium-based browser found to rasterize the maps; {INSTALL_HINT}. "
                     "A build with --format pdf,pptx can use maps rasterized earlier (the map cache)")


def page_url(page_id: str) -> str:
    """Return the made-up address a page is served from."""
    return f"{ORIGIN}/{page_id}.html"


class _Deadline:
    """A wall-clock limit shared by every step of one call."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining_ms(self, what: str) -> float:
        """Return the milliseconds left, or raise BuildError when the limit has passed."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise BuildError(f"rasterizing the maps took longer than {self.seconds:.0f} s ({what})")
        return left * 1000


def rasterize_maps(pages: dict[str, str], viewport: tuple[int, int] = (1440, 810), device_scale: float = 2,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, bytes]:
    """Return a PNG per page id: each HTML page drawn at ``viewport`` CSS pixels times ``device_scale``.

    Raises BuildError when a page requests anything but itself, reports a script error,
    or is not ready in time; InputError when no browser is installed.
    """
    if not pages:
        return {}
    executable = find_browser()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    deadline = _Deadline(timeout_s)
    STATS.aborted = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(executable), args=BROWSER_ARGS,
                                                 headless=True, timeout=deadline.remaining_ms("launch"))
            STATS.launches += 1
            try:
                return _draw_pages(browser, pages, viewport, device_scale, deadline)
            finally:
                browser.close()
    except PlaywrightError as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BuildError(f"the browser {executable} failed while rasterizing the maps: {message}") from error


def _draw_pages(browser, pages: dict[str, str], viewport: tuple[int, int], device_scale: float,
                deadline: _Deadline) -> dict[str, bytes]:
    """Return the PNG of each page, drawn in one browser context with every foreign request aborted."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  device_scale_factor=device_scale, service_workers="block",
                                  accept_downloads=False, locale="zh-CN", timezone_id="UTC")
    try:
        served = {page_url(page_id): html for page_id, html in pages.items()}

        def handle(route) -> None:
            url = route.request.url
            if url in served:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=served[url])
            else:
                STATS.aborted.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", handle)
        return {page_id: _draw_page(context, page_id, deadline) for page_id in pages}
    finally:
        context.close()


def _draw_page(context, page_id: str, deadline: _Deadline) -> bytes:
    """Return the PNG of one page once it signals that it is drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_url(page_id), wait_until="load", timeout=deadline.remaining_ms(f"loading {page_id}"))
        ready_timeout = deadline.remaining_ms(f"drawing {page_id}")
        try:
            page.wait_for_function(READY_EXPRESSION, timeout=ready_timeout)
        except PlaywrightTimeoutError as error:
            detail = f"; script errors: {'; '.join(errors)}" if errors else ""
            raise BuildError(f"map {page_id!r} did not signal that it was drawn{detail}") from error
        if errors:
            raise BuildError(f"map {page_id!r}: script error in the page: {'; '.join(errors)}")
        if STATS.aborted:
            raise BuildError(f"map {page_id!r} tried to load {len(STATS.aborted)} resource(s) from the network, "
                             f"which kzreport never uses: {', '.join(STATS.aborted[:3])}")
        return page.screenshot(type="png", animations="disabled", caret="hide",
                               timeout=deadline.remaining_ms(f"capturing {page_id}"))
    finally:
        page.close()
