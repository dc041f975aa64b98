"""One Event Webhook POST, as SendGrid sends it: the body, the headers (with the signature when
the webhook signs), and the HTTP call itself (standard library, with a timeout)."""

from __future__ import annotations

import base64
import http.client
import json
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from bounceadmin.sandbox import signing
from bounceadmin.sandbox.webhooks import Webhook

USER_AGENT = "SendGrid Event API"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def encode(batch: list[dict[str, Any]]) -> bytes:
    """The body SendGrid posts: the JSON array, compact, with its trailing CRLF (which the
    signature covers, so a receiver must verify the bytes as received)."""
    return json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\r\n"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST and return (status, "") or (None, what went wrong). Credentials in the URL
    (https://user:pass@host/, which SendGrid accepts) are sent as basic auth."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, "not an http(s) URL"
    headers = dict(headers)
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", target, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read(1 << 16)
        return resp.status, ""
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def headers_for(webhook: Webhook, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers of one attempt; a signing webhook signs each attempt with its own time."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if webhook["signed"] and webhook["private_key"]:
        stamp = str(int(time.time() if now is None else now))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = signing.sign(webhook["private_key"], stamp, body)
    return headers
