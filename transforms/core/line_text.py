r"""The text of a document's lines: stripped lines, their normal form and keys, character classes.

Consumes a document's text; emits its non-blank lines (``DocLines``), per line a normal form
(case, digits, accents and punctuation folded: title matching, in-document repetition) and a
site-memory key (``line_key``), and the class of every character (``char_classes``) for the
line model's shape features. Sample::

    DocLines.of("Share this:\n\nThe army said ...").lines  -> ("Share this:", "The army said ...")
    line_key("Share THIS!") == line_key("share this")      -> True
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from itertools import compress

import numpy as np

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
    """``normalise`` of each line, the ASCII lines (most) in a few regex passes over all of them."""
    ascii_at = [i for i, line in enumerate(lines) if line.isascii()]
    if len(ascii_at) == len(lines):
        return _normalise_ascii(lines)
    out = [""] * len(lines)
    for i, norm in zip(ascii_at, _normalise_ascii([lines[i] for i in ascii_at]), strict=True):
        out[i] = norm
    other_at = [i for i, line in enumerate(lines) if not line.isascii()]
    for i, norm in zip(other_at, _normalise_other([lines[i] for i in other_at]), strict=True):
        out[i] = norm
    return out


# Anything but a word character or the line break (the lines' separator) becomes a space
# ("_" too, replaced first).
_NON_WORD_LINES = re.compile(r"[^\w\n]+")
_EDGE_SPACES_STR = re.compile(r" \n ?|\n ")


def _normalise_other(lines: list[str]) -> list[str]:
    """``normalise`` of lines with non-ASCII characters, each step once over all of them."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", "\n".join(lines)))
    text = _NON_WORD_LINES.sub(" ", _DIGIT_RUN_RE.sub("0", text.casefold()).replace("_", " "))
    parts = _EDGE_SPACES_STR.sub("\n", text).strip(" ").split("\n")
    if len(parts) != len(lines):  # a character whose normal form holds a line break
        return [normalise(line) for line in lines]
    return parts


_ZERO_RUNS = re.compile(rb"00+")
# (Only runs of two spaces or more, and only spaces next to a line break: a substitution per
# single space or per line would cost more than the rest of the normalisation.)
_SPACE_RUNS = re.compile(rb"  +")
_EDGE_SPACES = re.compile(rb" \n ?|\n ")


def _normalise_ascii(lines: Sequence[str]) -> list[str]:
    if not lines:
        return []
    joined = "\n".join(lines).encode().translate(_NORM_TABLE)
    if b"00" in joined:
        joined = _ZERO_RUNS.sub(b"0", joined)
    joined = _EDGE_SPACES.sub(b"\n", _SPACE_RUNS.sub(b" ", joined)).strip(b" ")
    return joined.decode().split("\n")


def fill_norms(docs: Sequence[DocLines]) -> None:
    """Compute ``DocLines.norms`` of several documents in one ``normalise_many`` call."""
    todo = [doc for doc in docs if "norms" not in doc.__dict__]
    short = [[i for i, line in enumerate(doc.lines) if len(line) <= SITE_LINE_MAX_CHARS] for doc in todo]
    norms = iter(normalise_many([doc.lines[i] for doc, at in zip(todo, short, strict=True) for i in at]))
    for doc, at in zip(todo, short, strict=True):
        out: list[str | None] = [None] * len(doc.lines)
        for i in at:
            out[i] = next(norms)
        doc.__dict__["norms"] = out  # the cached_property's slot


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
