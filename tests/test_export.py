"""``kzreport templates export``: the defaults to start from, and the same output when built with them."""

from __future__ import annotations

from kzreport.export import builtin_template_files
from kzreport.resources import default_source

EPOCH = "1669766400"


def test_export_writes_every_builtin_and_refuses_to_overwrite(cli, tmp_path):
    target = tmp_path / "mine"
    status, out, err = cli("templates", "export", target)
    assert status == 0, err
    exported = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert exported == set(builtin_template_files())
    assert {"theme.yaml", "pdf/brief.html.j2", "pdf/brief.css", "deck/kzreport.pptx"} <= exported
    (target / "theme.yaml").write_text("edited", encoding="utf-8")
    status, out, err = cli("templates", "export", target)
    assert status == 2 and "--force" in err
    assert (target / "theme.yaml").read_text(encoding="utf-8") == "edited"


def test_exported_templates_and_theme_build_the_same_pdf(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    target = tmp_path / "mine"
    assert cli("templates", "export", target)[0] == 0
    source = default_source()
    assert cli("build", source, "--format", "pdf", "--out", tmp_path / "a", "-q")[0] == 0
    assert cli("build", source, "--format", "pdf", "--out", tmp_path / "b", "-q", "--templates", target,
               "--theme", target / "theme.yaml")[0] == 0
    assert (tmp_path / "a" / "kazakhstan-2022.pdf").read_bytes() == (tmp_path / "b" / "kazakhstan-2022.pdf").read_bytes()
