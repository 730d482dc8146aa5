"""The blocks of an extracted body: one string per paragraph, heading, list item or table row.

Pure Python, no Beam. Reads the body tree trafilatura returns (its own flat tags, or a nested
HTML subtree when its readability fallback won), walking containers and reading blocks whole:

    body_blocks(<body><p>One.</p><list><item>Two</item></list></body>) -> ["One.", "Two"]

Data table rows become one line (cells joined); layout rows (a menu column beside the article
column) are walked cell by cell. ``<br>``/``<lb>`` stay line breaks inside a block.
"""

from __future__ import annotations

import re
from copy import deepcopy

from lxml.html import HtmlElement

from transforms.core.text import normalise_text, text_width

# Body tree tags (trafilatura's own and HTML, for readability's output): containers are walked,
# rows join their cells, skipped ones carry no body text; everything else is one block.
_CONTAINER_TAGS = frozenset(
    ("body", "div", "section", "article", "main", "header", "footer", "aside", "figure")
    + (
        "list",
        "ul",
        "ol",
        "dl",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "quote",
        "blockquote",
        "cell",
        "td",
        "th",
    )
)
_ROW_TAGS = frozenset(("row", "tr"))
_SKIPPED_TAGS = frozenset(("graphic", "img", "script", "style", "noscript", "svg", "button", "form"))
_BLOCK_TAGS = frozenset(
    ("p", "head", "item", "li", "h1", "h2", "h3", "h4", "h5", "h6")
    + ("pre", "code", "dd", "dt", "figcaption", "caption")
)
# The start of a paragraph's piece that continues the sentence before it: a space, or the
# punctuation after an inline element ("' excuse.", ", he said").
_INLINE_START_RE = re.compile(r"[ \t]|[,.;:!?'\")\]’”]")
# A full stop, question or exclamation mark ends a sentence; unlike extraction's sentence-like end
# (``extract_body``), a quote or colon does not: "you no longer have the '" and "NEW DELHI:" go on
# after the link that follows them.
_SENTENCE_STOP_RE = re.compile(r"[.!?…]\s*$")
_STRUCTURE_TAGS = tuple(_CONTAINER_TAGS | _ROW_TAGS | _BLOCK_TAGS)
# A list's items and headings (trafilatura's own tags and HTML's).
_ITEM_TAGS = ("item", "li", "dd", "dt")
_HEADING_TAGS = ("head", "h1", "h2", "h3", "h4", "h5", "h6")
# A paragraph of prose: this many characters or more (``text_width``: a CJK character counts as
# half a word). A parent holding ``BODY_PARAGRAPHS`` of them holds an article's text, and all its
# paragraphs are part of it.
PROSE_PARAGRAPH_CHARS = 150
# A table cell holding more text than this is a column of a layout, not a datum.
MAX_DATA_CELL_CHARS = 200
BODY_PARAGRAPHS = 3
WS_RE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_WORD_RE = re.compile(r"\w+")


def body_blocks(body: HtmlElement) -> list[str]:
    """One string per block of the extracted body: paragraph, heading, list item, table row.

    The body is trafilatura's flat tree, or a nested HTML subtree when its readability fallback
    won the comparison: containers are walked, blocks are read whole.
    """
    _breaks_as_newlines(body)
    _join_split_paragraphs(body)
    paragraphs: list[str] = []
    _collect_blocks(body, paragraphs)
    return paragraphs


def list_item_keys(body: HtmlElement) -> frozenset[str]:
    """The ``text_key`` of every list item of an extracted body: the lines the page itself marks
    as a list the article holds (tour dates, nominees, feature bullets), which the cleaner's line
    model, reading lines without markup, would take for a menu."""
    return _keys(body, _ITEM_TAGS)


def heading_keys(body: HtmlElement) -> frozenset[str]:
    """The ``text_key`` of every heading of an extracted body: the article's section headings
    (and the headings of what extraction kept around it, which go with the blocks they head)."""
    return _keys(body, _HEADING_TAGS)


def code_keys(page: HtmlElement) -> frozenset[str]:
    """The ``text_key`` of every preformatted block of the page (``<pre>``: code, a terminal
    session, a table typed as text), read from the page itself: trafilatura keeps such a block
    whole but calls it a quote. The cleaner keeps these lines as they are (its rules and line
    model would take ``}`` or ``SELECT * FROM t;`` for chrome)."""
    return _keys(page, ("pre",))


def body_paragraph_keys(page: HtmlElement) -> frozenset[str]:
    """The ``text_key`` of every paragraph that sits among an article's own paragraphs: a
    ``<p>`` whose parent holds ``BODY_PARAGRAPHS`` paragraphs of prose or more, and whose text is
    not mostly link text. A list written one name to a paragraph (award nominees), a letter's
    signature ("Gary Bolen<br>Monterey"): the line model, reading lines without markup, would
    take such runs of short lines for a menu; and a reader's letter in the first person, which it
    would take for a reader comment. (pages_train: path F1 0.896 to 0.897 with the long
    paragraphs marked too, no source lower.)"""
    keys: set[str] = set()
    for parent in {paragraph.getparent() for paragraph in page.iter("p")} - {None}:
        paragraphs = [child for child in parent if child.tag == "p"]
        if len(paragraphs) < BODY_PARAGRAPHS:
            continue
        texts = [child.text_content() for child in paragraphs]
        if sum(text_width(text) >= PROSE_PARAGRAPH_CHARS for text in texts) < BODY_PARAGRAPHS:
            continue
        for paragraph, text in zip(paragraphs, texts, strict=True):
            if not text.strip():
                continue
            linked = sum(len(link.text_content()) for link in paragraph.iter("a"))
            if 2 * linked > len(text.strip()):
                continue
            keys.add(text_key(_text_with_breaks(paragraph)))
    keys.discard("")
    return frozenset(keys)


def _text_with_breaks(paragraph: HtmlElement) -> str:
    """A paragraph's text with its ``<br>`` as line breaks (its lines are words apart); the page
    itself is left as it is."""
    if not any(True for _ in paragraph.iter("br")):
        return paragraph.text_content()
    copy = deepcopy(paragraph)
    _breaks_as_newlines(copy)
    return copy.text_content()


def _breaks_as_newlines(element: HtmlElement) -> None:
    """Each ``<br>`` (trafilatura's ``<lb>``) below ``element`` becomes a line break of its text."""
    for line_break in element.iter("lb", "br"):
        line_break.tail = "\n" + (line_break.tail or "")


def _join_split_paragraphs(body: HtmlElement) -> None:
    """Join the pieces of a paragraph that the extractor split at its inline markup.

    A page's loose text (in a ``<div>``, not a ``<p>``) comes out of trafilatura's readability
    fallback as ``<p>... the hardest </p>Ricky<p> and myself ...</p>``: the text around a link
    or an ``<i>`` wrapped in paragraphs, the link's text left between them. Such a piece ends
    mid-sentence: the paragraph before it ends in a space, or the one after it starts with a
    space or punctuation and the one before ends no sentence; the text between holds no line
    break.
    """
    for first in list(body.iter("p")):
        if first.getparent() is None:
            continue  # already joined into the paragraph before it
        chain: list[tuple[str, HtmlElement]] = []
        last, end = first, None  # the last piece, and the end of the text joined so far
        while True:
            between, following = last.tail, last.getnext()
            if (
                following is None
                or following.tag != "p"
                or not between
                or not between.strip()
                or "\n" in between
            ):
                break
            end = "".join(last.itertext()) if end is None else end
            after = following.text or ""
            if end.endswith("\n") or not (
                end.endswith(" ") or (_INLINE_START_RE.match(after) and not _SENTENCE_STOP_RE.search(end))
            ):
                break
            chain.append((between, following))
            end = between + "".join(following.itertext())
            last = following
        if chain:
            _merge_pieces(first, chain)


def _merge_pieces(first: HtmlElement, chain: list[tuple[str, HtmlElement]]) -> None:
    """Move each piece's text (after the text between) and its inline children into ``first``;
    each text is written once, so a paragraph split a thousand times joins in linear time."""
    target = first[-1] if len(first) else None
    pieces = [(target.tail if target is not None else first.text) or ""]

    def flush() -> None:
        if target is None:
            first.text = "".join(pieces)
        else:
            target.tail = "".join(pieces)

    for between, piece in chain:
        pieces += [between, piece.text or ""]
        children = list(piece)
        if children:
            flush()
            first.extend(children)
            target = children[-1]
            pieces = [target.tail or ""]
    flush()
    first.tail = chain[-1][1].tail
    for _, piece in chain:
        piece.getparent().remove(piece)


def is_data_row(row: HtmlElement) -> bool:
    """A table row of data (figures, names, dates), not of layout (a menu column beside the
    article column): its cells hold no nested row, list or heading, and none holds more than
    ``MAX_DATA_CELL_CHARS`` of text. Trafilatura wraps a cell's text in ``<p>``, so a
    paragraph in a cell says nothing either way."""
    for cell in row:
        if any(True for _ in cell.iterdescendants(*_ROW_TAGS, *_ITEM_TAGS, *_HEADING_TAGS)):
            return False
        if len("".join(cell.itertext()).strip()) > MAX_DATA_CELL_CHARS:
            return False
    return True


def row_text(row: HtmlElement) -> str:
    """A data row's cells on one line."""
    return " ".join(_cell_texts(row))


def _cell_texts(row: HtmlElement) -> list[str]:
    """Each non-empty cell's text on one line (``str.split`` takes every Unicode space)."""
    cells = (" ".join(normalise_text(" ".join(cell.itertext())).split()) for cell in row)
    return [cell for cell in cells if cell]


def data_rows(body: HtmlElement) -> list[list[str]]:
    """The non-empty cells' texts of each data row, with two cells or more, of the tables of an
    extracted body that hold two such rows or more (a table of one row is a layout's strip: a
    breadcrumb, a footer's links)."""
    found = []
    for table in body.iter("table"):
        rows = (
            _cell_texts(row) for row in table.iter(*_ROW_TAGS) if _table_of(row) is table and is_data_row(row)
        )
        rows = [cells for cells in rows if len(cells) > 1]
        if len(rows) > 1:
            found.extend(rows)
    return found


def _table_of(row: HtmlElement) -> HtmlElement | None:
    return next(row.iterancestors("table"), None)


def table_row_keys(rows: list[list[str]], link_keys: frozenset[str]) -> frozenset[str]:
    """The ``text_key`` of each data row (``data_rows``) that is not mostly the text of the page's
    links (``link_keys``): a results table or a price list, whose lines of short cells the
    cleaner's line model would take for a menu, as it would a list's items. A row of links
    ("Advertising Info | News & Events | Site map") is a menu laid out as a table."""
    keys = set()
    for cells in rows:
        key = text_key(" ".join(cells))
        linked = sum(len(link) for link in link_keys if link and link in key)
        if key and linked * 2 < len(key):
            keys.add(key)
    return frozenset(keys)


def _keys(body: HtmlElement, tags: tuple[str, ...]) -> frozenset[str]:
    keys = (text_key("".join(element.itertext())) for element in body.iter(*tags))
    return frozenset(key for key in keys if key)


def _collect_blocks(element: HtmlElement, paragraphs: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SKIPPED_TAGS:
        return
    if tag in _ROW_TAGS and is_data_row(element):
        _append(paragraphs, row_text(element))
    elif tag in _ROW_TAGS:
        # A layout row (a menu column beside the article column): each cell is a column of blocks.
        for cell in element:
            _collect_blocks(cell, paragraphs)
            _append(paragraphs, cell.tail)
    elif tag in _CONTAINER_TAGS and any(True for _ in element.iterdescendants(*_STRUCTURE_TAGS)):
        _append(paragraphs, element.text)
        for child in element:
            _collect_blocks(child, paragraphs)
            _append(paragraphs, child.tail)
    else:
        # A block, or a container holding only inline markup: its whole text is one paragraph.
        _append(paragraphs, "".join(element.itertext()))


def _append(paragraphs: list[str], text: str | None) -> None:
    text = normalize_block(text) if text else ""
    if text:
        paragraphs.append(text)


def body_chars(paragraphs: list[str]) -> int:
    return sum(len(paragraph) for paragraph in paragraphs)


def normalize_block(text: str) -> str:
    lines = (WS_RE.sub(" ", line).strip() for line in normalise_text(text).split("\n"))
    return "\n".join(line for line in lines if line)


def text_key(text: str) -> str:
    """A text's words, case-folded, in the normal form of the stored lines (``normalise_text``):
    a page's list item, heading or link matches its line whatever soft hyphens it held."""
    return " ".join(_WORD_RE.findall(normalise_text(text).casefold()))
