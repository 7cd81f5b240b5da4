"""Jinja2 for every template kzreport renders: sandboxed, autoescaping, strict, searched in order.

User templates are untrusted code: they run in Jinja2's immutable sandbox, every
value is HTML-escaped unless a template marks it safe, and an undefined name is an
error naming the template file and line instead of an empty string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError
from .fsutil import display_path
from .resources import template_search_path, templates_dir



def css_string(value: str):
    """Return ``value`` as a quoted CSS string (safe markup): every character that could end it is escaped."""
    from markupsafe import Markup

    escaped = "".join(ch if ch.isalnum() or ch in " -_." else f"\\{ord(ch):06x}" for ch in str(value))
    return Markup(f'"{escaped}"')


def chinese_date(value: str) -> str:
    """Return ``2022-09-14`` as 2022年9月14日, ``2022-09`` as 2022年9月, ``2022`` as 2022年."""
    parts = str(value).split("-")
    units = ("年", "月", "日")
    return "".join(f"{int(p)}{u}" for p, u in zip(parts, units))


@cache
def template_environment(user_dir: Path | None):
    """Return the sandboxed Jinja2 environment over the search path (user folder first, built-ins last).

    One environment per folder and process: a batch parses each template once.
    """
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # "kzreport/<name>" always names the built-in, so a user template of the same
    # name can extend it and override one block.
    loader = ChoiceLoader([FileSystemLoader([str(p) for p in template_search_path(user_dir)]),
                           PrefixLoader({"kzreport": FileSystemLoader(str(templates_dir()))})])
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False, auto_reload=False)
    env.filters["css_string"] = css_string
    env.filters["chinese_date"] = chinese_date
    return env


def render_template(env, name: str, context: dict[str, Any]) -> str:
    """Return the template ``name`` rendered with ``context``; template mistakes become located InputErrors."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError
    from jinja2.sandbox import SecurityError

    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as error:
        raise InputError(f"template {error.name!r} not found in {', '.join(map(str, env.loader.loaders[0].searchpath))}") from None
    except TemplateSyntaxError as error:
        raise InputError(f"{_template_file(error.filename, error.name)}:{error.lineno}: template syntax error: {error.message}") from None
    except SecurityError as error:
        raise InputError(f"{_failing_frame(error) or name}: template not allowed: {error}") from None
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError) as error:
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
