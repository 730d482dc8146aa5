r"""The boilerplate cleaner's pure core: the article body out of a scraper's plain text.

Consumes the plain text of one scraped article (one paragraph or widget string per line, as
trafilatura or a site scraper leaves it), optionally its title from metadata and what the
site memory knows of the site's lines; emits a ``Cleaned`` with the body, the title, the
byline and every removed line with its reason, the rule that fired (if any) and the line
model's probability (if it was asked). Sample::

    clean_text("Syria Prepares Offensive Against ISIS\n\nby Jane Roe\n\n"
               "The army said on Monday that it would launch an offensive on the city within days, ...\n\n"
               "Share this:\n\nReddit\n\nMore")
    -> Cleaned(text="The army said on Monday that ...", title="Syria Prepares Offensive Against ISIS",
               byline="Jane Roe",
               removed=(RemovedLine(1, "Syria Prepares ...", "title", "title.detected", None),
                        RemovedLine(3, "by Jane Roe", "byline", "byline.header", None),
                        RemovedLine(7, "Share this:", "share_prompt", "share.prompt", 0.99),
                        RemovedLine(9, "Reddit", "share_prompt", "share.network_names", 0.98),
                        RemovedLine(11, "More", "boilerplate", None, 0.93)),
               kept_line_nos=(5,))

How a line goes: the structural rules find the title (given, or detected in the header) and
its repeats, the byline in the header and an "About the author" box; the phrase rules of
``transforms/core/boilerplate.py`` that are precise enough (``HARD_RULES``) remove their
lines; every other line is decided by the line model (``LineScorer``): a lexical and shape
model per line, then a second pass over the neighbours' scores, at an operating point that
keeps body text first. The site memory's counts (how many other documents of the site hold
the line) are one of the model's features. A scraped text the model finds mostly body is a
clean article, not a page's whole text: it takes extracted text's operating point, and its short
lines right above prose are section headings that only a rule removes (``clean_texts``).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from itertools import accumulate, chain

import numpy as np

from transforms.core import boilerplate
from transforms.core.clean_structure import Prepared, prepare, rule_hints, site_counts, thread_shape_start
from transforms.core.comment_model import CommentModel, default_comment_model, thread_text_start
from transforms.core.line_model import (
    MODEL_RESOURCE,
    NO_SITE,
    Evidence,
    LineModel,
    LineScorer,
    SiteStats,
    batch_features,
    default_scorer,
)
from transforms.core.line_text import fill_norms
from transforms.core.lines import LONG_CHARS, DocLines, tokenize

__all__ = [
    "CLEAN_TEXT_BODY_SHARE",
    "MODEL_RESOURCE",
    "NO_SITE",
    "REASONS",
    "CleanInput",
    "Cleaned",
    "Evidence",
    "LineModel",
    "LineScorer",
    "RemovedLine",
    "SiteStats",
    "batch_features",
    "clean_many",
    "clean_text",
    "clean_text_headings",
    "clean_texts",
    "decide",
    "decide_many",
    "default_scorer",
    "is_clean_text",
    "operating_points",
    "plain_headings",
    "prepare",
    "site_counts",
]

REASONS = boilerplate.REASONS
# Nested headings kept over the block they head (h2 over h3 over a paragraph, and one more).
HEADING_LEVELS = 3
# A scraped text the model finds mostly body (this share of its lines below even odds) is a
# clean article (a backfill's text, a feed's full content), not a page's whole text: it is
# cleaned at the operating point of extracted text, which keeps more body. Chosen on the
# out-of-fold scores of lines_train: the page_text view's figures stay level (body kept 0.9375
# to 0.9376, boilerplate removed 0.9155 to 0.9148, 149 of 2,032 documents switched), the gold
# texts of the Fundus training pages keep more of their lines (see line_model.md).
CLEAN_TEXT_BODY_SHARE = 0.8
# In a clean text, a line of at most this many characters right above a line of prose is taken
# for a section heading (plain text has no markup to say so). Out of fold on lines_train it spares
# 41 lines of the page_text view (37 E, 4 X, no B); the Fundus training pages' gold texts keep
# 0.987 of their lines instead of 0.979 (the same from 45 to 100 characters).
PLAIN_HEADING_MAX_CHARS = 80


def is_clean_text(scores: np.ndarray) -> bool:
    """Whether a document's lines, by their scores, are mostly body (``CLEAN_TEXT_BODY_SHARE``)."""
    return bool(scores.size) and float(np.mean(scores < 0.5)) >= CLEAN_TEXT_BODY_SHARE


def clean_texts(evidences: Sequence[Evidence], scores: Sequence[np.ndarray]) -> list[bool]:
    """Per document, whether it is a scraped text whose lines are mostly body (``is_clean_text``)."""
    return [not ev.extracted and is_clean_text(s) for ev, s in zip(evidences, scores, strict=True)]


def operating_points(scorer: LineScorer, evidences: Sequence[Evidence], clean: Sequence[bool]) -> np.ndarray:
    """Each document's (threshold, run threshold, rule threshold): its own kind's, or extracted
    text's for a clean text (``clean_texts``)."""
    points = [
        scorer.threshold(dataclasses.replace(evidence, extracted=True) if is_clean else evidence)
        for evidence, is_clean in zip(evidences, clean, strict=True)
    ]
    return np.array(points, dtype=np.float64).reshape(-1, 3)


def plain_headings(doc: DocLines) -> np.ndarray:
    """The lines of a plain text that stand as a section heading does: short, right above a line
    of prose (in a clean text, the cleaner removes one only by a rule or with the block after it)."""
    chars = np.asarray(doc.chars)
    heads = np.zeros(chars.size, dtype=bool)
    heads[:-1] = (chars[:-1] <= PLAIN_HEADING_MAX_CHARS) & (chars[1:] >= LONG_CHARS)
    return heads


def clean_text_headings(docs: Sequence[DocLines], clean: Sequence[bool]) -> np.ndarray:
    """Over all the lines of ``docs``, the ``plain_headings`` of those that are clean texts."""
    marks = [
        plain_headings(doc) if is_clean else np.zeros(len(doc), dtype=bool)
        for doc, is_clean in zip(docs, clean, strict=True)
    ]
    return np.concatenate(marks) if marks else np.zeros(0, dtype=bool)


@dataclasses.dataclass(frozen=True)
class RemovedLine:
    line_no: int  # 1-based line number in the input text (split on "\n")
    text: str
    reason: str  # one of REASONS
    rule: str | None = None  # the id of the rule that fired, if any
    score: float | None = None  # the line model's probability of boilerplate, if it was asked


@dataclasses.dataclass(frozen=True)
class Cleaned:
    text: str  # kept lines, stripped, one paragraph each, joined by a blank line
    title: str | None
    byline: str | None
    removed: tuple[RemovedLine, ...]
    kept_line_nos: tuple[int, ...]


def decide_many(
    scores: np.ndarray,
    removed: np.ndarray,
    ruled: np.ndarray,
    threshold: np.ndarray | float,
    low: np.ndarray | float,
    rule_threshold: np.ndarray | float,
    first: np.ndarray,
    prose: np.ndarray | None = None,
    protected: np.ndarray | None = None,
    headings: np.ndarray | None = None,
    verbatim: np.ndarray | None = None,
) -> np.ndarray:
    """``decide`` for the lines of several documents at once (``first`` marks each document's
    first line; the thresholds may differ per line). ``prose`` marks the lines long enough to
    be article prose: in a document where every line would go, those the model alone removes
    (no rule matched them) stay; an article keeps its prose (a feed summary of one paragraph).
    ``protected`` marks lines that only a rule may remove (the list items of an extracted body,
    and its paragraphs among prose);
    ``headings`` marks lines that only a rule may remove while the line after them stays (the
    headings of an extracted body, and those a clean text's lines suggest, ``plain_headings``: a
    section heading goes with the block it heads); ``verbatim``
    marks lines that stay whatever the model and the rules say (an extracted body's code)."""
    gone = removed | (scores >= threshold) | (ruled & (scores >= rule_threshold))
    doc = np.cumsum(first) - 1
    n_docs = int(doc[-1]) + 1 if doc.size else 0
    if prose is not None:
        emptied = np.bincount(doc, weights=~gone, minlength=n_docs) == 0
        gone &= ~(emptied[doc] & prose & ~removed & ~ruled)
    keep = ~gone
    kept_lines = np.bincount(doc, weights=keep, minlength=n_docs)
    sizes = np.bincount(doc, minlength=n_docs)
    # Documents where every line stays, or every line goes, are left as they are.
    mixed = ((kept_lines > 0) & (kept_lines < sizes))[doc]
    starts = keep & (first | ~np.concatenate(([False], keep[:-1])))
    run = np.cumsum(starts) * keep
    weak = np.bincount(run[keep & (scores < low)], minlength=int(run.max(initial=0)) + 1)
    gone = gone | (keep & mixed & (weak[run] == 0))
    if protected is not None:
        gone &= ~(protected & ~removed & ~ruled)
    if headings is not None:
        last = np.concatenate((first[1:], [True]))
        heading = headings & ~removed & ~ruled
        for _ in range(HEADING_LEVELS):  # a heading over a subheading over a block
            heads_kept = heading & ~last & ~np.concatenate((gone[1:], [True]))
            if not (gone & heads_kept).any():
                break
            gone &= ~heads_kept
    if verbatim is not None:
        gone &= ~verbatim
    return gone


def decide(
    scores: np.ndarray,
    removed: np.ndarray,
    ruled: np.ndarray,
    threshold: float,
    low: float,
    rule_threshold: float,
) -> np.ndarray:
    """Which lines go: those already ``removed`` (rules), those scoring at least ``threshold``,
    those a phrase rule matched (``ruled``) scoring at least ``rule_threshold``, and every run of
    remaining lines that all score at least ``low`` (between two lines that go, or between one
    and the document's edge: boilerplate comes in runs, a comment thread runs to the end). In a
    document where no line goes by then, every line stays."""
    if not scores.size:
        return np.zeros(0, dtype=bool)
    first = np.zeros(scores.size, dtype=bool)
    first[0] = True
    return decide_many(scores, removed, ruled, threshold, low, rule_threshold, first)


@dataclasses.dataclass(frozen=True)
class CleanInput:
    """One document for ``clean_many``: the arguments of ``clean_text``."""

    text: str
    title: str | None = None
    site: SiteStats = NO_SITE
    site_min_docs: int = 0
    extracted: bool = False
    # 1-based numbers of the lines only a rule may remove: an extracted body's list items, and
    # its paragraphs among prose.
    protected: frozenset[int] = frozenset()
    # 1-based numbers of the body's headings: only a rule, or the block after them going, removes them.
    headings: frozenset[int] = frozenset()
    # 1-based numbers of the lines kept as they are: the preformatted blocks (code) of an extracted body.
    verbatim: frozenset[int] = frozenset()


def clean_many(
    inputs: Sequence[CleanInput],
    scorer: LineScorer | None = None,
    comments: CommentModel | bool = True,
) -> list[Cleaned]:
    """``clean_text`` for several documents at once: the rules run document by document, the
    line model scores all their lines in one batch (``score_many``, when the scorer has it) and
    the decisions are taken for all lines at once. The result for each document is the one
    ``clean_text`` gives it alone. ``comments``: the comment model that finds a thread by its
    words (``True``: the packaged one; ``False``: none)."""
    all_docs = [DocLines.of(i.text) for i in inputs]
    fill_norms(all_docs)
    # One tokenisation for the whole batch: the rules' hints, the model's lexical cues and the
    # comment model's words.
    all_lines = list(chain.from_iterable(doc.lines for doc in all_docs))
    tokens = tokenize(all_lines)
    screen, triggers = rule_hints(tokens)
    bounds = list(accumulate(len(doc) for doc in all_docs))
    per_doc: list[dict[int, set[int]]] = [{} for _ in all_docs]
    for line, rules in triggers.items():
        d = bisect.bisect_right(bounds, line)
        per_doc[d][line - (bounds[d - 1] if d else 0)] = rules
    preps = []
    for d, (i, doc) in enumerate(zip(inputs, all_docs, strict=True)):
        start = bounds[d - 1] if d else 0
        hints = (screen[start : bounds[d]], per_doc[d])
        preps.append(
            prepare(
                i.text,
                title=i.title,
                site=i.site,
                site_min_docs=i.site_min_docs,
                extracted=i.extracted,
                _doc=doc,
                _hints=hints,
            )
        )
    live = [prep for prep in preps if len(prep.doc)]
    out: dict[int, Cleaned] = {}
    if live:
        scorer = scorer or default_scorer()
        many = getattr(scorer, "score_many", None)
        docs, evidences = [prep.doc for prep in live], [prep.evidence for prep in live]
        if isinstance(scorer, LineModel):
            scores = np.concatenate(scorer.score_many(docs, evidences, tokens))
        elif many is not None:
            scores = np.concatenate(many(docs, evidences))
        else:
            scores = np.concatenate([scorer.score(doc, ev) for doc, ev in zip(docs, evidences, strict=True)])
        sizes = [len(doc) for doc in docs]
        per_doc = np.split(scores, np.cumsum(sizes)[:-1])
        clean = clean_texts(evidences, per_doc)
        points = np.repeat(operating_points(scorer, evidences, clean), sizes, axis=0)
        reasons = list(chain.from_iterable(prep.decisions.reasons for prep in live))
        rules = list(chain.from_iterable(ev.rules for ev in evidences))
        by_rules = np.array([reason is not None for reason in reasons], dtype=bool)
        ruled = np.array([rule is not None for rule in rules], dtype=bool)
        first = np.zeros(len(reasons), dtype=bool)
        first[np.cumsum(sizes) - sizes] = True
        prose = np.concatenate([doc.chars for doc in docs]) >= LONG_CHARS
        protected = _marked_lines([i.protected for i in inputs], preps)
        headings = _marked_lines([i.headings for i in inputs], preps)
        if any(clean):
            plain = clean_text_headings(docs, clean)
            headings = plain if headings is None else headings | plain
        verbatim = _marked_lines([i.verbatim for i in inputs], preps)
        gone = decide_many(
            scores,
            by_rules,
            ruled,
            points[:, 0],
            points[:, 1],
            points[:, 2],
            first,
            prose,
            protected,
            headings,
            verbatim,
        )
        model = default_comment_model() if comments is True else comments or None
        # The documents without lines have no tokens: the live documents' lines are all the lines.
        comment_scores = model.line_scores(all_lines, tokens) if model else None
        rounded = np.round(scores, 4).tolist()
        gone_list = gone.tolist()
        start = 0
        for prep, size in zip(live, sizes, strict=True):
            doc_gone = gone_list[start : start + size]
            doc_scores = comment_scores[start : start + size] if model else None
            _cut_thread(prep, doc_gone, model, doc_scores)
            out[id(prep)] = _cleaned(prep, doc_gone, rounded[start : start + size])
            start += size
    empty = Cleaned(text="", title=None, byline=None, removed=(), kept_line_nos=())
    return [out.get(id(prep), empty) for prep in preps]


def _cut_thread(
    prep: Prepared,
    gone: list[bool],
    comments: CommentModel | None = None,
    comment_scores: np.ndarray | None = None,
) -> None:
    """After the model: a comment thread with no form around it goes from where it starts to
    the end of the document: where its comment headers start (``thread_shape_start``), else
    where its lines start reading like readers' comments (``thread_text_start`` over the
    ``comments`` model's ``comment_scores`` of the document's lines). Its lines that no rule
    named are named by the rule that found it (also those the model removed)."""
    kept = [not g for g in gone]
    rule, start = "comment.thread_shape", thread_shape_start(prep.doc.lines, kept)
    if start is None and comments is not None:
        rule = "comment.thread_text"
        start = thread_text_start(comment_scores, prep.doc.chars, kept, comments.bias, comments.margin)
    if start is None:
        return
    reasons, rules = prep.decisions.reasons, prep.evidence.rules
    for pos in range(start, len(gone)):
        if reasons[pos] is None and (rules[pos] is None or not gone[pos]):
            prep.decisions.set(pos, "comment_thread", rule)
        gone[pos] = True


def _marked_lines(marks: list[frozenset[int]], preps: list[Prepared]) -> np.ndarray | None:
    """The mask of the marked line numbers over the lines of the documents that have any lines,
    or None when no document marks any."""
    if not any(marks):
        return None
    return np.array(
        [n in lines for lines, prep in zip(marks, preps, strict=True) for n in prep.doc.line_nos],
        dtype=bool,
    )


def _cleaned(prep: Prepared, gone: list[bool], scores: list[float]) -> Cleaned:
    doc, dec, rules = prep.doc, prep.decisions, prep.evidence.rules
    lines, line_nos = doc.lines, doc.line_nos
    removed, kept = [], []
    for pos, goes in enumerate(gone):
        if not goes:
            kept.append(pos)
            continue
        reason = dec.reasons[pos]
        if reason is None:
            rule = rules[pos]
            reason, rule_id = (rule.reason, rule.id) if rule is not None else ("boilerplate", None)
        else:
            rule_id = dec.rules[pos]
        removed.append(RemovedLine(line_nos[pos], lines[pos], reason, rule_id, scores[pos]))
    return Cleaned(
        text="\n\n".join([lines[pos] for pos in kept]),
        title=prep.title,
        byline=prep.byline,
        removed=tuple(removed),
        kept_line_nos=tuple([line_nos[pos] for pos in kept]),
    )


def clean_text(
    text: str,
    *,
    title: str | None = None,
    site: SiteStats = NO_SITE,
    site_min_docs: int = 0,
    extracted: bool = False,
    scorer: LineScorer | None = None,
    comments: CommentModel | bool = True,
) -> Cleaned:
    """The article body of a scraped text, with its title, byline and each removed line's reason.

    ``title`` is the title known from metadata, if any (else it is detected from the header);
    ``site`` is what the site memory knows of the document's site: its counts are a feature
    of the model, and with ``site_min_docs`` > 0 a line that many other documents hold goes
    as site boilerplate whatever the model says. ``extracted`` says the text is an
    extractor's output from HTML (not a scraped page's whole text). ``scorer`` defaults to
    the packaged model, and ``comments`` to the packaged comment model (``False``: none).
    """
    return clean_many([CleanInput(text, title, site, site_min_docs, extracted)], scorer, comments)[0]
