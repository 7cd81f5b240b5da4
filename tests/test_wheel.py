"""The wheel carries the built-ins: installed outside the repository, ``kzreport build`` works from an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """Build the wheel, install it into a bare folder, and return that folder."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("kzreport-*.whl"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target


def test_wheel_holds_builtins(installed_wheel):
    data = installed_wheel / "kzreport" / "_data"
    assert (data / "templates" / "theme.yaml").is_file()
    assert (data / "briefs" / "kazakhstan-2022.yaml").is_file()
    assert (data / "assets" / "schema" / "brief.schema.json").is_file()


@pytest.mark.slow
def test_build_from_empty_folder_outside_repo(installed_wheel, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed_wheel)}
    where = subprocess.run([sys.executable, "-c", "import kzreport; print(kzreport.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed_wheel)), "the test must run the installed wheel, not the checkout"
    result = subprocess.run([sys.executable, "-m", "kzreport", "build", "--format", "md,pdf,pptx", "-q"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == [
        "kazakhstan-2022.md", "kazakhstan-2022.pdf", "kazakhstan-2022.pptx"]
