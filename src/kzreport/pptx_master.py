"""A PowerPoint master from the user: opened defensively, and checked against kzreport's slide kinds.

A user's ``.pptx`` or ``.potx`` is untrusted input, and its parts are copied into
every deck. Before python-pptx sees it, kzreport refuses what it must not open (not a
zip, truncated, a zip bomb, relationships to outside files or addresses) and every
kind of active content (VBA, OLE objects, ActiveX controls, macro-enabled parts) with
a clear error naming the part, and declares a ``.potx``'s main part as a presentation
so that it opens. Active content is recognised the way Office finds it: by the content
type ``[Content_Types].xml`` gives each part and by the type of every relationship, never
by file name; OLE compound files are also recognised by their first bytes.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import _pptx_xml as xml
from .errors import InputError
from .fsutil import display_path, read_checked

MAX_MASTER_BYTES = 64 * 1024 * 1024

# Last segment of relationship types (transitional and strict OOXML share it) that bring in code.
ACTIVE_RELATIONSHIPS = {"vbaproject": "a VBA project", "vbaprojectsignature": "a VBA project signature",
                        "vbaprojectsignatureagile": "a VBA project signature",
                        "vbaprojectsignaturev3": "a VBA project signature", "oleobject": "an OLE object",
                        "control": "an ActiveX control", "activexcontrolbinary": "an ActiveX control",
                        "wordvbadata": "VBA data"}
# Words in a part's content type (lower case) that mark code or an embedded object that can hold it.
ACTIVE_CONTENT_TYPES = {"vbaproject": "a VBA project", "oleobject": "an OLE object", "activex": "an ActiveX control",
                        "macroenabled": "a macro-enabled part"}
OLE_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RELATIONSHIPS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"

# Slide kinds that need only a title placeholder; every other kind needs a body (idx 1) as well.
TITLE_ONLY_KINDS = {"section", "title_only", "blank"}


def read_master(path: Path) -> bytes:
    """Return the bytes of a user's master, safe for python-pptx, or raise InputError saying why not."""
    name = display_path(path)
    data = read_checked(path, max_bytes=MAX_MASTER_BYTES, what="the deck template")
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
    try:
        active = active_content(members)
        external = xml.external_relationships(members)
    except etree.XMLSyntaxError as error:
        raise InputError(f"{name}: the deck template has a malformed part: {error}") from None
    if active:
        part, what = active
        raise InputError(f"{name}: the deck template holds active content: {what} in {part}; kzreport copies the "
                         "master into every deck, so it opens none with macros (VBA), OLE objects or ActiveX "
                         "controls: remove it in PowerPoint and save as .pptx or .potx")
    if external:
        part, target = external[0]
        raise InputError(f"{name}: the deck template links to outside content ({part} -> {target[:120]!r}); "
                         "kzreport opens only self-contained masters: embed or remove the linked content")
    members = xml.template_as_presentation(members)
    return xml.write_zip(members, (1980, 1, 1, 0, 0, 0))


def active_content(members: dict[str, bytes]) -> tuple[str, str] | None:
    """Return (part, what) for the first part that holds or declares code, or None when there is none.

    Raises lxml's XMLSyntaxError on a malformed ``[Content_Types].xml`` or relationship part.
    """
    types = _content_types(members)
    for part, content_type in types.items():
        for word, what in ACTIVE_CONTENT_TYPES.items():
            if word in content_type:
                return part, f"{what} (content type {content_type})"
    for part, data in members.items():
        if data.startswith(OLE_COMPOUND_FILE):
            return part, "an OLE compound file (the container of VBA projects and OLE objects)"
        if part.lower().endswith("vbaproject.bin"):  # Office's own name for it, even with no relationship
            return part, "a VBA project"
    for rels_part, data in members.items():
        if rels_part.endswith(".rels") or types.get(rels_part) == RELATIONSHIPS_TYPE:
            found = _active_relationship(rels_part, data)
            if found:
                return found
    return None


@cache
def _parser():
    """Return an lxml parser for untrusted parts: no entities, no DTD, no network, no huge trees."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _content_types(members: dict[str, bytes]) -> dict[str, str]:
    """Return the content type (lower case) of every member, from its Override or its extension's Default."""
    from lxml import etree

    root = etree.fromstring(members["[Content_Types].xml"], _parser())
    defaults, overrides = {}, {}
    for element in root:
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        tag = etree.QName(element).localname
        if tag == "Default":
            defaults[element.get("Extension", "").lower()] = element.get("ContentType", "").lower()
        elif tag == "Override":
            overrides[element.get("PartName", "").lstrip("/").lower()] = element.get("ContentType", "").lower()
    # Part names are case-insensitive in OPC (ECMA-376 part 2, 6.2.2.3).
    return {name: overrides.get(name.lower(), defaults.get(name.rsplit(".", 1)[-1].lower(), ""))
            for name in members if not name.endswith("/")}


def _active_relationship(rels_part: str, data: bytes) -> tuple[str, str] | None:
    """Return (target part, what) of the first relationship in ``rels_part`` whose type brings in code."""
    from lxml import etree

    source_dir = posixpath.dirname(posixpath.dirname(rels_part))  # "ppt/slides/_rels/x.rels" -> "ppt/slides"
    for rel in etree.fromstring(data, _parser()):
        kind = rel.get("Type", "").rstrip("/").rsplit("/", 1)[-1].lower()
        if kind in ACTIVE_RELATIONSHIPS:
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(source_dir, target))
            return part, f"{ACTIVE_RELATIONSHIPS[kind]} (relationship {rel.get('Type')} from {rels_part})"
    return None


def open_master(path: Path):
    """Return the master opened with python-pptx after the checks of ``read_master``."""
    from pptx import Presentation

    data = read_master(path)
    try:
        prs = Presentation(io.BytesIO(data))
    except Exception as error:  # python-pptx raises KeyError/ValueError/lxml errors on foreign packages
        raise InputError(f"{display_path(path)}: python-pptx cannot open this deck template: {error}") from None
    problem = slide_size_problem(prs.slide_width, prs.slide_height)
    if problem:
        raise InputError(f"{display_path(path)}: {problem}")
    return prs


# PowerPoint's own bounds for a slide side: 1 to 56 inches.
MIN_SLIDE_SIDE, MAX_SLIDE_SIDE = 914400, 51206400


def slide_size_problem(width: int | None, height: int | None) -> str | None:
    """Return why a master's slide size cannot hold a deck (missing, or outside PowerPoint's 1–56 in), or None."""
    if not width or not height:
        return "the deck template has no slide size (p:sldSz in ppt/presentation.xml)"
    if not all(MIN_SLIDE_SIDE <= side <= MAX_SLIDE_SIDE for side in (width, height)):
        return (f"the deck template's slides are {width / 914400:.2f} × {height / 914400:.2f} in; "
                "PowerPoint allows 1 to 56 in a side")
    return None


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


def check_kinds(prs, theme, kinds: list[str]) -> list[KindReport]:
    """Return, for every slide kind in ``kinds`` (those the storyboard uses), the layout it maps to and
    what that layout lacks."""
    layouts = {layout.name: layout for layout in prs.slide_layouts}
    reports = []
    for kind in kinds:
        needs = ("title",) if kind in TITLE_ONLY_KINDS else ("title", "body")
        name = theme.layout_name(kind)
        layout = layouts.get(name)
        missing = tuple(n for n in needs if layout is None or n not in _placeholders(layout))
        reports.append(KindReport(kind, name, layout is not None, missing if layout is not None else ()))
    return reports


def master_report(path: Path, theme, templates_dir: Path | None = None) -> tuple[str, bool]:
    """Return a readable report on the master (for the slide kinds of the storyboard in the template
    search path of ``templates_dir``) and whether a build can use it."""
    from .builders.deck_story import layout_kinds, load_storyboard

    kinds = layout_kinds(load_storyboard(templates_dir))
    prs = open_master(path)
    width, height = prs.slide_width, prs.slide_height
    lines = [f"{display_path(path)}: {width / 360000:.2f} × {height / 360000:.2f} cm "
             f"({'16:9' if abs(width / height - 16 / 9) < 0.01 else 'not 16:9'}), "
             f"{len(prs.slide_layouts)} layouts: {', '.join(repr(lay.name) for lay in prs.slide_layouts)}"]
    reports = check_kinds(prs, theme, kinds)
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
