"""The loader: YAML 1.2 text kept as written, and every kind of bad input located."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzreport.errors import InputError
from kzreport.loader import MAX_SOURCE_BYTES, fields_at, load_source
from kzreport.model import Brief

LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>[^:]+): (?P<msg>.+)$")


def problems_of(path: Path) -> list[str]:
    """Return the problem lines load_source reports for ``path``."""
    with pytest.raises(InputError) as info:
        load_source(path)
    return str(info.value).splitlines()


def test_minimal_source_loads(minimal_source):
    brief = load_source(minimal_source)
    assert brief.meta.title == "测试简报"
    assert [c.id for c in brief.all_claims()] == ["c1"]


def test_yaml_11_traps_stay_text(broken):
    path = broken("text: no}", "text: NO}")
    path.write_text(path.read_text(encoding="utf-8").replace("title: 测试简报", "title: 1.10"), encoding="utf-8")
    brief = load_source(path)
    assert brief.judgments[2].text == "NO"
    assert brief.meta.title == "1.10"
    assert brief.meta.date == "2022-09"  # a string, never a date object
    assert brief.figures[0].value == pytest.approx(1.1)  # a number where the schema wants one


BAD_INPUTS = [
    # (name, old, new, expected line, expected path, expected message part)
    ("python tag", "thesis: 这是核心判断。", "thesis: !!python/object/apply:os.system [ls]", 9, "thesis", "tags are not allowed"),
    ("anchor and alias", "  - {id: j2, text: 判断二}", "  - &j {id: j2, text: 判断二}\n  - *j", 12, "judgments[1]", "anchors and aliases"),
    ("duplicate key", "  short_title: 测试", "  short_title: 测试\n  short_title: 又一个", 4, "meta.short_title", "duplicate key (first at line 3)"),
    ("unknown field", "  author: kzreport 测试", "  autor: kzreport 测试", 8, "meta.autor", "did you mean 'author'?"),
    ("missing field", "      evidence: [{text: 证据一}]\n", "", 19, "sections[0].headline.evidence", "field required"),
    ("wrong type", "thesis: 这是核心判断。", "thesis: [一, 二]", 9, "thesis", "valid string"),
    ("bad date", "date: 2022-09", "date: 2022-13", 4, "meta.date", "2022, 2022-09 or 2022-09-14"),
    ("bad key", "{id: j1,", "{id: J 1,", 11, "judgments[0].id", "lower-case letters"),
    ("control character", "thesis: 这是核心判断。", 'thesis: "核心\\x07判断"', 9, "thesis", "U+0007"),
    ("lone surrogate", "thesis: 这是核心判断。", 'thesis: "核心\\ud800判断"', 9, "thesis", "U+D800"),
    ("non-character", "thesis: 这是核心判断。", 'thesis: "核心\\uFFFE判断"', 9, "thesis", "U+FFFE"),
    ("non-character in the FDD0 block", "thesis: 这是核心判断。", 'thesis: "核心\\uFDD0判断"', 9, "thesis", "U+FDD0"),
    ("non-character of a supplementary plane", "thesis: 这是核心判断。", 'thesis: "核心\\U0001FFFF判断"', 9, "thesis",
     "U+1FFFF"),
    ("unknown reference", "claims: [c1]", "claims: [c2]", 11, "judgments[0].claims[0]", "no claim with key 'c2'"),
    ("unknown source", "      evidence: [{text: 证据一}]", "      evidence: [{text: 证据一, sources: [w9]}]", 21, "sections[0].headline.evidence[0].sources[0]", "no source with key 'w9'"),
    ("bool trap", "  - {id: f1,", "  - {id: f1, qualifier: no,", 24, "figures[0].qualifier", "input should be"),
    ("too few judgments", "  - {id: j3, text: no}\n", "", 11, "judgments", "at least 3 items"),
]


@pytest.mark.parametrize("name,old,new,line,path,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_located(broken, name, old, new, line, path, message):
    lines = problems_of(broken(old, new))
    matches = [LOCATED.match(text) for text in lines]
    assert all(matches), f"not all problems are located: {lines}"
    hit = [m for m in matches if m["path"] == path and message in m["msg"]]
    assert hit, f"no problem at {path} saying {message!r}: {lines}"
    assert int(hit[0]["line"]) == line
    assert int(hit[0]["col"]) >= 1


def test_all_problems_in_one_run(broken):
    path = broken("  author: kzreport 测试", "  autor: kzreport 测试\n  date: 2022-13")
    text = "\n".join(problems_of(path))
    assert "meta.autor" in text and "meta.date" in text and "duplicate key" in text and "meta.author: field required" in text


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"   \n# only a comment\n", "only comments"),
    (b"meta: {title: \xff\xfe}\n", "not valid UTF-8"),
    (b"meta: [unclosed\n", "YAML syntax"),
    (b"- a list\n- not a mapping\n", "must hold a mapping"),
    (b"a: 1\n---\nb: 2\n", "only one YAML document"),
])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    assert any(message in line for line in problems_of(path))


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"meta:\n  title: ab\xffc\n")
    assert problems_of(path) == [f"{path}:2:12: not valid UTF-8 (byte 0xff); save the file as UTF-8"]


def test_oversized_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_SOURCE_BYTES + b"\n")
    assert "larger than" in problems_of(path)[0]


def test_directory_as_source(tmp_path):
    assert "is a directory" in problems_of(tmp_path)[0]


def test_missing_file(tmp_path):
    assert "cannot read source" in problems_of(tmp_path / "nope.yaml")[0]


def test_alias_bomb_is_refused_without_expanding(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 20)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert any("anchors and aliases" in p for p in problems_of(path))


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    assert any("nested" in p for p in problems_of(path))


def test_fields_at_walks_lists_and_optionals():
    assert "evidence" in fields_at(Brief, ("sections", 0, "headline"))
    assert "lat" in fields_at(Brief, ("maps", 1, "pipelines", 0, "waypoints", 3))
    assert fields_at(Brief, ("thesis",)) == []


def test_folded_lines_join_chinese_without_spaces(broken):
    path = broken("thesis: 这是核心判断。", "thesis: >-\n  第一行中文，\n  第二行中文 and\n  English words\n  继续。")
    assert load_source(path).thesis == "第一行中文，第二行中文 and English words 继续。"


def test_plain_multiline_scalar_joins_chinese(broken):
    path = broken("summary: 本部分的概要。", "summary: 本部分\n      的概要。")
    assert load_source(path).sections[0].summary == "本部分的概要。"


def test_folded_english_keeps_its_space_after_quotation_marks_and_dashes(broken):
    path = broken("thesis: 这是核心判断。", "thesis: >-\n  He called it “a test”\n  and left —\n  quickly.")
    assert load_source(path).thesis == "He called it “a test” and left — quickly."


def test_folded_chinese_drops_the_break_next_to_quotation_marks(broken):
    path = broken("thesis: 这是核心判断。", "thesis: >-\n  所谓“唇亡\n  齿寒”\n  之说。")
    assert load_source(path).thesis == "所谓“唇亡齿寒”之说。"


def test_a_source_with_too_many_values_stops_early_with_a_located_error(tmp_path):
    from kzreport.loader import MAX_NODES

    path = tmp_path / "many.yaml"
    path.write_text("meta: {}\nkeywords:\n" + "- 1\n" * (MAX_NODES + 10), encoding="utf-8")
    lines = problems_of(path)
    assert any(f"more than {MAX_NODES:,} values" in line and LOCATED.match(line) for line in lines), lines


def test_folded_break_after_chinese_punctuation_joins(broken):
    path = broken("thesis: 这是核心判断。", "thesis: >-\n  原因如下：\n  3月停运。")
    assert load_source(path).thesis == "原因如下：3月停运。"
