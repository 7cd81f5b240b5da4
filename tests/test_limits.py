"""Time limits on rendering stages."""

from __future__ import annotations

import time

import pytest

from kzreport.errors import InputError
from kzreport.limits import limit_seconds, time_limit


def test_a_stage_over_its_limit_stops_with_a_clear_error():
    start = time.monotonic()
    with pytest.raises(InputError, match="layout took longer than 0.2 s"):
        with time_limit("layout", 0.2):
            while True:
                pass
    assert time.monotonic() - start < 5


def test_a_stage_within_its_limit_runs_and_the_alarm_is_cleared():
    with time_limit("quick", 0.5):
        value = sum(range(1000))
    time.sleep(0.7)  # an alarm left armed would raise here
    assert value == 499500


@pytest.mark.parametrize("value", ["abc", "0", "-1"])
def test_bad_limit_setting_is_an_input_error(monkeypatch, value):
    monkeypatch.setenv("KZREPORT_TIME_LIMIT", value)
    with pytest.raises(InputError, match="KZREPORT_TIME_LIMIT"):
        limit_seconds()
