r"""Features of the lines of one document, shared by the line model's training and its inference.

Consumes the non-blank lines of a document (stripped, in order), with what the cleaner knows
about them (rule hits, the title, the site's line counts); emits, per line, the ids of its
lexical cues (for one sparse dot product) and a row of dense numbers. Sample::

    doc = DocLines.of("Share this:\n\nThe army said on Monday that ...\n\nReddit")
    cues = lexical_cues(doc, vocabulary)      -> Cues(col=[...], row=[0, 0, 1, 1, ...], ...)
    base_features(doc, cues, rules=[...], ...) -> float32 array, shape (3, len(BASE_FEATURES))

Everything is computed for the whole document at once, not line by line in Python:

* one tokenisation pass: the heads of the lines (``HEAD_CHARS``) joined, lower-cased, turned into
  bytes and split by one byte translation; each token becomes an id through the vocabulary
  learnt at training time (one dict lookup per token), and the cues (words, word pairs hashed,
  first and last word, the whole short line hashed) are numpy arithmetic over those ids;
* one character-class pass (one code-point array, one ``bincount``) for the line's shape;
* position, repetition (in the document and across the site) and the rule hits as numpy
  arrays; ``context_features`` adds the second pass: the first pass's scores of the neighbours
  (boilerplate comes in runs at the top and bottom; comment threads are long runs).

The features carry across sites: shape (length, words, punctuation, capitals, digits, links,
handles, e-mail, stop-word share), position, lexical cues, repetition, rule evidence.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from itertools import accumulate, chain, compress

import numpy as np

from transforms.core import boilerplate

# A line at least this long is article prose: it anchors the body (the old cleaner's ANCHOR_CHARS).
LONG_CHARS = 120
# Lexical cues come from the head of a line: widget strings and headings are short, and prose
# is recognised by its shape; reading no further keeps the cost per line bounded.
HEAD_CHARS = 96
# ... and from its first words.
HEAD_TOKENS = 10
# Lines of at most this many tokens also count as one whole-line cue ("share this").
WHOLE_LINE_TOKENS = 5
# Site statistics cover short-to-medium lines only: a site's boilerplate is widget strings,
# banners and teasers, while long paragraphs that repeat across a site are syndicated copies.
SITE_LINE_MAX_CHARS = 200
SITE_LINE_MAX_WORDS = 30
# Site counts saturate here: ten other documents holding a line is as strong as a hundred.
SITE_COUNT_CAP = 10
# Lines this short get the short-line patterns (byline, comment metadata, widget strings).
SHORT_CHARS = 120
# Shape features are read from each line's first characters (shares, rates): enough to tell
# prose from a widget, and bounded work for a long paragraph.
SAMPLE_CHARS = 160
# Hashed cue tables: word pairs and whole short lines (collisions are rare at these sizes).
PAIR_BUCKETS = 1 << 18
LINE_BUCKETS = 1 << 17

_I = re.IGNORECASE

# --- Character classes, for the whole document at once ---
# NEWLINE and SPACE sort first: "class > NEWLINE" is a visible character.
(
    NEWLINE,
    SPACE,
    UPPER,
    LOWER,
    OTHER_LETTER,
    DIGIT,
    END_PUNCT,
    MID_PUNCT,
    QUOTE,
    SEPARATOR,
    DASH,
    AT,
    OTHER,
    QUESTION,
    EXCLAIM,
    COLON,
) = range(16)
N_CLASSES = 16
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
        elif char in "?？":
            table[code] = QUESTION
        elif char in "!！":
            table[code] = EXCLAIM
        elif char in ":：":
            table[code] = COLON
        elif char in ".…。":
            table[code] = END_PUNCT
        elif char in ",;，；":
            table[code] = MID_PUNCT
        elif char in "\"'“”‘’„()[]{}":
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
    if text.isascii():
        return table[codes]
    high = codes >= _TABLE_SIZE
    classes = table[np.minimum(codes, _TABLE_SIZE - 1)]
    if high.any():
        # CJK ideographs, Hangul and the like are letters; emoji and symbols are "other".
        classes[high] = [
            OTHER_LETTER if unicodedata.category(chr(c))[0] == "L" else OTHER for c in codes[high].tolist()
        ]
    return classes


# --- Word lists (the word class of a vocabulary entry) ---
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
# One class per word (classes 1-3 are function words).
STOP, FIRST, SECOND, NEWS, CHAT = 1, 2, 3, 4, 5
N_WORD_CLASSES = 6


def word_class(token: str) -> int:
    if token in FIRST_PERSON:
        return FIRST
    if token in SECOND_PERSON:
        return SECOND
    if token in CHAT_WORDS:
        return CHAT
    if token in NEWS_WORDS:
        return NEWS
    return STOP if token in STOP_WORDS else 0


# --- Normal form and keys of lines (site memory, title matching, repetition) ---

_DIGIT_RUN_RE = re.compile(r"\d+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[\W_]+")
# ASCII text is normalised with one byte translation: letters lower-cased, digits "0" (runs
# collapse to one below), every other character but the line break a space.
_NORM_TABLE = bytes(
    (48 if chr(c).isdigit() else c if chr(c).isalnum() or c == 10 else 32) if c < 128 else c
    for c in range(256)
).translate(bytes(range(65)) + bytes(range(97, 123)) + bytes(range(91, 256)))


def normalise(line: str) -> str:
    """Case-, digit-, accent- and punctuation-insensitive form of a line (CCNet's normalisation)."""
    if not line.isascii():
        # The combining marks NFKD splits off go in one regex pass.
        line = _COMBINING.sub("", unicodedata.normalize("NFKD", line))
    text = _DIGIT_RUN_RE.sub("0", line.casefold())
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalise_many(lines: Sequence[str]) -> list[str]:
    """``normalise`` of each line, the ASCII lines (most) in a few passes over all of them."""
    ascii_at = [i for i, line in enumerate(lines) if line.isascii()]
    out = [""] * len(lines)
    if ascii_at:
        joined = "\n".join([lines[i] for i in ascii_at]).encode().translate(_NORM_TABLE)
        while b"00" in joined:
            joined = joined.replace(b"00", b"0")
        for i, part in zip(ascii_at, joined.decode().split("\n"), strict=True):
            out[i] = " ".join(part.split())
    if len(ascii_at) < len(lines):
        for i, line in enumerate(lines):
            if not line.isascii():
                out[i] = normalise(line)
    return out


def key_of(norm: str) -> str:
    """The site-memory key of a normalised line."""
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest() if norm else ""


def line_key(line: str) -> str:
    """Normalised hash of a line, for site statistics: equal for lines that differ only in case,
    digits, accents, punctuation or spacing; "" for a line without words."""
    return key_of(normalise(line))


def is_site_candidate(line: str) -> bool:
    """Only lines this short count in site statistics."""
    return len(line) <= SITE_LINE_MAX_CHARS and line.count(" ") < SITE_LINE_MAX_WORDS


def site_line_candidates(text: str) -> set[str]:
    """The ``line_key``s of the lines of ``text`` that may count as site boilerplate."""
    lines = [s for s in (raw.strip() for raw in text.split("\n")) if s and is_site_candidate(s)]
    return {key_of(norm) for norm in normalise_many(lines) if norm}


@dataclasses.dataclass(frozen=True)
class DocLines:
    """The non-blank lines of a document, stripped, with their 1-based line numbers."""

    lines: tuple[str, ...]
    line_nos: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> DocLines:
        # Line numbers count "\n" only; stripping takes the "\r" of CRLF text off each line.
        stripped = [line.strip() for line in (text or "").split("\n")]
        present = list(map(bool, stripped))
        return cls(tuple(compress(stripped, present)), tuple(compress(range(1, len(stripped) + 1), present)))

    def __len__(self) -> int:
        return len(self.lines)

    @functools.cached_property
    def norms(self) -> list[str | None]:
        """``normalise`` of each line up to ``SITE_LINE_MAX_CHARS`` long (None for longer ones)."""
        short = [i for i, line in enumerate(self.lines) if len(line) <= SITE_LINE_MAX_CHARS]
        out: list[str | None] = [None] * len(self.lines)
        for i, norm in zip(short, normalise_many([self.lines[i] for i in short]), strict=True):
            out[i] = norm
        return out

    @functools.cached_property
    def chars(self) -> np.ndarray:
        return np.fromiter(map(len, self.lines), dtype=np.float32, count=len(self.lines))


# --- Tokens and lexical cues ---

# Bytes of the lower-cased heads: ASCII letters and digits stay (every digit "0"), other ASCII
# characters split words, the line break stays; bytes of other characters are word characters.
_TOKEN_TABLE = bytes(
    (48 if chr(c).isdigit() else ord(chr(c).lower()) if chr(c).isalnum() else 10 if c == 10 else 32)
    if c < 128
    else c
    for c in range(256)
)
# Non-ASCII punctuation splits words too: the UTF-8 of U+2000-U+203F (spaces, dashes, curly
# quotes, bullets, ellipsis), U+00A0-U+00BF (no-break space, « », ·, ©, ®) and arrows.
_SPLIT_PUNCT = re.compile(rb"\xe2\x80[\x80-\xbf]|\xc2[\xa0-\xbf]|\xe2\x86[\x90-\x9f]")


def head_tokens(lines: Sequence[str]) -> list[list[bytes]]:
    """The tokens of each line's head as bytes, ASCII letters lower-cased (other letters keep
    their case: that costs little and saves a Unicode pass). ``tokenize`` hashes the same tokens."""
    return [part.split() for part in _head_bytes(lines).split(b"\n")]


def _head_bytes(lines: Sequence[str]) -> bytes:
    heads = "\n".join([line[:HEAD_CHARS] for line in lines]).encode()
    if not heads.isascii():
        heads = _SPLIT_PUNCT.sub(b" ", heads)
    return heads.translate(_TOKEN_TABLE)


# A token's hash: the sum of its bytes times a random odd multiplier per position (wrapping
# 64-bit arithmetic), then mixed; stable across processes and machines (no Python ``hash``).
_BYTE_MUL = np.random.default_rng(0x5EED).integers(1, 2**62, size=64, dtype=np.int64).astype(np.uint64) * np.uint64(
    2
) + np.uint64(1)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The tokens of the lines' heads: per token its hash and line, per line its token count."""

    hashes: np.ndarray  # uint64
    line: np.ndarray
    counts: np.ndarray


def tokenize(lines: Sequence[str]) -> Tokens:
    """The tokens of the heads of ``lines`` (as ``head_tokens`` splits them), hashed with numpy
    over all lines at once: no Python work per token."""
    n = len(lines)
    data = np.frombuffer(_head_bytes(lines), dtype=np.uint8)
    # After the translation a separator is a space (32) or the line break (10); every byte of
    # a token is above 32.
    word = data > 32
    start = word.copy()
    start[1:] &= ~word[:-1]
    starts = np.flatnonzero(start)
    if not starts.size:
        return Tokens(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(n, dtype=np.int64))
    at = np.arange(data.size)
    pos = np.minimum(at - np.maximum.accumulate(np.where(start, at, 0)), _BYTE_MUL.size - 1)
    values = np.where(word, data.astype(np.uint64) * _BYTE_MUL[pos], np.uint64(0))
    hashes = np.add.reduceat(values, starts)
    hashes ^= hashes >> np.uint64(31)
    hashes *= _MIX
    hashes ^= hashes >> np.uint64(29)
    line = np.cumsum(data == 10)[starts]
    return Tokens(hashes, line, np.bincount(line, minlength=n))


def token_hash(word: str) -> int:
    """The hash ``tokenize`` gives a single-token word (e.g. a vocabulary or trigger word)."""
    tokens = tokenize([word])
    if tokens.hashes.size != 1:
        raise ValueError(f"not one token: {word!r}")
    return int(tokens.hashes[0])


class Vocabulary:
    """Token hash -> id (1 ...; 0 is any unknown token), with each id's word class."""

    def __init__(self, hashes: Sequence[int] | np.ndarray) -> None:
        self.hashes = np.unique(np.asarray(hashes, dtype=np.uint64))
        classes = np.zeros(self.hashes.size + 1, dtype=np.int64)
        for words, cls in (
            (STOP_WORDS, STOP),
            (NEWS_WORDS, NEWS),
            (CHAT_WORDS, CHAT),
            (SECOND_PERSON, SECOND),
            (FIRST_PERSON, FIRST),
        ):
            for word in words:
                tokens = tokenize([word])
                if tokens.hashes.size == 1:
                    i = self.ids(tokens.hashes)[0]
                    if i:
                        classes[i] = cls
        self.word_class = classes

    def __len__(self) -> int:
        return self.hashes.size + 1

    def ids(self, hashes: np.ndarray) -> np.ndarray:
        """The id of each token hash (0 when unknown)."""
        if not self.hashes.size:
            return np.zeros(hashes.size, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), self.hashes.size - 1)
        return np.where(self.hashes[at] == hashes, at + 1, 0)

    @property
    def size(self) -> int:
        """The number of lexical columns: words, first words, last words, pairs, whole lines."""
        return 3 * len(self) + PAIR_BUCKETS + LINE_BUCKETS


# Odd multipliers for the hashes of word pairs and whole lines.
_PAIR_MUL = np.int64(0x9E3779B1)
_LINE_MUL = np.array([0x2545F491, 0x61C88647, 0x3C6EF372, 0x1B873593, 0x5BD1E995], dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Cues:
    """The lexical cues of a document: column ``col`` (into a lexical weight vector) for line ``row``;
    per line, the number of head tokens, of unknown ones, and the counts of each word class."""

    col: np.ndarray
    row: np.ndarray
    tokens: np.ndarray
    unknown: np.ndarray
    classes: np.ndarray  # (lines, N_WORD_CLASSES)


def lexical_cues(doc: DocLines | Batch, vocab: Vocabulary, tokens: Tokens | None = None) -> Cues:
    """The lexical cues of every line: its head's first ``HEAD_TOKENS`` words, their pairs (hashed),
    its first word, its last word (lines no longer than the head), the whole line (hashed) when it
    has at most ``WHOLE_LINE_TOKENS`` words. ``tokens``: ``tokenize(doc.lines)``, when known."""
    n = len(doc)
    if tokens is None:
        tokens = tokenize(doc.lines)
    counts = tokens.counts
    ids = vocab.ids(tokens.hashes)
    row = tokens.line
    starts = np.cumsum(counts) - counts
    pos = np.arange(ids.size) - starts[row]
    classes = np.bincount(row * N_WORD_CLASSES + vocab.word_class[ids], minlength=n * N_WORD_CLASSES)
    classes = classes.reshape(n, N_WORD_CLASSES)
    unknown = np.bincount(row[ids == 0], minlength=n)
    head = pos < HEAD_TOKENS
    ids_h, row_h, pos_h = ids[head], row[head], pos[head]
    size = len(vocab)
    # Pairs: a token and the next one of the same line.
    nxt = np.flatnonzero(row_h[1:] == row_h[:-1])
    pair = (ids_h[nxt] * _PAIR_MUL + ids_h[nxt + 1]) & (PAIR_BUCKETS - 1)
    has = counts > 0
    lines_with = np.flatnonzero(has)
    first = ids[starts[lines_with]] + size
    short_lines = np.flatnonzero(has & (doc.chars <= HEAD_CHARS))
    last = ids[starts[short_lines] + counts[short_lines] - 1] + 2 * size
    whole_lines = np.flatnonzero(has & (counts <= WHOLE_LINE_TOKENS) & (doc.chars <= HEAD_CHARS))
    cols = [ids_h, first, last, pair + 3 * size]
    rows = [row_h, lines_with, short_lines, row_h[nxt]]
    if whole_lines.size:
        sel = (counts[row_h] <= WHOLE_LINE_TOKENS) & (doc.chars[row_h] <= HEAD_CHARS)
        hashed = np.bincount(row_h[sel], weights=ids_h[sel] * _LINE_MUL[pos_h[sel]], minlength=n)
        whole = (hashed[whole_lines].astype(np.int64) + counts[whole_lines]) & (LINE_BUCKETS - 1)
        cols.append(whole + 3 * size + PAIR_BUCKETS)
        rows.append(whole_lines)
    return Cues(np.concatenate(cols), np.concatenate(rows), counts, unknown, classes)


# --- Short-line patterns: one anchored match per short line ---

BYLINE_RE = re.compile(r"^(?:written |reported |posted )?by\b\s*[:\-–—]?\s*", _I)
_COMMENT_META = (
    r"posted by\b|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|"
    r"(?:on )?\w+ \d{1,2},? \d{4},? at \d{1,2}:\d\d|reply|report|log in to reply|"
    r"\d+ (?:likes?|replies|votes?|points?)|\d{1,2}:\d\d\b|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
)
# The kinds, in order of precedence (the first that matches names the line).
SHORT_KINDS = ("none", "thread_start", "soft_widget", "comment_meta", "byline")
_SHORT_RE = re.compile(
    rf"(?P<thread_start>{boilerplate.THREAD_START.pattern[1:]})|(?P<soft_widget>{boilerplate.SOFT_WIDGET.pattern[1:]})|"
    rf"(?P<comment_meta>{_COMMENT_META})|(?P<byline>(?:written |reported |posted )?by\b)",
    _I,
)
_KIND = {name: i for i, name in enumerate(SHORT_KINDS)}


def short_kinds(lines: Sequence[str]) -> np.ndarray:
    """The short-line pattern kind of each line (``SHORT_KINDS`` index; 0 for none or long lines)."""
    match = _SHORT_RE.match
    kind = _KIND.get
    out = [0] * len(lines)
    for i, line in enumerate(lines):
        if len(line) <= SHORT_CHARS:
            m = match(line)
            if m is not None:
                out[i] = kind(m.lastgroup, 0)
    return np.array(out, dtype=np.int64)


# --- Where in the document a substring occurs ---


def lines_containing(joined: str, offsets: Sequence[int], needle: str) -> list[int]:
    """Indices of the lines of ``joined`` (lines joined by "\\n"; ``offsets``: their starts)
    that hold ``needle``."""
    found = []
    at = joined.find(needle)
    while at >= 0:
        line = bisect.bisect_right(offsets, at) - 1
        found.append(line)
        nxt = offsets[line + 1] if line + 1 < len(offsets) else len(joined)
        at = joined.find(needle, nxt)
    return found


_EMAIL = re.compile(r"[\w.+-]@[\w-]+\.\w")
_HANDLE = re.compile(r"(?:^|[^\w.])@[A-Za-z_]\w")


# --- Dense features ---

# Numeric features, binned by quantile edges learnt at training time.
NUMERIC_FEATURES = (
    # shape
    "log_chars",
    "log_tokens",
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
    # words of the head
    "stop_share",
    "unknown_share",
    "first_person",
    "second_person",
    "news_words",
    "chat_words",
    # position
    "rel_pos",
    "log_from_start",
    "log_from_end",
    "char_pos",
    "log_dist_long",
    "long_within_3",
    # document
    "doc_log_lines",
    "doc_log_chars",
    "doc_long_share",
    "doc_long_char_share",
    "doc_rule_share",
    # repetition
    "doc_repeats",
    "site_docs",
    "site_share",
    "site_doc_share",
    # rules around
    "rules_before",
    "rules_after",
)
BINARY_FEATURES = (
    "ends_sentence",
    "ends_colon",
    "ends_ellipsis",
    "has_url",
    "has_email",
    "has_handle",
    "has_question",
    "has_exclamation",
    "before_first_long",
    "after_last_long",
    "is_title",
    "after_thread_start",
    "extracted",
)
# Categorical features: one weight per value.
CATEGORICAL_FEATURES = {
    "rule": len(boilerplate.RULE_IDS) + 1,
    "short_kind": len(SHORT_KINDS),
    "first_class": N_CLASSES,
    "last_class": N_CLASSES,
}
BASE_FEATURES = NUMERIC_FEATURES + BINARY_FEATURES + tuple(CATEGORICAL_FEATURES)
_COL = {name: i for i, name in enumerate(BASE_FEATURES)}
RULE_INDEX = {rule_id: i for i, rule_id in enumerate(boilerplate.RULE_IDS, 1)}


@dataclasses.dataclass
class Batch:
    """The lines of several documents at once, so that every numpy step runs once for all of
    them: ``doc`` is each line's document (0 ...), ``start``/``end`` the bounds of its document in
    the batch, ``index`` its position in its document."""

    lines: list[str]
    chars: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    index: np.ndarray
    doc_starts: np.ndarray
    doc_sizes: np.ndarray
    norms: list[str | None]

    @classmethod
    def of(cls, docs: Sequence[DocLines]) -> Batch:
        sizes = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        starts = np.cumsum(sizes) - sizes
        doc = np.repeat(np.arange(len(docs)), sizes)
        start = starts[doc]
        lines = list(chain.from_iterable(d.lines for d in docs))
        chars = np.concatenate([d.chars for d in docs]) if docs else np.zeros(0, dtype=np.float32)
        return cls(
            lines,
            chars,
            doc,
            start,
            start + sizes[doc],
            np.arange(len(lines)) - start,
            starts,
            sizes,
            list(chain.from_iterable(d.norms for d in docs)),
        )

    def __len__(self) -> int:
        return len(self.lines)

    def per_doc(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` over each document's lines."""
        return np.bincount(self.doc, weights=values, minlength=self.doc_sizes.size)

    def before(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` over the lines before each line in its document."""
        cum = np.cumsum(values, dtype=np.float64)
        return cum - values - (cum - values)[self.start]

    def window(self, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Sums over [lo, hi) of the values whose cumulative sums (with a leading 0) are ``cum``."""
        return cum[hi] - cum[lo]


def base_features(
    batch: Batch,
    cues: Cues,
    *,
    rules: Sequence[boilerplate.Rule | None],
    title_lines: np.ndarray,
    site_counts: np.ndarray,
    site_docs: np.ndarray,
    extracted: np.ndarray,
    kinds: np.ndarray,
) -> np.ndarray:
    """The dense first-pass features of every line of a batch (rows in line order, columns
    ``BASE_FEATURES``; categorical ones hold the value's index).

    Per line: ``rules`` the rule it matched (or None), ``title_lines`` whether it is the title,
    ``site_counts`` in how many other documents of the site it was seen, of ``site_docs`` other
    documents the site has; ``extracted`` whether its text is what an extractor left of an
    HTML page (rather than a page's or a scraper's whole text); ``kinds`` its ``short_kinds``.
    """
    n = len(batch)
    out = np.zeros((n, len(BASE_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    lines = batch.lines
    c = _COL
    chars = batch.chars

    # Character classes of each line's first SAMPLE_CHARS characters, all lines at once.
    sample = "\n".join([line[:SAMPLE_CHARS] for line in lines])
    classes = char_classes(sample)
    newline = classes == NEWLINE
    line_of = np.cumsum(newline) - newline  # a newline belongs to the line it ends
    counts = np.bincount(line_of * N_CLASSES + classes, minlength=n * N_CLASSES).reshape(n, N_CLASSES)
    counts = counts.astype(np.float32)
    solid = classes > NEWLINE
    starts = solid.copy()
    starts[1:] &= ~solid[:-1]
    words = np.maximum(np.bincount(line_of[starts], minlength=n).astype(np.float32), 1.0)
    capital = np.bincount(line_of[starts & (classes == UPPER)], minlength=n)
    first_class = classes[np.concatenate(([0], np.flatnonzero(newline) + 1))]
    lasts = "".join([line[-1] for line in lines])
    last_class = char_classes(lasts)
    sampled = np.maximum(counts[:, UPPER:].sum(axis=1), 1.0)
    letters = np.maximum(counts[:, UPPER] + counts[:, LOWER], 1.0)
    ends = counts[:, END_PUNCT] + counts[:, QUESTION] + counts[:, EXCLAIM]
    out[:, c["log_chars"]] = np.log1p(chars)
    out[:, c["log_tokens"]] = np.log1p(cues.tokens)
    out[:, c["chars_per_word"]] = np.minimum(sampled / words, 30.0)
    out[:, c["upper_share"]] = counts[:, UPPER] / letters
    out[:, c["digit_share"]] = counts[:, DIGIT] / sampled
    out[:, c["punct_share"]] = (ends + counts[:, MID_PUNCT] + counts[:, COLON]) / sampled
    out[:, c["separator_share"]] = (counts[:, SEPARATOR] + counts[:, DASH]) / sampled
    out[:, c["other_letter_share"]] = counts[:, OTHER_LETTER] / sampled
    out[:, c["sentence_end_rate"]] = ends / words
    out[:, c["comma_rate"]] = counts[:, MID_PUNCT] / words
    out[:, c["quote_share"]] = counts[:, QUOTE] / sampled
    out[:, c["title_case_share"]] = capital / words
    out[:, c["ends_sentence"]] = (last_class >= END_PUNCT) & (last_class <= QUOTE) & (
        last_class != MID_PUNCT
    ) | (last_class >= QUESTION) & (last_class <= EXCLAIM)
    out[:, c["ends_colon"]] = last_class == COLON
    out[:, c["ends_ellipsis"]] = [line.endswith(("...", "…")) for line in lines]
    out[:, c["has_question"]] = counts[:, QUESTION] > 0
    out[:, c["has_exclamation"]] = counts[:, EXCLAIM] > 0
    out[:, c["first_class"]] = first_class
    out[:, c["last_class"]] = last_class

    # Links, e-mail addresses and handles, found in the joined text.
    joined = "\n".join(lines)
    offsets = [0, *accumulate(len(line) + 1 for line in lines[:-1])]
    for needle in ("http", "www."):
        out[lines_containing(joined, offsets, needle), c["has_url"]] = 1.0
    for i in lines_containing(joined, offsets, "@"):
        head = lines[i][:SAMPLE_CHARS]
        out[i, c["has_email"]] = _EMAIL.search(head) is not None
        out[i, c["has_handle"]] = _HANDLE.search(head) is not None

    # Words of the head.
    toks = np.maximum(cues.tokens, 1).astype(np.float32)
    wc = cues.classes
    out[:, c["stop_share"]] = (wc[:, STOP] + wc[:, FIRST] + wc[:, SECOND]) / toks
    out[:, c["unknown_share"]] = cues.unknown / toks
    out[:, c["first_person"]] = wc[:, FIRST]
    out[:, c["second_person"]] = wc[:, SECOND]
    out[:, c["news_words"]] = wc[:, NEWS]
    out[:, c["chat_words"]] = wc[:, CHAT]
    out[:, c["short_kind"]] = kinds

    # Position, in each line's document.
    index, size = batch.index, batch.end - batch.start
    out[:, c["rel_pos"]] = index / np.maximum(size - 1, 1)
    out[:, c["log_from_start"]] = np.log1p(index)
    out[:, c["log_from_end"]] = np.log1p(size - 1 - index)
    total = batch.per_doc(chars)[batch.doc]
    out[:, c["char_pos"]] = batch.before(chars) / np.maximum(total, 1.0)
    long = chars >= LONG_CHARS
    at = np.arange(n)
    last_long = np.maximum.accumulate(np.where(long, at, -1))
    next_long = np.minimum.accumulate(np.where(long, at, n)[::-1])[::-1]
    has_prev = last_long >= batch.start
    has_next = next_long < batch.end
    doc_longs = batch.per_doc(long)[batch.doc]
    none = doc_longs == 0
    dist = np.minimum(np.where(has_prev, at - last_long, n), np.where(has_next, next_long - at, n))
    out[:, c["log_dist_long"]] = np.where(none, np.log1p(size), np.log1p(dist))
    out[:, c["before_first_long"]] = none | ~has_prev
    out[:, c["after_last_long"]] = none | ~has_next
    cum = np.concatenate(([0], np.cumsum(long)))
    lo, hi = np.maximum(at - 3, batch.start), np.minimum(at + 4, batch.end)
    out[:, c["long_within_3"]] = cum[hi] - cum[lo] - long
    out[:, c["extracted"]] = extracted
    out[:, c["doc_log_lines"]] = np.log1p(size)
    out[:, c["doc_log_chars"]] = np.log1p(total)
    out[:, c["doc_long_share"]] = doc_longs / size
    out[:, c["doc_long_char_share"]] = batch.per_doc(chars * long)[batch.doc] / np.maximum(total, 1.0)

    # Repetition: inside the document (short lines only) and across the site.
    seen: dict[tuple[int, str], int] = {}
    keys = [(d, norm) if norm else None for d, norm in zip(batch.doc.tolist(), batch.norms, strict=True)]
    for key in keys:
        if key is not None:
            seen[key] = seen.get(key, 0) + 1
    if len(seen) < n:
        out[:, c["doc_repeats"]] = np.log([seen[key] if key is not None else 1 for key in keys])
    out[:, c["is_title"]] = title_lines
    if site_counts.any():
        site = np.minimum(site_counts, SITE_COUNT_CAP).astype(np.float32)
        out[:, c["site_docs"]] = np.log1p(site)
        out[:, c["site_share"]] = site / np.maximum(site_docs, 1)
        out[:, c["site_doc_share"]] = batch.per_doc(chars * (site > 0))[batch.doc] / np.maximum(total, 1.0)

    # Rules as evidence, and where the document's rule hits lie.
    rule_index = np.array(
        [RULE_INDEX[rule.id] if rule is not None else 0 for rule in rules], dtype=np.float32
    )
    out[:, c["rule"]] = rule_index
    hit = (rule_index > 0).astype(np.float32)
    thread = (kinds == _KIND["thread_start"]).astype(np.float32)
    out[:, c["after_thread_start"]] = batch.before(thread) > 0
    ruled_before = batch.before(hit)
    ruled_doc = batch.per_doc(hit)[batch.doc]
    out[:, c["rules_before"]] = np.log1p(ruled_before)
    out[:, c["rules_after"]] = np.log1p(ruled_doc - ruled_before - hit)
    out[:, c["doc_rule_share"]] = ruled_doc / size
    return out


# --- The second pass: the first pass's scores around each line ---

CONTEXT_FEATURES = (
    "z_self",
    "z_lexical",
    "z_prev1",
    "z_prev2",
    "z_next1",
    "z_next2",
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
    "log_dist_body_span",
    "body_span_share",
    "body_span_pos",
)
# Pairs of context features whose bins are crossed (one weight per pair of bins).
CONTEXT_CROSSES = (("z_self", "p_mean_prev5"), ("z_self", "p_mean_next5"), ("z_self", "log_dist_body_span"))
SECOND_FEATURES = BASE_FEATURES + CONTEXT_FEATURES


def body_spans(p: np.ndarray, chars: np.ndarray, doc_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per document, the run of lines [start, end) that holds most body text: the maximum-sum
    segment of (0.5 - p) weighted by each line's length (Kadane), as body-text extraction does
    with tags (both bounds 0 when no line gains)."""
    gain = ((0.5 - p) * np.sqrt(chars)).tolist()
    bounds = doc_starts.tolist() + [len(gain)]
    spans_start, spans_end = [], []
    for d in range(len(bounds) - 1):
        best, best_start, best_end = 0.0, bounds[d], bounds[d]
        run, run_start = 0.0, bounds[d]
        for i in range(bounds[d], bounds[d + 1]):
            if run <= 0:
                run, run_start = 0.0, i
            run += gain[i]
            if run > best:
                best, best_start, best_end = run, run_start, i + 1
        spans_start.append(best_start)
        spans_end.append(best_end)
    return np.array(spans_start, dtype=np.int64), np.array(spans_end, dtype=np.int64)


def context_features(z: np.ndarray, z_lexical: np.ndarray, batch: Batch) -> np.ndarray:
    """The second pass's view of the first pass's log-odds ``z``: the line's and its neighbours'
    (in its document), window means of the probabilities before and after, the document's, and
    where the body span lies (rows in line order, columns ``CONTEXT_FEATURES``)."""
    n = z.size
    out = np.zeros((n, len(CONTEXT_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    chars = batch.chars
    # Beyond the document's edges counts as boilerplate-like (a page starts and ends in chrome).
    edge, z_edge = 0.5, 0.0
    at = np.arange(n)
    start, end = batch.start, batch.end
    out[:, 0] = z
    out[:, 1] = z_lexical
    for col, by in ((2, 1), (3, 2), (4, -1), (5, -2)):
        src = at - by
        inside = (src >= start) & (src < end)
        out[:, col] = np.where(inside, z[np.clip(src, 0, n - 1)], z_edge)
    cum = np.concatenate(([0.0], np.cumsum(p)))
    for col, k in ((6, 5), (8, 15)):
        lo = np.maximum(at - k, start)
        out[:, col] = (cum[at] - cum[lo] + edge * (k - (at - lo))) / k
    for col, k in ((7, 5), (9, 15)):
        hi = np.minimum(at + 1 + k, end)
        out[:, col] = (cum[hi] - cum[at + 1] + edge * (k - (hi - at - 1))) / k
    before = cum[at] - cum[start]
    after = cum[end] - cum[at + 1]
    index, size = batch.index, end - start
    out[:, 10] = np.where(index > 0, before / np.maximum(index, 1), edge)
    out[:, 11] = np.where(index < size - 1, after / np.maximum(size - 1 - index, 1), edge)
    out[:, 12] = (cum[end] - cum[start]) / size
    weighted = np.concatenate(([0.0], np.cumsum(p * chars)))
    chars_cum = np.concatenate(([0.0], np.cumsum(chars, dtype=np.float64)))
    rest = chars_cum[end] - chars_cum[at + 1]
    out[:, 13] = np.where(rest > 0, (weighted[end] - weighted[at + 1]) / np.maximum(rest, 1.0), edge)
    ahead = chars_cum[at] - chars_cum[start]
    out[:, 14] = np.where(ahead > 0, (weighted[at] - weighted[start]) / np.maximum(ahead, 1.0), edge)
    # Length of the run of likely-boilerplate lines this line sits in (log).
    high = p >= 0.5
    if high.any():
        change = np.zeros(n, dtype=bool)
        change[0] = True
        change[1:] = high[1:] != high[:-1]
        change[batch.doc_starts] = True
        bounds = np.append(np.flatnonzero(change), n)
        lengths = np.diff(bounds)
        out[:, 15] = np.where(high, np.log1p(np.repeat(lengths, lengths)), 0.0)
    span_start, span_end = body_spans(p, chars, batch.doc_starts)
    s, e = span_start[batch.doc], span_end[batch.doc]
    found = e > s
    dist = np.maximum(at - e + 1, 0) - np.maximum(s - at, 0)
    span_chars = chars_cum[e] - chars_cum[s]
    doc_chars = chars_cum[end] - chars_cum[start]
    out[:, 16] = np.where(found, np.sign(dist) * np.log1p(np.abs(dist)), -np.log1p(size))
    out[:, 17] = np.where(found, span_chars / np.maximum(doc_chars, 1.0), 0.0)
    out[:, 18] = np.where(found, (at - s) / np.maximum(e - s, 1), -1.0)
    return out


# --- Binned linear scoring ---


# Feature values are clipped to +-_LIMIT before binning (no feature comes near it) and shifted
# apart by _SHIFT, so that every feature's edges sort apart from the others'.
_LIMIT = 1e6
_SHIFT = 4e6


class Binned:
    """Dense features -> one weight per (feature, bin): numeric and binary features binned by
    learnt edges (``edges``: one row per feature, padded with +inf), categorical ones by value.
    ``columns`` gives each line's active columns into a weight vector (the same indices
    training builds its sparse matrix from)."""

    def __init__(self, edges: np.ndarray, categorical_sizes: Sequence[int]) -> None:
        self.edges = np.ascontiguousarray(edges, dtype=np.float32)
        self.n_numeric = self.edges.shape[0]
        self.width = self.edges.shape[1] + 1
        sizes = np.asarray(categorical_sizes, dtype=np.int64).reshape(-1)
        self.cat_offset = (self.n_numeric * self.width + np.cumsum(sizes) - sizes).astype(np.int64)
        self.num_offset = np.arange(self.n_numeric, dtype=np.int64) * self.width
        self.size = int(self.n_numeric * self.width + sizes.sum())
        # All finite edges in one sorted array, feature f's shifted by f * _SHIFT: one
        # ``searchsorted`` bins every feature of every line.
        finite = [self.edges[f][np.isfinite(self.edges[f])].astype(np.float64) for f in range(self.n_numeric)]
        self._flat_edges = np.concatenate([e + f * _SHIFT for f, e in enumerate(finite)] + [np.zeros(0)])
        self._first_edge = np.cumsum([0] + [e.size for e in finite])[:-1].astype(np.int64)
        self._shift = np.arange(self.n_numeric, dtype=np.float64) * _SHIFT

    def bins(self, x: np.ndarray) -> np.ndarray:
        """Per line, the bin of each numeric feature (the first ``n_numeric`` columns of ``x``): the
        number of the feature's edges below the value."""
        numeric = np.clip(x[:, : self.n_numeric].astype(np.float64), -_LIMIT, _LIMIT) + self._shift
        return np.searchsorted(self._flat_edges, numeric, side="left") - self._first_edge

    def columns(self, x: np.ndarray, bins: np.ndarray | None = None) -> np.ndarray:
        """The active column of each feature for each line, shape (lines, features)."""
        if bins is None:
            bins = self.bins(x)
        if not self.cat_offset.size:
            return bins + self.num_offset
        cats = x[:, self.n_numeric :].astype(np.int64) + self.cat_offset
        return np.hstack((bins + self.num_offset, cats))


def quantile_edges(values: np.ndarray, max_edges: int, binary: bool = False) -> np.ndarray:
    """Bin edges of one feature: 0.5 for a binary one, else up to ``max_edges`` distinct
    quantiles (midpoints between the distinct values around them, so that a value and its
    float32 copy fall in the same bin)."""
    if binary:
        return np.array([0.5])
    qs = np.quantile(values, np.linspace(0, 1, max_edges + 2)[1:-1])
    uniq = np.unique(values)
    edges = []
    for q in np.unique(qs):
        at = np.searchsorted(uniq, q, side="right")
        if 0 < at < uniq.size:
            edges.append((uniq[at - 1] + uniq[at]) / 2)
    return np.unique(np.array(edges, dtype=np.float64))


def pad_edges(rows: Sequence[np.ndarray]) -> np.ndarray:
    width = max(1, max(len(r) for r in rows))
    out = np.full((len(rows), width), np.inf, dtype=np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def cross_columns(bins_a: np.ndarray, bins_b: np.ndarray, width: int) -> np.ndarray:
    return bins_a * width + bins_b


class Layout:
    """Where each line's active weights sit in the two passes' weight vectors.

    Pass 1: ``[lexical cues | dense, shared | dense, extracted input | dense, scraped input]``;
    pass 2: ``[context, shared | context, extracted | context, scraped | dense, shared | crosses]``.
    Training builds its sparse design matrices from these same columns, so the two never drift."""

    def __init__(self, vocabulary: Vocabulary, edges1: np.ndarray, edges2: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.binned1 = Binned(edges1, tuple(CATEGORICAL_FEATURES.values()))
        self.binned2 = Binned(edges2, ())
        b1, b2 = self.binned1.size, self.binned2.size
        self.lexical_size = vocabulary.size
        self.pass1_size = self.lexical_size + 3 * b1
        self.width2 = self.binned2.width
        self.cross = np.array(
            [(CONTEXT_FEATURES.index(a), CONTEXT_FEATURES.index(b)) for a, b in CONTEXT_CROSSES],
            dtype=np.int64,
        ).reshape(-1, 2)
        self.cross_offset = 3 * b2 + b1 + np.arange(len(CONTEXT_CROSSES), dtype=np.int64) * self.width2**2
        self.pass2_size = 3 * b2 + b1 + len(CONTEXT_CROSSES) * self.width2**2

    def pass1_dense_columns(self, dense: np.ndarray, extracted: np.ndarray) -> np.ndarray:
        """The dense part of pass 1: per line, its active columns (``dense``: ``Binned.columns``
        of the lines; ``extracted``: per line, whether its input is an extractor's output)."""
        b1 = self.binned1.size
        kind = (self.lexical_size + np.where(extracted, 1, 2) * b1)[:, None]
        return np.hstack((dense + self.lexical_size, dense + kind))

    def pass2_columns(self, context: np.ndarray, dense: np.ndarray, extracted: np.ndarray) -> np.ndarray:
        """Pass 2: per line, its active columns (``context``: ``context_features``; ``dense`` as
        for pass 1)."""
        b2 = self.binned2.size
        bins = self.binned2.bins(context)
        ctx = bins + self.binned2.num_offset
        kind = (np.where(extracted, 1, 2) * b2)[:, None]
        crosses = bins[:, self.cross[:, 0]] * self.width2 + bins[:, self.cross[:, 1]] + self.cross_offset
        return np.hstack((ctx, ctx + kind, dense + 3 * b2, crosses))


def rows_of(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A per-line column matrix as (row, column) pairs, for a sparse design matrix."""
    n, k = columns.shape
    return np.repeat(np.arange(n), k), columns.ravel()
