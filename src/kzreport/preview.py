"""``kzreport preview``: rebuild on every save and show the result in a browser.

One long-running process: it builds the source once, then watches the source, the theme,
the PowerPoint master and the template folders (``watchfiles``) and rebuilds in the same
process, so imports, parsed templates and fonts stay warm. A change rebuilds only the
outputs it touches (``touched_parts``): a template under ``html/`` only the web page, under
``deck/`` only the slides; the source and the theme everything, the maps only when the
source's maps changed. Each output is shown as soon as it is built: the web page first
(about a tenth of a second), then the PDF's pages, then the slides.

The page at ``http://127.0.0.1:PORT/`` shows the HTML edition, the PDF's pages and the
slides as images (rendered with PDFium on request; the slides through LibreOffice when it
is installed) and reloads the part that changed, told by server-sent events. A source
with errors keeps the last good outputs on screen and shows the located errors, in the
page and on the terminal.

Safety: the server listens on 127.0.0.1 only and answers only requests addressed to it by
that name (a page elsewhere cannot reach it through DNS rebinding); it serves the page,
its events, the page images it made and regular files inside the output folder, read
through ``fsutil.read_checked`` (symlinks resolved and confined, hidden files refused);
nothing else on the disk.
"""

from __future__ import annotations

import http.server
import io
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import InputError, KzreportError, terminal_safe
from .fsutil import display_path, read_checked

PARTS = ("html", "pdf", "slides")
"""What the preview shows, in the order it is rebuilt."""
PART_FORMAT = {"html": "html", "pdf": "pdf", "slides": "pptx"}
DEFAULT_PORT = 8765
PAGE_SCALE = 1.5
"""PDFium's scale for page images: 1.5 × 72 dpi, about 900 px across an A4 page."""
MAX_SERVED_BYTES = 256 * 1024 * 1024
SERVED_TYPES = {".html": "text/html; charset=utf-8", ".png": "image/png", ".pdf": "application/pdf",
                ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                ".md": "text/markdown; charset=utf-8"}
EDITION_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
                  "font-src data:; base-uri 'none'; form-action 'none'")
"""The HTML edition may run and style itself and show data: images; it may fetch nothing."""
SHELL_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; "
                "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'")
HEARTBEAT_SECONDS = 15.0


# --- what a change touches ---------------------------------------------------------------


def touched_parts(changed: set[Path], source: Path, theme_file: Path | None, pptx_template: Path | None,
                  template_dirs: list[Path]) -> set[str]:
    """Return the parts (``PARTS``) a set of changed files touches.

    The source, the theme, a logo beside it and the message catalogs touch every part. The
    PDF's templates touch the PDF and the web page (the page takes the PDF's theme CSS and
    several of its partials); the web page's templates the web page; the deck's master the slides.
    """
    parts: set[str] = set()
    for path in (p.resolve() for p in changed):
        if path == source.resolve() or (theme_file and path.parent == theme_file.resolve().parent):
            return set(PARTS)
        if pptx_template and path == pptx_template.resolve():
            parts.add("slides")
            continue
        folder = next((d.resolve() for d in template_dirs if path.is_relative_to(d.resolve())), None)
        if folder is None:
            continue
        top = path.relative_to(folder).parts[0] if path != folder else ""
        parts |= {"html": {"html"}, "pdf": {"pdf", "html"}, "deck": {"slides"}}.get(top, set(PARTS))
    return parts


def maps_signature(brief, theme) -> str:
    """Return what the maps are drawn from, to tell whether a change needs them drawn again."""
    return json.dumps([[m.model_dump(mode="json") for m in brief.maps], theme.model_dump(mode="json")],
                      sort_keys=True, ensure_ascii=False)


# --- page images -----------------------------------------------------------------------------


class PageImages:
    """The pages of one PDF (the brief's, or the deck's as LibreOffice prints it), drawn as PNG on request."""

    _lock = threading.Lock()  # PDFium is not thread-safe: one drawing at a time in the process

    def __init__(self, pdf: bytes | None = None):
        self.pdf = pdf
        self._document = None
        self._count = 0
        self._drawn: dict[int, bytes] = {}
        if pdf:
            import pypdfium2

            with self._lock:
                self._document = pypdfium2.PdfDocument(pdf)
                self._count = len(self._document)

    def __len__(self) -> int:
        return self._count

    def png(self, number: int) -> bytes | None:
        """Return page ``number`` (from 1) as PNG, or None when there is no such page."""
        if not 1 <= number <= self._count:
            return None
        if number not in self._drawn:
            with self._lock:
                bitmap = self._document[number - 1].render(scale=PAGE_SCALE)
                image = bitmap.to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)
            self._drawn[number] = buffer.getvalue()
        return self._drawn[number]


def slides_pdf(pptx: Path, work: Path) -> bytes | None:
    """Return the deck printed to PDF by LibreOffice, or None when LibreOffice is not installed."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        return None
    profile = (work / "office-profile").resolve().as_uri()
    out = work / "slides"
    out.mkdir(parents=True, exist_ok=True)
    # A profile of its own: a LibreOffice the user has open would otherwise take the job and print nothing.
    result = subprocess.run([office, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                             "--outdir", str(out), str(pptx)], capture_output=True, timeout=120)
    printed = out / f"{pptx.stem}.pdf"
    if result.returncode != 0 or not printed.is_file():
        raise KzreportError(f"LibreOffice could not print the slides: {result.stderr.decode(errors='replace')[:300]}")
    return printed.read_bytes()


# --- the state the page shows ------------------------------------------------------------------


@dataclass
class PreviewState:
    """What the preview shows now; every change bumps ``generation`` and wakes the page's event streams."""

    stem: str
    generation: int = 0
    versions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    pages: dict[str, PageImages] = field(default_factory=lambda: {"pdf": PageImages(), "slides": PageImages()})
    errors: list[str] = field(default_factory=list)
    building: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    language: str = "en"
    changed: threading.Condition = field(default_factory=threading.Condition)

    def snapshot(self) -> dict:
        """Return the state as the page reads it (JSON)."""
        with self.changed:
            return {"generation": self.generation, "versions": dict(self.versions), "errors": list(self.errors),
                    "building": list(self.building), "notes": list(self.notes),
                    "pages": {k: len(v) for k, v in self.pages.items()}, "stem": self.stem}

    def update(self, **changes) -> None:
        """Change the state and tell every waiting event stream."""
        with self.changed:
            for name, value in changes.items():
                setattr(self, name, value)
            self.generation += 1
            self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the generation passes ``seen`` (or the timeout); return the generation."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation > seen, timeout)
            return self.generation


# --- rebuilding ------------------------------------------------------------------------------------


def build_formats(project, formats: tuple[str, ...]) -> None:
    """Build ``formats`` of an already loaded project and write them (all or none), as ``kzreport build`` does:
    the source is loaded once per change, not once per part."""
    from .build import Reporter
    from .builders import builder_class, ordered_formats
    from .fsutil import clean_stale_temporaries, commit

    reporter = Reporter(verbosity=0)
    project.outputs = {}
    builders = [builder_class(name)() for name in ordered_formats(formats)]
    try:
        for builder in builders:
            builder.build(project, reporter)
            if builder.feeds_others:  # the maps: drawn before the PDF and the deck take them
                builder.finish(reporter)
    finally:
        for builder in builders:
            builder.close()
    clean_stale_temporaries(project.options.out_dir)
    commit(project.outputs, root=project.options.out_dir)


class Rebuilder:
    """Builds the parts a change touches, one after another, into the output folder and the state."""

    def __init__(self, source: Path, options, parts: tuple[str, ...], state: PreviewState, work: Path, say):
        self.source, self.options, self.parts, self.state, self.work, self.say = source, options, parts, state, work, say
        self.maps_drawn: str | None = None
        self.pending: "queue.Queue[set[Path] | None]" = queue.Queue()
        self.timings: dict[str, float] = {}

    def template_dirs(self) -> list[Path]:
        """Return the template folders searched: the user's first, the built-ins last."""
        from .resources import template_search_path

        return template_search_path(self.options.templates_dir)

    def watched(self) -> tuple[list[Path], list[Path]]:
        """Return the files watched (in their folders, so an editor's save-by-rename is seen) and the folders
        watched recursively."""
        from .resources import templates_dir

        files = [self.source, self.options.theme_file or templates_dir() / "theme.yaml"]
        if self.options.pptx_template:
            files.append(self.options.pptx_template)
        if self.options.theme_file:  # the logo sits beside the theme file
            files.append(self.options.theme_file.parent)
        return files, self.template_dirs()

    def parts_for(self, changed: set[Path]) -> set[str]:
        """Return the parts of this preview that ``changed`` touches."""
        touched = touched_parts(changed, self.source, self.options.theme_file, self.options.pptx_template,
                                self.template_dirs())
        return {p for p in touched if p in self.parts}

    def rebuild(self, parts: set[str]) -> bool:
        """Build ``parts`` in order; return False when a newer change arrived and the rest was left for it.

        A bad source or template stops the rebuild and puts its located errors on the page and
        the terminal; the outputs and images of the last good build stay.
        """
        from .build import Reporter, load_project

        started = time.perf_counter()
        try:
            project = load_project(self.source, self.options, Reporter(verbosity=0))
            self.state.language = project.source.meta.language
            signature = maps_signature(project.source, project.theme)
            for part in [p for p in PARTS if p in parts]:
                if not self.pending.empty():
                    return False
                self.state.update(building=[part])
                formats = (PART_FORMAT[part],)
                if part != "html" and project.source.maps and signature != self.maps_drawn:
                    formats = ("maps", *formats)
                build_formats(project, formats)
                if "maps" in formats:
                    self.maps_drawn = signature
                changes = self.part_built(part)
                self.timings[part] = time.perf_counter() - started
                self.state.update(building=[], **changes)
        except KzreportError as error:
            lines = [terminal_safe(line) for line in str(error).splitlines() if line.strip()]
            for line in lines:
                self.say(line)
            self.state.update(errors=lines, building=[])
            return True
        except Exception as error:  # noqa: BLE001 - the preview outlives one bad build and says what happened
            line = f"kzreport: internal error: {type(error).__name__}: {terminal_safe(str(error))}"
            self.say(line)
            self.state.update(errors=[line], building=[])
            return True
        if self.state.errors:
            self.say("preview: the errors are fixed")
            self.state.update(errors=[])
        done = ", ".join(f"{p} {self.timings[p]:.2f} s" for p in PARTS if p in parts)
        self.say(f"preview: rebuilt {done} after the change")
        return True

    def part_built(self, part: str) -> dict:
        """Return the state's changes once ``part`` is written: its version, and its page images."""
        versions = dict(self.state.versions)
        versions[part] = self.state.generation + 1
        changes: dict = {"versions": versions}
        out = self.options.out_dir
        if part == "pdf":
            pdf = read_checked(out / f"{self.source.stem}.pdf", roots=[out], max_bytes=MAX_SERVED_BYTES, what="PDF")
            if pdf != self.state.pages["pdf"].pdf:
                changes["pages"] = {**self.state.pages, "pdf": PageImages(pdf)}
        elif part == "slides":
            deck = out / f"{self.source.stem}.pptx"
            printed = slides_pdf(deck, self.work)
            notes = [] if printed is not None else ["slides: LibreOffice is not installed; no slide images"]
            changes["notes"] = notes
            if printed is not None:
                changes["pages"] = {**self.state.pages, "slides": PageImages(printed)}
        return changes

    def run(self, stop: threading.Event) -> None:
        """Rebuild everything once, then each time the watchers report a change, until ``stop`` is set."""
        parts = set(self.parts)
        while not stop.is_set():
            if parts and not self.rebuild(parts):
                parts = set(parts)  # interrupted: build what was left together with the new change
            else:
                parts = set()
            changed = self.pending.get()
            if changed is None:
                return
            while not self.pending.empty():  # several saves in a row: one rebuild
                more = self.pending.get()
                if more is None:
                    return
                changed |= more
            parts |= self.parts_for(changed)


def watch(rebuilder: Rebuilder, stop: threading.Event) -> list[threading.Thread]:
    """Start the watchers (files in their folders, template folders recursively); return their threads."""
    import watchfiles

    files, folders = rebuilder.watched()
    wanted_files = {p.resolve() for p in files if not p.is_dir()}
    wanted_dirs = [p.resolve() for p in files if p.is_dir()]

    def is_watched_file(_change, path: str) -> bool:
        resolved = Path(path).resolve()
        return resolved in wanted_files or any(resolved.parent == d for d in wanted_dirs)

    def run(paths: list[Path], recursive: bool, keep) -> None:
        for changes in watchfiles.watch(*paths, watch_filter=keep, recursive=recursive, stop_event=stop,
                                        debounce=400, step=30, yield_on_timeout=False, raise_interrupt=False):
            rebuilder.pending.put({Path(path) for _, path in changes})

    parents = sorted({p.parent.resolve() for p in wanted_files} | set(wanted_dirs))
    threads = [threading.Thread(target=run, args=(parents, False, is_watched_file), daemon=True),
               threading.Thread(target=run, args=([d for d in folders if d.is_dir()], True,
                                                  watchfiles.DefaultFilter()), daemon=True)]
    for thread in threads:
        thread.start()
    return threads


# --- serving ---------------------------------------------------------------------------------------


def out_file(out_dir: Path, url_path: str) -> bytes | None:
    """Return the bytes of the output file a ``/out/...`` path names, or None when it is not one to serve.

    Served: regular files of known types inside the output folder, symlinks resolved (one that
    leads out is refused). Refused: absolute paths, ``..``, hidden names (temporary files), a
    backslash or NUL anywhere.
    """
    relative = unquote(url_path)
    pieces = relative.split("/")
    if (not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative or ":" in relative
            or any(not p or p.startswith(".") for p in pieces)):
        return None
    path = out_dir.joinpath(*pieces)
    if path.suffix.lower() not in SERVED_TYPES:
        return None
    try:
        return read_checked(path, roots=[out_dir], max_bytes=MAX_SERVED_BYTES, what="output")
    except InputError:
        return None


def shell_page(state: PreviewState, options) -> bytes:
    """Return the preview's page, in the brief's language (or English before the first good build)."""
    from .i18n import Words
    from .templating import render_template, template_environment

    words = Words(state.language, options.templates_dir)
    env = template_environment(None)  # the built-ins: a user's broken template must not break the preview itself
    page = render_template(env, "html/preview.html.j2", {
        "t": words, "language": words.language, "stem": state.stem, "state": state.snapshot(),
        "parts": PARTS, "title": state.stem})
    return page.encode("utf-8")


class PreviewServer(http.server.ThreadingHTTPServer):
    """The preview's HTTP server: loopback only, threads for the event streams."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, port: int, state: PreviewState, options):
        self.state, self.options = state, options
        super().__init__(("127.0.0.1", port), PreviewHandler)

    @property
    def port(self) -> int:
        """Return the port it listens on."""
        return self.server_address[1]


class PreviewHandler(http.server.BaseHTTPRequestHandler):
    """Answers GET and HEAD for the page, its state and events, the page images and the outputs."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the name http.server uses
        """Log nothing: the terminal is for the build's messages."""

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if not self.addressed_to_us():
            return self.send(421, b"wrong host\n", "text/plain; charset=utf-8", head)
        path = urlsplit(self.path).path
        state, options = self.server.state, self.server.options
        if path == "/":
            return self.send(200, shell_page(state, options), "text/html; charset=utf-8", head, SHELL_POLICY)
        if path == "/state":
            return self.send(200, json.dumps(state.snapshot()).encode(), "application/json", head)
        if path == "/events":
            return self.events()
        if path.startswith("/pages/"):
            return self.page_image(path.removeprefix("/pages/"), head)
        if path.startswith("/out/"):
            data = out_file(options.out_dir, path.removeprefix("/out/"))
            if data is not None:
                kind = SERVED_TYPES[Path(unquote(path)).suffix.lower()]
                return self.send(200, data, kind, head, EDITION_POLICY if kind.startswith("text/html") else None)
        self.send(404, b"not found\n", "text/plain; charset=utf-8", head)

    def addressed_to_us(self) -> bool:
        """Return whether the request names this server as 127.0.0.1 or localhost (DNS rebinding guard)."""
        host = (self.headers.get("Host") or "").lower()
        return host in {f"127.0.0.1:{self.server.port}", f"localhost:{self.server.port}"}

    def page_image(self, rest: str, head: bool) -> None:
        """Send ``/pages/<pdf|slides>/<n>.png``."""
        kind, _, name = rest.partition("/")
        pages = self.server.state.pages.get(kind)
        number = name.removesuffix(".png")
        png = pages.png(int(number)) if pages is not None and number.isdigit() and name.endswith(".png") else None
        if png is None:
            return self.send(404, b"not found\n", "text/plain; charset=utf-8", head)
        self.send(200, png, "image/png", head)

    def events(self) -> None:
        """Stream the state as server-sent events: now, after every change, and a heartbeat in between."""
        state = self.server.state
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seen = -1
        try:
            while True:
                generation = state.generation
                if generation != seen:
                    seen = generation
                    self.wfile.write(f"data: {json.dumps(state.snapshot())}\n\n".encode())
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
                state.wait(seen, HEARTBEAT_SECONDS)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def send(self, status: int, body: bytes, kind: str, head: bool, policy: str | None = None) -> None:
        """Send a whole response, never cached, never sniffed."""
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if policy:
            self.send_header("Content-Security-Policy", policy)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def open_server(port: int | None, state: PreviewState, options) -> PreviewServer:
    """Return the server on ``port``; with no port, on the default one, or any free one when it is taken."""
    if port is not None:
        try:
            return PreviewServer(port, state, options)
        except OSError as error:
            raise InputError(f"preview --port {port}: cannot listen on 127.0.0.1:{port} ({error.strerror})") from None
    try:
        return PreviewServer(DEFAULT_PORT, state, options)
    except OSError:
        return PreviewServer(0, state, options)


def preview(source: Path, options, parts: tuple[str, ...], port: int | None) -> int:
    """Serve the preview of ``source`` until interrupted; return the exit status."""
    from .errors import EXIT_OK
    from .loader import load_source

    from .reproducible import source_date_epoch

    source_date_epoch()  # a bad SOURCE_DATE_EPOCH is an option error, before anything starts
    load_source(source)  # so is a source that cannot be read at all
    state = PreviewState(stem=source.stem)

    def say(line: str) -> None:
        print(terminal_safe(line), file=sys.stderr, flush=True)

    server = open_server(port, state, options)
    stop = threading.Event()
    work = Path(tempfile.mkdtemp(prefix="kzreport-preview-"))
    rebuilder = Rebuilder(source, options, parts, state, work, say)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    say(f"preview of {display_path(source)}: http://127.0.0.1:{server.port}/ (outputs in "
        f"{display_path(options.out_dir)}; Ctrl-C stops)")
    watch(rebuilder, stop)
    try:
        rebuilder.run(stop)
    except KeyboardInterrupt:
        say("preview: stopped")
    finally:
        stop.set()
        rebuilder.pending.put(None)
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    return EXIT_OK
