"""Design tokens shared by the PDF, the deck and the maps: one theme file drives all three."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

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
    oil: Color = "#C8553D"
    gas: Color = "#2A9D8F"
    tanker: Color = "#E0A526"
    disrupted: Color = "#8E1B2B"
    planned: Color = "#9AA5B1"
    land: Color = "#F4F1EA"
    highlight: Color = "#F7E6BF"
    water: Color = "#D4E4EE"
    border: Color = "#A7B1BC"
    label: Color = "#1F2933"


class FontPair(Model):
    latin: Text
    cjk: Text


class Fonts(Model):
    heading: FontPair = FontPair(latin="Noto Sans CJK SC", cjk="Noto Sans CJK SC")
    body: FontPair = FontPair(latin="Noto Serif CJK SC", cjk="Noto Serif CJK SC")
    cjk_fallbacks: list[Text] = ["Source Han Sans SC", "PingFang SC", "Microsoft YaHei"]


class Theme(Model):
    """A house style: colours, fonts, logo, organisation and page size."""

    name: Text = "kzreport"
    organisation: Text = "kzreport"
    logo: Text | None = None
    """Path of an SVG or PNG logo, relative to the theme file."""
    page_size: Literal["A4", "Letter"] = "A4"
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
    from .resources import mime_type, templates_dir

    path = path or templates_dir() / "theme.yaml"
    theme, _ = load_model(Path(path), Theme, "theme")
    return theme, Path(path).resolve().parent


LOGO_TYPES = ("image/svg+xml", "image/png", "image/jpeg")
MAX_LOGO_BYTES = 8 * 1024 * 1024


def read_logo(theme: Theme, theme_dir: Path | None) -> tuple[bytes, str] | None:
    """Return the theme's logo and its MIME type, read from beside the theme file (None when it has none).

    Raises InputError when the logo is not an SVG, PNG or JPEG file inside the theme's folder.
    """
    from .errors import InputError
    from .resources import mime_type, templates_dir

    if not theme.logo:
        return None
    base = (theme_dir or templates_dir()).resolve()
    path = (base / theme.logo).resolve()
    mime = mime_type(path)
    if not path.is_relative_to(base) or mime not in LOGO_TYPES:
        raise InputError(f"theme: logo {theme.logo!r} must be an SVG, PNG or JPEG file in the theme's folder")
    try:
        if path.stat().st_size > MAX_LOGO_BYTES:
            raise InputError(f"theme: logo {theme.logo!r} is larger than 8 MiB")
        return path.read_bytes(), mime
    except OSError as error:
        raise InputError(f"theme: cannot read logo {theme.logo!r}: {error.strerror}") from None
