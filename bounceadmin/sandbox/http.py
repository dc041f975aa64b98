"""The sandbox's HTTP layer: a threaded server on the standard library, and the handler that
routes each request to the controls (`/_sandbox/`), the page (`/`) or the v3 API, with the
configured latency and faults. The state it serves is the `SandboxServer` it is given."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bounceadmin.sandbox import control, index
from bounceadmin.sandbox.api import Request, Response, error_response

CONTROL_PREFIX = "/_sandbox"
BAD_JSON_BODY = b"<html><head><title>502 Bad Gateway</title></head><body>upstream</body></html>"


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
            region=self.server.region,
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
            entry["mutation"] = fault.mutate(sandbox.store, subuser, req.path)
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

    def __init__(self, address: tuple[str, int], sandbox: Any, region: str = "global") -> None:
        self.sandbox = sandbox
        self.region = region  # the SendGrid API host this listener plays
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
