"""HTML fragments as plain text: feed summaries and contents, and the texts a page states in its
metadata and data, which publishers often write as HTML (tags, entities, escaped twice).

html_to_text("<p>Council <b>votes</b> &amp; decides</p>") -> "Council votes & decides"
content_text("<p>One.</p><p>Two.</p>")                     -> "One.\n\nTwo."
field_text("It&#8217;s <i>our</i> turn")                    -> "It’s our turn"
"""

from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree

_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

# Tags that separate words when the markup is dropped; other tags (b, a, em) do not.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|header|footer|pre|hr|"
    r"figure|figcaption|dd|dt|dl)\b[^>]*>",
    re.IGNORECASE,
)

_TAG = re.compile(r"<[^>]*>")

# A tag, or a character entity with its semicolon: text that is still HTML ("3 < 4" and "AT&T"
# are plain text).
_MARKUP = re.compile(r"<[A-Za-z/!]|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")

_SPACES = re.compile(r"\s+")

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

_BLOCKS = (
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "section",
    "article",
)


def html_to_text(markup: str | None) -> str | None:
    """Plain text from an HTML fragment, or None when nothing is left."""
    if markup is None:
        return None
    text = _SCRIPT_STYLE.sub(" ", markup)
    text = _COMMENT.sub(" ", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    return text or None


def content_text(markup: str | None) -> str | None:
    """Plain text of an HTML fragment with its paragraphs kept apart (feed content)."""
    if not markup or not markup.strip():
        return None
    if not _MARKUP.search(markup):
        return markup.strip() or None
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return html_to_text(markup)
    for bad in root.xpath(".//script|.//style|.//figure|.//noscript"):
        bad.drop_tree()
    for block in root.iter(*_BLOCKS):
        block.tail = "\n\n" + (block.tail or "")
        block.text = "\n\n" + (block.text or "")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    text = root.text_content()
    paragraphs = [_SPACES.sub(" ", p).strip() for p in _PARAGRAPH_BREAK.split(text)]
    return "\n\n".join(p for p in paragraphs if p) or None


def field_text(value: str | None) -> str | None:
    """A one-line metadata value (title, description, category) as plain text: markup and
    entities left in it (a page that escaped its meta content twice) are read, once."""
    text = _SPACES.sub(" ", content_text(value) or "").strip()
    return text or None
