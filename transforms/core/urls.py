"""Article URLs: their canonical form, and their identity for deduplication.

canonical_url("https://WWW.Example.org/a/?utm_source=x&b=2#top") -> "https://www.example.org/a?b=2"
url_key("https://www.example.org/a?b=2")                           -> "example.org/a?b=2"
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return None
    try:
        normalised = courlan.normalize_url(url, strict=False, trailing_slash=False)
    except (ValueError, AttributeError):
        return None
    parts = urlsplit(normalised)
    if not parts.netloc:
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
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    return urlunsplit(("", host, parts.path, parts.query, "")).lstrip("/")


def host_of(url: str | None) -> str | None:
    """The lower-cased host of a URL, without ``www.``; None when there is none."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return (host[4:] if host.startswith("www.") else host) or None
