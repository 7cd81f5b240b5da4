"""Atomic writes: outputs appear whole or not at all; stale temporaries are cleaned."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kzreport import fsutil
from kzreport.errors import BuildError, InputError


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "a.pdf"
    target.write_bytes(b"old")
    fsutil.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]


def test_commit_failure_leaves_old_files_and_no_temporaries(tmp_path, failing_replace):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pptx"
    a.write_bytes(b"old a")
    b.write_bytes(b"old b")
    failing_replace("b.pptx")
    with pytest.raises(BuildError, match="cannot write") as caught:
        fsutil.commit({a: b"new a", b: b"new b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.pptx"]
    assert b.read_bytes() == b"old b"
    assert a.read_bytes() == b"old a", "a.pdf was replaced before b.pptx failed and must be put back"
    assert str(caught.value).startswith(str(b)) and fsutil._TMP_MARK not in str(caught.value)


def test_stale_temporaries_of_dead_builds_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".brief.pdf{fsutil._TMP_MARK}{dead}-abc"
    live = tmp_path / f".brief.pdf{fsutil._TMP_MARK}{os.getpid()}-def"
    stale.write_bytes(b"partial")
    live.write_bytes(b"in flight")
    assert fsutil.clean_stale_temporaries(tmp_path) == 1
    assert not stale.exists() and live.exists()


def test_a_failed_rename_removes_outputs_that_did_not_exist_before(tmp_path, failing_replace):
    new, old = tmp_path / "new.md", tmp_path / "z.pptx"
    old.write_bytes(b"old")
    failing_replace("z.pptx")
    with pytest.raises(BuildError, match="z.pptx: cannot write"):
        fsutil.commit({new: b"new", old: b"new"})
    assert [p.name for p in tmp_path.iterdir()] == ["z.pptx"]


def test_a_folder_in_the_place_of_an_output_changes_nothing(tmp_path):
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    pdf, png, deck = out / "brief.pdf", out / "maps" / "m.png", out / "brief.pptx"
    pdf.write_bytes(b"old pdf")
    png.write_bytes(b"old png")
    deck.mkdir()
    with pytest.raises(InputError, match="a folder is in the place") as caught:
        fsutil.commit({pdf: b"new pdf", png: b"new png", deck: b"new deck"}, root=out)
    assert str(deck) in str(caught.value) and fsutil._TMP_MARK not in str(caught.value)
    assert caught.value.exit_status == 2
    assert (pdf.read_bytes(), png.read_bytes()) == (b"old pdf", b"old png")
    assert not [p for p in out.rglob("*") if fsutil._TMP_MARK in p.name]


@pytest.mark.parametrize("root", [True, False])
def test_a_symlinked_maps_folder_cannot_send_outputs_elsewhere(tmp_path, root):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "maps").symlink_to(elsewhere)
    png = out / "maps" / "m.png"
    with pytest.raises(InputError, match="outside the output folder") as caught:
        fsutil.commit({out / "brief.pdf": b"pdf", png: b"png"}, root=out if root else None)
    assert str(png) in str(caught.value)
    assert list(elsewhere.iterdir()) == [] and not (out / "brief.pdf").exists()


def test_maps_only_build_into_a_symlinked_maps_folder_is_refused(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "maps").symlink_to(elsewhere)
    with pytest.raises(InputError, match="outside the output folder"):
        fsutil.write_atomic(out / "maps" / "m.png", b"png", root=out)
    assert list(elsewhere.iterdir()) == []


def test_an_output_symlinked_outside_is_refused_and_the_target_untouched(tmp_path):
    out, target = tmp_path / "out", tmp_path / "precious.txt"
    out.mkdir()
    target.write_bytes(b"precious")
    (out / "brief.pdf").symlink_to(target)
    with pytest.raises(InputError, match="brief.pdf: cannot write there"):
        fsutil.commit({out / "brief.pdf": b"pdf"}, root=out)
    assert target.read_bytes() == b"precious" and (out / "brief.pdf").is_symlink()


def test_a_file_in_the_place_of_the_maps_folder_is_refused_before_writing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "maps").write_bytes(b"a file")
    with pytest.raises(InputError, match="is a file, not a folder"):
        fsutil.commit({out / "brief.pdf": b"pdf", out / "maps" / "m.png": b"png"}, root=out)
    assert sorted(p.name for p in out.iterdir()) == ["maps"]


def test_backups_of_a_killed_build_are_cleaned_like_temporaries(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    backup = tmp_path / f".brief.pdf{fsutil._TMP_MARK}{dead}{fsutil._BACKUP_MARK}0a1b2c3d"
    backup.write_bytes(b"old")
    assert fsutil.clean_stale_temporaries(tmp_path) == 1 and not backup.exists()


def run_within(seconds: float, function):
    """Return ``function()``'s result or raise its exception; fail the test if it runs longer (a hang)."""
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_read_checked_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "brief.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO") as caught:
        run_within(5, lambda: fsutil.read_checked(fifo, max_bytes=100, what="source"))
    assert str(fifo) in str(caught.value)


def test_read_checked_refuses_a_device_through_a_symlink(tmp_path):
    (tmp_path / "logo.png").symlink_to("/dev/zero")
    with pytest.raises(InputError, match="character device"):
        run_within(5, lambda: fsutil.read_checked(tmp_path / "logo.png", max_bytes=100, what="logo"))


def test_read_checked_confines_to_roots_after_resolving_symlinks(tmp_path):
    inside, outside = tmp_path / "theme", tmp_path / "secret.txt"
    inside.mkdir()
    outside.write_text("secret")
    (inside / "ok.txt").write_text("fine")
    (inside / "link.txt").symlink_to(outside)
    assert fsutil.read_checked(inside / "ok.txt", roots=[inside], max_bytes=100, what="file") == b"fine"
    with pytest.raises(InputError, match="must be inside"):
        fsutil.read_checked(inside / "link.txt", roots=[inside], max_bytes=100, what="file")
    with pytest.raises(InputError, match="must be inside"):
        fsutil.read_checked(inside / ".." / "secret.txt", roots=[inside], max_bytes=100, what="file")


def test_read_checked_bounds_the_size(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 2049)
    with pytest.raises(InputError, match="larger than 2 KiB"):
        fsutil.read_checked(big, max_bytes=2048, what="source")
    assert fsutil.read_checked(big, max_bytes=4096, what="source") == b"x" * 2049


def test_read_checked_refuses_folders_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        fsutil.read_checked(tmp_path, max_bytes=10, what="source")
    with pytest.raises(InputError, match="cannot read source"):
        fsutil.read_checked(tmp_path / "nope", max_bytes=10, what="source")
