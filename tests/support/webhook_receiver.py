"""A small HTTP server that receives Event Webhook POSTs, for the tests: it keeps each request's
headers and raw body, and answers the statuses it is told to (200 once they run out)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes  # as received: what a signature is verified over
    status: int  # what the receiver answered
    at: float  # time.monotonic() when it arrived

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)

    @property
    def ids(self) -> list[str]:
        return [e["sg_event_id"] for e in self.events]


class WebhookReceiver:
    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.statuses: deque[int] = deque()  # answered in order, then 200
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    post = Post(self.path, dict(self.headers), body, status, time.monotonic())
                    receiver.posts.append(post)
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/events"

    def wait_for(self, count: int, timeout: float = 5) -> list[Post]:
        """The first `count` posts, once they have arrived (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.posts) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.posts)} of {count} webhook posts arrived"
                self._cond.wait(left)
            return list(self.posts[:count])

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
