"""What the CLI prints: run and stream summaries, live progress, per-line cleaning views."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.results import EXIT_OK

# At most this many partitions are listed in a summary; the rest are counted.
MAX_PARTITION_LINES = 20


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
            listed = "sitemap(s)" if feed.get("kind") in ("sitemap", "robots") else "feed(s)"
            state = f"listed {len(feed.get('feeds') or ())} {listed}"
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
                shared = index.get("entries_shared")
                lines.append(
                    f"  dedup index {index['entries_loaded']} entries"
                    + (f" ({shared} sharing a key with this run)" if shared is not None else "")
                    + f", {index['bytes_read'] / 1e6:.1f} MB, loaded in {index['load_seconds']:.2f} s"
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

    def stream_finished(self, totals, layout) -> None:
        self._stream_mode = False
        if self.quiet:
            return
        from transforms.lake.summary import count_files

        runs = f"{totals.cycles} cycle(s), {totals.committed} committed run(s)"
        lines = [f"newsflow stream -> {layout.output}: {runs}"]
        lines += format_counts(totals.read, totals.written, totals.duplicates, totals.rejects)
        lines.append(f"  files       {format_files(totals.files)} (this stream)")
        lines.append(f"  lake        {format_files(count_files(layout))} files in all")
        lines += format_feeds(totals.feeds, [])
        lines += format_partitions(dict(sorted(totals.partitions.items())))
        print("\n".join(lines), flush=True)


def reject_json(reject) -> str:
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


def removed_json(removed) -> dict[str, Any]:
    entry = {"line": removed.line_no, "reason": removed.reason, "text": removed.text}
    for field in ("rule", "score"):
        if getattr(removed, field, None) is not None:
            entry[field] = getattr(removed, field)
    return entry


def clean_view(source: str, text: str, cleaned, title: str | None, reject: str | None) -> str:
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
    whys = {number: _why_removed(entry) for number, entry in removed.items()}
    # One column for the reasons, as wide as this document's longest.
    width = max([23, *map(len, whys.values())])
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        shown = line.strip()
        shown = shown if len(shown) <= 90 else shown[:89] + "…"
        status = f"removed {whys[number]}" if number in whys else "kept"
        out.append(f"{number:>5}  {status:<{width + 8}}| {shown}")
    return "\n".join(out)


def _why_removed(entry) -> str:
    """A removed line's reason, with the rule that fired or else the model's score."""
    rule, score = getattr(entry, "rule", None), getattr(entry, "score", None)
    if rule:
        return f"{entry.reason} [{rule}]"
    if score is not None:
        return f"{entry.reason} [{score:.2f}]"
    return entry.reason


def inspect_lines(layout, lake: str) -> list[str]:
    """``newsflow inspect``: the lake's counts, files, partitions, last runs, and each feed's and
    sitemap's health."""
    from transforms.lake.cursors import load_feed_cursors, sitemap_sources
    from transforms.lake.summary import count_files, lake_summary, last_runs, partition_files

    summary = lake_summary(layout)
    files = partition_files(layout)
    partitions = {
        partition: f"{rows} rows in {files.get(partition, 0)} files"
        for partition, rows in summary["partitions"].items()
    }
    lines = [f"newsflow lake {lake}"]
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
    sitemaps = sitemap_sources(cursors)
    for title, group in (("feed", set(cursors) - sitemaps), ("sitemap", sitemaps)):
        if group:
            lines += _health_lines(title, {url: cursors[url] for url in group})
    return lines


def _health_lines(title: str, cursors: dict) -> list[str]:
    """Each source's health: its last status, failures in a row, last success and next poll."""
    lines = [f"  {title} health:"]
    for url, cursor in sorted(cursors.items()):
        health = (
            "ok" if cursor.consecutive_failures == 0 else f"{cursor.consecutive_failures} failures in a row"
        )
        lines.append(
            f"    {url:<52} {cursor.last_status or '?':<12} {health};"
            f" last success {cursor.last_success or 'never'}; next poll {cursor.next_poll_at or 'now'}"
        )
        if cursor.last_error:
            lines.append(f"      last error: {cursor.last_error}")
    return lines
