"""Builders in a forked child: results, errors and cancellation come back to the parent."""

from __future__ import annotations

import os
import time

import pytest

from kzreport.errors import InputError
from kzreport.parallel import Child, can_fork

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_result_comes_back():
    assert Child(lambda: {"pid": os.getpid(), "data": b"x" * 200_000}).join()["data"] == b"x" * 200_000


def test_child_runs_in_another_process():
    assert Child(os.getpid).join() != os.getpid()


@pytest.mark.parametrize("error", [InputError("a.yaml:3:1: thesis: bad"), RuntimeError("disk on fire")])
def test_exception_is_raised_in_the_parent(error):
    def fail():
        raise error
    with pytest.raises(type(error), match=str(error).split(":")[-1].strip()):
        Child(fail).join()


def test_cancel_stops_and_reaps_a_running_child():
    child = Child(lambda: time.sleep(60))
    pid = child.pid
    start = time.monotonic()
    child.cancel()
    assert time.monotonic() - start < 5
    with pytest.raises(ProcessLookupError):  # killed and reaped: no such process any more
        os.kill(pid, 0)


def test_jobs_1_turns_forking_off(monkeypatch):
    monkeypatch.setenv("KZREPORT_JOBS", "1")
    assert not can_fork()


def test_parallel_and_sequential_builds_give_the_same_bytes(cli, minimal_source, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1669766400")
    assert cli("build", minimal_source, "--format", "pdf,pptx", "--out", tmp_path / "par", "-q")[0] == 0
    monkeypatch.setenv("KZREPORT_JOBS", "1")
    assert cli("build", minimal_source, "--format", "pdf,pptx", "--out", tmp_path / "seq", "-q")[0] == 0
    for name in ("minimal.pdf", "minimal.pptx"):
        assert (tmp_path / "par" / name).read_bytes() == (tmp_path / "seq" / name).read_bytes()
