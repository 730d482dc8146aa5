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

import dataclasses
import functools
import importlib.resources
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from transforms.core import boilerplate
from transforms.core.lines import (
    BYLINE_RE,
    LONG_CHARS,
    DocLines,
    LexicalScorer,
    base_features,
    is_site_candidate,
    line_key,
    normalise,
    second_features,
)

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


class LineScorer(Protocol):
    """A line model: the probability that each line of a document is boilerplate, and its
    operating point: the probability from which a line goes, the lower one from which a run of
    lines between lines that go goes, and the one from which a line a phrase rule matched goes
    (``decide``)."""

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray: ...

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]: ...


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
    gone = removed | (scores >= threshold) | (ruled & (scores >= rule_threshold))
    keep = ~gone
    if keep.all() or not keep.any():
        return gone
    starts = keep.copy()
    starts[1:] &= ~keep[:-1]
    run = np.cumsum(starts) * keep
    weak = np.bincount(run[keep & (scores < low)], minlength=int(run.max()) + 1)
    return gone | (keep & (weak[run] == 0))


# --- The shipped model: lexical cues and line shape, then a pass over the neighbours ---


class TreeEnsemble:
    """Gradient-boosted trees (exported from scikit-learn's HistGradientBoostingClassifier),
    evaluated for all lines and all trees at once, one depth level per numpy step. Nodes are
    laid out so that the right child follows the left one: the next node is ``left + (x > split)``
    (a leaf points to itself and its split is infinite)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], prefix: str) -> None:
        self.feature = arrays[f"{prefix}_feature"].astype(np.intp)
        self.split = arrays[f"{prefix}_split"].astype(np.float32)
        self.left = arrays[f"{prefix}_left"].astype(np.intp)
        self.value = arrays[f"{prefix}_value"].astype(np.float32)
        self.roots = arrays[f"{prefix}_roots"].astype(np.intp)
        self.depth = int(arrays[f"{prefix}_depth"])
        self.baseline = float(arrays[f"{prefix}_baseline"])

    def raw(self, features: np.ndarray) -> np.ndarray:
        """The log-odds for each row of ``features``."""
        n, width = features.shape
        flat = np.ascontiguousarray(features, dtype=np.float32).ravel()
        offsets = (np.arange(n, dtype=np.intp) * width)[:, None]
        node = np.broadcast_to(self.roots, (n, self.roots.size))
        for _ in range(self.depth):
            node = self.left[node] + (flat[offsets + self.feature[node]] > self.split[node])
        return self.value[node].sum(axis=1) + self.baseline


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


class LineModel:
    """The shipped line model (``schemas/models/line_model.npz``; card beside it)."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        self.meta = meta
        self.thresholds = {kind: float(value) for kind, value in meta["thresholds"].items()}
        self.run_thresholds = {kind: float(value) for kind, value in meta["run_thresholds"].items()}
        self.rule_thresholds = {kind: float(value) for kind, value in meta["rule_thresholds"].items()}
        cues = arrays["lex_cues"].tolist()
        self.lexical = LexicalScorer(dict(zip(cues, arrays["lex_weights"].tolist(), strict=True)))
        self.first = TreeEnsemble(arrays, "p1")
        self.second = TreeEnsemble(arrays, "p2")

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

    def features(self, doc: DocLines, evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
        base = base_features(
            doc,
            rules=evidence.rules,
            lexical=self.lexical,
            title_lines=evidence.title_lines,
            site_counts=evidence.site_counts,
            site_docs=evidence.site_docs,
            extracted=evidence.extracted,
        )
        p1 = _sigmoid(self.first.raw(base)).astype(np.float32)
        chars = np.fromiter(map(len, doc.lines), dtype=np.float32, count=len(doc))
        return base, second_features(base, p1, chars)

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray:
        if not len(doc):
            return np.zeros(0, dtype=np.float32)
        _, second = self.features(doc, evidence)
        return _sigmoid(self.second.raw(second))


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


def title_matches(line: str, norm_title: str) -> bool:
    """True when a line is the title, allowing the site-name suffix a feed title often carries."""
    norm = normalise(line)
    if not norm or not norm_title:
        return False
    if norm == norm_title:
        return True
    # "Title | Site" in the feed vs "Title" in the text, or the reverse.
    shorter, longer = sorted((norm, norm_title), key=len)
    return len(shorter) >= 20 and len(shorter) >= 0.6 * len(longer) and longer.startswith(shorter + " ")


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
        anchor = next(
            (
                pos
                for pos, line in enumerate(self.doc.lines)
                if len(line) >= LONG_CHARS and matched[pos] is None and self.reasons[pos] is None
            ),
            len(self.doc),
        )
        return range(min(anchor, HEADER_MAX_LINES))


def _apply_title(dec: _Decisions, matched: list, title: str | None) -> tuple[str | None, list[bool]]:
    """Remove the title and its repeats; detect the title from the header when none is given."""
    lines = dec.doc.lines
    header = dec.header(matched)
    rule = "title.given"
    if title is None or not title.strip():
        rule = "title.detected"
        counts = Counter(normalise(line) for line in lines if len(line) <= 200)
        candidates = [pos for pos in header if matched[pos] is None and _is_title_candidate(lines[pos])]
        # A header line the page repeats (heading, image caption) is the title; else the first
        # candidate long enough not to be a short lead-in ("Winners are in bold").
        repeated = [pos for pos in candidates if counts[normalise(lines[pos])] > 1]
        single = [pos for pos in candidates if len(_words(lines[pos])) >= TITLE_MIN_WORDS]
        chosen = (repeated or single or [None])[0]
        if chosen is None:
            return None, [False] * len(lines)
        title = lines[chosen]
    # Scrapers leave no-break spaces in headings; the title is plain text.
    title = " ".join(title.split())
    norm_title = normalise(title)
    # A short title ("Update") may be an ordinary line deeper in the text: only match it in the header.
    anywhere = len(norm_title) >= 15 and len(norm_title.split()) >= 3
    flags = [False] * len(lines)
    seen_title = False
    for pos, line in enumerate(lines):
        if not (anywhere or pos in header) or len(line) > 3 * len(title) + 20:
            continue
        if title_matches(line, norm_title):
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
        if dec.reasons[pos] is not None or matched[pos] is not None or len(lines[pos]) > 60:
            continue
        match = _ABOUT_RE.match(lines[pos])
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


def _apply_after_comment_form(dec: _Decisions) -> None:
    """After a comment form below the body ("Leave a Reply", "12 Comments"), the article never
    resumes: what follows is the thread. (On held-out training documents, 97-98 % of the
    labelled lines after such a form are boilerplate.)"""
    lines = dec.doc.lines
    anchor = next(
        (pos for pos, line in enumerate(lines) if len(line) >= LONG_CHARS and dec.reasons[pos] is None), None
    )
    if anchor is None:
        return
    start = next(
        (
            pos
            for pos in range(anchor + 1, len(lines))
            if len(lines[pos]) <= SHORT_LINE_CHARS and boilerplate.THREAD_START.match(lines[pos])
        ),
        None,
    )
    if start is None:
        return
    for pos in range(start + 1, len(lines)):
        if dec.reasons[pos] is None:
            dec.set(pos, "comment_thread", "comment.after_form")


def _site_counts(doc: DocLines, site: SiteStats) -> tuple[int, ...]:
    if not site.counts:
        return (0,) * len(doc)
    get = site.counts.get
    return tuple(get(line_key(line), 0) if is_site_candidate(line) else 0 for line in doc.lines)


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


def prepare(
    text: str,
    *,
    title: str | None = None,
    site: SiteStats = NO_SITE,
    site_min_docs: int = 0,
    extracted: bool = False,
) -> Prepared:
    """Everything the cleaner decides without the model (training calls this too)."""
    doc = DocLines.of(text)
    n = len(doc)
    matched = [boilerplate.match_rule(line) for line in doc.lines]
    dec = _Decisions(doc, [None] * n, [None] * n)
    found_title, title_flags = _apply_title(dec, matched, title) if n else (None, [])
    byline = _apply_byline(dec, matched)
    _apply_about_box(dec, matched)
    counts = _site_counts(doc, site)
    _apply_site_memory(dec, counts, site_min_docs)
    for pos, rule in enumerate(matched):
        if rule is not None and dec.reasons[pos] is None and rule.id in boilerplate.HARD_RULES:
            dec.set(pos, rule.reason, rule.id)
    _apply_after_comment_form(dec)
    evidence = Evidence(tuple(matched), tuple(title_flags), counts, site.docs, extracted)
    return Prepared(doc, dec, evidence, found_title, byline)


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
    prep = prepare(text, title=title, site=site, site_min_docs=site_min_docs, extracted=extracted)
    doc, dec = prep.doc, prep.decisions
    if not len(doc):
        return Cleaned(text="", title=None, byline=None, removed=(), kept_line_nos=())
    scorer = scorer or default_scorer()
    scores = scorer.score(doc, prep.evidence)
    threshold, low, rule_threshold = scorer.threshold(prep.evidence)
    by_rules = np.array([reason is not None for reason in dec.reasons], dtype=bool)
    ruled = np.array([rule is not None for rule in prep.evidence.rules], dtype=bool)
    gone = decide(scores, by_rules, ruled, threshold, low, rule_threshold)
    removed = []
    kept = []
    for pos, line in enumerate(doc.lines):
        score = float(scores[pos])
        if dec.reasons[pos] is None and gone[pos]:
            rule = prep.evidence.rules[pos]
            reason, rule_id = (rule.reason, rule.id) if rule is not None else ("boilerplate", None)
            dec.set(pos, reason, rule_id)
        if dec.reasons[pos] is None:
            kept.append(pos)
        else:
            removed.append(
                RemovedLine(doc.line_nos[pos], line, dec.reasons[pos], dec.rules[pos], round(score, 4))
            )
    return Cleaned(
        text="\n\n".join(doc.lines[pos] for pos in kept),
        title=prep.title,
        byline=prep.byline,
        removed=tuple(removed),
        kept_line_nos=tuple(doc.line_nos[pos] for pos in kept),
    )
