"""A decoded page as the lxml tree trafilatura, htmldate and our extraction read.

``parse_page`` is ``trafilatura.load_html`` for a decoded string (its repairs, its fallback to
bytes, its check that the input is HTML at all) on a parser of the same settings whose element
classes are looked up in C. lxml.html's own lookup is a Python call for every element Python
touches, and the extraction touches every element of the page many times (trafilatura's
candidates, htmldate, our metadata and block readers): on pages_train the same extraction
takes about 9 % less CPU, for the same output (issue 10's time budget). The form-field classes
of lxml.html (``InputElement``, ``SelectElement``, ...) are not used: every element is an
``HtmlElement``, which is all trafilatura and htmldate ask of it.

    parse_page("<html><body><p>Rates rise.</p></body></html>").findtext(".//p") -> "Rates rise."
"""

from __future__ import annotations

import logging

import lxml.etree
import lxml.html
from trafilatura.utils import is_dubious_html, repair_faulty_html

__all__ = ["parse_page"]

_LOGGER = logging.getLogger(__name__)

# trafilatura's HTML_PARSER settings (trafilatura/utils.py), with the C-level lookup.
_PARSER = lxml.html.HTMLParser(
    collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
)
_PARSER.set_element_class_lookup(
    lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)
# The first characters that tell HTML from other markup (trafilatura's own check).
_BEGINNING_CHARS = 50


def parse_page(markup: str) -> lxml.html.HtmlElement | None:
    """The page's tree, or None when it is not HTML (as ``trafilatura.load_html`` decides)."""
    beginning = markup[:_BEGINNING_CHARS].lower()
    dubious = is_dubious_html(beginning)
    markup = repair_faulty_html(markup, beginning)
    tree, from_bytes = None, False
    try:
        tree = lxml.html.fromstring(markup, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, from_bytes = _from_bytes(markup), True
    except lxml.etree.LxmlError as err:
        _LOGGER.debug("lxml could not parse the page: %s", err)
    if (tree is None or len(tree) < 1) and not from_bytes:
        tree = _from_bytes(markup)
    if tree is not None and dubious and len(tree) < 2:
        return None  # no <html> near the start and hardly a tree: not a page
    return tree


def _from_bytes(markup: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fromstring(markup.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (ValueError, lxml.etree.LxmlError) as err:
        _LOGGER.debug("lxml could not parse the page's bytes: %s", err)
        return None
