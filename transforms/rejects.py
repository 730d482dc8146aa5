"""Rejects on every stage's ``rejects`` output, each counted under its reason.

    yield rejected(self.__class__, Reject(source, url, "fetch", "http_404", detail, run_id, at))

counts ``rejected`` and ``rejected_http_404`` on the DoFn's class, as datatrove counts
``dropped_<reason>``, and tags the record for the graph's reject sink.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Reject

__all__ = ["REJECTS_TAG", "rejected"]

REJECTS_TAG = "rejects"


def rejected(owner: type, reject: Reject) -> beam.pvalue.TaggedOutput:
    """``reject`` tagged ``rejects``, counted as ``rejected`` and ``rejected_<reason>`` of ``owner``."""
    Metrics.counter(owner, "rejected").inc()
    Metrics.counter(owner, f"rejected_{reject.reason}").inc()
    return beam.pvalue.TaggedOutput(REJECTS_TAG, reject)
