"""Design tokens shared by the PDF, the deck and the maps: one theme file drives all three."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Literal

from pydantic import Field

from .model import Model, Text

Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]

SLIDE_KINDS = ("title", "agenda", "section", "content", "two_content", "comparison",
               "title_only", "blank", "caption")
DEFAULT_LAYOUTS = {
    "title": "Title Slide", "agenda": "Title and Content", "section": "Section Header",
    "content": "Title and Content", "two_content": "Two Content", "comparison": "Comparison",
    "title_only": "Title Only", "blank": "Blank", "caption": "Content with Caption",
}


class Colors(Model):
    primary: Color = "#0B3C5D"
    accent: Color = "#E0A526"
    accent2: Color = "#00AFCA"
    text: Color = "#1F2933"
    muted: Color = "#6B7785"
    light: Color = "#E6ECF1"
    background: Color = "#FFFFFF"


class MapColors(Model):
    """The maps' colours: one per kind of route (a route's status is its dash pattern, so its kind's
    colour stays visible), the casing under routes, and the basemap's land, water, borders and labels."""

    crude_oil: Color = "#C8553D"
    oil_products: Color = "#8F5AA8"
    gas: Color = "#2A9D8F"
    lng_shipping: Color = "#1F6FB2"
    tanker: Color = "#E0A526"
    rail: Color = "#4A4E57"
    road: Color = "#9C6B30"
    power_line: Color = "#D6336C"
    other: Color = "#6B7785"
    casing: Color = "#FFFFFF"
    """Drawn under every route, wider than it: keeps routes readable over borders, and shows in dash gaps."""
    land: Color = "#F4F1EA"
    highlight: Color = "#F7E6BF"
    water: Color = "#D4E4EE"
    border: Color = "#A7B1BC"
    label: Color = "#1F2933"


SCRIPTS = ("latin", "hans", "hant")


class FontFaces(Model):
    """The families of one role (headings or body), one per script."""

    latin: Text
    """Latin, Greek and Cyrillic text (needs Latin Extended for names such as Świnoujście)."""
    hans: Text
    """Simplified Chinese."""
    hant: Text
    """Traditional Chinese."""


class Fonts(Model):
    heading: FontFaces = FontFaces(latin="Noto Sans", hans="Noto Sans CJK SC", hant="Noto Sans CJK TC")
    body: FontFaces = FontFaces(latin="Noto Serif", hans="Noto Serif CJK SC", hant="Noto Serif CJK TC")
    fallbacks: list[Text] = ["Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "DejaVu Sans"]
    """Tried in order after the role's three faces, for any character they lack."""

    def stack(self, role: str, script: str) -> list[str]:
        """Return the families that set text of ``script`` in ``role``, in the order they are tried.

        The script's own face comes first, so a Chinese brief keeps full-width punctuation from its
        CJK face and an English brief sets Latin text in its Latin face; the other faces follow for
        the characters it lacks (a Chinese passage in an English brief, Świnoujście in a Chinese one).
        """
        faces = getattr(self, role)
        order = {"latin": (faces.latin, faces.hans, faces.hant), "hans": (faces.hans, faces.latin, faces.hant),
                 "hant": (faces.hant, faces.latin, faces.hans)}[script]
        return list(dict.fromkeys([*order, *self.fallbacks]))


class Theme(Model):
    """A house style: colours, fonts, logo, organisation and page size."""

    name: Text = "kzreport"
    organisation: Text = "kzreport"
    logo: Text | None = None
    """Path of an SVG or PNG logo, relative to the theme file."""
    page_size: Literal["A4", "Letter"] = "A4"
    numerals: Literal["lining", "oldstyle"] = "lining"
    """Figures in the PDF's text: lining (the height of capitals, as in tables) or old-style."""
    colors: Colors = Colors()
    map: MapColors = MapColors()
    fonts: Fonts = Fonts()
    layouts: dict[Literal[SLIDE_KINDS], Text] = {}  # type: ignore[valid-type]
    """Slide kind -> layout name in the PowerPoint master, where it differs from the default."""

    def layout_name(self, kind: str) -> str:
        """Return the master's layout name for a slide kind."""
        return self.layouts.get(kind, DEFAULT_LAYOUTS[kind])


def load_theme(path: Path | None) -> tuple[Theme, Path | None]:
    """Return the theme at ``path`` (the built-in one when None) and the folder it lives in."""
    from .loader import load_model
    from .resources import templates_dir

    path = path or templates_dir() / "theme.yaml"
    theme, _ = load_model(Path(path), Theme, "theme")
    return theme, Path(path).resolve().parent


LOGO_TYPES = ("image/svg+xml", "image/png", "image/jpeg")
MAX_LOGO_BYTES = 8 * 1024 * 1024


def read_logo(theme: Theme, theme_dir: Path | None) -> tuple[bytes, str] | None:
    """Return the theme's logo and its MIME type, read from beside the theme file (None when it has none).

    Raises InputError when the logo is not an SVG, PNG or JPEG regular file of at most 8 MiB
    inside the theme's folder once symlinks are resolved (a FIFO or /dev/zero would hang the build).
    """
    import os

    from .errors import InputError
    from .fsutil import read_checked
    from .resources import mime_type, templates_dir

    if not theme.logo:
        return None
    base = (theme_dir or templates_dir()).resolve()
    path = base / theme.logo
    data = read_checked(path, roots=[base], max_bytes=MAX_LOGO_BYTES, what="the theme's logo")
    mime = mime_type(Path(os.path.realpath(path)))
    if mime not in LOGO_TYPES:
        raise InputError(f"theme: logo {theme.logo!r} must be an SVG, PNG or JPEG file in the theme's folder")
    problem = svg_logo_problem(data) if mime == "image/svg+xml" else raster_logo_problem(data, mime)
    if problem:
        raise InputError(f"theme: logo {theme.logo!r} {problem}")
    return data, mime


MAX_LOGO_SIDE = 6000
"""Pixels per side: a logo prints a few centimetres wide, and a huge one costs seconds and gigabytes to decode."""


def raster_logo_problem(data: bytes, mime: str) -> str | None:
    """Return why a PNG or JPEG logo cannot be used (a mislabelled, oversized, truncated or corrupt image), or None.

    The whole image is decoded here (``raster_problem``), so that a file that would fail or balloon
    inside WeasyPrint or PowerPoint is refused with the theme's name on it.
    """
    return raster_problem(data, {"image/png": "PNG", "image/jpeg": "JPEG"}[mime], MAX_LOGO_SIDE)


def raster_problem(data: bytes, expected: str, max_side: int) -> str | None:
    """Return why ``data`` is not a whole, readable ``expected`` ("PNG", "JPEG") image of at most
    ``max_side`` pixels a side, or None.

    Pillow's own checks are made fatal: its warnings become errors, and truncated data is refused
    even though WeasyPrint, once imported, tells Pillow to accept it for the whole process.
    """
    import io
    import warnings

    from PIL import Image, ImageFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                if max(image.size) > max_side or min(image.size) < 1:
                    return f"is {image.size[0]}×{image.size[1]} pixels; at most {max_side} a side are allowed"
                image.verify()  # chunk checksums and the end of a PNG
            with _strict_decoding(ImageFile), Image.open(io.BytesIO(data), formats=[expected]) as image:
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as error:
        return f"is not a readable {expected} image ({error})"
    return None


@contextmanager
def _strict_decoding(image_file) -> Iterator[None]:
    """Within the block, Pillow refuses truncated images (the process-wide setting is restored after)."""
    with _PILLOW_SETTING:
        saved, image_file.LOAD_TRUNCATED_IMAGES = image_file.LOAD_TRUNCATED_IMAGES, False
        try:
            yield
        finally:
            image_file.LOAD_TRUNCATED_IMAGES = saved


_PILLOW_SETTING = threading.Lock()


def svg_logo_problem(data: bytes) -> str | None:
    """Return why an SVG logo cannot be used (not well-formed XML, not SVG, or with a DTD), or None.

    A DTD is refused outright: entity expansion is the classic way to make a small file huge.
    """
    import xml.etree.ElementTree as ElementTree

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return "is an SVG with a DTD (<!DOCTYPE> or <!ENTITY>), which kzreport does not read"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        return f"is not well-formed SVG ({error})"
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        return "is not an SVG image (its root element is not <svg>)"
    return None
