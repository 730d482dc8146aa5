"""Editors' labels: feed categories and page sections, in several languages, mapped to topic slugs.

``CategoryTable`` (``schemas/categories.json``) maps section names to slugs ("Wirtschaft" ->
"economy"); a label that is a topic's own slug or IPTC label in the taxonomy counts too. Sample:
``packaged_category_table().slug_of("News > Sport", packaged_taxonomy())`` gives ``"sport"``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from transforms.core.topics import Taxonomy, tokenize

# Where a category names several sections ("News > Sport", "Wissenschaft/Technik"), the parts.
_CATEGORY_SPLIT_RE = re.compile(r"\s*(?:[/>|»:;,]|\s-\s)\s*")
# "Sports news", "Technik-News": the word "news" adds nothing to a section's name.
_NEWS_WORDS = frozenset({"news", "nachrichten", "actualites", "noticias", "notizie", "nieuws"})


def normalise_category(name: str) -> str:
    """A category's words, lower-case and without accents: "Économie" -> "economie"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(tokenize(plain.replace("ß", "ss")))


@dataclasses.dataclass(frozen=True)
class CategoryTable:
    """Section names (normalised) -> topic slug, e.g. "wirtschaft" -> "economy"."""

    names: Mapping[str, str]

    def slug_of(self, category: str, taxonomy: Taxonomy) -> str | None:
        """The slug an editor's label names, or None (tags, places, "News", "Opinion", ...).

        The whole label is tried first, then its parts ("News > Sport" -> "sport"). A label that
        is a topic's own slug or IPTC label in ``taxonomy`` counts too, so a user's taxonomy gets
        its own section names for free. A label whose parts name different topics names none.
        """
        whole = normalise_category(category)
        found = self._lookup(whole, taxonomy)
        if found or not whole:
            return found
        parts = {
            self._lookup(normalise_category(part), taxonomy) for part in _CATEGORY_SPLIT_RE.split(category)
        }
        parts.discard(None)
        return parts.pop() if len(parts) == 1 else None

    def _lookup(self, name: str, taxonomy: Taxonomy) -> str | None:
        words = name.split(" ")
        if len(words) > 1 and (words[0] in _NEWS_WORDS or words[-1] in _NEWS_WORDS):
            name = " ".join(w for w in words if w not in _NEWS_WORDS)
        slug = self.names.get(name)
        if slug is not None and slug in taxonomy._slug_set:
            return slug
        named = taxonomy._index.names.get(name)
        return taxonomy.topics[named].slug if named is not None else None

    def slugs_of(self, categories: Sequence[str] | str, taxonomy: Taxonomy) -> tuple[str, ...]:
        """The distinct slugs the article's categories name, in order of first mention."""
        if isinstance(categories, str):
            categories = (categories,)
        found = (self.slug_of(category, taxonomy) for category in categories if category)
        return tuple(dict.fromkeys(slug for slug in found if slug))


def parse_category_table(document: Any, source: str = "<data>") -> CategoryTable:
    """A ``CategoryTable`` from ``{"topics": {slug: [section name, ...]}}``; ValueError if malformed."""
    raw = document.get("topics") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"invalid category table {source}: 'topics' must map slugs to lists of names")
    names: dict[str, str] = {}
    for slug, labels in raw.items():
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ValueError(f"invalid category table {source}: {slug!r} must list section names")
        for label in labels:
            key = normalise_category(label)
            if names.setdefault(key, slug) != slug:
                raise ValueError(
                    f"invalid category table {source}: {label!r} names both {names[key]!r} and {slug!r}"
                )
    return CategoryTable(names=names)


@functools.lru_cache(maxsize=1)
def packaged_category_table() -> CategoryTable:
    """The packaged multilingual table of section names (``schemas/categories.json``)."""
    resource = importlib.resources.files("schemas").joinpath("categories.json")
    return parse_category_table(json.loads(resource.read_text(encoding="utf-8")), "schemas/categories.json")
