"""Atomic writes: outputs appear whole or not at all; stale temporaries are cleaned."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kzreport import fsutil
from kzreport.errors import BuildError


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "a.pdf"
    target.write_bytes(b"old")
    fsutil.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]


def test_commit_failure_leaves_old_files_and_no_temporaries(tmp_path, monkeypatch):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pptx"
    a.write_bytes(b"old a")
    b.write_bytes(b"old b")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("b.pptx"):
            raise OSError(5, "Input/output error", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    with pytest.raises(BuildError, match="cannot write"):
        fsutil.commit({a: b"new a", b: b"new b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.pptx"]
    assert b.read_bytes() == b"old b"


def test_stale_temporaries_of_dead_builds_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".brief.pdf{fsutil._TMP_MARK}{dead}-abc"
    live = tmp_path / f".brief.pdf{fsutil._TMP_MARK}{os.getpid()}-def"
    stale.write_bytes(b"partial")
    live.write_bytes(b"in flight")
    assert fsutil.clean_stale_temporaries(tmp_path) == 1
    assert not stale.exists() and live.exists()
