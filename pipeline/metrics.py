"""What a finished pipeline reports: counters and the seconds each top-level stage took."""

from __future__ import annotations

import collections
import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _deep_recursion() -> Iterator[None]:
    # The FnApiRunner folds per-bundle metrics through nested generators, one level per
    # bundle: a long streaming run needs more than Python's default recursion depth.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def counter(result, name: str) -> int:
    from apache_beam.metrics.metric import MetricsFilter

    with _deep_recursion():
        counters = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return sum(m.committed if m.committed is not None else m.attempted for m in counters)


def stage_seconds(result) -> dict[str, float]:
    """Seconds spent in each top-level stage, from the runner's execution-time metrics."""
    from apache_beam.metrics.metric import MetricsFilter

    try:
        with _deep_recursion():
            counters = result.monitoring_metrics().query(MetricsFilter())["counters"]
    except Exception:  # noqa: BLE001 - not every runner reports execution time
        return {}
    seconds: dict[str, float] = collections.defaultdict(float)
    for counter in counters:
        if "ptransform_execution_time:total_msecs" in counter.key.metric.name:
            value = counter.committed if counter.committed is not None else counter.attempted
            seconds[counter.key.step.split("/")[0]] += (value or 0) / 1000
    return {stage: round(value, 3) for stage, value in sorted(seconds.items()) if value}
