"""Streaming deduplication: the batch decisions over an unbounded, windowed stream.

``StreamingDeduplicate`` emits ``kept``, ``duplicates`` and ``late`` in the input's windows:
each window resolved like batch, then checked against earlier windows' keyed state of light
``DedupEntry`` records (no text), e.g. ``DedupEntry(id="5c…", content_hash="9a…", minhash=b"…", seen_at=…)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.window import GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from schemas.records import DUPLICATE_KINDS, Article, DedupEntry, Duplicate
from transforms.core.dedup import (
    dedup_entry,
    dedup_keys,
    duplicate_of,
    match,
    node_key,
    resolve_cluster,
    star_edges,
)
from transforms.dedup import DUPLICATES_TAG, ComponentsFn

__all__ = ["StreamingDeduplicate", "state_candidate"]


def state_candidate(entry: DedupEntry) -> DedupEntry:
    """An entry as the cross-window state keeps it: what ``match`` and the votes read, no more."""
    return entry._replace(source="", url=None, run_id="", ingested_at=None)


def _window_keys(article: Article) -> list[tuple[str, str]]:
    entry = dedup_entry(article)
    return [(key, entry.node) for key in dedup_keys(entry)]


# How long a kept article goes on catching its copies: 30 days, the span set for the
# unbounded graph (feeds repeat items for a week or two, syndicated copies follow within
# days). It bounds the state at about 25 KB per kept article: a ~0.7 KB candidate under
# each of its ~34 keys.
DEFAULT_HORIZON = dt.timedelta(days=30)
LATE_TAG = "late"
# What a candidate reaching the state is: a kept article from the persisted index of
# earlier runs, a survivor of its window (stored unless it matches), or a copy its
# window already dropped (looked up, never stored).
_SEED, _SURVIVOR, _LOOKUP = 0, 1, 2


def candidate_order(candidate: DedupEntry) -> tuple:
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
    ordered = sorted(((dedup_entry(a), a) for a in articles), key=lambda pair: pair[0].sort_key())
    # resolve_cluster yields one record per entry, in this same (stable) order.
    for (_, article), record in zip(ordered, resolve_cluster(e for e, _ in ordered), strict=True):
        yield article, (record if isinstance(record, Duplicate) else None)


def _emit_candidates(
    decided: tuple[Article, Duplicate | None], timestamp: Timestamp = beam.DoFn.TimestampParam
) -> Iterator[tuple[str, tuple[int, Any]]]:
    # Every on-time article looks the state up (an earlier window's article outranks a
    # whole window); only survivors may be stored. Its timestamp is its window's end: the
    # time it is kept at, and the order in which windows meet the state.
    article, local = decided
    candidate = state_candidate(dedup_entry(article, seen_at=timestamp.micros))
    origin = _SURVIVOR if local is None else _LOOKUP
    for key in dedup_keys(candidate):
        yield key, (origin, candidate)


def _emit_seed_keys(candidate: DedupEntry) -> Iterator[tuple[str, tuple[int, Any]]]:
    for key in dedup_keys(candidate):
        yield key, (_SEED, candidate)


def _first_match(candidate: DedupEntry, originals: Iterable[DedupEntry]) -> tuple | None:
    """The first of ``originals`` (in kept order) that ``candidate`` copies: (original, kind, similarity)."""
    for original in sorted(originals, key=candidate_order):
        found = match(candidate, original)
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

    Expiry runs on event-time timers: the horizon is measured on the stream's clock, so a
    job catching up after an outage or a replay deduplicates against the same span of
    history as the live run did (wall-clock timers would expire the state unused). State
    expires only while the watermark advances (PeriodicImpulse keeps it moving);
    candidates are compared only within the horizon of each other, so a late timer never
    changes a decision.
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
        element: tuple[str, tuple[int, DedupEntry]],
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
                    DUPLICATES_TAG, duplicate_of(dedup_entry(article), original, kind, score)
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
    ``late_articles``: not deduplicated, never in the state. Beyond the allowed lateness a
    runner drops them, which shows as ``received`` > kept + duplicates + late.

    ``seed_index`` (optional): ``DedupEntry`` records of earlier runs (the persisted index,
    ``seen_at`` their ingest time), older than any window, so they outrank the whole stream
    however late they are read; they expire ``horizon`` after their ``seen_at``.
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
            | "EmitWindowKeys" >> beam.FlatMap(_window_keys)
            | "GroupWindowKeys" >> beam.GroupByKey()
            | "LinkWindowKeys" >> beam.FlatMap(lambda key_nodes: star_edges(key_nodes[1]))
            | "ResolveWindowComponents" >> beam.CombineGlobally(ComponentsFn()).without_defaults()
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
