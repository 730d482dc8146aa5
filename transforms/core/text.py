"""Text measures every stage shares: how many words a text holds, whatever its script, and
one normal form for every text the lake stores.

Chinese and Japanese are written without spaces between words, so counting words by
whitespace makes a whole article one "word" (and a reject as too short). Their
characters count half a word each: the mean word of modern Chinese and Japanese news
text is about two characters long.

    >>> word_count("The cat sat.")
    3
    >>> word_count("東京都は新しい計画を発表した")
    7
    >>> normalise_text("Mit\u00adtel\u00adal\u00adter in Mu\u0308nchen") == "Mittelalter in München"
    True
"""

from __future__ import annotations

import re
import unicodedata

# Han ideographs (with extension A and compatibility forms), Hiragana, Katakana and
# half-width Katakana. Hangul is left out: Korean separates its words by spaces.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
# Characters of a CJK text that make one word (see the module docstring).
CJK_CHARS_PER_WORD = 2
# Characters of a Western text per word, its space included (English words average 4.7 letters).
LATIN_CHARS_PER_WORD = 6


def text_width(text: str) -> int:
    """The length of ``text`` in characters of Latin-script text: a CJK character counts as the
    share of a word it is (``LATIN_CHARS_PER_WORD / CJK_CHARS_PER_WORD``), so a length threshold
    measured on Western text means as much text in Chinese or Japanese."""
    if text.isascii():
        return len(text)
    cjk = len(_CJK_RE.findall(text))
    return len(text) + cjk * (LATIN_CHARS_PER_WORD // CJK_CHARS_PER_WORD - 1)


def word_count(text: str) -> int:
    """Words in ``text``: whitespace-separated tokens, and CJK characters two to a word."""
    if text.isascii():
        return len(text.split())
    spaced, cjk = _CJK_RE.subn(" ", text)
    return len(spaced.split()) + -(-cjk // CJK_CHARS_PER_WORD)


# Format characters that only steer how a text is displayed or hyphenated: the soft hyphen
# (German and Dutch sites hyphenate whole articles with it), zero-width space, word joiner,
# byte order mark, direction marks and bidirectional embeddings. Browsers show none of them, and
# left in a text they split its words for every measure downstream ("Mit\u00adtel\u00adal\u00adter" is
# no "Mittelalter" to a search, a duplicate check or a topic). The zero-width (non-)joiners
# stay: Persian and Indic spelling and emoji sequences need them.
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
# Above this length, a text is first searched for each invisible character (most hold none):
# 21 substring searches take half the regular expression's scan of an article (20 against
# 41 µs on 5 KB), but more than the scan itself of a line or a title.
LONG_TEXT_CHARS = 1000


def normalise_text(text: str | None) -> str | None:
    """``text`` as a reader sees it, in one form: composed (NFC: "u" and a combining diaeresis,
    as some sites and macOS files store it, become "ü", the form a search types) and without
    its invisible format characters (``_INVISIBLE``)."""
    if not text or text.isascii():
        return text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if len(text) > LONG_TEXT_CHARS and not any(char in text for char in _INVISIBLE):
        return text
    return _INVISIBLE_RE.sub("", text)
