"""The builders, one per output format, registered here in the order they run.

Each builder has a ``name``, runs its steps in ``build(project, reporter)``,
adds its files with ``project.add_output``, completes work it queued across
projects in ``finish(reporter)`` and releases shared resources in ``close()``. Modules are imported only when their format is
asked for, so the command line starts fast.
"""

from __future__ import annotations

import importlib

from ..errors import InputError

# Maps come first: the PDF and the deck embed their images.
REGISTRY: dict[str, str] = {
    "maps": "kzreport.builders.maps:MapsBuilder",
    "pdf": "kzreport.builders.pdf:PdfBuilder",
    "pptx": "kzreport.builders.deck:DeckBuilder",
    "md": "kzreport.builders.markdown:MarkdownBuilder",
    "html": "kzreport.builders.html:HtmlBuilder",
}
DEFAULT_FORMATS = ("maps", "pdf", "pptx")


class Builder:
    """Base of the builders: the contract every output format follows."""

    name = "builder"
    feeds_others = False
    """True when other builders use its outputs (the map images), so it runs first."""
    runs_apart = False
    """True when nothing later needs its outputs, so it may run in a child process beside the others."""
    finish_stage = "finish"
    """How the timings name the ``finish`` step."""

    def build(self, project, reporter) -> None:
        """Render the project's outputs of this format into ``project.outputs``."""
        raise NotImplementedError

    def finish(self, reporter) -> None:
        """Complete work queued by ``build`` for every project (the maps: one browser for all)."""

    def close(self) -> None:
        """Release what the builder held across projects."""


def parse_formats(text: str) -> tuple[str, ...]:
    """Return the formats named in ``pdf,pptx,maps``, or raise InputError."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in REGISTRY]
    if unknown or not names:
        raise InputError(f"--format: unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(REGISTRY)}")
    return names


def ordered_formats(formats: tuple[str, ...]) -> list[str]:
    """Return the formats in the order their builders must run."""
    return [name for name in REGISTRY if name in formats]


def builder_class(name: str) -> type[Builder]:
    """Return the builder class for a format, importing its module."""
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)
