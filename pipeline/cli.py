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
import datetime as dt
import difflib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

_LOGGER = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
COMMANDS = ("run", "inspect", "compact", "clean", "extract")
# Options of ``run`` that take several values after one flag (``--seeds a b``).
MULTI_VALUE = ("--seeds", "--feeds")
# At most this many partitions are listed in a summary; the rest are counted.
MAX_PARTITION_LINES = 20
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


def configure_logging(verbosity: int) -> None:
    """-1 quiet (errors only), 0 normal (warnings of newsflow, not routine ones), 1 verbose (INFO)."""
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_DropNoise())
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in _CHATTY.items():
        logging.getLogger(name).setLevel(quiet_level if verbosity < 1 else level)
    # Beam's own loggers: start-up chatter at INFO, and a failed bundle's traceback at ERROR,
    # which the launcher reports in one line; -v shows them all.
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL if verbosity < 1 else level)


# --- the run reporter ----------------------------------------------------------------------


def _breakdown(counts: dict[str, int]) -> str:
    return "  (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if counts else ""


def format_counts(read: int | None, written: int, duplicates: dict, rejects: dict) -> list[str]:
    dup_total, rej_total = sum(duplicates.values()), sum(rejects.values())
    lines = []
    if read is not None:
        lines.append(f"  read        {read}")
    lines.append(f"  written     {written}")
    lines.append(f"  duplicates  {dup_total}" + _breakdown(duplicates))
    lines.append(f"  rejects     {rej_total}" + _breakdown(rejects))
    if read is not None:
        verdict = "balanced" if read == written + dup_total + rej_total else "NOT BALANCED"
        lines.append(
            f"  check       read {read} = written {written} + duplicates {dup_total}"
            f" + rejects {rej_total}: {verdict}"
        )
    return lines


def format_partitions(partitions: dict[str, Any], limit: int = MAX_PARTITION_LINES) -> list[str]:
    lines = ["  rows per partition:"]
    for partition, rows in list(partitions.items())[:limit]:
        lines.append(f"    {partition:<52} {rows}")
    if len(partitions) > limit:
        lines.append(f"    … and {len(partitions) - limit} more partitions")
    if not partitions:
        lines.append("    (none)")
    return lines


def format_feeds(feeds: dict[str, dict], not_due: Sequence[str]) -> list[str]:
    if not feeds and not not_due:
        return []
    lines = ["  feeds:"]
    for url, feed in feeds.items():
        if feed.get("error"):
            state = f"failed: {feed['error']} {feed.get('detail') or ''}".strip()
        elif feed["status"] == "listed":
            state = f"listed {len(feed.get('feeds') or ())} feed(s)"
        else:
            state = f"{feed['status']}, {feed['new_items']} new"
        lines.append(f"    {url:<52} {state}")
    for url in not_due:
        lines.append(f"    {url:<52} not due")
    return lines


def format_files(files: dict[str, int]) -> str:
    return ", ".join(f"{name} {files.get(name, 0)}" for name in ("articles", "duplicates", "rejects"))


class _Progress:
    """A live line on stderr while a run works: documents per stage, the current stage, the rate."""

    def __init__(self, console) -> None:
        self._console = console
        self._stop = threading.Event()

    @contextlib.contextmanager
    def show(self) -> Iterator[None]:
        from rich.live import Live
        from rich.text import Text

        from transforms import progress

        folder = tempfile.mkdtemp(prefix="newsflow-progress-")
        os.environ[progress.ENV] = folder
        progress.reset()
        started = time.monotonic()
        stage = {"name": "starting", "last": {}}

        def render() -> Text:
            counts = progress.read_progress(folder)
            changed = [s for s in progress.STAGES if counts.get(s, 0) != stage["last"].get(s, 0)]
            if changed:
                stage["name"] = changed[-1]
            stage["last"] = counts
            rate = counts.get("read", 0) / max(1e-6, time.monotonic() - started)
            parts = " · ".join(f"{s} {counts.get(s, 0):,}" for s in progress.STAGES)
            return Text(f"newsflow: {parts} · {rate:,.0f} docs/s · stage: {stage['name']}")

        try:
            with Live(render(), console=self._console, refresh_per_second=4, transient=True) as live:
                stop = threading.Event()

                def refresh() -> None:
                    while not stop.wait(0.25):
                        live.update(render())

                thread = threading.Thread(target=refresh, daemon=True)
                thread.start()
                try:
                    yield
                finally:
                    stop.set()
                    thread.join(timeout=2)
        finally:
            os.environ.pop(progress.ENV, None)
            progress.reset()
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


class CliReporter:
    """Prints what the launcher reports: summaries on stdout, warnings and errors on stderr."""

    def __init__(self, *, quiet: bool = False, show_progress: bool | None = None) -> None:
        self.quiet = quiet
        self._stream_mode = False
        if show_progress is None:
            show_progress = sys.stderr.isatty() and not quiet
        self._show_progress = show_progress

    def warning(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def batches(self, count: int, max_mb: float) -> None:
        if not self.quiet:
            print(f"newsflow run: seeds over {max_mb:g} MB (--max_batch_mb): {count} batches, one run each")

    def batches_finished(self, results) -> None:
        if self.quiet or self._stream_mode:
            return
        duplicates = sum(sum(r.duplicates.values()) for r in results)
        rejects = sum(sum(r.rejects.values()) for r in results)
        print(
            f"newsflow run: {len(results)} batches: read {sum(r.read for r in results)} = written"
            f" {sum(r.written for r in results)} + duplicates {duplicates} + rejects {rejects}",
            flush=True,
        )

    def progress(self, run_id: str) -> contextlib.AbstractContextManager:
        if not self._show_progress:
            return contextlib.nullcontext()
        from rich.console import Console

        return _Progress(Console(stderr=True)).show()

    def _error(self, result) -> None:
        if result.error:
            print(f"error: {result.error}", file=sys.stderr, flush=True)
        if result.note and result.code != EXIT_OK:
            print(f"error: {result.note}", file=sys.stderr, flush=True)

    def run_finished(self, result, layout, *, cycle: int | None = None) -> None:
        from transforms.lake.summary import count_files

        if self._stream_mode:
            self._cycle_line(result)
            self._error(result)
            return
        if not result.committed:
            if result.note and result.code == EXIT_OK and not self.quiet:
                print(f"newsflow run: {result.note}", flush=True)
            self._error(result)
            return
        if not self.quiet:
            lines = [f"newsflow run {result.run_id} -> {layout.output} ({result.seconds:.1f} s)"]
            lines += format_counts(result.read, result.written, result.duplicates, result.rejects)
            lines.append(f"  files       {format_files(result.files)} (this run)")
            lines.append(f"  lake        {format_files(count_files(layout))} files in all")
            lines += format_feeds(result.feeds, result.feeds_not_due)
            lines += format_partitions(result.partitions)
            if result.index:
                index = result.index
                lines.append(
                    f"  dedup index {index['entries_loaded']} entries, {index['bytes_read'] / 1e6:.1f} MB,"
                    f" loaded in {index['load_seconds']:.2f} s"
                )
            lines.append(f"  run record  {result.record_path}")
            print("\n".join(lines), flush=True)
        self._error(result)

    def stream_started(self) -> None:
        self._stream_mode = True

    def _cycle_line(self, result) -> None:
        if self.quiet:
            return
        now = dt.datetime.now().strftime("%H:%M:%S")
        polled = len(result.feeds)
        failed = sum(1 for feed in result.feeds.values() if feed.get("error"))
        unchanged = sum(1 for feed in result.feeds.values() if feed["status"] == "not_modified")
        extra = f" ({unchanged} not modified, {failed} failed)" if unchanged or failed else ""
        print(
            f"{now} {result.run_id}: {polled} feeds polled{extra}, {result.read} read,"
            f" {result.written} new rows" + (f" [{result.note}]" if result.note else ""),
            flush=True,
        )

    def stream_finished(self, results, layout, cycles: int) -> None:
        self._stream_mode = False
        if self.quiet:
            return
        duplicates: dict[str, int] = {}
        rejects: dict[str, int] = {}
        partitions: dict[str, int] = {}
        files: dict[str, int] = {}
        feeds: dict[str, dict] = {}
        for result in results:
            for total, part in ((duplicates, result.duplicates), (rejects, result.rejects)):
                for key, value in part.items():
                    total[key] = total.get(key, 0) + value
            for key, value in result.partitions.items():
                partitions[key] = partitions.get(key, 0) + value
            for key, value in result.files.items():
                files[key] = files.get(key, 0) + value
            feeds.update(result.feeds)
        read = sum(r.read for r in results)
        written = sum(r.written for r in results)
        committed = sum(1 for r in results if r.committed)
        from transforms.lake.summary import count_files

        lines = [f"newsflow stream -> {layout.output}: {cycles} cycle(s), {committed} committed run(s)"]
        lines += format_counts(read, written, duplicates, rejects)
        lines.append(f"  files       {format_files(files)} (this stream)")
        lines.append(f"  lake        {format_files(count_files(layout))} files in all")
        lines += format_feeds(feeds, [])
        lines += format_partitions(dict(sorted(partitions.items())))
        print("\n".join(lines), flush=True)


# --- run -----------------------------------------------------------------------------------


def _run_option_parser() -> argparse.ArgumentParser:
    """Every option newsflow and any Beam runner define, as one parser (for checking argv)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, conflict_handler="resolve")
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
    _, unknown = parser.parse_known_args(out)
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
    from pipeline.launcher import LaunchFailed, UsageError, launch

    argv = normalize_run_argv(args.argv)
    reporter = CliReporter(quiet=args.verbosity < 0)
    try:
        return launch(argv, reporter)
    except UsageError as error:
        raise CliError(str(error)) from None
    except LaunchFailed as error:
        raise CliError(str(error), EXIT_FAILED) from None


# --- inspect, compact ----------------------------------------------------------------------


def _lake_layout(lake: str, state: str | None, command: str):
    from schemas.layout import LakeLayout
    from transforms.lake.summary import is_lake

    if "://" not in lake and os.path.exists(lake) and not os.path.isdir(lake):
        raise CliError(f"{command}: {lake} is a file, not a lake folder")
    layout = LakeLayout.of(lake, state)
    if not is_lake(layout):
        raise CliError(f"{command}: {lake} holds no newsflow lake")
    return layout


def cmd_inspect(args: argparse.Namespace) -> int:
    from transforms.lake.cursors import load_feed_cursors
    from transforms.lake.summary import count_files, lake_summary, last_runs, partition_files

    layout = _lake_layout(args.lake, args.state, "inspect")
    summary = lake_summary(layout)
    files = partition_files(layout)
    partitions = {
        partition: f"{rows} rows in {files.get(partition, 0)} files"
        for partition, rows in summary["partitions"].items()
    }
    lines = [f"newsflow lake {args.lake}"]
    lines += format_counts(None, summary["written"], summary["duplicates"], summary["rejects"])
    lines.append(f"  files       {format_files(count_files(layout))}")
    lines += format_partitions(partitions)
    runs = last_runs(layout)
    if runs:
        lines.append("  last runs:")
        for run in runs:
            counts = run.get("counts", {})
            verdict = "balanced" if run.get("balanced") else "NOT BALANCED"
            when = run.get("finished_at", run.get("started_at", "?"))
            lines.append(
                f"    {run['run_id']}  {run.get('mode', '?'):<12} {when}"
                f"  read {counts.get('read')}  written {counts.get('written')}  {verdict}"
            )
    cursors = load_feed_cursors(layout)
    if cursors:
        lines.append("  feed health:")
        for url, cursor in sorted(cursors.items()):
            health = (
                "ok"
                if cursor.consecutive_failures == 0
                else f"{cursor.consecutive_failures} failures in a row"
            )
            lines.append(
                f"    {url:<52} {cursor.last_status or '?':<12} {health};"
                f" last success {cursor.last_success or 'never'}; next poll {cursor.next_poll_at or 'now'}"
            )
            if cursor.last_error:
                lines.append(f"      last error: {cursor.last_error}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_compact(args: argparse.Namespace) -> int:
    from pipeline.launcher import compact
    from transforms.lake.compact import CompactionError
    from transforms.lake.lock import LakeBusyError

    _lake_layout(args.lake, args.state, "compact")
    try:
        report = compact(
            args.lake, args.state, partition=args.partition, target_bytes=int(args.target_mb * 1024 * 1024)
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


def _documents(inputs: Sequence[str], policy=None) -> Iterator[Any]:
    """Articles (or rejects) from files or URLs given on the command line, read exactly as
    ``run`` reads them (JSONL line by line, each line decoded on its own)."""
    from schemas.records import Article, Reject, stable_id
    from transforms.core.http import Fetcher
    from transforms.core.http_policy import FetchPolicy
    from transforms.core.seeds import is_jsonl, parse_seed_file, read_jsonl_stream
    from transforms.fetch import decode_page

    now = dt.datetime.now(dt.timezone.utc)
    fetcher = None
    try:
        for value in inputs:
            if value.lower().startswith(("http://", "https://")):
                fetcher = fetcher or Fetcher(policy or FetchPolicy())
                result = fetcher.fetch(value, kind="page")
                if not result.ok:
                    yield Reject(value, value, "fetch", result.error or "empty_page", result.detail)
                    continue
                yield Article(
                    id=stable_id(result.final_url),
                    source=value,
                    text_source="page",
                    ingested_at=now,
                    url=result.final_url,
                    html=decode_page(result),
                )
                continue
            name = os.path.basename(value)
            try:
                if is_jsonl(name):
                    with open(value, "rb") as handle:
                        yield from read_jsonl_stream(name, handle, now)
                    continue
                with open(value, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                yield Reject(value, None, "read", "unreadable", error.strerror or str(error))
                continue
            yield from parse_seed_file(name, data, now)
    finally:
        if fetcher is not None:
            fetcher.close()


def _reject_json(reject) -> str:
    return json.dumps(
        {
            "source": reject.source,
            "url": reject.url,
            "stage": reject.stage,
            "reject": reject.reason,
            "detail": reject.detail,
        },
        ensure_ascii=False,
    )


def _removed_json(removed) -> dict[str, Any]:
    entry = {"line": removed.line_no, "reason": removed.reason, "text": removed.text}
    for field in ("rule", "score"):
        if getattr(removed, field, None) is not None:
            entry[field] = getattr(removed, field)
    return entry


def _clean_view(source: str, text: str, cleaned, title: str | None, reject: str | None) -> str:
    """Every line of a document, kept or removed with its reason."""
    removed = {r.line_no: r for r in cleaned.removed}
    lines = text.split("\n")
    kept = sum(1 for n, line in enumerate(lines, 1) if line.strip() and n not in removed)
    header = f"== {source}: {kept} lines kept, {len(removed)} removed"
    if title:
        header += f"; title: {title}"
    if reject:
        header += f"; REJECTED as {reject}"
    out = [header]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        shown = line.strip()
        shown = shown if len(shown) <= 90 else shown[:89] + "…"
        entry = removed.get(number)
        if entry is None:
            out.append(f"{number:>5}  kept                           | {shown}")
        else:
            why = entry.reason
            rule, score = getattr(entry, "rule", None), getattr(entry, "score", None)
            if rule:
                why += f" [{rule}]"
            elif score is not None:
                why += f" [{score:.2f}]"
            out.append(f"{number:>5}  removed {why:<23}| {shown}")
    return "\n".join(out)


def cmd_clean(args: argparse.Namespace) -> int:
    """Per input: each line kept or removed with its reason (``--json``: one JSON line each)."""
    from schemas.records import Reject
    from transforms.clean import clean_document
    from transforms.extract import extract_document

    code = EXIT_OK
    for doc in _documents(args.files):
        extracted = doc if isinstance(doc, Reject) else extract_document(doc)
        if isinstance(extracted, Reject):
            if extracted.stage == "read" and extracted.reason == "unreadable":
                print(f"error: {extracted.source}: {extracted.detail}", file=sys.stderr)
                code = EXIT_FAILED
                continue
            print(
                _reject_json(extracted)
                if args.json
                else f"== {extracted.source}: rejected as {extracted.reason} ({extracted.detail})"
            )
            continue
        result, cleaned = clean_document(extracted)
        reject = result.reason if isinstance(result, Reject) else None
        if args.json:
            record = {
                "source": extracted.source,
                "title": extracted.title or cleaned.title,
                "byline": cleaned.byline,
                "text": cleaned.text,
                "removed": [_removed_json(r) for r in cleaned.removed],
            }
            if reject:
                record["reject"] = reject
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(
                _clean_view(
                    extracted.source, extracted.text, cleaned, extracted.title or cleaned.title, reject
                )
            )
    return code


def cmd_extract(args: argparse.Namespace) -> int:
    """One JSON line per page (file or URL): the row that would be stored, or the reject."""
    from schemas.records import Reject, article_row
    from transforms.clean import clean_document
    from transforms.core.http_policy import FetchPolicy
    from transforms.enrich import enrich, load_language_identifier
    from transforms.extract import extract_document
    from transforms.topics import load_taxonomy

    policy = FetchPolicy(
        allow_private_hosts=args.allow_private_hosts,
        allowed_hosts=tuple(h.strip().lower() for h in args.allowed_hosts.split(",") if h.strip()),
        respect_robots=not args.ignore_robots,
    )
    try:
        taxonomy = load_taxonomy(args.taxonomy)
    except (OSError, ValueError) as error:
        raise CliError(f"--taxonomy {args.taxonomy}: {error}") from None
    identifier = load_language_identifier()
    code = EXIT_OK
    for doc in _documents(args.files, policy):
        result = doc if isinstance(doc, Reject) else extract_document(doc)
        if not isinstance(result, Reject):
            result, _ = clean_document(result)
        if isinstance(result, Reject):
            if result.stage in ("read", "fetch"):
                code = EXIT_FAILED
            print(_reject_json(result))
            continue
        article = enrich(result, taxonomy=taxonomy, identifier=identifier)
        row = article_row(article) | {"removed": [{"reason": r, "text": t} for r, t in article.removed]}
        print(json.dumps(row, ensure_ascii=False, default=str))
    return code


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

    run = sub.add_parser("run", help="Run the pipeline (any Beam pipeline option passes through).")
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


def main(argv: Sequence[str] | None = None) -> int:
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
            args = parser.parse_args([*head, "run"])
            args.argv = rest
            args.verbosity = run_verbosity or verbosity or (1 if args.verbose else -1 if args.quiet else 0)
        else:
            args = parser.parse_args(argv)
            args.verbosity = 1 if args.verbose else -1 if args.quiet else 0
        configure_logging(args.verbosity)
        return args.func(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
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
