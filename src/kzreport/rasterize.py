"""Rasterize self-contained HTML pages (the maps) to PNG in headless Chromium, with no network.

One browser serves every page of a call. Each page is served from a made-up origin
(``http://kzreport.invalid/<id>.html``) by a route this module fulfils; every other
request and every WebSocket is refused and counted, and a page that made one is a
BuildError, so a map that would need the network fails here rather than rendering
half-empty. The page says when it is drawn by setting ``window.kzreportReady`` (see
``builders/maps.py``); there is no fixed sleep. A wall-clock limit bounds the whole call
and the browser is closed in every case.

The page-level guard only sees the page's own requests, so the browser itself is shut off
from the network in three layers (see ``BROWSER_ARGS`` and ``_Isolation``):

* every host name and address resolves to nothing (``--host-resolver-rules``), which stops
  Chromium's own update checks, sign-in probes and DNS lookups before any socket exists;
* on Linux, where ``unshare --net`` is permitted, the browser runs in a network namespace
  with no interface up, so not even a socket that slipped past the rules can leave;
* a watch over the browser's sockets (and, in the namespace, its IP counters) fails the
  build on any network socket the browser opens. Where /proc or ``unshare`` are missing
  these layers are skipped and the first one remains.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BuildError, InputError

ORIGIN = "http://kzreport.invalid"
READY_EXPRESSION = "() => window.kzreportReady === true"
DEFAULT_TIMEOUT_S = 90.0
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-default-apps", "--disable-extensions", "--mute-audio",
                "--disable-component-extensions-with-background-pages",
                # Background services. Measured with Chromium 156 (NetLog): these flags alone still let
                # the browser post update checks to update.googleapis.com and sign-in probes to
                # accounts.google.com, so they are kept for what they do stop, not relied upon.
                "--disable-background-networking", "--disable-component-update", "--disable-domain-reliability",
                "--disable-sync", "--no-pings", "--disable-breakpad", "--disable-client-side-phishing-detection",
                "--metrics-recording-only", "--no-service-autorun",
                # The layer that works: every name and address (IP literals too, so WebSockets and
                # preconnects to 127.0.0.1 as well) fails to resolve. The pages need no resolution:
                # the route handler answers for them inside the browser.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                # WebRTC gathers candidates outside the resolver; allow no UDP except through a proxy (none).
                "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]
# No --disable-features here on purpose: Chromium keeps only the last one on its command line,
# so ours would re-enable everything Playwright's own list turns off (measured: with a second
# --disable-features the browser starts querying clients2.google.com for the network time).
BROWSER_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                      "/usr/bin/google-chrome-stable", "/usr/bin/microsoft-edge", "/snap/bin/chromium",
                      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                      "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                      "/Applications/Chromium.app/Contents/MacOS/Chromium"]
BROWSER_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge", "msedge"]
INSTALL_HINT = ("install Chromium ('apt-get install chromium' on Debian/Ubuntu, 'dnf install chromium' on Fedora) "
                "or Google Chrome, or set KZREPORT_BROWSER to the executable of a Chromium-based browser")
SOCKET_POLL_S = 0.05

@dataclass
class RasterStats:
    """What the last ``rasterize_maps`` call did: browser launches, what it refused, how it was isolated."""

    launches: int = 0
    aborted: list[str] = field(default_factory=list)
    """Requests and WebSockets of the pages that were refused."""
    sockets: list[str] = field(default_factory=list)
    """Network sockets or connection attempts of the browser itself that the watch saw."""
    isolated: bool = False
    """Whether the last browser ran in a network namespace of its own."""


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


@functools.cache
def namespace_prefix() -> tuple[str, ...] | None:
    """Return the command prefix that starts a program in a network namespace of its own, or None.

    ``unshare --net`` needs root (or CAP_SYS_ADMIN); ordinary users get one inside a user
    namespace where the system allows those. None where neither is permitted or not Linux.
    """
    unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
    if unshare is None:
        return None
    for prefix in ((unshare, "--net", "--"), (unshare, "--user", "--map-root-user", "--net", "--")):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.SubprocessError):
            continue
    return None


class _Isolation:
    """The launcher that starts the browser isolated, and the watch over its sockets.

    On Linux the browser is started through a small launcher script, in a temporary folder,
    that records its process id (and enters a network namespace when permitted), so that
    its sockets can be watched.
    """

    def __init__(self, executable: Path):
        self._dir = tempfile.TemporaryDirectory(prefix="kzreport-browser-", ignore_cleanup_errors=True)
        root = Path(self._dir.name)
        prefix = namespace_prefix()
        self.launcher = self._write_launcher(root / "launch-browser", executable, prefix)
        watched = self.launcher != executable
        self.namespace = watched and prefix is not None
        self.watch = _SocketWatch(root / "browser.pid", self.namespace) if watched else None

    @staticmethod
    def _write_launcher(path: Path, executable: Path, prefix: tuple[str, ...] | None) -> Path:
        """Return the launcher script written at ``path``, or ``executable`` where none can run."""
        if not Path("/proc/self/net").is_dir():
            return executable
        command = " ".join(shlex.quote(part) for part in (*(prefix or ()), str(executable)))
        pid_file = shlex.quote(str(path.with_name("browser.pid")))
        path.write_text(f'#!/bin/sh\necho $$ > {pid_file}\nexec {command} "$@"\n', encoding="utf-8")
        path.chmod(0o700)
        # A temporary folder mounted noexec cannot run it: the browser then starts unwatched.
        return path if os.access(path, os.X_OK) else executable

    def __enter__(self) -> "_Isolation":
        if self.watch:
            self.watch.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.watch:
            self.watch.stop()
        self._dir.cleanup()


class _SocketWatch:
    """Samples the browser's network sockets while it runs; ``finish`` returns what it saw.

    In a namespace of its own every socket and IP counter of the namespace is the browser's,
    so any entry in its socket tables or any packet or connection attempt counts (a failed
    one too). Without a namespace, the TCP sockets held by the browser's processes count:
    UDP is left out there because Chromium connects a UDP socket for a moment to learn its
    own address (sending nothing), too briefly to sample reliably.
    """

    def __init__(self, pid_file: Path, namespace: bool):
        self.pid_file = pid_file
        self.namespace = namespace
        self.seen: list[str] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kzreport-socket-watch", daemon=True)

    def start(self) -> None:
        """Start sampling in a thread; it waits for the launcher to write the browser's process id."""
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.wait(SOCKET_POLL_S):
            self.sample()

    def stop(self) -> None:
        """End the sampling thread."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join()

    def finish(self) -> list[str]:
        """Return every socket or attempt seen, after a last sample and the namespace's counters."""
        self.stop()
        self.sample()
        pid = self._pid()
        if self.namespace and pid is not None:
            self._add(_attempt_counters(pid))
        return self.seen

    def sample(self) -> None:
        """Record the network sockets the browser holds now."""
        pid = self._pid()
        if pid is not None:
            self._add(_namespace_sockets(pid) if self.namespace else _process_tree_sockets(pid))

    def _add(self, found: list[str]) -> None:
        self.seen += [entry for entry in found if entry not in self.seen]

    def _pid(self) -> int | None:
        """Return the browser's process id once its launcher wrote it (and, with a namespace, entered it)."""
        try:
            pid = int(self.pid_file.read_text(encoding="ascii"))
            # Between writing its id and unshare(2) the launcher still sees this namespace's sockets.
            if self.namespace and os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                return None
        except (OSError, ValueError):
            return None
        return pid


_SOCKET_TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6")
_IP_COUNTERS = {"snmp": ("Ip.OutRequests", "Ip.OutNoRoutes", "Tcp.ActiveOpens", "Udp.OutDatagrams"),
                "snmp6": ("Ip6OutRequests", "Ip6OutNoRoutes", "Udp6OutDatagrams")}


def _socket_entries(pid: int) -> list[tuple[str, str, str, str]]:
    """Return (table, remote address, state, inode) of every entry in the socket tables of pid's namespace."""
    entries = []
    for table in _SOCKET_TABLES:
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9:
                entries.append((table, fields[2], fields[3], fields[9]))
    return entries


def _is_network(table: str, remote: str) -> bool:
    """Return whether a socket table entry is a network socket: TCP at all, UDP or raw once connected."""
    address = remote.split(":")[0]
    return table.startswith("tcp") or address.strip("0") != ""


def _describe(table: str, remote: str) -> str:
    """Return ``tcp 192.0.2.1:443`` for a socket table entry."""
    hex_address, hex_port = remote.split(":")
    raw = bytes.fromhex(hex_address)
    # /proc prints the address as 32-bit words in host byte order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if sys.byteorder == "little" else raw
    return f"{table} {ipaddress.ip_address(words)}:{int(hex_port, 16)}"


def _namespace_sockets(pid: int) -> list[str]:
    """Return the network sockets in pid's network namespace (all the browser's when it has its own)."""
    return [_describe(table, remote) for table, remote, _, _ in _socket_entries(pid) if _is_network(table, remote)]


def _process_tree_sockets(pid: int) -> list[str]:
    """Return the TCP sockets held by pid and its descendants."""
    inodes: set[str] = set()
    for member in _descendants(pid):
        try:
            for fd in os.scandir(f"/proc/{member}/fd"):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:  # the process ended or an fd closed while being read
            continue
    return [_describe(table, remote) for table, remote, _, inode in _socket_entries(pid)
            if table.startswith("tcp") and inode in inodes]


def _descendants(pid: int) -> list[int]:
    """Return pid and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue += children.get(current, [])
    return found


def _attempt_counters(pid: int) -> list[str]:
    """Return the IP counters of pid's namespace that show a packet sent or a connection tried."""
    values: dict[str, int] = {}
    try:
        lines = Path(f"/proc/{pid}/net/snmp").read_text(encoding="ascii").splitlines()
        for header, row in zip(lines[::2], lines[1::2]):
            group = header.split(":")[0]
            values |= {f"{group}.{k}": int(v) for k, v in zip(header.split()[1:], row.split()[1:]) if v.lstrip("-").isdigit()}
        for line in Path(f"/proc/{pid}/net/snmp6").read_text(encoding="ascii").splitlines():
            name, value = line.split()
            values[name] = int(value)
    except (OSError, ValueError):
        return []
    return [f"{name}={values[name]}" for names in _IP_COUNTERS.values() for name in names if values.get(name, 0) > 0]


def rasterize_maps(pages: dict[str, str], viewport: tuple[int, int] = (1440, 810), device_scale: float = 2,
                   timeout_s: float = DEFAULT_TIMEOUT_S,
                   sizes: dict[str, tuple[tuple[int, int], float]] | None = None) -> dict[str, bytes]:
    """Return a PNG per page id: each HTML page drawn at ``viewport`` CSS pixels times ``device_scale``,
    or at the (viewport, device scale) ``sizes`` gives for its id (one browser context per size).

    Raises BuildError when a page requests anything but itself, opens a WebSocket, reports a
    script error or is not ready in time, and when the browser opens a network socket;
    InputError when no browser is installed.
    """
    if not pages:
        return {}
    executable = find_browser()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    deadline = _Deadline(timeout_s)
    STATS.aborted, STATS.sockets = [], []
    with _Isolation(executable) as isolation:
        STATS.isolated = isolation.namespace
        try:
            with sync_playwright() as playwright:
                # Playwright starts the browser with a fresh profile in a temporary folder of its own
                # (--user-data-dir) and removes it on close: nothing is kept between builds.
                browser = playwright.chromium.launch(executable_path=str(isolation.launcher), args=BROWSER_ARGS,
                                                     headless=True, timeout=deadline.remaining_ms("launch"))
                STATS.launches += 1
                try:
                    images: dict[str, bytes] = {}
                    for (size_viewport, size_scale), group in _by_size(pages, viewport, device_scale, sizes).items():
                        images |= _draw_pages(browser, group, size_viewport, size_scale, deadline)
                    _refuse_sockets(isolation.watch.finish() if isolation.watch else [])
                    return images
                finally:
                    browser.close()
        except PlaywrightTimeoutError as error:  # any step that ran into the shared deadline
            raise BuildError(f"rasterizing the maps took longer than {timeout_s:.0f} s "
                             f"({str(error).splitlines()[0] if str(error) else 'timeout'})") from error
        except PlaywrightError as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise BuildError(f"the browser {executable} failed while rasterizing the maps: {message}") from error


def _by_size(pages: dict[str, str], viewport: tuple[int, int], device_scale: float,
             sizes: dict[str, tuple[tuple[int, int], float]] | None) -> dict[tuple, dict[str, str]]:
    """Return the pages grouped by the (viewport, device scale) each is drawn at, in the order given."""
    groups: dict[tuple, dict[str, str]] = {}
    for page_id, html in pages.items():
        size_viewport, size_scale = (sizes or {}).get(page_id, (viewport, device_scale))
        groups.setdefault((tuple(size_viewport), size_scale), {})[page_id] = html
    return groups


def _refuse_sockets(found: list[str]) -> None:
    """Raise BuildError when the browser opened a network socket or tried to send a packet."""
    STATS.sockets = found
    if found:
        raise BuildError(f"the browser itself tried to reach the network, which kzreport never allows "
                         f"(sockets or IP counters seen: {', '.join(found[:3])})")


def _draw_pages(browser, pages: dict[str, str], viewport: tuple[int, int], device_scale: float,
                deadline: _Deadline) -> dict[str, bytes]:
    """Return the PNG of each page, drawn in one browser context with every foreign request and WebSocket refused."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  device_scale_factor=device_scale, service_workers="block",
                                  accept_downloads=False, locale="zh-CN", timezone_id="UTC")
    try:
        return _draw_in_context(context, pages, deadline)
    finally:
        context.close()


def _draw_in_context(context, pages: dict[str, str], deadline: _Deadline) -> dict[str, bytes]:
    """Return the PNG of each page, drawn in ``context`` with every foreign request and WebSocket refused."""
    served = {page_url(page_id): html for page_id, html in pages.items()}

    def handle(route) -> None:
        url = route.request.url
        if url in served:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=served[url])
        else:
            STATS.aborted.append(url)
            route.abort("blockedbyclient")

    def refuse_socket(socket_route) -> None:
        # Not connecting to the server is what refuses it; closing tells the page at once.
        STATS.aborted.append(socket_route.url)
        socket_route.close(code=1008, reason="kzreport never uses the network")

    context.route("**/*", handle)
    # The request route never sees WebSockets; Playwright before 1.48 has no route for them,
    # and then the page's "websocket" event (below) still counts them.
    if hasattr(context, "route_web_socket"):
        context.route_web_socket(lambda url: True, refuse_socket)
    return {page_id: _draw_page(context, page_id, deadline) for page_id in pages}


def _draw_page(context, page_id: str, deadline: _Deadline) -> bytes:
    """Return the PNG of one page once it signals that it is drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page = context.new_page()
    errors: list[str] = []
    sockets: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("websocket", lambda socket: sockets.append(socket.url))
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
        png = page.screenshot(type="png", animations="disabled", caret="hide",
                              timeout=deadline.remaining_ms(f"capturing {page_id}"))
        # Checked after the screenshot: the WebSocket handlers run while Playwright waits for it.
        refused = STATS.aborted + [url for url in sockets if url not in STATS.aborted]
        if refused:
            raise BuildError(f"map {page_id!r} tried to load {len(refused)} resource(s) from the network, "
                             f"which kzreport never uses: {', '.join(refused[:3])}")
        return png
    finally:
        page.close()
