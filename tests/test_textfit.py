"""Text measuring and wrapping with the installed font's real metrics, CJK-aware."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzreport.textfit import (EMU_PER_PT, NO_LINE_END, NO_LINE_START, WIDTH_SAFETY, fit_text, fits, metrics,
                              wrap_lines)

FONT = "Noto Sans CJK SC"


def emu(points: float) -> int:
    return round(points * EMU_PER_PT)


def test_metrics_come_from_the_font():
    face = metrics(FONT)
    assert face.width_pt("中", 10) == pytest.approx(10)  # CJK ideographs are one em wide
    assert face.width_pt("i", 10) < face.width_pt("W", 10) < 10
    # a quarter em of autospace where Chinese meets a digit, as LibreOffice draws it
    assert face.width_pt("年2", 10) == pytest.approx(10 + face.width_pt("2", 10) + 2.5)


def test_chinese_breaks_between_any_two_characters():
    text = "哈萨克斯坦是中亚面积最大的国家也是世界上最大的内陆国"
    lines = wrap_lines(text, FONT, 10, emu(10 * 8 / WIDTH_SAFETY + 0.1))
    assert lines[0] == text[:8]
    assert "".join(lines) == text
    assert all(len(line) <= 8 for line in lines)


def test_closing_punctuation_never_starts_a_line_nor_opening_ends_one():
    text = "一二三四五六七，八九十（一二）三四五六七八「九十」。"
    for chars in range(3, 12):
        lines = wrap_lines(text, FONT, 10, emu(10 * chars / WIDTH_SAFETY + 0.1))
        assert "".join(lines) == text
        assert not any(line[0] in NO_LINE_START for line in lines[1:]), (chars, lines)
        assert not any(line[-1] in NO_LINE_END for line in lines), (chars, lines)


def test_punctuation_moves_the_character_before_it_down():
    # 7 characters fit; the comma must not open line 2, so the 7th character goes down with it
    lines = wrap_lines("一二三四五六七，八九", FONT, 10, emu(10 * 7 / WIDTH_SAFETY + 0.1))
    assert lines == ["一二三四五六", "七，八九"]


def test_latin_words_stay_whole_and_long_words_are_cut():
    text = "Caspian Pipeline Consortium 管道 Supercalifragilisticexpialidocious"
    width = emu(80)
    lines = wrap_lines(text, FONT, 10, width)
    words = " ".join(lines).split()
    assert {"Caspian", "Pipeline", "Consortium"} <= set(words)
    assert "Supercalifragilisticexpialidocious" not in words  # wider than a line: hard-broken
    face = metrics(FONT)
    assert all(face.width_pt(line, 10) <= 80 for line in lines)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="中文字，。、（）「」ab 1", max_size=80), st.integers(min_value=30, max_value=300))
def test_wrapping_keeps_every_character_and_every_line_fits(text, width_pt):
    lines = wrap_lines(text, FONT, 10, emu(width_pt))
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    face = metrics(FONT)
    for line in lines:
        # a line only overflows when it is a single unbreakable character
        assert face.width_pt(line, 10) <= width_pt or len(line) == 1


def test_fits_counts_lines_at_1_2_spacing():
    assert fits(["a", "b"], 10, emu(24))
    assert not fits(["a", "b", "c"], 10, emu(24))


def test_fit_text_takes_the_largest_size_that_fits():
    fit = fit_text("中" * 20, FONT, emu(200), emu(100), max_pt=40, min_pt=18)
    assert fit is not None
    assert fits(fit.lines, fit.size_pt, emu(100))
    bigger = wrap_lines("中" * 20, FONT, fit.size_pt + 1, emu(200))
    assert not fits(bigger, fit.size_pt + 1, emu(100))


def test_fit_text_returns_none_when_nothing_fits_at_the_minimum():
    assert fit_text("中" * 500, FONT, emu(200), emu(100), max_pt=28, min_pt=18) is None
