"""Shared fixtures: sample sources, the command line in-process, and a guard against stray log output."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from kzreport.cli import main

# The same examples on every run, so CI cannot fail by chance; explore with --hypothesis-seed=N.
settings.register_profile("kzreport", derandomize=True, database=None)
settings.load_profile("kzreport")

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_76ad565146bc8bd5.txt"


@pytest.fixture
def minimal_source(tmp_path: Path) -> Path:
    """Return a copy of the minimal sample source in a temporary folder."""
    return Path(shutil.copy(FIXTURES / "minimal.yaml", tmp_path / "minimal.yaml"))


@pytest.fixture
def broken(tmp_path: Path):
    """Return a function writing the minimal source with one text replacement made."""

    def make(old: str, new: str, name: str = "broken.yaml") -> Path:
        text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
        assert old in text, f"fixture has no {old!r}"
        path = tmp_path / name
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path

    return make


@pytest.fixture
def cli(capsys):
    """Run ``kzreport`` in-process; return (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(autouse=True)
def no_unexpected_logs(caplog, request):
    """Fail a test on any warning logged by kzreport or the libraries it drives (as WeasyPrint's tests do)."""
    caplog.set_level(logging.WARNING)
    yield
    if request.node.get_closest_marker("allow_logs"):
        return
    stray = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING]
    assert not stray, "unexpected log output: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in stray)


@pytest.fixture(autouse=True, scope="session")
def map_cache(tmp_path_factory):
    """Keep the map cache of the whole test session in a temporary folder, never the user's ~/.cache."""
    import os

    folder = tmp_path_factory.mktemp("kzreport-cache")
    previous = os.environ.get("KZREPORT_CACHE_DIR")
    os.environ["KZREPORT_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("KZREPORT_CACHE_DIR", None)
    else:
        os.environ["KZREPORT_CACHE_DIR"] = previous


class NetworkAttempt(AssertionError):
    """Raised when code under test tries to open a network connection."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Make any IP connection from the test process fail loudly: kzreport never reaches the network."""
    import socket

    real_connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkAttempt(f"network connection attempted to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *a, **k: (_ for _ in ()).throw(NetworkAttempt(f"network connection attempted to {address!r}")))


def outcome_within(call, seconds: float) -> BaseException | None:
    """Run ``call`` in a thread; fail the test if it is still running after ``seconds``; return what it raised."""
    import threading

    outcome: list[BaseException] = []

    def run():
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{getattr(call, '__name__', 'the call')} hangs"
    return outcome[0] if outcome else None


@pytest.fixture
def failing_replace(monkeypatch):
    """Return a function that makes ``os.replace`` fail with EIO for targets whose name ends with a suffix."""
    from kzreport import fsutil

    real_replace = os.replace

    def fail_for(suffix: str) -> None:
        def replace(src, dst):
            if str(dst).endswith(suffix):
                raise OSError(5, "Input/output error", str(dst))
            real_replace(src, dst)

        monkeypatch.setattr(fsutil.os, "replace", replace)

    return fail_for
