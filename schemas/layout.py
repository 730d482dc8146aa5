"""Every path of a lake and of its state, in one place.

A lake (``--output``) holds the datasets users read and the run records; its state
(``--state``, by default ``<output>/state``) holds what runs need to build on each other.
Sample::

    layout = LakeLayout.of("lake")
    layout.articles          -> "lake/articles"
    layout.run_record("r1")  -> "lake/runs/r1.json"
    layout.started("r1")     -> "lake/state/started/r1.json"

Nothing here touches a file: this module names paths, the lake package reads and writes them.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath

# The file that makes a folder a newsflow lake: written when a run first creates the lake,
# holding the lake's format version and where its state lives.
MARKER_FILE = "newsflow-lake.json"
# Datasets of the lake, in the order summaries list them.
DATA_DATASETS = ("articles", "duplicates", "rejects")
LAKE_FOLDERS = (*DATA_DATASETS, "runs", "state")


def join_path(base: str, *parts: str) -> str:
    """Join path parts for local paths and object-store URLs alike."""
    parts = tuple(p for p in parts if p)
    if "://" in base:
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts) if parts else base


def absolute(path: str) -> str:
    """A location as the lake records it: object-store URLs as given, local paths absolute."""
    return path.rstrip("/") if "://" in path else os.path.abspath(path)


@dataclasses.dataclass(frozen=True)
class LakeLayout:
    output: str
    state: str

    @classmethod
    def of(cls, output: str, state: str | None = None) -> LakeLayout:
        return cls(output, state or join_path(output, "state"))

    @property
    def uses_default_state(self) -> bool:
        return absolute(self.state) == absolute(join_path(self.output, "state"))

    # --- the lake ---------------------------------------------------------------------
    @property
    def marker(self) -> str:
        return join_path(self.output, MARKER_FILE)

    def dataset(self, name: str) -> str:
        return join_path(self.output, name)

    @property
    def articles(self) -> str:
        return self.dataset("articles")

    @property
    def runs(self) -> str:
        return self.dataset("runs")

    def run_record(self, run_id: str) -> str:
        return join_path(self.runs, f"{run_id}.json")

    # --- the state --------------------------------------------------------------------
    @property
    def dedup(self) -> str:
        """The dedup index: one Parquet segment per committed run."""
        return join_path(self.state, "dedup")

    @property
    def sites(self) -> str:
        """The site memory: per site, how many documents held each short line (a segment per run)."""
        return join_path(self.state, "sites")

    @property
    def polls(self) -> str:
        return join_path(self.state, "polls")

    def polls_of(self, run_id: str) -> str:
        """A run's feed polls, folded into the cursors once the run is committed."""
        return join_path(self.polls, f"{run_id}.json")

    @property
    def feeds(self) -> str:
        """The feed cursors."""
        return join_path(self.state, "feeds.json")

    @property
    def lock(self) -> str:
        return join_path(self.state, "run.lock")

    @property
    def owner(self) -> str:
        """Which lake the state belongs to."""
        return join_path(self.state, "owner.json")

    @property
    def journal(self) -> str:
        """The journal of started runs: reconciliation deletes only what these runs wrote."""
        return join_path(self.state, "started")

    def started(self, run_id: str) -> str:
        return join_path(self.journal, f"{run_id}.json")

    @property
    def data_folders(self) -> tuple[str, ...]:
        """Every folder a run writes ``part-<run_id>-…`` files into."""
        return (*(self.dataset(name) for name in DATA_DATASETS), self.dedup, self.sites)
