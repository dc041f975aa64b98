"""The sandbox's other suppression lists (blocks, invalid emails, spam reports, global and group
unsubscribes) over loopback HTTP, for a subuser and the parent, against SendGrid's OpenAPI file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests

from bounceadmin.sandbox import SandboxServer, seed_demo
from tests.support.openapi import SUPPRESSIONS, assert_matches_spec

T0 = 1_700_000_000
FLAT = ("blocks", "invalid_emails", "spam_reports")
PAGED = (*FLAT, "unsubscribes")
ACCOUNTS = pytest.mark.parametrize("subuser", ["acme", None], ids=["subuser", "parent"])
FIELDS = {
    "blocks": {"created", "email", "reason", "status"},
    "invalid_emails": {"created", "email", "reason"},
    "spam_reports": {"created", "email", "ip"},
    "unsubscribes": {"created", "email"},
}


def call(sandbox: SandboxServer, method: str, path: str, subuser: str | None = None, **kw: Any):
    return requests.request(
        method, sandbox.url + path, headers=sandbox.headers(subuser), timeout=5, **kw
    )


def rows(n: int) -> list[dict[str, Any]]:
    return [{"email": f"user{i:05d}@example.com", "created": T0 + i} for i in range(n)]


@pytest.fixture(autouse=True)
def acme(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("acme")
    sandbox.store.add_subuser("gone", disabled=True)


@pytest.fixture
def demo(sandbox: SandboxServer) -> SandboxServer:
    seed_demo(sandbox.store, seed=1)
    return sandbox


@ACCOUNTS
@pytest.mark.parametrize("kind", PAGED)
def test_list_pages_with_limit_offset_window_and_filter(sandbox, kind, subuser) -> None:
    sandbox.store.lists.add(kind, subuser or "", rows(30))
    path = f"/v3/suppression/{kind}"

    first = call(sandbox, "GET", path, subuser, params={"limit": 10})
    second = call(sandbox, "GET", path, subuser, params={"limit": 10, "offset": 25})
    window = call(sandbox, "GET", path, subuser, params={"start_time": T0 + 3, "end_time": T0 + 5})
    prefixed = call(sandbox, "GET", path, subuser, params={"email": "user0002"})

    assert [r["email"] for r in first.json()][:2] == [
        "user00029@example.com",
        "user00028@example.com",
    ]
    assert len(second.json()) == 5
    assert sorted(r["created"] for r in window.json()) == [T0 + 3, T0 + 4, T0 + 5]
    assert len(prefixed.json()) == 10
    assert {frozenset(r) for r in first.json()} == {frozenset(FIELDS[kind])}
    other = "acme" if subuser is None else None
    assert call(sandbox, "GET", path, other).json() == []  # lists are per account


@pytest.mark.parametrize("kind", PAGED)
def test_list_bad_paging_is_400_and_foreign_subuser_403(sandbox, kind) -> None:
    path = f"/v3/suppression/{kind}"
    assert call(sandbox, "GET", path, "acme", params={"limit": 501}).status_code == 400
    assert call(sandbox, "GET", path, "nobody").status_code == 403
    assert call(sandbox, "GET", path, "gone").status_code == 403


@ACCOUNTS
@pytest.mark.parametrize("kind", FLAT)
def test_flat_single_get_delete_and_missing(sandbox, kind, subuser) -> None:
    sandbox.store.lists.add(kind, subuser or "", [{"email": "a+b@example.com", "created": T0}])
    path = f"/v3/suppression/{kind}/" + quote("a+b@example.com", safe="")

    assert len(call(sandbox, "GET", path, subuser).json()) == 1
    assert call(sandbox, "DELETE", path, subuser).status_code == 204
    assert call(sandbox, "GET", path, subuser).json() == []  # a miss: 200 []
    assert call(sandbox, "DELETE", path, subuser).status_code == 404  # as for bounces


@ACCOUNTS
@pytest.mark.parametrize("kind", FLAT)
def test_flat_bulk_delete_emails_and_all(sandbox, kind, subuser) -> None:
    sandbox.store.lists.add(kind, subuser or "", rows(5))
    path = f"/v3/suppression/{kind}"
    body = {"emails": ["user00000@example.com", "nobody@example.com"]}

    assert call(sandbox, "DELETE", path, subuser, json=body).status_code == 204
    assert sandbox.store.lists.count(kind, subuser or "") == 4
    both = {"emails": [], "delete_all": True}
    assert call(sandbox, "DELETE", path, subuser, json=both).status_code == 400
    assert call(sandbox, "DELETE", path, subuser, json={"delete_all": True}).status_code == 204
    assert sandbox.store.lists.count(kind, subuser or "") == 0


def test_unsubscribes_list_has_no_single_address_path(sandbox) -> None:
    resp = call(sandbox, "DELETE", "/v3/suppression/unsubscribes/a%40x.com", "acme")
    assert resp.status_code == 404  # removed through /v3/asm/suppressions/global/{email}


@ACCOUNTS
def test_global_unsubscribes_add_check_delete(sandbox, subuser) -> None:
    added = call(
        sandbox, "POST", "/v3/asm/suppressions/global", subuser,
        json={"recipient_emails": ["A@x.com", "b@x.com"]},
    )  # fmt: skip
    one = "/v3/asm/suppressions/global/a%40x.com"

    assert added.status_code == 201 and added.json() == {"recipient_emails": ["a@x.com", "b@x.com"]}
    assert call(sandbox, "GET", one, subuser).json() == {"recipient_email": "a@x.com"}
    assert call(sandbox, "DELETE", one, subuser).status_code == 204
    assert call(sandbox, "GET", one, subuser).json() == {}  # the spec: an empty object
    assert call(sandbox, "DELETE", one, subuser).status_code == 204  # not listed: still 204
    listed = call(sandbox, "GET", "/v3/suppression/unsubscribes", subuser).json()
    assert [r["email"] for r in listed] == ["b@x.com"]


@ACCOUNTS
def test_groups_and_their_suppressions(sandbox, subuser) -> None:
    groups = sandbox.store.lists.groups
    news = groups.add_group(subuser or "", "Newsletter", description="Monthly", is_default=True)
    updates = groups.add_group(subuser or "", "Product updates")
    groups.add(subuser or "", news["id"], [{"email": "a@x.com", "created": T0}])
    groups.add(subuser or "", updates["id"], [{"email": "a@x.com", "created": T0 + 1}])
    base = f"/v3/asm/groups/{news['id']}/suppressions"

    listed = call(sandbox, "GET", "/v3/asm/groups", subuser).json()
    assert [(g["name"], g["unsubscribes"]) for g in listed] == [
        ("Newsletter", 1),
        ("Product updates", 1),
    ]
    narrowed = call(sandbox, "GET", "/v3/asm/groups", subuser, params={"id": updates["id"]})
    assert [g["name"] for g in narrowed.json()] == ["Product updates"]
    assert call(sandbox, "GET", base, subuser).json() == ["a@x.com"]
    every = call(sandbox, "GET", "/v3/asm/suppressions", subuser).json()
    assert every == [
        {"email": "a@x.com", "group_id": updates["id"], "group_name": "Product updates",
         "created_at": T0 + 1},
        {"email": "a@x.com", "group_id": news["id"], "group_name": "Newsletter", "created_at": T0},
    ]  # fmt: skip
    assert call(sandbox, "DELETE", base + "/a%40x.com", subuser).status_code == 204
    assert call(sandbox, "DELETE", base + "/a%40x.com", subuser).status_code == 204  # idempotent
    of_one = call(sandbox, "GET", "/v3/asm/suppressions/a%40x.com", subuser).json()
    assert [(g["name"], g["suppressed"]) for g in of_one["suppressions"]] == [
        ("Newsletter", False), ("Product updates", True)
    ]  # fmt: skip


def test_group_of_another_account_is_404(sandbox) -> None:
    theirs = sandbox.store.lists.groups.add_group("", "Parent only")
    path = f"/v3/asm/groups/{theirs['id']}/suppressions"
    assert call(sandbox, "GET", path, "acme").status_code == 404
    assert call(sandbox, "DELETE", path + "/a%40x.com", "acme").status_code == 404
    assert call(sandbox, "GET", "/v3/asm/groups/abc/suppressions", "acme").status_code == 404


def test_new_endpoints_need_the_key_and_count_against_the_rate_limit(sandbox) -> None:
    assert requests.get(sandbox.url + "/v3/asm/groups", timeout=5).status_code == 401
    sandbox.set_rate_limit(2, 60)
    answers = [call(sandbox, "GET", "/v3/suppression/blocks", "acme") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert call(sandbox, "GET", "/v3/asm/groups", "acme").status_code == 200  # its own budget


def test_faults_apply_to_the_new_endpoints(sandbox) -> None:
    sandbox.inject_fault("status", status=503, path="/v3/asm/")
    assert call(sandbox, "GET", "/v3/asm/suppressions", "acme").status_code == 503
    assert call(sandbox, "GET", "/v3/asm/suppressions", "acme").status_code == 200


def test_parent_bounces_are_its_own(sandbox) -> None:
    sandbox.store.lists.add("bounces", "", [{"email": "p@x.com", "created": T0, "reason": "r"}])
    sandbox.store.add_bounces("acme", [{"email": "s@x.com", "created": T0}])
    assert [r["email"] for r in call(sandbox, "GET", "/v3/suppression/bounces").json()] == [
        "p@x.com"
    ]
    assert call(sandbox, "DELETE", "/v3/suppression/bounces/p%40x.com").status_code == 204
    assert call(sandbox, "DELETE", "/v3/suppression/bounces/p%40x.com").status_code == 404
    assert len(sandbox.store.bounces("acme")) == 1


# --- OpenAPI conformance ------------------------------------------------------------------------


@ACCOUNTS
@pytest.mark.parametrize("kind", PAGED)
def test_openapi_lists_match_spec(demo, kind, subuser) -> None:
    name = subuser and "acme-marketing"
    resp = call(demo, "GET", f"/v3/suppression/{kind}", name, params={"limit": 500})
    assert resp.status_code == 200 and len(resp.json()) > 10
    assert_matches_spec(SUPPRESSIONS, resp)


@pytest.mark.parametrize("kind", FLAT)
def test_openapi_flat_single_get_and_deletes_match_spec(demo, kind) -> None:
    [entry] = demo.store.lists.page(kind, "acme-marketing", limit=1)
    path = f"/v3/suppression/{kind}/" + quote(entry["email"], safe="")
    for resp in (
        call(demo, "GET", path, "acme-marketing"),
        call(demo, "DELETE", path, "acme-marketing"),
        call(demo, "GET", path, "acme-marketing"),  # the empty array of a miss
        call(
            demo, "DELETE", f"/v3/suppression/{kind}", "acme-marketing", json={"delete_all": True}
        ),
    ):
        assert resp.status_code in (200, 204)
        assert_matches_spec(SUPPRESSIONS, resp)


def test_openapi_asm_calls_match_spec(demo) -> None:
    account = "initech-billing"
    [group, *_] = demo.store.lists.groups.groups(account)
    email = demo.store.lists.groups.emails(group["id"])[0]
    one = quote(email, safe="")
    answers = [
        call(demo, "GET", "/v3/asm/groups", account),
        call(demo, "GET", f"/v3/asm/groups/{group['id']}/suppressions", account),
        call(demo, "GET", "/v3/asm/suppressions", account),
        call(demo, "GET", f"/v3/asm/suppressions/{one}", account),
        call(demo, "DELETE", f"/v3/asm/groups/{group['id']}/suppressions/{one}", account),
        call(
            demo, "POST", "/v3/asm/suppressions/global", account, json={"recipient_emails": [email]}
        ),
        call(demo, "GET", f"/v3/asm/suppressions/global/{one}", account),
        call(demo, "DELETE", f"/v3/asm/suppressions/global/{one}", account),
    ]
    for resp in answers:
        assert resp.status_code in (200, 201, 204), resp.text
        assert_matches_spec(SUPPRESSIONS, resp)


@ACCOUNTS
def test_mutate_fault_changes_the_requested_list(sandbox, subuser) -> None:
    sandbox.store.lists.add("spam_reports", subuser or "", rows(6))
    sandbox.store.add_bounces("acme", rows(6))
    path = "/v3/suppression/spam_reports"
    new = [{"email": "new@x.com", "ip": "192.0.2.7"}]
    sandbox.inject_fault(
        "mutate", path=path, after=1, remove=2, emails=["user00000@example.com"], add=new
    )

    first = call(sandbox, "GET", path, subuser, params={"limit": 3}).json()
    second = call(sandbox, "GET", path, subuser, params={"limit": 3, "offset": 3}).json()

    assert [e["email"] for e in first] == [f"user0000{i}@example.com" for i in (5, 4, 3)]
    assert [e["email"] for e in second] == ["user00001@example.com"]  # the list moved under it
    assert sandbox.store.lists.get("spam_reports", subuser or "", "new@x.com")["ip"] == "192.0.2.7"
    assert len(sandbox.store.bounces("acme")) == 6  # only the requested list
    [logged] = [r for r in sandbox.requests if r["fault"] == "mutate"]
    assert logged["mutation"] == {"removed": 3, "added": 1}
