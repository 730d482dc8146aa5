"""What a page states besides its body: metas, canonical link, JSON-LD, prose, and the metadata fields.

Pure Python, no Beam. ``scan_page`` walks the parsed tree once (``PageFacts``); ``read_metadata``
runs trafilatura's meta, JSON-LD and title readers, its costly tree searches only for what is
missing; the small functions below turn them into the fields of an ``ExtractedPage``:

    facts = scan_page(tree); found = read_metadata(tree, facts)
    site_name(found.sitename, facts) -> "The Daily Example"
    headline("Bridge reopens | The Daily Example", "The Daily Example") -> "Bridge reopens"
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from html import unescape
from typing import Any

import lxml.etree
from lxml.html import HtmlElement
from trafilatura import json_metadata
from trafilatura import metadata as trafilatura_metadata

from transforms.core.body_blocks import WS_RE, text_key
from transforms.core.dates import ARTICLE_TYPES, with_main_entities
from transforms.core.markup import field_text
from transforms.core.text import normalise_text
from transforms.core.urls import absolute_url

_LOGGER = logging.getLogger(__name__)
# What lxml, the charset codecs and trafilatura's heuristics raise on malformed input.
BAD_INPUT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, lxml.etree.LxmlError)
# The page's prose: its text runs (between tags) of at least this many characters. Shorter runs
# are menus, buttons, captions and link lists; a paragraph split by links still has long runs.
PROSE_RUN_CHARS = 60
# A site's name in a page's <title> is a few words ("The Daily Example", "WSJ.com").
MAX_SITE_NAME_WORDS = 5
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")
# The XHTML-era wrappers some CMSes put around a script's JSON ("<![CDATA[ {...} ]]>", also
# behind "//" or as an HTML comment): not JSON, so they are cut before parsing.
_JSON_WRAPPER_RE = re.compile(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$")
# What a byline split at its commas leaves around the names ("By A, with B and C, in Washington"):
# a joiner before a name, and the place the reporters wrote from, which is no author.
_JOINER_RE = re.compile(r"^(?:with|and|&)\s+", re.IGNORECASE)
_PLACE_RE = re.compile(r"^(?i:in)\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2}$")
# An author field holding a link or a bare domain, not a name ("CNBC.com staff" is a name).
_URLISH_RE = re.compile(r"https?:|www\.|^\S+\.(?:com|org|net|co\.uk)\S*$", re.IGNORECASE)
# Keyword lists are comma-separated; a category may hold ", " itself ("Waste, Fraud & Abuse") but
# a CMS that joins several writes them without a space ("Opinion,Reported Opinion").
TAG_SPLIT_RE = re.compile(r",")
CATEGORY_SPLIT_RE = re.compile(r",(?!\s)")
# Long text runs of the page, outside scripts (tested in Python: cheaper than an XPath predicate).
_PROSE_RUNS = lxml.etree.XPath(f"//body//text()[string-length(.) >= {PROSE_RUN_CHARS}]")
_NOT_TEXT_TAGS = frozenset(("script", "style", "noscript", "template", "textarea", "option"))


@dataclasses.dataclass
class PageFacts:
    """What one pass over the raw tree learns, besides what trafilatura reports."""

    # Meta values by lower-case name, property or itemprop; http-equiv ones as "http-equiv:<name>".
    meta: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    canonical: list[str] = dataclasses.field(default_factory=list)
    # Each JSON-LD script as parsed, and their objects flattened out of lists and @graph.
    ld_scripts: list[Any] = dataclasses.field(default_factory=list)
    ld_objects: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The page's prose (its long text runs, whitespace-normalised): the yardstick for a body
    # that came out truncated.
    prose: list[str] = dataclasses.field(default_factory=list)
    # The text of the page's links (as ``text_key``): a body block equal to one is a link, not
    # prose. Read only when candidates are compared (``link_texts``).
    link_texts: frozenset[str] | None = None
    # A live blog's updates that the page shows a reader, as (headline, blocks): read once per page,
    # when the first candidate body is completed (``transforms.core.extract_body``).
    live_updates: list[tuple[str, list[str]]] | None = None


def scan_page(tree: HtmlElement) -> PageFacts:
    """Collect meta tags, canonical links, JSON-LD, link texts and the page's prose.

    One C-level ``iter`` over the tags of interest is several times cheaper than an XPath per field.
    """
    facts = PageFacts()
    for element in tree.iter("meta", "link", "script"):
        tag = element.tag
        if tag == "meta":
            equiv = element.get("http-equiv")
            name = element.get("property") or element.get("name") or element.get("itemprop")
            name = name or (f"http-equiv:{equiv}" if equiv else None)
            content = element.get("content")
            if name and content:
                facts.meta.setdefault(name.strip().lower(), []).append(content.strip())
        elif tag == "link":
            if "canonical" in (element.get("rel") or "").lower().split() and element.get("href"):
                facts.canonical.append(element.get("href", "").strip())
        elif (element.get("type") or "").strip().lower() == "application/ld+json":
            data = _parse_json(element.text or "")
            if data is not None:
                facts.ld_scripts.append(data)
                facts.ld_objects.extend(_json_ld(data))
    for run in _PROSE_RUNS(tree):
        if run.is_tail or run.getparent().tag not in _NOT_TEXT_TAGS:
            normalized = " ".join(run.split())
            if len(normalized) >= PROSE_RUN_CHARS:
                facts.prose.append(normalized)
    return facts


def link_texts(tree: HtmlElement, facts: PageFacts) -> frozenset[str]:
    if facts.link_texts is None:
        texts = (element.text_content() for element in tree.iter("a"))
        facts.link_texts = frozenset(text_key(text) for text in texts if text and not text.isspace())
    return facts.link_texts


def _parse_json(text: str) -> Any:
    try:
        return json.loads(_JSON_WRAPPER_RE.sub("", text))
    except ValueError:
        return None  # sites ship broken JSON-LD; it is optional metadata


def _json_ld(data: Any) -> list[dict[str, Any]]:
    """The objects of one parsed JSON-LD script, flattened out of lists and @graph."""
    objects: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))  # keep document order: the article comes first
        elif isinstance(item, dict):
            objects.append(item)
            if isinstance(item.get("@graph"), list):
                stack.extend(reversed(item["@graph"]))
    return objects


@dataclasses.dataclass
class Found:
    """trafilatura's metadata reading, without its date (``transforms.core.dates``) and licence."""

    title: str | None = None
    author: str | None = None
    sitename: str | None = None
    description: str | None = None
    categories: list[str] | None = None
    tags: list[str] | None = None


def read_metadata(tree: HtmlElement, facts: PageFacts) -> Found:
    """trafilatura's meta, JSON-LD and title readers; its costly tree searches only for what is missing.

    ``trafilatura.extract_metadata`` also runs htmldate and a licence search, and searches the
    whole tree for an author even when the article names its own: about half the time of an
    extraction. The author search runs only when neither the metas nor the JSON-LD name one.
    """
    found = trafilatura_metadata.examine_meta(tree)
    for data in facts.ld_scripts:
        # trafilatura's reader of the scripts parsed once in ``scan_page`` (its own
        # ``extract_meta_json`` re-parses them after a character-by-character clean-up).
        try:
            found = json_metadata.extract_json(data, found)
        except BAD_INPUT_ERRORS + (KeyError, IndexError) as err:
            _LOGGER.debug("JSON-LD metadata unreadable: %r", err)
    for field in ("title", "author", "sitename"):
        value = getattr(found, field)
        if isinstance(value, str) and "&" in value:
            setattr(found, field, unescape(value))  # JSON-LD strings may hold HTML entities
    if found.author and " " not in found.author:
        found.author = None  # trafilatura's rule: a one-word author meta is a handle or a site
    title = found.title or trafilatura_metadata.extract_title(tree)
    author = found.author
    if not author and not facts.meta.get("article:author") and not _ld_people(facts) and _is_article(facts):
        # The byline search copies and prunes the whole tree (a fifth of an extraction's time):
        # only where the page declares itself an article, so a byline is expected.
        author = trafilatura_metadata.extract_author(tree)
    sitename = found.sitename or trafilatura_metadata.extract_sitename(tree)
    categories, tags = found.categories, found.tags
    if _is_article(facts):
        # Category and tag links (``/category/...``) name the article's sections on an article
        # page; elsewhere they are the site's menu, and the search costs as much as the metas.
        categories = categories or trafilatura_metadata.extract_catstags("category", tree)
        tags = tags or trafilatura_metadata.extract_catstags("tag", tree)
    return Found(title, author, sitename, found.description, categories, tags)


def _is_article(facts: PageFacts) -> bool:
    """The page declares an article: ``og:type`` article or a schema.org article object."""
    return any("article" in kind.lower() for kind in facts.meta.get("og:type", ())) or bool(
        ld_articles(facts)
    )


def _ld_people(facts: PageFacts) -> list[str]:
    """The names of the people the article's JSON-LD gives as its authors."""
    names = []
    for obj in ld_articles(facts):
        people = obj.get("author")
        for person in people if isinstance(people, list) else [people]:
            if isinstance(person, dict) and "Organization" not in ld_types(person):
                person = person.get("name")
            if isinstance(person, str):
                names.append(unescape(person))
    return names


def declared_language(tree: HtmlElement, facts: PageFacts) -> str | None:
    """The declared language as an ISO 639-1 style primary subtag ("en-GB" -> "en")."""
    values = [tree.get("lang") or "", tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""]
    values += facts.meta.get("http-equiv:content-language", []) + facts.meta.get("content-language", [])
    values += facts.meta.get("og:locale", [])
    for value in values:
        primary = re.split(r"[-_,;\s]", value.strip().lower(), maxsplit=1)[0]
        if 2 <= len(primary) <= 3 and primary.isalpha():
            return primary
    return None


def declared_canonical(facts: PageFacts, url: str | None) -> str | None:
    """``<link rel=canonical>``, else ``og:url``, made absolute against the page URL."""
    for value in facts.canonical + facts.meta.get("og:url", []):
        if not value or value.startswith(("javascript:", "#")):
            continue
        absolute = absolute_url(url, value)
        if absolute:
            return absolute
    return None


def clean_field(value: str | None) -> str | None:
    """A metadata value on one line, as plain text (``field_text``: markup and entities a page
    left in it are read)."""
    value = field_text(value)
    value = WS_RE.sub(" ", normalise_text(value)).strip() if value else None
    return value or None


def site_name(
    found: str | None, facts: PageFacts, title: str | None = None, page_title: str | None = None
) -> str | None:
    """The site's own name: ``og:site_name`` beats trafilatura's guess (often a tagline or host).
    A guess that is the headline (``title``) took the wrong side of "<headline> - <site>" in the
    page's ``<title>`` (a headline with a dot, "Hitachi in U.K. Nuclear Bid - WSJ.com", looks
    like a domain to trafilatura): the site is the other, shorter side."""
    declared = facts.meta.get("og:site_name", [])
    if declared:
        return clean_field(declared[0])
    guess = clean_field(found)
    if not guess or guess.casefold() != (clean_field(title) or "").casefold():
        return guess
    page_title = clean_field(page_title) or ""
    for separator in _TITLE_SEPARATORS:
        parts = [part.strip() for part in page_title.split(separator)]
        if len(parts) == 2 and parts[0].casefold() == guess.casefold():
            words = len(parts[1].split())
            if 0 < words < len(parts[0].split()) and words <= MAX_SITE_NAME_WORDS:
                return parts[1]
    return guess


def headline(title: str | None, sitename: str | None) -> str | None:
    """The headline without a trailing "| Site name ..." that some pages put in every title."""
    title = clean_field(title)
    if not title or not sitename:
        return title
    for separator in _TITLE_SEPARATORS:
        cut = title.casefold().find(f"{separator}{sitename.casefold()}")
        if cut > 0 and len(title[:cut].split()) >= 2:
            return title[:cut].strip()
    return title


def authors(found: str | None, sitename: str | None, facts: PageFacts) -> str | None:
    """Authors as "A; B": the article's typed bylines first, else trafilatura's guess, cleaned.

    ``article:author`` and schema.org ``Person`` authors name people; the plain ``author`` meta
    that trafilatura also reads often names the publisher ("Condé Nast") or holds a URL.
    """
    names = list(facts.meta.get("article:author", [])) + _ld_people(facts)
    site = (sitename or "").casefold()

    def real_names(candidates: list[str]) -> list[str]:
        cleaned = (_JOINER_RE.sub("", clean_field(name) or "") for name in candidates)
        return [
            n
            for n in cleaned
            if n and n.casefold() != site and not _URLISH_RE.search(n) and not _PLACE_RE.match(n)
        ]

    kept = real_names(names) or real_names((found or "").split(";"))
    return "; ".join(dict.fromkeys(kept)) or None


def ld_articles(facts: PageFacts) -> list[dict[str, Any]]:
    """The JSON-LD objects that describe the article itself (not the page, a video or the site),
    also where a WebPage names it as its ``mainEntity``."""
    return [obj for obj in with_main_entities(facts.ld_objects) if ld_types(obj) & ARTICLE_TYPES]


def ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def unique_values(values: list[str] | None, separator: re.Pattern[str]) -> tuple[str, ...]:
    """Trafilatura's categories or tags as a tuple, split where a page joined them, without repeats."""
    seen: dict[str, str] = {}
    for value in values or ():
        for part in separator.split(field_text(value) or ""):
            part = WS_RE.sub(" ", normalise_text(part)).strip()
            # One-letter keywords are CMS debris, not tags.
            if len(part) > 1 and part.casefold() not in seen:
                seen[part.casefold()] = part
    return tuple(seen.values())
