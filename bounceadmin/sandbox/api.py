"""The SendGrid v3 endpoints the dashboard uses, as pure request -> response functions (the
Event Webhook's settings are in webhookapi.py, added to these by the server).

Kept free of sockets so the HTTP plumbing (server.py) and the behaviour (here) can be read and
changed separately. Where SendGrid documents nothing (403 for a foreign subuser, 404 on deleting
an address that is not listed, 400 texts), the choice is marked "undocumented" below.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from functools import partial
from typing import Any
from urllib.parse import unquote

from bounceadmin.sandbox.ratelimit import RateLimiter
from bounceadmin.sandbox.store import SandboxStore

JSON = "application/json"
MAX_PAGE = 500
DEFAULT_SUBUSER_PAGE = 100
DEFAULT_SCOPES = (
    "suppression.bounces.read",
    "suppression.bounces.delete",
    "suppression.read",
    "suppression.delete",
    "subusers.read",
    "scopes.read",
    "user.profile.read",
)


@dataclass
class Request:
    method: str
    path: str  # raw (still percent-encoded), without the query string
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    region: str = "global"  # the API host it came to: SendGrid's global one, or the EU one

    def header(self, name: str) -> str | None:
        # email.message.Message lookups are case-insensitive, as HTTP header names are.
        value = self.headers.get(name)
        return value.strip() if value is not None else None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON, **(headers or {})})


def error_response(status: int, message: str, field_name: str | None = None) -> Response:
    # SendGrid's error shape: {"errors": [{"field": <name or null>, "message": <text>}]}
    return json_response(status, {"errors": [{"field": field_name, "message": message}]})


def wrong_region(subuser: str | None, home: str) -> Response:
    """A call that came to the API host of another region than its account's.

    SendGrid documents only that a call must use the base URL of the region of the account or
    subuser it is for (api.eu.sendgrid.com for an EU subuser), not what the other host answers.
    We refuse, so a client that routes wrongly fails loudly instead of reading an empty list:
    403, like the other "this account is not yours here" answers we model, in SendGrid's error
    shape, naming the region. The parent account (no on-behalf-of) and every parent-level call
    (the subuser listing, which lists every region) are global.
    """
    who = f"subuser {subuser!r}" if subuser else "the parent account"
    return error_response(
        403, f"{who} is in the {home} region: call the API host of that region", "on-behalf-of"
    )


class ApiError(Exception):
    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.response = error_response(status, message, field_name)


def int_arg(
    req: Request, name: str, default: int | None, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = (
            f" between {lo} and {hi}" if hi is not None else f" >= {lo}" if lo is not None else ""
        )
        raise ApiError(400, f"{name} must be an integer{bounds}", name)
    return value


def _bool_arg(req: Request, name: str) -> bool:
    return (req.arg(name) or "").lower() in ("true", "1", "yes")


# --- endpoints ------------------------------------------------------------------------------------

Handler = Callable[["Api", Request, dict[str, str], str | None], Response]


def list_bounces(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    limit = int_arg(req, "limit", MAX_PAGE, 1, MAX_PAGE)  # 500 is the documented default
    offset = int_arg(req, "offset", 0, 0)
    start_time = int_arg(req, "start_time", None)
    end_time = int_arg(req, "end_time", None)
    if subuser is None:  # the parent's own bounces are kept with its other lists (liststore.py)
        lister = partial(api.store.lists.page, "bounces", "")
    else:
        lister = partial(api.store.list_bounces, subuser)
    rows = lister(
        limit=limit or MAX_PAGE,
        offset=offset or 0,
        start_time=start_time,
        end_time=end_time,
        email=req.arg("email"),
    )
    return json_response(200, rows)


def get_bounce(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    # SendGrid answers an array here (0 or 1 items), not an object; a miss is not a 404.
    email = params["email"]
    if subuser is None:
        found = api.store.lists.get("bounces", "", email)
    else:
        found = api.store.get_bounce(subuser, email)
    return json_response(200, [found] if found else [])


def delete_bounce(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    emails = [params["email"]]
    removed = (
        api.store.remove_bounces(subuser, emails)
        if subuser
        else api.store.lists.remove("bounces", "", emails)
    )
    if not removed:
        # Undocumented upstream; the dashboard treats this 404 as "already gone".
        return error_response(404, "email does not exist")
    return Response(204)


def bulk_delete_body(req: Request) -> list[str] | None:
    """The addresses a bulk DELETE names, or None for `{"delete_all": true}` (400 otherwise)."""
    try:
        body = req.json()
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "request body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    has_all, has_emails = "delete_all" in body, "emails" in body
    if has_all and has_emails:
        # The spec warns against sending both; SendGrid's docs say it is an error.
        raise ApiError(400, "delete_all and emails are mutually exclusive", "delete_all")
    if has_all:
        if body["delete_all"] is not True:
            raise ApiError(400, "delete_all must be true", "delete_all")
        return None
    if not has_emails:
        raise ApiError(400, "either emails or delete_all is required", "emails")
    emails = body["emails"]
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise ApiError(400, "emails must be an array of strings", "emails")
    return emails


def delete_bounces(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    emails = bulk_delete_body(req)
    if subuser is None:  # the parent's own list
        if emails is None:
            api.store.lists.remove_all("bounces", "")
        else:
            api.store.lists.remove("bounces", "", emails)
    elif emails is None:
        api.store.remove_all_bounces(subuser)
    else:
        api.store.remove_bounces(subuser, emails)  # unknown addresses are ignored
    return Response(204)


def list_subusers(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    # No default or maximum is documented for subusers; 100 and 500 are our choice.
    limit = int_arg(req, "limit", DEFAULT_SUBUSER_PAGE, 1, MAX_PAGE)
    offset = int_arg(req, "offset", 0, 0)
    region = req.arg("region") or "all"
    if region not in ("all", "global", "eu"):
        raise ApiError(400, "region must be one of all, global, eu", "region")
    rows = api.store.list_subusers(
        limit=limit or DEFAULT_SUBUSER_PAGE,
        offset=offset or 0,
        username=req.arg("username"),
        region=region,
    )
    with_region = _bool_arg(req, "include_region")
    items: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {
            "disabled": row["disabled"],
            "email": row["email"],
            "id": row["id"],
            "username": row["username"],
        }
        if with_region:
            item["region"] = row["region"]
        items.append(item)
    return json_response(200, items)


def scopes(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    return json_response(200, {"scopes": list(api.scopes)})


@dataclass(frozen=True)
class Route:
    template: str  # the rate-limit key: one budget per endpoint, shared by every subuser
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    per_subuser: bool  # takes on-behalf-of (bounce endpoints) or is parent-level


ROUTES = (
    Route(
        "/v3/suppression/bounces",
        re.compile(r"/v3/suppression/bounces"),
        {"GET": list_bounces, "DELETE": delete_bounces},
        True,
    ),
    Route(
        "/v3/suppression/bounces/{email}",
        re.compile(r"/v3/suppression/bounces/(?P<email>[^/]+)"),
        {"GET": get_bounce, "DELETE": delete_bounce},
        True,
    ),
    Route("/v3/subusers", re.compile(r"/v3/subusers"), {"GET": list_subusers}, False),
    Route("/v3/scopes", re.compile(r"/v3/scopes"), {"GET": scopes}, False),
)


def match(path: str, routes: Sequence[Route] = ROUTES) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        found = route.pattern.fullmatch(path)
        if found:
            # unquote, not unquote_plus: a "+" in a path segment is a literal plus.
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


class Api:
    """Authentication, rate limiting, subuser checks and dispatch for /v3/..."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        api_key: str,
        limiter: RateLimiter,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        routes: Sequence[Route] = ROUTES,
    ) -> None:
        """`routes` are the endpoints served: these and any added by their own module (the
        server adds webhookapi.ROUTES)."""
        self.store = store
        self.api_key = api_key
        self.limiter = limiter
        self.scopes = tuple(scopes)
        self.routes = tuple(routes)

    def auth_valid(self, req: Request) -> bool:
        value = req.header("Authorization") or ""
        scheme, _, key = value.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        return hmac.compare_digest(key.strip().encode(), self.api_key.encode())

    def handle(self, req: Request) -> Response:
        found = match(req.path, self.routes)
        key = found[0].template if found else "unmatched"
        if req.region != "global":
            key = f"{req.region} {key}"  # each region's host has rate limits of its own
        if found is None:
            resp = error_response(404, "resource not found")
        elif req.method not in found[0].methods:
            resp = error_response(405, "method not allowed")
            resp.headers["Allow"] = ", ".join(sorted(found[0].methods))
        elif not self.auth_valid(req):
            resp = error_response(401, "authorization required")
        else:
            state = self.limiter.hit(key)
            if not state.allowed:
                resp = error_response(429, "too many requests")
            else:
                resp = self._dispatch(found[0], found[1], req)
            resp.headers.update(state.headers())
            return resp
        # Errors raised before the request counts still carry the headers, as upstream does.
        resp.headers.update(self.limiter.peek(key).headers())
        return resp

    def _dispatch(self, route: Route, params: dict[str, str], req: Request) -> Response:
        subuser = None
        home = "global"  # the parent account's region, and every parent-level call's
        if route.per_subuser:
            subuser = req.header("on-behalf-of") or None
            if subuser is not None:
                row = self.store.get_subuser(subuser)
                if row is None or row["disabled"]:
                    # Undocumented upstream (no status is specified for a foreign, unknown or
                    # disabled subuser); 403 is the most plausible answer and what we model.
                    return error_response(403, "access forbidden")
                home = row["region"]
        if home != req.region:
            return wrong_region(subuser, home)
        try:
            return route.methods[req.method](self, req, params, subuser)
        except ApiError as exc:
            return exc.response
