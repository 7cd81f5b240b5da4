"""Read a YAML file into a validated model, with every problem located.

The YAML is read event by event (ruamel.yaml's YAML 1.2 parser), never
constructed by a YAML library: tags, anchors and aliases are refused, duplicate
keys are errors, and every scalar is kept as the text written, so the model's
field types decide what ``no``, ``1.10`` or ``2022-09`` mean. Each value's line
and column are remembered to locate validation errors.
"""

from __future__ import annotations

import difflib
import re
import typing
import unicodedata
from pathlib import Path
from typing import Any, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InputError, Problem, format_path
from .fsutil import display_path

MAX_SOURCE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000
"""Values a source may hold: far above any brief, and a bound on the time validation takes."""
_NULLS = {"", "~", "null", "Null", "NULL"}

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class _Located:
    """The tree read from YAML, with the position of every value and key."""

    def __init__(self, file: str):
        self.file = file
        self.values: dict[Loc, tuple[int, int]] = {}
        self.keys: dict[Loc, tuple[int, int]] = {}
        self.problems: list[Problem] = []

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> None:
        """Record a problem at ``loc`` (or the nearest located parent)."""
        line, col = self.position(loc, key=key)
        self.problems.append(Problem(self.file, line, col, format_path(loc), message))

    def position(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Return the 1-based line and column of ``loc``'s key or value, or its nearest parent's."""
        if key and loc in self.keys:
            return self.keys[loc]
        while loc not in self.values and loc:
            loc = loc[:-1]
        return self.values.get(loc, (1, 1))


def read_text(path: Path, what: str = "source", roots: list[Path] | None = None) -> str:
    """Return the file's text, refusing files outside ``roots`` (when given), non-regular files (FIFOs,
    devices, folders), oversized files and bad UTF-8."""
    from .fsutil import read_checked

    name = str(path)
    data = read_checked(path, roots=roots, max_bytes=MAX_SOURCE_BYTES, what=what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Problem(name, line, col, "", f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8")]) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError([Problem(name, 0, 0, "", f"{what} file is empty")])
    return text


def parse_yaml(text: str, file: str) -> tuple[Any, _Located]:
    """Return the YAML document as plain dicts, lists and strings (``None`` for nulls)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    located = _Located(file)
    events = YAML(typ="rt").parse(text)
    try:
        data = _read_stream(events, located)
    except ReaderError as exc:
        line, col = _index_position(text, exc.position)
        raise InputError([Problem(file, line, col, "", f"character {exc.character!r} is not allowed in YAML")]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError([Problem(file, line, col, "", f"YAML syntax: {exc.problem or exc.context}")]) from None
    except YAMLError as exc:
        raise InputError([Problem(file, 0, 0, "", f"YAML: {exc}")]) from None
    except _TooLarge:
        raise InputError(located.problems) from None
    except RecursionError:
        raise InputError([Problem(file, 0, 0, "", "YAML nested too deeply")]) from None
    return data, located


def _index_position(text: str, index: int) -> tuple[int, int]:
    """Return the 1-based line and column of a character index."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def _read_stream(events: Iterator[Any], located: _Located) -> Any:
    """Return the stream's single document, read from parser events."""
    from ruamel.yaml import events as ev

    documents = 0
    data = None
    for event in events:
        if isinstance(event, ev.DocumentStartEvent):
            documents += 1
            if documents > 1:
                located.problems.append(Problem(located.file, event.start_mark.line + 1, 1, "",
                                                "only one YAML document is allowed per file"))
                return data
            data = _read_node(next(events), events, (), located, 0)
    return data


def _read_node(event: Any, events: Iterator[Any], loc: Loc, located: _Located, depth: int) -> Any:
    """Return the value that starts with ``event``, reading its children from ``events``."""
    from ruamel.yaml import events as ev

    located.values[loc] = (event.start_mark.line + 1, event.start_mark.column + 1)
    if len(located.values) > MAX_NODES:
        located.problem(loc, f"the file holds more than {MAX_NODES:,} values; split it into several briefs")
        raise _TooLarge
    if isinstance(event, ev.AliasEvent) or getattr(event, "anchor", None):
        located.problem(loc, "YAML anchors and aliases are not allowed; write the value out")
    if getattr(event, "tag", None) is not None:
        located.problem(loc, f"YAML tags are not allowed (found {event.tag!s})")
    if depth > MAX_DEPTH:
        located.problem(loc, f"nested deeper than {MAX_DEPTH} levels")
        raise _TooLarge
    if isinstance(event, ev.ScalarEvent):
        return None if event.style is None and event.value in _NULLS else _scalar_text(event)
    if isinstance(event, ev.SequenceStartEvent):
        items = []
        for child in events:
            if isinstance(child, ev.SequenceEndEvent):
                return items
            items.append(_read_node(child, events, (*loc, len(items)), located, depth + 1))
    if isinstance(event, ev.MappingStartEvent):
        return _read_mapping(events, loc, located, depth)
    return None


# Quotation marks, dashes and ellipses serve both scripts: a fold next to one goes only when the other
# side is Chinese too, so that English keeps its space after a closing quotation mark.
_CJK = r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u201c\u201d\u2018\u2019\u2014\u2026]"
_CJK_PUNCT = r"[\u3000-\u303f\uff00-\uffef]"
_FOLDED_BREAK_BETWEEN_CJK = re.compile(rf"(?<={_CJK})\a? (?={_CJK})|(?<={_CJK_PUNCT})\a? |\a? (?={_CJK_PUNCT})")


def _scalar_text(event: Any) -> str:
    """Return a scalar's text, with line breaks folded between Chinese characters dropped.

    YAML folds a line break into a space, but Chinese has no spaces between words:
    a break between two CJK characters, or next to CJK punctuation, folds to nothing (as CSS does for segment
    breaks). ruamel marks the folds of ``>`` scalars with U+0007; a multi-line plain
    scalar's folds are not marked, so there a space between CJK characters goes.
    """
    value = event.value
    if event.style == ">":
        return _FOLDED_BREAK_BETWEEN_CJK.sub(lambda m: "" if "\a" in m.group() else " ", value).replace("\a", "")
    if event.style is None and event.start_mark.line != event.end_mark.line:
        return _FOLDED_BREAK_BETWEEN_CJK.sub("", value)
    return value


def _read_mapping(events: Iterator[Any], loc: Loc, located: _Located, depth: int) -> dict[str, Any]:
    """Return a mapping's entries, flagging duplicate and non-scalar keys."""
    from ruamel.yaml import events as ev

    mapping: dict[str, Any] = {}
    for key_event in events:
        if isinstance(key_event, ev.MappingEndEvent):
            return mapping
        if not isinstance(key_event, ev.ScalarEvent):
            located.values[(*loc, "?")] = (key_event.start_mark.line + 1, key_event.start_mark.column + 1)
            located.problem((*loc, "?"), "mapping keys must be plain text")
            _read_node(key_event, events, (*loc, "?"), located, depth + 1)
            _read_node(next(events), events, (*loc, "?"), located, depth + 1)
            continue
        key = key_event.value
        child = (*loc, key)
        position = (key_event.start_mark.line + 1, key_event.start_mark.column + 1)
        if key in mapping:
            first = located.keys[child]
            located.problems.append(Problem(located.file, *position, format_path(child),
                                            f"duplicate key (first at line {first[0]})"))
        else:
            located.keys[child] = position
        mapping[key] = _read_node(next(events), events, child, located, depth + 1)
    return mapping


class _TooLarge(Exception):
    """The document nests deeper than MAX_DEPTH or holds more than MAX_NODES values; reading stops there."""


# --- text rules -------------------------------------------------------------------


def _bad_character(text: str) -> str | None:
    """Return a description of the first character no XML document may hold, if any."""
    for i, ch in enumerate(text):
        code = ord(ch)
        if ch in "\t\n\r":
            continue
        if (code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF
                or code & 0xFFFE == 0xFFFE):
            name = unicodedata.name(ch, "control character" if code < 0xD800 else "non-character")
            return f"U+{code:04X} ({name}) at character {i + 1}"
    return None


def _check_text(value: Any, loc: Loc, located: _Located) -> None:
    """Flag text that the PDF, the deck or the maps could not hold."""
    if isinstance(value, str):
        bad = _bad_character(value)
        if bad:
            located.problem(loc, f"contains {bad}, which documents cannot hold; remove it")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(item, (*loc, key), located)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, (*loc, i), located)


# --- validation -------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """Return ``tp`` without ``Annotated`` and ``| None``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, getattr(__import__("types"), "UnionType")):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Return the field names of the model found at ``loc`` inside ``model``, or []."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int) and typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif isinstance(part, str) and isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        else:
            return []
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


RENAMED_FIELDS = {"name_en": "alt_name", "cjk": "hans", "cjk_fallbacks": "fallbacks"}
"""Fields of earlier versions of the format, and what they are called now."""
RENAMED_VALUES = {"oil": "crude_oil", "disrupted_2022": "disrupted (with since: 2022)",
                  "field": "oil_field or gas_field", "terminal": "oil_terminal or lng_terminal"}
"""Values of earlier versions of the format, and what to write now."""


def _message(error: dict, model: type[BaseModel]) -> str:
    """Return a pydantic error as a short message with a hint where one helps."""
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return "field required"
    if kind == "literal_error" and isinstance(error.get("input"), str) and error["input"] in RENAMED_VALUES:
        return f"{error['msg'][:1].lower()}{error['msg'][1:]}; {error['input']!r} is now {RENAMED_VALUES[error['input']]}"
    if kind == "extra_forbidden":
        known = fields_at(model, loc[:-1])
        if loc[-1] in RENAMED_FIELDS and RENAMED_FIELDS[loc[-1]] in known:
            return f"unknown field; it is now called {RENAMED_FIELDS[loc[-1]]!r}"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(known)}"
        return f"unknown field{hint}"
    if kind == "string_pattern_mismatch":
        from .model import PATTERN_HINTS

        return PATTERN_HINTS.get(error["ctx"]["pattern"], error["msg"])
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def validate(data: Any, model: type[M], located: _Located) -> M:
    """Return ``data`` validated as ``model``, or raise InputError listing every problem."""
    _check_text(data, (), located)
    if data is None:
        located.problem((), f"the {model.__name__.lower()} file holds only comments")
        raise InputError(located.problems)
    if not isinstance(data, dict):
        located.problem((), f"the file must hold a mapping of fields ({', '.join(model.model_fields)})")
        raise InputError(located.problems)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
            located.problem(loc, _message(error, model), key=error["type"] == "extra_forbidden")
        result = None
    if located.problems:
        raise InputError(sorted(located.problems, key=lambda p: (p.line, p.column)))
    return result


def load_model(path: Path, model: type[M], what: str) -> tuple[M, _Located]:
    """Return the file at ``path`` validated as ``model``, with the value positions."""
    text = read_text(path, what)
    data, located = parse_yaml(text, display_path(path))
    return validate(data, model, located), located


def load_source(path: Path) -> "Brief":
    """Return the brief at ``path``, validated and cross-checked."""
    return load_source_located(path)[0]


def load_source_located(path: Path) -> tuple["Brief", _Located]:
    """Return the brief at ``path`` and the positions of its values, for errors found while building."""
    from .model import Brief, cross_reference_problems

    brief, located = load_model(Path(path), Brief, "source")
    for loc, message in cross_reference_problems(brief):
        located.problem(loc, message)
    if located.problems:
        raise InputError(sorted(located.problems, key=lambda p: (p.line, p.column)))
    return brief, located


if typing.TYPE_CHECKING:
    from .model import Brief
