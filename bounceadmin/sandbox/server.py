"""HTTP plumbing of the sandbox: a threaded HTTP/1.1 server plus the test controls.

It plays both of SendGrid's API hosts, each on a port of its own over the same store: the global
one (`url`, `port`) and the EU region's (`eu_url`, `eu_port`; api.eu.sendgrid.com upstream). A
call on behalf of a subuser of the other region is refused (api.py `wrong_region`), so routing
is tested; each host has rate limits of its own. The controls and the page answer on both.

`SandboxServer` is what tests and the CLI use. The v3 behaviour lives in api.py (the Event
Webhook's settings in webhookapi.py), the /_sandbox/ control endpoints in control.py, the page at
/ in index.py; this module owns sockets, latency, faults and the request log, and starts and stops
the threads beside the server: the Event Webhook's delivery (delivery.py) and the demo trickle.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from bounceadmin.sandbox import api, asm, delivery, lists, webhookapi
from bounceadmin.sandbox.api import DEFAULT_SCOPES, Api, Request, Response, error_response
from bounceadmin.sandbox.delivery import Delivery
from bounceadmin.sandbox.faults import Fault, FaultQueue
from bounceadmin.sandbox.http import BAD_JSON_BODY, CONTROL_PREFIX, _HTTPServer  # noqa: F401
from bounceadmin.sandbox.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW, RateLimiter
from bounceadmin.sandbox.store import SandboxStore
from bounceadmin.sandbox.trickle import Trickle

DEFAULT_API_KEY = "SG.sandbox-key"
FAULT_MESSAGES = {
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


class SandboxServer:
    """A local stand-in for SendGrid's v3 API, with latency, faults and a request log."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        eu_port: int = 0,
        latency_ms: float = 0,
        rate_limit: int = DEFAULT_LIMIT,
        rate_window: float = DEFAULT_WINDOW,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        verbose: bool = False,
        request_log_size: int = 10_000,
        webhook_interval: float = delivery.DEFAULT_INTERVAL,
        webhook_batch_size: int = delivery.DEFAULT_BATCH_SIZE,
        webhook_duplicate_rate: float = delivery.DEFAULT_DUPLICATE_RATE,
        webhook_retry_seconds: float = delivery.DEFAULT_RETRY_SECONDS,
        webhook_max_allowed: int | None = None,
        trickle_seconds: float = 0,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.host = host
        self.port = port
        self.eu_port = eu_port
        self.latency_ms = float(latency_ms)
        self.verbose = verbose
        self.limiter = RateLimiter(rate_limit, rate_window)
        self.api = Api(
            store,
            api_key=api_key,
            limiter=self.limiter,
            scopes=scopes,
            routes=(*api.ROUTES, *lists.ROUTES, *asm.ROUTES, *webhookapi.ROUTES),
        )
        self.delivery = Delivery(
            store,
            interval=webhook_interval,
            batch_size=webhook_batch_size,
            duplicate_rate=webhook_duplicate_rate,
            retry_seconds=webhook_retry_seconds,
        )
        if webhook_max_allowed is not None:
            self.delivery.configure(max_allowed=webhook_max_allowed)
        self.trickle = Trickle(store, trickle_seconds)
        self.faults = FaultQueue()
        # Bounded so a long benchmark cannot eat memory; tests read only recent entries.
        self._log: deque[dict[str, Any]] = deque(maxlen=request_log_size)
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._eu_httpd: _HTTPServer | None = None
        self._eu_thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        try:
            self._eu_httpd = _HTTPServer((self.host, self.eu_port), self, region="eu")
        except OSError:
            self._httpd.server_close()
            self._httpd = None
            raise
        self.port = self._httpd.server_port
        self.eu_port = self._eu_httpd.server_port
        self._thread = self._serve(self._httpd)
        self._eu_thread = self._serve(self._eu_httpd)
        self.delivery.start()
        self.trickle.start()
        return self

    def _serve(self, httpd: _HTTPServer) -> threading.Thread:
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"sandbox:{httpd.server_port}",
            daemon=True,
        )
        thread.start()
        return thread

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.trickle.stop()
        self.delivery.stop()
        self._stopping.set()  # wakes handlers sleeping in latency or timeout faults
        for httpd, thread in ((self._httpd, self._thread), (self._eu_httpd, self._eu_thread)):
            if httpd is not None:
                self._stop_listener(httpd, thread)
        self._httpd = self._thread = self._eu_httpd = self._eu_thread = None

    def _stop_listener(self, httpd: _HTTPServer, thread: threading.Thread | None) -> None:
        # shutdown() waits for the accept loop's next poll; a throwaway connection wakes it now.
        waiter = threading.Thread(target=httpd.shutdown, daemon=True)
        waiter.start()
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104
        with contextlib.suppress(OSError), socket.create_connection((host, httpd.server_port), 0.5):
            pass
        waiter.join()
        httpd.close_open_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The global API host's address (api.sendgrid.com upstream)."""
        if self._httpd is None:
            raise RuntimeError("sandbox server is not started")
        return self._address(self.port)

    @property
    def eu_url(self) -> str:
        """The EU region's API host's address (api.eu.sendgrid.com upstream)."""
        if self._eu_httpd is None:
            raise RuntimeError("sandbox server is not started")
        return self._address(self.eu_port)

    def _address(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def headers(self, subuser: str | None = None) -> dict[str, str]:
        """Request headers for a client of this sandbox (Bearer key, optional on-behalf-of)."""
        out = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if subuser is not None:
            out["on-behalf-of"] = subuser
        return out

    # --- controls -------------------------------------------------------------------------------

    def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        subuser: str | None = None,
        seconds: float | None = None,
        reset: int | None = None,
        after: int = 0,
        remove: int | None = None,
        emails: list[str] | None = None,
        add: list[dict[str, Any]] | None = None,
    ) -> Fault:
        fault = Fault(
            kind, count, status, method, path, subuser, seconds, reset,
            after=after, remove=remove, emails=emails, add=add,
        )  # fmt: skip
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, ms: float) -> None:
        if ms < 0:
            raise ValueError("latency must not be negative")
        self.latency_ms = float(ms)

    def set_rate_limit(self, limit: int, window: float) -> None:
        self.limiter.configure(limit, window)

    def set_scopes(self, scopes: Sequence[str]) -> None:
        self.api.scopes = tuple(scopes)

    def config(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": self.limiter.limit,
            "rate_window": self.limiter.window,
            "scopes": list(self.api.scopes),
        }

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Recorded v3 requests, oldest first (copies; the Authorization value is never kept)."""
        with self._log_lock:
            return [dict(e) for e in self._log]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def record(self, req: Request, subuser: str | None, fault: Fault | None) -> dict[str, Any]:
        body: Any = None
        if req.body:
            try:
                body = req.json()
            except (UnicodeDecodeError, ValueError):
                body = req.body.decode("utf-8", "replace")
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": req.method,
            "path": req.path,
            "query": {k: v[0] if len(v) == 1 else v for k, v in req.query.items()},
            "on_behalf_of": subuser,
            "region": req.region,  # the host it came to
            "auth_valid": self.api.auth_valid(req),
            "body": body,
            "status": None,  # filled in once answered; stays None for a reset
            "fault": fault.kind if fault else None,
        }
        with self._log_lock:
            self._log.append(entry)
        return entry

    def fault_response(self, fault: Fault) -> Response:
        status = fault.status or 503
        resp = error_response(status, FAULT_MESSAGES.get(status, "injected fault"))
        state = self.limiter.peek("fault")
        headers = state.headers()
        if fault.reset is not None:
            headers["X-RateLimit-Reset"] = str(fault.reset)
        elif fault.seconds is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time() + fault.seconds + 0.999))
        if status == 429:
            headers["X-RateLimit-Remaining"] = "0"
        resp.headers.update(headers)
        return resp
