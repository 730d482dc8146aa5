"""A real HTTP server on 127.0.0.1 for feed and page tests, with programmable routes.

Use the ``feed_server`` fixture (``tests/conftest.py``):

    def test_poll(feed_server):
        url = feed_server.route("/feed.xml", RSS_BYTES, content_type="application/rss+xml")
        ...  # fetch url
        assert feed_server.count("/feed.xml") == 1

A route answers with a status, headers, a body, an optional delay before the headers
and an optional redirect. ``route(path, *responses)`` with several ``Response`` objects
(or dicts of their fields) answers them in turn and repeats the last one, e.g.
``route("/feed.xml", {"status": 503}, {"body": rss, "content_type": "application/rss+xml"})``. Unknown paths
get a 404. Every request is recorded (path and headers) for assertions.
"""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time
import urllib.parse


@dataclasses.dataclass
class Response:
    """One programmed answer."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str | None = None
    # Seconds to wait before sending anything (for timeout tests).
    delay: float = 0.0
    # Location of a redirect (absolute or relative); the status defaults to 302 then.
    redirect: str | None = None
    # False: no Content-Length, the body ends when the connection closes.
    content_length: bool = True


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    # time.monotonic() at arrival, for spacing assertions.
    at: float


class FeedServer:
    """``http.server.ThreadingHTTPServer`` on 127.0.0.1, port 0, in a daemon thread."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Response]] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        # A short poll interval: shutdown() waits up to one interval, at every fixture teardown.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="feed-server", daemon=True
        )

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        # Wakes handlers sleeping in a delay so that teardown does not wait for them.
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(
        self,
        path: str,
        *responses: Response | dict[str, object] | bytes,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        redirect: str | None = None,
        content_length: bool = True,
    ) -> str:
        """Program ``path`` and return its absolute URL.

        Either pass ``Response`` objects or dicts of ``Response`` fields (answered in
        turn, the last repeated), or one body as bytes (or nothing) with the keyword options.
        """
        programmed = [
            r if isinstance(r, Response) else Response(**r)  # type: ignore[arg-type]
            for r in responses
            if not isinstance(r, bytes)
        ]
        if not programmed:
            body = responses[0] if responses else b""
            if redirect is not None and status == 200:
                status = 302
            programmed = [
                Response(
                    body=body,
                    status=status,
                    headers=dict(headers or {}),
                    content_type=content_type,
                    delay=delay,
                    redirect=redirect,
                    content_length=content_length,
                )
            ]
        with self._lock:
            self._routes[path] = programmed
        return self.url(path)

    def count(self, path: str) -> int:
        """How many requests reached ``path`` (query string ignored)."""
        with self._lock:
            return sum(1 for r in self.requests if urllib.parse.urlsplit(r.path).path == path)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if urllib.parse.urlsplit(r.path).path == path]

    def _next_response(self, raw_path: str) -> Response:
        path = urllib.parse.urlsplit(raw_path).path
        with self._lock:
            programmed = self._routes.get(raw_path) or self._routes.get(path)
            if not programmed:
                return Response(b"not found", status=404, content_type="text/plain")
            served = self._served.get(path, 0)
            self._served[path] = served + 1
            return programmed[min(served, len(programmed) - 1)]

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a body without Content-Length ends at close.
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
                with server._lock:
                    server.requests.append(
                        RecordedRequest(self.path, dict(self.headers.items()), time.monotonic())
                    )
                response = server._next_response(self.path)
                if response.delay and server._stopping.wait(response.delay):
                    return
                status = response.status
                if response.redirect is not None and status == 200:
                    status = 302
                try:
                    self.send_response(status)
                    if response.content_type:
                        self.send_header("Content-Type", response.content_type)
                    if response.redirect is not None:
                        self.send_header("Location", response.redirect)
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    if response.content_length:
                        self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    if status not in (204, 304):
                        self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a size cap or a timeout): expected in these tests.
                    pass

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                pass

        return Handler
