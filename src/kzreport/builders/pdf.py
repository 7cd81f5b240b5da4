"""The PDF briefing: Jinja2 templates to HTML, laid out and written by WeasyPrint.

Steps: check that the fonts draw every character; render ``pdf/brief.html.j2``
(user templates first, built-ins last) into HTML; lay it out; write the PDF to
bytes. WeasyPrint reads only through ``SafeFetcher``: files under the template
and asset folders, and the map images and logo kzreport hands it; anything else
(``file:///etc/passwd``, ``http://…``) stops the build with an error; ``data:`` URLs
are inline and allowed.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel

from ..errors import InputError
from ..fonts import require_coverage
from ..limits import work_limits
from ..reproducible import build_time
from ..resources import assets_dir, mime_type, template_search_path
from ..theme import read_logo
from ..templating import render_template, template_environment
from . import Builder

PAGE_SIZES = {"A4": "A4", "Letter": "letter"}
MAX_RESOURCE_BYTES = 32 * 1024 * 1024
INTERNAL_SCHEME = "kzreport:"


def brief_text(node) -> str:
    """Return every text of the brief joined, for the font coverage check."""
    if isinstance(node, BaseModel):
        return "\n".join(brief_text(getattr(node, name)) for name in type(node).model_fields)
    if isinstance(node, (list, tuple)):
        return "\n".join(brief_text(item) for item in node)
    return node if isinstance(node, str) else ""


def _maps():
    """Return the maps builder's module, whose route styles the PDF's legends share."""
    from . import maps

    return maps


def route_legend_text(line, words) -> str:
    """Return a route's entry in the figure's legend: its name, capacity and status when not operating."""
    status = _maps().route_status_text(line, words) if line.status != "operating" else None
    aside = words.join_parts([line.capacity, status])
    return words("parenthetical", text=line.name, aside=aside) if aside else line.name


def _fetcher_class():
    """Return SafeFetcher, defined on first use so that WeasyPrint is imported only by a PDF build."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """Serves kzreport's own resources and files under the allowed folders; refuses everything else."""

        def __init__(self, roots: list[Path], resources: dict[str, tuple[bytes, str]]):
            super().__init__(allowed_protocols={"file", "kzreport", "data"}, allow_redirects=False,
                             fail_on_errors=True, timeout=5)
            self.roots = [r.resolve() for r in roots]
            self.resources = resources
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(INTERNAL_SCHEME):
                return self._internal(url)
            if url.startswith("file:"):
                return self._file(url)
            if url.startswith("data:"):  # inline data: nothing is read from anywhere
                return super().fetch(url, headers)
            return self._refuse(url, "only files under the template and asset folders are read")

        def _internal(self, url: str):
            if url not in self.resources:
                return self._refuse(url, "no such kzreport resource")
            data, mime = self.resources[url]
            return URLFetcherResponse(url, data, {"Content-Type": mime})

        def _file(self, url: str):
            from urllib.request import url2pathname

            from ..fsutil import read_checked

            path = Path(url2pathname(url.split("?")[0].split("#")[0].removeprefix("file:")))
            try:  # the one check every file read goes through: inside the roots, regular, bounded
                data = read_checked(path, roots=self.roots, max_bytes=MAX_RESOURCE_BYTES, what="resource")
            except InputError as error:
                return self._refuse(url, str(error).partition(": ")[2] or str(error))
            return URLFetcherResponse(path.resolve().as_uri(), data, {"Content-Type": mime_type(path)})

        def _refuse(self, url: str, why: str):
            self.refused.append(f"{url[:200]} ({why})")
            raise PermissionError(why)

    return SafeFetcher


class _CollectLogs(logging.Handler):
    """Keeps WeasyPrint's log records so the build reports them itself."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _weasyprint_logs() -> Iterator[_CollectLogs]:
    """Divert WeasyPrint's warnings from the root logger into a collector for the duration."""
    collector = _CollectLogs()
    loggers = [logging.getLogger(n) for n in ("weasyprint", "weasyprint.progress", "fontTools")]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(collector)
        lg.propagate = False
    loggers[0].setLevel(logging.WARNING)
    try:
        yield collector
    finally:
        for lg, (propagate, level) in zip(loggers, saved):
            lg.removeHandler(collector)
            lg.propagate, lg.level = propagate, level


class PdfBuilder(Builder):
    """Builds ``<stem>.pdf``: check fonts, render the templates, lay out, write."""

    name = "pdf"

    def build(self, project, reporter) -> None:
        """Add the brief's PDF to the project's outputs."""
        with reporter.stage("pdf fonts"):
            self.check_fonts(project)
        with reporter.stage("pdf template"):
            html, resources = self.render_html(project)
        with reporter.stage("pdf layout"):
            document, fetcher = self.layout(project, html, resources)
        with reporter.stage("pdf write"):
            data = self.write(project, document, fetcher)
        project.add_output(project.output_path(f"{project.stem}.pdf"), data)

    def check_fonts(self, project) -> None:
        """Raise InputError when the fonts the PDF sets its text in lack a character of the brief or its words."""
        script = project.words.language.script
        text = brief_text(project.source) + "\n".join(project.words.messages.values())
        for role in ("body", "heading"):
            require_coverage(text, project.theme.fonts.stack(role, script), f"{project.source_path}: PDF {role} text")

    def render_html(self, project) -> tuple[str, dict[str, tuple[bytes, str]]]:
        """Return the brief as HTML and the in-memory resources (map images, logo) it links to."""
        resources = self.resources(project)
        env = template_environment(project.options.templates_dir)
        context = self.context(project, resources)
        return render_template(env, "pdf/brief.html.j2", context), resources

    def resources(self, project) -> dict[str, tuple[bytes, str]]:
        """Return ``kzreport:`` URL -> (bytes, MIME type) for the map images and the theme's logo."""
        found = {}
        for spec in project.source.maps:
            png = project.map_image(spec.id)
            if png:
                found[f"{INTERNAL_SCHEME}map/{spec.id}.png"] = (png, "image/png")
        logo = read_logo(project.theme, project.theme_dir)
        if logo:
            found[f"{INTERNAL_SCHEME}logo"] = logo
        return found

    def context(self, project, resources) -> dict:
        """Return what the templates see: the brief, the theme, page settings and helpers."""
        from ..svgchart import layout_chart

        from markupsafe import Markup

        theme, brief, words = project.theme, project.source, project.words
        article_words = project.article_words
        palette = {**theme.colors.model_dump(), "light": theme.colors.light}
        size = project.options.page_size or theme.page_size
        return {
            "brief": brief, "meta": brief.meta, "theme": theme,
            "t": words, "language": words.language,
            "article_words": article_words, "article_language": article_words.language,
            "route_swatch_svg": lambda line: Markup(_maps().route_swatch_svg(line, theme.map)),
            "route_legend_text": lambda line: route_legend_text(line, words),
            "figure_displays": lambda chart: [brief.figure(key).display for key in chart.figures],
            "page_size": PAGE_SIZES[size], "print_marks": project.options.print_marks,
            "created": build_time().isoformat(), "maps": {m.id: m for m in project.source.maps},
            "map_url": lambda map_id: f"{INTERNAL_SCHEME}map/{map_id}.png"
            if f"{INTERNAL_SCHEME}map/{map_id}.png" in resources else None,
            "logo_url": f"{INTERNAL_SCHEME}logo" if f"{INTERNAL_SCHEME}logo" in resources else None,
            "chart_layout": lambda chart: layout_chart(brief, chart, palette, words("chart_no_value")),
            "map_colors": theme.map,
            "source_numbers": {s.key: i for i, s in enumerate(project.source.sources, 1)},
            "note_titles": {n.id: n.title for n in project.source.notes},
        }

    def allowed_roots(self, project) -> list[Path]:
        """Return the folders WeasyPrint may read: the template search path and the assets."""
        return [*template_search_path(project.options.templates_dir), assets_dir()]

    def layout(self, project, html: str, resources):
        """Return the laid-out WeasyPrint document and the fetcher that served it."""
        from weasyprint import HTML

        fetcher = _fetcher_class()(self.allowed_roots(project), resources)
        base = template_search_path(project.options.templates_dir)[0] / "pdf" / "brief.html.j2"
        with self._weasyprint(project, fetcher, "layout") as logs:
            document = HTML(string=html, base_url=base.resolve().as_uri(), url_fetcher=fetcher).render()
        self._report_logs(project, logs)
        return document, fetcher

    def write(self, project, document, fetcher) -> bytes:
        """Return the PDF bytes: tagged (PDF/UA-1), with a stable identifier."""
        identifier = hashlib.sha256(project.source.model_dump_json().encode()).hexdigest()[:32].encode()
        # Attachments are fetched while writing, so the fetcher's refusals count here too.
        with self._weasyprint(project, fetcher, "write") as logs:
            data = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=identifier,
                                      uncompressed_pdf=False)
        self._report_logs(project, logs)
        return data

    @contextmanager
    def _weasyprint(self, project, fetcher, step: str) -> Iterator[_CollectLogs]:
        """Run a WeasyPrint step under the time limit; its refused or unreadable resources become InputErrors."""
        from weasyprint.urls import FatalURLFetchingError

        with _weasyprint_logs() as logs, work_limits(f"{project.source_path}: PDF {step}"):
            try:
                yield logs
            except FatalURLFetchingError as error:  # a BaseException: never let it reach the user as a traceback
                self._raise_refused(project, fetcher, error)
                if isinstance(error.__cause__, RecursionError):
                    raise InputError(f"{project.source_path}: PDF: a stylesheet imports itself ({error})") from None
                raise InputError(f"{project.source_path}: PDF: a template or stylesheet asks for a resource "
                                 f"that cannot be read ({error})") from None
            except RecursionError:
                raise InputError(f"{project.source_path}: PDF: a template or stylesheet refers to itself "
                                 "(an @import or include loop)") from None
            except Exception as error:
                self._raise_refused(project, fetcher, error)
                raise
        self._raise_refused(project, fetcher, None)

    def _raise_refused(self, project, fetcher, error) -> None:
        """Raise InputError when the templates asked for a resource kzreport does not serve."""
        if fetcher.refused:
            lines = [f"{project.source_path}: PDF: a template or stylesheet asks for {r}"
                     for r in dict.fromkeys(fetcher.refused)]
            raise InputError("\n".join(lines)) from error

    def _report_logs(self, project, logs: _CollectLogs) -> None:
        """Turn WeasyPrint's warnings into an InputError that blames what they are about: the theme's logo,
        or the templates and stylesheets (the brief's text and the map images are checked before)."""
        warnings = list(dict.fromkeys(r.getMessage() for r in logs.records if r.levelno >= logging.WARNING))
        if not warnings:
            return
        about_logo = [w for w in warnings if f"{INTERNAL_SCHEME}logo" in w]
        lines = [f"{project.theme_file_name()}: logo: {w}" for w in about_logo]
        rest = [w for w in warnings if w not in about_logo]
        if rest:
            shown = "\n".join(f"  {w}" for w in rest)
            lines.append(f"{project.source_path}: PDF: the templates or stylesheets have problems:\n{shown}")
        raise InputError("\n".join(lines))

