"""Errors a user can act on, and the exit status each one gives."""

from __future__ import annotations

import re
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


# What a terminal would act on instead of showing: C0 controls but tab and newline (ESC starts
# the sequences that retitle or clear a terminal, CR overwrites a line), DEL, C1 controls,
# bidirectional overrides and isolates (they reorder what is shown), and lone surrogates
# (which cannot be written at all).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_OR_NEWLINE = re.compile(f"{_UNSAFE.pattern}|[\n\t]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """Return ``text`` with every character a terminal would act on written as a visible escape (``\\x1b``).

    Newlines and tabs are kept unless ``one_line``; everything kzreport prints passes here.
    """
    return (_UNSAFE_OR_NEWLINE if one_line else _UNSAFE).sub(_escape, str(text))


def format_path(loc: tuple[str | int, ...]) -> str:
    """Return ``sections[2].claims[0].evidence`` for ``("sections", 2, "claims", 0, "evidence")``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located in its file."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # field path; empty for the file as a whole
    message: str

    def __str__(self) -> str:
        """Return ``file:line:column: field.path: message``, safe to print on a terminal.

        File name and field path come from the user's files, so they are escaped to one line.
        """
        message = terminal_safe(self.message)
        if not self.file:
            return message
        file, path = terminal_safe(self.file, one_line=True), terminal_safe(self.path, one_line=True)
        where = f"{file}:{self.line}:{self.column}" if self.line else file
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"


class KzreportError(Exception):
    """Base of the errors the command line reports without a traceback."""

    exit_status = EXIT_FAILURE


class InputError(KzreportError):
    """Bad input (source, theme, template, option): exit status 2, nothing written."""

    exit_status = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("", 0, 0, "", problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class BuildError(KzreportError):
    """A build step failed for a reason other than the input: exit status 1."""
