"""The command line contract: commands, exit statuses, messages, and atomic outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kzreport.builders.markdown import MarkdownBuilder


def test_help_imports_no_heavy_library():
    code = ("import sys\nfrom kzreport.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('weasyprint', 'pptx', 'folium', 'playwright', 'pydantic', 'ruamel', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: kzreport" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_python_m_kzreport_runs():
    result = subprocess.run([sys.executable, "-m", "kzreport", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("kzreport ")


def test_validate_ok(cli, minimal_source):
    status, out, err = cli("validate", minimal_source)
    assert (status, err) == (0, "")
    assert "ok (1 sections, 1 claims)" in out


def test_validate_bad_source_exit_2_located(cli, broken):
    path = broken("  author: kzreport 测试", "  autor: kzreport 测试")
    status, out, err = cli("validate", path)
    assert status == 2 and out == ""
    assert f"{path}:8:3: meta.autor: unknown field; did you mean 'author'?" in err.splitlines()
    assert "Traceback" not in err


@pytest.mark.parametrize("args,message", [
    (["build", "--format", "docx"], "unknown format docx"),
    (["build", "--theme", "/nonexistent/theme.yaml"], "--theme /nonexistent/theme.yaml: no such file"),
    (["build", "--templates", "/nonexistent"], "--templates /nonexistent: not a folder"),
    (["frobnicate"], "invalid choice"),
    (["build", "--page-size", "A3"], "invalid choice"),
])
def test_bad_options_exit_2(cli, args, message):
    status, out, err = cli(*args)
    assert status == 2
    assert message in err and "Traceback" not in err


def test_schema_is_json_schema(cli):
    status, out, _ = cli("schema")
    schema = json.loads(out)
    assert status == 0 and schema["title"] == "kzreport brief"
    assert {"meta", "thesis", "judgments", "sections", "sources"} <= set(schema["required"])


def test_shipped_schema_is_current(cli):
    from kzreport.resources import assets_dir

    _, out, _ = cli("schema")
    assert (assets_dir() / "schema" / "brief.schema.json").read_text(encoding="utf-8") == out, \
        "assets/schema/brief.schema.json is stale: run 'kzreport schema > assets/schema/brief.schema.json'"


def test_build_writes_named_outputs(cli, minimal_source, tmp_path):
    out = tmp_path / "out"
    status, _, err = cli("build", minimal_source, "--out", out, "--format", "md", "--quiet")
    assert (status, err) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == ["minimal.md"]


def test_timings_table(cli, minimal_source, tmp_path):
    status, out, _ = cli("build", minimal_source, "--out", tmp_path, "--format", "md", "--quiet", "--timings")
    assert status == 0
    assert out.splitlines()[1].startswith("load minimal.yaml")
    assert out.splitlines()[-1].startswith("total")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bad_input_leaves_earlier_outputs_untouched(cli, minimal_source, tmp_path):
    out = tmp_path / "out"
    assert cli("build", minimal_source, "--out", out, "--format", "md", "-q")[0] == 0
    before = _snapshot(out)
    minimal_source.write_text(minimal_source.read_text(encoding="utf-8").replace("thesis:", "thesys:"), encoding="utf-8")
    status, _, err = cli("build", minimal_source, "--out", out, "--format", "md", "-q")
    assert status == 2 and "thesys: unknown field" in err
    assert _snapshot(out) == before


def test_failed_builder_leaves_earlier_outputs_untouched(cli, minimal_source, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert cli("build", minimal_source, "--out", out, "--format", "md", "-q")[0] == 0
    before = _snapshot(out)
    minimal_source.write_text(minimal_source.read_text(encoding="utf-8").replace("判断一", "判断一（改）"), encoding="utf-8")

    def fail_after_adding(self, project, reporter):
        project.add_output(project.output_path("minimal.md"), b"half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(MarkdownBuilder, "build", fail_after_adding)
    status, _, err = cli("build", minimal_source, "--out", out, "--format", "md", "-q")
    assert status == 1 and "disk on fire" in err and "Traceback" not in err
    assert _snapshot(out) == before


def test_unwritable_output_is_a_clear_error(cli, minimal_source, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, err = cli("build", minimal_source, "--out", blocker / "out", "--format", "md", "-q")
    assert status == 2 and "cannot write" in err and "Traceback" not in err


def test_network_guard_is_armed():
    import socket

    from .conftest import NetworkAttempt

    with pytest.raises(NetworkAttempt):
        socket.create_connection(("169.254.169.254", 80), timeout=1)
    with socket.socket() as s, pytest.raises(NetworkAttempt):
        s.connect(("127.0.0.1", 9))


def test_a_folder_in_the_place_of_the_deck_leaves_every_earlier_output(cli, minimal_source, tmp_path):
    """Issue 12: the Markdown was replaced before the deck failed, and the message named a temporary file."""
    out = tmp_path / "out"
    assert cli("build", minimal_source, "--out", out, "--format", "md", "-q")[0] == 0
    minimal_source.write_text(minimal_source.read_text(encoding="utf-8").replace("判断一", "判断一（改）"), encoding="utf-8")
    (out / "minimal.pptx").mkdir()
    before = (out / "minimal.md").read_bytes()
    status, _, err = cli("build", minimal_source, "--out", out, "--format", "md,pptx", "-q")
    assert status == 2 and str(out / "minimal.pptx") in err and ".kztmp-" not in err, err
    assert (out / "minimal.md").read_bytes() == before
    assert not [p for p in out.rglob("*") if ".kztmp-" in p.name]


@pytest.mark.browser
def test_a_symlinked_maps_folder_gets_no_file(cli, tmp_path):
    """Issue 12: with OUT/maps a symlink to another folder the maps were written there."""
    source = Path(__file__).parent / "fixtures" / "maps.yaml"
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "maps").symlink_to(elsewhere)
    status, _, err = cli("build", source, "--out", out, "--format", "maps,md", "-q")
    assert status == 2 and "outside the output folder" in err, err
    assert list(elsewhere.iterdir()) == [] and list(out.iterdir()) == [out / "maps"]
