"""The template environment: search order, escaping, sandbox, located errors."""

from __future__ import annotations

import pytest

from kzreport.errors import InputError
from kzreport.templating import chinese_date, css_string, render_template, template_environment


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


@pytest.mark.parametrize("value,expected", [("2022", "2022年"), ("2022-09", "2022年9月"), ("2022-01-05", "2022年1月5日")])
def test_chinese_date(value, expected):
    assert chinese_date(value) == expected


def test_include_cannot_climb_out_of_the_search_path(tmp_path):
    (tmp_path / "t.html.j2").write_text("{% include '../../etc/passwd' %}", encoding="utf-8")
    with pytest.raises(InputError, match="not found"):
        render_template(template_environment(tmp_path), "t.html.j2", {})
