"""Deduplicate articles: same canonical URL, same normalised text, near-duplicate text.

Consumes enriched ``Article`` records (``content_hash`` and ``minhash`` set by
``fingerprints``); emits the kept articles and, on the ``duplicates`` output, one
``Duplicate`` per dropped copy, e.g.
``Duplicate(id="9f…", duplicate_of="5c…", kind="near", similarity=0.83, …)``.

Batch deduplication groups, it keeps no per-element state (on the DirectRunner a
stateful DoFn costs about 7x): every article emits its keys (canonical URL, content
hash, one key per LSH band); articles that share a key are linked; the linked sets
(connected components) are grouped and resolved greedily in priority order, earliest
published first, ties broken by the smallest id. A copy is dropped only when it
matches a *kept* article directly, so chains of partial overlaps never merge two
different articles.

Streaming deduplication (``StreamingDeduplicate``, for the unbounded graph) emits
``kept``, ``duplicates`` and ``late`` in the input's windows. It resolves each window
like batch, then checks the window's articles against those kept in earlier windows
through keyed state that holds only light ``DedupCandidate`` records (ids, keys,
hashes, packed MinHash: no text), e.g.
``DedupCandidate(id="5c…", published=1504598400.0, canonical_url="https://…",
content_hash="9a…", minhash=b"…", seen_at=1795312859999999)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import struct
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apache_beam as beam
import courlan
import numpy as np
import rensa
from apache_beam.coders import FastPrimitivesCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.window import GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from schemas.records import DUPLICATE_KINDS, Article, Duplicate, stable_id, without_working_data

# MinHash over word 5-shingles, 128 permutations: the setting of datatrove's and
# text-dedup's near-dedup for web text, where 5-grams keep different articles on the
# same event apart while copies with edits or other boilerplate stay close.
SHINGLE_SIZE = 5
NUM_PERM = 128
MINHASH_SEED = 1
# 32 bands of 4 rows: candidates from a Jaccard of about 0.42 up (the S-curve's
# midpoint, (1/32)^(1/4)); each candidate is then checked against NEAR_THRESHOLD.
BANDS = 32
ROWS = NUM_PERM // BANDS
# Estimated Jaccard of 5-shingle sets above which two texts are one article. A copy
# with a few edited sentences of a 600-word article scores about 0.6-0.8; different
# reports on one event score under 0.1 (measured in tests/test_dedup.py).
NEAR_THRESHOLD = 0.5
# A signature slot: rensa's MinHash values are 32-bit.
_SLOT = np.dtype("<u4")
DUPLICATES_TAG = "duplicates"

# Query parameters that only track the click; courlan drops the common ones (utm_*,
# fbclid, gclid, …), these are left by news sites' own share links.
_EXTRA_TRACKERS = frozenset(
    {"ref", "ref_src", "ref_url", "cmpid", "ocid", "smid", "share", "src", "rss", "ito"}
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def canonical_url(url: str | None) -> str | None:
    """The canonical form of an article URL, or None when it is not an http(s) URL.

    Lower-cased scheme and host, default port, tracking parameters and fragment
    dropped, query sorted, no trailing slash.
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return None
    try:
        normalised = courlan.normalize_url(url, strict=False, trailing_slash=False)
    except (ValueError, AttributeError):
        return None
    parts = urlsplit(normalised)
    if not parts.netloc:
        return None
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _EXTRA_TRACKERS
        )
    )
    path = parts.path.rstrip("/") if len(parts.path) > 1 else ""
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def url_key(canonical: str | None) -> str | None:
    """The URL's identity for deduplication: scheme and ``www.`` do not tell articles apart."""
    if not canonical:
        return None
    parts = urlsplit(canonical)
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    return urlunsplit(("", host, parts.path, parts.query, "")).lstrip("/")


def normalise_text(text: str) -> str:
    """Text reduced to its words: NFKC, case-folded, punctuation and spacing folded."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, size: int = SHINGLE_SIZE) -> list[str]:
    words = normalise_text(text).split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def minhash(text: str) -> bytes:
    """The MinHash signature of a text's word shingles, packed (empty text: empty signature).

    Packed as little-endian uint32, one bytes object of 512 bytes: as 128 Python ints a
    signature is 129 objects and about 5 KB, more than the text of most articles, in every
    copy a shuffle or a state cache holds.
    """
    grams = shingles(text)
    if not grams:
        return b""
    hasher = rensa.RMinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    hasher.update(grams)
    return pack_minhash(hasher.digest())


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two packed signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    equal = np.count_nonzero(np.frombuffer(a, dtype=_SLOT) == np.frombuffer(b, dtype=_SLOT))
    return int(equal) / (len(a) // _SLOT.itemsize)


def band_keys(signature: bytes) -> list[str]:
    """One LSH key per band; two signatures sharing any key are candidates."""
    if not signature:
        return []
    width = ROWS * _SLOT.itemsize
    return [
        f"b{band}:{hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(BANDS)
    ]


def fingerprints(text: str) -> tuple[str, bytes]:
    """The exact and near-duplicate fingerprints of a text: (content hash, MinHash)."""
    return content_hash(text), minhash(text)


def dedup_keys(article: Article) -> list[str]:
    """Every key under which an article can meet its copies, or a record holding its id."""
    keys = [f"h:{article.content_hash}", f"i:{article.id}"]
    key = url_key(article.canonical_url)
    if key:
        keys.append(f"u:{key}")
    keys.extend(band_keys(article.minhash))
    return keys


def match(candidate: Article, kept: Article) -> tuple[str, float] | None:
    """How ``candidate`` duplicates ``kept`` (kind, similarity), or None if it does not."""
    if candidate.canonical_url and url_key(candidate.canonical_url) == url_key(kept.canonical_url):
        return "url", similarity(candidate.minhash, kept.minhash)
    if candidate.content_hash == kept.content_hash:
        return "exact", 1.0
    score = similarity(candidate.minhash, kept.minhash)
    if score >= NEAR_THRESHOLD:
        return "near", score
    if candidate.id == kept.id:
        # The id is the lake's key: a record whose id is taken is a duplicate, whatever its text.
        return "id", score
    return None


def resolve_cluster(articles: Iterable[Article]) -> Iterator[Article | Duplicate]:
    """Greedy resolution of one linked set: each article, in priority order, is kept
    unless it matches an article kept before it. Index entries (earlier runs' articles)
    rank first and are never emitted.

    Kept articles are looked up by their dedup keys (URL, hash, LSH bands), so each
    article is compared with the few kept ones it shares a key with, not with all of
    them: a large linked set (chains of weak band collisions) stays near linear.
    """
    kept: list[Article] = []
    by_key: dict[str, list[int]] = {}
    for article in sorted(articles, key=Article.sort_key):
        keys = dedup_keys(article)
        # Index entries were committed by earlier runs: they win, and are not written again.
        duplicate = None if article.indexed else _first_kept_match(article, keys, kept, by_key)
        if duplicate is not None:
            yield duplicate
            continue
        for key in keys:
            by_key.setdefault(key, []).append(len(kept))
        kept.append(article)
        if not article.indexed:
            yield article


def _first_kept_match(
    article: Article, keys: list[str], kept: list[Article], by_key: dict[str, list[int]]
) -> Duplicate | None:
    """The duplicate record of ``article`` against the earliest kept article it matches."""
    for position in sorted({i for key in keys for i in by_key.get(key, ())}):
        original = kept[position]
        found = match(article, original)
        if found:
            kind, score = found
            return Duplicate(
                id=article.id,
                url=article.url,
                source=article.source,
                duplicate_of=original.id,
                kind=kind,
                similarity=round(score, 4),
                run_id=article.run_id,
                detected_at=article.ingested_at,
            )
    return None


def connected_components(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find over id pairs: each linked id mapped to its set's smallest id."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            if root_b < root_a:
                root_a, root_b = root_b, root_a
            parent[root_b] = root_a
    return {node: find(node) for node in list(parent)}


def node_key(article: Article) -> str:
    """An article's node in the link graph: ids alone may repeat (one URL in two feeds)."""
    return stable_id(article.id, article.source, article.url or "", article.content_hash)


def _link(key_and_nodes: tuple[str, Iterable[str]]) -> Iterator[tuple[str, str]]:
    """Star edges between the nodes that share a key (enough for connectivity).

    A node met twice under one key (the same record read twice) links to itself, so it
    is resolved in a cluster rather than passing through twice.
    """
    _, nodes = key_and_nodes
    ordered = sorted(nodes)
    for other in ordered[1:]:
        yield ordered[0], other


# Batch deduplication shuffles its keys packed: 8 bytes of the key's digest and the 8 of
# the node, one 16-byte value per (key, node), grouped into a fixed number of buckets
# rather than one group per key. Most keys are met once; as groups of their own, each
# costs the shuffle (and the local runner's memory) a key, a list and two strings.
KEY_BUCKETS = 4096


def packed_keys(article: Article) -> list[tuple[int, bytes]]:
    """``(bucket, key digest + node)`` for each of an article's dedup keys."""
    node = bytes.fromhex(node_key(article))
    packed = []
    for key in dedup_keys(article):
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        packed.append((int.from_bytes(digest[:4], "little") % KEY_BUCKETS, digest + node))
    return packed


def _link_bucket(bucket_and_pairs: tuple[int, Iterable[bytes]]) -> Iterator[tuple[str, str]]:
    """``_link`` for every key of one bucket of packed pairs (two keys whose 64-bit digests
    collide only make a candidate link: resolution still compares the texts)."""
    _, pairs = bucket_and_pairs
    by_key: dict[bytes, list[str]] = {}
    for pair in pairs:
        by_key.setdefault(pair[:8], []).append(pair[8:].hex())
    for nodes in by_key.values():
        if len(nodes) > 1:
            yield from _link(("", nodes))


class _ComponentsFn(beam.CombineFn):
    """Collects link edges and resolves them to a map id -> set root."""

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


def dedup_view(article: Article) -> Article:
    """What deduplication reads of an article: identity, dates and fingerprints, no text.

    Batch deduplication shuffles these views, never the articles: the text meets the
    decisions afterwards in one side-input lookup (``ApplyDedupDecisions``).
    """
    return dataclasses.replace(
        without_working_data(article), text="", title=None, author=None, summary=None, categories=()
    )


class Decision(NamedTuple):
    """What resolution decided for a node that lost at least one of its copies.

    ``copies`` is how many times the node came in this run (the same record read twice
    is one node twice); ``duplicates`` holds one record per dropped copy.
    """

    copies: int
    duplicates: tuple[Duplicate, ...]


def cluster_decisions(views: Iterable[Article]) -> Iterator[tuple[str, Decision]]:
    """``(node, Decision)`` for every node of one linked set that lost a copy."""
    ordered = sorted(views, key=Article.sort_key)
    new = [view for view in ordered if not view.indexed]
    copies: dict[str, int] = {}
    dropped: dict[str, list[Duplicate]] = {}
    # resolve_cluster yields one record per new article, in this same (stable) order.
    for view, record in zip(new, resolve_cluster(ordered), strict=True):
        node = node_key(view)
        copies[node] = copies.get(node, 0) + 1
        if isinstance(record, Duplicate):
            dropped.setdefault(node, []).append(record)
    for node, duplicates in dropped.items():
        yield node, Decision(copies[node], tuple(duplicates))


class _ResolveClusterFn(beam.DoFn):
    def __init__(self) -> None:
        self._dropped = {kind: Metrics.counter(self.__class__, f"dropped_{kind}") for kind in DUPLICATE_KINDS}

    def process(self, root_and_views: tuple[str, Iterable[Article]]) -> Iterator[tuple[str, Decision]]:
        _, views = root_and_views
        for node, decision in cluster_decisions(views):
            for duplicate in decision.duplicates:
                self._dropped[duplicate.kind].inc()
            yield node, decision


REPEATED_TAG = "repeated"


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
    ordered = sorted(copies, key=Article.sort_key)
    duplicates = decisions[node].duplicates
    yield from ordered[: max(0, len(ordered) - len(duplicates))]
    for duplicate in duplicates:
        yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, duplicate)


def _by_cluster(article: Article, roots: dict[str, str]) -> tuple[str, Article]:
    return roots.get(node_key(article), ""), article


def index_row(article: Article) -> dict:
    """An article's entry in the dedup index (no text)."""
    return {
        "id": article.id,
        "canonical_url": article.canonical_url,
        "content_hash": article.content_hash,
        "minhash": article.minhash or None,
        "published": article.published,
        "ingested_at": article.ingested_at,
        "run_id": article.run_id,
    }


def index_article(row: dict) -> Article:
    """An index entry as an article that ranks first and is never written."""
    return Article(
        id=row["id"],
        source="index",
        text_source="index",
        ingested_at=row["ingested_at"],
        canonical_url=row["canonical_url"],
        published=row["published"],
        content_hash=row["content_hash"],
        minhash=row["minhash"] or b"",
        run_id=row["run_id"],
        indexed=True,
    )


def read_index_file(readable, not_before: dt.datetime) -> Iterator[Article]:
    """The entries of one index segment ingested since ``not_before`` (older ones expired)."""
    import pyarrow.parquet as pq

    with readable.open() as stream:
        table = pq.read_table(stream)
    for row in table.to_pylist():
        if row["ingested_at"] >= not_before:
            yield index_article(row)


class _ReadIndexFileFn(beam.DoFn):
    def __init__(self, not_before: dt.datetime) -> None:
        self._not_before = not_before
        self._entries = Metrics.counter(self.__class__, "index_entries_loaded")
        self._bytes = Metrics.counter(self.__class__, "index_bytes_read")
        self._msecs = Metrics.counter(self.__class__, "index_load_msecs")

    def process(self, readable) -> Iterator[Article]:
        started = time.perf_counter()
        self._bytes.inc(readable.metadata.size_in_bytes)
        for entry in read_index_file(readable, self._not_before):
            self._entries.inc()
            yield entry
        self._msecs.inc(int((time.perf_counter() - started) * 1000))


class ReadDedupIndex(beam.PTransform):
    """The dedup index of earlier runs (``state/dedup/*.parquet``) as index articles."""

    def __init__(self, folder: str, not_before: dt.datetime) -> None:
        super().__init__()
        self._pattern = folder.rstrip("/") + "/*.parquet"
        self._not_before = not_before

    def expand(self, pbegin):
        from apache_beam.io import fileio

        return (
            pbegin
            | "MatchIndexSegments" >> fileio.MatchFiles(self._pattern, empty_match_treatment="ALLOW")
            | "ReadIndexSegments" >> fileio.ReadMatches()
            | "ParseIndexEntries" >> beam.ParDo(_ReadIndexFileFn(self._not_before))
        )


def _index_keys(article: Article, wanted: dict) -> list[tuple[int, bytes]]:
    return [(bucket, pair) for bucket, pair in packed_keys(article) if pair[:8] in wanted]


class Deduplicate(beam.PTransform):
    """Kept articles on the main output, ``Duplicate`` records on ``duplicates``.

    Only light views (``dedup_view``: ids, keys, fingerprints, no text) are shuffled:
    keys link views into sets, each linked set is resolved into decisions for the nodes
    that lost a copy, and the articles pass once through a lookup of those decisions.
    Memory and shuffle bytes grow with the fingerprints, not with the text.

    ``index`` (optional): the index articles of earlier runs. Only the keys this run's
    articles also have are shuffled, so a large index costs a scan, not a shuffle; an
    article matching an index entry is a duplicate of that earlier article.
    """

    def __init__(self, index: beam.PCollection | None = None) -> None:
        super().__init__()
        self._index = index

    def expand(self, articles):
        views = articles | "DedupViews" >> beam.Map(dedup_view)
        keys = views | "EmitDedupKeys" >> beam.FlatMap(packed_keys)
        if self._index is not None:
            wanted = beam.pvalue.AsDict(
                keys
                | "NewKeys" >> beam.Map(lambda kv: kv[1][:8])
                | "DistinctNewKeys" >> beam.Distinct()
                | "AsLookup" >> beam.Map(lambda digest: (digest, None))
            )
            index_keys = self._index | "IndexKeysSharedWithNew" >> beam.FlatMap(_index_keys, wanted)
            keys = (keys, index_keys) | "MergeIndexKeys" >> beam.Flatten()
            views = (views, self._index) | "MergeIndexEntries" >> beam.Flatten()
        roots = (
            keys
            | "GroupByKeyBucket" >> beam.GroupByKey()
            | "LinkSharedKeys" >> beam.FlatMap(_link_bucket)
            | "ResolveComponents" >> beam.CombineGlobally(_ComponentsFn())
        )
        # Views outside every linked set (and index entries no new article links to)
        # have nothing to decide: they stop here.
        decisions = beam.pvalue.AsDict(
            views
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


# Streaming: the same decisions over an unbounded, windowed stream.

# How long a kept article goes on catching its copies: 30 days, the span set for the
# unbounded graph (feeds repeat items for a week or two, syndicated copies follow within
# days). It bounds the state at about 25 KB per kept article: a ~0.7 KB candidate under
# each of its ~34 keys.
DEFAULT_HORIZON = dt.timedelta(days=30)
LATE_TAG = "late"
# rensa's MinHash slots are 32-bit: packed, a signature is 512 bytes and one object.
_MINHASH_FORMAT = "<{}I"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# What a candidate reaching the state is: a kept article from the persisted index of
# earlier runs, a survivor of its window (stored unless it matches), or a copy its
# window already dropped (looked up, never stored).
_SEED, _SURVIVOR, _LOOKUP = 0, 1, 2


class DedupCandidate(NamedTuple):
    """What the cross-window state keeps of a kept article: identity and fingerprints, no text.

    ``minhash`` is the article's packed signature: the state cache sizes every value it
    writes, object by object, and one bytes object is cheap to size.
    ``seen_at`` is the event time (microseconds since the epoch) at which the article was
    kept; the horizon counts from it.
    """

    id: str
    published: float | None
    canonical_url: str | None
    content_hash: str
    minhash: bytes
    seen_at: int
    # The article's node (``node_key``): ids may repeat, so joins go by node.
    node: str = ""


def pack_minhash(signature: Sequence[int]) -> bytes:
    return struct.pack(_MINHASH_FORMAT.format(len(signature)), *signature)


def unpack_minhash(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(_MINHASH_FORMAT.format(len(packed) // 4), packed)


def dedup_candidate(article: Article, seen_at: int) -> DedupCandidate:
    """The light candidate of an article; for a kept one, also its row in the persisted dedup index."""
    return DedupCandidate(
        id=article.id,
        published=article.published.timestamp() if article.published else None,
        canonical_url=article.canonical_url,
        content_hash=article.content_hash,
        minhash=article.minhash,
        seen_at=seen_at,
        node=node_key(article),
    )


def candidate_article(candidate: DedupCandidate) -> Article:
    """A stand-in carrying only what ``match`` and ``dedup_keys`` read, so both are reused as is."""
    return Article(
        id=candidate.id,
        source="",
        text_source="",
        ingested_at=_EPOCH,
        canonical_url=candidate.canonical_url,
        content_hash=candidate.content_hash,
        minhash=candidate.minhash,
    )


def candidate_order(candidate: DedupCandidate) -> tuple:
    """Which kept copy a later one points at when it matches several: the first kept, then batch's order."""
    published = candidate.published if candidate.published is not None else float("inf")
    return (candidate.seen_at, published, candidate.id)


def _arm(pending: Any, timer: Any, at: int) -> None:
    """Set a key's timer to ``at`` unless it is already due earlier: a timer holds one time per key."""
    current = pending.read()
    if current is None or at < current:
        timer.set(Timestamp(micros=at))
        pending.write(at)


class _KeyByIdFn(beam.DoFn):
    """Counts what comes in, so that received = kept + duplicates + late can be checked."""

    def __init__(self) -> None:
        self._received = Metrics.counter(self.__class__, "received")

    def process(self, article: Article) -> Iterator[tuple[str, Article]]:
        self._received.inc()
        yield node_key(article), article


class _SplitLateFn(beam.DoFn):
    """Keys each on-time article by its linked set in the window ("" when it has none).

    An article in a late pane arrived after its window was resolved and matched against
    the state: it goes to the ``late`` output, counted, never dropped.
    """

    def __init__(self) -> None:
        self._late = Metrics.counter(self.__class__, "late_articles")

    def process(
        self,
        id_and_groups: tuple[str, dict[str, Iterable]],
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> Iterator:
        _, groups = id_and_groups
        articles = list(groups["article"])
        if pane.timing == PaneInfoTiming.LATE:
            for article in articles:
                self._late.inc()
                yield beam.pvalue.TaggedOutput(LATE_TAG, article)
            return
        roots = sorted(groups["root"])
        # Two copies under one id (an item polled twice in a window) share no link edge,
        # as edges join distinct ids: resolve them together all the same.
        root = roots[0] if roots else (node_key(articles[0]) if len(articles) > 1 else "")
        for article in articles:
            yield root, article


def _resolve_window_cluster(root_and_articles: tuple[str, Iterable[Article]]) -> Iterator[tuple]:
    """Batch resolution of one linked set of a window: ``(article, None)`` for a survivor,
    ``(article, Duplicate)`` for a copy of one."""
    _, articles = root_and_articles
    ordered = sorted(articles, key=Article.sort_key)
    # resolve_cluster yields one record per article, in this same (stable) order.
    for article, record in zip(ordered, resolve_cluster(ordered), strict=True):
        yield article, (record if isinstance(record, Duplicate) else None)


def _emit_candidates(
    decided: tuple[Article, Duplicate | None], timestamp: Timestamp = beam.DoFn.TimestampParam
) -> Iterator[tuple[str, tuple[int, Any]]]:
    # Every on-time article looks the state up (an earlier window's article outranks a
    # whole window); only survivors may be stored. Its timestamp is its window's end: the
    # time it is kept at, and the order in which windows meet the state.
    article, local = decided
    candidate = dedup_candidate(article, seen_at=timestamp.micros)
    origin = _SURVIVOR if local is None else _LOOKUP
    for key in dedup_keys(article):
        yield key, (origin, candidate)


def _emit_seed_keys(candidate: DedupCandidate) -> Iterator[tuple[str, tuple[int, Any]]]:
    for key in dedup_keys(candidate_article(candidate)):
        yield key, (_SEED, candidate)


def _first_match(candidate: DedupCandidate, originals: Iterable[DedupCandidate]) -> tuple | None:
    """The first of ``originals`` (in kept order) that ``candidate`` copies: (original, kind, similarity)."""
    arriving = candidate_article(candidate)
    for original in sorted(originals, key=candidate_order):
        found = match(arriving, candidate_article(original))
        if found:
            return (original, *found)
    return None


class _MatchAcrossWindowsFn(beam.DoFn):
    """Per dedup key, in the global window: the candidates kept under that key so far.

    A candidate that copies one kept in an *earlier* window emits a vote
    ``(id, (order, duplicate_of, kind, similarity))`` at its own timestamp (its window's
    end), so the vote joins its window. Candidates of the same window ignore each other,
    whatever order they arrive in (the window was resolved before, in batch order), and a
    survivor that matches nothing is stored. Seeds from the persisted index are stored
    unmatched. When a kept candidate arrives after a later window's copy of it (a job
    catching up releases several windows at once; the seed input may be read late), it
    votes that copy a duplicate instead: the later window cannot have been decided yet,
    as this earlier element still holds the watermark back.

    Votes are emitted from ``process``, never from a timer: on the DirectRunner a timer
    holds no watermark, so a timer's output could reach the join after its window closed.

    Expiry runs on event-time timers: the horizon is measured on the stream's clock (its
    ingest timestamps), so a job catching up after an outage, a replay or a backfill
    deduplicates against the same span of history as the live run did, and TestStream
    can test it. Processing-time timers would age the state by the wall clock: an outage
    would expire it unused, a replay of old data would match nothing. The price: state
    only expires while the watermark advances (PeriodicImpulse keeps it moving).
    Candidates are also compared only within the horizon of each other, so a timer that
    fires late never changes a decision.
    """

    KEPT = userstate.BagStateSpec("kept", FastPrimitivesCoder())
    NEXT_EXPIRY = userstate.ReadModifyWriteStateSpec("next_expiry", VarIntCoder())
    EXPIRE = userstate.TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, horizon_micros: int) -> None:
        self._horizon = horizon_micros
        self._seeded = Metrics.counter(self.__class__, "seeded_candidates")
        self._stored = Metrics.counter(self.__class__, "stored_candidates")
        self._superseded = Metrics.counter(self.__class__, "superseded_candidates")
        self._expired = Metrics.counter(self.__class__, "expired_candidates")
        self._votes = Metrics.counter(self.__class__, "votes")

    def process(
        self,
        element: tuple[str, tuple[int, DedupCandidate]],
        kept: Any = beam.DoFn.StateParam(KEPT),
        next_expiry: Any = beam.DoFn.StateParam(NEXT_EXPIRY),
        expire_timer: Any = beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator[TimestampedValue]:
        _, (origin, candidate) = element
        held = list(kept.read())
        live = [c for c in held if abs(c.seen_at - candidate.seen_at) < self._horizon]
        if origin != _SEED:
            found = _first_match(candidate, (c for c in live if c.seen_at < candidate.seen_at))
            if found:
                original, kind, score = found
                self._votes.inc()
                vote = (candidate_order(original), original.id, kind, score)
                yield TimestampedValue((candidate.node, vote), Timestamp(micros=candidate.seen_at))
                return
            if origin == _LOOKUP:
                return
        superseded = []
        for later in (c for c in live if c.seen_at > candidate.seen_at):
            found = _first_match(later, [candidate])
            if found:
                _, kind, score = found
                superseded.append(later)
                vote = (candidate_order(candidate), candidate.id, kind, score)
                yield TimestampedValue((later.node, vote), Timestamp(micros=later.seen_at))
        if superseded:
            self._superseded.inc(len(superseded))
            kept.clear()
            for other in held:
                if other not in superseded:
                    kept.add(other)
        kept.add(candidate)
        (self._seeded if origin == _SEED else self._stored).inc()
        _arm(next_expiry, expire_timer, candidate.seen_at + self._horizon)

    @userstate.on_timer(EXPIRE)
    def expire(
        self,
        fired: Timestamp = beam.DoFn.TimestampParam,
        kept: Any = beam.DoFn.StateParam(KEPT),
        next_expiry: Any = beam.DoFn.StateParam(NEXT_EXPIRY),
        expire_timer: Any = beam.DoFn.TimerParam(EXPIRE),
    ) -> None:
        now = fired.micros
        held = list(kept.read())
        live = [c for c in held if c.seen_at + self._horizon > now]
        kept.clear()
        next_expiry.clear()
        for candidate in live:
            kept.add(candidate)
        self._expired.inc(len(held) - len(live))
        if live:
            _arm(next_expiry, expire_timer, min(c.seen_at for c in live) + self._horizon)


class _DecideAcrossWindowsFn(beam.DoFn):
    """Joins a window's articles with their votes.

    A vote wins over the window's own decision (an article kept in an earlier window
    outranks the whole window): the copy becomes a duplicate of the first kept match.
    Without votes, the window's decision stands.
    """

    def __init__(self) -> None:
        self._kept = Metrics.counter(self.__class__, "kept")
        counter = Metrics.counter
        kinds = DUPLICATE_KINDS
        self._within = {kind: counter(self.__class__, f"dropped_within_window_{kind}") for kind in kinds}
        self._across = {kind: counter(self.__class__, f"dropped_across_windows_{kind}") for kind in kinds}

    def process(self, id_and_groups: tuple[str, dict[str, Iterable]]) -> Iterator:
        _, groups = id_and_groups
        votes = list(groups["vote"])
        for article, local in groups["article"]:
            if votes:
                _, original, kind, score = min(votes)
                self._across[kind].inc()
                yield beam.pvalue.TaggedOutput(
                    DUPLICATES_TAG,
                    Duplicate(
                        id=article.id,
                        url=article.url,
                        source=article.source,
                        duplicate_of=original,
                        kind=kind,
                        similarity=round(score, 4),
                        run_id=article.run_id,
                        detected_at=article.ingested_at,
                    ),
                )
            elif local is not None:
                self._within[local.kind].inc()
                yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, local)
            else:
                self._kept.inc()
                yield article


class StreamingDeduplicate(beam.PTransform):
    """Deduplicates a windowed stream: ``kept``, ``duplicates`` and ``late`` outputs, in the input's windows.

    ``out = articles | StreamingDeduplicate(horizon=dt.timedelta(days=30), seed_index=index)``

    An article is dropped when it matches (``match``: URL, exact text, MinHash) an
    article kept earlier in the stream: in an earlier window within ``horizon`` (those
    come first), else earlier in its own window's batch order (earliest published, then
    smallest id, whatever the arrival order). Each window is resolved like batch; then
    all its articles look up the keyed state of earlier windows (``_MatchAcrossWindowsFn``),
    and its survivors that matched nothing are stored there. Votes are joined back by id
    in the window. Outputs are timestamped at their window's end, as after any
    GroupByKey. Input windows must not merge (FixedWindows of the poll interval); the
    transform sets its own trigger (the default: once, at the watermark).

    A copy of a survivor that itself proves a copy of an earlier window's article points
    at that article when it matches it too, and at the survivor otherwise (a chain that
    batch, seeing everything at once, might have kept).

    Late articles, which reach a window after it was resolved, land in a late pane (up to
    ``allowed_lateness``, by default the horizon) and come out on ``late``, counted as
    ``late_articles``, for the graph to record. They are not deduplicated and never reach
    the state (a copy of one in a later window is kept). Beyond the allowed lateness a
    runner drops them (Dataflow and Flink count ``droppedDueToLateness``; Beam's Python
    runners count nothing), which shows as ``received`` > kept + duplicates + late.

    ``seed_index`` (optional) is a PCollection of ``DedupCandidate`` from earlier runs
    (``dedup_candidate(article, seen_at)`` of each kept article, e.g. read from
    ``state/``), flattened into the state's input. Their ``seen_at`` is older than any
    window's, so they outrank the whole stream however late they are read: a copy of an
    article an earlier run kept is a duplicate of it. They expire ``horizon`` after their
    ``seen_at``.
    """

    def __init__(
        self,
        *,
        horizon: dt.timedelta = DEFAULT_HORIZON,
        allowed_lateness: dt.timedelta | None = None,
        seed_index: beam.PCollection | None = None,
    ) -> None:
        super().__init__()
        self._horizon_micros = horizon // dt.timedelta(microseconds=1)
        lateness = horizon if allowed_lateness is None else allowed_lateness
        self._lateness = Duration(micros=lateness // dt.timedelta(microseconds=1))
        self._seed_index = seed_index

    def expand(self, articles):
        windowfn = articles.windowing.windowfn
        # In the global window nothing would fire before the end of the stream.
        if windowfn.is_merging() or isinstance(windowfn, GlobalWindows):
            raise ValueError(
                "StreamingDeduplicate needs finite, non-merging windows (FixedWindows of the poll"
                " interval); in the global window use Deduplicate"
            )

        # Only the join that tells late articles apart keeps its windows open for late
        # data: every other grouping closes at the watermark, so that its per-key window
        # state is freed at once rather than after the allowed lateness.
        def on_time() -> beam.WindowInto:
            return beam.WindowInto(windowfn)

        def open_late() -> beam.WindowInto:
            return beam.WindowInto(windowfn, allowed_lateness=self._lateness)

        by_id = (
            articles
            | "KeyArticlesById" >> beam.ParDo(_KeyByIdFn())
            | "WindowArticlesForLateness" >> open_late()
        )
        roots = (
            articles
            | "WindowArticlesOnTime" >> on_time()
            | "EmitWindowKeys" >> beam.FlatMap(lambda a: [(key, node_key(a)) for key in dedup_keys(a)])
            | "GroupWindowKeys" >> beam.GroupByKey()
            | "LinkWindowKeys" >> beam.FlatMap(_link)
            | "ResolveWindowComponents" >> beam.CombineGlobally(_ComponentsFn()).without_defaults()
            | "SpreadWindowRoots" >> beam.FlatMap(lambda roots: sorted(roots.items()))
            | "WindowRootsForLateness" >> open_late()
        )
        split = (
            {"article": by_id, "root": roots}
            | "JoinArticlesWithRoots" >> beam.CoGroupByKey()
            | "SplitLateArticles" >> beam.ParDo(_SplitLateFn()).with_outputs(LATE_TAG, main="on_time")
        )
        parts = (
            split.on_time
            | "WindowOnTimeArticles" >> on_time()
            | "SplitLinked" >> beam.Partition(lambda kv, _: 0 if kv[0] else 1, 2)
        )
        singles = parts[1] | "MarkSingles" >> beam.Map(lambda kv: (kv[1], None))
        resolved = (
            parts[0]
            | "GroupWindowClusters" >> beam.GroupByKey()
            | "ResolveWindowClusters" >> beam.FlatMap(_resolve_window_cluster)
        )
        decided = (singles, resolved) | "MergeWindowDecisions" >> beam.Flatten()

        # State is per key and window: the cross-window state lives in the global window.
        candidates = (
            decided
            # Typed, so that the state is keyed with a deterministic (string) coder.
            | "EmitCandidateKeys" >> beam.FlatMap(_emit_candidates).with_output_types(tuple[str, Any])
            | "WindowCandidatesGlobally" >> beam.WindowInto(GlobalWindows())
        )
        if self._seed_index is not None:
            seeds = (
                self._seed_index
                | "EmitSeedKeys" >> beam.FlatMap(_emit_seed_keys).with_output_types(tuple[str, Any])
                | "WindowSeedsGlobally" >> beam.WindowInto(GlobalWindows())
            )
            candidates = (candidates, seeds) | "MergeSeedIndex" >> beam.Flatten()
        votes = (
            candidates
            | "MatchAcrossWindows" >> beam.ParDo(_MatchAcrossWindowsFn(self._horizon_micros))
            | "WindowVotesBack" >> on_time()
        )
        out = (
            {
                "article": decided | "KeyDecisionsById" >> beam.Map(lambda d: (node_key(d[0]), d)),
                "vote": votes,
            }
            | "JoinVotes" >> beam.CoGroupByKey()
            | "DecideAcrossWindows"
            >> beam.ParDo(_DecideAcrossWindowsFn()).with_outputs(DUPLICATES_TAG, main="kept")
        )
        return {"kept": out.kept, DUPLICATES_TAG: out[DUPLICATES_TAG], LATE_TAG: split[LATE_TAG]}
