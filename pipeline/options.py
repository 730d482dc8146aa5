"""newsflow's pipeline options: one ``PipelineOptions`` subclass.

The Dataflow template's ``deploy/dataflow/metadata.json`` names these same parameters.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

DEFAULT_USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"


class NewsflowOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--seeds",
            default=None,
            help="Folder, file or glob of seed documents (.txt, .html/.htm, .jsonl).",
        )
        parser.add_argument(
            "--feeds",
            action="append",
            default=None,
            help="Feed URL, file of feed URLs (one per line) or OPML file; repeat or separate with commas.",
        )
        parser.add_argument(
            "--output",
            default="lake",
            help="Output folder (local, gs://, s3://): articles/, duplicates/, rejects/, runs/, state/.",
        )
        parser.add_argument(
            "--state",
            default=None,
            help="State folder: feed cursors and the dedup index (default: <output>/state).",
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
            default=3600.0,
            help="The longest poll interval of a quiet feed (intervals adapt to how often a feed publishes).",
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
            "--max_batch_mb",
            "--max-batch-mb",
            dest="max_batch_mb",
            type=float,
            default=64.0,
            help=(
                "On a local runner, which holds a run's data in memory: seeds larger than this"
                " run as consecutive batches, each a committed run deduplicated against the ones"
                " before (0: one run, whatever the size)."
            ),
        )
        parser.add_argument(
            "--seed_batch",
            default=None,
            help="I/K: read only the I-th of K slices of the seed records (set by the local launcher).",
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
