"""Helpers shared by test modules: the real CLI, feed and page builders, readers of a lake.

Test modules import from here (and from ``tests.conftest`` for fixtures), never from each other.
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import subprocess
import sys

import pyarrow.dataset as ds

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
RESOURCES = pathlib.Path(__file__).resolve().parent / "resources"
RSS = "application/rss+xml"
ATOM = "application/atom+xml"
# Loopback is the test server; the guard stays on for every other host.
FETCH_FLAGS = ("--allowed_hosts", "127.0.0.1", "--min_host_interval", "0", "--fetch_timeout", "1")


def run_cli(
    *args: str, timeout: float = 600, env: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """The real ``newsflow`` command (``python -m pipeline``), as a user runs it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=kwargs.pop("cwd", ROOT),
        timeout=timeout,
        **kwargs,
    )


def page(title: str, paragraphs: list[str], published: str | None = None, head: str = "") -> bytes:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    meta = f"<meta property='article:published_time' content='{published}'>" if published else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} | Gazette</title>{meta}{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{body}</article>"
        "<footer>© Gazette. All rights reserved.</footer></body></html>"
    ).encode()


def rss(items: list[dict], title: str = "Gazette") -> bytes:
    entries = "".join(
        "<item>"
        f"<title>{html.escape(i['title'])}</title><link>{html.escape(i['link'])}</link>"
        f"<guid>{html.escape(i.get('guid', i['link']))}</guid><pubDate>{i['date']}</pubDate>"
        + (f"<description>{html.escape(i['summary'])}</description>" if i.get("summary") else "")
        + (f"<category>{i['category']}</category>" if i.get("category") else "")
        + "</item>"
        for i in items
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>http://127.0.0.1/</link><description>News</description>{entries}</channel></rss>"
    ).encode()


def json_feed(items: list[dict]) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": items}
    ).encode()


def opml(urls: list[str]) -> bytes:
    outlines = "".join(
        f"<outline type='rss' text='f{i}' xmlUrl='{html.escape(u)}'/>" for i, u in enumerate(urls)
    )
    return (
        "<?xml version='1.0'?><opml version='2.0'><head><title>subs</title></head>"
        f"<body>{outlines}</body></opml>"
    ).encode()


_WORDS = [
    "council",
    "mayor",
    "residents",
    "harbour",
    "ferry",
    "bridge",
    "tram",
    "budget",
    "school",
    "hospital",
    "river",
    "museum",
    "storm",
    "police",
    "court",
    "market",
    "farmers",
    "festival",
    "library",
    "station",
    "airport",
    "union",
    "strike",
    "minister",
    "election",
    "vote",
    "park",
    "housing",
    "rent",
    "water",
    "energy",
    "wind",
    "solar",
    "museum",
    "archive",
    "theatre",
    "orchestra",
    "league",
    "match",
    "coach",
    "players",
    "season",
    "goal",
    "injury",
    "transfer",
    "stadium",
    "fans",
    "ticket",
    "price",
    "inflation",
    "bank",
    "loan",
    "interest",
    "export",
    "factory",
    "workers",
    "contract",
    "engineers",
    "survey",
    "report",
    "study",
    "scientists",
    "vaccine",
    "clinic",
    "nurses",
    "patients",
    "doctors",
    "teachers",
    "pupils",
    "exam",
    "university",
    "students",
    "campus",
    "research",
    "grant",
    "climate",
    "flood",
    "drought",
    "wildfire",
    "coast",
]


def story(topic: str, paragraphs: int = 8) -> list[str]:
    """Distinct article paragraphs about ``topic``: texts of two topics share no 5-word run."""
    import random

    rng = random.Random(topic)
    out = []
    for number in range(1, paragraphs + 1):
        words = [rng.choice(_WORDS) for _ in range(40)]
        out.append(f"The {topic} report ({number}) says " + " ".join(words) + ".")
    return out


def articles_table(lake: pathlib.Path, columns: list[str] | None = None):
    from schemas.parquet import PARTITION_SCHEMA

    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    dataset = ds.dataset(str(lake / "articles"), format="parquet", partitioning=partitioning)
    return dataset.to_table(columns=columns)


def dataset_rows(lake: pathlib.Path, name: str) -> list[dict]:
    path = lake / name
    if not path.exists() or not list(path.rglob("*.parquet")):
        return []
    return ds.dataset(str(path), format="parquet").to_table().to_pylist()


def run_records(lake: pathlib.Path) -> list[dict]:
    records = [json.loads(p.read_text()) for p in (lake / "runs").glob("*.json")]
    return sorted(records, key=lambda r: (r.get("started_at", ""), r.get("finished_at", "")))
