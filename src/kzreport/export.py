"""``kzreport templates export``: the built-in templates, CSS, theme and deck master, to edit."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .fsutil import commit
from .resources import templates_dir


def builtin_template_files() -> dict[str, Path]:
    """Return every built-in template file by its path relative to the templates folder."""
    root = templates_dir()
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}


def export_templates(target: Path, overwrite: bool = False) -> list[Path]:
    """Copy the built-in templates into ``target``; return the paths written.

    Refuses (InputError, nothing written) when any file exists there, unless ``overwrite``.
    """
    files = {target / rel: src.read_bytes() for rel, src in builtin_template_files().items()}
    existing = [p for p in files if p.exists()]
    if existing and not overwrite:
        shown = ", ".join(str(p) for p in existing[:3]) + (" …" if len(existing) > 3 else "")
        raise InputError(f"templates export: {len(existing)} file(s) already exist ({shown}); "
                         "pass --force to overwrite them")
    commit(files, root=target)
    return list(files)
