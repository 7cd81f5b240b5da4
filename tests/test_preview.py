"""``kzreport preview``: what a change rebuilds, what the server serves, and the live page in Chromium."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kzreport.build import BuildOptions
from kzreport.preview import PreviewServer, PreviewState, out_file, touched_parts
from kzreport.resources import templates_dir

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Override conftest's guard for this module: the tests talk to the preview on 127.0.0.1, and to nothing else."""
    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"network connection attempted to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


# --- what a change touches -------------------------------------------------------------------


def test_a_change_rebuilds_only_what_it_touches(tmp_path):
    source, user = tmp_path / "brief.yaml", tmp_path / "style"
    theme = user / "theme.yaml"
    master = tmp_path / "master.pptx"
    dirs = [user, templates_dir()]

    def parts(*paths: Path) -> set[str]:
        return touched_parts(set(paths), source, theme, master, dirs)

    assert parts(source) == {"html", "pdf", "slides"}
    assert parts(theme) == {"html", "pdf", "slides"}
    assert parts(user / "logo.png") == {"html", "pdf", "slides"}  # beside the theme file
    assert parts(user / "html" / "brief.css") == {"html"}
    assert parts(templates_dir() / "html" / "partials" / "map.html.j2") == {"html"}
    assert parts(user / "pdf" / "partials" / "cover.html.j2") == {"pdf", "html"}
    assert parts(master) == {"slides"}
    assert parts(templates_dir() / "deck" / "kzreport.pptx") == {"slides"}
    assert parts(user / "i18n" / "en.yaml") == {"html", "pdf", "slides"}
    assert parts(tmp_path / "notes.txt") == set()


# --- what the server serves ------------------------------------------------------------------------


@pytest.fixture
def out_dir(tmp_path) -> Path:
    """Return an output folder with a page, a nested map, a secret beside it and links in and out."""
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    (out / "brief.html").write_text("<p>brief</p>", encoding="utf-8")
    (out / "maps" / "m.html").write_text("<p>map</p>", encoding="utf-8")
    (out / ".kztmp-1-brief.html").write_text("half written", encoding="utf-8")
    (out / "notes.txt").write_text("not an output type", encoding="utf-8")
    (tmp_path / "secret.html").write_text("secret", encoding="utf-8")
    (out / "leak.html").symlink_to(tmp_path / "secret.html")
    (out / "linked").symlink_to(tmp_path)
    (out / "inside.html").symlink_to(out / "brief.html")
    return out


def test_outputs_are_served(out_dir):
    assert out_file(out_dir, "brief.html") == b"<p>brief</p>"
    assert out_file(out_dir, "maps/m.html") == b"<p>map</p>"
    assert out_file(out_dir, "maps%2Fm.html") == b"<p>map</p>"
    assert out_file(out_dir, "inside.html") == b"<p>brief</p>"  # a link that stays inside


@pytest.mark.parametrize("path", [
    "../secret.html", "%2e%2e/secret.html", "maps/../../secret.html", "%2E%2E%2Fsecret.html",
    "/etc/passwd", "%2Fetc%2Fpasswd", str(Path("/etc/hosts")), "..\\secret.html", "maps//m.html",
    "leak.html", "linked/secret.html", ".kztmp-1-brief.html", "notes.txt", "brief.html%00.png",
    "file:///etc/passwd", "", "maps",
])
def test_nothing_outside_the_output_folder_is_served(out_dir, path):
    assert out_file(out_dir, path) is None


def test_the_server_listens_on_loopback_only(tmp_path):
    server = PreviewServer(0, PreviewState(stem="x"), BuildOptions(out_dir=tmp_path))
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


# --- the live preview -------------------------------------------------------------------------------


def free_port() -> int:
    """Return a port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    """Return (status, body) of a GET sent exactly as written (no path clean-up by the client)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for_state(port: int, ready, timeout: float = 60.0) -> dict:
    """Return the preview's state once ``ready(state)`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            status, body = get(port, "/state")
            last = json.loads(body)
            if status == 200 and ready(last):
                return last
        except (ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the preview did not get there; last state {last}")


@pytest.fixture
def preview_process(tmp_path, monkeypatch):
    """Start ``kzreport preview`` (web page and PDF pages) on a free port; yield (port, source, process)."""
    source = Path(shutil.copy(FIXTURES / "minimal.yaml", tmp_path / "minimal.yaml"))
    port = free_port()
    env = {**os.environ, "KZREPORT_CACHE_DIR": str(tmp_path / "cache"), "SOURCE_DATE_EPOCH": "1663113600"}
    process = subprocess.Popen([sys.executable, "-m", "kzreport", "preview", str(source), "--port", str(port),
                                "--out", str(tmp_path / "out"), "--show", "html,pdf"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        wait_for_state(port, lambda s: s["versions"]["html"] > 0 and s["versions"]["pdf"] > 0 and not s["building"])
        yield port, source, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()


def test_the_server_refuses_paths_out_and_other_hosts(preview_process, tmp_path):
    port, _, _ = preview_process
    (tmp_path / "secret.html").write_text("secret", encoding="utf-8")
    assert get(port, "/out/minimal.html")[0] == 200
    status, png = get(port, "/pages/pdf/1.png")
    assert status == 200 and png.startswith(b"\x89PNG")
    for path in ("/out/../secret.html", "/out/%2e%2e/secret.html", "/out//etc/passwd", "/../secret.html",
                 "/out/%2Fetc%2Fpasswd", "/etc/passwd", "/pages/pdf/0.png", "/pages/pdf/99.png",
                 "/pages/../minimal.yaml", "/minimal.yaml"):
        status, body = get(port, path)
        assert status == 404 and b"secret" not in body and b"root:" not in body, path
    # A page elsewhere that made its name point at 127.0.0.1 (DNS rebinding) gets nothing.
    assert get(port, "/state", host=f"attacker.example:{port}")[0] == 421


@pytest.mark.browser
def test_a_saved_change_shows_in_the_page_and_errors_keep_the_last_good_preview(preview_process):
    from playwright.sync_api import sync_playwright

    from kzreport.rasterize import BROWSER_ARGS, find_browser

    port, source, process = preview_process
    origin = f"http://127.0.0.1:{port}"
    refused = []
    text = source.read_text(encoding="utf-8")
    with sync_playwright() as playwright:
        # kzreport's browser resolves every name to nothing; this one must reach the preview on loopback.
        args = [a for a in BROWSER_ARGS if not a.startswith("--host-resolver-rules")]
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=args)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, service_workers="block")
            context.route(re.compile(r"^(?!" + re.escape(origin) + r"/).*"),
                          lambda route: refused.append(route.request.url) or route.abort())
            page = context.new_page()
            page.goto(origin + "/")
            edition = page.frame_locator("#view-html iframe")
            edition.locator("text=这是核心判断。").wait_for(timeout=30_000)

            source.write_text(text.replace("这是核心判断。", "这是保存后的新判断。"), encoding="utf-8")
            edition.locator("text=这是保存后的新判断。").wait_for(timeout=30_000)

            # A mistake: the located error shows in the page; the last good page stays.
            source.write_text(text.replace("thesis:", "thesys:"), encoding="utf-8")
            errors = page.locator("#errors")
            errors.wait_for(state="visible", timeout=30_000)
            assert re.search(r"minimal\.yaml:\d+:\d+", errors.inner_text())
            assert edition.locator("text=这是保存后的新判断。").count() == 1

            source.write_text(text, encoding="utf-8")
            errors.wait_for(state="hidden", timeout=30_000)
            edition.locator("text=这是核心判断。").wait_for(timeout=30_000)

            from kzreport.i18n import catalog

            page.get_by_role("button", name=catalog("zh-Hans", None)["preview_pdf"]).click()
            page.locator("#view-pdf img").first.wait_for(timeout=30_000)
            assert page.locator("#view-pdf img").first.evaluate("img => img.complete && img.naturalWidth > 0")
        finally:
            browser.close()
    assert refused == []
    process.terminate()
    _, err = process.communicate(timeout=10)
    assert re.search(r"minimal\.yaml:\d+:\d+", err.decode()), "the error was not reported on the terminal"
