"""site_name and image through the extract stage: the page's metadata, else the feed's title."""

import datetime as dt

from schemas.records import Article
from tests.helpers import gold_body, page
from transforms.core.extract import extract_document

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
URL = "https://news.example.org/world/siege-broken"


def _article(html: bytes, site_name=None) -> Article:
    return Article(
        id="a",
        source="feed",
        text_source="page",
        ingested_at=NOW,
        url=URL,
        html=html.decode(),
        site_name=site_name,
    )


def test_page_metadata_gives_site_name_and_absolute_lead_image():
    head = (
        "<meta property='og:site_name' content='The Gazette'>"
        "<meta property='og:image' content='/photos/deir-ezzor.jpg'>"
    )
    html = page("ISIS Siege of Deir Ezzor, Syria Broken", gold_body("003"), "2017-09-06T08:00:00Z", head)
    article = extract_document(_article(html, site_name="Gazette RSS"))
    assert article.site_name == "The Gazette"
    assert article.image == "https://news.example.org/photos/deir-ezzor.jpg"


def test_json_ld_publisher_and_image_else_feed_title():
    head = (
        '<script type=\'application/ld+json\'>{"@context": "https://schema.org", "@type": "NewsArticle",'
        ' "headline": "Siege broken", "image": {"@type": "ImageObject", "url": "https://cdn.example.org/s.jpg"},'
        ' "publisher": {"@type": "Organization", "name": "Deir Ezzor Daily"}}</script>'
    )
    html = page("ISIS Siege of Deir Ezzor, Syria Broken", gold_body("003"), None, head)
    article = extract_document(_article(html, site_name="Gazette RSS"))
    assert article.site_name == "Deir Ezzor Daily"
    assert article.image == "https://cdn.example.org/s.jpg"
    bare = extract_document(
        _article(page("ISIS Siege of Deir Ezzor, Syria Broken", gold_body("003")), "Wire")
    )
    assert bare.site_name == "Wire" and bare.image is None
