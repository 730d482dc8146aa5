"""The ``newsflow`` command: run the pipeline, inspect a lake, debug cleaning and extraction.

    newsflow run --seeds seeds --output lake      # seeds through the DirectRunner into ./lake
    newsflow inspect lake                         # the summary of an existing lake
    newsflow compact lake                         # merge small files per partition
    newsflow clean seeds/000_b3fd492040c0f746.txt # why each line went
    newsflow extract page.html                    # the record a page would become

``run`` takes any Beam pipeline option as well (``--runner``, ``--direct_num_workers``…).
This module parses arguments and prints; ``pipeline.launcher`` does the work.

Exit codes: 0 done; 1 failed (see ``pipeline.launcher``); 2 usage error; 3 lake busy;
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pipeline.debug import cmd_clean, cmd_extract
from pipeline.report import CliReporter
from pipeline.results import EXIT_BUSY, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

_LOGGER = logging.getLogger(__name__)

COMMANDS = ("run", "inspect", "compact", "clean", "extract")
# Options of ``run`` that take several values after one flag (``--seeds a b``).
MULTI_VALUE = ("--seeds", "--feeds", "--sitemaps")
# Loggers whose warnings are routine for news pages, not news for the user.
_CHATTY = {"trafilatura": logging.ERROR, "htmldate": logging.ERROR, "courlan": logging.ERROR}


class CliError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("newsflow")
    except PackageNotFoundError:
        return "unknown (not installed)"


# --- logging -------------------------------------------------------------------------------


class _DropNoise(logging.Filter):
    """Beam's import-time warning about optional GCP clients, which newsflow does not need."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


class _PlainFormatter(logging.Formatter):
    """Normal output: a warning or error logged inside newsflow reads as the command's own
    ("warning: …", as ``CliReporter.warning`` prints); -v keeps the level and the logger's name."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def configure_logging(verbosity: int) -> None:
    """-1 quiet (errors only), 0 normal (warnings of newsflow, not routine ones), 1 verbose (INFO)."""
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    verbose = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    handler.setFormatter(verbose if verbosity > 0 else _PlainFormatter())
    handler.addFilter(_DropNoise())
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in _CHATTY.items():
        logging.getLogger(name).setLevel(quiet_level if verbosity < 1 else level)
    # Beam's own loggers: start-up chatter at INFO, and a failed bundle's traceback at ERROR,
    # which the launcher reports in one line; -v shows them all.
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL if verbosity < 1 else level)


# --- the run reporter ----------------------------------------------------------------------


# --- run -----------------------------------------------------------------------------------


def _run_option_parser() -> argparse.ArgumentParser:
    """Every option newsflow and any Beam runner define, as one parser (for checking argv)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    # exit_on_error=False: a bad value ("--workers x") raises, for a one-line error, instead of
    # printing the usage of every Beam option.
    parser = argparse.ArgumentParser(
        add_help=False, allow_abbrev=False, conflict_handler="resolve", exit_on_error=False
    )
    pending, seen = [PipelineOptions], set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue
    return parser


def normalize_run_argv(argv: Sequence[str]) -> list[str]:
    """``run``'s arguments as Beam parses them, every value kept.

    ``--seeds a b`` and ``--feeds a b`` become one ``--seeds=V`` per value (Beam would
    keep only the first); a flag that neither newsflow nor Beam defines, or an argument
    belonging to no flag, is a usage error (Beam only warns and drops it), with the
    nearest known flag suggested.
    """
    parser = _run_option_parser()
    out: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        name = arg.split("=", 1)[0]
        if name in MULTI_VALUE:
            values = [arg.split("=", 1)[1]] if "=" in arg else []
            index += 1
            while index < len(args) and not args[index].startswith("-"):
                values.append(args[index])
                index += 1
            if not values:
                raise CliError(f"{name} needs a value")
            out.extend(f"{name}={value}" for value in values)
            continue
        out.append(arg)
        index += 1
    try:
        _, unknown = parser.parse_known_args(out)
    except argparse.ArgumentError as error:  # "argument --workers: invalid int value: 'x'"
        raise CliError(str(error)) from None
    for arg in unknown:
        if arg.startswith("-"):
            flag = arg.split("=", 1)[0]
            known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
            nearest = difflib.get_close_matches(flag, known, n=1)
            hint = f" (did you mean {nearest[0]}?)" if nearest else ""
            raise CliError(f"unrecognized argument {flag}: neither a newsflow nor a Beam option{hint}")
        raise CliError(f"unexpected argument {arg!r}: every value belongs to a flag (e.g. --seeds {arg})")
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.launcher import launch
    from pipeline.results import LaunchFailed

    argv = normalize_run_argv(args.argv)
    reporter = CliReporter(quiet=args.verbosity < 0)
    try:
        return launch(argv, reporter, getattr(args, "hooks", None))
    except LaunchFailed as error:
        raise CliError(str(error), EXIT_FAILED) from None


# --- inspect, compact ----------------------------------------------------------------------


def _lake_layout(lake: str, state: str | None, command: str):
    from schemas.layout import LakeLayout
    from transforms.lake.files import storage_problem
    from transforms.lake.summary import is_lake

    for flag, path in (("", lake), ("--state ", state)):
        problem = path and storage_problem(path)
        if problem:
            raise CliError(f"{command}: {flag}{path}: {problem}")
    if "://" not in lake and os.path.exists(lake) and not os.path.isdir(lake):
        raise CliError(f"{command}: {lake} is a file, not a lake folder")
    layout = LakeLayout.of(lake, state)
    if not is_lake(layout):
        raise CliError(f"{command}: {lake} holds no newsflow lake")
    return layout


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipeline.report import inspect_lines
    from transforms.lake.files import DamagedFileError

    layout = _lake_layout(args.lake, args.state, "inspect")
    try:
        lines = inspect_lines(layout, args.lake)
    except DamagedFileError as error:  # a file of the lake cut short, overwritten
        raise CliError(f"inspect: {error}", EXIT_FAILED) from None
    print("\n".join(lines))
    return EXIT_OK


def cmd_compact(args: argparse.Namespace) -> int:
    from pipeline.launcher import compact
    from transforms.lake.compact import CompactionError
    from transforms.lake.lock import LakeBusyError

    _lake_layout(args.lake, args.state, "compact")
    try:
        report = compact(
            args.lake,
            args.state,
            partition=args.partition,
            target_bytes=int(args.target_mb * 1024 * 1024),
            warn=CliReporter(quiet=args.verbosity < 0).warning,
        )
    except LakeBusyError as error:
        raise CliError(str(error), EXIT_BUSY) from None
    except ValueError as error:
        raise CliError(str(error)) from None
    except CompactionError as error:
        raise CliError(str(error), EXIT_FAILED) from None
    merged = [r for r in report if not r.skipped]
    print(
        f"newsflow compact {args.lake}: {len(merged)} of {len(report)} folders compacted"
        " (the rest: already compact)"
    )
    for r in merged:
        where = f"{r.dataset}/{r.partition}".rstrip("/")
        print(f"  {where:<56} {r.rows_before:>9} rows  {r.files_before} -> {r.files_after} files")
    return EXIT_OK


# --- clean, extract ------------------------------------------------------------------------


# --- the parser ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) and the nearest command or flag suggested."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        if "invalid choice" in message:
            wrong = message.split("'")[1] if "'" in message else ""
            nearest = difflib.get_close_matches(wrong, COMMANDS, n=1)
            if nearest:
                message = f"unknown command {wrong!r} (did you mean {nearest[0]}?)"
        if "unrecognized arguments" in message:
            known = [o for action in self._actions for o in action.option_strings]
            for word in message.split(":", 1)[1].split():
                nearest = difflib.get_close_matches(word.split("=")[0], known, n=1)
                if nearest and word.startswith("-"):
                    message += f" (did you mean {nearest[0]}?)"
                    break
        raise CliError(f"{self.prog}: {message}")


def _verbosity_flags(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument(
        "-v", "--verbose", dest="verbose", action="store_true", default=default, help="Log at INFO level."
    )
    parser.add_argument(
        "-q", "--quiet", dest="quiet", action="store_true", default=default, help="Print errors only."
    )


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="newsflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"newsflow {version()}")
    _verbosity_flags(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    from pipeline.options import NewsflowOptions

    run = sub.add_parser(
        "run",
        help="Run the pipeline (any Beam pipeline option passes through).",
        description="Run the pipeline: seeds as a batch, feeds and sitemaps polled. Any Beam pipeline "
        "option passes through as well (--runner, --project, --region, --temp_location, ...): see "
        "the README's Running at scale.",
    )
    NewsflowOptions._add_argparse_args(run)  # one definition of the options, shared with Beam
    run.set_defaults(func=cmd_run)

    inspect = sub.add_parser("inspect", help="Print the summary of an existing lake.")
    inspect.add_argument("lake", help="The lake's output folder.")
    inspect.add_argument("--state", help="State folder, if not <lake>/state.")
    inspect.set_defaults(func=cmd_inspect)

    compact = sub.add_parser("compact", help="Merge small files per partition (takes the lake's lock).")
    compact.add_argument("lake", help="The lake's output folder.")
    compact.add_argument("--partition", help="Only this partition, e.g. date=2017-09-05/topic=conflict.")
    compact.add_argument(
        "--target_mb", type=float, default=128.0, help="Target file size in MB (default 128)."
    )
    compact.add_argument("--state", help="State folder, if not <lake>/state.")
    compact.set_defaults(func=cmd_compact)

    clean = sub.add_parser("clean", help="Clean files and show each line, kept or removed with its reason.")
    clean.add_argument("files", nargs="+")
    clean.add_argument("--json", action="store_true", help="One JSON line per document instead.")
    clean.set_defaults(func=cmd_clean)

    extract = sub.add_parser("extract", help="Print the record each page (file or URL) would become.")
    extract.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    extract.add_argument("--taxonomy", help="Topic taxonomy JSON file.")
    extract.add_argument(
        "--allow_private_hosts",
        "--allow-private-hosts",
        dest="allow_private_hosts",
        action="store_true",
        help="Allow URLs on loopback and private addresses.",
    )
    extract.add_argument(
        "--allowed_hosts",
        default="",
        help="Comma-separated hosts (or host:port) exempt from the private-address guard.",
    )
    extract.add_argument("--ignore_robots", action="store_true", help="Do not read robots.txt first.")
    extract.add_argument(
        "--explain",
        action="store_true",
        help="Also print how the body was chosen, each dropped block or line and why, and the date's source.",
    )
    extract.set_defaults(func=cmd_extract)
    for name in ("inspect", "compact", "clean", "extract"):
        _verbosity_flags(sub.choices[name])
    return parser


def _split_verbosity(argv: list[str]) -> tuple[list[str], int]:
    """Pull -v/-q out of ``run``'s arguments, where Beam would take them for its own."""
    kept, verbosity = [], 0
    for arg in argv:
        if arg in ("-v", "--verbose"):
            verbosity = 1
        elif arg in ("-q", "--quiet"):
            verbosity = -1
        else:
            kept.append(arg)
    return kept, verbosity


def command() -> NoReturn:
    """The ``newsflow`` console command: ``main``, then an exit without the interpreter's teardown.

    When ``main`` returns, the command's files are closed, its run committed or abandoned and
    its worker processes told to stop. What remains is Python's teardown of the thousands of
    modules Beam imports: about 0.3 s, a tenth of a small scheduled run's wall time
    (BENCHMARKS.md). Logging and the standard streams are flushed first. A worker process still
    there exits on its own once this one is gone (``transforms/core/pool.py``). Tests call
    ``main``, which returns.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None, *, hooks=None) -> int:
    """The ``newsflow`` command; ``hooks`` (``pipeline.launcher.Hooks``) are for the crash tests."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:  # answered before Beam is imported (seconds of start-up)
        print(f"newsflow {version()}")
        return EXIT_OK
    configure_logging(0)
    try:
        parser = make_parser()
        run_at = argv.index("run") if "run" in argv else -1
        if run_at >= 0 and all(a.startswith("-") for a in argv[:run_at]):
            head, verbosity = _split_verbosity(argv[:run_at])
            rest, run_verbosity = _split_verbosity(argv[run_at + 1 :])
            if "-h" in rest or "--help" in rest:  # run's own options, not Beam's hundreds
                parser.parse_args([*head, "run", "--help"])
            args = parser.parse_args([*head, "run"])
            args.argv = rest
            args.verbosity = run_verbosity or verbosity or (1 if args.verbose else -1 if args.quiet else 0)
        else:
            args = parser.parse_args(argv)
            args.verbosity = 1 if args.verbose else -1 if args.quiet else 0
        configure_logging(args.verbosity)
        args.hooks = hooks
        return args.func(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnewsflow: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `newsflow inspect lake | head`
        with contextlib.suppress(OSError):
            sys.stderr.close()
        return EXIT_OK
    except OSError as error:
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        print(f"error: cannot read or write{where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
