"""The ``kzreport`` command line: thin; heavy libraries are imported inside the commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, InputError, KzreportError, terminal_safe


def say(text: object, *, file=None) -> None:
    """Print a line with every terminal control character escaped (see ``errors.terminal_safe``).

    Messages quote the user's files (YAML keys, layout names, file names); a key holding
    ``ESC ] 0 ;`` must not retitle or clear the user's terminal.
    """
    print(terminal_safe(str(text)), file=file or sys.stdout)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as InputError (exit 2, one line)."""

    def error(self, message: str):  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kzreport", description="Build a PDF briefing, a slide deck and pipeline maps from one YAML source.")
    parser.add_argument("--version", action="version", version=f"kzreport {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="build the PDF, the deck and the maps")
    b.add_argument("sources", nargs="*", type=Path, metavar="SOURCE", help="brief YAML files (default: the built-in brief)")
    b.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="output folder (default: ./output)")
    b.add_argument("--format", default="maps,pdf,pptx", metavar="LIST", help="comma-separated: maps, pdf, pptx, md, html (default: maps,pdf,pptx)")
    b.add_argument("--page-size", choices=["A4", "Letter"], help="PDF page size (default: the theme's, A4)")
    b.add_argument("--print", dest="print_marks", action="store_true", help="PDF for a print shop: 3 mm bleed and crop marks")
    b.add_argument("--theme", type=Path, metavar="FILE", help="a theme YAML file")
    b.add_argument("--templates", type=Path, metavar="DIR", help="a folder of templates searched before the built-ins")
    b.add_argument("--pptx-template", type=Path, metavar="FILE", help="a PowerPoint master (.pptx or .potx)")
    b.add_argument("--no-cache", action="store_true", help="rasterize maps even when cached")
    b.add_argument("--timings", action="store_true", help="print the time of each stage")
    b.add_argument("--jobs", type=_jobs, metavar="N", help="build N sources at a time (default: one per core)")
    _add_verbosity(b)

    v = sub.add_parser("validate", help="check sources without building")
    v.add_argument("sources", nargs="+", type=Path, metavar="SOURCE")
    v.add_argument("--theme", type=Path, metavar="FILE", help="the theme the deck would be built with")
    v.add_argument("--templates", type=Path, metavar="DIR", help="the templates folder (storyboard, words) of the build")
    v.add_argument("--pptx-template", type=Path, metavar="FILE", help="the PowerPoint master the deck would use")
    _add_verbosity(v)

    pv = sub.add_parser("preview", help="rebuild on every save and show the outputs in a browser (127.0.0.1)")
    pv.add_argument("source", nargs="?", type=Path, metavar="SOURCE", help="a brief YAML file (default: the built-in brief)")
    pv.add_argument("--port", type=int, metavar="N", help="port on 127.0.0.1 (default: 8765, or a free one)")
    pv.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="output folder (default: ./output)")
    pv.add_argument("--show", default="html,pdf,slides", metavar="LIST",
                    help="comma-separated: html, pdf, slides (default: all three)")
    pv.add_argument("--page-size", choices=["A4", "Letter"], help="PDF page size (default: the theme's, A4)")
    pv.add_argument("--theme", type=Path, metavar="FILE", help="a theme YAML file")
    pv.add_argument("--templates", type=Path, metavar="DIR", help="a folder of templates searched before the built-ins")
    pv.add_argument("--pptx-template", type=Path, metavar="FILE", help="a PowerPoint master (.pptx or .potx)")

    sub.add_parser("schema", help="print the JSON Schema of the source format")

    t = sub.add_parser("templates", help="export the built-in templates, or check a PowerPoint master")
    tsub = t.add_subparsers(dest="templates_command", required=True, parser_class=_Parser)
    e = tsub.add_parser("export", help="write the built-in templates, CSS, theme and deck master into DIR")
    e.add_argument("dir", type=Path, metavar="DIR")
    e.add_argument("--force", action="store_true", help="overwrite existing files")
    c = tsub.add_parser("check", help="list which slide kinds a PowerPoint master (.pptx, .potx) can serve")
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--theme", type=Path, metavar="FILE", help="a theme whose 'layouts' maps slide kinds to layout names")
    c.add_argument("--templates", type=Path, metavar="DIR", help="a template folder whose deck/storyboard.yaml "
                   "says which slide kinds the deck uses")
    return parser


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_const", const=0, dest="verbosity", default=1)
    group.add_argument("-v", "--verbose", action="store_const", const=2, dest="verbosity")


def _existing_dir(path: Path | None, option: str) -> Path | None:
    if path is not None and not path.is_dir():
        raise InputError(f"{option} {path}: not a folder")
    return path


def _jobs(value: str) -> int:
    """Return ``--jobs`` as a count of worker processes from 1 to 64."""
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of processes from 1 to 64")
    return int(value)


def _existing_file(path: Path | None, option: str) -> Path | None:
    if path is not None and not path.is_file():
        raise InputError(f"{option} {path}: no such file")
    return path


def cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildOptions, Reporter, build
    from .builders import parse_formats
    from .resources import default_source

    options = BuildOptions(
        out_dir=args.out, formats=parse_formats(args.format), page_size=args.page_size,
        print_marks=args.print_marks, theme_file=_existing_file(args.theme, "--theme"),
        templates_dir=_existing_dir(args.templates, "--templates"),
        pptx_template=_existing_file(args.pptx_template, "--pptx-template"), use_cache=not args.no_cache,
        jobs=args.jobs)
    stems = [p.stem for p in args.sources]
    if len(set(stems)) != len(stems):
        raise InputError("build: two sources have the same file name; their outputs would overwrite each other")
    reporter = Reporter(args.verbosity)
    build(args.sources or [default_source()], options, reporter)
    if args.timings:
        say(reporter.timing_table())
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .build import BuildOptions
    from .builders.deck import validate_deck_source
    from .geo import located_map_problems
    from .loader import load_source_located

    problems = []
    for path in args.sources:
        try:
            brief, located = load_source_located(path)
        except InputError as exc:
            problems += exc.problems
            continue
        if found := located_map_problems(brief, located):
            problems += found
            continue
        # The deck's font and fit checks, as a build with the same master, theme and templates runs them.
        if found := validate_deck_source(path, BuildOptions(
                theme_file=_existing_file(args.theme, "--theme"), templates_dir=_existing_dir(args.templates, "--templates"),
                pptx_template=_existing_file(args.pptx_template, "--pptx-template"), formats=("pptx",))):
            problems += found
            continue
        if args.verbosity:
            say(f"{path}: ok ({len(brief.sections)} sections, {len(brief.all_claims())} claims)")
    if problems:
        raise InputError(problems)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import schema_json

    sys.stdout.write(schema_json())
    return EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    if args.templates_command == "check":
        return cmd_templates_check(args)
    from .export import export_templates

    written = export_templates(args.dir, overwrite=args.force)
    say(f"wrote {len(written)} files to {args.dir}; build with: kzreport build --templates {args.dir} "
        f"--theme {args.dir / 'theme.yaml'}")
    return EXIT_OK


def cmd_templates_check(args: argparse.Namespace) -> int:
    """Report on a PowerPoint master; exit 2 when a build could not use it."""
    from .pptx_master import master_report
    from .theme import load_theme

    theme, _ = load_theme(_existing_file(args.theme, "--theme"))
    report, usable = master_report(_existing_file(args.file, "templates check"), theme,
                                   _existing_dir(args.templates, "--templates"))
    say(report)
    return EXIT_OK if usable else EXIT_BAD_INPUT


def cmd_preview(args: argparse.Namespace) -> int:
    """Serve the preview until interrupted (``kzreport.preview``)."""
    from .build import BuildOptions
    from .preview import PARTS, preview
    from .resources import default_source

    shown = tuple(dict.fromkeys(p.strip() for p in args.show.split(",") if p.strip()))
    if not shown or any(p not in PARTS for p in shown):
        raise InputError(f"preview --show: choose from {', '.join(PARTS)}")
    if args.port is not None and not 0 < args.port < 65536:
        raise InputError(f"preview --port {args.port}: not a port number (1-65535)")
    options = BuildOptions(
        out_dir=args.out, page_size=args.page_size, theme_file=_existing_file(args.theme, "--theme"),
        templates_dir=_existing_dir(args.templates, "--templates"),
        pptx_template=_existing_file(args.pptx_template, "--pptx-template"))
    return preview(_existing_file(args.source, "preview") or default_source(), options, shown, args.port)


COMMANDS = {"preview": cmd_preview, "build": cmd_build, "validate": cmd_validate, "schema": cmd_schema, "templates": cmd_templates}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except KzreportError as exc:
        if debug:
            raise
        say(exc, file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        say("kzreport: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            raise
        say(f"kzreport: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
