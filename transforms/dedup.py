"""Deduplicate a run's articles, against each other and the dedup index of earlier runs.

Consumes enriched ``Article`` records (``content_hash`` and ``minhash`` set); emits the kept
articles and, on ``duplicates``, one ``Duplicate`` per dropped copy, e.g.
``Duplicate(id="9f…", duplicate_of="5c…", kind="near", similarity=0.83, …)``. The decisions
are those of ``transforms.core.dedup`` (keys, matches, resolution of linked sets), made
over shuffles of light ``DedupEntry`` records; the streaming half is ``transforms.dedup_stream``.

Batch deduplication groups, it keeps no per-element state (on the DirectRunner a
stateful DoFn costs about 7x).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.runners.worker.statecache import CacheAware
from apache_beam.transforms.window import GlobalWindows

from schemas.records import DUPLICATE_KINDS, Article, DedupEntry
from transforms.core.dedup import (
    PACKED_KEY,
    Decision,
    cluster_decisions,
    connected_components,
    dedup_entry,
    distinct_digests,
    holding_digests,
    index_entry,
    key_buckets,
    link_bucket,
    node_key,
    packed_keys,
    shared_keys,
)
from transforms.lake.files import read_state_table, rows_since, segment_files

__all__ = ["DUPLICATES_TAG", "ComponentsFn", "Deduplicate", "IndexIds", "IndexSegments", "ReadDedupIndex"]

DUPLICATES_TAG = "duplicates"
REPEATED_TAG = "repeated"


class ComponentsFn(beam.CombineFn):
    """Collects link edges and resolves them to a map node -> set root."""

    def create_accumulator(self) -> set:
        return set()

    def add_input(self, accumulator: set, edge: tuple[str, str]) -> set:
        accumulator.add(edge)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[set]) -> set:
        merged: set = set()
        for accumulator in accumulators:
            merged |= accumulator
        return merged

    def extract_output(self, accumulator: set) -> dict[str, str]:
        return connected_components(sorted(accumulator))


class _ResolveClusterFn(beam.DoFn):
    def __init__(self) -> None:
        self._dropped = {kind: Metrics.counter(self.__class__, f"dropped_{kind}") for kind in DUPLICATE_KINDS}

    def process(self, root_and_entries: tuple[str, Iterable[DedupEntry]]) -> Iterator[tuple[str, Decision]]:
        _, entries = root_and_entries
        for node, decision in cluster_decisions(entries):
            for duplicate in decision.duplicates:
                self._dropped[duplicate.kind].inc()
            yield node, decision


class _ApplyDecisionsFn(beam.DoFn):
    """Each article kept, or its duplicate record emitted, as its node's decision says.

    A node that came more than once and lost copies goes to ``repeated``: which of its
    copies survive is settled by grouping them (rare: the same record read twice).
    """

    def process(self, article: Article, decisions: dict[str, Decision]) -> Iterator:
        node = node_key(article)
        decision = decisions.get(node)
        if decision is None:
            yield article
        elif decision.copies == 1:
            yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, decision.duplicates[0])
        else:
            yield beam.pvalue.TaggedOutput(REPEATED_TAG, (node, article))


def _resolve_repeated(node_and_copies: tuple[str, Iterable[Article]], decisions: dict[str, Decision]):
    """The copies of one repeated node: the first (by priority) kept, one duplicate record per drop."""
    node, copies = node_and_copies
    ordered = sorted(copies, key=lambda a: dedup_entry(a).sort_key())
    duplicates = decisions[node].duplicates
    yield from ordered[: max(0, len(ordered) - len(duplicates))]
    for duplicate in duplicates:
        yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, duplicate)


def _by_cluster(entry: DedupEntry, roots: dict[str, str]) -> tuple[str, DedupEntry]:
    return roots.get(entry.node, ""), entry


def read_index_file(readable, not_before: dt.datetime) -> Iterator[DedupEntry]:
    """The entries of one index segment ingested since ``not_before`` (older ones expired)."""
    table = read_state_table(readable.metadata.path, "dedup index segment")
    for row in rows_since(table, "ingested_at", not_before).to_pylist():
        yield index_entry(row)


def read_index_file_sharing(
    readable, not_before: dt.datetime, digests: np.ndarray
) -> tuple[int, list[DedupEntry]]:
    """How many entries of one index segment were ingested since ``not_before``, and those of
    them that hold a key among ``digests``: read as columns, an entry built only for these."""
    table = read_state_table(readable.metadata.path, "dedup index segment")
    table = rows_since(table, "ingested_at", not_before)
    held = holding_digests(
        table.column("content_hash").to_pylist(),
        table.column("id").to_pylist(),
        table.column("canonical_url").to_pylist(),
        table.column("minhash").to_pylist(),
        digests,
    )
    return table.num_rows, [index_entry(row) for row in table.filter(pa.array(held)).to_pylist()]


def read_index_ids(readable, not_before: dt.datetime) -> list[str]:
    """The ids of the entries of one index segment ingested since ``not_before``: the articles
    the lake already holds. Only those two columns are read: the run reads the segment whole
    again for the entries it shares keys with."""
    table = read_state_table(readable.metadata.path, "dedup index segment", columns=["id", "ingested_at"])
    return rows_since(table, "ingested_at", not_before).column("id").to_pylist()


class IndexIds(beam.PTransform):
    """The ids of the articles the dedup index holds (``IndexSegments``' files, in its age bound):
    the clean stage does not count a document read again into its site's lines, which the site
    memory counted when its article was kept."""

    def __init__(self, not_before: dt.datetime) -> None:
        super().__init__()
        self._not_before = not_before

    def expand(self, segments):
        return segments | "ReadIndexIds" >> beam.FlatMap(read_index_ids, self._not_before)


class _IndexCounters:
    """What a run read of the dedup index: its entries, bytes and milliseconds."""

    def __init__(self, owner: type) -> None:
        self.entries = Metrics.counter(owner, "index_entries_loaded")
        self.bytes = Metrics.counter(owner, "index_bytes_read")
        self.msecs = Metrics.counter(owner, "index_load_msecs")


class _ReadIndexFileFn(beam.DoFn):
    def __init__(self, not_before: dt.datetime) -> None:
        self._not_before = not_before
        self._counters = _IndexCounters(self.__class__)

    def process(self, readable) -> Iterator[DedupEntry]:
        started = time.perf_counter()
        self._counters.bytes.inc(readable.metadata.size_in_bytes)
        for entry in read_index_file(readable, self._not_before):
            self._counters.entries.inc()
            yield entry
        self._counters.msecs.inc(int((time.perf_counter() - started) * 1000))


class _ReadSharedIndexFn(beam.DoFn):
    """The entries of an index segment that share a key with this run's articles (``wanted``)."""

    def __init__(self, not_before: dt.datetime) -> None:
        self._not_before = not_before
        self._counters = _IndexCounters(self.__class__)
        self._shared = Metrics.counter(self.__class__, "index_entries_shared")

    def process(self, readable, wanted: _KeyDigests) -> Iterator[DedupEntry]:
        started = time.perf_counter()
        self._counters.bytes.inc(readable.metadata.size_in_bytes)
        loaded, shared = read_index_file_sharing(readable, self._not_before, wanted.digests)
        self._counters.entries.inc(loaded)
        self._shared.inc(len(shared))
        self._counters.msecs.inc(int((time.perf_counter() - started) * 1000))
        yield from shared


class IndexSegments(beam.PTransform):
    """The dedup index's segment files, for ``Deduplicate`` to read what it needs of them."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._folder = folder

    def expand(self, pbegin):
        return segment_files(pbegin, self._folder, "Index")


class ReadDedupIndex(beam.PTransform):
    """The dedup index of earlier runs (``state/dedup/*.parquet``) as indexed ``DedupEntry``
    records, every one in the age bound: a stream's keyed state starts from them."""

    def __init__(self, folder: str, not_before: dt.datetime) -> None:
        super().__init__()
        self._folder = folder
        self._not_before = not_before

    def expand(self, pbegin):
        return segment_files(pbegin, self._folder, "Index") | "ParseIndexEntries" >> beam.ParDo(
            _ReadIndexFileFn(self._not_before)
        )


# Entries whose keys a bundle packs at once: numpy's fixed cost spread over many, memory bounded
# (16 bytes a key, 35 keys an entry).
PACK_ENTRIES = 8192


class _BucketKeysFn(beam.DoFn):
    """``(bucket, blob of packed keys)``: the 35 keys of each article travel in a few thousand
    blobs, not one element each (batch: one global window). With ``wanted``, only the keys
    whose digests it holds (index entries: the keys this run's articles share)."""

    def start_bundle(self) -> None:
        self._entries: list[DedupEntry] = []
        self._wanted: np.ndarray | None = None

    def process(self, entry: DedupEntry, wanted: _KeyDigests | None = None) -> Iterator[tuple[int, bytes]]:
        self._entries.append(entry)
        self._wanted = wanted.digests if wanted is not None else None
        if len(self._entries) >= PACK_ENTRIES:
            yield from self._flush()

    def finish_bundle(self) -> Iterator:
        for bucket_blob in self._flush():
            yield GlobalWindows.windowed_value(bucket_blob)

    def _flush(self) -> Iterator[tuple[int, bytes]]:
        keys = packed_keys(self._entries)
        self._entries = []
        if self._wanted is not None:
            keys = shared_keys(keys, self._wanted)
        return key_buckets(keys)


class _KeyDigests(CacheAware):
    """The key digests this run's articles hold (sorted, distinct), as a side input. Beam's state
    cache weighs a side input by walking every object in it (objsize); this one is weighed by
    its array's size alone."""

    def __init__(self, digests: np.ndarray) -> None:
        super().__init__()
        self.digests = digests

    def get_referents_for_cache(self) -> list:
        return []

    def __sizeof__(self) -> int:
        return sys.getsizeof(self.digests)


def _bucket_digests(bucket_blob: tuple[int, bytes]) -> np.ndarray:
    return np.frombuffer(bucket_blob[1], dtype=PACKED_KEY)["digest"]


class _UnionFn(beam.CombineFn):
    """The distinct digests of arrays: the key digests this run's articles hold."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, accumulator: list, digests: np.ndarray) -> list:
        accumulator.append(digests)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[list]) -> list:
        return [distinct_digests([digests for accumulator in accumulators for digests in accumulator])]

    def extract_output(self, accumulator: list) -> _KeyDigests:
        return _KeyDigests(distinct_digests(accumulator))


def _link_bucket(bucket_blobs: tuple[int, Iterable[bytes]]) -> Iterator[tuple[str, str]]:
    return link_bucket(bucket_blobs[1])


class Deduplicate(beam.PTransform):
    """Kept articles on the main output, ``Duplicate`` records on ``duplicates``.

    Only light entries (``DedupEntry``: ids, keys, fingerprints, no text) are shuffled:
    keys link entries into sets, each linked set is resolved into decisions for the nodes
    that lost a copy, and the articles pass once through a lookup of those decisions.
    Memory and shuffle bytes grow with the fingerprints, not with the text.

    ``index_segments`` (optional): the dedup index of earlier runs, its segment files
    (``IndexSegments``), whose entries ingested since ``not_before`` count. Only the entries
    that hold a key this run's articles also have become elements, and only those keys are
    shuffled: a large index costs a columnar scan, not a shuffle. An article matching an index
    entry is a duplicate of that earlier article.
    """

    def __init__(
        self, index_segments: beam.PCollection | None = None, not_before: dt.datetime | None = None
    ) -> None:
        super().__init__()
        if index_segments is not None and not_before is None:
            raise ValueError("Deduplicate: index_segments need the not_before of their age bound")
        self._index_segments = index_segments
        self._not_before = not_before

    def expand(self, articles):
        entries = articles | "DedupViews" >> beam.Map(dedup_entry)
        keys = entries | "EmitDedupKeys" >> beam.ParDo(_BucketKeysFn())
        if self._index_segments is not None:
            wanted = beam.pvalue.AsSingleton(
                keys
                | "NewKeys" >> beam.Map(_bucket_digests)
                | "DistinctNewKeys" >> beam.CombineGlobally(_UnionFn())
            )
            index = self._index_segments | "IndexEntriesSharedWithNew" >> beam.ParDo(
                _ReadSharedIndexFn(self._not_before), wanted
            )
            index_keys = index | "IndexKeysSharedWithNew" >> beam.ParDo(_BucketKeysFn(), wanted)
            keys = (keys, index_keys) | "MergeIndexKeys" >> beam.Flatten()
            entries = (entries, index) | "MergeIndexEntries" >> beam.Flatten()
        roots = (
            keys
            | "GroupByKeyBucket" >> beam.GroupByKey()
            | "LinkSharedKeys" >> beam.FlatMap(_link_bucket)
            | "ResolveComponents" >> beam.CombineGlobally(ComponentsFn())
        )
        # Entries outside every linked set (and index entries no new article links to)
        # have nothing to decide: they stop here.
        decisions = beam.pvalue.AsDict(
            entries
            | "KeyByCluster" >> beam.Map(_by_cluster, roots=beam.pvalue.AsSingleton(roots))
            | "LinkedOnly" >> beam.Filter(lambda kv: bool(kv[0]))
            | "GroupByCluster" >> beam.GroupByKey()
            | "ResolveClusters" >> beam.ParDo(_ResolveClusterFn())
        )
        applied = articles | "ApplyDedupDecisions" >> beam.ParDo(_ApplyDecisionsFn(), decisions).with_outputs(
            DUPLICATES_TAG, REPEATED_TAG, main="kept"
        )
        repeated = (
            applied[REPEATED_TAG]
            | "GroupRepeatedCopies" >> beam.GroupByKey()
            | "ResolveRepeatedCopies"
            >> beam.FlatMap(_resolve_repeated, decisions).with_outputs(DUPLICATES_TAG, main="kept")
        )
        kept = (applied.kept, repeated.kept) | "MergeKept" >> beam.Flatten()
        duplicates = (applied[DUPLICATES_TAG], repeated[DUPLICATES_TAG]) | "MergeDuplicates" >> beam.Flatten()
        return {"kept": kept, DUPLICATES_TAG: duplicates}
