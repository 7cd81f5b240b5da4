"""Profile one warm build of the default brief in one process; print self time grouped by module.

Run by benchmarks/run.py (with KZREPORT_CACHE_DIR holding the cached maps). Imports are
included: they are part of what a user waits for.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def module_of(filename: str) -> str:
    """Return 'package.module' for a profiled file, or the built-in's name."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins and C extensions"
    parts = Path(filename).with_suffix("").parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    elif "kzreport" in parts:
        parts = parts[parts.index("kzreport"):]
    else:
        return "python stdlib"
    return ".".join(parts[:2])


def main() -> None:
    os.environ["KZREPORT_JOBS"] = "1"  # profile everything in this process
    profiler = cProfile.Profile()
    profiler.enable()
    from kzreport.build import BuildOptions, Reporter, build

    build([Path(__file__).resolve().parents[1] / "briefs" / "kazakhstan-2022.yaml"],
          BuildOptions(out_dir=Path(tempfile.mkdtemp())), Reporter(verbosity=0))
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    by_module: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.items():
        by_module[module_of(filename)] += tottime
    total = sum(by_module.values())
    print(f"{'module':<40} {'self time':>10}  share")
    for name, seconds in sorted(by_module.items(), key=lambda kv: -kv[1])[:16]:
        print(f"{name:<40} {seconds:9.3f} s  {seconds / total:5.1%}")
    print(f"{'total (profiled, slower than unprofiled)':<40} {total:9.3f} s")


if __name__ == "__main__":
    main()
