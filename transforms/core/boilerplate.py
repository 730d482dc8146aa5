r"""The boilerplate rule table: every phrase rule of the cleaner, each with an id, in one place.

Consumes one stripped line of text; emits the first rule that matches it (``match_rule``), or
None. Sample::

    match_rule("Share this:")  -> Rule(id="share.prompt", reason="share_prompt", ...)
    match_rule("The army said on Monday that ...")  -> None

The table holds the widget strings of common CMSes (WordPress, Jetpack, wpDiscuz, Disqus,
Blogger), donation, share, promo, disclaimer, credit and navigation phrases, and the stock
post-extraction formulas of news CMSs (advertisement labels, "Read more:" links, photo
credits, newsletter prompts) that extraction used to drop with a lexicon of its own: one
lexicon, not two. A rule is evidence, not a verdict: its reason is a feature of the line
model (``transforms/core/lines.py``), and only the rules in ``HARD_RULES`` remove a line by
themselves. Which ones those are was measured on held-out training documents (see
``training/train_line_model.py``): a hard rule must be right on nearly every line it fires on.

Structural rules (title, byline, site memory, author box) live in ``transforms/core/clean.py``;
their ids are listed in ``STRUCTURAL_RULES`` so that ``newsflow clean`` can name every one.
"""

from __future__ import annotations

import functools
import re
import re._constants as _C
import re._parser as _parser
from collections.abc import Collection, Mapping, Sequence

from transforms.core.rule_table import REASONS, RULES, TEASER, Rule

__all__ = ["REASONS", "RULES", "TEASER", "Rule"]  # the table's names, re-exported

_I = re.IGNORECASE

# Lines made of these words only are a share bar ("Facebook Twitter Email"): see ``word_rule``.
SOCIAL_WORDS = frozenset(
    {
        *("facebook", "twitter", "x", "linkedin", "reddit", "pinterest", "whatsapp", "telegram", "email"),
        *("print", "tumblr", "pocket", "vk", "mix", "flipboard", "gab", "parler", "truth", "social"),
        *("share", "tweet", "pin", "it", "messenger", "copy", "link", "sms", "more", "e-mail", "mail"),
    }
)
# Leftovers of category, byline or date templates whose values were not extracted ("in ,", "By").
RESIDUE_WORDS = frozenset(
    {"in", "by", "on", "at", "and", "of", "or", "posted", "filed", "under", "tags", "tagged", "categories"}
    | {"category"}
)

# Rules that the word-level checks of ``match_rule`` apply (they have no single pattern).
WORD_RULES = (
    Rule("chrome.no_words", "chrome", re.compile(r"^[\W_]+$"), 10**9),
    Rule("chrome.template_residue", "chrome", re.compile(""), 30),
    Rule("byline.empty", "byline", re.compile(r"^by\W*$", _I), 30),
    Rule("share.network_names", "share_prompt", re.compile(""), 150),
    Rule("related.doubled_headline", "related_links", re.compile(""), 400),
)
_WORD_RULE = {rule.id: rule for rule in WORD_RULES}

# Soft widget strings: ambiguous alone ("Reply" may be a heading), boilerplate next to boilerplate.
# They are a feature of the line model, which sees the neighbours.
SOFT_WIDGET = re.compile(
    r"^(?:what do you think\??|reply|report|like|share|flag|(?:up|down)vote|\d+ (?:likes?|votes?|points?)|"
    r"\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|guest|anonymous|more|"
    r"(?:your )?(?:name|email|website)\s*(?:\(required\)|\*)?|"
    r"let us know (?:what you think )?in the comments\b.*)$",
    _I,
)
# Comment-form strings after which the article never resumes (a feature: "after a comment form").
THREAD_START = re.compile(
    r"^(?:notify (?:me )?of\b|newest\s+most voted$|inline feedbacks?$|view all comments$|"
    r"leave a (?:reply|comment|response)\b|"
    r"(?:\d+|no|one|two|three) (?:comments?|responses?|thoughts?)\s*[:.»]?$|"
    # "3 Responses to <title>": the count agrees with its noun ("no response to a complete kill"
    # and "No comment on the report" are sentences).
    r"(?:(?:\d+|no|two|three) (?:comments|responses|thoughts)|(?:1|one) (?:comment|response|thought))"
    r" (?:on|to)\b.{0,200}$|comments? (?:are )?closed\b|join the discussion\b|"
    r"post (?:a )?comment\b|add (?:a )?comment\b|you are commenting using\b|fill in your details below\b|"
    r"comments?\s*:?$|please enable javascript to view the comments\b|view comments$)",
    _I,
)

# Structural rules, applied by the cleaner over the whole document (ids for ``newsflow clean``).
STRUCTURAL_RULES = {
    "title.given": "title",
    "title.detected": "title",
    "title.repeat": "repeated_title",
    "byline.header": "byline",
    "bio.about_box": "author_bio",
    "site.memory": "site_boilerplate",
    "comment.after_form": "comment_thread",
    "comment.thread_shape": "comment_thread",
    "comment.thread_text": "comment_thread",
}

# Rules that remove a line by themselves, without the model. Chosen on out-of-fold scores of
# the training documents (training/train_line_model.py --rule-report): a rule acts alone when at
# least 97 % of the labelled lines it fires on (B or X, 20 at least) are boilerplate, and it
# removes more boilerplate that the model would keep than body that the model would have kept.
# The other rules are evidence for the model (their reason and id still name the lines the
# model removes).
HARD_RULES = frozenset(
    {
        "chrome.ad",
        "chrome.no_words",
        "comment.form",
        "comment.policy",
        "disclaimer.copyright",
        "related.heading",
        "share.network_names",
        "share.newsletter",
        "share.prompt",
        "share.subscribe",
    }
)

RULE_IDS = tuple(rule.id for rule in RULES) + tuple(rule.id for rule in WORD_RULES)
# The rule reasons, in a fixed order: one model feature each.
RULE_REASONS = tuple(sorted({rule.reason for rule in RULES + WORD_RULES}))

_HAS_ALNUM = re.compile(r"[^\W_]")
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# ASCII lines are split into lower-case words by one byte translation (apostrophes and hyphens
# stay inside words, like _WORD_RE), others by the regex.
_ASCII_WORDS = bytes(c if chr(c).isalnum() or chr(c) in "'-" else 32 for c in range(128)) + bytes(
    range(128, 256)
)


def _words(line: str) -> list[str]:
    if line.isascii():
        return [w.strip("'-") for w in line.lower().encode().translate(_ASCII_WORDS).decode().split()]
    return [w.casefold() for w in _WORD_RE.findall(line)]


# The longest line a rule with triggers tries in full; longer lines are prose. The teaser rule
# ("... Read More" ends a listing's excerpt of any length) looks for its words in the last
# characters of every line longer than the head, where triggers are looked for.
_TRIGGER_LINE_MAX = 600
TAIL_CHARS = 40
# Trigger words count in a line's head: a widget's or an appeal's phrase comes early in it.
TRIGGER_HEAD_CHARS = 96
# Every byte but an ASCII letter or digit splits words (triggers are ASCII words).
_HEAD_SPLIT = bytes(c if c < 128 and (chr(c).isalnum() or c == 10) else 32 for c in range(256))


def _first_chars(items, ignore_case: bool) -> tuple[set[str] | None, bool]:
    """The characters a parsed pattern can start with ("#" for any character but an ASCII
    letter; None when it can start with anything), and whether it can match the empty string."""
    out: set[str] = set()
    for op, av in items:
        chars, empty = _first_of(op, av, ignore_case)
        if chars is None:
            return None, False
        out |= chars
        if not empty:
            return out, False
    return out, True


def _first_of(op, av, ignore_case: bool) -> tuple[set[str] | None, bool]:
    def char(code: int) -> set[str]:
        c = chr(code).lower() if ignore_case else chr(code)
        return {c if "a" <= c <= "z" else "#"}

    if op is _C.AT:
        return set(), True
    if op is _C.LITERAL:
        return char(av), False
    if op is _C.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _C.LITERAL:
                chars |= char(value)
            elif kind is _C.RANGE and value[1] - value[0] < 256:
                for code in range(value[0], value[1] + 1):
                    chars |= char(code)
            elif kind is _C.CATEGORY and value in (_C.CATEGORY_DIGIT, _C.CATEGORY_SPACE):
                chars.add("#")
            else:
                return None, False
        return chars, False
    if op is _C.BRANCH:
        chars, empty = set(), False
        for alternative in av[1]:
            sub, sub_empty = _first_chars(alternative, ignore_case)
            if sub is None:
                return None, False
            chars |= sub
            empty |= sub_empty
        return chars, empty
    if op is _C.SUBPATTERN:
        return _first_chars(av[3], ignore_case)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
        sub, sub_empty = _first_chars(av[2], ignore_case)
        return (None, False) if sub is None else (sub, sub_empty or av[0] == 0)
    return None, False


@functools.cache
def _rule_first_chars(rule_id: str) -> frozenset[str] | None:
    rule = RULES[_INDEX[rule_id]]
    chars, _ = _first_chars(_parser.parse(rule.pattern.pattern, rule.pattern.flags), True)
    return None if chars is None else frozenset(chars)


@functools.cache
def _screen(cap: int, first: str) -> re.Pattern[str] | None:
    """One combined pattern of the anchored rules allowed on lines up to ``cap`` long that can
    match a (lower-cased) line starting with ``first`` ("#": not an ASCII letter): a line is
    tried against them with a single ``match``; only a hit is resolved rule by rule, in table
    order."""
    allowed = [
        rule
        for rule in _ANCHORED
        if rule.max_chars >= cap
        and (_rule_first_chars(rule.id) is None or first in _rule_first_chars(rule.id))
    ]
    if not allowed:
        return None
    # Matched against the lower-cased line: the anchored patterns are written in lower case.
    return re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in allowed))


_CAPS = tuple(sorted({rule.max_chars for rule in RULES if rule.anchored}))
# The smallest cap a line of each length falls under.
_CAP_OF = tuple(next(cap for cap in _CAPS if size <= cap) for size in range(_CAPS[-1] + 1))


_INDEX = {rule.id: i for i, rule in enumerate(RULES)}
_ANCHORED = tuple(rule for rule in RULES if rule.anchored)
# Trigger word (as bytes: lines are split as bytes) or character -> the rules it may fire, as
# indices into RULES.
_BY_WORD: dict[bytes, tuple[int, ...]] = {}
_BY_CHAR: dict[str, tuple[int, ...]] = {}
for _i, _rule_of in enumerate(RULES):
    for _word in _rule_of.words:
        _BY_WORD[_word.encode()] = (*_BY_WORD.get(_word.encode(), ()), _i)
    for _char in _rule_of.chars:
        _BY_CHAR[_char] = (*_BY_CHAR.get(_char, ()), _i)
_TRIGGER_WORDS = frozenset(_BY_WORD)
# Trigger word -> the indices (into RULES) of the rules it may fire.
TRIGGERS: dict[str, tuple[int, ...]] = {word.decode(): rules for word, rules in _BY_WORD.items()}
# Words of a line, lower-cased, as ASCII bytes: anything not an ASCII letter or digit splits
# (a word with other letters cannot be a trigger, which are all ASCII).


def _word_rule(line: str, size: int) -> Rule | None:
    """The rules over a line's words (share bars, template residue)."""
    if size <= 150 and line.count(" ") < 12:
        words = _words(line)
        if words and size <= 30 and all(w in RESIDUE_WORDS for w in words):
            return _WORD_RULE["byline.empty" if words == ["by"] else "chrome.template_residue"]
        if words and all(w in SOCIAL_WORDS for w in words) and words != ["more"]:
            return _WORD_RULE["share.network_names"]
    return None


def _doubled(line: str, size: int) -> bool:
    """Teaser cards render their headline twice ("Title Title") when flattened to text."""
    half, rest = divmod(size, 2)
    return bool(rest) and 15 <= half <= 200 and line[half] == " " and line[:half] == line[half + 1 :]


# The first word of a line that may be all residue or share-bar words (a cheap screen).
# (as the ASCII words ``head_words`` splits them into: "e-mail" starts with "e").
WORD_RULE_FIRST = _WORD_RULE_FIRST = frozenset(
    part.encode() for word in SOCIAL_WORDS | RESIDUE_WORDS for part in re.split(r"[^a-z0-9]+", word) if part
)
_SCREEN_MAX = max(rule.max_chars for rule in _ANCHORED)
# The teaser rule looks at the tail of a line past its head only when it holds one of these.
_TAIL_WORDS = ("more", "reading")


def head_words(lines: Sequence[str]) -> list[list[bytes]]:
    """The lower-cased ASCII words of each line's first ``TRIGGER_HEAD_CHARS`` characters."""
    heads = "\n".join([line[:TRIGGER_HEAD_CHARS] for line in lines]).lower().encode()
    return [part.split() for part in heads.translate(_HEAD_SPLIT).split(b"\n")]


def match_rules(
    lines: Sequence[str],
    *,
    word_screen: Sequence[bool] | None = None,
    triggers: Mapping[int, Collection[int]] | None = None,
) -> list[Rule | None]:
    """The first rule of the table that each stripped line matches (or None), for all the lines
    of a document: one combined match per line up to the longest anchored rule's cap (only the
    rules that can start with the line's first letter), the word rules only on the lines whose
    first word is one of their words (``word_screen``), the rules with trigger words only on the
    lines whose head holds one (``triggers``: line -> indices into ``RULES``), then rule by rule
    only where a screen hit. The line model's tokens give ``word_screen`` and ``triggers``
    (``transforms.core.clean``); without them they come from ``head_words``."""
    n = len(lines)
    out: list[Rule | None] = [None] * n
    if not n:
        return out
    if word_screen is None or triggers is None:
        words = head_words(lines)
        word_screen = [bool(w) and w[0] in _WORD_RULE_FIRST for w in words]
        triggers = {}
        for i, w in enumerate(words):
            present = _TRIGGER_WORDS.intersection(w)
            if present:
                triggers[i] = {j for word in present for j in _BY_WORD[word]}
    sizes = list(map(len, lines))
    short = "\n".join([line if size <= _SCREEN_MAX else "" for line, size in zip(lines, sizes, strict=True)])
    lowers = short.lower().split("\n")
    if len(lowers) != n:  # a character whose lower case holds a line break: line by line
        lowers = [
            line.lower() if size <= _SCREEN_MAX else "" for line, size in zip(lines, sizes, strict=True)
        ]
    screen_of = _screen
    has_alnum = _HAS_ALNUM.search
    by_char = [char for char in _BY_CHAR if char in short]
    n_rules = len(RULES)
    teaser = _INDEX["related.teaser"]
    for i, line in enumerate(lines):
        size = sizes[i]
        if not line[0].isalnum() and not has_alnum(line):
            # Separators, arrows, lone punctuation ("——-", "."): nothing of the article.
            out[i] = _WORD_RULE["chrome.no_words"]
            continue
        if size <= 150 and word_screen[i]:
            rule = _word_rule(line, size)
            if rule is not None:
                out[i] = rule
                continue
        if 31 <= size <= 401 and size & 1 and line[size >> 1] == " " and _doubled(line, size):
            out[i] = _WORD_RULE["related.doubled_headline"]
            continue
        found = n_rules
        if size <= _SCREEN_MAX:
            lower = lowers[i]
            first = lower[0]
            screen = screen_of(_CAP_OF[size], first if "a" <= first <= "z" else "#")
            if screen is not None and screen.match(lower) is not None:
                found = next((_INDEX[rule.id] for rule in _ANCHORED if rule.matches(line)), found)
        if size <= _TRIGGER_LINE_MAX:
            candidates = triggers.get(i, ())
            if by_char:
                extra = [j for char in by_char if char in line for j in _BY_CHAR[char]]
                if extra:
                    candidates = {*candidates, *extra}
        else:
            candidates = ()
        if size > TRIGGER_HEAD_CHARS:
            # Past the head, where no trigger is looked for: the teaser rule's words in the tail.
            tail = line[-TAIL_CHARS:].lower()
            if any(word in tail for word in _TAIL_WORDS):
                candidates = {*candidates, teaser}
        if candidates:
            for j in sorted(candidates):
                if j > found:
                    break
                if RULES[j].matches(line):
                    found = j
                    break
        if found < n_rules:
            out[i] = RULES[found]
    return out


def match_rule(line: str) -> Rule | None:
    """The first rule of the table that a stripped line matches, or None."""
    return match_rules([line])[0]


def rule_by_id(rule_id: str) -> Rule | None:
    return next((rule for rule in RULES + WORD_RULES if rule.id == rule_id), None)
