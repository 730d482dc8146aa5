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
the line) are one of the model's features.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib.resources
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import accumulate, chain
from typing import Protocol

import numpy as np

from transforms.core import boilerplate
from transforms.core.lines import (
    BYLINE_RE,
    LONG_CHARS,
    Batch,
    Cues,
    DocLines,
    Layout,
    Tokens,
    Vocabulary,
    base_features,
    context_features,
    key_of,
    lexical_cues,
    normalise,
    short_kinds,
    token_hash,
    tokenize,
)
from transforms.core.lines import SITE_LINE_MAX_CHARS, SITE_LINE_MAX_WORDS, SHORT_KINDS

REASONS = boilerplate.REASONS

# The header (title, byline, kicker) lives in the first few non-blank lines.
HEADER_MAX_LINES = 10
# A header line the page does not repeat is taken as the title only with this many words.
TITLE_MIN_WORDS = 5
# Site-repeated lines making up more than this share of a document's characters mean the
# document is a copy of another one (dedup handles it), not that its body is boilerplate.
SITE_LINES_MAX_SHARE = 0.5
# A comment form's strings are short lines.
SHORT_LINE_CHARS = 120
# The model file shipped in the package.
MODEL_RESOURCE = "models/line_model.npz"
THREAD_START_KIND = SHORT_KINDS.index("thread_start")


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


@dataclasses.dataclass(frozen=True)
class SiteStats:
    """What the site memory knows of one site, for the document being cleaned.

    ``counts`` maps a ``line_key`` to the number of OTHER documents of the site that hold
    the line; ``docs`` is the number of other documents of the site seen.
    """

    docs: int = 0
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)


NO_SITE = SiteStats()


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the cleaner knows of each line before the model: the rule it matched, whether it
    is the title, in how many other documents of its site it occurs."""

    rules: tuple[boilerplate.Rule | None, ...]
    title_lines: tuple[bool, ...]
    site_counts: tuple[int, ...]
    site_docs: int
    # The text is what an extractor left of an HTML page (most boilerplate already gone), not a
    # page's or a scraper's whole text: the two kinds of input have their own operating points.
    extracted: bool = False
    # The lines' short-line pattern kinds (``transforms.core.lines.short_kinds``), when known.
    kinds: np.ndarray | None = None


class LineScorer(Protocol):
    """A line model: the probability that each line of a document is boilerplate, and its
    operating point: the probability from which a line goes, the lower one from which a run of
    lines between lines that go goes, and the one from which a line a phrase rule matched goes
    (``decide``)."""

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray: ...

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]: ...


def decide_many(
    scores: np.ndarray,
    removed: np.ndarray,
    ruled: np.ndarray,
    threshold: np.ndarray | float,
    low: np.ndarray | float,
    rule_threshold: np.ndarray | float,
    first: np.ndarray,
) -> np.ndarray:
    """``decide`` for the lines of several documents at once (``first`` marks each document's
    first line; the thresholds may differ per line)."""
    gone = removed | (scores >= threshold) | (ruled & (scores >= rule_threshold))
    keep = ~gone
    doc = np.cumsum(first) - 1
    n_docs = int(doc[-1]) + 1 if doc.size else 0
    kept_lines = np.bincount(doc, weights=keep, minlength=n_docs)
    sizes = np.bincount(doc, minlength=n_docs)
    # Documents where every line stays, or every line goes, are left as they are.
    mixed = ((kept_lines > 0) & (kept_lines < sizes))[doc]
    starts = keep & (first | ~np.concatenate(([False], keep[:-1])))
    run = np.cumsum(starts) * keep
    weak = np.bincount(run[keep & (scores < low)], minlength=int(run.max(initial=0)) + 1)
    return gone | (keep & mixed & (weak[run] == 0))


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


# --- The shipped model: two binned logistic regressions, the second over the first's neighbours ---


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def evidence_lines(docs: Sequence[DocLines], evidences: Sequence[Evidence]) -> dict:
    """The evidence of several documents as per-line arrays, in line order."""
    sizes = [len(doc) for doc in docs]
    n = sum(sizes)
    pairs = list(zip(evidences, sizes, strict=True))
    return {
        "rules": list(chain.from_iterable(ev.rules for ev in evidences)),
        "title_lines": np.fromiter(
            chain.from_iterable(ev.title_lines or (False,) * k for ev, k in pairs), dtype=np.float32, count=n
        ),
        "site_counts": np.fromiter(
            chain.from_iterable(ev.site_counts or (0,) * k for ev, k in pairs), dtype=np.float32, count=n
        ),
        "site_docs": np.repeat(np.array([ev.site_docs for ev in evidences], dtype=np.float32), sizes),
        "extracted": np.repeat(np.array([ev.extracted for ev in evidences], dtype=bool), sizes),
        "kinds": np.concatenate(
            [ev.kinds if ev.kinds is not None else short_kinds(doc.lines) for doc, ev in zip(docs, evidences)]
            + [np.zeros(0, dtype=np.int64)]
        ),
    }


def batch_features(
    docs: Sequence[DocLines], evidences: Sequence[Evidence], vocabulary: Vocabulary, tokens: Tokens | None = None
) -> tuple[Batch, Cues, np.ndarray, dict]:
    """The first pass's inputs for several documents at once: the batch, its lexical cues, its
    dense features and its evidence per line (training calls this too). ``tokens``: the
    ``tokenize`` of all the documents' lines, when known."""
    for doc, ev in zip(docs, evidences, strict=True):
        if len(ev.rules) != len(doc):
            raise ValueError("evidence and document differ in lines")
    batch = Batch.of(docs)
    ev = evidence_lines(docs, evidences)
    cues = lexical_cues(batch, vocabulary, tokens)
    x = base_features(
        batch,
        cues,
        rules=ev["rules"],
        title_lines=ev["title_lines"],
        site_counts=ev["site_counts"],
        site_docs=ev["site_docs"],
        extracted=ev["extracted"],
        kinds=ev["kinds"],
    )
    return batch, cues, x, ev


class LineModel:
    """The shipped line model (``schemas/models/line_model.npz``; card beside it).

    First pass: a logistic regression over each line's lexical cues (one weight per cue) and its
    dense features, binned (one weight per feature and bin, shared by both kinds of input, plus
    one per kind). Second pass: a logistic regression over the first pass's log-odds around the
    line (``context_features``, binned, some bins crossed) and the line's own binned features.
    Both are sums of looked-up weights: ``Layout.pass1_dense`` and ``Layout.pass2`` name the
    active weights of every line, for training and inference alike. Documents are scored in
    batches (``score_many``), so that each numpy step runs once for many documents."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        self.meta = meta
        self.thresholds = {kind: float(value) for kind, value in meta["thresholds"].items()}
        self.run_thresholds = {kind: float(value) for kind, value in meta["run_thresholds"].items()}
        self.rule_thresholds = {kind: float(value) for kind, value in meta["rule_thresholds"].items()}
        self.layout = Layout(
            Vocabulary(arrays["vocabulary"]),
            arrays["edges1"],
            arrays["edges2"],
        )
        self.w1 = arrays["w1"].astype(np.float64)
        self.w2 = arrays["w2"].astype(np.float64)
        self.b1 = float(meta["bias1"])
        self.b2 = float(meta["bias2"])

    @classmethod
    def load(cls, path: str | None = None) -> LineModel:
        if path is None:
            resource = importlib.resources.files("schemas").joinpath(MODEL_RESOURCE)
            with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as arrays:
                return cls(dict(arrays))
        with np.load(path, allow_pickle=False) as arrays:
            return cls(dict(arrays))

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]:
        kind = "extracted" if evidence.extracted else "scraped"
        return self.thresholds[kind], self.run_thresholds[kind], self.rule_thresholds[kind]

    def score_many(
        self, docs: Sequence[DocLines], evidences: Sequence[Evidence], tokens: Tokens | None = None
    ) -> list[np.ndarray]:
        """The probability that each line is boilerplate, for several documents at once
        (``tokens``: the ``tokenize`` of all their lines, when known)."""
        if not docs:
            return []
        batch, cues, x, ev = batch_features(docs, evidences, self.layout.vocabulary, tokens)
        n = len(batch)
        if not n:
            return [np.zeros(0) for _ in docs]
        layout = self.layout
        dense = layout.binned1.columns(x)
        z_lex = np.bincount(cues.row, weights=self.w1[cues.col], minlength=n)
        z1 = self.b1 + z_lex + self.w1[layout.pass1_dense_columns(dense, ev["extracted"])].sum(axis=1)
        context = context_features(z1, z_lex, batch)
        z2 = self.b2 + self.w2[layout.pass2_columns(context, dense, ev["extracted"])].sum(axis=1)
        return np.split(_sigmoid(z2), batch.doc_starts[1:])

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray:
        return self.score_many([doc], [evidence])[0]


@functools.cache
def default_scorer() -> LineModel:
    """The packaged line model, loaded once per process."""
    return LineModel.load()


# --- Structural rules: title, byline, author box ---

_DATE_LINE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:\d{1,2}(?:st|nd|rd|th)?\s+)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}$|"
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$",
    re.IGNORECASE,
)
_TITLE_END_BAD = re.compile(r"[.:;,…]$|\.\.\.$")
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# "by Stephen Lendman ( – Home – Stephen Lendman)", "By Pam Martens and Russ Martens: April 4, 2016".
_BYLINE_CUT = re.compile(r"\s*(?:[(|:,•·\[]|\s[-–—]\s|\son\s|\d)")
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-Þ][\w'’.-]*|and|&|de|van|von|der|al|el|bin|da|di|la|le)$")
# An "About the author" / "About Anatoly Karlin" box heading, followed by a bio. The name is
# case-sensitive and two to four words: "About time" or "About Iran" are not author boxes.
_ABOUT_RE = re.compile(
    r"^(?:[Aa]bout|ABOUT) (?:(?:[Tt]he|THE) )?"
    r"(?:[Aa]uthors?|AUTHORS?|[Ww]riter|[Cc]olumnist|[Cc]ontributor)$|"
    r"^About ([A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,3})$"
)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|me|my|myself|mine)\b")
_THIRD_PERSON_BIO = re.compile(
    r"^(?:he|she|they) (?:is|was|has|writes|lives|holds|teaches|worked|works)\b", re.IGNORECASE
)


def _words(line: str) -> list[str]:
    return _WORD_RE.findall(line)


def _matches_title(norm: str, norm_title: str) -> bool:
    if norm == norm_title:
        return True
    # "Title | Site" in the feed vs "Title" in the text, or the reverse.
    shorter, longer = (norm, norm_title) if len(norm) <= len(norm_title) else (norm_title, norm)
    return len(shorter) >= 20 and len(shorter) >= 0.6 * len(longer) and longer.startswith(shorter + " ")


def title_matches(line: str, norm_title: str) -> bool:
    """True when a line is the title, allowing the site-name suffix a feed title often carries."""
    norm = normalise(line)
    if not norm or not norm_title:
        return False
    return _matches_title(norm, norm_title)


def _is_title_candidate(line: str) -> bool:
    if not 15 <= len(line) <= 200 or _DATE_LINE.match(line) or BYLINE_RE.match(line):
        return False
    if _TITLE_END_BAD.search(line) or not line[0].isupper() and not line[0].isdigit():
        return False
    return len(_words(line)) >= 3


def byline_name(line: str) -> str | None:
    """The author name of a byline line, or None if the line is not one."""
    match = BYLINE_RE.match(line)
    if not match or len(line) > 120 or line.endswith("."):
        return None
    rest = _BYLINE_CUT.split(line[match.end() :], maxsplit=1)[0].strip()
    words = rest.split()
    if not 1 <= len(words) <= 7 or not words[0][0].isupper():
        return None
    if not all(_NAME_WORD.match(w) for w in words):
        return None
    return rest


@dataclasses.dataclass
class _Decisions:
    """Working state: per non-blank line, the reason it goes (None keeps it) and the rule."""

    doc: DocLines
    reasons: list[str | None]
    rules: list[str | None]

    def set(self, pos: int, reason: str, rule: str | None) -> None:
        self.reasons[pos] = reason
        self.rules[pos] = rule

    def header(self, matched: list[boilerplate.Rule | None]) -> range:
        """Positions of the header: up to the first long line no rule matched, at most HEADER_MAX_LINES."""
        lines = self.doc.lines
        for pos in range(min(len(lines), HEADER_MAX_LINES)):
            if len(lines[pos]) >= LONG_CHARS and matched[pos] is None and self.reasons[pos] is None:
                return range(pos)
        return range(min(len(lines), HEADER_MAX_LINES))


def _apply_title(dec: _Decisions, matched: list, title: str | None) -> tuple[str | None, list[bool]]:
    """Remove the title and its repeats; detect the title from the header when none is given."""
    lines = dec.doc.lines
    norms = dec.doc.norms
    header = dec.header(matched)
    rule = "title.given"
    if title is None or not title.strip():
        rule = "title.detected"
        candidates = [pos for pos in header if matched[pos] is None and _is_title_candidate(lines[pos])]
        if not candidates:
            return None, [False] * len(lines)
        counts = Counter(norm for norm in norms if norm is not None)
        # A header line the page repeats (heading, image caption) is the title; else the first
        # candidate long enough not to be a short lead-in ("Winners are in bold").
        repeated = [pos for pos in candidates if counts[norms[pos]] > 1]
        single = [pos for pos in candidates if len(_words(lines[pos])) >= TITLE_MIN_WORDS]
        chosen = (repeated or single or [None])[0]
        if chosen is None:
            return None, [False] * len(lines)
        title = lines[chosen]
    # Scrapers leave no-break spaces in headings; the title is plain text.
    title = " ".join(title.split())
    norm_title = normalise(title)
    flags = [False] * len(lines)
    if not norm_title:
        return title, flags
    # A short title ("Update") may be an ordinary line deeper in the text: only match it in the header.
    anywhere = len(norm_title) >= 15 and len(norm_title.split()) >= 3
    longest = 3 * len(title) + 20
    # A line that is the title, or its prefix, or has it as prefix, starts as the title does.
    key = norm_title[:10]
    positions = range(len(lines)) if anywhere else header
    found = [pos for pos in positions if (norm := norms[pos]) is not None and norm.startswith(key)]
    if longest > SITE_LINE_MAX_CHARS:
        found += [pos for pos in positions if norms[pos] is None and len(lines[pos]) <= longest]
        found.sort()
    seen_title = False
    for pos in found:
        if len(lines[pos]) > longest:
            continue
        norm = norms[pos]
        if norm is None:
            norm = normalise(lines[pos])
        if norm and _matches_title(norm, norm_title):
            flags[pos] = True
            if seen_title or pos not in header:
                dec.set(pos, "repeated_title", "title.repeat")
            else:
                dec.set(pos, "title", rule)
            seen_title = True
    return title, flags


def _apply_byline(dec: _Decisions, matched: list) -> str | None:
    byline = None
    for pos in dec.header(matched):
        rule = matched[pos]
        if dec.reasons[pos] is not None or (rule is not None and rule.reason != "byline"):
            continue
        name = byline_name(dec.doc.lines[pos])
        if name:
            dec.set(pos, "byline", "byline.header")
            byline = byline or name
    return byline


def _apply_about_box(dec: _Decisions, matched: list) -> None:
    """An "About <Name>" box and the bio paragraphs that follow it."""
    lines = dec.doc.lines
    for pos in range(1, len(lines)):
        line = lines[pos]
        if len(line) > 60 or not line.startswith(("About", "about", "ABOUT")):
            continue
        if dec.reasons[pos] is not None or matched[pos] is not None:
            continue
        match = _ABOUT_RE.match(line)
        if not match:
            continue
        name = match.group(1)
        bio = []
        for j in range(pos + 1, len(lines)):
            line = lines[j]
            if dec.reasons[j] is not None:
                break
            first_person = _FIRST_PERSON.search(line[:2000])
            about_name = name and (line.startswith(name) or line.startswith(name.split()[-1]))
            if first_person or about_name or _THIRD_PERSON_BIO.match(line):
                bio.append(j)
            else:
                break
        # A section heading "About Iran" followed by prose is not a bio box.
        if bio:
            for j in (pos, *bio):
                dec.set(j, "author_bio", "bio.about_box")


def _apply_after_comment_form(dec: _Decisions, kinds: np.ndarray) -> None:
    """After a comment form below the body ("Leave a Reply", "12 Comments"), the article never
    resumes: what follows is the thread. (On held-out training documents, 97-98 % of the
    labelled lines after such a form are boilerplate.)"""
    starts = np.flatnonzero(kinds == THREAD_START_KIND)
    if not starts.size:
        return
    lines, reasons = dec.doc.lines, dec.reasons
    anchor = next(
        (pos for pos, line in enumerate(lines) if len(line) >= LONG_CHARS and reasons[pos] is None), None
    )
    if anchor is None:
        return
    after = starts[starts > anchor]
    if not after.size:
        return
    for pos in range(int(after[0]) + 1, len(lines)):
        if reasons[pos] is None:
            dec.set(pos, "comment_thread", "comment.after_form")


def site_counts(doc: DocLines, site: SiteStats) -> tuple[int, ...]:
    """In how many other documents of the site each line occurs (0 for lines too long to count)."""
    if not site.counts:
        return (0,) * len(doc)
    get = site.counts.get
    lines = doc.lines
    return tuple(
        get(key_of(norm), 0) if norm and lines[pos].count(" ") < SITE_LINE_MAX_WORDS else 0
        for pos, norm in enumerate(doc.norms)
    )


def _apply_site_memory(dec: _Decisions, counts: tuple[int, ...], min_docs: int) -> None:
    """Lines that at least ``min_docs`` other documents of the site hold are the site's own
    boilerplate, unless they make up most of the document (a copy: dedup's business)."""
    if min_docs <= 0 or not any(counts):
        return
    lines = dec.doc.lines
    hit = [pos for pos, n in enumerate(counts) if n >= min_docs and dec.reasons[pos] is None]
    total = sum(map(len, lines))
    if not hit or sum(len(lines[pos]) for pos in hit) > SITE_LINES_MAX_SHARE * total:
        return
    for pos in hit:
        dec.set(pos, "site_boilerplate", "site.memory")


@dataclasses.dataclass
class Prepared:
    """A document before the model: its lines, what each rule decided, and the model's evidence."""

    doc: DocLines
    decisions: _Decisions
    evidence: Evidence
    title: str | None
    byline: str | None


@functools.cache
def _hint_tables() -> tuple[np.ndarray, list[tuple[int, ...]], np.ndarray]:
    """The token hashes of the rules' trigger words (sorted, with the rules each may fire) and
    of the word rules' first words."""
    triggers = sorted((token_hash(word), rules) for word, rules in boilerplate.TRIGGERS.items())
    first = np.unique(np.array([token_hash(w.decode()) for w in boilerplate.WORD_RULE_FIRST], dtype=np.uint64))
    return np.array([h for h, _ in triggers], dtype=np.uint64), [r for _, r in triggers], first


def rule_hints(tokens: Tokens) -> tuple[list[bool], dict[int, set[int]]]:
    """For ``boilerplate.match_rules``, from the line model's tokens: per line whether its first
    word may start a word rule, and the rules whose trigger words its head holds."""
    hashes, rules_of, first_hashes = _hint_tables()
    counts = tokens.counts
    starts = np.cumsum(counts) - counts
    lines_with = np.flatnonzero(counts > 0)
    screen = np.zeros(counts.size, dtype=bool)
    screen[lines_with] = np.isin(tokens.hashes[starts[lines_with]], first_hashes)
    at = np.minimum(np.searchsorted(hashes, tokens.hashes), hashes.size - 1)
    triggers: dict[int, set[int]] = {}
    for k in np.flatnonzero(hashes[at] == tokens.hashes).tolist():
        triggers.setdefault(int(tokens.line[k]), set()).update(rules_of[at[k]])
    return screen.tolist(), triggers


def prepare(
    text: str,
    *,
    title: str | None = None,
    site: SiteStats = NO_SITE,
    site_min_docs: int = 0,
    extracted: bool = False,
    _doc: DocLines | None = None,
    _hints: tuple[list[bool], dict[int, set[int]]] | None = None,
) -> Prepared:
    """Everything the cleaner decides without the model (training calls this too)."""
    doc = _doc if _doc is not None else DocLines.of(text)
    n = len(doc)
    word_screen, triggers = _hints if _hints is not None else rule_hints(tokenize(doc.lines))
    matched = boilerplate.match_rules(doc.lines, word_screen=word_screen, triggers=triggers)
    kinds = short_kinds(doc.lines)
    dec = _Decisions(doc, [None] * n, [None] * n)
    found_title, title_flags = _apply_title(dec, matched, title) if n else (None, [])
    byline = _apply_byline(dec, matched)
    _apply_about_box(dec, matched)
    counts = site_counts(doc, site)
    _apply_site_memory(dec, counts, site_min_docs)
    hard = boilerplate.HARD_RULES
    for pos, rule in enumerate(matched):
        if rule is not None and rule.id in hard and dec.reasons[pos] is None:
            dec.set(pos, rule.reason, rule.id)
    _apply_after_comment_form(dec, kinds)
    evidence = Evidence(tuple(matched), tuple(title_flags), counts, site.docs, extracted, kinds)
    return Prepared(doc, dec, evidence, found_title, byline)


@dataclasses.dataclass(frozen=True)
class CleanInput:
    """One document for ``clean_many``: the arguments of ``clean_text``."""

    text: str
    title: str | None = None
    site: SiteStats = NO_SITE
    site_min_docs: int = 0
    extracted: bool = False


def clean_many(inputs: Sequence[CleanInput], scorer: LineScorer | None = None) -> list[Cleaned]:
    """``clean_text`` for several documents at once: the rules run document by document, the
    line model scores all their lines in one batch (``score_many``, when the scorer has it) and
    the decisions are taken for all lines at once. The result for each document is the one
    ``clean_text`` gives it alone."""
    all_docs = [DocLines.of(i.text) for i in inputs]
    # One tokenisation for the whole batch: the rules' hints and the model's lexical cues.
    tokens = tokenize(list(chain.from_iterable(doc.lines for doc in all_docs)))
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
        points = np.array([scorer.threshold(ev) for ev in evidences], dtype=np.float64)
        points = np.repeat(points, sizes, axis=0)
        reasons = list(chain.from_iterable(prep.decisions.reasons for prep in live))
        rules = list(chain.from_iterable(ev.rules for ev in evidences))
        by_rules = np.array([reason is not None for reason in reasons], dtype=bool)
        ruled = np.array([rule is not None for rule in rules], dtype=bool)
        first = np.zeros(len(reasons), dtype=bool)
        first[np.cumsum(sizes) - sizes] = True
        gone = decide_many(scores, by_rules, ruled, points[:, 0], points[:, 1], points[:, 2], first)
        rounded = np.round(scores, 4).tolist()
        gone_list = gone.tolist()
        start = 0
        for prep, size in zip(live, sizes, strict=True):
            out[id(prep)] = _cleaned(prep, gone_list[start : start + size], rounded[start : start + size])
            start += size
    empty = Cleaned(text="", title=None, byline=None, removed=(), kept_line_nos=())
    return [out.get(id(prep), empty) for prep in preps]


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
) -> Cleaned:
    """The article body of a scraped text, with its title, byline and each removed line's reason.

    ``title`` is the title known from metadata, if any (else it is detected from the header);
    ``site`` is what the site memory knows of the document's site: its counts are a feature
    of the model, and with ``site_min_docs`` > 0 a line that many other documents hold goes
    as site boilerplate whatever the model says. ``extracted`` says the text is an
    extractor's output from HTML (not a scraped page's whole text). ``scorer`` defaults to
    the packaged model.
    """
    return clean_many([CleanInput(text, title, site, site_min_docs, extracted)], scorer)[0]
