"""A benchmark corpus's pages and RSS feeds on 127.0.0.1, for the fetch path's benchmark."""

from __future__ import annotations

import datetime as dt
import gzip
import html
import http.server
import json
import pathlib
import threading

# Feeds the pages are shared out between, in turn.
FEED_SECTIONS = 10


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def rss_feed(title: str, link: str, items: list[dict]) -> bytes:
    entries = "".join(
        f"<item><title>{_e(i['title'])}</title><link>{_e(i['link'])}</link>"
        f'<guid isPermaLink="true">{_e(i["link"])}</guid><pubDate>{i["pubDate"]}</pubDate>'
        f"<description>{_e(i['description'])}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{_e(title)}</title><link>{_e(link)}</link><description>{_e(title)}</description>"
        f"{entries}</channel></rss>\n"
    ).encode()


class CorpusServer:
    """The corpus's pages and RSS feeds on 127.0.0.1 (port 0): ``/feeds/section-<k>.xml``
    (``FEED_SECTIONS`` feeds sharing the pages out in turn), ``/pages/<id>.html``, ``/robots.txt``."""

    def __init__(self, corpus: pathlib.Path, pages: int | None = None, sections: int = FEED_SECTIONS) -> None:
        self.corpus = corpus
        truth = json.loads((corpus / "html_truth.json").read_text(encoding="utf-8"))["pages"]
        names = sorted(truth)[:pages] if pages is not None else sorted(truth)
        records = {}
        with (corpus / "articles.jsonl").open(encoding="utf-8") as jsonl:
            wanted = {truth[name]["id"] for name in names}
            for line in jsonl:
                record = json.loads(line)
                if record["id"] in wanted:
                    records[record["id"]] = record
                    if len(records) == len(wanted):
                        break
        self.page_names = names
        self._records = records
        self._truth = truth
        self._sections = sections
        self._feeds: dict[str, bytes] = {}
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._build_feeds()

    def _build_feeds(self) -> None:
        items: dict[int, list[dict]] = {k: [] for k in range(self._sections)}
        for n, name in enumerate(self.page_names):
            record = self._records[self._truth[name]["id"]]
            published = dt.datetime.fromisoformat(record["published"])
            items[n % self._sections].append(
                {
                    "title": record["title"],
                    "link": f"{self.base_url}/pages/{name}",
                    "pubDate": published.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                    "description": self._truth[name]["paragraphs"][0][:300],
                }
            )
        for k, entries in items.items():
            if entries:
                path = f"/feeds/section-{k}.xml"
                self._feeds[path] = rss_feed(f"Section {k}", self.base_url + path, entries)

    @property
    def feed_urls(self) -> list[str]:
        return [self.base_url + path for path in sorted(self._feeds)]

    def start(self) -> CorpusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CorpusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if path in self._feeds:
            return 200, "application/rss+xml", self._feeds[path]
        if path.startswith("/pages/"):
            name = path[len("/pages/") :]
            if name in self._truth and "/" not in name:
                return 200, "text/html; charset=utf-8", (self.corpus / "html" / name).read_bytes()
        return 404, "text/plain", b"not found"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
                status, content_type, body = server._answer(self.path.split("?", 1)[0])
                gzipped = "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024
                if gzipped:
                    body = gzip.compress(body, compresslevel=5)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if gzipped:
                    self.send_header("Content-Encoding", "gzip")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                pass

        return Handler
