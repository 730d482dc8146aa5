"""A benchmark corpus's saved pages: each article inside a news site's page chrome.

Navigation mega-menus, teasers, inline scripts and styles, share bars, related headlines and
comment threads around the article body, in one of several layouts, so that both extractors
have real work to do. ``benchmarks/corpus.py`` writes them.
"""

from __future__ import annotations

import html
import json
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus import Doc


_SECTIONS = ("World", "Politics", "Business", "Tech", "Science", "Health", "Sport", "Culture", "Opinion")
# Inline analytics and consent scripts: real pages carry 10-100 KB of them, and both
# extractors have to parse past them.
_SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-@N@');(function(w,d,s,l,i){w[l]=w[l]||[];"
    "w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],"
    "j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;"
    "f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-@N@');\n"
)
_STYLE = ".c@N@{margin:0 auto;padding:@N@px;font:16px/1.5 Georgia,serif;color:#222}\n"
_LAYOUTS = (
    ("article", "div", "entry-content"),
    ("div", "section", "article-body"),
    ("article", "div", "story-text"),
    ("main", "div", "post-content"),
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _mega_menu(rng: random.Random, titles: tuple[str, ...]) -> str:
    """The site's navigation: every section with its sub-sections and a few featured stories."""
    menu = []
    for section in _SECTIONS:
        slug = section.lower()
        subs = "".join(
            f'<li class="menu-item"><a class="menu-link" href="/{slug}/{i}/">{_e(section)} {i}</a></li>'
            for i in range(rng.randint(8, 16))
        )
        featured = "".join(
            f'<li><a href="/{slug}/story-{rng.randrange(10**5)}"><img src="/img/{rng.randrange(10**6)}.jpg" '
            f'alt="" loading="lazy" width="120" height="80"><span>{_e(t)}</span></a></li>'
            for t in rng.sample(titles, 3)
        )
        menu.append(
            f'<li class="menu-section"><a href="/{slug}/">{section}</a><div class="dropdown">'
            f'<ul class="sub-menu">{subs}</ul><ul class="featured">{featured}</ul></div></li>'
        )
    return "".join(menu)


def _teasers(rng: random.Random, titles: tuple[str, ...], count: int) -> str:
    return "".join(
        f'<div class="card"><a href="/story/{rng.randrange(10**6)}"><picture><source '
        f'srcset="/img/{rng.randrange(10**6)}.webp" type="image/webp">'
        f'<img src="/img/{rng.randrange(10**6)}.jpg" '
        f'alt=""></picture><h3 class="card-title">{_e(t)}</h3></a><span class="card-meta">'
        f"{rng.randint(1, 23)} hours ago</span></div>"
        for t in rng.sample(titles, count)
    )


def page_html(doc: Doc, rng: random.Random, titles: tuple[str, ...]) -> str:
    """A saved news page: the body inside a template with the usual surroundings and page weight
    (navigation menus, teaser grids, inline scripts and styles, an embedded JSON state), about
    100-250 KB like the real pages of html_dev (median 280 KB)."""
    outer, inner, css = _LAYOUTS[doc.site.template]
    iso = doc.published.isoformat()
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": doc.title,
        "datePublished": iso,
        "author": {"@type": "Person", "name": doc.author},
        "publisher": {"@type": "Organization", "name": doc.site.host.removeprefix("www.")},
    }
    # Many sites embed the page's data for their client-side app (Next.js, Nuxt): the text again.
    state = {
        "props": {"page": {"id": doc.id, "title": doc.title, "body": doc.paragraphs, "ads": list(range(40))}}
    }
    nav = "".join(f'<li><a href="/{s.lower()}/">{s}</a></li>' for s in _SECTIONS)
    ticker = "".join(
        f'<li><a href="/story/{i}">{_e(t)}</a></li>' for i, t in enumerate(rng.sample(titles, 6))
    )
    icons = "".join(
        f'<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M{rng.randint(1, 9)} '
        + " ".join(f"L{rng.randint(0, 24)} {rng.randint(0, 24)}" for _ in range(30))
        + 'Z"/></svg>'
        for _ in range(rng.randint(10, 25))
    )
    paragraphs = doc.paragraphs
    parts = []
    for i, paragraph in enumerate(paragraphs):
        parts.append(f"<p>{_e(paragraph)}</p>")
        if i == 1:
            parts.append('<div class="ad-slot" data-ad="mpu"><span>Advertisement</span></div>')
        if i == len(paragraphs) // 2:
            parts.append(
                '<aside class="newsletter"><h4>Sign up for our morning briefing</h4>'
                '<p>Get the day\'s top stories in your inbox.</p><form><input type="email" '
                'placeholder="Your email"><button>Sign up</button></form></aside>'
            )
            parts.extend(f'<p class="inline-widget">{_e(line)}</p>' for line in doc.site.middle)
    most_read = "".join(
        f'<li><a href="/read/{i}">{_e(t)}</a></li>' for i, t in enumerate(rng.sample(titles, 5))
    )
    footer_blocks = "".join(
        '<div class="widget">' + "".join(f"<p>{_e(line)}</p>" for line in block) + "</div>"
        for block in doc.site.footer
    )
    comments = "".join(f'<li class="comment"><p>{_e(c)}</p></li>' for c in doc.comments)
    header_block = "".join(f"<p>{_e(line)}</p>" for line in doc.site.header)
    scripts = "".join(_SCRIPT.replace("@N@", str(rng.randrange(10**6))) for _ in range(rng.randint(30, 120)))
    styles = "".join(_STYLE.replace("@N@", str(i)) for i in range(rng.randint(200, 600)))
    footer_links = "".join(
        f'<li><a href="/{s.lower()}/{i}/">{s} {i}</a></li>'
        for s in _SECTIONS
        for i in range(rng.randint(4, 10))
    )
    description = doc.body[0][0] if doc.body and doc.body[0] else doc.title
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(doc.title)} | {_e(doc.site.host)}</title>"
        f'<meta name="description" content="{_e(description)}">'
        f'<meta property="og:title" content="{_e(doc.title)}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="{iso}">'
        f'<link rel="canonical" href="{_e(doc.url)}">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        f"<style>{styles}</style><script>{scripts}</script></head>\n<body>"
        f'<div class="icons" hidden>{icons}</div>'
        f'<header class="site-header"><div class="logo"><a href="/">{_e(doc.site.host)}</a></div>'
        f'<nav class="main-nav"><ul class="menu">{_mega_menu(rng, titles)}</ul></nav>'
        f'<div class="support">{header_block}</div>'
        f'<div class="ticker"><span>Breaking</span><ul>{ticker}</ul></div></header>\n'
        f'<{outer} class="story"><h1 class="headline">{_e(doc.title)}</h1>'
        f'<div class="byline">By <a rel="author" href="/author/">{_e(doc.author)}</a> '
        f'<time datetime="{iso}">{doc.published:%B %d, %Y}</time></div>'
        f'<ul class="share"><li><a href="#">Facebook</a></li><li><a href="#">Twitter</a></li>'
        f'<li><a href="#">Email</a></li></ul>'
        f'<{inner} class="{css}">{"".join(parts)}</{inner}>'
        f'<div class="tags">Filed under: <a href="/tag/news">News</a></div></{outer}>\n'
        f'<aside class="sidebar"><h3>Most read</h3><ol>{most_read}</ol></aside>'
        f'<section class="recommended"><h2>More stories</h2>'
        f'<div class="grid">{_teasers(rng, titles, 12)}</div></section>'
        f'<section class="comments"><h3>Comments</h3>{footer_blocks}<ol>{comments}</ol></section>'
        f'<footer class="site-footer"><ul>{nav}</ul><ul class="links">{footer_links}</ul>'
        f"<p>&copy; {doc.published.year} "
        f"{_e(doc.site.host)}. All rights reserved.</p><p>Terms of use | Privacy policy | Cookie settings</p>"
        f"</footer>"
        f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
        f"</body></html>\n"
    )
