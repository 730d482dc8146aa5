r"""Features of the lines of one document, shared by the line model's training and its inference.

Consumes the non-blank lines of a document (stripped, in order), with what the cleaner knows
about them (rule hits, the title, the site's line counts); emits one row of numbers per line.
Sample::

    doc = DocLines.of("Share this:\n\nThe army said on Monday that ...\n\nReddit")
    base_features(doc, rules=[...], ...)  -> float32 array, shape (3, len(BASE_FEATURES))

The features carry across sites: the line's shape (length, words, punctuation, capitals,
digits, links, handles, e-mail, stop-word share), its position (relative, and its distance to
the document's long prose lines), its lexical cues (a learnt weight per word, word pair and
first/last word of its head, summed: ``LexicalScorer``), its repetition inside the document
and across the documents of its site, and the phrase rules of ``transforms/core/boilerplate.py``
as evidence. ``context_features`` adds a second pass: the first pass's scores of the
neighbours (boilerplate comes in runs at the top and bottom; comment threads are long runs).

Character classes are counted for the whole document at once with numpy (one code-point
array, one ``bincount``), so the cost per line is a few C-level calls, not a loop per character.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from itertools import repeat
from math import log1p

import numpy as np

from transforms.core import boilerplate

# A line at least this long is article prose: it anchors the body (the old cleaner's ANCHOR_CHARS).
LONG_CHARS = 120
# Word features come from the head of a line: widget strings and headings are short, and prose
# is recognised by its shape; reading no further keeps the cost per line bounded.
HEAD_CHARS = 96
# ... and the lexical cues from its first words.
HEAD_TOKENS = 10
# Lines of at most this many tokens also count as one whole-line cue ("share this").
WHOLE_LINE_TOKENS = 5
# Site statistics cover short-to-medium lines only: a site's boilerplate is widget strings,
# banners and teasers, while long paragraphs that repeat across a site are syndicated copies.
SITE_LINE_MAX_CHARS = 200
SITE_LINE_MAX_WORDS = 30
# Site counts saturate here: ten other documents holding a line is as strong as a hundred.
SITE_COUNT_CAP = 10

_I = re.IGNORECASE

# --- Character classes, for the whole document at once ---
# NEWLINE and SPACE sort first: "class > NEWLINE" is a visible character.
NEWLINE, SPACE, UPPER, LOWER, OTHER_LETTER, DIGIT, END_PUNCT, MID_PUNCT, QUOTE, SEPARATOR, DASH, AT, OTHER = (
    range(13)
)
N_CLASSES = 13
_SEPARATORS = "|•·/\\»›«‹<>→←↑↓▶►◄■□▪●○★☆_=~*#+^"
_TABLE_SIZE = 0x3100  # code points above this (CJK, emoji, ...) are looked up by category


@functools.cache
def _class_table() -> np.ndarray:
    table = np.full(_TABLE_SIZE, OTHER, dtype=np.uint8)
    for code in range(_TABLE_SIZE):
        char = chr(code)
        cat = unicodedata.category(char)
        if char == "\n":
            table[code] = NEWLINE
        elif char.isspace():
            table[code] = SPACE
        elif cat == "Lu" or cat == "Lt":
            table[code] = UPPER
        elif cat == "Ll":
            table[code] = LOWER
        elif cat[0] == "L" or cat == "Mn" or cat == "Mc":
            table[code] = OTHER_LETTER
        elif cat == "Nd":
            table[code] = DIGIT
        elif char in ".!?…。！？":
            table[code] = END_PUNCT
        elif char in ",;:，；：":
            table[code] = MID_PUNCT
        elif char in "\"'“”‘’„«»()[]{}" and char not in "«»":
            table[code] = QUOTE
        elif char in _SEPARATORS:
            table[code] = SEPARATOR
        elif cat == "Pd":
            table[code] = DASH
        elif char == "@":
            table[code] = AT
    return table


def char_classes(text: str) -> np.ndarray:
    """The class of every character of ``text``."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _class_table()
    high = codes >= _TABLE_SIZE
    classes = table[np.minimum(codes, _TABLE_SIZE - 1)]
    if high.any():
        # CJK ideographs, Hangul and the like are letters; emoji and symbols are "other".
        classes[high] = [
            OTHER_LETTER if unicodedata.category(chr(c))[0] == "L" else OTHER for c in codes[high].tolist()
        ]
    return classes


# --- Word lists ---
# Function words of the languages in the training data (English most, German, French,
# Hungarian, Spanish, Dutch, Italian): prose is full of them, widgets have almost none.
STOP_WORDS = frozenset(
    """a an the and or but if of in on at to for from by with as is are was were be been being it its this
    that these those there here he she they we you i me my our your his her their them us not no so than
    then too very can could will would should may might must shall do does did have has had which who whom
    what when where why how all any each some such into over under about after before between through
    during while also just only more most other own same up down out off again further once
    der die das und oder aber den dem des ein eine einer eines einem einen ist sind war waren sein nicht
    mit von zu im auf für als auch es sie er wir ich du ihr bei nach aus wie wenn noch nur so dass um am
    le la les un une des et ou mais de du au aux est sont était pas ne que qui dans pour par sur avec ce
    cette il elle ils nous vous je se sa son ses leur plus
    az a egy és hogy nem is meg de van volt ez azt mint csak már még el ki be fel
    el los las una unos y o pero en con por para es son fue no que se lo su sus del al como más
    het een en of maar van in op te voor met is zijn was niet dat die er ook
    il lo gli una uno e o ma di da per con su è sono non che si del della""".split()  # noqa: SIM905
)

# Register words: reader comments talk ("I", "you", "lol"), news copy reports ("said").
FIRST_PERSON = frozenset({"i", "me", "my", "myself", "mine", "im", "ive"})
SECOND_PERSON = frozenset({"you", "your", "youre", "yourself", "u"})
NEWS_WORDS = frozenset(
    {"said", "says", "told", "according", "reported", "reportedly", "announced", "stated", "confirmed"}
    | {
        "percent",
        "official",
        "officials",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "ministry",
        "statement",
    }
    | {"sagte", "erklärte", "selon", "déclaré"}
)
CHAT_WORDS = frozenset(
    {"lol", "lmao", "rofl", "haha", "hahaha", "omg", "wtf", "imho", "btw", "thanks", "thank", "agree"}
    | {"disagree", "great", "wow", "yeah", "yes", "nope", "guys", "hi", "hey", "ok", "okay"}
)

_DIGIT_RUN_RE = re.compile(r"\d+")
# One class per word for the register counts (a word is in one class; classes 1-3 are function words).
STOP, FIRST, SECOND, NEWS, CHAT = 1, 2, 3, 4, 5
_WORD_CLASS = {
    **{w: STOP for w in STOP_WORDS},
    **{w: NEWS for w in NEWS_WORDS},
    **{w: CHAT for w in CHAT_WORDS},
    **{w: FIRST for w in FIRST_PERSON},
    **{w: SECOND for w in SECOND_PERSON},
}
_EMAIL = re.compile(r"[\w.+-]@[\w-]+\.\w")
_HANDLE = re.compile(r"(?:^|[^\w.])@[A-Za-z_]\w")
_EMOTICONS = (":)", ":-)", ";)", ";-)", ":(", ":-(", ":D", ":P")
_TIME = re.compile(
    r"\b\d{1,2}:\d\d\b|\b\d+ (?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?) ago\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b|"
    r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b",
    _I,
)
# Short-line patterns, matched at the line start.
BYLINE_RE = re.compile(r"^(?:written |reported |posted )?by\b\s*[:\-–—]?\s*", _I)
_COMMENT_META = re.compile(
    r"^(?:posted by\b|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|"
    r"(?:on )?\w+ \d{1,2},? \d{4},? at \d{1,2}:\d\d|reply|report|log in to reply|"
    r"\d+ (?:likes?|replies|votes?|points?))",
    _I,
)
# Lines this short get the short-line patterns and the date/time pattern.
SHORT_CHARS = 120

_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[\W_]+")


def normalise(line: str) -> str:
    """Case-, digit-, accent- and punctuation-insensitive form of a line (CCNet's normalisation)."""
    if not line.isascii():
        # The combining marks NFKD splits off go in one regex pass.
        line = _COMBINING.sub("", unicodedata.normalize("NFKD", line))
    text = _DIGIT_RUN_RE.sub("0", line.casefold())
    return " ".join(_NON_WORD.sub(" ", text).split())


def line_key(line: str) -> str:
    """Normalised hash of a line, for site statistics: equal for lines that differ only in case,
    digits, accents, punctuation or spacing; "" for a line without words."""
    norm = normalise(line)
    if not norm:
        return ""
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def is_site_candidate(line: str) -> bool:
    """Only lines this short count in site statistics."""
    return len(line) <= SITE_LINE_MAX_CHARS and line.count(" ") < SITE_LINE_MAX_WORDS


def site_line_candidates(text: str) -> set[str]:
    """The ``line_key``s of the lines of ``text`` that may count as site boilerplate."""
    keys: set[str] = set()
    for raw in text.split("\n"):
        line = raw.strip()
        if line and is_site_candidate(line):
            key = line_key(line)
            if key:
                keys.add(key)
    return keys


@dataclasses.dataclass(frozen=True)
class DocLines:
    """The non-blank lines of a document, stripped, with their 1-based line numbers."""

    lines: tuple[str, ...]
    line_nos: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> DocLines:
        # Line numbers count "\n" only; stripping takes the "\r" of CRLF text off each line.
        pairs = [(n, s) for n, s in enumerate((line.strip() for line in (text or "").split("\n")), 1) if s]
        return cls(tuple(s for _, s in pairs), tuple(n for n, _ in pairs))

    def __len__(self) -> int:
        return len(self.lines)


def _ascii_table() -> bytes:
    table = bytearray(range(256))
    for code in range(128):
        char = chr(code)
        if not char.isalnum():
            table[code] = 32
        elif char.isdigit():
            table[code] = 48
    return bytes(table)


# ASCII lines (most) are split by one C-level byte translation; others by a regex.
_ASCII_TOKENS = _ascii_table()
_ALNUM_RE = re.compile(r"[^\W_]+")
_DIGIT_RE = re.compile(r"\d")
_ZEROS = repeat(0)
_ZEROS_F = repeat(0.0)


def tokens(text: str) -> list[str]:
    """The words of ``text``, case-folded, every digit as 0."""
    if text.isascii():
        return text.lower().encode().translate(_ASCII_TOKENS).decode().split()
    return _ALNUM_RE.findall(_DIGIT_RE.sub("0", text.casefold()))


def lexical_cues(line: str, toks: list[str] | None = None) -> list[str]:
    """The cues the lexical model weighs: words and word pairs of the head, its first word,
    the line's last word, and the whole line when it is short."""
    toks = (tokens(line[:HEAD_CHARS]) if toks is None else toks)[:HEAD_TOKENS]
    if not toks:
        return []
    cues = toks + list(map(" ".join, zip(toks, toks[1:], strict=False)))
    cues.append("^" + toks[0])
    tail = tokens(line[-24:]) if len(line) > HEAD_CHARS else toks
    if tail:
        cues.append("$" + tail[-1])
    if len(toks) <= WHOLE_LINE_TOKENS and len(line) <= HEAD_CHARS:
        cues.append("=" + " ".join(toks))
    return cues


class LexicalScorer:
    """Summed learnt weights of a line's lexical cues (a logistic model over cues; the sum is
    its log-odds of boilerplate, without the bias)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._get = dict(weights).get

    def score(self, line: str, toks: list[str] | None = None) -> float:
        return sum(map(self._get, lexical_cues(line, toks), _ZEROS_F))


BASE_FEATURES = (
    # shape
    "log_chars",
    "log_words",
    "chars_per_word",
    "upper_share",
    "digit_share",
    "punct_share",
    "separator_share",
    "other_letter_share",
    "sentence_end_rate",
    "comma_rate",
    "quote_share",
    "title_case_share",
    "ends_sentence",
    "ends_colon",
    "ends_ellipsis",
    "starts_upper",
    "starts_lower",
    "starts_digit",
    "starts_bullet",
    "has_url",
    "has_email",
    "has_handle",
    "emoticon",
    "has_question",
    "has_exclamation",
    "has_time",
    # words of the head
    "stop_share",
    "first_person",
    "second_person",
    "news_words",
    "chat_words",
    "byline_like",
    "comment_meta",
    # position
    "rel_pos",
    "log_from_start",
    "log_from_end",
    "char_pos",
    "before_first_long",
    "after_last_long",
    "log_dist_long",
    "long_within_3",
    # document
    "extracted",
    "doc_log_lines",
    "doc_log_chars",
    "doc_long_share",
    "doc_long_char_share",
    "doc_rule_share",
    # repetition
    "doc_repeats",
    "is_title",
    "site_docs",
    "site_share",
    "site_doc_share",
    # rules
    *(f"rule_{reason}" for reason in boilerplate.RULE_REASONS),
    "soft_widget",
    "thread_start",
    "after_thread_start",
    "rules_before",
    "rules_after",
    # lexical
    "lexical",
)
_COL = {name: i for i, name in enumerate(BASE_FEATURES)}
_RULE_COL = {reason: _COL[f"rule_{reason}"] for reason in boilerplate.RULE_REASONS}
# Per-line columns filled in the Python loop of ``base_features``, in this order.
_LOOP_COLUMNS = (
    "log_chars",
    "log_words",
    "has_url",
    "has_email",
    "has_handle",
    "emoticon",
    "has_question",
    "has_exclamation",
    "has_time",
    "ends_colon",
    "ends_ellipsis",
    "stop_share",
    "first_person",
    "second_person",
    "news_words",
    "chat_words",
    "byline_like",
    "comment_meta",
    "soft_widget",
    "thread_start",
    "lexical",
)
_LOOP_INDEX = np.array([_COL[name] for name in _LOOP_COLUMNS])
# Shape features are read from each line's first characters (shares, rates): enough to tell
# prose from a widget, and bounded work for a long paragraph.
SAMPLE_CHARS = 160

CONTEXT_FEATURES = (
    "p_self",
    "p_prev1",
    "p_prev2",
    "p_next1",
    "p_next2",
    "p_mean_prev5",
    "p_mean_next5",
    "p_mean_prev15",
    "p_mean_next15",
    "p_mean_before",
    "p_mean_after",
    "p_doc_mean",
    "p_char_mean_after",
    "p_char_mean_before",
    "p_run",
    "in_body_span",
    "before_body_span",
    "after_body_span",
    "log_dist_body_span",
    "body_span_share",
)


def _line_loop(lines: Sequence[str], lexical: LexicalScorer) -> np.ndarray:
    """The per-line features that need the line's words, in ``_LOOP_COLUMNS`` order."""
    rows = []
    append = rows.append
    word_class = _WORD_CLASS.get
    soft, thread = boilerplate.SOFT_WIDGET.match, boilerplate.THREAD_START.match
    for line in lines:
        size = len(line)
        toks = tokens(line[:HEAD_CHARS])
        classes = bytes(map(word_class, toks, _ZEROS))
        count = len(toks) or 1
        first, second = classes.count(FIRST), classes.count(SECOND)
        at = "@" in line
        short = size <= SHORT_CHARS
        append(
            (
                log1p(size),
                log1p(line.count(" ") + 1),
                "http" in line or "www." in line,
                at and _EMAIL.search(line) is not None,
                at and _HANDLE.search(line) is not None,
                ":" in line and any(e in line for e in _EMOTICONS),
                "?" in line,
                "!" in line,
                short and _TIME.search(line) is not None,
                line[-1] in ":：",
                line.endswith(("...", "…")),
                (classes.count(STOP) + first + second) / count,
                first,
                second,
                classes.count(NEWS),
                classes.count(CHAT),
                short and BYLINE_RE.match(line) is not None,
                short and _COMMENT_META.match(line) is not None,
                short and soft(line) is not None,
                short and thread(line) is not None,
                lexical.score(line, toks),
            )
        )
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(_LOOP_COLUMNS))


def base_features(
    doc: DocLines,
    *,
    rules: Sequence[boilerplate.Rule | None],
    lexical: LexicalScorer,
    title_lines: Sequence[bool] = (),
    site_counts: Sequence[int] = (),
    site_docs: int = 0,
    extracted: bool = False,
) -> np.ndarray:
    """The first-pass features of every line of ``doc`` (rows in line order).

    ``rules`` holds the rule each line matched (or None), ``title_lines`` whether it is the
    title, ``site_counts`` in how many other documents of the site it was seen, of
    ``site_docs`` other documents the site has; ``extracted`` says that the text is what an
    extractor left of an HTML page (rather than a page's or a scraper's whole text).
    """
    n = len(doc)
    out = np.zeros((n, len(BASE_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    lines = doc.lines
    c = _COL
    out[:, _LOOP_INDEX] = _line_loop(lines, lexical)

    # Character classes of each line's first SAMPLE_CHARS characters, all lines at once.
    sample = "\n".join([line[:SAMPLE_CHARS] for line in lines])
    classes = char_classes(sample)
    newline = classes == NEWLINE
    line_of = np.cumsum(newline) - newline  # a newline belongs to the line it ends
    counts = np.bincount(line_of * N_CLASSES + classes, minlength=n * N_CLASSES).reshape(n, N_CLASSES)
    counts = counts.astype(np.float32)
    solid_chars = classes > NEWLINE
    starts = solid_chars.copy()
    starts[1:] &= ~solid_chars[:-1]
    words = np.maximum(np.bincount(line_of[starts], minlength=n).astype(np.float32), 1.0)
    capital = np.bincount(line_of[starts & (classes == UPPER)], minlength=n)
    first_class = classes[np.concatenate(([0], np.flatnonzero(newline) + 1))]
    last_class = char_classes("".join([line[-1] for line in lines]))
    sampled = np.maximum(counts[:, UPPER:].sum(axis=1), 1.0)
    letters = np.maximum(counts[:, UPPER] + counts[:, LOWER], 1.0)
    chars = np.fromiter(map(len, lines), dtype=np.float32, count=n)
    out[:, c["chars_per_word"]] = np.minimum(sampled / words, 30.0)
    out[:, c["upper_share"]] = counts[:, UPPER] / letters
    out[:, c["digit_share"]] = counts[:, DIGIT] / sampled
    out[:, c["punct_share"]] = (counts[:, END_PUNCT] + counts[:, MID_PUNCT]) / sampled
    out[:, c["separator_share"]] = (counts[:, SEPARATOR] + counts[:, DASH]) / sampled
    out[:, c["other_letter_share"]] = counts[:, OTHER_LETTER] / sampled
    out[:, c["sentence_end_rate"]] = counts[:, END_PUNCT] / words
    out[:, c["comma_rate"]] = counts[:, MID_PUNCT] / words
    out[:, c["quote_share"]] = counts[:, QUOTE] / sampled
    out[:, c["title_case_share"]] = capital / words
    out[:, c["ends_sentence"]] = (last_class == END_PUNCT) | (last_class == QUOTE)
    out[:, c["starts_upper"]] = first_class == UPPER
    out[:, c["starts_lower"]] = first_class == LOWER
    out[:, c["starts_digit"]] = first_class == DIGIT
    out[:, c["starts_bullet"]] = (first_class == SEPARATOR) | (first_class == DASH)

    # Position.
    index = np.arange(n)
    out[:, c["rel_pos"]] = index / max(n - 1, 1)
    out[:, c["log_from_start"]] = np.log1p(index)
    out[:, c["log_from_end"]] = np.log1p(n - 1 - index)
    total = float(chars.sum())
    out[:, c["char_pos"]] = (np.cumsum(chars) - chars) / max(total, 1.0)
    long = chars >= LONG_CHARS
    long_at = np.flatnonzero(long)
    if long_at.size:
        out[:, c["before_first_long"]] = index < long_at[0]
        out[:, c["after_last_long"]] = index > long_at[-1]
        where = np.searchsorted(long_at, index)
        after = long_at[np.minimum(where, long_at.size - 1)]
        before = long_at[np.maximum(where - 1, 0)]
        out[:, c["log_dist_long"]] = np.log1p(np.minimum(np.abs(after - index), np.abs(index - before)))
        cum = np.concatenate(([0], np.cumsum(long)))
        out[:, c["long_within_3"]] = cum[np.minimum(index + 4, n)] - cum[np.maximum(index - 3, 0)] - long
    else:
        out[:, c["before_first_long"]] = 1.0
        out[:, c["after_last_long"]] = 1.0
        out[:, c["log_dist_long"]] = np.log1p(n)
    out[:, c["extracted"]] = extracted
    out[:, c["doc_log_lines"]] = np.log1p(n)
    out[:, c["doc_log_chars"]] = np.log1p(total)
    out[:, c["doc_long_share"]] = long.mean()
    out[:, c["doc_long_char_share"]] = chars[long].sum() / max(total, 1.0)

    # Repetition: inside the document (short lines only) and across the site.
    seen: dict[str, int] = {}
    keys = [line.casefold() if len(line) <= SITE_LINE_MAX_CHARS else None for line in lines]
    for key in keys:
        if key is not None:
            seen[key] = seen.get(key, 0) + 1
    out[:, c["doc_repeats"]] = [np.log(seen[k]) if k is not None else 0.0 for k in keys]
    if title_lines:
        out[:, c["is_title"]] = np.asarray(title_lines, dtype=np.float32)
    if site_counts and any(site_counts):
        site = np.minimum(np.asarray(site_counts, dtype=np.float32), SITE_COUNT_CAP)
        out[:, c["site_docs"]] = np.log1p(site)
        out[:, c["site_share"]] = site / max(site_docs, 1)
        out[:, c["site_doc_share"]] = chars[site > 0].sum() / max(total, 1.0)

    # Rules as evidence, and where the document's rule hits lie.
    hit = np.zeros(n, dtype=np.float32)
    for i, rule in enumerate(rules):
        if rule is not None:
            out[i, _RULE_COL[rule.reason]] = 1.0
            hit[i] = 1.0
    thread = out[:, c["thread_start"]]
    out[:, c["after_thread_start"]] = (np.cumsum(thread) - thread) > 0
    ruled = np.cumsum(hit)
    out[:, c["rules_before"]] = np.log1p(ruled - hit)
    out[:, c["rules_after"]] = np.log1p(ruled[-1] - ruled)
    out[:, c["doc_rule_share"]] = ruled[-1] / n
    return out


# The neighbours' own features the second pass sees (a comment's author line and timestamp
# follow it; a heading precedes prose).
_NEIGHBOUR_OF = ("log_chars", "stop_share", "comment_meta", "has_time", "lexical", "byline_like")
_WINDOW_OF = ("comment_meta", "has_time", "soft_widget", "first_person", "second_person")
NEIGHBOUR_FEATURES = (
    *(f"prev_{name}" for name in _NEIGHBOUR_OF),
    *(f"next_{name}" for name in _NEIGHBOUR_OF),
    *(f"window5_{name}" for name in _WINDOW_OF),
    "window5_rules",
)
_NEIGHBOUR_COLS = np.array([_COL[name] for name in _NEIGHBOUR_OF])
_WINDOW_COLS = np.array([_COL[name] for name in _WINDOW_OF])
_ALL_RULE_COLS = np.array(sorted(_RULE_COL.values()))
SECOND_FEATURES = BASE_FEATURES + CONTEXT_FEATURES + NEIGHBOUR_FEATURES


def neighbour_features(base: np.ndarray) -> np.ndarray:
    """The previous and next line's own features, and counts over the five lines either side."""
    n = base.shape[0]
    out = np.zeros((n, len(NEIGHBOUR_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    own = base[:, _NEIGHBOUR_COLS]
    k = len(_NEIGHBOUR_OF)
    out[1:, :k] = own[:-1]
    out[:-1, k : 2 * k] = own[1:]
    counted = np.hstack((base[:, _WINDOW_COLS] > 0, base[:, _ALL_RULE_COLS].sum(axis=1, keepdims=True) > 0))
    cum = np.vstack((np.zeros((1, counted.shape[1])), np.cumsum(counted, axis=0)))
    index = np.arange(n)
    lo, hi = np.maximum(index - 5, 0), np.minimum(index + 6, n)
    out[:, 2 * k :] = cum[hi] - cum[lo] - counted
    return out


def second_features(base: np.ndarray, p: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """The second pass's features: the line's own, the first pass's scores around it, its neighbours'."""
    return np.hstack((base, context_features(p, chars), neighbour_features(base)))


def _shift(values: np.ndarray, by: int, fill: float) -> np.ndarray:
    out = np.full_like(values, fill)
    if by > 0:
        out[by:] = values[:-by]
    elif by < 0:
        out[:by] = values[-by:]
    return out


def body_span(p: np.ndarray, chars: np.ndarray) -> tuple[int, int]:
    """The run of lines [start, end) that holds most body text: the maximum-sum segment of
    (0.5 - p) weighted by each line's length (Kadane), as body-text extraction does with tags."""
    gain = (0.5 - p) * np.sqrt(chars)
    best, best_start, best_end = 0.0, 0, 0
    run, run_start = 0.0, 0
    for i, g in enumerate(gain.tolist()):
        if run <= 0:
            run, run_start = 0.0, i
        run += g
        if run > best:
            best, best_start, best_end = run, run_start, i + 1
    return best_start, best_end


def context_features(p: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """The second pass's view of the first pass's boilerplate probabilities ``p``: the
    neighbours', the windows' before and after, the document's, and where the body span lies
    (rows in line order)."""
    n = p.size
    out = np.zeros((n, len(CONTEXT_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    # Beyond the document's edges counts as boilerplate-like (a page starts and ends in chrome).
    edge = 0.5
    out[:, 0] = p
    out[:, 1] = _shift(p, 1, edge)
    out[:, 2] = _shift(p, 2, edge)
    out[:, 3] = _shift(p, -1, edge)
    out[:, 4] = _shift(p, -2, edge)
    pad = 15
    padded = np.concatenate((np.full(pad, edge), p, np.full(pad, edge)))
    cum = np.concatenate(([0.0], np.cumsum(padded)))
    idx = np.arange(n) + pad
    out[:, 5] = (cum[idx] - cum[idx - 5]) / 5
    out[:, 6] = (cum[idx + 6] - cum[idx + 1]) / 5
    out[:, 7] = (cum[idx] - cum[idx - 15]) / 15
    out[:, 8] = (cum[idx + 16] - cum[idx + 1]) / 15
    run = np.cumsum(p, dtype=np.float64)
    count = np.arange(1, n + 1)
    out[:, 9] = np.where(count > 1, (run - p) / np.maximum(count - 1, 1), edge)
    out[:, 10] = np.where(count < n, (run[-1] - run) / np.maximum(n - count, 1), edge)
    out[:, 11] = run[-1] / n
    weighted = np.cumsum(p * chars, dtype=np.float64)
    chars_cum = np.cumsum(chars, dtype=np.float64)
    rest = chars_cum[-1] - chars_cum
    out[:, 12] = np.where(rest > 0, (weighted[-1] - weighted) / np.maximum(rest, 1.0), edge)
    before = chars_cum - chars
    out[:, 13] = np.where(before > 0, (weighted - p * chars) / np.maximum(before, 1.0), edge)
    # Length of the run of likely-boilerplate lines this line sits in (log).
    high = p >= 0.5
    if high.any():
        change = np.flatnonzero(np.diff(high.astype(np.int8))) + 1
        bounds = np.concatenate(([0], change, [n]))
        lengths = np.diff(bounds)
        out[:, 14] = np.where(high, np.log1p(np.repeat(lengths, lengths)), 0.0)
    start, end = body_span(p, chars)
    index = np.arange(n)
    if end > start:
        out[:, 15] = (index >= start) & (index < end)
        out[:, 16] = index < start
        out[:, 17] = index >= end
        out[:, 18] = np.log1p(np.maximum(start - index, 0) + np.maximum(index - end + 1, 0))
        out[:, 19] = chars[start:end].sum() / max(chars_cum[-1], 1.0)
    else:
        out[:, 16] = 1.0
        out[:, 18] = np.log1p(n)
    return out
