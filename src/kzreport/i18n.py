"""The words kzreport itself writes, in the brief's language: one message catalog per language.

A catalog is a YAML mapping of message ids to text, ``i18n/<language>.yaml`` in the template
search path. The built-in catalog of a language holds every id; a user's catalog of the same
name under ``--templates DIR`` overrides the ids it names and nothing else. A message's
placeholders are ``{name}``; filling them is plain substitution (no attribute access, no
format specifications), so a hostile catalog can only change words.

Dates, numbers and lists are formatted by Babel from CLDR data for the language's locale.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from .errors import InputError


@dataclass(frozen=True)
class Language:
    """What a brief's language decides besides its words."""

    tag: str
    """The BCP 47 tag of the brief (``zh-Hans``): the HTML ``lang``."""
    locale: str
    """Babel's locale for dates, numbers and lists."""
    office: str
    """The language of deck runs (``a:rPr/@lang``)."""
    script: str
    """Which of the theme's faces sets its text first: ``latin``, ``hans`` or ``hant``."""

    @property
    def is_cjk(self) -> bool:
        """Return whether the language is written in Han characters."""
        return self.script != "latin"


LANGUAGES = {
    "zh-Hans": Language("zh-Hans", "zh_Hans_CN", "zh-CN", "hans"),
    "zh-Hant": Language("zh-Hant", "zh_Hant_TW", "zh-TW", "hant"),
    "en": Language("en", "en_US", "en-US", "latin"),
}

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def language(tag: str) -> Language:
    """Return the language of a supported BCP 47 tag."""
    return LANGUAGES[tag]


def placeholders(message: str) -> set[str]:
    """Return the placeholder names a message uses."""
    return set(PLACEHOLDER.findall(message))


def fill(message: str, values: dict[str, object]) -> str:
    """Return ``message`` with each ``{name}`` replaced by ``values[name]`` (plain substitution)."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), message)


@cache
def _builtin_catalog(tag: str) -> dict[str, str]:
    """Return the built-in catalog of a language."""
    from .resources import templates_dir

    return _read_catalog(templates_dir() / "i18n" / f"{tag}.yaml", None)


def _read_catalog(path: Path, base: dict[str, str] | None) -> dict[str, str]:
    """Return the catalog at ``path`` (read only from inside its templates folder); with ``base``, check it only
    overrides known ids with matching placeholders."""
    from .fsutil import display_path
    from .loader import parse_yaml, read_text

    data, located = parse_yaml(read_text(path, "catalog", roots=[path.parents[1]]), display_path(path))
    if not isinstance(data, dict):
        located.problem((), "a catalog is a mapping of message ids to text")
        raise InputError(located.problems)
    for key, value in data.items():
        if not isinstance(value, str):
            located.problem((key,), "must be text")
        elif base is not None and key not in base:
            located.problem((key,), "unknown message id", key=True)
        elif base is not None and placeholders(value) - placeholders(base[key]):
            extra = ", ".join(f"{{{p}}}" for p in sorted(placeholders(value) - placeholders(base[key])))
            located.problem((key,), f"uses {extra}, which this message does not have "
                                    f"(it has: {', '.join(f'{{{p}}}' for p in sorted(placeholders(base[key]))) or 'none'})")
    if located.problems:
        raise InputError(sorted(located.problems, key=lambda p: (p.line, p.column)))
    return dict(data)


@cache
def catalog(tag: str, user_dir: Path | None) -> dict[str, str]:
    """Return the messages of a language: the built-in catalog with the user's overrides on top."""
    messages = dict(_builtin_catalog(tag))
    if user_dir is not None:
        path = user_dir / "i18n" / f"{tag}.yaml"
        if os.path.lexists(path):  # a dangling or hostile link is refused, not skipped
            messages.update(_read_catalog(path, messages))
    return messages


class Words:
    """The interface words, dates, numbers and lists of one language; ``words(id, **values)`` is a message."""

    def __init__(self, tag: str, user_dir: Path | None = None):
        self.language = language(tag)
        self.messages = catalog(tag, user_dir)

    def __call__(self, key: str, **values: object) -> str:
        """Return the message ``key`` with its placeholders filled."""
        return fill(self.messages[key], values)

    def date(self, value: str, width: str = "long") -> str:
        """Return a partial date (``2022``, ``2022-09``, ``2022-09-14``) written the language's way.

        ``width`` is ``long`` (September 14, 2022) or ``medium`` (Sep 14, 2022), for narrow columns.
        """
        from babel.dates import format_date, format_skeleton

        parts = [int(p) for p in str(value).split("-")]
        moment = date(parts[0], *(parts[1:] + [1, 1])[:2])
        if len(parts) == 3:
            return format_date(moment, format=width, locale=self.language.locale)
        skeleton = ("yMMMM" if width == "long" else "yMMM") if len(parts) == 2 else "y"
        return format_skeleton(skeleton, moment, locale=self.language.locale)

    def date_range(self, start: str | None, end: str | None) -> str:
        """Return the status dates of a route as a phrase (since …, until …, … – …), or ''."""
        if start and end:
            return self("since_until", since=self.date(start), until=self.date(end))
        if start:
            return self("since", since=self.date(start))
        return self("until", until=self.date(end)) if end else ""

    def number(self, value: float) -> str:
        """Return a number with the language's separators."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.language.locale)

    def join(self, items: list[str]) -> str:
        """Return items as an enumeration (``a, b and c``; ``a、b和c``)."""
        from babel.lists import format_list

        items = [str(i) for i in items]
        return format_list(items, style="standard", locale=self.language.locale) if items else ""

    def series(self, items: list[str]) -> str:
        """Return items separated by the language's list separator, without a conjunction (page lists)."""
        return self("list_separator").join(str(i) for i in items)

    def join_parts(self, parts: list[str | None]) -> str:
        """Return the parts that are given, separated as the language separates a reference's parts."""
        return self("part_separator").join(str(p) for p in parts if p)

    def around(self, key: str, name: str) -> tuple[str, str]:
        """Return the text of message ``key`` before and after its placeholder ``{name}``.

        Templates put markup (links, page counters) in the placeholder's place.
        """
        before, _, after = self.messages[key].partition("{" + name + "}")
        return before, after

    def pieces(self, key: str) -> list[tuple[str, str]]:
        """Return message ``key`` as ``(placeholder, "")`` and ``("", text)`` pieces, in the message's order.

        Templates walk the pieces to put markup where each placeholder is, whatever the language's order.
        """
        return [(piece, "") if i % 2 else ("", piece)
                for i, piece in enumerate(PLACEHOLDER.split(self.messages[key])) if piece]

    def quoted(self, text: str) -> str:
        """Return text in the language's quotation marks."""
        return self("quote_open") + text + self("quote_close")

    def css_content(self, key: str, **counters: str) -> str:
        """Return a message as a CSS ``content`` value: text as CSS strings, ``{page}`` as ``counter(page)``."""
        from .templating import css_string

        parts = []
        for i, piece in enumerate(PLACEHOLDER.split(self.messages[key])):
            if i % 2:
                parts.append(counters.get(piece, f"counter({piece})"))
            elif piece:
                parts.append(str(css_string(piece)))
        from markupsafe import Markup

        return Markup(" ".join(parts) or '""')


def words_for(brief, user_dir: Path | None = None) -> Words:
    """Return the words of a brief's language, with the user's overrides from ``user_dir``."""
    return Words(brief.meta.language, user_dir)
