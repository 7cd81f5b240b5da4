"""The template environment: search order, escaping, sandbox, located errors."""

from __future__ import annotations

import pytest

from kzreport.errors import InputError
from kzreport.templating import css_string, render_template, template_environment


def test_user_file_wins_and_kzreport_prefix_reaches_the_builtin(tmp_path):
    (tmp_path / "pdf").mkdir()
    (tmp_path / "pdf" / "theme.css.j2").write_text("user", encoding="utf-8")
    env = template_environment(tmp_path)
    assert env.loader.get_source(env, "pdf/theme.css.j2")[0] == "user"
    assert "--primary" in env.loader.get_source(env, "kzreport/pdf/theme.css.j2")[0]


def test_values_are_escaped(tmp_path):
    (tmp_path / "t.html.j2").write_text("<p>{{ text }}</p>", encoding="utf-8")
    html = render_template(template_environment(tmp_path), "t.html.j2", {"text": "<script>x</script>{{ 7*7 }}"})
    assert html == "<p>&lt;script&gt;x&lt;/script&gt;{{ 7*7 }}</p>"


def test_sandbox_refuses_attribute_escapes(tmp_path):
    (tmp_path / "t.html.j2").write_text("{{ x.__class__.__mro__ }}", encoding="utf-8")
    with pytest.raises(InputError, match="not allowed|template error"):
        render_template(template_environment(tmp_path), "t.html.j2", {"x": ""})


def test_syntax_error_names_file_and_line(tmp_path):
    (tmp_path / "t.html.j2").write_text("ok\n{% if %}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.html\.j2:2: template syntax error"):
        render_template(template_environment(tmp_path), "t.html.j2", {})


def test_missing_template_lists_the_search_path(tmp_path):
    with pytest.raises(InputError, match=str(tmp_path)):
        render_template(template_environment(tmp_path), "nope.html.j2", {})


@pytest.mark.parametrize("value", ['Evil"; } body { color: red', "a\\b", "</style><script>"])
def test_css_string_cannot_be_ended(value):
    quoted = str(css_string(value))
    assert quoted[0] == quoted[-1] == '"'
    assert not set(quoted[1:-1]) & set('"\';{}<>')


def test_include_cannot_climb_out_of_the_search_path(tmp_path):
    (tmp_path / "t.html.j2").write_text("{% include '../../etc/passwd' %}", encoding="utf-8")
    with pytest.raises(InputError, match="not found"):
        render_template(template_environment(tmp_path), "t.html.j2", {})


def test_a_symlinked_file_cannot_include_a_file_from_outside(tmp_path):
    templates, secret = tmp_path / "templates", tmp_path / "secret.txt"
    (templates / "pdf").mkdir(parents=True)
    secret.write_text("root:x:0:0:secret", encoding="utf-8")
    (templates / "pdf" / "leak.txt").symlink_to(secret)
    (templates / "t.html.j2").write_text("{% include 'pdf/leak.txt' %}", encoding="utf-8")
    with pytest.raises(InputError, match="must be inside") as caught:
        render_template(template_environment(templates), "t.html.j2", {})
    assert "leak.txt" in str(caught.value) and "root:x" not in str(caught.value)


def test_a_folder_symlinked_to_etc_cannot_be_included_through(tmp_path):
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "t.html.j2").write_text("{% include 'etc/passwd' %}", encoding="utf-8")
    with pytest.raises(InputError, match="must be inside"):
        render_template(template_environment(tmp_path), "t.html.j2", {})


def test_a_fifo_template_is_refused_without_blocking(tmp_path):
    import os

    from tests.conftest import outcome_within

    os.mkfifo(tmp_path / "pipe.html.j2")
    (tmp_path / "t.html.j2").write_text("{% include 'pipe.html.j2' %}", encoding="utf-8")
    error = outcome_within(lambda: render_template(template_environment(tmp_path), "t.html.j2", {}), 5)
    assert isinstance(error, InputError) and "FIFO" in str(error)


def test_an_oversized_template_is_refused(tmp_path):
    from kzreport.templating import MAX_TEMPLATE_BYTES

    (tmp_path / "big.html.j2").write_text("x" * (MAX_TEMPLATE_BYTES + 1), encoding="utf-8")
    with pytest.raises(InputError, match="larger than"):
        render_template(template_environment(tmp_path), "big.html.j2", {})


def test_symlinks_inside_the_folder_still_work(tmp_path):
    (tmp_path / "real.html.j2").write_text("<p>{{ x }}</p>", encoding="utf-8")
    (tmp_path / "alias.html.j2").symlink_to(tmp_path / "real.html.j2")
    assert render_template(template_environment(tmp_path), "alias.html.j2", {"x": 1}) == "<p>1</p>"


@pytest.mark.parametrize("source, message", [
    ("{{ 'x' * 10**8 }}", r"t\.html\.j2:1: template not allowed: a template may not build more than"),
    ("{{ [1] * 20000000 }}", r"template not allowed: a template may not build more than"),
    ("{{ 2 ** 100000 }}", r"template not allowed: a template may not raise to a power above 64"),
    ("{% for i in range(10**9) %}x{% endfor %}", r"t\.html\.j2:1: template error: Range too big"),
    ("{% include 't.html.j2' %}", r"template error: a template includes or extends itself"),
])
def test_runaway_templates_are_located_errors(tmp_path, source, message):
    (tmp_path / "t.html.j2").write_text(source, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        render_template(template_environment(tmp_path), "t.html.j2", {})


def test_ordinary_products_and_powers_still_work(tmp_path):
    (tmp_path / "t.html.j2").write_text("{{ '-' * 3 }}{{ 2 ** 10 }}{{ 6 * 7 }}", encoding="utf-8")
    assert render_template(template_environment(tmp_path), "t.html.j2", {}) == "---102442"


def test_a_template_that_loops_too_long_is_stopped_by_the_time_limit(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("KZREPORT_TIME_LIMIT", "1")
    (tmp_path / "t.html.j2").write_text("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                                        encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(InputError, match="template t.html.j2 took longer than 1 s"):
        render_template(template_environment(tmp_path), "t.html.j2", {})
    assert time.monotonic() - start < 10


def test_a_template_whose_output_grows_without_end_is_stopped_by_the_memory_budget(tmp_path, monkeypatch):
    from kzreport.limits import resident_bytes

    monkeypatch.setenv("KZREPORT_MEMORY_LIMIT", str((resident_bytes() >> 20) + 200))
    monkeypatch.setenv("KZREPORT_TIME_LIMIT", "120")
    (tmp_path / "t.html.j2").write_text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ 'x' * 10000 }}{% endfor %}{% endfor %}",
        encoding="utf-8")
    with pytest.raises(InputError, match="template t.html.j2 needed more than .* MiB of memory"):
        render_template(template_environment(tmp_path), "t.html.j2", {})
