r"""The cleaner's structural rules and everything it decides before the line model.

Consumes one document's lines with its title (if known) and what the site memory knows of its
site; emits a ``Prepared``: each line's rule hit (``transforms/core/boilerplate.py``), the lines
the structural rules remove (the title and its repeats, the byline in the header, an "About the
author" box, the site's own boilerplate, the thread after a comment form), the phrase rules
precise enough to act alone (``HARD_RULES``), and the ``Evidence`` the line model reads.
Sample::

    prepare("Syria Prepares Offensive\n\nby Jane Roe\n\nThe army said ...").byline  -> "Jane Roe"
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from transforms.core import boilerplate
from transforms.core.line_model import NO_SITE, Evidence, SiteStats
from transforms.core.lines import (
    BYLINE_RE,
    LONG_CHARS,
    SHORT_KINDS,
    SITE_LINE_MAX_CHARS,
    SITE_LINE_MAX_WORDS,
    DocLines,
    Tokens,
    key_of,
    normalise,
    short_kinds,
    token_hash,
    tokenize,
)

# The header (title, byline, kicker) lives in the first few non-blank lines.
HEADER_MAX_LINES = 10
# A header line the page does not repeat is taken as the title only with this many words.
TITLE_MIN_WORDS = 5
# Site-repeated lines making up more than this share of a document's characters mean the
# document is a copy of another one (dedup handles it), not that its body is boilerplate.
SITE_LINES_MAX_SHARE = 0.5
THREAD_START_KIND = SHORT_KINDS.index("thread_start")
# In a page's whole text, lines of prose at most this many other lines apart make one run
# (``longest_prose_run``): an article's paragraphs with a caption or a subheading between them.
# Out of fold on lines_train's page text, 0, 2 and 5 keep 0.9444, 0.9437 and 0.9418 of the body
# lines and remove 0.9086, 0.9085 and 0.9087 of the boilerplate; 2 bridges a caption. The price:
# a long header line at most two lines above a comment link joins the article's run, and the
# link then cuts as below the body.
PROSE_RUN_GAP = 2

_DATE_LINE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:\d{1,2}(?:st|nd|rd|th)?\s+)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}$|"
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$",
    re.IGNORECASE,
)
# A bare singular "Comment" is a table's column heading or a button as often as a thread's
# heading: it names the line a comment widget (the model's feature, so ``THREAD_START`` keeps it)
# but starts no cut. Counted on lines_train: after one, 8 body lines against 5 boilerplate in
# extracted text; without the cut, both views keep 149 more body lines and 6 more boilerplate.
_BARE_COMMENT = re.compile(r"^comment\s*:?$", re.IGNORECASE)
# A zero count ("0 comments", "No Comments", "No Comment") has no thread after it: it is a link in
# the article's header or share bar, or a section's name. Counted on lines_train, the cut after
# one removed 78 body lines (the article below the header's link) and 2,955 boilerplate lines in 42
# documents; the model now judges them line by line.
_ZERO_COUNT = re.compile(r"^(?:0|no|zero)\s+(?:comments?|responses?|thoughts?)\b", re.IGNORECASE)
# Comment headers of a thread with no form (``thread_shape_start``): "2 hours ago", "May 31st,
# 2004 at 11:37 pm", "Posted by: marc | April 21, 2004 at 03:52 PM", after a name line "JohnQ".
THREAD_MIN_HEADERS = 2
THREAD_HEADER_GAP = 12
THREAD_TAIL_KEPT = 10
THREAD_HEADER_MAX_CHARS = 80
THREAD_NAME_MAX_CHARS = 40
_TIME_AGO = re.compile(
    r"^(?:about |posted |updated )?(?:\d+|an?|one) "
    r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?) ago\b",
    re.IGNORECASE,
)
_AT_CLOCK = re.compile(r"\b(?:\d{4}|\d{1,2}),? (?:at|@) \d{1,2}:\d\d\s*(?:[ap]\.?m\.?)?$", re.IGNORECASE)
_POSTED = re.compile(r"\b(?:posted by|says:?$|wrote:?$)", re.IGNORECASE)
# A commenter's name: one to four words, no sentence punctuation ("Mary_S", "Dave from Leeds").
_NAME_LINE = re.compile(r"^[^\s.!?]{1,25}(?: [^\s.!?]{1,25}){0,3}:?$")
# A document may hold a header only if it holds one of these (literal scans: a regex without a
# literal prefix costs ~60 ns a character).
_AGO_WORDS = ("ago", "Ago", "AGO")
_CLOCK = re.compile(r":\d\d")
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


def first_prose_line(lines: Sequence[str], reasons: Sequence[str | None]) -> int | None:
    """A text's first line of prose (``LONG_CHARS``, not yet removed), or None."""
    return next(
        (pos for pos, line in enumerate(lines) if len(line) >= LONG_CHARS and reasons[pos] is None), None
    )


def longest_prose_run(lines: Sequence[str], reasons: Sequence[str | None]) -> int | None:
    """Where a text's longest run of prose starts (None: no prose): lines of prose
    (``LONG_CHARS``, not yet removed) at most ``PROSE_RUN_GAP`` other lines apart, the run that
    holds the most characters."""
    best, best_chars, start, chars, last = None, 0, 0, 0, None
    for pos, line in enumerate(lines):
        if len(line) < LONG_CHARS or reasons[pos] is not None:
            continue
        if last is None or pos - last > PROSE_RUN_GAP + 1:
            start, chars = pos, 0
        chars += len(line)
        last = pos
        if chars > best_chars:
            best, best_chars = start, chars
    return best


def _apply_after_comment_form(dec: _Decisions, kinds: np.ndarray, scraped: bool) -> None:
    """After a comment form below the body ("Leave a Reply", "12 Comments"), the article never
    resumes: what follows is the thread. (On held-out training documents, 97-98 % of the
    labelled lines after such a form are boilerplate.) Below the body: in extracted text, after
    its first line of prose; in text given as is (``scraped``: a page's whole text, a scraper's),
    after the start of its longest run of prose, since a comment count in a page's header or
    tabs stands above the article it links from, often below a long line of the header (a site's
    description, a teaser)."""
    starts = np.flatnonzero(kinds == THREAD_START_KIND)
    if not starts.size:
        return
    lines, reasons = dec.doc.lines, dec.reasons
    anchor = longest_prose_run(lines, reasons) if scraped else first_prose_line(lines, reasons)
    if anchor is None:
        return
    after = [
        int(pos)
        for pos in starts[starts > anchor]
        if not _BARE_COMMENT.match(lines[pos]) and not _ZERO_COUNT.match(lines[pos])
    ]
    if not after:
        return
    for pos in range(after[0] + 1, len(lines)):
        if reasons[pos] is None:
            dec.set(pos, "comment_thread", "comment.after_form")


def thread_shape_start(lines: Sequence[str], kept: Sequence[bool]) -> int | None:
    """Where a comment thread with no form around it starts, or None: comment headers (a
    relative or clock time, "Posted by ...") each right after a commenter's name line or
    naming the poster, below the body, chained at most ``THREAD_HEADER_GAP`` lines apart; the
    document's last chain, when at most ``THREAD_TAIL_KEPT`` lines ``kept`` follow its last
    header and it holds less kept text than the lines above it, is the thread, from the name
    line of its first header. (Counted on held-out training documents, the lines it removes
    that the model keeps: extracted text 8 body against 271 boilerplate, page text 5 against
    343; the body lines are reader comments that the silver labels count as body.)"""
    joined = "\n".join(lines)
    if not any(word in joined for word in _AGO_WORDS) and not _CLOCK.search(joined):
        return None
    anchor = next((pos for pos, line in enumerate(lines) if len(line) >= LONG_CHARS and kept[pos]), None)
    if anchor is None:
        return None
    headers = [pos for pos in range(anchor + 1, len(lines)) if _is_comment_header(lines, pos)]
    if len(headers) < THREAD_MIN_HEADERS:
        return None
    chain = [headers[-1]]
    for pos in reversed(headers[:-1]):
        if chain[0] - pos > THREAD_HEADER_GAP:
            break
        chain.insert(0, pos)
    if len(chain) < THREAD_MIN_HEADERS:
        return None
    if sum(kept[pos] for pos in range(chain[-1] + 1, len(lines))) > THREAD_TAIL_KEPT:
        return None
    start = max(chain[0] - 1, anchor + 1)
    # A thread never outweighs the article above it: timestamped entries that hold most of
    # the text are the article (a live blog's updates under short headlines).
    kept_chars = [len(line) if keep else 0 for line, keep in zip(lines, kept, strict=True)]
    if sum(kept_chars[start:]) > sum(kept_chars[:start]):
        return None
    return start


def _is_comment_header(lines: Sequence[str], pos: int) -> bool:
    line = lines[pos]
    if len(line) > THREAD_HEADER_MAX_CHARS or not (_TIME_AGO.match(line) or _AT_CLOCK.search(line)):
        return False
    before = lines[pos - 1]
    if _POSTED.search(line) or _POSTED.search(before):
        return True
    return len(before) <= THREAD_NAME_MAX_CHARS and _NAME_LINE.match(before) is not None


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
    first = np.unique(
        np.array([token_hash(w.decode()) for w in boilerplate.WORD_RULE_FIRST], dtype=np.uint64)
    )
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
    first_prose_anchor: bool = False,
    _doc: DocLines | None = None,
    _hints: tuple[list[bool], dict[int, set[int]]] | None = None,
) -> Prepared:
    """Everything the cleaner decides without the model (training calls this too).

    ``first_prose_anchor``: a comment form cuts below the first line of prose in every kind of
    input, text given as is included (the line model's training labels are defined so).
    """
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
    _apply_after_comment_form(dec, kinds, scraped=not extracted and not first_prose_anchor)
    evidence = Evidence(tuple(matched), tuple(title_flags), counts, site.docs, extracted, kinds)
    return Prepared(doc, dec, evidence, found_title, byline)
