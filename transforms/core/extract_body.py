"""The article body of a parsed page: trafilatura's extractions compared, repaired where the page says so.

Pure Python, no Beam. ``select_body(tree, url, facts, trail)`` returns the body (its blocks, and
which of them are list items) or None:

1. Precision mode (without trafilatura's fallback cascade: a third of its time) is the first
   candidate; where it finds nothing or a fragment of the page's prose, precision mode with the
   cascade replaces it. When it covers too little of the page's own prose (the long text runs of any
   block, not only ``<p>``), it may be truncated: a recall-mode extraction with the cascade is
   the second candidate, kept only when it covers clearly more of that prose and scores better
   (more sentence-like text, less link text); balanced mode is the next. When none finds an
   article, balanced mode once more without pruning comment-named containers (bare
   trafilatura's default), unless trafilatura finds a comment thread in them.
2. Quoted social posts, headings, list items and table rows stay, one block a line
   (``transforms.core.body_blocks``); section headings precision mode dropped between two kept
   blocks are put back.
3. A live blog whose updates only its schema.org data carries gets them back.
4. ``drop_author_bio``: a closing bio of the byline's author is dropped.

Every decision and every dropped block goes to the ``Trail`` when one is given.
"""

from __future__ import annotations

import dataclasses
import re

import trafilatura
from lxml.html import HtmlElement

from transforms.core.body_blocks import (
    body_blocks,
    body_chars,
    body_paragraph_keys,
    code_keys,
    data_rows,
    heading_keys,
    list_item_keys,
    normalize_block,
    table_row_keys,
    text_key,
)
from transforms.core.markup import content_text, field_text
from transforms.core.page_meta import PageFacts, ld_types, link_texts

# Below this many characters of body there is no article (a caption, a paywall stub, an error page).
MIN_BODY_CHARS = 100
# TRUNCATED_COVERAGE, COVERAGE_GAIN, RESCUE_COVERAGE, CASCADE_COVERAGE, LINK_PENALTY, SENTENCE_WORDS:
# tuned on ../shared/data/boilerplate/pages_train (html_dev as extra dev data), see the README's
# quality section; never on the validation pages.
# The first candidate may be truncated when it holds less than this share of the page's prose.
TRUNCATED_COVERAGE = 0.7
# Another candidate replaces the current one only when it holds at least this much more of the
# prose (and scores better).
COVERAGE_GAIN = 0.1
# Below this share of the prose, balanced mode is tried too (after recall).
RESCUE_COVERAGE = 0.2
# Below this share of the prose, precision mode runs again with its referee cascade first (it
# reads table and <font>/<br> layouts fast mode cuts short; a whole body found so skips recall).
CASCADE_COVERAGE = 0.5
# In a candidate's score, a character of link text (a block that is a link's text on the page)
# costs this many characters of sentence-like text.
LINK_PENALTY = 4.0
# A block of at least this many words that ends like a sentence counts fully in the score;
# other blocks count half.
SENTENCE_WORDS = 12
# Section headings longer than this are not headings; a heading's neighbours are matched to the
# body's blocks on this many characters of their words.
MAX_HEADING_CHARS = 150
HEADING_MATCH_CHARS = 60
# An update of a live blog counts as shown by the page when a window of this many characters of
# its words is among the page's prose.
SHOWN_WINDOW_CHARS = 40
# Author bios close the article, in its last few blocks.
TAIL_BLOCKS = 3
# A closing author bio is a few sentences; the byline's surname is among its first words
# ("CNBC's Julia Boorstin is ...").
MAX_BIO_CHARS = 600
BIO_NAME_WORDS = 6
# Explanations quote this much of each dropped block.
EXPLAIN_CHARS = 200
# The end of a sentence-like block: a full stop, a question, a closing quote or bracket.
_SENTENCE_END_RE = re.compile(r"""[.!?…:;"'”’»)\]]\s*$""")
# A closing author bio: "Jane Doe is a reporter for ...", "X's Jane Doe is the author of ...".
_AUTHOR_BIO_RE = re.compile(
    r"^(?:\S+['’]s\s+)?(?:[A-Z][\w.'’-]*\s+){1,4}(?:is|was|has\s+been)\s+(?:a|an|the)\s+"
    r"(?:[\w-]+\s+){0,4}(?:writer|reporter|editor|correspondent|journalist|columnist|contributor|author|"
    r"producer|intern|fellow|critic|anchor|novelist|commentator)s?\b",
)
_WORD_RE = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Why the body is what it is: the decisions taken and the blocks dropped, with reasons."""

    decisions: tuple[str, ...] = ()
    # (reason, text) of each block left out: the other candidate's extra blocks, a bio.
    dropped: tuple[tuple[str, str], ...] = ()


class Trail:
    """Collects an explanation; extraction passes ``None`` instead when nobody asked."""

    def __init__(self) -> None:
        self.decisions: list[str] = []
        self.dropped: list[tuple[str, str]] = []

    def explanation(self) -> Explanation:
        return Explanation(tuple(self.decisions), tuple(self.dropped))


@dataclasses.dataclass
class _Candidate:
    mode: str
    paragraphs: list[str]
    # Share of the page's prose the candidate holds.
    coverage: float
    # Its sentence/link score (``_score``), computed when candidates are compared.
    score: float | None = None
    # Blocks appended from the page's schema.org live-blog updates, and section headings put back.
    live_updates: int = 0
    headings: int = 0
    # ``text_key`` of the blocks that are list items and headings in the extracted body.
    items: frozenset[str] = frozenset()
    heading_keys: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Body:
    """The chosen body: its blocks, and the ``text_key`` of those that are list items (with the
    paragraphs among the article's own: ``body_paragraph_keys``), headings and
    preformatted blocks (code)."""

    paragraphs: list[str]
    # The blocks only a rule may remove: the page's lists, and the paragraphs among its prose.
    items: frozenset[str] = frozenset()
    headings: frozenset[str] = frozenset()
    code: frozenset[str] = frozenset()


def select_body(tree: HtmlElement, url: str | None, facts: PageFacts, trail: Trail | None) -> Body | None:
    """The body's blocks: precision mode; recall, then balanced mode where the body looks truncated."""
    chosen = _candidate(tree, url, "precision", facts)
    if chosen is None or chosen.coverage < CASCADE_COVERAGE:
        # A fragment of the page's prose, or nothing: precision mode again with its referee
        # cascade (readability, jusText), which finds bodies in layouts it misses.
        rescued = _candidate(tree, url, "precision", facts, cascade=True)
        if rescued is not None and (chosen is None or rescued.coverage > chosen.coverage):
            chosen = rescued
    tried = [chosen]
    # Truncation suspected (or nothing found): recall mode reaches text in other containers,
    # <div>/<br> and table layouts; it also keeps more boilerplate, hence the comparison.
    if chosen is None or chosen.coverage < TRUNCATED_COVERAGE:
        tried.append(_candidate(tree, url, "recall", facts))
        chosen = _better(chosen, tried[-1], tree, facts)
        # Still a fragment of the page's prose: the whole article sits where neither looked.
        # Balanced mode escalates with its own recall retry and jusText over the whole page.
        if chosen is None or chosen.coverage < RESCUE_COVERAGE:
            tried.append(_candidate(tree, url, "balanced", facts))
            chosen = _better(chosen, tried[-1], tree, facts)
    if chosen is None or body_chars(chosen.paragraphs) < MIN_BODY_CHARS:
        # No article anywhere: it may sit in a container named like a comment section
        # (id="commentable-area"), which every mode above prunes first. Bare trafilatura keeps
        # such containers; so does this last try, unless they do hold a comment thread.
        tried.append(_candidate(tree, url, "balanced", facts, comments=True))
        chosen = _better(chosen, tried[-1], tree, facts)
    if chosen is None:
        if trail:
            _explain_body(chosen, [c for c in tried if c is not None], trail)
        return None
    restored, chosen.headings = restore_headings(chosen.paragraphs, tree)
    put_back = {text_key(p) for p in restored} - {text_key(p) for p in chosen.paragraphs}
    chosen.paragraphs = restored
    if trail:
        _explain_body(chosen, [c for c in tried if c is not None and c is not chosen], trail)
    items = chosen.items | body_paragraph_keys(tree)
    return Body(chosen.paragraphs, items, chosen.heading_keys | put_back, code_keys(tree))


def restore_headings(paragraphs: list[str], tree: HtmlElement) -> tuple[list[str], int]:
    """Put back the section headings precision mode drops between two body blocks it kept.

    A heading (``h2``-``h6``) counts when the page's text right before it ends a block of the
    body and the text right after it starts the next one: it stands inside the article, not
    above a reading list or a teaser.
    """
    if len(paragraphs) < 2:
        return paragraphs, 0
    keys = [text_key(p) for p in paragraphs]
    starts: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key:
            starts.setdefault(key[:HEADING_MATCH_CHARS], index)
    present = set(keys)
    inserts: list[tuple[int, str]] = []
    for heading in tree.iter("h2", "h3", "h4", "h5", "h6"):
        text = normalize_block(heading.text_content())
        key = text_key(text)
        if not key or key in present or len(text) > MAX_HEADING_CHARS or "\n" in text:
            continue
        following, preceding = _sibling_text(heading, preceding=False), _sibling_text(heading, preceding=True)
        index = starts.get(following[:HEADING_MATCH_CHARS]) if following else None
        if index and keys[index - 1] and keys[index - 1][-HEADING_MATCH_CHARS:] in preceding:
            inserts.append((index, text))
            present.add(key)
    restored = list(paragraphs)
    for index, text in sorted(inserts, reverse=True):
        restored.insert(index, text)
    return restored, len(inserts)


def _sibling_text(element: HtmlElement, *, preceding: bool) -> str:
    """The text (as ``text_key``) of the nearest sibling before or after ``element`` that has any."""
    for sibling in element.itersiblings(preceding=preceding):
        if isinstance(sibling.tag, str):
            key = text_key(sibling.text_content())
            if key:
                return key
    return ""


def _better(
    current: _Candidate | None, other: _Candidate | None, tree: HtmlElement, facts: PageFacts
) -> _Candidate | None:
    """``other`` when it holds clearly more of the page's prose and scores better, else ``current``."""
    if other is None:
        return current
    if current is None:
        return other
    if other.coverage < current.coverage + COVERAGE_GAIN:
        return current
    links = link_texts(tree, facts)
    for candidate in (current, other):
        if candidate.score is None:
            candidate.score = _score(candidate.paragraphs, links)
    return other if other.score > current.score else current


def _explain_body(chosen: _Candidate | None, others: list[_Candidate], trail: Trail) -> None:
    if chosen is None:
        trail.decisions.append("no article: trafilatura found no main text")
        return
    note = f"body: {_describe(chosen)}"
    if chosen.live_updates:
        note += f", of which {chosen.live_updates} blocks from the page's schema.org live-blog updates"
    if chosen.headings:
        note += f"; {chosen.headings} section headings put back between the body's blocks"
    if others:
        note += (
            f"; below {TRUNCATED_COVERAGE:.0%} of the page's prose a truncation was suspected; also tried "
        )
        note += ", ".join(_describe(c) for c in others)
    trail.decisions.append(note)
    kept = {text_key(p) for p in chosen.paragraphs}
    for other in others:
        reason = f"only_in_{other.mode}_extraction"
        for paragraph in other.paragraphs:
            key = text_key(paragraph)
            if key not in kept:
                kept.add(key)
                trail.dropped.append((reason, paragraph[:EXPLAIN_CHARS]))


def _describe(candidate: _Candidate) -> str:
    chars = body_chars(candidate.paragraphs)
    score = f", score {candidate.score:.0f}" if candidate.score is not None else ""
    return (
        f"{candidate.mode} extraction ({len(candidate.paragraphs)} blocks, {chars} chars, "
        f"{candidate.coverage:.0%} of the page's prose{score})"
    )


def _candidate(
    tree: HtmlElement,
    url: str | None,
    mode: str,
    facts: PageFacts,
    *,
    cascade: bool | None = None,
    comments: bool = False,
) -> _Candidate | None:
    """One trafilatura extraction in ``mode``; the cascade runs in every mode but precision unless
    asked for. With ``comments``, containers named like comment sections are not pruned first."""
    cascade = mode != "precision" if cascade is None else cascade
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=comments,
        favor_precision=mode == "precision",
        favor_recall=mode == "recall",  # neither: balanced
        # Precision mode without the referee cascade (readability and jusText over a copy of
        # the whole page: a third of trafilatura's time). Where its body looks truncated, recall
        # mode and then balanced mode, cascade and all, are tried instead.
        fast=not cascade,
    )
    if doc is None or doc.body is None:
        return None
    if comments and doc.commentsbody is not None and len(doc.commentsbody):
        return None  # trafilatura found a comment thread there: no article, only the thread
    items, headings = list_item_keys(doc.body), heading_keys(doc.body)
    rows = data_rows(doc.body)
    if rows:  # a data table's rows are protected like list items, unless they are links
        items |= table_row_keys(rows, link_texts(tree, facts))
    paragraphs = body_blocks(doc.body)
    if not paragraphs:
        return None
    # A live blog's updates complete each candidate before it is measured: a precision body
    # with the updates from schema.org is whole, not truncated.
    paragraphs, added = _add_live_updates(paragraphs, facts)
    name = "precision_cascade" if cascade and mode == "precision" else mode
    name = f"{name}_with_comment_sections" if comments else name
    return _Candidate(
        name,
        paragraphs,
        _coverage(paragraphs, facts.prose),
        live_updates=added,
        items=items,
        heading_keys=headings,
    )


def _coverage(paragraphs: list[str], prose: list[str]) -> float:
    """The share of the page's prose (characters of its long text runs) the blocks hold."""
    total = sum(len(run) for run in prose)
    if not total:
        return 1.0
    flat = " ".join(" ".join(p.split()) for p in paragraphs)
    return sum(len(run) for run in prose if run in flat) / total


def _score(paragraphs: list[str], link_texts: frozenset[str]) -> float:
    """Sentence-like text counts, link text costs: what a body has and a menu or link list has not."""
    total = 0.0
    for paragraph in paragraphs:
        size = len(paragraph)
        if text_key(paragraph) in link_texts:
            total -= LINK_PENALTY * size
        elif len(paragraph.split()) >= SENTENCE_WORDS and _SENTENCE_END_RE.search(paragraph):
            total += size
        else:
            total += size / 2
    return total


def drop_author_bio(paragraphs: list[str], author: str | None, trail: Trail | None) -> list[str]:
    """Drop a closing bio of the byline's author from the last blocks (a profile's first sentence stays)."""
    kept = list(paragraphs)
    while len(kept) > 1:
        bio = next((p for p in reversed(kept[-TAIL_BLOCKS:]) if _is_author_bio(p, author)), None)
        if bio is None:
            break
        kept.remove(bio)
        if trail:
            trail.dropped.append(("author_bio", bio[:EXPLAIN_CHARS]))
    return kept


def _is_author_bio(paragraph: str, author: str | None) -> bool:
    """A short "Jane Doe is a reporter ..." about the byline's author (any writer if none is known).

    Matching the byline's surname keeps a closing sentence about someone in the story.
    """
    if len(paragraph) > MAX_BIO_CHARS or not _AUTHOR_BIO_RE.match(paragraph):
        return False
    surnames = {name.split()[-1].casefold() for name in re.split(r";|\band\b", author or "") if name.strip()}
    opening = {word.casefold() for word in _WORD_RE.findall(paragraph)[:BIO_NAME_WORDS]}
    return not surnames or bool(surnames & opening)


def _blocks_of(text: str) -> list[str]:
    return [block for block in map(normalize_block, (content_text(text) or "").split("\n\n")) if block]


def _add_live_updates(paragraphs: list[str], facts: PageFacts) -> tuple[list[str], int]:
    """Append the live blog's updates that a reader sees (``_live_updates``) and the body lacks."""
    updates = _live_updates(facts)
    if not updates:
        return paragraphs, 0
    body_key = text_key(" ".join(paragraphs))
    added = list(paragraphs)
    for headline, text in updates:
        if text_key(" ".join(text))[:200] in body_key:
            continue
        if headline:
            added.append(headline)
        added.extend(text)
    return added, len(added) - len(paragraphs)


def _live_updates(facts: PageFacts) -> list[tuple[str, list[str]]]:
    """A live blog's updates from its schema.org data that a reader sees, as (headline, blocks);
    read once per page (every candidate body is completed with them).

    ``LiveBlogPosting.liveBlogUpdate`` carries each update's headline and text. Many live blogs
    render their updates by script: the page's markup shows none of them, and all count. A page
    that renders updates itself shows a reader those (often its latest few, the rest behind
    "load more"): only they count (trafilatura may not have joined their sibling containers),
    never the others its data lists.
    """
    if facts.live_updates is not None:
        return facts.live_updates
    updates: list[tuple[str, str]] = []
    for obj in facts.ld_objects:
        if "LiveBlogPosting" not in ld_types(obj):
            continue
        raw_updates = obj.get("liveBlogUpdate")
        for update in raw_updates if isinstance(raw_updates, list) else [raw_updates]:
            if isinstance(update, dict) and isinstance(update.get("articleBody"), str):
                headline = update.get("headline")
                updates.append((headline if isinstance(headline, str) else "", update["articleBody"]))
    # Some publishers write the updates as HTML (links, entities): their text, never their markup.
    blocks = [(field_text(headline), _blocks_of(text)) for headline, text in updates]
    page_key = "\n".join(text_key(run) for run in facts.prose) if blocks else ""
    found = {index for index, (_, text) in enumerate(blocks) if text and _shown(text, page_key)}
    # The data lists the updates in the page's order: one between two the page shows is shown
    # too (a short update is too short to be found among the prose).
    facts.live_updates = [
        (headline, text)
        for index, (headline, text) in enumerate(blocks)
        if text and (not found or index in found or {index - 1, index + 1} <= found)
    ]
    return facts.live_updates


def _shown(blocks: list[str], page_key: str) -> bool:
    """Whether the page's markup shows an update: a few words from inside its longest block
    (at a quarter, half and three quarters of it, so a link in the sentence cannot hide it all)
    are among the page's prose."""
    key = text_key(max(blocks, key=len, default=""))
    if len(key) < SHOWN_WINDOW_CHARS:
        return False
    half = SHOWN_WINDOW_CHARS // 2
    for share in (0.25, 0.5, 0.75):
        middle = min(max(int(len(key) * share), half), len(key) - half)
        if key[middle - half : middle + half] in page_key:
            return True
    return False
