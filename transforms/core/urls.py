"""Article URLs: their canonical form, and their identity for deduplication.

canonical_url("https://WWW.Example.org/a/?utm_source=x&b=2#top") -> "https://www.example.org/a?b=2"
url_key("https://www.example.org/a?b=2")                           -> "example.org/a?b=2"
absolute_url("https://example.org/news/", "../a?b=2")               -> "https://example.org/a?b=2"

URLs come from outside: records, feeds, pages' links, redirects. None of these functions raises
on one that does not parse ("http://[::1", a port of 99999): it is no URL, and they say None.
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan

# Query parameters that only track the click; courlan drops the common ones (utm_*,
# fbclid, gclid, …), these are left by news sites' own share links.
_EXTRA_TRACKERS = frozenset(
    {"ref", "ref_src", "ref_url", "cmpid", "ocid", "smid", "share", "src", "rss", "ito"}
)


def canonical_url(url: str | None) -> str | None:
    """The canonical form of an article URL, or None when it is not an http(s) URL.

    Lower-cased scheme and host, default port, tracking parameters and fragment
    dropped, query sorted, no trailing slash.
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if web_url_parts(url) is None:
        return None
    try:
        normalised = courlan.normalize_url(url, strict=False, trailing_slash=False)
    except (ValueError, AttributeError):
        return None
    parts = web_url_parts(normalised)
    if parts is None:
        return None
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _EXTRA_TRACKERS
        )
    )
    path = parts.path.rstrip("/") if len(parts.path) > 1 else ""
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def url_key(canonical: str | None) -> str | None:
    """The URL's identity for deduplication: scheme and ``www.`` do not tell articles apart."""
    if not canonical:
        return None
    parts = urlsplit(canonical)
    return urlunsplit(("", _site(parts), parts.path, parts.query, "")).lstrip("/")


def site_host(url: str | None) -> str | None:
    """The site a URL belongs to: its lower-cased ``host[:port]`` without ``www.`` (the key of
    per-site line statistics; the host a page's canonical link must share); None when there is none."""
    parts = url_parts(url)
    return (_site(parts) if parts else "") or None


def host_of(url: str | None) -> str | None:
    """The lower-cased host name of a URL (no port), without ``www.``; None when there is none."""
    parts = url_parts(url)
    return ((parts.hostname or "").removeprefix("www.") if parts else "") or None


def _site(parts: SplitResult) -> str:
    return parts.netloc.lower().removeprefix("www.")


def url_parts(url: str | None) -> SplitResult | None:
    """``urlsplit(url)``, or None when the URL does not parse (a bracketed host that is no IPv6
    address, a port out of range)."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read to check it: urlsplit parses the port only when asked
    except ValueError:
        return None
    return parts


def web_url_parts(url: str | None) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a host, else None."""
    parts = url_parts(url)
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def absolute_url(base: str | None, link: str | None) -> str | None:
    """``link`` made absolute against ``base`` (a page's or a feed's URL), when the result is an
    http(s) URL that parses; else None."""
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    if base:
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    return link if web_url_parts(link) is not None else None
