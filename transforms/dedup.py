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
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apache_beam as beam
import courlan
import rensa
from apache_beam.metrics import Metrics

from schemas.records import Article, Duplicate, stable_id

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


def minhash(text: str) -> tuple[int, ...]:
    """The MinHash signature of a text's word shingles (empty text: empty signature)."""
    grams = shingles(text)
    if not grams:
        return ()
    hasher = rensa.RMinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    hasher.update(grams)
    return tuple(hasher.digest())


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def band_keys(signature: Sequence[int]) -> list[str]:
    """One LSH key per band; two signatures sharing any key are candidates."""
    if not signature:
        return []
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(repr(tuple(rows)).encode(), digest_size=8).hexdigest()
        keys.append(f"b{band}:{digest}")
    return keys


def fingerprints(text: str) -> tuple[str, tuple[int, ...]]:
    """The exact and near-duplicate fingerprints of a text: (content hash, MinHash)."""
    return content_hash(text), minhash(text)


def dedup_keys(article: Article) -> list[str]:
    """Every key under which an article can meet its copies."""
    keys = [f"h:{article.content_hash}"]
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
    return None


def resolve_cluster(articles: Iterable[Article]) -> Iterator[Article | Duplicate]:
    """Greedy resolution of one linked set: each article, in priority order, is kept
    unless it matches an article kept before it."""
    kept: list[Article] = []
    for article in sorted(articles, key=Article.sort_key):
        for original in kept:
            found = match(article, original)
            if found:
                kind, score = found
                yield Duplicate(
                    id=article.id,
                    url=article.url,
                    source=article.source,
                    duplicate_of=original.id,
                    kind=kind,
                    similarity=round(score, 4),
                    run_id=article.run_id,
                    detected_at=article.ingested_at,
                )
                break
        else:
            kept.append(article)
            yield article


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


class _ResolveClusterFn(beam.DoFn):
    def __init__(self) -> None:
        self._kept = Metrics.counter(self.__class__, "kept_from_cluster")
        self._dropped = {
            kind: Metrics.counter(self.__class__, f"dropped_{kind}") for kind in ("url", "exact", "near")
        }

    def process(self, root_and_articles: tuple[str, Iterable[Article]]) -> Iterator:
        _, articles = root_and_articles
        for record in resolve_cluster(articles):
            if isinstance(record, Duplicate):
                self._dropped[record.kind].inc()
                yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, record)
            else:
                self._kept.inc()
                yield record


def _by_cluster(article: Article, roots: dict[str, str]) -> tuple[str, Article]:
    return roots.get(node_key(article), ""), article


class Deduplicate(beam.PTransform):
    """Kept articles on the main output, ``Duplicate`` records on ``duplicates``."""

    def expand(self, articles):
        roots = (
            articles
            | "EmitDedupKeys" >> beam.FlatMap(lambda a: [(key, node_key(a)) for key in dedup_keys(a)])
            | "GroupByDedupKey" >> beam.GroupByKey()
            | "LinkSharedKeys" >> beam.FlatMap(_link)
            | "ResolveComponents" >> beam.CombineGlobally(_ComponentsFn())
        )
        keyed = articles | "KeyByCluster" >> beam.Map(_by_cluster, roots=beam.pvalue.AsSingleton(roots))
        parts = keyed | "SplitLinked" >> beam.Partition(lambda kv, _: 0 if kv[0] else 1, 2)
        singles = parts[1] | "DropClusterKey" >> beam.Values()
        resolved = (
            parts[0]
            | "GroupByCluster" >> beam.GroupByKey()
            | "ResolveClusters" >> beam.ParDo(_ResolveClusterFn()).with_outputs(DUPLICATES_TAG, main="kept")
        )
        kept = (singles, resolved.kept) | "MergeKept" >> beam.Flatten()
        return {"kept": kept, DUPLICATES_TAG: resolved[DUPLICATES_TAG]}
