"""`/_sandbox/lists` and `/_sandbox/groups`: seed and inspect every suppression list but the
subusers' bounces (`/_sandbox/bounces`), for tests and demos in other processes. Mounted by
control.py, with the same rules (no key; JSON content type for anything that changes state).

`subuser` names the account: a subuser's username, or "" / absent for the parent. `list` is
one of blocks, invalid_emails, spam_reports, unsubscribes (the global unsubscribes), bounces
(the parent's only) or group_unsubscribes (then `group` names the group, created if missing).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from bounceadmin.sandbox.api import ApiError, Request, Response, json_response
from bounceadmin.sandbox.demo import FastRandom
from bounceadmin.sandbox.listdemo import generate_entries
from bounceadmin.sandbox.liststore import FLAT_LISTS
from bounceadmin.sandbox.store import SandboxStore

GROUP_LIST = "group_unsubscribes"
LISTS = (*FLAT_LISTS, GROUP_LIST)


class HasStore(Protocol):
    store: SandboxStore


def _account(sb: HasStore, value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "subuser must be a string (empty for the parent)", "subuser")
    if sb.store.get_subuser(value) is None:
        sb.store.add_subuser(value)  # as /_sandbox/bounces does: keeps test set-up short
    return value


def _list(value: Any) -> str:
    if value not in LISTS:
        raise ApiError(400, f"list must be one of: {', '.join(LISTS)}", "list")
    return str(value)


def _group_id(sb: HasStore, account: str, name: Any) -> int:
    if not isinstance(name, str) or not name:
        raise ApiError(400, "group (a group name) is required for group_unsubscribes", "group")
    found = [g for g in sb.store.lists.groups.groups(account) if g["name"] == name]
    return found[0]["id"] if found else sb.store.lists.groups.add_group(account, name)["id"]


def get_entries(sb: HasStore, req: Request, body: dict[str, Any]) -> Response:
    """`?list=KIND&subuser=NAME` (no subuser: the parent); without `list`, the counts."""
    account = req.arg("subuser") or ""
    if req.arg("list") is None:
        return json_response(200, sb.store.lists.counts())
    kind = _list(req.arg("list"))
    if kind == GROUP_LIST:
        return json_response(200, sb.store.lists.groups.suppressions(account))
    return json_response(200, sb.store.lists.entries(kind, account))


def add_entries(sb: HasStore, req: Request, body: dict[str, Any]) -> Response:
    """`{"list", "subuser", "entries": [{email, created?, ...}], "generate": n, "group"}`."""
    kind, account = _list(body.get("list")), _account(sb, body.get("subuser"))
    rows = body.get("entries", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("email") for r in rows):
        raise ApiError(400, "entries must be an array of objects with an email", "entries")
    generate = body.get("generate", 0)
    if not isinstance(generate, int) or isinstance(generate, bool) or generate < 0:
        raise ApiError(400, "generate must be a non-negative integer", "generate")
    if generate:
        rng = FastRandom(body.get("seed", 1))
        now = body.get("now") or time.time()
        generated = generate_entries(
            kind if kind != "bounces" else "blocks", rng, generate, now=now
        )
        rows = [*rows, *generated]
    try:
        # Through the store's add_entries: the Event Webhook posts what a recipient would cause.
        group_id = _group_id(sb, account, body.get("group")) if kind == GROUP_LIST else None
        written = sb.store.add_entries(kind, account, rows, group_id=group_id)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(201, {"written": written})


def remove_entries(sb: HasStore, req: Request, body: dict[str, Any]) -> Response:
    """Removes as if someone did upstream: `{"list", "subuser", "emails"}` or `"delete_all"`."""
    kind, account = _list(body.get("list")), body.get("subuser") or ""
    emails = body.get("emails")
    if body.get("delete_all") is not True and not isinstance(emails, list):
        raise ApiError(400, "emails must be an array (or send delete_all: true)", "emails")
    if kind == GROUP_LIST:
        groups = sb.store.lists.groups
        ids = [g["id"] for g in groups.groups(account)]
        if body.get("group"):
            ids = [g["id"] for g in groups.groups(account) if g["name"] == body["group"]]
        if body.get("delete_all") is True:
            emails = sorted({s["email"] for s in groups.suppressions(account)})
        removed = sum(groups.remove(i, [str(e) for e in emails or []]) for i in ids)
    elif body.get("delete_all") is True:
        removed = sb.store.lists.remove_all(kind, account)
    else:
        removed = sb.store.lists.remove(kind, account, [str(e) for e in emails or []])
    return json_response(200, {"removed": removed})


def get_groups(sb: HasStore, req: Request, body: dict[str, Any]) -> Response:
    return json_response(200, sb.store.lists.groups.groups(req.arg("subuser") or ""))


def add_group(sb: HasStore, req: Request, body: dict[str, Any]) -> Response:
    """`{"subuser", "name", "description"?, "is_default"?}`: create or update a group."""
    account = _account(sb, body.get("subuser"))
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "name is required", "name")
    group = sb.store.lists.groups.add_group(
        account,
        name,
        description=str(body.get("description") or ""),
        is_default=body.get("is_default") is True,
    )
    return json_response(201, group)


ROUTES = {
    "/_sandbox/lists": {"GET": get_entries, "POST": add_entries, "DELETE": remove_entries},
    "/_sandbox/groups": {"GET": get_groups, "POST": add_group},
}
