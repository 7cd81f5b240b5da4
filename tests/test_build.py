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


def test_a_batch_on_two_workers_writes_the_same_bytes_as_one_after_another(tmp_path, cli, monkeypatch):
    import shutil
    from pathlib import Path

    from tests.conftest import FIXTURES

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    sources = [Path(shutil.copy(FIXTURES / name, tmp_path / name))
               for name in ("minimal.yaml", "no-maps.en.yaml", "interface-zh-hant.yaml")]
    written = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        status, _, err = cli("build", *sources, "--format", "pdf,pptx,md", "--out", out, "--jobs", jobs, "-q")
        assert status == 0, err
        written[jobs] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert len(written["1"]) == 9
    assert written["1"] == written["2"]


def test_jobs_must_be_a_small_whole_number(cli, tmp_path):
    for value in ("0", "-1", "two", "65"):
        status, _, err = cli("build", "--jobs", value, "--out", tmp_path / "out")
        assert status == 2 and "--jobs" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
