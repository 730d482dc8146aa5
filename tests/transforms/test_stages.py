"""The Beam wrappers of the extract, clean and enrich stages, on TestPipeline."""

import datetime as dt
import gzip

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import Article
from tests.helpers import RESOURCES, local_pipeline, seed_text
from transforms.clean import CleanArticles, SiteMemoryRows
from transforms.core.enrich import enrich
from transforms.core.language import load_language_identifier
from transforms.enrich import EnrichArticles
from transforms.extract import ExtractArticles
from transforms.topics import load_topic_classifier

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
APNEWS_4_SLUG = "eu-farmers-nature-environment-climate-4d6714d00666fef0117a8e2ea5970fd5"
SITE_LINE = "Gazette Daily has served the valley since 1889 and is delivered every morning"


def doc(id_, text="", html=None, url=None, title=None):
    return Article(
        id=id_,
        source=f"{id_}.txt",
        text_source="seed_html" if html else "seed_text",
        ingested_at=NOW,
        text=text,
        html=html,
        url=url,
        title=title,
        run_id="r",
    )


def paragraph(topic: str, n: int) -> str:
    return (
        f"Report {n} on {topic}: officials in the city said on Monday that the {topic} plan would go ahead "
        f"after weeks of debate, and that residents could expect changes by the end of the year number {n}."
    )


def test_clean_articles_removes_lines_a_site_repeats_and_rejects_empty_bodies():
    docs = [
        doc(
            f"g{i}",
            f"{paragraph('budget', i)}\n\n{paragraph('schools', i + 10)}\n\n{SITE_LINE}",
            url=f"https://www.gazette.example/story-{i}",
        )
        for i in range(3)
    ]
    docs.append(doc("other", f"{paragraph('roads', 1)}\n\n{SITE_LINE}", url="https://elsewhere.example/a"))
    docs.append(doc("nothing", "Share this:\n\nTwitter\n\nFacebook"))
    with local_pipeline() as p:
        out = p | beam.Create(docs) | CleanArticles(site_min_docs=3)
        assert_that(
            out.articles
            | beam.Map(lambda a: (a.id, SITE_LINE in a.text, ("site_boilerplate", SITE_LINE) in a.removed)),
            equal_to([("g0", False, True), ("g1", False, True), ("g2", False, True), ("other", True, False)]),
            label="site lines",
        )
        assert_that(
            out.rejects | beam.Map(lambda r: (r.source, r.stage, r.reason)),
            equal_to([("nothing.txt", "clean", "empty_after_cleaning")]),
            label="rejects",
        )


def _rows_with_window(row, window=beam.DoFn.WindowParam):  # noqa: B008
    return (int(window.start), row["key"] == "", row["docs"])


def test_clean_articles_counts_a_site_s_lines_in_each_window_apart():
    # Three documents of one site in the first minute, two in the second: the footer is site
    # boilerplate (three documents) in the first window only, and each window's memory rows
    # count that window's documents.
    docs = [
        doc(f"w{i}", f"{paragraph('budget', i)}\n\n{paragraph('schools', i + 10)}\n\n{SITE_LINE}",
            url=f"https://www.gazette.example/story-{i}")
        for i in range(5)
    ]  # fmt: skip
    seconds = [0, 10, 20, 70, 80]
    with local_pipeline() as p:
        windowed = (
            p
            | beam.Create(list(zip(docs, seconds, strict=True)))
            | beam.MapTuple(lambda article, at: beam.window.TimestampedValue(article, at))
            | beam.WindowInto(beam.window.FixedWindows(60))
        )
        out = windowed | CleanArticles(site_min_docs=3)
        assert_that(
            out.articles | beam.Map(lambda a: (a.id, SITE_LINE in a.text)),
            equal_to([("w0", False), ("w1", False), ("w2", False), ("w3", True), ("w4", True)]),
            label="articles",
        )
        rows = out.articles | SiteMemoryRows(NOW)  # here every cleaned article is kept
        footer_rows = rows | beam.Filter(lambda row: row["docs"] > 1)
        assert_that(
            footer_rows | beam.Map(_rows_with_window),
            # Per window: the documents (key "") and the footer line, held by all of them.
            equal_to([(0, True, 3), (0, False, 3), (60, True, 2), (60, False, 2)]),
            label="site lines",
        )


def test_extract_articles_extracts_html_and_rejects_pages_without_a_body():
    page = gzip.decompress((RESOURCES / "html_dev" / "APNews_4.html.gz").read_bytes()).decode("utf-8")
    docs = [
        doc("page", html=page),
        doc("blank", html="<html><body><nav>Home</nav></body></html>"),
        doc("pdf", html="%PDF-1.7 " + "1 0 obj stream endstream endobj " * 200),
        doc("text", "Plain text passes through.", url="HTTP://Example.com/a/?utm_source=x"),
    ]
    p = local_pipeline()
    out = p | beam.Create(docs) | ExtractArticles()
    assert_that(
        out.articles | beam.Map(lambda a: (a.id, a.html is None, len(a.text) > 500, a.canonical_url)),
        # A saved page names its own URL (canonical link): that URL identifies it.
        equal_to(
            [
                ("page", True, True, "https://apnews.com/article/" + APNEWS_4_SLUG),
                ("text", True, False, "http://example.com/a"),
            ]
        ),
        label="articles",
    )
    assert_that(
        out.rejects | beam.Map(lambda r: (r.source, r.reason)),
        equal_to([("blank.txt", "no_article_body"), ("pdf.txt", "not_html")]),
        label="rejects",
    )
    result = p.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter())["counters"]
        if c.key.metric.name.startswith(("rejected", "extracted", "passed"))
    }
    assert counters == {
        "extracted": 1,
        "passed_text": 1,
        "rejected": 2,
        "rejected_no_article_body": 1,
        "rejected_not_html": 1,
    }


def test_enrich_articles_sets_date_topic_language_and_fingerprints():
    article = doc("s004", seed_text("004"))
    with local_pipeline() as p:
        out = p | beam.Create([article]) | EnrichArticles()
        assert_that(
            out
            | beam.Map(
                lambda a: (
                    str(a.published.date()),
                    a.date_source,
                    a.topic,
                    a.language,
                    len(a.minhash),
                    len(a.content_hash),
                    a.word_count > 100,
                )
            ),
            equal_to([("2017-09-05", "text_header", "conflict", "en", 512, 40, True)]),
        )


def test_enrich_articles_on_two_processes_gives_the_one_process_output():
    # 40 articles: over ChunkPool's MIN_SHARED_BATCH, so the batch is split over a spawned process.
    topics = ("football", "election", "vaccine", "earthquake")
    articles = [
        doc(
            f"a{n:02d}",
            "\n\n".join(paragraph(topics[n % 4], n + k) for k in range(4)),
            url=f"https://x.test/{n}",
        )
        for n in range(40)
    ]

    def view(a):
        return (a.id, a.published, a.topic, a.topics, a.language, a.content_hash, a.minhash, a.word_count)

    identifier, classifier = load_language_identifier(), load_topic_classifier()
    expected = [view(enrich(a, identifier=identifier, classifier=classifier)) for a in articles]
    for workers in (1, 2):
        with local_pipeline() as p:
            out = p | beam.Create(articles) | EnrichArticles(workers=workers, share_after=0) | beam.Map(view)
            assert_that(out, equal_to(expected), label=f"workers_{workers}")


def test_clean_articles_on_two_processes_gives_the_one_process_output():
    # 40 documents of one site with its footer, and two too short: the batch is shared.
    topics = ("football", "election", "vaccine", "earthquake")
    docs = [
        doc(
            f"c{n:02d}",
            "\n".join([paragraph(topics[n % 4], n), paragraph(topics[n % 4], n + 1), SITE_LINE]),
            url=f"https://gazette.test/{n}",
        )
        for n in range(40)
    ] + [
        doc("short1", "Too short.", url="https://gazette.test/s1"),
        doc("short2", "", url="https://x.test/s2"),
    ]

    for workers in (1, 2):
        with local_pipeline() as p:
            out = p | beam.Create(docs) | CleanArticles(site_min_docs=3, workers=workers, share_after=0)
            assert_that(
                out.articles | beam.Map(lambda a: (a.id, SITE_LINE in a.text, a.boilerplate_lines > 0)),
                equal_to([(f"c{n:02d}", False, True) for n in range(40)]),
                label=f"articles_{workers}",
            )
            assert_that(
                out.rejects | beam.Map(lambda r: (r.source, r.reason)),
                equal_to([("short1.txt", "empty_after_cleaning"), ("short2.txt", "empty_after_cleaning")]),
                label=f"rejects_{workers}",
            )
