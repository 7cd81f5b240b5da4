"""Where the built-in templates, assets and default brief are.

In a source checkout they sit at the repository's top level; in an installed
wheel they ship inside the package as ``kzreport/_data``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
DEFAULT_BRIEF_NAME = "kazakhstan-2022.yaml"


@cache
def data_root() -> Path:
    """Return the folder holding ``templates/``, ``assets/`` and ``briefs/``."""
    bundled = _PACKAGE / "_data"
    return bundled if (bundled / "templates").is_dir() else _PACKAGE.parents[1]


def templates_dir() -> Path:
    """Return the built-in templates folder."""
    return data_root() / "templates"


def assets_dir() -> Path:
    """Return the built-in assets folder (fonts, geodata, logos, schema)."""
    return data_root() / "assets"


def default_source() -> Path:
    """Return the path of the built-in brief."""
    return data_root() / "briefs" / DEFAULT_BRIEF_NAME


def template_search_path(user_dir: Path | None) -> list[Path]:
    """Return the template folders in lookup order: the user's first, the built-ins last."""
    return [p for p in (user_dir, templates_dir()) if p is not None]


MIME_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".woff2": "font/woff2", ".woff": "font/woff", ".otf": "font/otf",
              ".ttf": "font/ttf"}


def mime_type(path: Path) -> str:
    """Return the MIME type of a template or asset file by its suffix."""
    return MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")
