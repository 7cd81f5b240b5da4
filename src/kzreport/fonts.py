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

FONT_PACKAGE_HINT = ("install the Noto CJK fonts: 'apt-get install fonts-noto-cjk' on Debian/Ubuntu, "
                     "'dnf install google-noto-sans-cjk-fonts google-noto-serif-cjk-fonts' on Fedora, "
                     "or 'brew install --cask font-noto-sans-cjk-sc font-noto-serif-cjk-sc' on macOS")


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


@cache
def _cmap(face: FontFace) -> frozenset[int]:
    """Return the code points the face has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing_characters(text: str, families: list[str]) -> set[str]:
    """Return the characters of ``text`` that none of the installed ``families`` can draw."""
    faces = [face for f in families if (face := find_face(f))]
    needed = {ch for ch in set(text) if not ch.isspace() and ord(ch) >= 0x20}
    for face in faces:
        needed = {ch for ch in needed if ord(ch) not in _cmap(face)}
    return needed


def require_coverage(text: str, families: list[str], what: str) -> None:
    """Raise InputError naming the font package when the fonts lack a character of ``text``."""
    if not any(find_face(f) for f in families):
        raise InputError(f"{what}: none of the fonts {', '.join(families)} is installed; {FONT_PACKAGE_HINT}")
    missing = missing_characters(text, families)
    if missing:
        sample = "".join(sorted(missing)[:20])
        codes = ", ".join(f"U+{ord(c):04X}" for c in sorted(missing)[:5])
        raise InputError(f"{what}: no installed font among {', '.join(families)} has the characters "
                         f"{sample!r} ({codes}); {FONT_PACKAGE_HINT}, or use a theme font that has them")
