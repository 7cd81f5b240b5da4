"""Run one builder in a forked child while the parent runs another: the deck and the PDF share two cores.

The child inherits everything already loaded (the source, the theme, the map
images), runs its function and sends back the result, or the exception it
raised, through a pipe. Forking is used only where it is safe: on a POSIX system,
from a process with a single thread, and unless ``KZREPORT_JOBS=1``.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from typing import Any, Callable

from .errors import BuildError


def can_fork() -> bool:
    """Return whether work may be moved to a forked child now."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and os.environ.get("KZREPORT_JOBS", "").strip() != "1")


class Child:
    """A function running in a forked child; ``join`` returns its result or raises its exception."""

    def __init__(self, work: Callable[[], Any]):
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read_end)
            _run_and_report(work, write_end)
        os.close(write_end)
        self.read_end = read_end

    def join(self) -> Any:
        """Wait for the child; return what its function returned, or raise what it raised."""
        with os.fdopen(self.read_end, "rb") as pipe:
            self.read_end = None
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if not data:
            raise BuildError(f"a build process ended without a result (status {os.waitstatus_to_exitcode(status)})")
        ok, value = pickle.loads(data)
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        """Stop the child and reap it, unless ``join`` already has."""
        if self.read_end is not None:
            os.close(self.read_end)
            self.read_end = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None


def _run_and_report(work: Callable[[], Any], write_end: int) -> None:
    """Run ``work`` in the child, send (ok, result-or-exception) to the parent, and exit."""
    try:
        payload = (True, work())
    except BaseException as error:  # sent to the parent, which raises it
        payload = (False, error)
    try:
        data = pickle.dumps(payload)
    except Exception as error:  # an unpicklable result or exception: say what it was
        data = pickle.dumps((False, BuildError(f"{type(payload[1]).__name__}: {payload[1]} ({error})")))
    try:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


class Pool:
    """At most ``size`` forked children at a time; results come back in the order work was submitted.

    Each child writes its result to a pipe only when done, and a full pipe would block it, so the
    pool reads whichever child is ready first (``select``) before starting the next.
    """

    def __init__(self, size: int):
        self.size = max(1, size)
        self.waiting: list[tuple[Any, Callable[[], Any]]] = []
        self.running: dict[int, tuple[int, Any, Child]] = {}  # read end -> (order, key, child)
        self.done: dict[int, tuple[Any, Any]] = {}

    def submit(self, key: Any, work: Callable[[], Any]) -> None:
        """Queue ``work``; its result is reported under ``key``."""
        self.waiting.append((key, work))

    def results(self):
        """Yield (key, result) for every submitted work in order; raise the first failure met."""
        order, total, submitted = 0, len(self.waiting), 0
        queue = list(self.waiting)
        self.waiting = []
        while order < total:
            while queue and len(self.running) < self.size:
                key, work = queue.pop(0)
                child = Child(work)
                self.running[child.read_end] = (submitted, key, child)
                submitted += 1
            self._collect_one()
            while order in self.done:
                yield self.done.pop(order)
                order += 1

    def _collect_one(self) -> None:
        """Wait for one running child to be ready and keep its result."""
        import select

        ready, _, _ = select.select(list(self.running), [], [])
        index, key, child = self.running.pop(ready[0])
        self.done[index] = (key, child.join())

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        for _, _, child in self.running.values():
            child.cancel()
        self.running.clear()
