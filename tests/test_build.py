"""The build: stages reported and timed, outputs committed together."""

from __future__ import annotations

import io
import re

from kzreport.build import Reporter


def test_timing_table_nests_steps_and_totals_top_level_stages():
    reporter = Reporter(verbosity=0, stream=io.StringIO())
    with reporter.stage("load"):
        pass
    with reporter.stage("pdf"):
        with reporter.stage("pdf layout"):
            pass
        with reporter.stage("pdf write"):
            pass
    table = reporter.timing_table().splitlines()
    assert [re.sub(r"\s+[\d.]+ s$", "", line) for line in table[1:]] == [
        "load", "pdf", "  pdf layout", "  pdf write", "total"]
    seconds = {name: secs for name, secs, _ in reporter.timings}
    total = float(table[-1].split()[-2])
    assert abs(total - (seconds["load"] + seconds["pdf"])) < 0.002


def test_a_failed_stage_keeps_the_depth_right():
    reporter = Reporter(verbosity=0, stream=io.StringIO())
    try:
        with reporter.stage("outer"):
            raise ValueError("boom")
    except ValueError:
        pass
    with reporter.stage("next"):
        pass
    assert reporter.timings[-1][2] == 0
