"""Font tables: read once from the font file, then from the on-disk cache, never trusted when damaged."""

from __future__ import annotations

import pytest

from kzreport import fonts
from kzreport.cache import cache_dir

FAMILY = "Noto Sans CJK SC"


@pytest.fixture
def face(tmp_path, monkeypatch):
    """Return the installed CJK face with a fresh, empty cache folder and the in-process caches cleared."""
    monkeypatch.setenv("KZREPORT_CACHE_DIR", str(tmp_path / "cache"))
    fonts.face_table.cache_clear()
    fonts._cmap.cache_clear()
    found = fonts.find_face(FAMILY)
    if found is None:
        pytest.skip(f"{FAMILY} is not installed")
    yield found
    fonts.face_table.cache_clear()
    fonts._cmap.cache_clear()


def test_the_cached_table_equals_the_font_files(face):
    from_file = fonts._read_table(face)
    assert fonts.face_table(face) == from_file
    entries = list(cache_dir("fonts").iterdir())
    assert len(entries) == 1
    fonts.face_table.cache_clear()
    assert fonts.face_table(face) == from_file  # now from the disk
    assert from_file.units_per_em == 1000 and from_file.advances[ord("中")] == 1000
    assert 1000 < from_file.line_height < 2000  # ascent plus descent, more than the em
    assert len(from_file.advances) > 40000


@pytest.mark.parametrize("damage", [
    lambda data: data[:-7],
    lambda data: data[:len(fonts.TABLE_FORMAT)] + (0).to_bytes(4, "little") + data[len(fonts.TABLE_FORMAT) + 4:],
    lambda data: b"KZFT1" + data[len(fonts.TABLE_FORMAT):],
    lambda data: b"garbage",
    lambda data: b"",
])
def test_a_damaged_entry_is_dropped_and_read_again_from_the_font(face, damage):
    expected = fonts.face_table(face)
    (entry,) = cache_dir("fonts").iterdir()
    entry.write_bytes(damage(entry.read_bytes()))
    fonts.face_table.cache_clear()
    assert fonts.face_table(face) == expected
    assert fonts._decode_table(entry.read_bytes()) == expected  # rewritten whole


def test_an_entry_that_is_a_symlink_out_of_the_cache_is_not_read(face, tmp_path):
    fonts.face_table(face)
    (entry,) = cache_dir("fonts").iterdir()
    outside = tmp_path / "elsewhere.table"
    outside.write_bytes(entry.read_bytes())
    entry.unlink()
    entry.symlink_to(outside)
    fonts.face_table.cache_clear()
    assert fonts.face_table(face) == fonts._read_table(face)
    assert not entry.is_symlink()  # replaced by a real entry


def test_the_cache_name_changes_with_the_font_file(face, tmp_path):
    import shutil

    copy = tmp_path / "copy.ttc"
    shutil.copy(face.path, copy)
    other = fonts.FontFace(face.family, copy, face.index)
    assert fonts._table_name(other) != fonts._table_name(face)
    before = fonts._table_name(other)
    copy.write_bytes(copy.read_bytes()[:1000])
    assert fonts._table_name(other) != before


def test_coverage_uses_the_table(face):
    assert fonts.missing_characters("中文", [FAMILY]) == set()
    assert fonts.missing_characters("\U0001F600", [FAMILY]) == {"\U0001F600"}
