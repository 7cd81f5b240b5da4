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


def test_pool_returns_results_in_submission_order_with_at_most_size_at_once(tmp_path):
    from kzreport.parallel import Pool

    def work(index: int):
        marker = tmp_path / f"running-{index}"
        marker.touch()
        time.sleep(0.3 if index % 2 else 0.05)  # later work finishes first, sometimes
        at_once = len(list(tmp_path.glob("running-*")))
        marker.unlink()
        return index, at_once

    with Pool(2) as pool:
        for index in range(6):
            pool.submit(f"k{index}", lambda index=index: work(index))
        results = list(pool.results())
    assert [key for key, _ in results] == [f"k{i}" for i in range(6)]
    assert [value[0] for _, value in results] == list(range(6))
    assert max(value[1] for _, value in results) <= 2


def test_pool_raises_a_workers_error_and_stops_the_others():
    from kzreport.parallel import Pool

    def fail():
        raise InputError("b.yaml:1:1: thesis: bad")

    start = time.monotonic()
    with pytest.raises(InputError, match="thesis: bad"):
        with Pool(2) as pool:
            pool.submit("a", lambda: time.sleep(60))
            pool.submit("b", fail)
            for _ in pool.results():
                pass
    assert time.monotonic() - start < 20
