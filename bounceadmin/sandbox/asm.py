"""Unsubscribes kept by SendGrid's "ASM" (Advanced Suppression Manager): the global unsubscribes
one address at a time, and the unsubscribe groups with their addresses. For a subuser
(on-behalf-of) or the parent (without it). The global list itself is paged by lists.py
(`GET /v3/suppression/unsubscribes`).

What each answers for an address or group that is not there:
- `GET /v3/asm/suppressions/global/{email}`: 200 `{}` (the spec: "an empty object if the email
  address ... is not globally suppressed").
- `DELETE /v3/asm/suppressions/global/{email}`: 204 (undocumented; we model it as idempotent).
- `GET /v3/asm/groups/{group_id}/suppressions` of an unknown group (or another account's): 404
  (undocumented).
- `DELETE /v3/asm/groups/{group_id}/suppressions/{email}`: 204 when the address is not in the
  group, 404 when the group is unknown (both undocumented).
- `GET /v3/asm/suppressions/{email}`: 200 with every group of the account, `suppressed: false`
  where the address is not in it (the spec's example lists groups that do not hold it).
"""

from __future__ import annotations

import re
from typing import Any

from bounceadmin.sandbox.api import (
    Api,
    ApiError,
    Request,
    Response,
    Route,
    json_response,
)

GLOBAL_LIST = "unsubscribes"


def _emails_body(req: Request) -> list[str]:
    """`{"recipient_emails": [...]}`, the body of both POSTs that add addresses."""
    try:
        body = req.json()
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "request body must be JSON") from None
    emails = body.get("recipient_emails") if isinstance(body, dict) else None
    if not isinstance(emails, list) or not emails or not all(isinstance(e, str) for e in emails):
        raise ApiError(
            400, "recipient_emails must be a non-empty array of strings", "recipient_emails"
        )
    return [e.strip().lower() for e in emails]


def _group(api: Api, params: dict[str, str], account: str) -> dict[str, Any]:
    try:
        group_id = int(params["group_id"])
    except ValueError:
        raise ApiError(404, "group not found", "group_id") from None
    group = api.store.lists.groups.get_group(account, group_id)
    if group is None:
        raise ApiError(404, "group not found", "group_id")  # undocumented
    return group


# --- global unsubscribes ----------------------------------------------------------------------


def add_global(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    emails = _emails_body(req)
    api.store.lists.add(GLOBAL_LIST, subuser or "", [{"email": e} for e in emails])
    return json_response(201, {"recipient_emails": emails})


def get_global(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    found = api.store.lists.get(GLOBAL_LIST, subuser or "", params["email"])
    return json_response(200, {"recipient_email": found["email"]} if found else {})


def delete_global(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    api.store.lists.remove(GLOBAL_LIST, subuser or "", [params["email"]])
    return Response(204)  # listed or not: undocumented, modelled as idempotent


# --- groups -----------------------------------------------------------------------------------


def list_groups(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    groups = api.store.lists.groups.groups(subuser or "")
    wanted = req.query.get("id")  # ?id=1&id=2 narrows to those groups
    if wanted:
        groups = [g for g in groups if str(g["id"]) in wanted]
    return json_response(200, groups)


def group_emails(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    group = _group(api, params, subuser or "")
    return json_response(200, api.store.lists.groups.emails(group["id"]))


def add_to_group(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    group = _group(api, params, subuser or "")
    emails = _emails_body(req)
    api.store.lists.groups.add(subuser or "", group["id"], [{"email": e} for e in emails])
    return json_response(201, {"recipient_emails": emails})


def delete_from_group(
    api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    group = _group(api, params, subuser or "")
    api.store.lists.groups.remove(group["id"], [params["email"]])
    return Response(204)  # in the group or not: undocumented, modelled as idempotent


def all_group_suppressions(
    api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    return json_response(200, api.store.lists.groups.suppressions(subuser or ""))


def groups_of_email(
    api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    account = subuser or ""
    held = {s["group_id"] for s in api.store.lists.groups.suppressions(account, params["email"])}
    groups = [
        {
            "description": g["description"],
            "id": g["id"],
            "is_default": g["is_default"],
            "name": g["name"],
            "suppressed": g["id"] in held,
        }
        for g in api.store.lists.groups.groups(account)
    ]
    return json_response(200, {"suppressions": groups})


def _route(template: str, methods: dict[str, Any]) -> Route:
    pattern = re.escape(template)
    pattern = pattern.replace(r"\{email\}", r"(?P<email>[^/]+)")
    pattern = pattern.replace(r"\{group_id\}", r"(?P<group_id>[^/]+)")
    return Route(template, re.compile(pattern), methods, True)


ROUTES = (
    # The literal "global" path comes before the {email} one that would also match it.
    _route("/v3/asm/suppressions/global", {"POST": add_global}),
    _route("/v3/asm/suppressions/global/{email}", {"GET": get_global, "DELETE": delete_global}),
    _route("/v3/asm/suppressions", {"GET": all_group_suppressions}),
    _route("/v3/asm/suppressions/{email}", {"GET": groups_of_email}),
    _route("/v3/asm/groups", {"GET": list_groups}),
    _route("/v3/asm/groups/{group_id}/suppressions", {"GET": group_emails, "POST": add_to_group}),
    _route("/v3/asm/groups/{group_id}/suppressions/{email}", {"DELETE": delete_from_group}),
)
