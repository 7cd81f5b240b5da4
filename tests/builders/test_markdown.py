"""The Markdown builder: the brief's text, escaped so that nothing in the source acts as markup."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kzreport.builders.markdown import md_escape, render_markdown
from kzreport.i18n import Words
from kzreport.loader import load_source


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@given(st.text(max_size=300))
def test_escape_round_trips_and_leaves_no_live_markup(text):
    escaped = md_escape(text)
    assert unescape(escaped) == " ".join(text.split())
    assert "\n" not in escaped
    assert not re.search(r"(?<!\\)[<>`*_\[\]]", escaped.replace("\\\\", ""))


def test_render_holds_the_argument(minimal_source):
    text = render_markdown(load_source(minimal_source), Words("zh-Hans"), Words("zh-Hans"))
    assert text.startswith("---\ntitle: \"测试简报\"")
    assert "## 第一部分" in text and "### 主要论点。[^1]" in text
    assert "[^1]: 原文：「原文引文。」" in text
    assert "| 人口 | 超过1900万 |" in text


def test_injection_prints_as_text(broken):
    brief = load_source(broken("thesis: 这是核心判断。", 'thesis: "<script>alert(1)</script> {{ 7*7 }} `x` ${y}"'))
    text = render_markdown(brief, Words("zh-Hans"), Words("zh-Hans"))
    assert "<script>" not in text
    assert r"\<script\>alert\(1\)\<" in text
