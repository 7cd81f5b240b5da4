"""Measuring and wrapping text with the real font metrics, so that no slide text overflows its box.

PowerPoint's shrink-to-fit is only applied when someone edits a slide, so the deck
decides line breaks and sizes itself: advance widths come from the installed font's
``hmtx`` table (through fontTools), and lines break the way Chinese typesetting
does — between any two CJK characters, never before closing punctuation nor after
opening punctuation — while Latin words stay whole unless longer than a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .errors import InputError
from .fonts import FONT_PACKAGE_HINT, find_face

EMU_PER_PT = 12700
LINE_SPACING = 1.2
"""Line pitch as a multiple of the font size; the deck writes the same pitch as exact spacing."""
MIN_BODY_PT = 18.0
MIN_TITLE_PT = 28.0
# Viewers' shaping (kerning, rounding, their own break rules) differs a little from the
# sum of advance widths; measuring a few percent narrower keeps a margin for that.
WIDTH_SAFETY = 0.96

# Characters a line must not start with (closing punctuation) or end with (opening punctuation).
NO_LINE_START = set("，。、；：）」』！？》〉】〕］｝〗〙〛”’…‥・·－—～%‰℃,.;:!?)]}»›")
NO_LINE_END = set("（「『《〈【〔［｛〖〘〚“‘([{«‹")


# LibreOffice (and Word) put about a quarter em between Chinese characters and Latin letters or
# digits ("autospace"); measuring it keeps lines that fit here from breaking again in those viewers.
AUTOSPACE_EM = 0.25


def _is_ideograph(ch: str) -> bool:
    """Return True for Han characters and kana (the side of a CJK–Latin boundary that gets autospace)."""
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF


def _script_changes(text: str) -> int:
    """Return how many times ``text`` switches between an ideograph and a Latin letter or digit."""
    return sum(1 for a, b in zip(text, text[1:])
               if (_is_ideograph(a) and b.isascii() and b.isalnum()) or (a.isascii() and a.isalnum() and _is_ideograph(b)))


def is_cjk(ch: str) -> bool:
    """Return True for characters that may break on either side (Han, kana, Hangul, full-width forms)."""
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)


@dataclass(frozen=True)
class FontMetrics:
    """Advance widths of one installed face, in font units."""

    family: str
    units_per_em: int
    advances: dict[int, int]
    default_advance: int
    """Used for characters the face lacks (a viewer draws them in a fallback of about this width)."""
    line_height: float = LINE_SPACING
    """Ascent plus descent as a multiple of the size: a viewer's single line spacing in this face."""

    def width_pt(self, text: str, size_pt: float) -> float:
        """Return the width of ``text`` set at ``size_pt``, in points, with CJK–Latin spacing allowed for."""
        units = sum(self.advances.get(ord(ch), self.default_advance) for ch in text)
        return units * size_pt / self.units_per_em + AUTOSPACE_EM * size_pt * _script_changes(text)


@cache
def metrics(family: str, bold: bool = False) -> FontMetrics:
    """Return the metrics of the installed ``family``, or raise InputError naming the font package."""
    from .fonts import face_table

    face = find_face(family, bold)
    if face is None:
        raise InputError(f"font {family!r} is not installed, so slide text cannot be measured; {FONT_PACKAGE_HINT}")
    table = face_table(face)  # read once per process, kept on disk
    upem = table.units_per_em
    return FontMetrics(family, upem, table.advances, upem, table.line_height / upem)


@cache
def stack_metrics(families: tuple[str, ...], bold: bool = False) -> FontMetrics:
    """Return the metrics of a font stack: each character measured in the first installed face that has it.

    Viewers draw a character the first face lacks in a fallback; measuring it in the face that will
    draw it keeps Latin text in an English deck and Chinese passages in it measured right.
    """
    installed = [metrics(f, bold) for f in families if find_face(f, bold)]
    if not installed:
        raise InputError(f"none of the fonts {', '.join(families)} is installed, so slide text cannot be measured; "
                         f"{FONT_PACKAGE_HINT}")
    upem = installed[0].units_per_em
    advances: dict[int, int] = {}
    for face in reversed(installed):  # earlier faces overwrite later ones
        scale = upem / face.units_per_em
        advances.update({code: round(width * scale) for code, width in face.advances.items()})
    # A line mixing scripts is as tall as its tallest face: measure every line so.
    return FontMetrics("/".join(f.family for f in installed), upem, advances, installed[0].default_advance,
                       max(f.line_height for f in installed))


def _font(font: str | FontMetrics) -> FontMetrics:
    """Return metrics for a family name or pass metrics through."""
    return font if isinstance(font, FontMetrics) else metrics(font)


def _units(text: str) -> list[str]:
    """Return the unbreakable pieces of ``text``: single CJK characters, whole Latin words, single spaces.

    Punctuation that must not start a line is glued to the piece before it, and
    punctuation that must not end a line to the piece after it.
    """
    pieces: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace() or is_cjk(ch) or ch in NO_LINE_START or ch in NO_LINE_END:
            if word:
                pieces.append(word)
                word = ""
            pieces.append(" " if ch.isspace() else ch)
        else:
            word += ch
    if word:
        pieces.append(word)
    glued: list[str] = []
    carry = ""  # opening punctuation waiting for the next piece
    for piece in pieces:
        if piece in NO_LINE_START and glued and not carry:
            glued[-1] += piece
        elif piece in NO_LINE_END or (carry and piece != " " and piece[-1] in NO_LINE_END):
            carry += piece
        elif carry and piece == " ":
            glued.append(carry)
            glued.append(piece)
            carry = ""
        else:
            glued.append(carry + piece)
            carry = ""
    if carry:
        glued.append(carry)
    return glued


def _hard_break(piece: str, font: FontMetrics, size_pt: float, width_pt: float) -> list[str]:
    """Return a piece wider than a line cut into line-wide chunks (at least one character each)."""
    chunks, current = [], ""
    for ch in piece:
        if current and font.width_pt(current + ch, size_pt) > width_pt:
            chunks.append(current)
            current = ""
        current += ch
    return [*chunks, current] if current else chunks


def wrap_lines(text: str, font: str | FontMetrics, size_pt: float, width_emu: int) -> list[str]:
    """Return ``text`` broken into lines no wider than ``width_emu`` at ``size_pt``, CJK-aware.

    Spaces at the ends of lines are dropped; explicit newlines start new lines.
    """
    face = _font(font)
    width_pt = width_emu / EMU_PER_PT * WIDTH_SAFETY
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for piece in _units(paragraph):
            if piece == " " and not current:
                continue
            candidate = current + piece
            if face.width_pt(candidate.rstrip(), size_pt) <= width_pt:
                current = candidate
                continue
            if current.strip():
                lines.append(current.rstrip())
            current = "" if piece == " " else piece
            if face.width_pt(current, size_pt) > width_pt:
                *full, current = _hard_break(current, face, size_pt, width_pt)
                lines += full
        lines.append(current.rstrip())
    return lines


def text_height_pt(line_counts: list[int], size_pt: float, *, spacing: float = LINE_SPACING,
                   space_before_pt: float = 0.0) -> float:
    """Return the height of paragraphs of ``line_counts`` lines each; space before every paragraph but the first."""
    lines = sum(line_counts)
    gaps = max(len(line_counts) - 1, 0)
    return lines * size_pt * spacing + gaps * space_before_pt


def fits(lines: list[str] | int, size_pt: float, height_emu: int, *, spacing: float = LINE_SPACING) -> bool:
    """Return True when ``lines`` (or that many lines) at ``size_pt`` fit in ``height_emu``."""
    count = lines if isinstance(lines, int) else len(lines)
    return text_height_pt([count], size_pt, spacing=spacing) <= height_emu / EMU_PER_PT


@dataclass(frozen=True)
class Fit:
    """A chosen size and the lines of each paragraph at that size."""

    size_pt: float
    paragraphs: list[list[str]]

    @property
    def lines(self) -> list[str]:
        """Return all lines, paragraph after paragraph."""
        return [line for p in self.paragraphs for line in p]


def fit_paragraphs(paragraphs: list[str], font: str | FontMetrics, width_emu: int, height_emu: int, *,
                   max_pt: float, min_pt: float, step_pt: float = 1.0, space_before: float = 0.0,
                   spacing: float = LINE_SPACING, space_before_pt: float = 0.0,
                   avoid_short_last_line: bool = False) -> Fit | None:
    """Return the largest size from ``max_pt`` down to ``min_pt`` at which all paragraphs fit, or None.

    ``space_before`` is the gap between paragraphs as a multiple of the size, ``space_before_pt``
    a gap in points added to it. With ``avoid_short_last_line`` a size at which a paragraph ends on a
    line of one or two characters is passed over while a smaller one avoids it; when none does, the
    largest size that fits is returned all the same.
    """
    size = max_pt
    first_fit = None
    while size >= min_pt - 1e-9:
        wrapped = [wrap_lines(p, font, size, width_emu) for p in paragraphs]
        gap = space_before * size + space_before_pt
        height = text_height_pt([len(w) for w in wrapped], size, spacing=spacing, space_before_pt=gap)
        if height <= height_emu / EMU_PER_PT:
            fit = Fit(size, wrapped)
            if not avoid_short_last_line or not has_short_last_line(wrapped):
                return fit
            first_fit = first_fit or fit
        size -= step_pt
    return first_fit


def has_short_last_line(paragraphs: list[list[str]]) -> bool:
    """Return True when a paragraph of more than one line ends on a line of one or two characters."""
    return any(len(lines) > 1 and len(lines[-1].strip()) <= 2 for lines in paragraphs)


def fit_text(text: str, font: str | FontMetrics, width_emu: int, height_emu: int, *,
             max_pt: float, min_pt: float = MIN_BODY_PT, step_pt: float = 1.0) -> Fit | None:
    """Return the largest size ≥ ``min_pt`` at which ``text`` fits the box, with its lines; None if none does."""
    return fit_paragraphs([text], font, width_emu, height_emu, max_pt=max_pt, min_pt=min_pt, step_pt=step_pt)
