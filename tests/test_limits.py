"""Time and memory limits on in-process work."""

from __future__ import annotations

import time

import pytest

from kzreport.errors import InputError
from kzreport.limits import limit_memory_bytes, limit_seconds, resident_bytes, work_limits


def test_a_stage_over_its_limit_stops_with_a_clear_error():
    start = time.monotonic()
    with pytest.raises(InputError, match="layout took longer than 0.2 s"):
        with work_limits("layout", 0.2):
            while True:
                pass
    assert time.monotonic() - start < 5


def test_a_stage_within_its_limit_runs_and_the_alarm_is_cleared():
    with work_limits("quick", 0.5):
        value = sum(range(1000))
    time.sleep(0.7)  # an alarm left armed would raise here
    assert value == 499500


@pytest.mark.parametrize("value", ["abc", "0", "-1"])
def test_bad_limit_setting_is_an_input_error(monkeypatch, value):
    monkeypatch.setenv("KZREPORT_TIME_LIMIT", value)
    with pytest.raises(InputError, match="KZREPORT_TIME_LIMIT"):
        limit_seconds()


def test_a_stage_that_grows_past_its_memory_budget_stops_with_a_clear_error():
    budget = resident_bytes() + (150 << 20)
    hoard = []
    with pytest.raises(InputError, match=r"needed more than \d+ MiB of memory.*KZREPORT_MEMORY_LIMIT"):
        with work_limits("layout", 60, budget):
            while True:  # grows 1 MiB at a time, as a runaway layout or template would
                hoard.append(bytearray(1 << 20))
                hoard[-1][::4096] = b"x" * 256  # touch the pages so that they are resident
    grown = len(hoard)
    hoard.clear()
    assert 100 <= grown <= 1000, grown


def test_a_memory_signal_lost_in_a_finalizer_comes_again():
    # The exception a signal raises is dropped when it lands in a finalizer or a callback; the watcher
    # keeps signalling while the process stays past its budget, so the block still stops.
    budget = resident_bytes() + (100 << 20)
    hoard, lost = [], []
    with pytest.raises(InputError, match="needed more than"):
        with work_limits("layout", 60, budget):
            while len(hoard) < 300:  # a watcher that signals once would let this run to 3 GiB (and fail below)
                try:
                    hoard.append(bytearray(10 << 20))
                    hoard[-1][::4096] = b"x" * ((10 << 20) // 4096)
                    time.sleep(0.005)
                except BaseException as error:  # as a finalizer would: the first one is lost
                    if lost:
                        raise
                    lost.append(type(error).__name__)
    hoard.clear()
    assert lost == ["_OverMemory"]


def test_a_time_limit_whose_alarm_was_lost_rings_again():
    start, lost = time.monotonic(), []
    with pytest.raises(InputError, match="took longer than 0.2 s"):
        with work_limits("layout", 0.2):
            while time.monotonic() - start < 10:
                try:
                    time.sleep(0.01)
                except BaseException as error:
                    if lost:
                        raise
                    lost.append(type(error).__name__)
    assert lost == ["_Expired"] and time.monotonic() - start < 5


def test_limits_nest_without_losing_the_outer_timer():
    start = time.monotonic()
    with pytest.raises(InputError, match="outer took longer than 0.3 s"):
        with work_limits("outer", 0.3):
            with work_limits("inner", 100):
                pass
            while True:
                pass
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("value", ["abc", "12.5", "10", "-1"])
def test_bad_memory_setting_is_an_input_error(monkeypatch, value):
    monkeypatch.setenv("KZREPORT_MEMORY_LIMIT", value)
    with pytest.raises(InputError, match="KZREPORT_MEMORY_LIMIT"):
        limit_memory_bytes()


def test_memory_setting_is_read_in_mib(monkeypatch):
    monkeypatch.setenv("KZREPORT_MEMORY_LIMIT", "512")
    assert limit_memory_bytes() == 512 << 20
