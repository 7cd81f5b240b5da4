"""One build: load the source once, run the builders in order, then commit every output.

Nothing is written until every builder has succeeded: each builder adds its
files to ``Project.outputs`` (in memory) and ``build`` renames them all into
place at the end, so a failed build leaves the earlier outputs untouched.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .builders import builder_class, ordered_formats
from .fsutil import clean_stale_temporaries, commit, display_path

if TYPE_CHECKING:
    from .errors import InputError
    from .i18n import Words
    from .model import Brief
    from .theme import Theme


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked for, shared by every builder."""

    out_dir: Path = Path("output")
    formats: tuple[str, ...] = ("maps", "pdf", "pptx")
    page_size: str | None = None  # None: the theme's
    print_marks: bool = False
    theme_file: Path | None = None
    templates_dir: Path | None = None
    pptx_template: Path | None = None
    use_cache: bool = True
    jobs: int | None = None  # worker processes for a batch; None: one per core


@dataclass
class Project:
    """One loaded source and everything the builders share for it."""

    source: "Brief"
    source_path: Path
    options: BuildOptions
    theme: "Theme"
    theme_dir: Path | None
    outputs: dict[Path, bytes] = field(default_factory=dict)
    located: Any = None
    """Where each value sits in the source file (``loader._Located``), to locate errors found while building."""

    def problem(self, loc: tuple[str | int, ...], message: str) -> "InputError":
        """Return an InputError for the source item at ``loc``, located at its line and column."""
        from .errors import InputError, Problem, format_path

        line, column = self.located.position(loc) if self.located else (0, 0)
        return InputError([Problem(display_path(self.source_path), line, column, format_path(loc), message)])

    def theme_file_name(self) -> str:
        """Return the theme file as messages name it (the built-in one when no --theme was given)."""
        from .resources import templates_dir

        return display_path(self.options.theme_file or templates_dir() / "theme.yaml")

    @property
    def words(self) -> "Words":
        """Return the interface words of the brief's language (the user's catalog overrides on top)."""
        from .i18n import words_for

        return words_for(self.source, self.options.templates_dir)

    @property
    def article_words(self) -> "Words":
        """Return the words of the article's language: its passages are quoted in its quotation marks."""
        from .i18n import Words

        meta = self.source.meta
        return Words(meta.article_language or meta.language, self.options.templates_dir)

    @property
    def stem(self) -> str:
        """Return the name the outputs take: the source file's stem."""
        return self.source_path.stem

    def output_path(self, *parts: str) -> Path:
        """Return the path of an output inside the output folder."""
        return self.options.out_dir.joinpath(*parts)

    def map_image(self, map_id: str, target: str = "pdf") -> bytes | None:
        """Return the PNG of a map for a target ("pdf" or "slide"): made in this build, else cached, else None."""
        from .builders.maps import cached_png, png_name

        path = self.output_path("maps", png_name(map_id, target))
        if path in self.outputs:
            return self.outputs[path]
        return cached_png(self, map_id, target)

    def add_output(self, path: Path, data: bytes) -> None:
        """Record a finished output; it is written when the whole build succeeds."""
        self.outputs[path] = data


class Reporter:
    """Reports build stages: progress on a terminal, details with --verbose, timings on request."""

    def __init__(self, verbosity: int = 1, stream=None):
        self.verbosity = verbosity
        self.stream = stream or sys.stderr
        self.interactive = verbosity > 0 and self.stream.isatty()
        self.timings: list[tuple[str, float, int]] = []
        self.depth = 0
        self.started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage and report it (its name made safe for a terminal: it may hold a file name)."""
        from .errors import terminal_safe

        name = terminal_safe(name, one_line=True)
        if self.interactive:
            self.stream.write(f"\r\033[K· {name} …")
            self.stream.flush()
        start = time.perf_counter()
        index = len(self.timings)
        self.timings.append((name, 0.0, self.depth))
        self.depth += 1
        try:
            yield
        except BaseException:
            if self.interactive:
                self.stream.write("\r\033[K")
            raise
        finally:
            self.depth -= 1
        elapsed = time.perf_counter() - start
        self.timings[index] = (name, elapsed, self.depth)
        clear = "\r\033[K" if self.interactive else ""
        if self.verbosity > 1:
            self.stream.write(f"{clear}✓ {name} ({elapsed:.2f} s)\n")
        elif clear:
            self.stream.write(clear)

    def info(self, message: str) -> None:
        """Print a message unless --quiet."""
        if self.verbosity > 0:
            self.stream.write(message + "\n")

    def timing_table(self) -> str:
        """Return the stages and their times as a table; steps inside a stage are indented under it."""
        labels = [("  " * depth + name, secs) for name, secs, depth in self.timings]
        width = max((len(n) for n, _ in labels), default=5)
        rows = [f"{label:<{width}}  {secs:7.3f} s" for label, secs in labels]
        total = time.perf_counter() - self.started  # wall time: stages may run in parallel
        return "\n".join([f"{'stage':<{width}}  {'time':>9}", *rows, f"{'total':<{width}}  {total:7.3f} s"])


def load_project(source_path: Path, options: BuildOptions, reporter: Reporter) -> Project:
    """Return the project for one source: the brief and the theme, both validated."""
    from .loader import load_source_located
    from .theme import load_theme

    from .limits import work_limits

    with reporter.stage(f"load {source_path.name}"), work_limits(f"{source_path}: reading"):
        brief, located = load_source_located(source_path)
        theme, theme_dir = load_theme(options.theme_file)
    project = Project(brief, source_path, options, theme, theme_dir, located=located)
    from .builders.maps import check_maps

    check_maps(project)  # a map that would come out blank is a located error before anything is built
    return project


def build(sources: list[Path], options: BuildOptions, reporter: Reporter | None = None) -> list[Path]:
    """Build every requested format of every source; return the paths written."""
    from .reproducible import source_date_epoch

    reporter = reporter or Reporter()
    source_date_epoch()  # a bad SOURCE_DATE_EPOCH is an option error for every format, before any work
    projects = [load_project(path, options, reporter) for path in sources]
    builders = [builder_class(fmt)() for fmt in ordered_formats(options.formats)]
    feeders = [b for b in builders if b.feeds_others]
    others = [b for b in builders if not b.feeds_others]
    try:
        for builder in feeders:  # every project's maps first: one browser draws them all
            for project in projects:
                _run_here(builder, project, reporter)
            with reporter.stage(f"{builder.name} {builder.finish_stage}"):
                builder.finish(reporter)
        if len(projects) > 1 and worker_count(options) > 1:
            run_batch(projects, others, reporter, worker_count(options))
        else:
            for project in projects:
                run_builders(project, others, reporter)
    finally:
        for builder in builders:
            builder.close()
    written = _merged_outputs(projects)
    with reporter.stage("write"):
        clean_stale_temporaries(options.out_dir)
        commit(written, root=options.out_dir)
    for path in written:
        reporter.info(f"wrote {display_path(path)}")
    return list(written)


def _merged_outputs(projects: list[Project]) -> dict[Path, bytes]:
    """Return every project's outputs; raise InputError when two sources would write one file differently."""
    from .errors import InputError

    merged: dict[Path, bytes] = {}
    owner: dict[Path, Project] = {}
    for project in projects:
        for path, data in project.outputs.items():
            if path in merged and merged[path] != data:
                raise InputError(f"{display_path(owner[path].source_path)} and {display_path(project.source_path)} "
                                 f"both write {display_path(path)} with different content (the same map id?); "
                                 "give them different ids or build them into different --out folders")
            merged[path], owner[path] = data, project
    return merged


def run_builders(project: Project, rest: list, reporter: Reporter) -> None:
    """Run the builders on one project whose maps are made.

    Builders that ``run_apart`` (nothing later needs their outputs) run in a forked
    child while the parent runs the others, when forking is safe here.
    """
    from .parallel import Child, can_fork

    apart = [b for b in rest if b.runs_apart]
    here = [b for b in rest if not b.runs_apart]
    child = Child(lambda: _build_apart(apart, project)) if apart and here and can_fork() else None
    try:
        for builder in here if child else rest:
            _run_here(builder, project, reporter)
        if child is not None:
            outputs, timings = child.join()
            child = None
            project.outputs.update(outputs)
            reporter.timings += [(f"{name} (in parallel)" if depth == 0 else name, secs, depth)
                                 for name, secs, depth in timings]
    finally:
        if child is not None:
            child.cancel()


def worker_count(options: BuildOptions) -> int:
    """Return how many worker processes a batch may use: ``--jobs``, else one per core available."""
    import os

    if options.jobs:
        return options.jobs
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_batch(projects: list[Project], builders: list, reporter: Reporter, jobs: int) -> None:
    """Run ``builders`` on every project (maps already made), ``jobs`` projects at a time, each in a
    forked worker that builds all of that project's outputs; without fork, one after another here."""
    from .parallel import Pool, can_fork

    if not can_fork():
        for project in projects:
            run_builders(project, builders, reporter)
        return
    with Pool(jobs) as pool:
        for project in projects:
            pool.submit(project, lambda project=project: _build_apart(builders, project))
        for project, (outputs, timings) in pool.results():
            project.outputs.update(outputs)
            reporter.timings += [(f"{name} (worker)" if depth == 0 else name, secs, depth)
                                 for name, secs, depth in timings]


def _run_here(builder, project: Project, reporter: Reporter) -> None:
    """Run one builder in this process, as a reported stage."""
    from .limits import work_limits

    with reporter.stage(f"{builder.name} {project.stem}"), work_limits(f"{project.source_path}: {builder.name}"):
        builder.build(project, reporter)


def _build_apart(builders: list, project: Project) -> tuple[dict[Path, bytes], list]:
    """Run ``builders`` (in a child process); return the outputs they added and their timings."""
    before = set(project.outputs)
    reporter = Reporter(verbosity=0)
    for builder in builders:
        _run_here(builder, project, reporter)
    return {p: d for p, d in project.outputs.items() if p not in before}, reporter.timings
