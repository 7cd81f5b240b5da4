"""Wall-clock limits: a pathological layout or a stuck browser cannot hang a build."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from .errors import InputError

DEFAULT_SECONDS = 300.0


class _Expired(BaseException):
    """Raised by the alarm; a BaseException so that library code catching Exception lets it through."""


def limit_seconds() -> float:
    """Return the time limit per rendering stage: ``KZREPORT_TIME_LIMIT`` seconds, default 300."""
    value = os.environ.get("KZREPORT_TIME_LIMIT", "").strip()
    try:
        seconds = float(value) if value else DEFAULT_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise InputError(f"KZREPORT_TIME_LIMIT={value!r}: must be a number of seconds above 0")
    return seconds


@contextmanager
def time_limit(what: str, seconds: float | None = None) -> Iterator[None]:
    """Stop the block with InputError when it runs longer than ``seconds`` (only in the main thread)."""
    seconds = seconds or limit_seconds()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise InputError(f"{what} took longer than {seconds:g} s and was stopped; simplify the templates "
                         "or the source, or raise KZREPORT_TIME_LIMIT") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
