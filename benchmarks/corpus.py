"""A benchmark corpus: N distinct news articles made of the repository's real text, with planted duplicates.

    python benchmarks/corpus.py generate --docs 20000 --out /tmp/corpus [--html 1000]
    python benchmarks/corpus.py serve /tmp/corpus         # its pages and RSS feeds on 127.0.0.1

Reads only what ships in this repository: the body lines of ``seeds/`` (``seeds_gold.json``), the
body lines of ``tests/resources/text_dev.json``, the true paragraphs of the 80 pages of
``tests/resources/html_dev`` and the 600 items of ``topic_dev.json`` (sentences, headlines), and,
for boilerplate, the lines the labels mark as not body (donation bars, comment widgets, comment
forms, disclaimers, author promos, reader comments), plus the stock WordPress/Jetpack share and
related-links strings.

Why sentences and not whole paragraphs: the sources hold about 3,000 real paragraphs, so 100,000
articles of 4-15 paragraphs would reuse each paragraph ~300 times, and by chance thousands of
article pairs would share half their text: "duplicates" nobody planted. Articles are therefore
4-15 paragraphs of 2-4 real sentences each, drawn in turn from a shuffled stream of the ~7,000
real sentences (reshuffled at each pass), so two base articles share a sentence or two at most.

Each article gets a site (one of ``SITES`` hosts, each with its own header and footer widgets
taken from the real boilerplate), a headline, a byline, a date line, optional reader comments and
related headlines. After a base article its planted copies follow at once (so every prefix of the
corpus is a consistent corpus, and ``generate(n)`` is the first n documents of ``generate(m)``):

- ``exact``: the same text on the same site under another id and URL (a republication);
- ``syndicated``: the same headline and body on another site, with that site's boilerplate;
- ``edited``: the body with 1-3 sentence edits (a few words reworded, a sentence inserted or
  deleted), on another site or as an update on the same one;
- ``negative``: another article on the same event: same headline, one or two sentences quoted
  from the base, the rest its own. It must *not* be merged.

No site holds more than two documents of one group, so the cleaner's per-site line statistics
(``--site_min_docs`` 3) never strip a shared body line as site boilerplate.

Outputs (``write_corpus``): ``articles.jsonl`` (one article per line: id, url, title, published,
text), ``truth.json`` (every planted copy and negative with its base), ``html/<id>.html`` (the
first ``html`` articles as saved pages: the body in a page template with navigation, ads, share
bars, an aside, comments and a footer) with ``html_truth.json`` (url and true paragraphs), and
``CorpusServer`` serves those pages and RSS feeds listing them from 127.0.0.1 for the fetch path.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import pathlib
import random
import re
import sys
import threading
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "tests" / "resources"
SEEDS = ROOT / "seeds"

DEFAULT_DOCS = 20_000
MAX_DOCS = 100_000
DEFAULT_SEED = 20240901
DEFAULT_HTML_PAGES = 1_000
# 400 sites: at 20,000 documents about 50 per site, enough for per-site line statistics to
# find each site's boilerplate, as on a real crawl of a few hundred outlets.
SITES = 400
# Planted copies, per base article (each drawn independently). About 6% of all documents
# are exact copies, 6% syndicated, 8% edited and 4% same-event negatives: news aggregation
# figures (10-30% of a crawl's articles are copies of another) at the low end.
EXACT_RATE = 0.08
SYNDICATED_RATE = 0.08
EDITED_RATE = 0.10
NEGATIVE_RATE = 0.05
MIN_PARAGRAPHS, MAX_PARAGRAPHS = 4, 15
SENTENCES_PER_PARAGRAPH = (2, 2, 3, 3, 4)
MAX_EDITS = 3
# Words shorter than this are not reworded: changing "the" or "a" is not an edit anyone makes.
MIN_REWORD_CHARS = 4
# The longest run of consecutive boilerplate lines taken as one widget block.
MAX_BLOCK_LINES = 6
COMMENTS_RATE = 0.15
CORPUS_START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

_SITE_WORDS = (
    ("daily", "morning", "evening", "global", "free", "national", "city", "metro", "valley", "coast"),
    ("herald", "post", "times", "tribune", "chronicle", "gazette", "observer", "dispatch", "ledger"),
    ("sentinel", "wire", "journal", "review", "monitor"),
)
_TLDS = (".com", ".net", ".org")
_FIRST = ("Anna", "James", "Maria", "David", "Sarah", "Omar", "Li", "Elena", "Tom", "Priya", "Kofi", "Ines")
_LAST = ("Walker", "Novak", "Haddad", "Chen", "Okafor", "Rossi", "Schmidt", "Kowalski", "Reyes", "Brennan")
# Stock strings of the most common CMS widgets (WordPress, Jetpack), as scrapers leave them.
_STOCK_BLOCKS = (
    (
        "Share this:",
        "Click to share on Twitter (Opens in new window)",
        "Click to share on Facebook (Opens in new window)",
    ),
    ("Like this:", "Like Loading..."),
    ("Share this article", "Facebook", "Twitter", "Email"),
    ("Subscribe to our newsletter", "Get the latest headlines delivered to your inbox every morning."),
)
_RELATED_HEADINGS = ("Related", "Related Posts", "You may also like", "More from this section")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
_ABBREVIATION_WORDS = (
    "mr mrs ms dr st gen sen rep gov lt col sgt capt prof jr sr inc co corp ltd vs no u.s u.k u.n "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")


# --- the pool of real text ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pool:
    sentences: tuple[str, ...]
    titles: tuple[str, ...]
    # Widget blocks: runs of consecutive boilerplate lines, by where they stood in their source.
    headers: tuple[tuple[str, ...], ...]
    middles: tuple[tuple[str, ...], ...]
    footers: tuple[tuple[str, ...], ...]


def split_sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences: split after . ! ? before a capital, not after an abbreviation."""
    text = _SPACES.sub(" ", paragraph).strip()
    sentences, start = [], 0
    for found in _SENTENCE_END.finditer(text):
        before = text[start : found.start()].rsplit(" ", 1)[-1].lower().rstrip(".")
        if before in _ABBREVIATIONS or (len(before) == 1 and before.isalpha()):
            continue
        sentences.append(text[start : found.end()].strip())
        start = found.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def _good_sentence(sentence: str) -> bool:
    words = sentence.split()
    return 5 <= len(words) <= 60 and "http" not in sentence and sentence[:1].isupper()


def _labelled_lines(text: str, keep: set[int]) -> list[tuple[int, str, bool]]:
    """(line number, line, is body) for each non-blank line."""
    return [(n, line.strip(), n in keep) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _blocks(lines: list[tuple[int, str, bool]], skip: set[int]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Runs of consecutive boilerplate lines, each tagged header, middle or footer."""
    body = [n for n, _, is_body in lines if is_body]
    if not body:
        return
    run: list[str] = []
    position = "header"
    for n, line, is_body in lines + [(10**9, "", True)]:
        if is_body or n in skip:
            if run:
                yield position, tuple(run[:MAX_BLOCK_LINES])
                run = []
            if is_body:
                position = "footer" if n >= body[-1] else "middle"
            continue
        run.append(line)


def load_pool(root: pathlib.Path = ROOT) -> Pool:
    """The real sentences, headlines and boilerplate blocks shipped in the repository."""
    resources = root / "tests" / "resources"
    paragraphs: list[str] = []
    titles: list[str] = []
    blocks: dict[str, list[tuple[str, ...]]] = {"header": [], "middle": [], "footer": []}

    truth = json.loads((resources / "html_dev" / "ground_truth.json").read_text(encoding="utf-8"))
    for page in truth["pages"].values():
        paragraphs.extend(page["paragraphs"])
    topics = json.loads((resources / "topic_dev.json").read_text(encoding="utf-8"))
    for item in topics["items"]:
        paragraphs.append(item["text"])
        titles.append(_SPACES.sub(" ", item["title"]).strip())
    gold = json.loads((resources / "seeds_gold.json").read_text(encoding="utf-8"))
    for name, labels in gold["documents"].items():
        text = (root / "seeds" / name).read_text(encoding="utf-8")
        lines = _labelled_lines(text, set(labels["body"]))
        paragraphs.extend(line for _, line, is_body in lines if is_body)
        if labels.get("title"):
            titles.append(labels["title"])
        for position, block in _blocks(lines, set(labels["title_lines"]) | set(labels["either"])):
            blocks[position].append(block)
    text_dev = json.loads((resources / "text_dev.json").read_text(encoding="utf-8"))
    for doc in text_dev["documents"]:
        lines = _labelled_lines(doc["content"], set(doc["labels"]["B"]))
        paragraphs.extend(line for _, line, is_body in lines if is_body)
        if doc.get("title"):
            titles.append(doc["title"])
        skip = set(doc["labels"]["T"]) | set(doc["labels"]["E"])
        for position, block in _blocks(lines, skip):
            blocks[position].append(block)

    sentences = dict.fromkeys(s for p in paragraphs for s in split_sentences(p) if _good_sentence(s))
    blocks["footer"].extend(_STOCK_BLOCKS)
    return Pool(
        sentences=tuple(sentences),
        titles=tuple(dict.fromkeys(t for t in titles if 3 <= len(t.split()) <= 25)),
        headers=tuple(dict.fromkeys(blocks["header"])),
        middles=tuple(dict.fromkeys(b for b in blocks["middle"] if len(b) <= 2)),
        footers=tuple(dict.fromkeys(blocks["footer"])),
    )


# --- sites and articles ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Site:
    host: str
    header: tuple[str, ...]
    middle: tuple[str, ...]
    footer: tuple[tuple[str, ...], ...]
    related_heading: str
    template: int


@dataclasses.dataclass
class Doc:
    id: str
    url: str
    site: Site
    title: str
    author: str
    published: dt.datetime
    # The body as paragraphs of sentences: what dedup should compare.
    body: list[list[str]]
    kind: str = "base"
    of: str | None = None
    edits: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> list[str]:
        return [" ".join(sentences) for sentences in self.body]

    def text(self) -> str:
        """The article as a scraper leaves it: header widgets, headline, byline, date, body, footer."""
        date_line = f"{_MONTHS[self.published.month - 1]} {self.published.day}, {self.published.year}"
        lines = [*self.site.header, self.title, f"By {self.author}", date_line]
        paragraphs = self.paragraphs
        middle = len(paragraphs) // 2
        body = paragraphs[:middle] + list(self.site.middle) + paragraphs[middle:]
        footer = [line for block in self.site.footer for line in block]
        related = [self.site.related_heading, *self.related] if self.related else []
        return "\n\n".join([*lines, *body, *footer, *related, *self.comments])

    def record(self) -> dict:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "published": self.published.isoformat(),
            "text": self.text(),
        }


def make_sites(pool: Pool, rng: random.Random, count: int = SITES) -> list[Site]:
    names = [a + b for a in _SITE_WORDS[0] for b in _SITE_WORDS[1] + _SITE_WORDS[2]]
    rng.shuffle(names)
    sites = []
    for index in range(count):
        name = names[index % len(names)]
        host = f"www.{name}{_TLDS[index // len(names) % len(_TLDS)]}"
        if index >= len(names) * len(_TLDS):
            host = f"www.{name}{index}.com"
        footer = tuple(rng.sample(pool.footers, k=rng.randint(1, 3)))
        sites.append(
            Site(
                host=host,
                header=rng.choice(pool.headers) if rng.random() < 0.7 else (),
                middle=rng.choice(pool.middles) if pool.middles and rng.random() < 0.4 else (),
                footer=footer,
                related_heading=rng.choice(_RELATED_HEADINGS),
                template=index % 4,
            )
        )
    return sites


class _SentenceStream:
    """Real sentences in a shuffled order, reshuffled at each pass over the pool."""

    def __init__(self, sentences: tuple[str, ...], rng: random.Random) -> None:
        self._sentences = list(sentences)
        self._rng = rng
        self._order: list[str] = []

    def take(self) -> str:
        if not self._order:
            self._order = self._sentences[:]
            self._rng.shuffle(self._order)
        return self._order.pop()


def _slug(title: str) -> str:
    return "-".join(_WORD.findall(title.lower())[:8]) or "story"


def _url(site: Site, published: dt.datetime, title: str, doc_id: str, variant: str = "") -> str:
    return f"https://{site.host}/{published:%Y/%m/%d}/{_slug(title)}-{doc_id}{variant}"


def _reword(sentence: str, stream: _SentenceStream, rng: random.Random) -> str:
    """The sentence with one to three of its words replaced by words of another real sentence."""
    words = sentence.split(" ")
    slots = [i for i, w in enumerate(words) if sum(ch.isalpha() for ch in w) >= MIN_REWORD_CHARS]
    slots = slots or list(range(len(words)))
    donors = [w for w in stream.take().split(" ") if sum(ch.isalpha() for ch in w) >= MIN_REWORD_CHARS]
    for i in rng.sample(slots, k=min(len(slots), rng.randint(1, 3))):
        if donors:
            words[i] = donors.pop(rng.randrange(len(donors)))
    return " ".join(words)


def edit_body(
    body: list[list[str]], stream: _SentenceStream, rng: random.Random
) -> tuple[list[list[str]], tuple[str, ...]]:
    """1-3 sentence edits of a body: a sentence reworded, a sentence inserted, a sentence deleted."""
    body = [list(sentences) for sentences in body]
    edits = []
    for _ in range(rng.randint(1, MAX_EDITS)):
        op = rng.choice(("reword", "insert", "delete"))
        p = rng.randrange(len(body))
        if op == "delete" and len(body[p]) < 2:
            op = "reword"
        s = rng.randrange(len(body[p]))
        if op == "reword":
            body[p][s] = _reword(body[p][s], stream, rng)
        elif op == "insert":
            body[p].insert(s, stream.take())
        else:
            del body[p][s]
        edits.append(op)
    return body, tuple(edits)


class Generator:
    """Documents in a fixed order for a fixed seed: each base article, then its planted copies."""

    def __init__(self, pool: Pool | None = None, seed: int = DEFAULT_SEED) -> None:
        self.pool = pool or load_pool()
        self.rng = random.Random(seed)
        self.sites = make_sites(self.pool, self.rng)
        self.stream = _SentenceStream(self.pool.sentences, self.rng)
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"n{self.count:06d}"

    def _body(self) -> list[list[str]]:
        rng = self.rng
        return [
            [self.stream.take() for _ in range(rng.choice(SENTENCES_PER_PARAGRAPH))]
            for _ in range(rng.randint(MIN_PARAGRAPHS, MAX_PARAGRAPHS))
        ]

    def _extras(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        rng = self.rng
        related = tuple(rng.sample(self.pool.titles, k=3)) if rng.random() < 0.5 else ()
        comments = ()
        if rng.random() < COMMENTS_RATE:
            comments = tuple(self.stream.take() for _ in range(rng.randint(2, 6)))
        return related, comments

    def _other_site(self, taken: set[str]) -> Site:
        while True:
            site = self.rng.choice(self.sites)
            if site.host not in taken:
                return site

    def group(self) -> list[Doc]:
        """One base article and its planted copies."""
        rng = self.rng
        site = rng.choice(self.sites)
        published = CORPUS_START + dt.timedelta(seconds=rng.randrange(365 * 86400))
        title = rng.choice(self.pool.titles)
        author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        related, comments = self._extras()
        doc_id = self._id()
        base = Doc(
            doc_id, _url(site, published, title, doc_id), site, title, author, published, self._body(),
            related=related, comments=comments,
        )  # fmt: skip
        docs = [base]
        taken = {site.host}
        # At most two documents of a group per site: the base's site takes an exact copy or an update.
        site_free = True
        if rng.random() < EXACT_RATE:
            copy_id = self._id()
            # The same text, date line included: the copy states the base's date.
            url = _url(site, published, title, copy_id, "/amp")
            docs.append(dataclasses.replace(base, id=copy_id, url=url, kind="exact", of=doc_id))
            site_free = False
        if rng.random() < SYNDICATED_RATE:
            other = self._other_site(taken)
            taken.add(other.host)
            copy_id = self._id()
            later = published + dt.timedelta(minutes=rng.randint(10, 48 * 60))
            related, comments = self._extras()
            docs.append(
                Doc(
                    copy_id,
                    _url(other, later, title, copy_id),
                    other,
                    title,
                    author,
                    later,
                    [list(p) for p in base.body],
                    kind="syndicated",
                    of=doc_id,
                    related=related,
                    comments=comments,
                )  # fmt: skip
            )
        if rng.random() < EDITED_RATE:
            if site_free and rng.random() < 0.5:
                where = site
            else:
                where = self._other_site(taken)
                taken.add(where.host)
            copy_id = self._id()
            later = published + dt.timedelta(minutes=rng.randint(10, 72 * 60))
            body, edits = edit_body(base.body, self.stream, rng)
            related, comments = self._extras()
            docs.append(
                Doc(
                    copy_id,
                    _url(where, later, title, copy_id),
                    where,
                    title,
                    author,
                    later,
                    body,
                    kind="edited",
                    of=doc_id,
                    edits=edits,
                    related=related,
                    comments=comments,
                )  # fmt: skip
            )
        if rng.random() < NEGATIVE_RATE:
            other = self._other_site(taken)
            taken.add(other.host)
            copy_id = self._id()
            later = published + dt.timedelta(minutes=rng.randint(0, 24 * 60))
            body = self._body()
            quoted = [s for p in base.body for s in p]
            for sentence in rng.sample(quoted, k=min(len(quoted), rng.randint(1, 2))):
                body[rng.randrange(len(body))].insert(0, sentence)
            related, comments = self._extras()
            author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            docs.append(
                Doc(
                    copy_id,
                    _url(other, later, title, copy_id),
                    other,
                    title,
                    author,
                    later,
                    body,
                    kind="negative",
                    of=doc_id,
                    related=related,
                    comments=comments,
                )  # fmt: skip
            )
        return docs


def generate(n: int = DEFAULT_DOCS, seed: int = DEFAULT_SEED, pool: Pool | None = None) -> Iterator[Doc]:
    """The first ``n`` documents of the corpus for ``seed``."""
    if not 0 < n <= MAX_DOCS:
        raise ValueError(f"--docs must be between 1 and {MAX_DOCS}")
    gen = Generator(pool, seed)
    produced = 0
    while produced < n:
        for doc in gen.group():
            if produced == n:
                return
            produced += 1
            yield doc


# --- writing -----------------------------------------------------------------------------


def truth_record(doc: Doc) -> dict:
    return {"id": doc.id, "kind": doc.kind, "of": doc.of, "site": doc.site.host, "edits": list(doc.edits)}


def write_corpus(
    out: pathlib.Path,
    docs: int = DEFAULT_DOCS,
    *,
    html_pages: int = DEFAULT_HTML_PAGES,
    seed: int = DEFAULT_SEED,
    pool: Pool | None = None,
) -> dict:
    """Writes ``articles.jsonl``, ``truth.json``, ``html/`` and ``html_truth.json``; returns the summary."""
    from corpus_pages import page_html

    out.mkdir(parents=True, exist_ok=True)
    pool = pool or load_pool()
    pages_dir = out / "html"
    pages_dir.mkdir(exist_ok=True)
    page_rng = random.Random(seed + 1)
    planted: list[dict] = []
    kinds: dict[str, int] = {}
    page_truth: dict[str, dict] = {}
    words = 0
    with (out / "articles.jsonl").open("w", encoding="utf-8") as jsonl:
        for n, doc in enumerate(generate(docs, seed, pool)):
            jsonl.write(json.dumps(doc.record(), ensure_ascii=False) + "\n")
            kinds[doc.kind] = kinds.get(doc.kind, 0) + 1
            words += sum(len(p.split()) for p in doc.paragraphs)
            if doc.kind != "base":
                planted.append(truth_record(doc))
            if n < html_pages:
                name = f"{doc.id}.html"
                (pages_dir / name).write_text(page_html(doc, page_rng, pool.titles), encoding="utf-8")
                page_truth[name] = {"id": doc.id, "url": doc.url, "paragraphs": doc.paragraphs}
    summary = {
        "docs": docs,
        "seed": seed,
        "kinds": dict(sorted(kinds.items())),
        "mean_body_words": round(words / docs, 1),
        "html_pages": len(page_truth),
        "pool": {"sentences": len(pool.sentences), "titles": len(pool.titles), "sites": SITES},
    }
    (out / "truth.json").write_text(json.dumps({**summary, "planted": planted}, indent=1), encoding="utf-8")
    (out / "html_truth.json").write_text(
        json.dumps({"pages": page_truth}, ensure_ascii=False), encoding="utf-8"
    )
    return summary


def read_truth(out: pathlib.Path) -> dict:
    return json.loads((out / "truth.json").read_text(encoding="utf-8"))


def prefix_truth(truth: dict, ids: set[str]) -> list[dict]:
    """The planted records of a corpus prefix (a copy always follows its base)."""
    return [p for p in truth["planted"] if p["id"] in ids]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="Write a corpus.")
    gen.add_argument("--docs", type=int, default=DEFAULT_DOCS, help=f"Documents (at most {MAX_DOCS}).")
    gen.add_argument("--out", required=True, type=pathlib.Path)
    gen.add_argument(
        "--html", type=int, default=DEFAULT_HTML_PAGES, help="Saved pages (the first N articles)."
    )
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    serve = sub.add_parser("serve", help="Serve a corpus's pages and feeds on 127.0.0.1 until Ctrl-C.")
    serve.add_argument("corpus", type=pathlib.Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        print(json.dumps(write_corpus(args.out, args.docs, html_pages=args.html, seed=args.seed), indent=1))
        return 0
    from corpus_server import CorpusServer

    with CorpusServer(args.corpus) as server:
        print("\n".join(server.feed_urls), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
