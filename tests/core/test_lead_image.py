"""The lead image of a page: meta tags, JSON-LD, else the first large in-article image."""

import lxml.html

from transforms.core.lead_image import first_large_image, lead_image, preferred_site_name

URL = "https://news.example.org/2026/11/ferry"


def tree(body: str):
    return lxml.html.fromstring(f"<html><head></head><body>{body}</body></html>")


def test_og_image_first_and_made_absolute():
    meta = {"og:image": ["/img/ferry.jpg"], "twitter:image": ["https://cdn.example.org/t.jpg"]}
    ld = [{"@type": "NewsArticle", "image": "https://cdn.example.org/ld.jpg"}]
    assert lead_image(meta, ld, tree(""), URL) == "https://news.example.org/img/ferry.jpg"


def test_json_ld_image_object_and_list():
    ld = [{"@type": "NewsArticle", "image": [{"@type": "ImageObject", "url": "//cdn.example.org/a.jpg"}]}]
    assert lead_image({}, ld, tree(""), URL) == "https://cdn.example.org/a.jpg"
    assert lead_image({}, [{"image": {"contentUrl": "b.jpg"}}], None, URL) == (
        "https://news.example.org/2026/11/b.jpg"
    )


def test_first_large_in_article_image_skips_logos_pixels_and_outside_images():
    body = (
        "<header><img src='/masthead-photo.jpg' width='1200'></header>"
        "<article><img src='/logo.png' width='600'>"
        "<img src='/track.gif' width='1' height='1'>"
        "<img src='data:image/gif;base64,R0lGOD' data-src='/lazy/small.jpg' width='80'>"
        "<img src='/inline/thumb.jpg' width='200'>"
        "<figure><img src='data:image/gif;base64,R0lGOD' data-src='/photos/harbour.jpg'></figure>"
        "<img src='/photos/later.jpg' width='900'></article>"
    )
    assert first_large_image(tree(body), URL) == "https://news.example.org/photos/harbour.jpg"


def test_srcset_width_counts_and_no_image_is_none():
    body = "<main><img src='/a.jpg' srcset='/a-320.jpg 320w, /a-1024.jpg 1024w'></main>"
    assert first_large_image(tree(body), URL) == "https://news.example.org/a.jpg"
    assert lead_image({}, [], tree("<article><p>No pictures.</p></article>"), URL) is None
    # A relative image without a page URL cannot be made absolute: no image.
    assert lead_image({"og:image": ["/img/x.jpg"]}, [], None, None) is None


def test_site_name_prefers_the_page_unless_it_is_only_a_host():
    assert preferred_site_name("The Gazette", "Gazette RSS", URL) == "The Gazette"
    assert preferred_site_name("news.example.org", "Gazette RSS", URL) == "Gazette RSS"
    assert preferred_site_name("127.0.0.1:8080", "Wire", "http://127.0.0.1:8080/a") == "Wire"
    assert preferred_site_name("example.org", None, URL) == "example.org"
    assert preferred_site_name(None, None, URL) is None
