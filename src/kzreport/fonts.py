"""Finding installed fonts and checking that they have every glyph a brief needs.

WeasyPrint and presentation programs silently draw empty boxes for characters
no font has; kzreport checks coverage before rendering and names the package
to install instead.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import InputError

FONT_PACKAGE_HINT = ("install the Noto fonts: 'apt-get install fonts-noto-core fonts-noto-cjk' on Debian/Ubuntu, "
                     "'dnf install google-noto-sans-fonts google-noto-serif-fonts google-noto-sans-cjk-fonts "
                     "google-noto-serif-cjk-fonts' on Fedora, or the Noto families from Homebrew casks on macOS")

# Which Debian package holds fonts for a character, by Unicode range (first match wins).
PACKAGES_BY_RANGE = (
    ((0x1F000, 0x1FAFF), "fonts-noto-color-emoji"),
    ((0x2E80, 0x9FFF), "fonts-noto-cjk"), ((0xAC00, 0xD7AF), "fonts-noto-cjk"), ((0xF900, 0xFAFF), "fonts-noto-cjk"),
    ((0xFE30, 0xFE4F), "fonts-noto-cjk"), ((0xFF00, 0xFFEF), "fonts-noto-cjk"), ((0x20000, 0x3FFFF), "fonts-noto-cjk"),
)
DEFAULT_PACKAGE = "fonts-noto-core"
"""Latin, Greek, Cyrillic and most other scripts."""


@dataclass(frozen=True)
class FontFace:
    """One installed face: the file and its index inside a collection (.ttc)."""

    family: str
    path: Path
    index: int


@cache
def find_face(family: str, bold: bool = False) -> FontFace | None:
    """Return the installed face of ``family`` (bold or regular), or None when it is not installed."""
    pattern = f"{family}:weight={'bold' if bold else 'regular'}"
    try:
        out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}\t%{index}", pattern],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families, _, rest = out.partition("\t")
    path, _, index = rest.partition("\t")
    if family.casefold() not in (f.strip().casefold() for f in families.split(",")) or not path:
        return None
    return FontFace(family, Path(path), int(index or 0))


def first_installed(families: list[str], bold: bool = False) -> FontFace | None:
    """Return the first of ``families`` that is installed."""
    return next((face for f in families if (face := find_face(f, bold))), None)


@dataclass(frozen=True)
class FaceTable:
    """What kzreport needs from a face: its em size and the advance width of each code point it draws."""

    units_per_em: int
    advances: dict[int, int]
    line_height: int
    """Ascent plus descent in font units: the larger of the hhea and Windows metrics, as viewers differ
    in which they use for single line spacing."""


TABLE_FORMAT = b"KZFT2"


@cache
def face_table(face: FontFace) -> FaceTable:
    """Return the face's table, read once per process and kept on disk keyed by the font file's identity
    (a CJK collection takes fontTools about 0.15 s to read; the cached table a few milliseconds)."""
    from .cache import drop_cached, read_cached, write_cached

    name = _table_name(face)
    data = read_cached("fonts", name) if name else None
    table = _decode_table(data) if data else None
    if data and table is None:
        drop_cached("fonts", name)
    if table is None:
        table = _read_table(face)
        if name:
            write_cached("fonts", name, _encode_table(table))
    return table


def _table_name(face: FontFace) -> str | None:
    """Return the cache name of a face: a hash of its path, index, size, change time and inode; None if unreadable."""
    import hashlib

    identity = face_identity(face)
    if identity is None:
        return None
    return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".table"


def face_identity(face: FontFace) -> str | None:
    """Return the identity of a face's file (path, index, size, change time, inode), None if unreadable:
    a font replaced or updated in place gets another identity."""
    try:
        info = face.path.stat()
    except OSError:
        return None
    return f"{face.path}\0{face.index}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}"


def family_identities(families) -> list[str | None]:
    """Return the identities of the regular and bold installed faces of ``families`` (None where none is)."""
    faces = [find_face(family, bold) for bold in (False, True) for family in families]
    return [face_identity(face) if face is not None else None for face in faces]


def _read_table(face: FontFace) -> FaceTable:
    """Return the face's table read from the font file with fontTools."""
    from fontTools.ttLib import TTFont

    # Read what is needed and close the file (an open handle would outlive the cache as a ResourceWarning).
    with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
        hmtx = font["hmtx"]
        advances = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
        return FaceTable(font["head"].unitsPerEm, advances, _line_height(font))


def _line_height(font) -> int:
    """Return a face's ascent plus descent in font units (see ``FaceTable.line_height``)."""
    hhea = font["hhea"].ascent - font["hhea"].descent
    os2 = font["OS/2"] if "OS/2" in font else None
    win = (os2.usWinAscent + os2.usWinDescent) if os2 is not None else 0
    return max(hhea, win)


def _encode_table(table: FaceTable) -> bytes:
    """Return the table as bytes: format tag, em size, line height, count, code points (uint32), advances (uint16)."""
    from array import array

    codes = array("I", sorted(table.advances))
    widths = array("H", (min(table.advances[c], 0xFFFF) for c in codes))
    header = (TABLE_FORMAT + table.units_per_em.to_bytes(4, "little") + table.line_height.to_bytes(4, "little")
              + len(codes).to_bytes(4, "little"))
    return header + codes.tobytes() + widths.tobytes()


def _decode_table(data: bytes) -> FaceTable | None:
    """Return the table held in ``data``, or None when the bytes are not a whole table of this format."""
    from array import array

    start = len(TABLE_FORMAT) + 12
    if not data.startswith(TABLE_FORMAT) or len(data) < start:
        return None
    upem, line_height, count = (int.from_bytes(data[at:at + 4], "little") for at in range(len(TABLE_FORMAT), start, 4))
    codes, widths = array("I"), array("H")
    if (len(data) != start + count * (codes.itemsize + widths.itemsize) or not 16 <= upem <= 16384
            or not 0 < line_height <= 4 * upem):
        return None
    codes.frombytes(data[start:start + count * codes.itemsize])
    widths.frombytes(data[start + count * codes.itemsize:])
    return FaceTable(upem, dict(zip(codes, widths)), line_height)


@cache
def _cmap(face: FontFace) -> frozenset[int]:
    """Return the code points the face has glyphs for."""
    return frozenset(face_table(face).advances)


def _drawn(ch: str) -> bool:
    """Return whether a character needs a glyph (not white space, a control or a format character)."""
    import unicodedata

    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Zs", "Co", "Cn", "Cs")


def missing_characters(text: str, families: list[str]) -> set[str]:
    """Return the characters of ``text`` that none of the installed ``families`` can draw."""
    faces = [face for f in families if (face := find_face(f))]
    needed = {ch for ch in set(text) if _drawn(ch)}
    for face in faces:
        needed = {ch for ch in needed if ord(ch) not in _cmap(face)}
    return needed


def package_for(ch: str) -> str:
    """Return the Debian package that holds a font for the character."""
    code = ord(ch)
    return next((package for (low, high), package in PACKAGES_BY_RANGE if low <= code <= high), DEFAULT_PACKAGE)


@cache
def installed_family_with(ch: str) -> str | None:
    """Return an installed font family that has the character (fontconfig's answer), or None."""
    try:
        out = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = sorted(line.split(",")[0].strip() for line in out.splitlines() if line.strip())
    return families[0] if families else None


def coverage_hint(missing: set[str]) -> str:
    """Return what to do about characters no theme font has: a family that has them, or the package to install."""
    chars = sorted(missing)[:5]
    installed = {ch: installed_family_with(ch) for ch in chars}
    have = sorted({f for f in installed.values() if f})
    packages = sorted({package_for(ch) for ch, family in installed.items() if not family})
    hints = []
    if have:
        hints.append(f"add an installed family that has them to the theme's fonts (e.g. {', '.join(have)})")
    if packages:
        hints.append(f"install {' and '.join(packages)} (Debian/Ubuntu: apt-get install {' '.join(packages)})")
    return "; ".join(hints)


def require_coverage(text: str, families: list[str], what: str) -> None:
    """Raise InputError naming a family or package that has the characters the fonts lack."""
    if not any(find_face(f) for f in families):
        raise InputError(f"{what}: none of the fonts {', '.join(families)} is installed; {FONT_PACKAGE_HINT}")
    missing = missing_characters(text, families)
    if missing:
        sample = "".join(sorted(missing)[:20])
        codes = ", ".join(f"U+{ord(c):04X}" for c in sorted(missing)[:5])
        raise InputError(f"{what}: no font among {', '.join(families)} has the characters "
                         f"{sample!r} ({codes}); {coverage_hint(missing)}")
