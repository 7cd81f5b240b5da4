"""A PowerPoint master from the user: opened defensively, and checked against kzreport's slide kinds.

A user's ``.pptx`` or ``.potx`` is untrusted input. Before python-pptx sees it,
kzreport refuses what it must not open (not a zip, truncated, a zip bomb,
relationships to outside files or addresses, macros) with a clear error, and
declares a ``.potx``'s main part as a presentation so that it opens.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import _pptx_xml as xml
from .errors import InputError
from .fsutil import display_path

MAX_MASTER_BYTES = 64 * 1024 * 1024

# Slide kinds the deck builder uses and the placeholders each needs: "title" a title, "body" idx 1.
USED_KINDS = {"title": ("title", "body"), "agenda": ("title", "body"), "content": ("title", "body"),
              "section": ("title",), "title_only": ("title",)}


def read_master(path: Path) -> bytes:
    """Return the bytes of a user's master, safe for python-pptx, or raise InputError saying why not."""
    name = display_path(path)
    try:
        if path.stat().st_size > MAX_MASTER_BYTES:
            raise InputError(f"{name}: the deck template is larger than {MAX_MASTER_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot read the deck template: {error.strerror or error}") from None
    problem = xml.zip_problem(data)
    if problem:
        raise InputError(f"{name}: {problem}")
    try:
        members = xml.read_zip(data)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:  # truncated or corrupt members
        raise InputError(f"{name}: the deck template is damaged (truncated or corrupt zip: {error})") from None
    return _checked_package(name, members)


def _checked_package(name: str, members: dict[str, bytes]) -> bytes:
    """Return the package rebuilt from checked members, or raise InputError."""
    from lxml import etree

    if "[Content_Types].xml" not in members or "ppt/presentation.xml" not in members:
        raise InputError(f"{name}: not a PowerPoint presentation or template (.pptx, .potx)")
    if xml.has_macros(members):
        raise InputError(f"{name}: the deck template holds macros (VBA); save it as a .pptx or .potx without macros")
    try:
        external = xml.external_relationships(members)
    except etree.XMLSyntaxError as error:
        raise InputError(f"{name}: the deck template has a malformed part: {error}") from None
    if external:
        part, target = external[0]
        raise InputError(f"{name}: the deck template links to outside content ({part} -> {target[:120]!r}); "
                         "kzreport opens only self-contained masters: embed or remove the linked content")
    members = xml.template_as_presentation(members)
    return xml.write_zip(members, (1980, 1, 1, 0, 0, 0))


def open_master(path: Path):
    """Return the master opened with python-pptx after the checks of ``read_master``."""
    from pptx import Presentation

    data = read_master(path)
    try:
        return Presentation(io.BytesIO(data))
    except Exception as error:  # python-pptx raises KeyError/ValueError/lxml errors on foreign packages
        raise InputError(f"{display_path(path)}: python-pptx cannot open this deck template: {error}") from None


@dataclass(frozen=True)
class KindReport:
    kind: str
    layout: str
    found: bool
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Return whether kzreport can make this kind of slide with the master."""
        return self.found and not self.missing


def _placeholders(layout) -> set[str]:
    """Return which of 'title' and 'body' (idx 1) the layout has."""
    have = set()
    for ph in layout.placeholders:
        kind = str(ph.placeholder_format.type)
        if "TITLE" in kind:
            have.add("title")
        if ph.placeholder_format.idx == 1:
            have.add("body")
    return have


def check_kinds(prs, theme) -> list[KindReport]:
    """Return, for every slide kind the deck uses, the layout it maps to and what that layout lacks."""
    layouts = {layout.name: layout for layout in prs.slide_layouts}
    reports = []
    for kind, needs in USED_KINDS.items():
        name = theme.layout_name(kind)
        layout = layouts.get(name)
        missing = tuple(n for n in needs if layout is None or n not in _placeholders(layout))
        reports.append(KindReport(kind, name, layout is not None, missing if layout is not None else ()))
    return reports


def master_report(path: Path, theme) -> tuple[str, bool]:
    """Return a readable report on the master and whether a build can use it."""
    prs = open_master(path)
    width, height = prs.slide_width, prs.slide_height
    lines = [f"{display_path(path)}: {width / 360000:.2f} × {height / 360000:.2f} cm "
             f"({'16:9' if abs(width / height - 16 / 9) < 0.01 else 'not 16:9'}), "
             f"{len(prs.slide_layouts)} layouts: {', '.join(repr(lay.name) for lay in prs.slide_layouts)}"]
    reports = check_kinds(prs, theme)
    for r in reports:
        state = "ok" if r.ok else ("no such layout" if not r.found else "missing " + " and ".join(
            "a title placeholder" if m == "title" else "a body placeholder (idx 1)" for m in r.missing))
        lines.append(f"  {r.kind:<11} {r.layout!r:<28} {state}")
    major, minor = xml.theme_east_asian_fonts(prs)
    fonts = (f"East Asian theme fonts: headings {major or '(none)'}, body {minor or '(none)'}")
    if not (major and minor):
        fonts += ("; kzreport sets the East Asian typeface on every run, but text typed later in PowerPoint "
                  "may fall back to SimSun or boxes: set a:ea in the master's theme")
    lines.append(fonts)
    usable = all(r.ok for r in reports)
    if not usable:
        lines.append("map kzreport's slide kinds to this master's layout names with 'layouts:' in a theme file "
                     "(kzreport templates export DIR shows one), then pass --theme")
    return "\n".join(lines), usable
