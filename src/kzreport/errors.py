"""Errors a user can act on, and the exit status each one gives."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


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
        if not self.file:
            return self.message
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


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
