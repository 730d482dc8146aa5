"""Helpers shared by test modules: the real CLI, feed and page builders, readers of a lake.

Test modules import from here (fixtures come from ``tests/conftest.py``), never from each other.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import pathlib
import subprocess
import sys
import warnings

import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

from transforms.core.clean import Cleaned

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
RESOURCES = pathlib.Path(__file__).resolve().parent / "resources"
GOLD = json.loads((RESOURCES / "seeds_gold.json").read_text(encoding="utf-8"))["documents"]
RSS = "application/rss+xml"
ATOM = "application/atom+xml"
# Loopback is the test server; the guard stays on for every other host (the redirect tests).
FETCH_FLAGS = ("--allowed_hosts", "127.0.0.1", "--min_host_interval", "0", "--fetch_timeout", "1")


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


def gold_body(prefix: str) -> list[str]:
    """A seed's gold body lines."""
    (name,) = [n for n in GOLD if n.startswith(prefix)]
    lines = seed_text(prefix).split("\n")
    return [lines[n - 1].strip() for n in GOLD[name]["body"]]


def run_cli_process(
    *args: str, timeout: float = 600, env: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """The real ``newsflow`` command (``python -m pipeline``) in a fresh process, as a user runs it:
    for what only a new process shows (output at import, environment read at start-up, signals)."""
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


# Loggers the CLI configures (pipeline.cli.configure_logging), restored after each call.
_CLI_LOGGERS = ("", "apache_beam", "trafilatura", "htmldate", "courlan")


def run_cli(
    *args: str, timeout: float = 600, env: dict | None = None, cwd=None
) -> subprocess.CompletedProcess:
    """The real ``newsflow`` command, run in this process: ``pipeline.cli.main(args)`` from the
    repository's root with stdout and stderr captured, returned as ``run_cli_process`` returns them.

    The modules and models a call loads stay loaded for the next (seconds of start-up each on a
    small run). What a call changes in the process is put back after it: the working directory,
    the environment, logging, warning filters, signal handlers. An exception that escapes
    ``main`` is a traceback on stderr and exit code 1, as in a process. ``timeout`` is not
    enforced in-process; with ``env`` the command runs in a fresh process (variables read at
    start-up).
    """
    if env is not None:
        return run_cli_process(*args, timeout=timeout, env=env, cwd=cwd or ROOT)
    import contextlib
    import io
    import logging
    import signal
    import traceback

    from urllib3.exceptions import DependencyWarning

    from pipeline import cli

    loggers = [logging.getLogger(name) for name in _CLI_LOGGERS]
    saved_loggers = [(lg, lg.level, list(lg.handlers)) for lg in loggers]
    saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    try:
        os.chdir(cwd or ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            # Printed on stderr as a process prints them, each once per call: adding a filter
            # (this one changes nothing) makes Python forget which warnings it has shown.
            warnings.filterwarnings("default", append=True)
            # requests silences urllib3's DependencyWarning (no PySocks) when it is imported, for
            # the life of a process; pytest resets the filters for each test, after that import.
            warnings.simplefilter("ignore", DependencyWarning)
            warnings.showwarning = show_warning
            try:
                code = cli.main(list(args))
            except SystemExit as exit_:  # argparse's --help
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except Exception:  # noqa: BLE001 - what an uncaught error does to a process
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        for name in set(os.environ) - set(saved_environ):
            del os.environ[name]
        os.environ.update(saved_environ)
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
        for lg, level, handlers in saved_loggers:
            lg.setLevel(level)
            lg.handlers[:] = handlers
    return subprocess.CompletedProcess(
        ["newsflow", *args], code, stdout=out.getvalue(), stderr=err.getvalue()
    )


def run_cli_crashing(at: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI, killed like ``kill -9`` at a commit point (``before_commit`` or ``after_commit``),
    through the launcher's injectable hooks."""
    script = (
        "import os, sys\n"
        "from pipeline import cli\n"
        "from pipeline.launch import Hooks\n"
        "die = lambda: os._exit(137)\n"
        f"sys.exit(cli.main(sys.argv[1:], hooks=Hooks(**{{{at!r}: die}})))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=timeout,
    )


def page(title: str, paragraphs: list[str], published: str | None = None, head: str = "") -> bytes:
    """A news page: navigation, the article, a "Most read" box and a footer."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    meta = f"<meta property='article:published_time' content='{published}'>" if published else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} | Gazette</title>{meta}{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{body}</article>"
        "<aside><h3>Most read</h3><ul><li><a href='/x'>Another story</a></li></ul></aside>"
        "<footer>© 2017 Gazette. All rights reserved.</footer></body></html>"
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


def atom(entries: list[dict]) -> bytes:
    body = "".join(
        f"<entry><title>{html.escape(e['title'])}</title><link href='{html.escape(e['link'])}'/>"
        f"<id>{html.escape(e['link'])}</id><updated>{e['date']}</updated>"
        f"<author><name>{html.escape(e.get('author', 'Desk'))}</name></author></entry>"
        for e in entries
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Wire</title>"
        f"<id>urn:wire</id><updated>2017-09-06T00:00:00Z</updated>{body}</feed>"
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


# One vocabulary for the tests' stories (fixed: the same texts on every run).
_WORDS = (  # noqa: SIM905 - a word list reads best as prose
    "council mayor residents harbour ferry bridge tram budget school hospital river museum storm "
    "police court market farmers festival library station airport union strike minister election "
    "vote park housing rent water energy wind solar museum archive theatre orchestra league "
    "match coach players season goal injury transfer stadium fans ticket price inflation bank "
    "loan interest export factory workers contract engineers survey report study scientists "
    "vaccine clinic nurses patients doctors teachers pupils exam university students campus "
    "research grant climate flood drought wildfire coast "
).split()


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


def write_warc(path: pathlib.Path, records: list[dict], *, gz: bool | None = None) -> bytes:
    """A WARC file written with warcio: each record a dict of ``url``, ``body`` and optional
    ``status`` (200), ``content_type`` (text/html), ``date`` and ``type`` (response; a
    ``request`` record carries no payload). Returns the bytes written."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=path.name.endswith(".gz") if gz is None else gz)
    for spec in records:
        kind = spec.get("type", "response")
        headers = {"WARC-Date": spec["date"]} if spec.get("date") else None
        if kind == "request":
            http = StatusAndHeaders(f"GET {spec['url']} HTTP/1.1", [("Host", "x")], is_http_request=True)
            record = writer.create_warc_record(
                spec["url"], "request", http_headers=http, warc_headers_dict=headers
            )
        else:
            status = spec.get("status", 200)
            http = StatusAndHeaders(
                f"{status} {'OK' if status == 200 else 'Not Found'}",
                [("Content-Type", spec.get("content_type", "text/html; charset=utf-8"))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                spec["url"],
                "response",
                payload=io.BytesIO(spec["body"]),
                length=len(spec["body"]),
                http_headers=http,
                warc_headers_dict=headers,
            )
        writer.write_record(record)
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


# A user's own taxonomy (the format of schemas/taxonomy.json), for the topic tests.
KITCHEN_TAXONOMY = {
    "name": "kitchen and garden",
    "fallback": "misc",
    "topics": [
        {
            "slug": "cooking",
            "iptc_label": "cooking",
            "description": "Recipes and kitchens.",
            "terms": {"recipe": 3, "oven": 2, "bake*": 2, "olive oil": 3},
        },
        {"slug": "gardening", "terms": {"seedling": 3, "compost": 3, "oil": 1, "tomato plant": 3}},
    ],
}


def write_taxonomy(tmp_path: pathlib.Path, document, name: str = "taxonomy.json") -> str:
    """A taxonomy document (a dict, or raw text) written to a file; its path."""
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


# The cleaner's tests. Lines the old rules removed and the line model keeps (strict: when a
# model removes the line again, the test fails and the mark goes); a war report to wrap them.
MODEL_KEEPS = pytest.mark.xfail(strict=True, reason="the line model keeps this boilerplate line")

ARMY_BODY = (
    "The Syrian army said on Monday that its troops had reached the outskirts of the city after a week of "
    "heavy fighting, according to a statement carried by the state news agency."
)
ARMY_BODY2 = (
    "Officials in Damascus told reporters that the offensive would continue until the highway to the east "
    "was secured, and that engineers were clearing mines along the road."
)
ARMY_BODY3 = (
    "The ministry added that reinforcements had been sent from Palmyra, and that civilians in the besieged "
    "districts would receive food and medicine by the end of the week."
)


def kept_texts(cleaned: Cleaned) -> list[str]:
    return cleaned.text.split("\n\n") if cleaned.text else []


def reason_of(cleaned: Cleaned, text: str) -> str | None:
    reasons = [r.reason for r in cleaned.removed if r.text == text]
    return reasons[0] if reasons else None


def army_article(*middle: str, tail: tuple[str, ...] = ()) -> str:
    return "\n\n".join(
        ("Army Pushes East Toward Besieged City", ARMY_BODY, *middle, ARMY_BODY2, ARMY_BODY3, *tail)
    )


def write_seed(folder: pathlib.Path, name: str, topic: str) -> None:
    """A seed text about ``topic`` in ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"A {topic} story\n\n" + "\n\n".join(story(topic)), encoding="utf-8")


def read_count(result) -> int:
    """The ``read`` count of a run's printed summary."""
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("read "))
    return int(line.split()[1])


def tag_with_pid(offset: int):
    """A batch function factory for the pool's tests, importable by a spawned process: each item
    plus ``offset``, with the id of the process that did it."""

    def tag(items: list[int]) -> list[tuple[int, int]]:
        return [(item + offset, os.getpid()) for item in items]

    return tag


def die_in_helper(parent: int):
    """A batch function factory for the pool's tests: the batch comes back doubled in the process
    ``parent``, and any other process dies on it (a helper killed mid-batch)."""

    def double(items: list[int]) -> list[int]:
        if os.getpid() != parent:
            os._exit(1)
        return [item * 2 for item in items]

    return double
