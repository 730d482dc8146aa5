"""Shared fixtures: paths to the shipped seeds and test resources, a TestPipeline factory."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import subprocess
import sys

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
pytest_plugins = ["tests.feedserver"]  # the real HTTP server fixture on 127.0.0.1

RESOURCES = pathlib.Path(__file__).resolve().parent / "resources"


@pytest.fixture
def seeds_dir() -> pathlib.Path:
    return SEEDS


def seed_text(prefix: str) -> str:
    """The text of the seed whose file name starts with ``prefix`` (e.g. ``"003"``)."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def local_pipeline() -> TestPipeline:
    # The FnApiRunner directly: the DirectRunner would first try to download Prism.
    return TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


# Three sentences of seed 003 reworded: a copy "with a few sentences edited".
EDITS = (
    ("Fighting raged for weeks.", "The fighting had raged on for many weeks."),
    ("no simple task", "not an easy task at all"),
    ("Deir Ezzor residents celebrated news", "Residents of Deir Ezzor cheered the news"),
)
NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)


def seed_body(prefix: str) -> str:
    """A seed's body paragraphs without its header and footer lines."""
    return "\n\n".join(p.strip() for p in seed_text(prefix).split("\n\n") if len(p.split()) > 12)


def edited(text: str) -> str:
    for old, new in EDITS:
        assert old in text, old
        text = text.replace(old, new)
    return text


def fingerprinted(
    id_: str, text: str, url: str | None = None, published: dt.datetime | None = None, run_id: str = ""
):
    """An enriched-enough article for deduplication tests: text, URL and fingerprints."""
    from schemas.records import Article
    from transforms.core.fingerprints import fingerprints
    from transforms.core.urls import canonical_url

    digest, signature = fingerprints(text)
    return Article(
        id=id_,
        source=f"{id_}.txt",
        text_source="seed_text",
        ingested_at=NOW,
        url=url,
        canonical_url=canonical_url(url),
        text=text,
        published=published,
        content_hash=digest,
        minhash=signature,
        run_id=run_id,
    )


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real ``newsflow`` command (``python -m pipeline``), as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )
