"""`/_sandbox/...`: the test and demo controls over HTTP, for other processes (e2e, benchmarks).

No Bearer key: this is a local development tool bound to loopback, and a test driving it from
another process should not need SendGrid credentials. JSON in, JSON out, errors in the v3 shape.

Loopback is not enough, though: any web page open in the developer's browser can send requests
to 127.0.0.1. Without a key, what keeps such a page from resetting or seeding the sandbox is
that every control that changes state (any method but GET and HEAD) must say
`Content-Type: application/json`: a page can send a form or a `text/plain` body to another
origin unasked, but a JSON content type (or PUT/DELETE) needs a CORS preflight first, which the
sandbox never grants. Anything else is answered 415. The GET controls only read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bounceadmin.sandbox import listcontrol
from bounceadmin.sandbox.api import (
    JSON,
    ApiError,
    Request,
    Response,
    error_response,
    json_response,
)
from bounceadmin.sandbox.delivery import Delivery
from bounceadmin.sandbox.demo import FastRandom, generate_bounces
from bounceadmin.sandbox.events import FLAG_OF_EVENT
from bounceadmin.sandbox.faults import Fault, FaultQueue
from bounceadmin.sandbox.listdemo import seed_demo
from bounceadmin.sandbox.ratelimit import RateLimiter
from bounceadmin.sandbox.store import SandboxStore


class Sandbox(Protocol):
    """What the controls use of a running sandbox. `SandboxServer` is one; it imports this
    module to route `/_sandbox/` here, so this module must not import it back."""

    store: SandboxStore
    faults: FaultQueue
    limiter: RateLimiter
    delivery: Delivery

    @property
    def requests(self) -> list[dict[str, Any]]: ...
    def clear_requests(self) -> None: ...
    def clear_faults(self) -> None: ...
    def config(self) -> dict[str, Any]: ...
    def set_latency(self, ms: float) -> None: ...
    def set_rate_limit(self, limit: int, window: float) -> None: ...
    def set_scopes(self, scopes: Sequence[str]) -> None: ...


Control = Callable[[Sandbox, Request, dict[str, Any]], Response]
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def _str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} is required", name)
    return value


def health(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, {"status": "ok", **sb.store.summary()})


def add_fault(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    items = body.get("faults", [body])  # one fault object, or {"faults": [...]}
    try:
        faults = [Fault.from_dict(item) for item in items]
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    for fault in faults:
        sb.faults.add(fault)
    return json_response(201, {"faults": sb.faults.pending()})


def list_faults(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, {"faults": sb.faults.pending()})


def clear_faults(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    sb.clear_faults()
    return Response(204)


def get_config(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.config())


def set_config(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    unknown = set(body) - {"latency_ms", "rate_limit", "rate_window", "scopes"}
    if unknown:
        raise ApiError(400, f"unknown config fields: {sorted(unknown)}")
    try:
        if "latency_ms" in body:
            sb.set_latency(float(body["latency_ms"]))
        if "rate_limit" in body or "rate_window" in body:
            limit = int(body.get("rate_limit", sb.limiter.limit))
            sb.set_rate_limit(limit, float(body.get("rate_window", sb.limiter.window)))
        if "scopes" in body:
            sb.set_scopes([str(s) for s in body["scopes"]])
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(200, sb.config())


def list_requests(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.requests)


def clear_requests(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    sb.clear_requests()
    return Response(204)


def add_subuser(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    try:
        row = sb.store.add_subuser(
            _str(body, "username"),
            email=body.get("email"),
            disabled=bool(body.get("disabled", False)),
            region=str(body.get("region", "global")),
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(201, row)


def list_subusers(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.store.subusers())


def add_bounces(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    """`{"subuser", "bounces": [{email, status?, reason?, created?}]}` or `"generate": n`."""
    subuser = _str(body, "subuser")
    rows = body.get("bounces", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("email") for r in rows):
        raise ApiError(400, "bounces must be an array of objects with an email", "bounces")
    generate = body.get("generate", 0)
    if not isinstance(generate, int) or generate < 0:
        raise ApiError(400, "generate must be a non-negative integer", "generate")
    if generate:
        rng = FastRandom(body.get("seed", 1))
        rows = [*rows, *generate_bounces(rng, generate, now=body.get("now") or time.time())]
    try:
        written = sb.store.add_bounces(subuser, rows)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(201, {"written": written, "count": sb.store.count(subuser)})


def list_bounces(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    subuser = req.arg("subuser")
    if not subuser:
        raise ApiError(400, "subuser query parameter is required", "subuser")
    return json_response(200, sb.store.bounces(subuser))


def remove_bounces(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    """Deletes as if someone removed addresses upstream (outside the dashboard)."""
    subuser = _str(body, "subuser")
    if body.get("delete_all") is True:
        removed = sb.store.remove_all_bounces(subuser)
    else:
        emails = body.get("emails")
        if not isinstance(emails, list):
            raise ApiError(400, "emails must be an array (or send delete_all: true)", "emails")
        removed = sb.store.remove_bounces(subuser, [str(e) for e in emails])
    return json_response(200, {"removed": removed, "count": sb.store.count(subuser)})


def reset(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    """Empty the store (webhooks too), the webhooks' queues and attempt log, and the rate-limit
    windows (faults, the request log and every setting are kept)."""
    sb.store.clear()
    sb.delivery.clear()
    sb.limiter.reset()
    return Response(204)


def seed(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    if body.get("demo") is not True:
        raise ApiError(400, 'only {"demo": true} seeding is supported', "demo")
    seed_value = body.get("seed", 1)
    if not isinstance(seed_value, int):
        raise ApiError(400, "seed must be an integer", "seed")
    counts = seed_demo(sb.store, seed=seed_value, now=body.get("now"))
    return json_response(200, {**counts, **sb.store.summary()})


# --- the Event Webhook ---------------------------------------------------------------------------

WEBHOOK_CONFIG = ("interval", "batch_size", "duplicate_rate", "retry_seconds", "max_allowed")


def webhook_events(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    """`{"subuser": NAME or "" (the parent), "events": [{"event", "email", ...}]}`: queue events
    for that account's webhooks whose settings cover them; answers them as queued."""
    subuser = body.get("subuser") or ""
    if not isinstance(subuser, str):
        raise ApiError(400, "subuser must be a string (empty for the parent)", "subuser")
    if subuser and sb.store.get_subuser(subuser) is None:
        raise ApiError(400, f"unknown subuser {subuser!r}", "subuser")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise ApiError(400, "events must be a non-empty array of objects", "events")
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("email"), str):
            raise ApiError(400, "each event needs an email", "events")
        if event.get("event") not in FLAG_OF_EVENT:
            known = ", ".join(sorted(FLAG_OF_EVENT))
            raise ApiError(400, f"each event needs an event, one of: {known}", "events")
    queued, counts = sb.delivery.submit(subuser, events)
    return json_response(201, {"events": queued, "queued": counts})


def get_webhook_config(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.delivery.config())


def set_webhook_config(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    unknown = set(body) - set(WEBHOOK_CONFIG)
    if unknown:
        raise ApiError(400, f"unknown config fields: {sorted(unknown)}")
    try:
        sb.delivery.configure(**body)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(200, sb.delivery.config())


def flush_webhooks(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    """Send every waiting event now; answers once each webhook's attempts are over."""
    return json_response(200, sb.delivery.flush())


def webhook_deliveries(sb: Sandbox, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.delivery.attempts())


ROUTES: dict[str, dict[str, Control]] = {
    "/_sandbox/health": {"GET": health},
    "/_sandbox/faults": {"GET": list_faults, "POST": add_fault, "DELETE": clear_faults},
    "/_sandbox/config": {"GET": get_config, "POST": set_config},
    "/_sandbox/requests": {"GET": list_requests, "DELETE": clear_requests},
    "/_sandbox/subusers": {"GET": list_subusers, "POST": add_subuser},
    "/_sandbox/bounces": {"GET": list_bounces, "POST": add_bounces, "DELETE": remove_bounces},
    **listcontrol.ROUTES,  # every other suppression list, and the unsubscribe groups
    "/_sandbox/reset": {"POST": reset},
    "/_sandbox/seed": {"POST": seed},
    "/_sandbox/webhooks/config": {"GET": get_webhook_config, "POST": set_webhook_config},
    "/_sandbox/webhooks/events": {"POST": webhook_events},
    "/_sandbox/webhooks/flush": {"POST": flush_webhooks},
    "/_sandbox/webhooks/deliveries": {"GET": webhook_deliveries},
}


def handle(sb: Sandbox, req: Request) -> Response:
    methods = ROUTES.get(req.path.rstrip("/"))
    if methods is None:
        return error_response(404, "resource not found")
    if req.method not in methods:
        resp = error_response(405, "method not allowed")
        resp.headers["Allow"] = ", ".join(sorted(methods))
        return resp
    if req.method not in READ_ONLY_METHODS and not _is_json(req):
        return error_response(
            415, "controls that change state take Content-Type: application/json", "Content-Type"
        )
    body: Any = {}
    if req.body.strip():
        try:
            body = req.json()
        except (UnicodeDecodeError, ValueError):
            return error_response(400, "request body must be JSON")
    if not isinstance(body, dict):
        return error_response(400, "request body must be a JSON object")
    try:
        return methods[req.method](sb, req, body)
    except ApiError as exc:
        return exc.response


def _is_json(req: Request) -> bool:
    media_type = (req.header("Content-Type") or "").split(";", 1)[0]
    return media_type.strip().lower() == JSON
