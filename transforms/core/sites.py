"""Site memory, the pure part: how many documents of a site hold each of its short lines.

A site's boilerplate (its footer, share bar, newsletter box) repeats across its documents,
its articles' sentences do not. The memory counts, per site, the documents that held each
short line (by ``line_key``), over this run and the runs before it; the cleaner's line model
reads the count for each line of a document as a feature (and ``--site_min_docs`` removes a
line that many documents hold outright). Sample::

    table = site_table([("", 12), ("9f2c…", 11), ("41aa…", 1)])
    -> SiteTable(docs=12, counts={"9f2c…": 11, "41aa…": 1})
    stats_for_document(run=table_of_this_run, memory=table) -> SiteStats(docs=…, counts=…)

The rows live in ``state/sites/`` (``transforms/sitememory.py`` reads and writes them,
``transforms/lake/index.py`` merges and bounds them); the functions here only add and bound
counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from transforms.core.clean import SiteStats
from transforms.core.lines import site_line_candidates

# The key of the row that counts a site's documents.
DOCS_KEY = ""
# A site keeps at most this many line keys: the most often seen, then the most recently seen.
# A site's boilerplate is a few dozen lines; the rest are the one-off lines of its articles,
# kept a while so that a line seen once can be recognised when it comes back.
MAX_KEYS_PER_SITE = 2000
# Rows not seen for this many days are forgotten (the default of --site_memory_days).
MAX_AGE_DAYS = 30


@dataclasses.dataclass(frozen=True)
class SiteTable:
    """Documents of one site, and per line key how many of them held the line."""

    docs: int = 0
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)


EMPTY = SiteTable()


def document_keys(text: str) -> set[str]:
    """The line keys a document adds to its site's counts (its short lines, once each): their
    ``line_key``s, the lines normalised in one batch (``site_line_candidates``)."""
    return site_line_candidates(text)


def pack_keys(keys: Iterable[str]) -> bytes:
    """Line keys (16 hex digits each) as one bytes object, sorted: what an article carries from
    the clean stage to the site memory's count, through every shuffle on the way."""
    return b"".join(bytes.fromhex(key) for key in sorted(keys))


def unpack_keys(packed: bytes) -> list[str]:
    return [packed[start : start + 8].hex() for start in range(0, len(packed), 8)]


def count_lines(counts: dict[str, tuple[int, float]], keys: Iterable[str], seen: float) -> None:
    """Count one document seen at ``seen`` (a POSIX time) into a site's ``{line key: (documents,
    last seen)}``: once under ``DOCS_KEY`` and once under each of its line ``keys``."""
    for key in (DOCS_KEY, *keys):
        docs, last = counts.get(key, (0, 0.0))
        counts[key] = (docs + 1, max(last, seen))


def counted_table(counts: Mapping[str, tuple[int, float]], max_keys: int = MAX_KEYS_PER_SITE) -> SiteTable:
    """The table of a site's ``{line key: (documents, last seen)}`` (``count_lines``)."""
    return site_table(((key, docs) for key, (docs, _) in counts.items()), max_keys)


def site_table(rows: Iterable[tuple[str, int]], max_keys: int = MAX_KEYS_PER_SITE) -> SiteTable:
    """Sum ``(key, docs)`` rows of one site into a table, keeping the ``max_keys`` most held keys."""
    counts: dict[str, int] = {}
    for key, docs in rows:
        counts[key] = counts.get(key, 0) + docs
    total = counts.pop(DOCS_KEY, 0)
    if len(counts) > max_keys:
        counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_keys])
    return SiteTable(total, counts)


class _OthersCounts:
    """Counts of the OTHER documents holding a key, read by ``.get`` as a mapping is: this run's
    minus one (the document itself) plus the memory's; for a document the lake already holds,
    read again (not counted into this run's), this run's plus the memory's minus one."""

    __slots__ = ("_run", "_memory", "_run_self", "_memory_self")

    def __init__(self, run: Mapping[str, int], memory: Mapping[str, int], in_run: bool = True) -> None:
        self._run, self._memory = run.get, memory.get
        self._run_self, self._memory_self = (1, 0) if in_run else (0, 1)

    def get(self, key: str, default: int = 0) -> int:
        others = max(self._run(key, 0) - self._run_self, 0) + max(self._memory(key, 0) - self._memory_self, 0)
        return others or default


def stats_for_document(run: SiteTable = EMPTY, memory: SiteTable = EMPTY, in_run: bool = True) -> SiteStats:
    """What the cleaner may know of a document's site: the other documents of this run and of the
    remembered runs. The document itself is among this run's counts (``in_run``), or, for an
    article of the lake read again, which a run does not count twice, among the memory's."""
    run_self, memory_self = (1, 0) if in_run else (0, 1)
    docs = max(run.docs - run_self, 0) + max(memory.docs - memory_self, 0)
    if not run.counts and not memory.counts:
        return SiteStats(docs, {})
    return SiteStats(docs, _OthersCounts(run.counts, memory.counts, in_run))


def site_tables(
    documents: Iterable[tuple[str | None, str]], max_keys: int = MAX_KEYS_PER_SITE
) -> dict[str, SiteTable]:
    """Per site, the table of how many of ``documents`` (``(site, text)`` pairs) hold each short
    line: what ``CleanArticles`` builds for a run with a CombinePerKey, in memory."""
    counts: dict[str, dict[str, tuple[int, float]]] = {}
    for site, text in documents:
        if site:
            count_lines(counts.setdefault(site, {}), document_keys(text), 0.0)
    return {site: counted_table(site_counts, max_keys) for site, site_counts in counts.items()}
