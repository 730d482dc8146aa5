"""robots.txt, as RFC 9309 reads it: fetched once per origin, cached, and asked per URL.

A 4xx robots.txt allows everything; a 5xx or no answer disallows for now (and a host
that does not answer at all is reported as unreachable, not as a refusal). Its
Crawl-delay slows the host down. The fetcher supplies the bytes; this module decides.
"""

from __future__ import annotations

import collections
import logging
import threading
import urllib.robotparser
from collections.abc import Callable

from transforms.core.http_policy import FetchFailure, FetchPolicy, host_of, origin_of

_LOGGER = logging.getLogger(__name__)

# RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt; more is abuse.
ROBOTS_MAX_BYTES = 512_000

# RFC 9309: a robots.txt may be cached up to 24 hours; an unreachable one is retried sooner.
ROBOTS_TTL = 86_400.0

ROBOTS_ERROR_TTL = 600.0

# Bounds on the per-host tables so that a long streaming job over many hosts stays small.
MAX_TRACKED_HOSTS = 10_000

# Failures that mean the host did not answer: reported as such, not as a robots.txt refusal.
_UNREACHABLE = frozenset({"connection_error", "timeout"})


# (status, body) of an origin's robots.txt; raises FetchFailure when the host does not answer.
RobotsLoader = Callable[[str], tuple[int, bytes]]


class RobotsCache:
    """Parsed robots.txt per origin (a small LRU) and the Crawl-delay of each host."""

    def __init__(self, policy: FetchPolicy, load: RobotsLoader, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._load_bytes = load
        self._clock = clock
        self._lock = threading.Lock()
        # origin -> (expires at, parser); an OrderedDict used as a small LRU.
        self._robots: collections.OrderedDict[str, tuple[float, urllib.robotparser.RobotFileParser]] = (
            collections.OrderedDict()
        )
        # host -> seconds between requests asked by its robots.txt Crawl-delay.
        self._crawl_delay: dict[str, float] = {}

    def crawl_delay(self, host: str) -> float:
        return self._crawl_delay.get(host, 0.0)

    def check(self, url: str) -> None:
        """Raises ``FetchFailure`` when ``url`` may not be fetched now."""
        origin = origin_of(url)
        now = self._clock()
        with self._lock:
            cached = self._robots.get(origin)
            if cached is not None and cached[0] > now:
                self._robots.move_to_end(origin)
                parser = cached[1]
            else:
                parser = None
        if parser is None:
            parser, ttl = self._load_robots(origin)
            with self._lock:
                self._robots[origin] = (self._clock() + ttl, parser)
                while len(self._robots) > MAX_TRACKED_HOSTS:
                    self._robots.popitem(last=False)
                delay = parser.crawl_delay(self.policy.user_agent)
                if len(self._crawl_delay) > MAX_TRACKED_HOSTS:
                    self._crawl_delay.clear()
                if delay:
                    # Capped: a Crawl-delay of hours would stall the worker, not just this host.
                    self._crawl_delay[host_of(url)] = min(float(delay), self.policy.max_backoff)
        if not parser.can_fetch(self.policy.user_agent, url):
            unreachable = getattr(parser, "unreachable", None)
            if unreachable is not None:
                # The host did not answer at all: that is the failure, not a robots.txt rule.
                raise FetchFailure(unreachable.error, f"robots.txt: {unreachable.detail}", retryable=True)
            if parser.disallow_all:
                raise FetchFailure("robots_disallowed", "robots.txt unavailable: disallowed for now")
            raise FetchFailure("robots_disallowed", "disallowed by robots.txt")

    def _load_robots(self, origin: str) -> tuple[urllib.robotparser.RobotFileParser, float]:
        """Fetch and parse robots.txt per RFC 9309: 4xx allows all, 5xx or no answer disallows."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            status, body = self._load_bytes(origin)
            if 200 <= status < 300:
                parser.parse(body.decode("utf-8", errors="replace").splitlines())
                return parser, ROBOTS_TTL
            if 400 <= status < 500 and status != 429:
                parser.allow_all = True
                return parser, ROBOTS_TTL
            _LOGGER.debug("robots.txt at %s answered %s: disallowing for now", origin, status)
        except FetchFailure as failure:
            _LOGGER.debug("robots.txt at %s failed (%s): disallowing for now", origin, failure.error)
            if failure.error in _UNREACHABLE:
                parser.unreachable = failure  # type: ignore[attr-defined]
        parser.disallow_all = True
        return parser, ROBOTS_ERROR_TTL


# --- Beam wrapper below ---
