"""Jinja2 for every template kzreport renders: sandboxed, autoescaping, strict, searched in order.

User templates are untrusted code: they run in Jinja2's immutable sandbox, every
value is HTML-escaped unless a template marks it safe, and an undefined name is an
error naming the template file and line instead of an empty string.
"""

from __future__ import annotations

import os
import posixpath
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.loaders import split_template_path

from .errors import InputError
from .fsutil import display_path, read_checked
from .resources import template_search_path, templates_dir



def css_string(value: str):
    """Return ``value`` as a quoted CSS string (safe markup): every character that could end it is escaped."""
    from markupsafe import Markup

    escaped = "".join(ch if ch.isalnum() or ch in " -_." else f"\\{ord(ch):06x}" for ch in str(value))
    return Markup(f'"{escaped}"')


MAX_TEMPLATE_BYTES = 2 * 1024 * 1024


class ConfinedFileSystemLoader(FileSystemLoader):
    """A FileSystemLoader that reads only regular files inside the folder they were found in.

    Jinja2's own loader refuses ``..`` but follows symlinks, so ``pdf/leak.txt -> /etc/passwd``
    or a folder linked to ``/etc`` would put the file into the output. Here the path is
    resolved and read through ``read_checked``: a file outside its search folder, not a
    regular file (a FIFO would hang) or over 2 MiB is a located InputError.
    """

    def get_source(self, environment, template: str):
        """Return (source, filename, uptodate) of ``template``; raise TemplateNotFound or InputError."""
        pieces = split_template_path(template)
        for searchpath in self.searchpath:
            filename = posixpath.join(searchpath, *pieces)
            # lexists, not isfile: a FIFO or a dangling link must be refused, not skipped over.
            if os.path.lexists(filename) and not os.path.isdir(filename):
                break
        else:
            raise TemplateNotFound(template, f"{template!r} not found in {', '.join(self.searchpath)}")
        data = read_checked(Path(filename), roots=[Path(searchpath)], max_bytes=MAX_TEMPLATE_BYTES, what="template")
        try:
            contents = data.decode(self.encoding)
        except UnicodeDecodeError:
            raise InputError(f"{display_path(Path(filename))}: template is not valid UTF-8") from None
        mtime = os.path.getmtime(filename)
        return contents, os.path.normpath(filename), lambda: _unchanged(filename, mtime)


def _unchanged(filename: str, mtime: float) -> bool:
    """Return whether the template file still has the modification time it was read with."""
    try:
        return os.path.getmtime(filename) == mtime
    except OSError:
        return False


@cache
def template_environment(user_dir: Path | None):
    """Return the sandboxed Jinja2 environment over the search path (user folder first, built-ins last).

    One environment per folder and process: a batch parses each template once. Templates are
    read only from inside their folders, symlinks resolved (see ``ConfinedFileSystemLoader``).
    """
    from jinja2 import ChoiceLoader, PrefixLoader, StrictUndefined

    # "kzreport/<name>" always names the built-in, so a user template of the same
    # name can extend it and override one block.
    loader = ChoiceLoader([ConfinedFileSystemLoader([str(p) for p in template_search_path(user_dir)]),
                           PrefixLoader({"kzreport": ConfinedFileSystemLoader(str(templates_dir()))})])
    env = BoundedSandbox(
        loader=loader,
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False, auto_reload=False)
    env.filters["css_string"] = css_string
    return env


MAX_BUILT_LENGTH = 10_000_000
"""Characters or items one template expression may build (``'x' * n``); far above any page."""
MAX_EXPONENT = 64


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with products and powers bounded: a template cannot build 10⁸ characters."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        """Return ``left operator right``, or raise SecurityError when the result would be too large."""
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_BUILT_LENGTH:
                    raise SecurityError(f"a template may not build more than {MAX_BUILT_LENGTH:,} characters or items")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"a template may not raise to a power above {MAX_EXPONENT}")
        return super().call_binop(context, operator, left, right)


def render_template(env, name: str, context: dict[str, Any]) -> str:
    """Return the template ``name`` rendered with ``context`` under the time limit; template mistakes,
    loops and runaway work become located InputErrors."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError
    from jinja2.sandbox import SecurityError

    from .limits import work_limits

    try:
        with work_limits(f"template {name}"):
            return env.get_template(name).render(context)
    except TemplateNotFound as error:
        raise InputError(f"template {error.name!r} not found in {', '.join(map(str, env.loader.loaders[0].searchpath))}") from None
    except TemplateSyntaxError as error:
        raise InputError(f"{_template_file(error.filename, error.name)}:{error.lineno}: template syntax error: {error.message}") from None
    except SecurityError as error:
        raise InputError(f"{_failing_frame(error) or name}: template not allowed: {error}") from None
    except RecursionError as error:
        raise InputError(f"{_failing_frame(error) or name}: template error: a template includes or extends "
                         "itself (directly or through others)") from None
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError,
            OverflowError, MemoryError) as error:
        raise InputError(f"{_failing_frame(error) or name}: template error: {error}") from None


def _template_file(filename: str | None, name: str | None) -> str:
    """Return the template's file as the user would name it."""
    return display_path(Path(filename)) if filename else str(name)


def _failing_frame(error: BaseException) -> str | None:
    """Return ``file:line`` of the innermost template frame in the error's traceback."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith((".j2", ".html", ".css")) or "<template>" in code.co_filename:
            found = f"{_template_file(code.co_filename, None)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
