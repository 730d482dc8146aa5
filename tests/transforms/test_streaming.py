"""The streaming halves of deduplication and writing, on TestStream.

Real pipelines on the BundleBasedDirectRunner with ``--streaming`` (it runs TestStream;
the FnApiRunner does not, and the plain DirectRunner would first download Prism).
Windows are one minute from ``T0``; ``at(article, 61)`` puts an article in window 1.
"""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream as Stream  # pytest would collect TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import (
    FixedWindows,
    GlobalWindow,
    GlobalWindows,
    IntervalWindow,
    TimestampedValue,
)
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from schemas.parquet import ARTICLE_FILE_SCHEMA, PARTITION_SCHEMA, partition_path
from schemas.records import Article, article_row
from tests.helpers import edited, fingerprinted, seed_body
from transforms.core.dedup import dedup_entry, dedup_keys, match
from transforms.core.fingerprints import unpack_minhash
from transforms.dedup_stream import (
    _LOOKUP,
    _SEED,
    _SURVIVOR,
    StreamingDeduplicate,
    _MatchAcrossWindowsFn,
    state_candidate,
)
from transforms.lake.files import INPROGRESS_SUFFIX
from transforms.write import WriteParquet, file_name, window_tag

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, tzinfo=UTC)
T0 = int(NOW.timestamp())
WINDOW = 60
URL = "https://example.org/2017/09/siege-broken"
body = seed_body


def make(id_: str, text: str, url: str | None = None, published: dt.datetime | None = None) -> Article:
    return fingerprinted(id_, text, url, published, run_id="r1")


def at(article: Article, seconds: float) -> TimestampedValue:
    return TimestampedValue(article, T0 + seconds)


def window_index(window: IntervalWindow) -> int:
    return (window.start.micros // 1_000_000 - T0) // WINDOW


def streaming_pipeline() -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))


def deduplicate(p: beam.Pipeline, stream: Stream, **kwargs) -> dict:
    return p | stream | beam.WindowInto(FixedWindows(WINDOW)) | StreamingDeduplicate(**kwargs)


def check(out: dict, kept: list, duplicates: list, late: list | None = None) -> None:
    """Asserts the outputs with each element's window: (id, window) and (id, duplicate_of, kind, window)."""
    assert_that(
        out["kept"] | "KeptIds" >> beam.Map(lambda a, w=beam.DoFn.WindowParam: (a.id, window_index(w))),
        equal_to(kept),
        label="CheckKept",
    )
    assert_that(
        out["duplicates"]
        | "DuplicateIds"
        >> beam.Map(lambda d, w=beam.DoFn.WindowParam: (d.id, d.duplicate_of, d.kind, window_index(w))),
        equal_to(duplicates),
        label="CheckDuplicates",
    )
    if late is not None:
        assert_that(
            out["late"] | "LateIds" >> beam.Map(lambda a, w=beam.DoFn.WindowParam: (a.id, window_index(w))),
            equal_to(late),
            label="CheckLate",
        )


def test_copies_in_later_windows_point_at_the_original_and_each_window_writes_its_own_files(tmp_path):
    base = body("003")
    published = dt.datetime(2017, 9, 5, 9, tzinfo=UTC)
    stream = (
        Stream()
        .advance_watermark_to(T0)
        .add_elements([at(make("s003", base, URL, published), 1), at(make("s000", body("000")), 2)])
        .advance_watermark_to(T0 + WINDOW)
        .add_elements(
            [
                at(make("v-exact", base.upper()), 61),
                at(make("v-edited", edited(base)), 62),
                at(make("v-utm", "A rewritten report.", URL + "/?utm_source=twitter&utm_medium=social"), 63),
                # Another report on the same event: kept.
                at(make("s004", body("004"), "https://example.net/deir-ez-zor"), 64),
            ]
        )
        .advance_watermark_to(T0 + 2 * WINDOW)
        .add_elements([at(make("s004-again", body("004")), 121)])
        .advance_watermark_to_infinity()
    )
    articles = str(tmp_path / "articles")
    with streaming_pipeline() as p:
        out = deduplicate(p, stream)
        check(
            out,
            kept=[("s003", 0), ("s000", 0), ("s004", 1)],
            duplicates=[
                # v-exact was a copy of v-edited within window 1 too; the earlier window wins.
                ("v-exact", "s003", "exact", 1),
                ("v-edited", "s003", "near", 1),
                ("v-utm", "s003", "url", 1),
                ("s004-again", "s004", "exact", 2),
            ],
        )
        (
            out["kept"]
            | "KeyByPartition" >> beam.Map(lambda a: (partition_path(a.published, a.topic), article_row(a)))
            | "WriteArticles" >> WriteParquet(articles, ARTICLE_FILE_SCHEMA, dataset="articles", prefix="r1")
        )

    files = sorted(f.relative_to(tmp_path).as_posix() for f in tmp_path.rglob("*") if f.is_file())
    assert not [f for f in files if "/." in f or f.endswith(INPROGRESS_SUFFIX)], files
    # Window 0 writes two partitions, window 1 one; both write to the undated partition,
    # in files of their own.
    assert sorted(f.rsplit("/", 1)[1].split("-")[2] for f in files) == [
        "w20261122T000000Z",
        "w20261122T000000Z",
        "w20261122T000100Z",
    ]
    undated = [f for f in files if "date=unknown" in f]
    assert len(undated) == 2 and len({f.rsplit("/", 1)[1] for f in undated}) == 2
    table = ds.dataset(articles, partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive")).to_table()
    assert sorted(table.column("id").to_pylist()) == ["s000", "s003", "s004"]


def test_within_a_window_priority_wins_whatever_the_arrival_order():
    text = body("001")
    early = dt.datetime(2017, 9, 5, tzinfo=UTC)
    late = dt.datetime(2017, 9, 6, tzinfo=UTC)
    # Both windows are released at once, as for a job catching up: window 0 still wins.
    stream = (
        Stream()
        .advance_watermark_to(T0)
        .add_elements([at(make("a-published-later", text, published=late), 1)])
        .add_elements([at(make("z-published-first", text.upper(), published=early), 2)])
        .add_elements([at(make("s003", body("003")), 3), at(make("s004", body("004")), 4)])
        .add_elements([at(make("b-copy", edited(body("003"))), 61), at(make("c-copy", text), 62)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        check(
            deduplicate(p, stream),
            kept=[("z-published-first", 0), ("s003", 0), ("s004", 0)],
            duplicates=[
                ("a-published-later", "z-published-first", "exact", 0),
                ("b-copy", "s003", "near", 1),
                ("c-copy", "z-published-first", "exact", 1),
            ],
        )


def test_late_articles_come_out_on_late_and_are_counted():
    # Late articles come first here: the BundleBasedDirectRunner commits a step's
    # metrics from its first bundle only (its state sampler keeps the first bundle's
    # metrics container), so a count taken from a later bundle would read as zero.
    stream = (
        Stream()
        .advance_watermark_to(T0 + 2 * WINDOW)
        .add_elements([at(make("late-a", body("003")), 5), at(make("late-b", body("000")), 10)])
        .advance_watermark_to(T0 + 3 * WINDOW)
        # A late article never reached the state: its copy in a later window is kept.
        .add_elements([at(make("on-time", body("003").upper()), 181)])
        .advance_watermark_to_infinity()
    )
    p = streaming_pipeline()
    check(
        deduplicate(p, stream),
        kept=[("on-time", 3)],
        duplicates=[],
        late=[("late-a", 0), ("late-b", 0)],
    )
    result = p.run()
    result.wait_until_finish()
    (counter,) = result.metrics().query(MetricsFilter().with_name("late_articles"))["counters"]
    assert counter.committed == 2


def test_a_copy_after_the_horizon_is_kept_and_starts_over():
    text = body("002")
    stream = (
        Stream()
        .advance_watermark_to(T0)
        .add_elements([at(make("first", text), 1)])
        .advance_watermark_to(T0 + WINDOW)
        .add_elements([at(make("within-horizon", text), 61)])
        # Past the first one's end + horizon: its expiry timer fires and clears the state.
        .advance_watermark_to(T0 + 5 * WINDOW)
        .add_elements([at(make("after-horizon", text), 301)])
        .advance_watermark_to(T0 + 6 * WINDOW)
        .add_elements([at(make("copy-of-the-new-one", text), 361)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        check(
            deduplicate(p, stream, horizon=dt.timedelta(seconds=2 * WINDOW)),
            kept=[("first", 0), ("after-horizon", 5)],
            duplicates=[
                ("within-horizon", "first", "exact", 1),
                ("copy-of-the-new-one", "after-horizon", "exact", 6),
            ],
        )


def test_seed_index_from_earlier_runs_wins_over_the_stream():
    kept_yesterday = make("s003-yesterday", body("003"), URL)
    seen_at = (T0 - 24 * 3600) * 1_000_000
    stream = (
        Stream()
        .advance_watermark_to(T0)
        .add_elements([at(make("today", body("003").upper()), 1), at(make("new", body("000")), 2)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        index = p | "ReadIndex" >> beam.Create([state_candidate(dedup_entry(kept_yesterday, seen_at))])
        check(
            deduplicate(p, stream, seed_index=index),
            kept=[("new", 0)],
            duplicates=[("today", "s003-yesterday", "exact", 0)],
        )


def test_an_earlier_window_or_seed_reaching_a_key_after_a_later_window_still_wins():
    # What a job catching up can do to one key of the state: window 2's copy, then
    # window 1's original, then a seed of both from an earlier run.
    text = body("003")
    micros = 1_000_000
    seed = state_candidate(dedup_entry(make("seed", text), seen_at=(T0 - 3600) * micros))
    window_1 = state_candidate(dedup_entry(make("w1", text), seen_at=(T0 + WINDOW) * micros - 1))
    window_2 = state_candidate(dedup_entry(make("w2", text.upper()), seen_at=(T0 + 2 * WINDOW) * micros - 1))
    copy_2 = state_candidate(dedup_entry(make("w2-local-copy", text), seen_at=window_2.seen_at))
    key = f"h:{window_1.content_hash}"
    stream = (
        Stream()
        .add_elements([TimestampedValue((key, (_SURVIVOR, window_2)), T0 + 2 * WINDOW - 1)])
        .add_elements([TimestampedValue((key, (_LOOKUP, copy_2)), T0 + 2 * WINDOW - 1)])
        .add_elements([TimestampedValue((key, (_SURVIVOR, window_1)), T0 + WINDOW - 1)])
        .add_elements([TimestampedValue((key, (_SEED, seed)), T0 - 3600)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        votes = (
            p
            | stream
            | beam.WindowInto(GlobalWindows())
            | beam.ParDo(_MatchAcrossWindowsFn(horizon_micros=24 * 3600 * micros)).with_input_types(
                tuple[str, tuple]
            )
        )
        assert_that(
            votes | beam.Map(lambda kv, t=beam.DoFn.TimestampParam: (kv[0], kv[1][1], kv[1][2], t.micros)),
            equal_to(
                [
                    # Window 1 supersedes window 2's survivor, at window 2's time (its window is
                    # still open); the seed supersedes window 1's. Window 2's local copy
                    # came before window 1 and saw nothing earlier: its window's decision stands.
                    # Votes are keyed by node (ids may repeat) and name the original by id.
                    (window_2.node, "w1", "exact", window_2.seen_at),
                    (window_1.node, "seed", "exact", window_1.seen_at),
                ]
            ),
        )


def test_light_candidates_match_and_key_like_their_articles():
    original = make("a", body("003"), URL)
    copy = make("b", edited(body("003")))
    candidate = state_candidate(dedup_entry(original, seen_at=1))
    assert candidate.minhash == original.minhash and candidate.ingested_at is None  # light: no text, no times
    assert len(unpack_minhash(candidate.minhash)) == 128  # one bytes object, not 128 ints
    assert dedup_keys(candidate) == dedup_keys(dedup_entry(original))
    assert match(dedup_entry(copy), candidate) == match(dedup_entry(copy), dedup_entry(original))


def test_file_names_carry_window_and_pane_except_in_the_global_window():
    assert window_tag(GlobalWindow()) == ""
    assert file_name("r1", "", 0, window_tag(GlobalWindow())) == file_name("r1", "", 0)
    window = IntervalWindow(T0 + 300, T0 + 360)
    late = PaneInfo(
        is_first=False, is_last=False, timing=PaneInfoTiming.LATE, index=2, nonspeculative_index=1
    )
    assert window_tag(window, late) == "w20261122T000500Z-p2"
    assert file_name("r1", "", 0, window_tag(window, late)).startswith("part-r1-w20261122T000500Z-p2-")
    assert window_tag(IntervalWindow(T0 + 0.25, T0 + 1)).startswith("w20261122T000000250000Z")


def test_a_record_whose_id_is_taken_is_a_duplicate_of_kind_id():
    # The id is the lake's key: a backfill reusing one, with other text, is recorded as a
    # duplicate of the kept record, in its window and across windows alike.
    stream = (
        Stream()
        .advance_watermark_to(T0)
        .add_elements([at(make("k1", body("003")), 1)])
        .advance_watermark_to(T0 + WINDOW + 1)
        .add_elements([at(make("42", body("002")), 61), at(make("42", body("004")), 62)])
        .add_elements([at(make("k1", body("000")), 63)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        check(
            deduplicate(p, stream),
            kept=[("k1", 0), ("42", 1)],
            duplicates=[("42", "42", "id", 1), ("k1", "k1", "id", 1)],
        )
