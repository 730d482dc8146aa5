"""Shared fixtures: paths to the shipped seeds and test resources, a TestPipeline factory."""

from __future__ import annotations

import pathlib

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
