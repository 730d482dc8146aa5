"""A page's lead image: the picture a link preview would show, as an absolute URL.

Consumes what one walk over a page already collected (its meta tags, its JSON-LD objects)
and the parsed tree; emits one URL or None. Pure: ``transforms.extract`` calls it. Sample::

    lead_image({"og:image": ["/img/ferry.jpg"]}, [], tree, "https://news.example.org/a")
    -> "https://news.example.org/img/ferry.jpg"

Order: ``og:image`` (and its ``:secure_url`` / ``:url`` forms, then ``twitter:image``), the
article's JSON-LD ``image`` (a URL, an ``ImageObject`` or a list of either), else the first
large image inside the article's markup (``<article>``, ``<main>``, ``<figure>``): declared
at least ``MIN_IMAGE_WIDTH`` wide, or inside a ``<figure>`` with no declared size. Icons,
tracking pixels, SVGs and ``data:`` URIs are never lead images.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from transforms.core.urls import absolute_url, site_host

# An in-article image at least this wide (declared width, or a srcset width) is a lead image.
MIN_IMAGE_WIDTH = 400
# Images declared smaller than this in either dimension are icons, avatars or pixels.
MIN_IMAGE_SIDE = 100
# At most this many <img> are looked at for the fallback: the lead image comes early.
MAX_IMAGES_SCANNED = 50

_META_NAMES = ("og:image:secure_url", "og:image:url", "og:image", "twitter:image", "twitter:image:src")
_CONTENT_TAGS = frozenset(("article", "main", "figure"))
_NOT_A_PHOTO = re.compile(r"\.svg(?:$|[?#])|(?:^|[/_.-])(?:logo|icon|avatar|sprite|pixel|spacer)", re.I)
_SRCSET_WIDTH = re.compile(r"\s(\d+)w\s*$")
_LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original", "src")


def _absolute(value: Any, page_url: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    # "&amp;" left in a URL: the page escaped its attribute twice.
    value = value.strip().replace("&amp;", "&")
    if not value or value.startswith("data:"):
        return None
    return absolute_url(page_url, value)


def _ld_image(value: Any) -> str | None:
    """The first URL of a JSON-LD ``image`` value: a string, an ImageObject, or a list."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _ld_image(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list):
        for item in value:
            found = _ld_image(item)
            if found:
                return found
    return None


def _int(value: str | None) -> int | None:
    if not value:
        return None
    digits = re.match(r"\s*(\d+)", value)
    return int(digits.group(1)) if digits else None


def _img_source(img: Any) -> tuple[str | None, int | None]:
    """An <img>'s real source (lazy-loading attributes first) and its widest srcset width."""
    widest, best = None, None
    for candidate in (img.get("srcset") or img.get("data-srcset") or "").split(","):
        match = _SRCSET_WIDTH.search(candidate)
        if match and (widest is None or int(match.group(1)) > widest):
            widest, best = int(match.group(1)), candidate.strip().split()[0]
    for name in _LAZY_SOURCES:
        value = (img.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value, widest
    return best, widest


def _in_content(img: Any) -> tuple[bool, bool]:
    """Whether an <img> sits inside the article's markup, and inside a <figure>."""
    content = figure = False
    for ancestor in img.iterancestors():
        tag = ancestor.tag if isinstance(ancestor.tag, str) else ""
        if tag in _CONTENT_TAGS:
            content = True
            figure = figure or tag == "figure"
    return content, figure


def first_large_image(tree: Any, page_url: str | None) -> str | None:
    """The first large image inside the article's markup, absolute, or None."""
    for count, img in enumerate(tree.iter("img")):
        if count >= MAX_IMAGES_SCANNED:
            break
        source, srcset_width = _img_source(img)
        if not source or _NOT_A_PHOTO.search(source):
            continue
        width, height = _int(img.get("width")), _int(img.get("height"))
        if (width is not None and width < MIN_IMAGE_SIDE) or (height is not None and height < MIN_IMAGE_SIDE):
            continue
        content, figure = _in_content(img)
        if not content:
            continue
        large = (width or srcset_width or 0) >= MIN_IMAGE_WIDTH
        if large or (figure and width is None):
            absolute = _absolute(source, page_url)
            if absolute:
                return absolute
    return None


def lead_image(
    meta: dict[str, list[str]],
    ld_articles: Iterable[dict[str, Any]],
    tree: Any,
    page_url: str | None,
) -> str | None:
    """The page's lead image URL, made absolute against ``page_url`` (None when there is none).

    ``meta`` maps lower-cased meta names to their values; ``ld_articles`` are the JSON-LD
    objects that describe the article; ``tree`` is the parsed page (lxml).
    """
    for name in _META_NAMES:
        for value in meta.get(name, ()):
            found = _absolute(value, page_url)
            if found:
                return found
    for obj in ld_articles:
        found = _absolute(_ld_image(obj.get("image") or obj.get("thumbnailUrl")), page_url)
        if found:
            return found
    return first_large_image(tree, page_url) if tree is not None else None


def _host_like(name: str, page_url: str | None) -> bool:
    """trafilatura names a site by its host when the page declares nothing: not a name."""
    folded = name.casefold().removeprefix("www.")
    host = site_host(page_url) or ""
    return (bool(host) and folded in (host, host.split(":")[0])) or (" " not in folded and "." in folded)


def preferred_site_name(declared: str | None, feed_title: str | None, page_url: str | None) -> str | None:
    """The site's name: the page's (og:site_name, JSON-LD publisher) unless it is only a host
    name, else the feed's title (or a news sitemap's publication name), else the host-like name."""
    if declared and not _host_like(declared, page_url):
        return declared
    return feed_title or declared
