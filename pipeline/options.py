"""newsflow's pipeline options: one ``PipelineOptions`` subclass.

The Dataflow template's ``deploy/dataflow/metadata.json`` names these same parameters.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

DEFAULT_USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"


class NewsflowOptions(PipelineOptions):
    """newsflow's options; ``NewsflowOptions(argv)`` is also the launcher's options object.

    As that object it hands out each class's view once: Beam asks the pipeline's options for
    a view several times for every transform applied and every type checked
    (``view_as(TypeOptions)``), and builds a new argument parser and parses every flag each
    time, about a quarter of the CPU of building and running a small pipeline. Views of one
    options object share its values (Beam's ``view_as``), so a view made once reads and writes
    what a new one would; the made views stay out of a copy or a pickle of the options.
    """

    def view_as(self, cls):
        views = self.__dict__.setdefault("_views", {})
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self):
        state = super().__getstate__()
        return {name: value for name, value in state.items() if name != "_views"}

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--seeds",
            action="append",
            default=None,
            help=(
                "Folders, files or globs of seed documents (.txt, .html/.htm, .jsonl, each also .gz; WARC"
                " files, .warc or .warc.gz); several after the flag, repeated, or separated by commas."
            ),
        )
        parser.add_argument(
            "--feeds",
            action="append",
            default=None,
            help=(
                "Feed URLs (RSS, Atom, JSON Feed, an OPML list, or a page that links its feed), files of"
                " feed URLs (one per line), OPML files or saved feed files; several after the flag,"
                " repeated, or separated by commas."
            ),
        )
        parser.add_argument(
            "--sitemaps",
            action="append",
            default=None,
            help=(
                "Sitemap URLs (sitemaps, sitemap indexes, Google News sitemaps, .xml.gz), site URLs whose"
                " robots.txt names their sitemaps, or files of such URLs (one per line) or saved sitemaps;"
                " polled like feeds. Several after the flag, repeated, or separated by commas."
            ),
        )
        parser.add_argument(
            "--since",
            default=None,
            help=(
                "Sitemap entries older than this are not fetched: a duration back from each poll (2d, 36h,"
                " 90m) or an ISO date or time (default: 2d). The date read is the news publication date,"
                " else lastmod; undated entries are fetched."
            ),
        )
        parser.add_argument(
            "--output",
            default="lake",
            help="Output folder (local, gs://, s3://): articles/, duplicates/, rejects/, runs/, state/.",
        )
        parser.add_argument(
            "--state",
            default=None,
            help=(
                "State folder: feed cursors and the dedup index (default: <output>/state). A lake"
                " records where its state lives; another location is an error without --move_state."
            ),
        )
        parser.add_argument(
            "--move_state",
            action="store_true",
            default=False,
            help="Move the lake's state from where the lake recorded it to --state (or <output>/state).",
        )
        parser.add_argument(
            "--taxonomy",
            default=None,
            help="Topic taxonomy JSON file (default: the packaged IPTC Media Topics top level).",
        )
        parser.add_argument(
            "--site_min_docs",
            type=int,
            default=3,
            help="A line held by at least this many documents of one site (this run's and the site memory's)"
            " is site boilerplate.",
        )
        parser.add_argument(
            "--site_memory_days",
            type=int,
            default=30,
            help="The site memory (state/sites/) forgets lines not seen for this many days.",
        )
        parser.add_argument(
            "--stream",
            action="store_true",
            default=False,
            help="Keep polling the feeds every --poll_interval seconds until --duration or Ctrl-C.",
        )
        parser.add_argument(
            "--poll_interval",
            "--poll-interval",
            dest="poll_interval",
            type=float,
            default=300.0,
            help="Seconds between polls in stream mode, and the shortest interval of any feed.",
        )
        parser.add_argument(
            "--max_poll_interval",
            type=float,
            default=None,
            help=(
                "Adapt each feed's interval to how often it publishes, up to this many seconds (default:"
                " 3600 in batch runs; in stream mode, intervals adapt only when this is given, otherwise"
                " every feed is polled every --poll_interval)."
            ),
        )
        parser.add_argument(
            "--poll_now",
            action="store_true",
            default=False,
            help="Poll every feed now, whatever its schedule says.",
        )
        parser.add_argument(
            "--unbounded",
            action="store_true",
            default=False,
            help="With --stream on a local runner: run the streaming graph itself (needs --duration).",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="Stop stream mode after this many seconds (default: run until Ctrl-C).",
        )
        parser.add_argument(
            "--dedup_horizon",
            "--dedup-horizon",
            dest="dedup_horizon",
            type=float,
            default=30.0,
            help="Days a kept article goes on catching its copies (dedup index and streaming state).",
        )
        parser.add_argument(
            "--workers",
            dest="workers",
            type=int,
            default=0,
            help=(
                "Processes that share the heavy stages' batches on a local runner (0, the"
                " default: one per CPU core; 1: this process only). Distributed runners scale"
                " workers themselves: there each worker uses one process."
            ),
        )
        parser.add_argument(
            "--max_batch_mb",
            "--max-batch-mb",
            dest="max_batch_mb",
            type=float,
            # The largest batch measured whose 100,000-document backfill stays under 2 GB of RSS
            # (1,797 MB in benchmarks/run.py --pipeline-at-scale; 128 MB peaked at 2,076 in a
            # one-off run): BENCHMARKS.md, round 10.
            default=96.0,
            help=(
                "On a local runner, which holds a run's data in memory: seeds larger than this"
                " run as consecutive batches, each a committed run deduplicated against the ones"
                " before (0: one run, whatever the size)."
            ),
        )
        parser.add_argument(
            "--allow_private_hosts",
            "--allow-private-hosts",
            dest="allow_private_hosts",
            action="store_true",
            default=False,
            help="Allow fetching from loopback and private addresses (local use and tests; off by default).",
        )
        parser.add_argument(
            "--allowed_hosts",
            default="",
            help="Comma-separated hosts exempt from the private-address guard (which stays on for others).",
        )
        parser.add_argument(
            "--fetch_timeout",
            type=float,
            default=15.0,
            help="Seconds to wait for a server's response (connect timeout: a third of it, at most 5 s).",
        )
        parser.add_argument(
            "--max_page_bytes",
            type=int,
            default=5_000_000,
            help="Largest response body accepted, after decompression; a larger one is a reject.",
        )
        parser.add_argument(
            "--max_record_bytes",
            type=int,
            default=5_000_000,
            help="Largest seed record (a file, or one JSONL line) accepted; a larger one is a reject.",
        )
        parser.add_argument(
            "--ignore_robots",
            action="store_true",
            default=False,
            help="Do not read robots.txt before fetching (it is respected by default).",
        )
        parser.add_argument(
            "--min_host_interval",
            type=float,
            default=1.0,
            help="Seconds between two requests to one host.",
        )
        parser.add_argument(
            "--fetch_user_agent",
            default=DEFAULT_USER_AGENT,
            help="User-Agent sent with every request.",
        )
        parser.add_argument(
            "--run_id",
            default=None,
            help="Identifier of this run (default: UTC timestamp plus a random suffix).",
        )


# A quiet feed's longest poll interval in batch runs (stream mode polls every --poll_interval
# unless --max_poll_interval asks for adaptive intervals).
DEFAULT_MAX_POLL_INTERVAL = 3600.0
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def poll_bounds(nf: NewsflowOptions) -> tuple[float, float]:
    """The shortest and longest poll interval of a feed in this run (seconds)."""
    if nf.max_poll_interval is not None:
        return nf.poll_interval, max(nf.max_poll_interval, nf.poll_interval)
    if nf.stream:
        return nf.poll_interval, nf.poll_interval
    return nf.poll_interval, max(DEFAULT_MAX_POLL_INTERVAL, nf.poll_interval)


def split_values(values: Sequence[str] | None) -> list[str]:
    """The values of a repeatable option: every occurrence, split at commas, in order, once each.

    A comma inside a URL's query or path (``?tags=a,b``) does not split it: a piece that
    follows a URL of the same occurrence and is not itself a URL or an existing path
    belongs to that URL. A value naming an existing local path is kept whole.
    """
    out: list[str] = []
    for value in values or ():
        if os.path.exists(value):
            out.append(value)
            continue
        pieces: list[str] = []
        for piece in value.split(","):
            stripped = piece.strip()
            if not stripped:
                continue
            if (
                pieces
                and _SCHEME.match(pieces[-1])
                and not _SCHEME.match(stripped)
                and not os.path.exists(stripped)
            ):
                pieces[-1] += "," + piece
            else:
                pieces.append(stripped)
        out.extend(pieces)
    return list(dict.fromkeys(out))


def option_values(nf: NewsflowOptions) -> dict[str, Any]:
    parser = argparse.ArgumentParser(add_help=False)
    NewsflowOptions._add_argparse_args(parser)
    return {action.dest: getattr(nf, action.dest, None) for action in parser._actions}
