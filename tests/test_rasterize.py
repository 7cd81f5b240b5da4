"""The rasterizer: real Chromium through Playwright, no network, a ready signal, a clear error without a browser."""

from __future__ import annotations

import io
import os
import tempfile
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
def test_pages_of_different_sizes_share_one_browser():
    box = page('<div style="width:100px;height:50px;background:#C8553D"></div>')
    launches = STATS.launches
    images = rasterize_maps({"print": box, "slide": box, "default": box}, viewport=(200, 100), device_scale=1,
                            sizes={"print": ((120, 60), 4), "slide": ((300, 150), 3.5)})
    assert STATS.launches == launches + 1 and STATS.aborted == []
    sizes = {key: Image.open(io.BytesIO(png)).size for key, png in images.items()}
    assert sizes == {"print": (480, 240), "slide": (1050, 525), "default": (200, 100)}
    # The page is laid out in CSS pixels: the box covers the same CSS area at every device scale.
    slide = Image.open(io.BytesIO(images["slide"])).convert("RGB")
    assert slide.getpixel((345, 170)) == (0xC8, 0x55, 0x3D) and slide.getpixel((355, 180)) == (255, 255, 255)


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


def loopback_listener():
    """Return a listening TCP socket on 127.0.0.1 (listening is not connecting: the conftest guard allows it)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    return listener


def connections_seen(listener) -> int:
    """Return how many connections reached the listener."""
    count = 0
    while True:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


@pytest.mark.browser
@pytest.mark.parametrize("script", [
    "new WebSocket('ws://127.0.0.1:{port}/')",
    "fetch('http://127.0.0.1:{port}/x').catch(() => 0)",
])
def test_websockets_and_fetches_to_loopback_fail_the_build_and_connect_nowhere(script):
    listener = loopback_listener()
    port = listener.getsockname()[1]
    hostile = page(f"<script>{script.format(port=port)}</script>"
                   "<script>setTimeout(() => { window.kzreportReady = true; }, 500);</script>", ready=False)
    try:
        with pytest.raises(BuildError, match=f"127.0.0.1:{port}"):
            rasterize_maps({"leaky": hostile}, viewport=(100, 100))
        assert connections_seen(listener) == 0
    finally:
        listener.close()


def strace_works() -> bool:
    """Return whether strace is installed and may trace here (containers can forbid ptrace)."""
    import shutil
    import subprocess

    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True).returncode == 0


@pytest.mark.browser
def test_the_browser_itself_connects_nowhere_during_a_rasterize(tmp_path, monkeypatch):
    """Trace every connect/sendto of every browser process: not one reaches the network.

    Before the fix Chromium's network service looked up update.googleapis.com and
    accounts.google.com on every build (connect() to the resolver succeeded).
    """
    if not strace_works():
        pytest.skip("strace is not installed or may not trace here (scripts/bootstrap.sh installs it)")
    if rasterize.namespace_prefix() is None:
        pytest.skip("unshare --net is not permitted here: the browser runs without a network namespace")
    real = find_browser()
    traced = tmp_path / "traced-browser"
    traced.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/args\n'
                      f'exec strace -f -ff -qq -e trace=connect,sendto,sendmsg -o {tmp_path}/trace "{real}" "$@"\n')
    traced.chmod(0o755)
    monkeypatch.setenv("KZREPORT_BROWSER", str(traced))
    rasterize_maps({"m": page('<div style="width:50px;height:50px;background:#C8553D"></div>')}, viewport=(100, 100))
    assert STATS.isolated and STATS.sockets == []
    calls = [line for trace in tmp_path.glob("trace.*") for line in trace.read_text(errors="replace").splitlines()
             if "sa_family=AF_INET" in line]
    succeeded = [line for line in calls if not line.rstrip().split("= ")[-1].startswith("-1")]
    assert succeeded == [], "\n".join(succeeded[:5])
    args = (tmp_path / "args").read_text().splitlines()
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in args
    profile = next(a.split("=", 1)[1] for a in args if a.startswith("--user-data-dir="))
    assert profile.startswith(tempfile.gettempdir()) and not os.path.exists(profile), "a fresh profile, then removed"


@pytest.mark.browser
def test_a_page_that_gathers_webrtc_candidates_fails_the_build():
    """WebRTC sockets bypass every request hook; the namespace's IP counters still see the attempt."""
    if rasterize.namespace_prefix() is None:
        pytest.skip("unshare --net is not permitted here: only TCP sockets are watched without a namespace")
    script = ("const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:192.0.2.1:3478'}]});"
              "pc.createDataChannel('x'); pc.createOffer().then(offer => pc.setLocalDescription(offer));"
              "setTimeout(() => { window.kzreportReady = true; }, 1000);")
    with pytest.raises(BuildError, match="tried to reach the network"):
        rasterize_maps({"rtc": page(f"<script>{script}</script>", ready=False)}, viewport=(100, 100))
    assert STATS.sockets


def test_socket_watch_sees_a_tcp_connection_of_a_process_tree():
    import subprocess
    import sys

    listener = loopback_listener()
    port = listener.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-c", f"import socket,sys; s = socket.create_connection(('127.0.0.1', {port}));"
                              "print('up', flush=True); sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        assert f"tcp 127.0.0.1:{port}" in rasterize._process_tree_sockets(child.pid)
    finally:
        child.communicate("")
        listener.close()


def test_namespace_counters_see_a_failed_connection_attempt():
    import subprocess
    import sys

    prefix = rasterize.namespace_prefix()
    if prefix is None:
        pytest.skip("unshare --net is not permitted here")
    code = ("import socket,sys\ntry: socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError: pass\n"
            "print('tried', flush=True); sys.stdin.read()")
    child = subprocess.Popen([*prefix, sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "tried"
        assert "Ip.OutNoRoutes=1" in rasterize._attempt_counters(child.pid)
        assert rasterize._namespace_sockets(child.pid) == []
    finally:
        child.communicate("")
