"""What a feed source is, by its content: a feed, an OPML list, a list of URLs, or a page.

document_kind(b"<?xml version='1.0'?><opml version='2.0'>...")   -> "opml"
parse_opml(opml_bytes)                                          -> ["https://a.example/rss", ...]
discover_feeds(page_html, "https://example.org/")               -> ["https://example.org/feed.xml"]
"""

from __future__ import annotations

import re
import urllib.parse

from lxml import etree

from transforms.core.feeds import _HTML_START, FeedError, parse_untrusted_xml, refusing_hostile_input, unique

_TRAILING_COMMENT = re.compile(r"\s+#")

_URL_START = re.compile(r"^https?://", re.IGNORECASE)

_ROOT_ELEMENT = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>|<\?[^>]*\?>)\s*)*"
    rb"<([A-Za-z_][\w:.-]*)",
    re.S,
)

_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@refusing_hostile_input
def parse_opml(data: bytes) -> list[str]:
    """Feed URLs (``xmlUrl`` of outlines at any depth) from an OPML export, in order, deduplicated.

    Raises ``FeedError`` (``malformed_xml`` or ``not_opml``) for other documents.
    """
    # No entity expansion, no DTD or network access: an OPML file is untrusted input too.
    try:
        root = parse_untrusted_xml(data)
    except etree.XMLSyntaxError as error:
        raise FeedError("malformed_xml", str(error)[:200]) from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise FeedError("not_opml", "root element is not <opml>")
    urls: list[str] = []
    for outline in root.iter("{*}outline"):
        # Exporters disagree on the attribute's case (xmlUrl, xmlurl, XMLURL).
        for name, value in outline.attrib.items():
            if str(name).lower() == "xmlurl":
                urls.append(str(value))
    return list(unique(urls))


def document_kind(data: bytes) -> str:
    """What a fetched or saved document is, by its content: ``feed`` (RSS, Atom, RDF or JSON
    Feed), ``opml``, ``html`` or ``other`` (e.g. a plain list of URLs)."""
    head = data[:8192]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    stripped = head.lstrip()
    if stripped[:1] == b"{":
        return "feed" if b"jsonfeed.org" in head else "other"
    root = _ROOT_ELEMENT.match(head)
    if root is not None:
        name = root.group(1).decode("ascii", "replace").lower().rsplit(":", 1)[-1]
        if name in _FEED_ROOTS:
            return "feed"
        if name == "opml":
            return "opml"
        if name == "html":
            return "html"
    return "html" if _HTML_START.match(head) else "other"


def discover_feeds(html_text: str, page_url: str) -> list[str]:
    """Feed URLs a page announces (``<link rel="alternate">``, else feed-like links), as
    trafilatura's feed finder reads them."""
    from trafilatura.feeds import FeedParameters, determine_feed

    host = urllib.parse.urlsplit(page_url).netloc
    return determine_feed(html_text, FeedParameters(page_url, host, page_url))


def read_feed_list(text: str, source: str = "feed list") -> list[str]:
    """Feed URLs from a text file: one per line, blank lines and ``#`` comments skipped.

    Raises ``ValueError`` for a line that is not an http(s) URL.
    """
    urls = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # A comment after the URL needs whitespace before "#"; a bare "#" is a fragment.
        url = _TRAILING_COMMENT.split(line, maxsplit=1)[0].strip()
        if not _URL_START.match(url):
            raise ValueError(f"--feeds {source}: line {number} is not an http(s) URL: {url[:80]!r}")
        urls.append(url)
    return list(unique(urls))


def is_remote(source: str) -> bool:
    """Whether a feed source is fetched over HTTP (else it is a file, read as it is)."""
    return bool(_URL_START.match(source))
