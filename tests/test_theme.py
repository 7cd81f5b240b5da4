"""The theme file: validated like the source, one file for every output."""

from __future__ import annotations

import pytest

from kzreport.errors import InputError
from kzreport.theme import DEFAULT_LAYOUTS, load_theme


def test_builtin_theme_is_the_default_values():
    theme, folder = load_theme(None)
    assert theme.colors.primary == "#0B3C5D" and theme.fonts.body.hans == "Noto Serif CJK SC" and theme.fonts.body.latin == "Noto Serif"
    assert (folder / "theme.yaml").is_file()


def test_unknown_key_is_located_with_a_hint(tmp_path):
    path = tmp_path / "theme.yaml"
    path.write_text("colors:\n  primery: '#112233'\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_theme(path)
    assert f"{path}:2:3: colors.primery: unknown field; did you mean 'primary'?" in str(info.value)


def test_bad_colour_is_located(tmp_path):
    path = tmp_path / "theme.yaml"
    path.write_text("colors:\n  accent: gold\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"theme.yaml:2:11: colors.accent"):
        load_theme(path)


def test_layout_names_map_slide_kinds_to_a_masters_own_names(tmp_path):
    path = tmp_path / "theme.yaml"
    path.write_text("layouts:\n  title: Titeldia\n  content: Titel en object\n", encoding="utf-8")
    theme, _ = load_theme(path)
    assert theme.layout_name("title") == "Titeldia"
    assert theme.layout_name("section") == DEFAULT_LAYOUTS["section"]
