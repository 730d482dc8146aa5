"""PooledBatches: batches done in a spawned process come back in the windows they came from."""

import os

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import FixedWindows, GlobalWindows, TimestampedValue

from tests.helpers import local_pipeline, tag_with_pid
from transforms.batches import PooledBatches


def test_results_keep_their_windows_when_a_helper_process_does_the_batch():
    # Four one-minute windows of 40 items each, in batches of 20: the first batches go to the
    # spawned process, the rest are done here; every result must stay in its item's window.
    items = list(range(160))

    def place(value_pid, window=beam.DoFn.WindowParam):
        value, pid = value_pid
        return int(window.start), value, pid == os.getpid()

    with local_pipeline() as p:
        out = (
            p
            | beam.Create(items)
            | beam.Map(lambda i: TimestampedValue(i, (i // 40) * 60 + 1))
            | "Minutes" >> beam.WindowInto(FixedWindows(60))
            | PooledBatches(tag_with_pid, (1000,), workers=2, batch_size=20)
            | beam.Map(place)
        )
        assert_that(
            out | beam.Map(lambda row: row[:2]),
            equal_to([((i // 40) * 60, i + 1000) for i in items]),
            label="windows",
        )
        assert_that(
            out
            | beam.Map(lambda row: row[2])
            | "Global" >> beam.WindowInto(GlobalWindows())
            | beam.Distinct(),
            equal_to([False, True]),
            label="both_processes",
        )
