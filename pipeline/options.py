"""newsflow's pipeline options: one ``PipelineOptions`` subclass.

The Dataflow template's ``deploy/dataflow/metadata.json`` names these same parameters.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions


class NewsflowOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--seeds",
            default=None,
            help="Folder, file or glob of seed documents (.txt, .html/.htm, .jsonl).",
        )
        parser.add_argument(
            "--output",
            default="lake",
            help="Output folder (local, gs:// or s3://): articles/, duplicates/, rejects/, runs/, state/.",
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
            help="A line repeated in at least this many documents of one site in a run is site boilerplate.",
        )
        parser.add_argument(
            "--run_id",
            default=None,
            help="Identifier of this run (default: UTC timestamp plus a random suffix).",
        )
