"""Limits on in-process work: a pathological template, stylesheet or layout can neither hang a
build (wall-clock time) nor take the machine's memory (resident size, watched from a thread)."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from .errors import InputError

DEFAULT_SECONDS = 300.0
DEFAULT_MEMORY_MIB = 4096
WATCH_INTERVAL = 0.05
REPEAT_SECONDS = 0.5
"""Past a limit, the alarm comes again this often until the block has stopped (its exception may be lost)."""
_active: list[str] = []  # the limited blocks this process is in (at most one holds the timer)


class _Expired(BaseException):
    """Raised by the alarm; a BaseException so that library code catching Exception lets it through."""


class _OverMemory(BaseException):
    """Raised in the main thread when the watcher saw the process grow past its budget."""


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


def limit_memory_bytes() -> int:
    """Return the memory budget of a build process: ``KZREPORT_MEMORY_LIMIT`` MiB, default 4096."""
    value = os.environ.get("KZREPORT_MEMORY_LIMIT", "").strip()
    try:
        mib = int(value) if value else DEFAULT_MEMORY_MIB
    except ValueError:
        mib = -1
    if not 64 <= mib <= 1 << 30:
        raise InputError(f"KZREPORT_MEMORY_LIMIT={value!r}: must be a whole number of MiB, at least 64")
    return mib << 20


def resident_bytes() -> int | None:
    """Return this process's resident set size, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _watch_memory(budget: int, stop: threading.Event, tripped: threading.Event) -> None:
    """Poll the resident size until ``stop``; past ``budget``, flag it and wake the main thread with SIGALRM,
    again at every poll while it stays past: the exception a signal raises is lost when it lands in a
    finalizer or a callback (Python prints it and goes on), and a single signal would leave the work running."""
    last = 0.0
    while not stop.wait(WATCH_INTERVAL):
        size = resident_bytes()
        if size is not None and size > budget and time.monotonic() - last >= REPEAT_SECONDS:
            tripped.set()
            last = time.monotonic()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)


@contextmanager
def work_limits(what: str, seconds: float | None = None, memory: int | None = None) -> Iterator[None]:
    """Stop the block with InputError when it runs longer than ``seconds`` or the process grows past
    ``memory`` bytes (defaults: KZREPORT_TIME_LIMIT, KZREPORT_MEMORY_LIMIT). Only in the main thread.

    A thread watches the resident size instead of an address-space rlimit, which the browser and
    other children would inherit and which makes C libraries abort rather than fail cleanly.
    """
    seconds = seconds or limit_seconds()
    memory = memory or limit_memory_bytes()
    if (_active or threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "setitimer")):
        yield  # the enclosing limits already hold (one timer per process), or no signals here
        return
    stop, tripped = threading.Event(), threading.Event()

    def expire(signum, frame):
        if not stop.is_set():  # a late signal while leaving the block is not the block's fault
            raise _OverMemory if tripped.is_set() else _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    watcher = threading.Thread(target=_watch_memory, args=(memory, stop, tripped), daemon=True)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)  # repeated, in case one alarm's exception is lost
    watcher.start()
    _active.append(what)
    try:
        yield
    except (_Expired, _OverMemory, MemoryError) as error:
        stop.set()  # first of all: a repeated signal finds the block already leaving
        if isinstance(error, _Expired):
            raise InputError(f"{what} took longer than {seconds:g} s and was stopped; simplify the templates "
                             "or the source, or raise KZREPORT_TIME_LIMIT") from None
        raise InputError(f"{what} needed more than {memory >> 20} MiB of memory and was stopped; simplify the "
                         "templates or the source, or raise KZREPORT_MEMORY_LIMIT (MiB)") from None
    finally:
        stop.set()
        _active.pop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        watcher.join()
        signal.signal(signal.SIGALRM, previous)
