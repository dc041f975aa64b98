"""HTTP plumbing of the sandbox: a threaded HTTP/1.1 server plus the test controls.

`SandboxServer` is what tests and the CLI use. The v3 behaviour lives in api.py (the Event
Webhook's settings in webhookapi.py), the /_sandbox/ control endpoints in control.py, the page at
/ in index.py; this module owns sockets, latency, faults and the request log, and starts and stops
the threads beside the server: the Event Webhook's delivery (delivery.py) and the demo trickle.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bounceadmin.sandbox import api, control, delivery, index, webhookapi
from bounceadmin.sandbox.api import DEFAULT_SCOPES, Api, Request, Response, error_response
from bounceadmin.sandbox.delivery import Delivery
from bounceadmin.sandbox.faults import Fault, FaultQueue
from bounceadmin.sandbox.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW, RateLimiter
from bounceadmin.sandbox.store import SandboxStore
from bounceadmin.sandbox.trickle import Trickle

DEFAULT_API_KEY = "SG.sandbox-key"
CONTROL_PREFIX = "/_sandbox"
BAD_JSON_BODY = b"<html><head><title>502 Bad Gateway</title></head><body>upstream</body></html>"
FAULT_MESSAGES = {
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def _guarded(handler: Callable[..., Response], *args: Any) -> Response:
    # A sandbox bug should look like an upstream 500 to the client (and be loud on stderr),
    # not like a dropped connection, which the fault injection uses for something else.
    try:
        return handler(*args)
    except Exception:
        traceback.print_exc()
        return error_response(500, "internal server error")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "SendGridSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = 300  # idle keep-alive connections eventually free their thread
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.sandbox.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        # Always drain the body, even for requests we reject, or keep-alive falls out of step.
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,  # an email.message.Message: case-insensitive lookups
            body=self._read_body(),
        )
        sandbox = self.server.sandbox
        if req.path == CONTROL_PREFIX or req.path.startswith(CONTROL_PREFIX + "/"):
            self._send(_guarded(control.handle, sandbox, req))
            return
        if req.path == "/":  # like the controls: no latency, no faults, not logged
            self._send(_guarded(index.handle, sandbox, req))
            return
        sandbox.sleep(sandbox.latency_ms / 1000)
        subuser = req.header("on-behalf-of") or None
        fault = sandbox.faults.take(req.method, req.path, subuser)
        kind = fault.kind if fault else None
        entry = sandbox.record(req, subuser, fault)
        if fault and fault.kind == "mutate":
            entry["mutation"] = fault.mutate(sandbox.store, subuser)
        if fault and fault.kind == "reset":
            self._reset()
            return
        if fault and fault.kind == "timeout":
            sandbox.sleep(fault.seconds or 0)
            if sandbox.stopping:
                self.close_connection = True  # woken by stop(): the store may be gone
                return
        if fault and fault.kind == "status":
            resp = sandbox.fault_response(fault)
        else:
            resp = _guarded(sandbox.api.handle, req)
        if kind == "bad_json":
            resp = Response(
                200, BAD_JSON_BODY, {**resp.headers, "Content-Type": "application/json"}
            )
        entry["status"] = resp.status
        if kind == "truncated":
            self._send_truncated(resp)
        else:
            self._send(resp)

    def __getattr__(self, name: str) -> Any:
        # http.server calls do_<METHOD> and answers 501 with an HTML page when there is none.
        # Every method goes to _dispatch instead: the routes answer a method they do not take
        # with 405 (SendGrid's JSON error shape, with Allow), and an unknown path with 404.
        # OPTIONS is one of those 405s, so a CORS preflight is never granted.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _start(self, resp: Response, length: int) -> None:
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.status != 204:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, resp: Response) -> None:
        self._start(resp, len(resp.body))
        if resp.body and resp.status != 204 and self.command != "HEAD":
            self.wfile.write(resp.body)

    def _send_truncated(self, resp: Response) -> None:
        self.close_connection = True
        if not resp.body or resp.status == 204:
            # Clients ignore Content-Length on a 204, so cut the status line instead.
            self.wfile.write(f"HTTP/1.1 {resp.status}"[:11].encode())
            return
        self._start(resp, len(resp.body) + max(64, len(resp.body)))
        self.wfile.write(resp.body[: len(resp.body) // 2])

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset by peer".
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()  # drops the last reference, so the descriptor really closes now


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or hung up is business as usual here (timeout faults, killed
        # benchmark workers); anything else is a sandbox bug and keeps the default traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        # Idle keep-alive connections would otherwise hold handler threads after stop().
        with self._open_lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A local stand-in for SendGrid's v3 API, with latency, faults and a request log."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
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
        self.latency_ms = float(latency_ms)
        self.verbose = verbose
        self.limiter = RateLimiter(rate_limit, rate_window)
        self.api = Api(
            store,
            api_key=api_key,
            limiter=self.limiter,
            scopes=scopes,
            routes=(*api.ROUTES, *webhookapi.ROUTES),
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

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_port
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.delivery.start()
        self.trickle.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.trickle.stop()
        self.delivery.stop()
        self._stopping.set()  # wakes handlers sleeping in latency or timeout faults
        # shutdown() waits for the accept loop's next poll; a throwaway connection wakes it now.
        waiter = threading.Thread(target=self._httpd.shutdown, daemon=True)
        waiter.start()
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104
        with contextlib.suppress(OSError), socket.create_connection((host, self.port), 0.5):
            pass
        waiter.join()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("sandbox server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
