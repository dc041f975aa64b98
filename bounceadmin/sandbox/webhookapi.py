"""`/v3/user/webhooks/event/settings...`: SendGrid's Event Webhook settings, per account.

Shapes and error texts follow SendGrid's OpenAPI file (`tsg_webhooks_v3.json`): errors here carry
no `field` (`{"errors": [{"message": ...}]}`, plus `id` and `url` for a URL already in use), GET
of one webhook answers without dates (EventWebhookNoDatesResponse), the list and GET show
`public_key` only while signing is on, and the OAuth fields only once configured (never the
secret). An account is the subuser named by on-behalf-of, or the parent without it; another
account's webhook is "Invalid id provided.", as an unknown one is. Where the spec says nothing
(a body that is not a JSON object, a flag that is not a boolean, `enabled` left out at creation,
which is taken as false like every flag), the choice is marked "undocumented".
"""

from __future__ import annotations

import re
from typing import Any

from bounceadmin.sandbox.api import Api, ApiError, Request, Response, Route, json_response
from bounceadmin.sandbox.webhooks import (
    EVENT_FLAGS,
    EXTRA_FLAGS,
    TEXT_FIELDS,
    Webhook,
    valid_url,
)

SETTINGS = "/v3/user/webhooks/event/settings"
INVALID_ID = "Invalid id provided."
MAX_REACHED = "You have reached the maximum number of webhooks per your current billing plan."


class WebhookError(ApiError):
    """An error in this API's shape: `{"errors": [{"message", ...}]}`, no `field`."""

    def __init__(self, status: int, message: str, **extra: str) -> None:
        Exception.__init__(self, message)
        self.response = json_response(status, {"errors": [{**extra, "message": message}]})


def _account(subuser: str | None) -> str:
    return subuser or ""


def _body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise WebhookError(400, "request body must be a JSON object")  # undocumented
    return body


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The EventWebhookRequest fields of `body`, type-checked (unknown names are ignored)."""
    out: dict[str, Any] = {}
    for name in ("enabled", *EVENT_FLAGS, *EXTRA_FLAGS):
        if name in body:
            if not isinstance(body[name], bool):
                raise WebhookError(400, f"{name} must be a boolean")  # undocumented
            out[name] = body[name]
    for name in TEXT_FIELDS:
        if name in body:
            if body[name] is not None and not isinstance(body[name], str):
                raise WebhookError(400, f"{name} must be a string")  # undocumented
            out[name] = body[name]
    return out


def _checked_url(api: Api, account: str, url: Any, other_than: str | None = None) -> str:
    if not valid_url(url):
        raise WebhookError(400, f"'{'' if url is None else url}' is not a valid url")
    taken = api.store.webhooks.with_url(account, url, other_than=other_than)
    if taken is not None:
        message = f"Webhook at '{url}' already exists. Please provide a unique URL."
        raise WebhookError(400, message, id=taken["id"], url=url)
    return url


def render(
    webhook: Webhook, req: Request, *, dates: bool = True, public_key: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": webhook["enabled"], "url": webhook["url"]}
    if "account_status_change" in (req.arg("include") or "").split(","):
        out["account_status_change"] = webhook["account_status_change"]
    out.update({flag: webhook[flag] for flag in EVENT_FLAGS})
    out["friendly_name"] = webhook["friendly_name"]
    out["id"] = webhook["id"]
    if webhook["oauth_client_id"] or webhook["oauth_token_url"]:
        out["oauth_client_id"] = webhook["oauth_client_id"]
        out["oauth_token_url"] = webhook["oauth_token_url"]
    if public_key and webhook["signed"]:
        out["public_key"] = webhook["public_key"]
    if dates:
        out["created_date"] = webhook["created_date"]
        out["updated_date"] = webhook["updated_date"]
    return out


def _found(api: Api, subuser: str | None, webhook_id: str | None) -> Webhook:
    account = _account(subuser)
    if webhook_id is None:  # the id-less form: the account's oldest webhook
        found = api.store.webhooks.oldest(account)
    else:
        found = api.store.webhooks.get(account, webhook_id)
    if found is None:
        raise WebhookError(404, INVALID_ID)
    return found


# --- endpoints ------------------------------------------------------------------------------------


def list_webhooks(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    hooks = api.store.webhooks.list_for(_account(subuser))
    return json_response(
        200,
        {
            "max_allowed": api.store.webhooks.max_allowed,
            "webhooks": [render(w, req) for w in hooks],
        },
    )


def create_webhook(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    body, account = _body(req), _account(subuser)
    settings = _settings(body)
    url = _checked_url(api, account, body.get("url"))
    if api.store.webhooks.count(account) >= api.store.webhooks.max_allowed:
        raise WebhookError(400, MAX_REACHED)
    created = api.store.webhooks.create(account, url, settings)
    return json_response(201, render(created, req, public_key=False))


def get_webhook(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    found = _found(api, subuser, params["id"])
    return json_response(200, render(found, req, dates=False))


def update_webhook(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    found = _found(api, subuser, params["id"])
    body, account = _body(req), _account(subuser)
    settings = _settings(body)
    url = _checked_url(api, account, body["url"], found["id"]) if "url" in body else None
    updated = api.store.webhooks.update(account, found["id"], url, settings)
    if updated is None:  # deleted meanwhile
        raise WebhookError(404, INVALID_ID)
    return json_response(200, render(updated, req, public_key=False))


def delete_webhook(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    if not api.store.webhooks.delete(_account(subuser), params["id"]):
        raise WebhookError(404, INVALID_ID)
    return Response(204)


def _public_key(webhook: Webhook) -> Response:
    return json_response(200, {"id": webhook["id"], "public_key": webhook["public_key"]})


def get_signed(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    return _public_key(_found(api, subuser, params.get("id")))


def set_signed(api: Api, req: Request, params: dict[str, str], subuser: str | None) -> Response:
    found = _found(api, subuser, params.get("id"))
    enabled = _body(req).get("enabled")
    if not isinstance(enabled, bool):
        raise WebhookError(400, "enabled must be a boolean")  # undocumented
    updated = api.store.webhooks.set_signed(_account(subuser), found["id"], enabled)
    if updated is None:
        raise WebhookError(404, INVALID_ID)
    return _public_key(updated)


# The fixed paths come before `{id}`, which would match "all" and "signed" too.
ROUTES = (
    Route(SETTINGS, re.compile(SETTINGS), {"POST": create_webhook}, True),
    Route(SETTINGS + "/all", re.compile(SETTINGS + "/all"), {"GET": list_webhooks}, True),
    Route(
        SETTINGS + "/signed",
        re.compile(SETTINGS + "/signed"),
        {"GET": get_signed, "PATCH": set_signed},
        True,
    ),
    Route(
        SETTINGS + "/signed/{id}",
        re.compile(SETTINGS + r"/signed/(?P<id>[^/]+)"),
        {"GET": get_signed, "PATCH": set_signed},
        True,
    ),
    Route(
        SETTINGS + "/{id}",
        re.compile(SETTINGS + r"/(?P<id>[^/]+)"),
        {"GET": get_webhook, "PATCH": update_webhook, "DELETE": delete_webhook},
        True,
    ),
)
