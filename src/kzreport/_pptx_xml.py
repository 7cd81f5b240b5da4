"""Every piece of raw OOXML work for the deck, in one private module.

python-pptx has no API for a run's language, its East Asian typeface, the
theme's colours and fonts, a picture's alt text or a reproducible zip; the
helpers here set those through lxml so that the builder and the template
script never touch XML themselves.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from pptx.oxml.ns import qn

LANG = "zh-CN"
"""The language the built-in master's defaults carry; runs carry the brief's own."""
# Windows charsets as the signed byte OOXML stores (GB2312 134, Big5 136): they tell viewers that
# lack the named East Asian face to fall back to a font of the same script rather than a Latin one.
CJK_CHARSETS = {"zh-TW": "-120", "zh-HK": "-120"}
GB2312_CHARSET = "-122"


def alt_language(lang: str) -> str:
    """Return the ``altLang`` of a run: the other script a run of ``lang`` is likely to hold."""
    return "en-US" if lang.startswith("zh") else "zh-CN"


def east_asian_charset(lang: str) -> str:
    """Return the charset of the East Asian face for a run language: Big5 for Traditional, else GB2312."""
    return CJK_CHARSETS.get(lang, GB2312_CHARSET)

A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"

# Children of a:rPr in schema order (CT_TextCharacterProperties); new children must respect it.
_RPR_ORDER = ("a:ln", "a:noFill", "a:solidFill", "a:gradFill", "a:blipFill", "a:pattFill", "a:grpFill",
              "a:effectLst", "a:effectDag", "a:highlight", "a:uLnTx", "a:uLn", "a:uFillTx", "a:uFill",
              "a:latin", "a:ea", "a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver", "a:rtl", "a:extLst")
# Children of a:pPr in schema order (CT_TextParagraphProperties).
_PPR_ORDER = ("a:lnSpc", "a:spcBef", "a:spcAft", "a:buClrTx", "a:buClr", "a:buSzTx", "a:buSzPct", "a:buSzPts",
              "a:buFontTx", "a:buFont", "a:buNone", "a:buAutoNum", "a:buChar", "a:buBlip", "a:tabLst",
              "a:defRPr", "a:extLst")

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Return ``text`` without the characters an XML part cannot hold (control characters, lone surrogates)."""
    # The loader refuses these with a located error; this guards text that reaches the deck another way
    # (a theme, a computed string), because python-pptx would write them as literal _xHHHH_ escapes.
    return _XML_BAD.sub("", text)


def _insert_ordered(parent, child, order: tuple[str, ...]) -> None:
    """Insert ``child`` into ``parent`` before the first existing sibling that the schema puts after it."""
    tag_rank = {qn(name): i for i, name in enumerate(order)}
    rank = tag_rank[child.tag]
    for existing in parent:
        if tag_rank.get(existing.tag, len(order)) > rank:
            existing.addprevious(child)
            return
    parent.append(child)


def _replace_child(parent, name: str, order: tuple[str, ...], **attrs: str):
    """Remove every ``name`` child of ``parent`` and insert a fresh one with ``attrs``; return it."""
    for old in parent.findall(qn(name)):
        parent.remove(old)
    child = etree.SubElement(parent, qn(name), attrs)
    parent.remove(child)
    _insert_ordered(parent, child, order)
    return child


@dataclass(frozen=True)
class RunStyle:
    """How a run looks: size in points, typefaces, colour (``#RRGGBB``) and weight."""

    size_pt: float
    latin: str
    east_asian: str
    color: str | None = None
    bold: bool = False
    italic: bool = False
    lang: str = LANG
    """The run's language (``en-US``, ``zh-CN``, ``zh-TW``): spelling, line breaking and font choice follow it."""


@dataclass(frozen=True)
class ThemeFaces:
    """The theme's faces for one role: Latin, and the Simplified and Traditional Chinese faces."""

    latin: str
    hans: str
    hant: str


def style_run_properties(rpr, style: RunStyle) -> None:
    """Set language, size, weight, colour and both typefaces on an ``a:rPr`` (or ``a:endParaRPr``/``a:defRPr``)."""
    rpr.set("lang", style.lang)
    rpr.set("altLang", alt_language(style.lang))
    rpr.set("sz", str(round(style.size_pt * 100)))
    rpr.set("b", "1" if style.bold else "0")
    rpr.set("i", "1" if style.italic else "0")
    if style.color:
        for name in ("a:noFill", "a:gradFill", "a:blipFill", "a:pattFill", "a:grpFill"):
            for old in rpr.findall(qn(name)):
                rpr.remove(old)
        fill = _replace_child(rpr, "a:solidFill", _RPR_ORDER)
        etree.SubElement(fill, qn("a:srgbClr"), val=style.color.lstrip("#").upper())
    _replace_child(rpr, "a:latin", _RPR_ORDER, typeface=style.latin)
    _replace_child(rpr, "a:ea", _RPR_ORDER, typeface=style.east_asian,
                   charset=east_asian_charset(style.lang))
    # The complex-script face too, so that no slot is left to a viewer's default.
    _replace_child(rpr, "a:cs", _RPR_ORDER, typeface=style.latin)


def set_body_insets(text_frame, *, left: int, top: int, right: int, bottom: int, anchor: str = "t") -> None:
    """Fix a text frame's insets, anchoring and wrapping, with auto-fit off (it only acts when someone edits)."""
    body_pr = text_frame._txBody.bodyPr
    for name, value in (("lIns", left), ("tIns", top), ("rIns", right), ("bIns", bottom)):
        body_pr.set(name, str(value))
    body_pr.set("anchor", anchor)
    body_pr.set("wrap", "square")
    for name in ("a:noAutofit", "a:normAutofit", "a:spAutoFit"):
        for old in body_pr.findall(qn(name)):
            body_pr.remove(old)
    etree.SubElement(body_pr, qn("a:noAutofit"))


def set_alt_text(shape, description: str, title: str | None = None) -> None:
    """Set a picture's or chart's alt text (``descr`` on its non-visual properties)."""
    c_nv_pr = shape._element.xpath("./*[1]/p:cNvPr")[0]
    c_nv_pr.set("descr", clean_text(description))
    if title:
        c_nv_pr.set("title", clean_text(title))


def set_fill(shape, color: str) -> None:
    """Give a shape a solid fill and no outline."""
    shape.fill.solid()
    shape.fill.fore_color.rgb = _rgb(color)
    shape.line.fill.background()


def _rgb(color: str):
    """Return python-pptx's RGBColor for ``#RRGGBB``."""
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(color.lstrip("#").upper())


def remove_shape(shape) -> None:
    """Remove a shape (an unused placeholder, say) from its slide."""
    element = shape._element
    element.getparent().remove(element)


# --- charts ----------------------------------------------------------------------


def style_chart_text(chart, style: RunStyle) -> None:
    """Give the whole chart (axes, legend, labels) the language and typefaces of the deck."""
    chart_space = chart._chartSpace
    for old in chart_space.findall(qn("c:txPr")):
        chart_space.remove(old)
    tx_pr = etree.fromstring(
        f'<c:txPr xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:a="{A_NS}">'
        "<a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:endParaRPr/></a:p></c:txPr>")
    style_run_properties(tx_pr.find(f".//{{{A_NS}}}defRPr"), style)
    style_run_properties(tx_pr.find(f".//{{{A_NS}}}endParaRPr"), style)
    # c:txPr sits before c:externalData / c:printSettings / c:userShapes in c:chartSpace.
    anchor = next((el for el in chart_space if el.tag in {qn("c:externalData"), qn("c:printSettings"),
                                                          qn("c:userShapes"), qn("c:extLst")}), None)
    if anchor is not None:
        anchor.addprevious(tx_pr)
    else:
        chart_space.append(tx_pr)


def fix_workbook_dates(xlsx: bytes, moment: datetime) -> bytes:
    """Return the chart's embedded workbook with its creation date set to ``moment``, rezipped reproducibly."""
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    members = read_zip(xlsx)
    core = members.get("docProps/core.xml")
    if core is not None:
        text = core.decode("utf-8")
        text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{stamp}\g<3>", text)
        members["docProps/core.xml"] = text.encode("utf-8")
    return write_zip(members, (1980, 1, 1, 0, 0, 0))


# --- the theme ---------------------------------------------------------------------


def set_theme_colors(theme_xml: bytes, colors: dict[str, str]) -> bytes:
    """Return the theme part with the colour scheme slots (``dk1``, ``accent1`` …) set to ``#RRGGBB`` values."""
    root = etree.fromstring(theme_xml)
    root.set("name", "kzreport")
    scheme = root.find(f".//{{{A_NS}}}clrScheme")
    scheme.set("name", "kzreport")
    for slot, color in colors.items():
        element = scheme.find(f"{{{A_NS}}}{slot}")
        for child in list(element):
            element.remove(child)
        etree.SubElement(element, f"{{{A_NS}}}srgbClr", val=color.lstrip("#").upper())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def set_theme_fonts(theme_xml: bytes, major: ThemeFaces, minor: ThemeFaces, lang: str = LANG) -> bytes:
    """Return the theme part with heading (major) and body (minor) fonts set from the theme's faces.

    The Latin face is ``a:latin``; ``a:ea`` is the Chinese face of the deck's language ``lang``
    (Traditional for zh-TW, else Simplified: viewers that ignore the script entries draw every
    East Asian character in it); the script entries ``Hans`` and ``Hant`` name both faces,
    replacing the SimSun-style defaults that make viewers draw Chinese in a serif fallback.
    """
    root = etree.fromstring(theme_xml)
    scheme = root.find(f".//{{{A_NS}}}fontScheme")
    scheme.set("name", "kzreport")
    for tag, faces in (("majorFont", major), ("minorFont", minor)):
        collection = scheme.find(f"{{{A_NS}}}{tag}")
        for child in list(collection):
            if child.tag in {f"{{{A_NS}}}latin", f"{{{A_NS}}}ea", f"{{{A_NS}}}cs"}:
                collection.remove(child)
            elif child.tag == f"{{{A_NS}}}font" and child.get("script") in ("Hans", "Hant", "Jpan", "Hang"):
                collection.remove(child)
        collection.insert(0, etree.Element(f"{{{A_NS}}}cs", typeface=""))
        east_asian = faces.hant if lang in CJK_CHARSETS else faces.hans
        collection.insert(0, etree.Element(f"{{{A_NS}}}ea", typeface=east_asian, charset=east_asian_charset(lang)))
        collection.insert(0, etree.Element(f"{{{A_NS}}}latin", typeface=faces.latin))
        # script fonts follow latin/ea/cs
        collection.insert(3, etree.Element(f"{{{A_NS}}}font", script="Hant", typeface=faces.hant))
        collection.insert(3, etree.Element(f"{{{A_NS}}}font", script="Hans", typeface=faces.hans))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def set_default_language(element) -> None:
    """Set ``lang``/``altLang`` on every default run property (``a:defRPr``) under ``element``."""
    for def_rpr in element.iter(qn("a:defRPr")):
        def_rpr.set("lang", LANG)
        def_rpr.set("altLang", alt_language(LANG))


def set_text_style_color(master_element, style_name: str, scheme_color: str) -> None:
    """Colour level 1 of a master text style (``p:titleStyle``…) with a theme colour slot (``tx2``)."""
    lvl1 = master_element.find(f"{qn('p:txStyles')}/{qn(style_name)}/{qn('a:lvl1pPr')}")
    def_rpr = lvl1.find(qn("a:defRPr"))
    fill = _replace_child(def_rpr, "a:solidFill", _RPR_ORDER)
    etree.SubElement(fill, qn("a:schemeClr"), val=scheme_color)


def set_text_style_sizes(master_element, style_name: str, sizes_pt: list[float]) -> None:
    """Set the default size of levels 1… of a master text style."""
    style = master_element.find(f"{qn('p:txStyles')}/{qn(style_name)}")
    for level, size in enumerate(sizes_pt, 1):
        def_rpr = style.find(f"{qn(f'a:lvl{level}pPr')}/{qn('a:defRPr')}")
        if def_rpr is not None:
            def_rpr.set("sz", str(round(size * 100)))


def scale_shapes_horizontally(element, factor: float) -> None:
    """Stretch every shape offset and width under ``element`` (a master or layout) by ``factor``."""
    for off in element.iter(qn("a:off")):
        off.set("x", str(round(int(off.get("x")) * factor)))
    for ext in element.iter(qn("a:ext")):
        if ext.get("cx") is not None:
            ext.set("cx", str(round(int(ext.get("cx")) * factor)))


# --- the package ---------------------------------------------------------------------


MAX_MEMBERS = 2000
MAX_UNCOMPRESSED = 300 * 1024 * 1024
MAX_RATIO = 200


def zip_problem(data: bytes) -> str | None:
    """Return why a user's .pptx must not be opened (not a zip, too many or too large members), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        return "is not a PowerPoint file (not a zip archive)"
    if len(infos) > MAX_MEMBERS:
        return f"has {len(infos)} parts, more than {MAX_MEMBERS}"
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        return f"unpacks to {total} bytes, more than {MAX_UNCOMPRESSED}"
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return f"part {info.filename} is compressed more than {MAX_RATIO}:1 (a zip bomb?)"
    return None


def read_zip(data: bytes) -> dict[str, bytes]:
    """Return the members of a zip archive by name, in archive order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _member_order(name: str) -> tuple[int, str]:
    """Sort key: ``[Content_Types].xml`` first (some readers expect it), then the package rels, then by name."""
    if name == "[Content_Types].xml":
        return (0, name)
    if name == "_rels/.rels":
        return (1, name)
    return (2, name)


def write_zip(members: dict[str, bytes], date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """Return a zip of ``members`` with one fixed date, fixed permissions and a stable member order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(members, key=_member_order):
            info = zipfile.ZipInfo(name, date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            archive.writestr(info, members[name], compresslevel=6)
    return out.getvalue()


def reproducible_package(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """Return a saved .pptx rewritten so that the same content always gives the same bytes."""
    return write_zip(read_zip(data), date_time)


# --- a user's master: what it holds ---------------------------------------------------

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
_PRESENTATION = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
_TEMPLATE = "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"


def package_names(data: bytes) -> list[str]:
    """Return the names of the members of a zip package."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def external_relationships(members: dict[str, bytes]) -> list[tuple[str, str]]:
    """Return (part, target) of every relationship that points outside the package."""
    found = []
    for name, data in members.items():
        if name.endswith(".rels"):
            root = etree.fromstring(data, _SAFE_PARSER)
            found += [(name, rel.get("Target", "")) for rel in root if rel.get("TargetMode") == "External"]
    return found


def has_macros(members: dict[str, bytes]) -> bool:
    """Return whether the package holds VBA macros or declares a macro-enabled type."""
    types = members.get("[Content_Types].xml", b"").decode("utf-8", "replace")
    return any(n.lower().endswith("vbaproject.bin") for n in members) or "macroEnabled" in types


def template_as_presentation(members: dict[str, bytes]) -> dict[str, bytes]:
    """Return the members with a .potx's main part declared as a presentation, which python-pptx opens."""
    types = members.get("[Content_Types].xml", b"")
    if _TEMPLATE.encode() not in types:
        return members
    return {**members, "[Content_Types].xml": types.replace(_TEMPLATE.encode(), _PRESENTATION.encode())}


def theme_east_asian_fonts(prs) -> tuple[str, str]:
    """Return the typefaces of the first master's theme ``a:ea`` for headings and body ('' when unset)."""
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme = prs.slide_masters[0].part.part_related_by(RT.THEME)
    root = etree.fromstring(theme.blob, _SAFE_PARSER)
    faces = []
    for tag in ("majorFont", "minorFont"):
        ea = root.find(f".//{{{A_NS}}}{tag}/{{{A_NS}}}ea")
        faces.append(ea.get("typeface", "") if ea is not None else "")
    return faces[0], faces[1]


# --- style that lives in the master ------------------------------------------------------------


def run_properties(rpr, *, lang: str, size_pt: float | None = None, bold: bool | None = None,
                   color: str | None = None) -> None:
    """Set only what a run needs beyond the master's style on an ``a:rPr``: its language, and the size,
    weight and colour (a theme slot such as ``tx2``, or ``#RRGGBB``) when given; faces come from the theme."""
    rpr.set("lang", lang)
    rpr.set("altLang", alt_language(lang))
    if size_pt is not None:
        rpr.set("sz", str(round(size_pt * 100)))
    if bold is not None:
        rpr.set("b", "1" if bold else "0")
    if color:
        fill = _replace_child(rpr, "a:solidFill", _RPR_ORDER)
        if color.startswith("#"):
            etree.SubElement(fill, qn("a:srgbClr"), val=color.lstrip("#").upper())
        else:
            etree.SubElement(fill, qn("a:schemeClr"), val=color)


def paragraph_spacing(paragraph, *, line_pct: float, space_before_pt: float, bullet: bool | None = None,
                      align: str | None = None, indent_emu: int | None = None) -> None:
    """Set a paragraph's line spacing in percent and its space before in points (what the fitter measured);
    ``bullet=False`` turns the bullet off, ``True`` keeps the master's bullet."""
    ppr = paragraph._p.get_or_add_pPr()
    if align:
        ppr.set("algn", align)
    if indent_emu is not None:
        ppr.set("marL", str(indent_emu))
        ppr.set("indent", str(-indent_emu))
    spacing = _replace_child(ppr, "a:lnSpc", _PPR_ORDER)
    etree.SubElement(spacing, qn("a:spcPct"), val=str(round(line_pct * 100000)))
    before = _replace_child(ppr, "a:spcBef", _PPR_ORDER)
    etree.SubElement(before, qn("a:spcPts"), val=str(round(space_before_pt * 100)))
    if bullet is False:
        for name in ("a:buChar", "a:buAutoNum", "a:buNone"):
            for old in ppr.findall(qn(name)):
                ppr.remove(old)
        _replace_child(ppr, "a:buNone", _PPR_ORDER)
        ppr.set("marL", "0")
        ppr.set("indent", "0")


def body_frame(text_frame, *, anchor: str | None = None, inset_emu: tuple[int, int] = (91440, 45720),
               shrink: bool = True) -> None:
    """Set a text frame's insets and wrapping, with PowerPoint's shrink-on-overflow (``normAutofit``) as a
    safety net when ``shrink``: kzreport's own measuring has already fitted the text."""
    body_pr = text_frame._txBody.bodyPr
    x, y = inset_emu
    for name, value in (("lIns", x), ("tIns", y), ("rIns", x), ("bIns", y)):
        body_pr.set(name, str(value))
    if anchor:
        body_pr.set("anchor", anchor)
    body_pr.set("wrap", "square")
    for name in ("a:noAutofit", "a:normAutofit", "a:spAutoFit"):
        for old in body_pr.findall(qn(name)):
            body_pr.remove(old)
    etree.SubElement(body_pr, qn("a:normAutofit" if shrink else "a:noAutofit"))


def fill_scheme(shape, slot: str, line_slot: str | None = None) -> None:
    """Fill a shape with a theme colour slot (``tx2``, ``accent1`` …), outlined in ``line_slot`` or not at all."""
    sp_pr = shape._element.spPr
    for name in ("a:noFill", "a:solidFill", "a:gradFill", "a:blipFill", "a:pattFill", "a:grpFill", "a:ln"):
        for old in sp_pr.findall(qn(name)):
            sp_pr.remove(old)
    fill = etree.SubElement(sp_pr, qn("a:solidFill"))
    etree.SubElement(fill, qn("a:schemeClr"), val=slot)
    line = etree.SubElement(sp_pr, qn("a:ln"))
    if line_slot:
        line_fill = etree.SubElement(line, qn("a:solidFill"))
        etree.SubElement(line_fill, qn("a:schemeClr"), val=line_slot)
    else:
        etree.SubElement(line, qn("a:noFill"))
    # a:ln must follow the fill and come before effects: move any effect list after it.
    for name in ("a:effectLst", "a:scene3d", "a:sp3d", "a:extLst"):
        for element in sp_pr.findall(qn(name)):
            sp_pr.remove(element)
            sp_pr.append(element)
    style = shape._element.find(qn("p:style"))
    if style is not None:  # the shape's theme style would otherwise add a shadow and a text colour
        shape._element.remove(style)


def line_color(shape, color: str, width_emu: int, dash: str | None = None) -> None:
    """Give a line (connector) a colour (``#RRGGBB`` or a theme slot), a width and a preset dash."""
    sp_pr = shape._element.spPr
    for old in sp_pr.findall(qn("a:ln")):
        sp_pr.remove(old)
    line = etree.SubElement(sp_pr, qn("a:ln"), w=str(width_emu), cap="rnd")
    fill = etree.SubElement(line, qn("a:solidFill"))
    if color.startswith("#"):
        etree.SubElement(fill, qn("a:srgbClr"), val=color.lstrip("#").upper())
    else:
        etree.SubElement(fill, qn("a:schemeClr"), val=color)
    if dash:
        etree.SubElement(line, qn("a:prstDash"), val=dash)
    style = shape._element.find(qn("p:style"))
    if style is not None:
        shape._element.remove(style)


def clone_layout_placeholder(slide, layout, ph_type: str):
    """Copy the layout's placeholder of ``ph_type`` (``sldNum``, ``ftr``) onto the slide, empty of text;
    return the new ``p:sp`` element, or None when the layout has none."""
    import copy

    for sp in layout._element.iter(qn("p:sp")):
        ph = sp.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
        if ph is not None and ph.get("type") == ph_type:
            clone = copy.deepcopy(sp)
            sp_pr = clone.find(qn("p:spPr"))
            for child in list(sp_pr):  # the slide inherits the layout's position
                sp_pr.remove(child)
            tx_body = clone.find(qn("p:txBody"))
            if tx_body is not None:
                for p in tx_body.findall(qn("a:p")):
                    tx_body.remove(p)
            slide.shapes._spTree.append(clone)
            return clone
    return None


def add_slide_number_field(sp, lang: str) -> None:
    """Fill a cloned slide-number placeholder with the slide-number field (it renumbers when slides move)."""
    tx_body = sp.find(qn("p:txBody"))
    p = etree.SubElement(tx_body, qn("a:p"))
    fld = etree.SubElement(p, qn("a:fld"), id="{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}", type="slidenum")
    rpr = etree.SubElement(fld, qn("a:rPr"), lang=lang, altLang=alt_language(lang))
    rpr.set("dirty", "0")
    text = etree.SubElement(fld, qn("a:t"))
    text.text = "‹#›"


def set_placeholder_text(sp, text: str, lang: str) -> None:
    """Put one paragraph of ``text`` into a cloned placeholder (a footer), in the master's style."""
    tx_body = sp.find(qn("p:txBody"))
    p = etree.SubElement(tx_body, qn("a:p"))
    r = etree.SubElement(p, qn("a:r"))
    etree.SubElement(r, qn("a:rPr"), lang=lang, altLang=alt_language(lang))
    t = etree.SubElement(r, qn("a:t"))
    t.text = clean_text(text)


def place_element(sp, left: int, top: int, width: int, height: int) -> None:
    """Give a cloned placeholder its own position on the slide."""
    sp_pr = sp.find(qn("p:spPr"))
    xfrm = etree.SubElement(sp_pr, qn("a:xfrm"))
    etree.SubElement(xfrm, qn("a:off"), x=str(left), y=str(top))
    etree.SubElement(xfrm, qn("a:ext"), cx=str(width), cy=str(height))
    sp_pr.remove(xfrm)
    sp_pr.insert(0, xfrm)


def master_style_size(prs, style_name: str) -> float | None:
    """Return the level-1 size in points of the first master's ``p:titleStyle`` or ``p:bodyStyle``, or None."""
    lvl1 = prs.slide_masters[0]._element.find(f"{qn('p:txStyles')}/{qn(style_name)}/{qn('a:lvl1pPr')}/{qn('a:defRPr')}")
    size = lvl1.get("sz") if lvl1 is not None else None
    return int(size) / 100 if size else None


def theme_color_values(prs) -> dict[str, str]:
    """Return the deck theme's colour slots as ``#RRGGBB`` (``dk1``, ``lt1``, ``accent1`` …), system colours
    by their last known value."""
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme = prs.slide_masters[0].part.part_related_by(RT.THEME)
    root = etree.fromstring(theme.blob, _SAFE_PARSER)
    scheme = root.find(f".//{{{A_NS}}}clrScheme")
    values = {}
    for slot in scheme:
        color = slot[0] if len(slot) else None
        if color is None:
            continue
        value = color.get("val") if color.tag.endswith("srgbClr") else color.get("lastClr")
        if value:
            values[etree.QName(slot).localname] = "#" + value.upper()
    return values


def style_master_text(master_element, *, title_pt: float, body_pts: list[float], line_pct: float,
                      space_before_pt: float, other_pt: float) -> None:
    """Put kzreport's look into a master's text styles: the title bold in ``tx2`` in the heading fonts, body
    text in ``tx1`` in the body fonts with ``tx2`` bullets, percent line spacing, and ``otherStyle`` sizes."""
    styles = master_element.find(qn("p:txStyles"))
    title = styles.find(f"{qn('p:titleStyle')}/{qn('a:lvl1pPr')}")
    title.set("algn", "l")
    _level_style(title, title_pt, line_pct, 0, "tx2", bold=True, fonts=("+mj-lt", "+mj-ea"))
    body = styles.find(qn("p:bodyStyle"))
    for level, size in enumerate(body_pts, 1):
        ppr = body.find(qn(f"a:lvl{level}pPr"))
        if ppr is None:
            continue
        _level_style(ppr, size, line_pct, space_before_pt, "tx1", bold=False, fonts=("+mn-lt", "+mn-ea"))
        color = _replace_child(ppr, "a:buClr", _PPR_ORDER)
        etree.SubElement(color, qn("a:schemeClr"), val="tx2")
        _replace_child(ppr, "a:buFont", _PPR_ORDER, typeface="Arial")
        _replace_child(ppr, "a:buChar", _PPR_ORDER, char="•" if level == 1 else "–")
    other = styles.find(qn("p:otherStyle"))
    for ppr in other:
        def_rpr = ppr.find(qn("a:defRPr"))
        if def_rpr is not None:
            def_rpr.set("sz", str(round(other_pt * 100)))


def _level_style(ppr, size_pt: float, line_pct: float, space_before_pt: float, color: str, *, bold: bool,
                 fonts: tuple[str, str]) -> None:
    """Set one level of a master text style: spacing, size, weight, colour slot and theme fonts."""
    spacing = _replace_child(ppr, "a:lnSpc", _PPR_ORDER)
    etree.SubElement(spacing, qn("a:spcPct"), val=str(round(line_pct * 100000)))
    before = _replace_child(ppr, "a:spcBef", _PPR_ORDER)
    etree.SubElement(before, qn("a:spcPts"), val=str(round(space_before_pt * 100)))
    def_rpr = ppr.find(qn("a:defRPr"))
    if def_rpr is None:
        def_rpr = etree.SubElement(ppr, qn("a:defRPr"))
    def_rpr.set("sz", str(round(size_pt * 100)))
    def_rpr.set("b", "1" if bold else "0")
    fill = _replace_child(def_rpr, "a:solidFill", _RPR_ORDER)
    etree.SubElement(fill, qn("a:schemeClr"), val=color)
    _replace_child(def_rpr, "a:latin", _RPR_ORDER, typeface=fonts[0])
    _replace_child(def_rpr, "a:ea", _RPR_ORDER, typeface=fonts[1])
    _replace_child(def_rpr, "a:cs", _RPR_ORDER, typeface=fonts[0])


def style_footer_placeholders(element, size_pt: float, color: str) -> None:
    """Set the size and colour slot of the date, footer and slide-number placeholders under a master or layout."""
    for sp in element.iter(qn("p:sp")):
        ph = sp.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
        if ph is None or ph.get("type") not in ("dt", "ftr", "sldNum"):
            continue
        for def_rpr in sp.iter(qn("a:defRPr")):
            def_rpr.set("sz", str(round(size_pt * 100)))
            fill = _replace_child(def_rpr, "a:solidFill", _RPR_ORDER)
            etree.SubElement(fill, qn("a:schemeClr"), val=color)


def shrink_on_overflow(element) -> None:
    """Give every title and body placeholder under ``element`` shrink-on-overflow (``normAutofit``)."""
    for sp in element.iter(qn("p:sp")):
        ph = sp.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
        body_pr = sp.find(f"{qn('p:txBody')}/{qn('a:bodyPr')}")
        if ph is None or body_pr is None or ph.get("type") in ("dt", "ftr", "sldNum"):
            continue
        for name in ("a:noAutofit", "a:normAutofit", "a:spAutoFit"):
            for old in body_pr.findall(qn(name)):
                body_pr.remove(old)
        etree.SubElement(body_pr, qn("a:normAutofit"))


def fill_scheme_series(series, slot: str) -> None:
    """Fill a chart series with a theme colour slot, so that a user's master recolours it."""
    sp_pr = series._element.get_or_add_spPr()
    for child in list(sp_pr):
        if child.tag in {qn("a:noFill"), qn("a:solidFill"), qn("a:gradFill"), qn("a:pattFill")}:
            sp_pr.remove(child)
    fill = etree.Element(qn("a:solidFill"))
    etree.SubElement(fill, qn("a:schemeClr"), val=slot)
    sp_pr.insert(0, fill)


def move_last_slide(prs, position: int) -> None:
    """Move the last slide of the presentation to ``position`` (0-based) in the slide order."""
    id_list = prs.slides._sldIdLst
    last = id_list[-1]
    id_list.remove(last)
    id_list.insert(position, last)


def raise_small_sizes(element, minimum_pt: float) -> None:
    """Raise every default size under ``element`` (a master or layout) that is below ``minimum_pt`` to it."""
    floor = round(minimum_pt * 100)
    for def_rpr in element.iter(qn("a:defRPr")):
        if def_rpr.get("sz") and int(def_rpr.get("sz")) < floor:
            def_rpr.set("sz", str(floor))
