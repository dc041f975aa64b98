"""The SendGrid sandbox's v3 API, over loopback HTTP, checked against SendGrid's OpenAPI specs."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
import requests

from bounceadmin.sandbox import SandboxServer, seed_demo
from tests.support.openapi import SUBUSERS, SUPPRESSIONS, assert_matches_spec

BOUNCES = "/v3/suppression/bounces"
T0 = 1_700_000_000


def get(sandbox: SandboxServer, path: str, subuser: str | None = None, **params: Any):
    return requests.get(
        sandbox.url + path, headers=sandbox.headers(subuser), params=params, timeout=5
    )


def delete(sandbox: SandboxServer, path: str, subuser: str | None = None, body: Any = None):
    return requests.delete(
        sandbox.url + path, headers=sandbox.headers(subuser), json=body, timeout=5
    )


def emails(resp: requests.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [row["email"] for row in resp.json()]


@pytest.fixture
def acme(sandbox: SandboxServer) -> str:
    sandbox.store.add_subuser("acme")
    return "acme"


# --- auth and subusers ----------------------------------------------------------------------------


def test_auth_missing_or_wrong_key_is_401(sandbox: SandboxServer, acme: str) -> None:
    missing = requests.get(sandbox.url + BOUNCES, headers={"on-behalf-of": acme}, timeout=5)
    wrong = requests.get(
        sandbox.url + BOUNCES, headers={"Authorization": "Bearer SG.nope"}, timeout=5
    )
    basic = requests.get(sandbox.url + BOUNCES, auth=("apikey", sandbox.api_key), timeout=5)
    for resp in (missing, wrong, basic):
        assert resp.status_code == 401
        assert resp.json() == {"errors": [{"field": None, "message": "authorization required"}]}
        assert resp.headers["Content-Type"] == "application/json"
        assert "X-RateLimit-Remaining" in resp.headers


def test_auth_scheme_is_case_insensitive(sandbox: SandboxServer) -> None:
    headers = {"authorization": f"bearer {sandbox.api_key}"}
    assert requests.get(sandbox.url + "/v3/scopes", headers=headers, timeout=5).status_code == 200


def test_on_behalf_of_unknown_or_disabled_subuser_is_403(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("gone", disabled=True)
    for name in ("nobody", "gone", "account-id abc123"):
        resp = get(sandbox, BOUNCES, name)
        assert resp.status_code == 403
        assert resp.json() == {"errors": [{"field": None, "message": "access forbidden"}]}


def test_on_behalf_of_header_name_is_case_insensitive(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": "a@x.com", "created": T0}])
    headers = {"Authorization": f"Bearer {sandbox.api_key}", "On-Behalf-Of": acme}
    resp = requests.get(sandbox.url + BOUNCES, headers=headers, timeout=5)
    assert emails(resp) == ["a@x.com"]


def test_bounces_without_on_behalf_of_is_empty_parent_list(
    sandbox: SandboxServer, acme: str
) -> None:
    sandbox.store.add_bounces(acme, [{"email": "a@x.com"}])
    assert get(sandbox, BOUNCES).json() == []
    assert get(sandbox, BOUNCES + "/a%40x.com").json() == []


# --- listing --------------------------------------------------------------------------------------


def test_bounces_paging_1201_rows_gives_500_500_201(sandbox: SandboxServer, acme: str) -> None:
    # Ties in `created` (three rows per second) check that the email tiebreak keeps pages stable.
    rows = [{"email": f"user{i:04d}@example.com", "created": T0 - i // 3} for i in range(1201)]
    sandbox.store.add_bounces(acme, rows)
    pages = [get(sandbox, BOUNCES, acme, limit=500, offset=off) for off in (0, 500, 1000, 1500)]
    sizes = [len(p.json()) for p in pages]
    assert sizes == [500, 500, 201, 0]
    seen = [row["email"] for page in pages for row in page.json()]
    assert len(seen) == len(set(seen)) == 1201
    expected = sorted(rows, key=lambda r: (-r["created"], r["email"]))
    assert seen == [r["email"] for r in expected]
    assert pages[1].json()[0]["email"] == expected[500]["email"]


def test_bounces_default_limit_is_500(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": f"u{i}@x.com"} for i in range(501)])
    assert len(get(sandbox, BOUNCES, acme).json()) == 500


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"start_time": "yesterday"}, "start_time"),
    ],
)
def test_bounces_bad_paging_params_are_400(
    sandbox: SandboxServer, acme: str, params: dict[str, Any], field: str
) -> None:
    resp = get(sandbox, BOUNCES, acme, **params)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == field


def test_bounces_start_and_end_time_are_inclusive(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(
        acme, [{"email": f"t{i}@x.com", "created": T0 + i} for i in range(10)]
    )
    resp = get(sandbox, BOUNCES, acme, start_time=T0 + 3, end_time=T0 + 6)
    assert emails(resp) == ["t6@x.com", "t5@x.com", "t4@x.com", "t3@x.com"]
    assert emails(get(sandbox, BOUNCES, acme, start_time=T0 + 9)) == ["t9@x.com"]
    assert emails(get(sandbox, BOUNCES, acme, end_time=T0)) == ["t0@x.com"]


FILTER_ROWS = [
    "sales@acme.com",
    "salesdepartment@acme.com",
    "Sales.Upper@Example.com",
    "presales@acme.com",
    "market.tree@x.com",
    "supermarket@tree.org",
    "treemarket@x.com",
    "first_last@x.com",
    "firstxlast@x.com",
    "a+tag@x.com",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("sales", {"sales@acme.com", "salesdepartment@acme.com", "sales.upper@example.com"}),
        ("SALES@", {"sales@acme.com"}),
        ("%market", {"market.tree@x.com", "supermarket@tree.org", "treemarket@x.com"}),
        ("%market%tree", {"market.tree@x.com", "supermarket@tree.org"}),
        ("%@ACME", {"sales@acme.com", "salesdepartment@acme.com", "presales@acme.com"}),
        ("first_", {"first_last@x.com"}),
        ("a+", {"a+tag@x.com"}),
        ("nomatch", set()),
    ],
)
def test_bounces_email_filter_matches_like_sendgrid(
    sandbox: SandboxServer, acme: str, pattern: str, expected: set[str]
) -> None:
    sandbox.store.add_bounces(acme, [{"email": e, "created": T0} for e in FILTER_ROWS])
    # requests percent-encodes the value (% -> %25, @ -> %40, + -> %2B), as the docs require.
    assert set(emails(get(sandbox, BOUNCES, acme, email=pattern))) == expected


def test_bounces_email_filter_combines_with_paging(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(
        acme, [{"email": f"sales{i:02d}@x.com", "created": T0 - i} for i in range(30)]
    )
    sandbox.store.add_bounces(acme, [{"email": f"ops{i}@x.com"} for i in range(30)])
    page = emails(get(sandbox, BOUNCES, acme, email="sales", limit=10, offset=10))
    assert page == [f"sales{i:02d}@x.com" for i in range(10, 20)]


def test_bounces_repeat_bounce_overwrites(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": "A@x.com", "status": "4.2.2", "created": T0}])
    sandbox.store.add_bounces(acme, [{"email": "a@X.com", "status": "5.1.1", "created": T0 + 5}])
    rows = get(sandbox, BOUNCES, acme).json()
    assert [(r["email"], r["status"], r["created"]) for r in rows] == [("a@x.com", "5.1.1", T0 + 5)]


# --- single address -------------------------------------------------------------------------------


def test_single_bounce_get_returns_array(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": "a+b@x.com", "reason": "550 nope", "created": T0}])
    found = get(sandbox, BOUNCES + "/" + quote("A+B@x.com", safe=""), acme)
    assert found.json() == [
        {"created": T0, "email": "a+b@x.com", "reason": "550 nope", "status": "5.1.1"}
    ]
    # A raw "+" in the path is a literal plus, never a space.
    assert len(get(sandbox, BOUNCES + "/a+b%40x.com", acme).json()) == 1
    assert get(sandbox, BOUNCES + "/missing%40x.com", acme).json() == []


def test_single_bounce_delete_is_204_then_404(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": "a@x.com"}, {"email": "b@x.com"}])
    first = delete(sandbox, BOUNCES + "/a%40x.com", acme)
    assert first.status_code == 204
    assert first.content == b""
    again = delete(sandbox, BOUNCES + "/a%40x.com", acme)
    assert again.status_code == 404
    assert again.json() == {"errors": [{"field": None, "message": "email does not exist"}]}
    assert [b["email"] for b in sandbox.store.bounces(acme)] == ["b@x.com"]


# --- bulk delete ----------------------------------------------------------------------------------


def test_bulk_delete_emails_ignores_unknown(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": f"u{i}@x.com"} for i in range(5)])
    resp = delete(sandbox, BOUNCES, acme, {"emails": ["u1@x.com", "U3@X.COM", "ghost@x.com"]})
    assert resp.status_code == 204
    assert sorted(b["email"] for b in sandbox.store.bounces(acme)) == [
        "u0@x.com",
        "u2@x.com",
        "u4@x.com",
    ]


def test_bulk_delete_all_empties_only_that_subuser(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": f"u{i}@x.com"} for i in range(5)])
    sandbox.store.add_bounces("other", [{"email": "keep@x.com"}])
    assert delete(sandbox, BOUNCES, acme, {"delete_all": True}).status_code == 204
    assert sandbox.store.count(acme) == 0
    assert sandbox.store.count("other") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"emails": ["u1@x.com"], "delete_all": True},
        {"emails": ["u1@x.com"], "delete_all": False},
        {},
        {"delete_all": False},
        {"emails": "u1@x.com"},
        ["u1@x.com"],
        None,
    ],
)
def test_bulk_delete_bad_body_is_400(sandbox: SandboxServer, acme: str, body: Any) -> None:
    sandbox.store.add_bounces(acme, [{"email": "u1@x.com"}])
    resp = delete(sandbox, BOUNCES, acme, body)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["message"]
    assert sandbox.store.count(acme) == 1


def test_bulk_delete_malformed_json_is_400(sandbox: SandboxServer, acme: str) -> None:
    headers = {**sandbox.headers(acme), "Content-Type": "application/json"}
    resp = requests.delete(sandbox.url + BOUNCES, headers=headers, data=b"{emails:", timeout=5)
    assert resp.status_code == 400


# --- subusers, scopes, routing --------------------------------------------------------------------


def test_subusers_paging_filter_and_include_region(sandbox: SandboxServer) -> None:
    for i in range(7):
        sandbox.store.add_subuser(f"sub{i}", region="eu" if i % 3 == 0 else "global")
    first = get(sandbox, "/v3/subusers", limit=3)
    second = get(sandbox, "/v3/subusers", limit=3, offset=3)
    assert [s["username"] for s in first.json()] == ["sub0", "sub1", "sub2"]
    assert [s["username"] for s in second.json()] == ["sub3", "sub4", "sub5"]
    assert set(first.json()[0]) == {"disabled", "email", "id", "username"}
    ids = [s["id"] for s in get(sandbox, "/v3/subusers").json()]
    assert ids == sorted(ids) and len(ids) == 7
    with_region = get(sandbox, "/v3/subusers", include_region="true").json()
    assert [s["region"] for s in with_region][:2] == ["eu", "global"]
    assert [s["username"] for s in get(sandbox, "/v3/subusers", username="sub4").json()] == ["sub4"]
    assert get(sandbox, "/v3/subusers", username="sub").json() == []  # exact, not prefix
    assert len(get(sandbox, "/v3/subusers", region="eu").json()) == 3
    assert get(sandbox, "/v3/subusers", limit=501).status_code == 400


def test_scopes_lists_the_keys_permissions(sandbox: SandboxServer) -> None:
    scopes = get(sandbox, "/v3/scopes").json()["scopes"]
    assert {"suppression.bounces.read", "suppression.bounces.delete", "subusers.read"} <= set(
        scopes
    )
    sandbox.set_scopes(["suppression.bounces.read"])
    assert get(sandbox, "/v3/scopes").json() == {"scopes": ["suppression.bounces.read"]}


def test_routing_unknown_path_404_and_wrong_method_405(sandbox: SandboxServer) -> None:
    missing = get(sandbox, "/v3/suppression/unknown_list")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["message"]
    wrong = requests.post(sandbox.url + "/v3/subusers", headers=sandbox.headers(), timeout=5)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"


def test_connection_is_kept_alive(sandbox: SandboxServer, acme: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", BOUNCES, headers=sandbox.headers(acme))
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Length") == "2"
            assert resp.read() == b"[]"
        sock = conn.sock
        conn.request("DELETE", BOUNCES + "/x%40y.com", headers=sandbox.headers(acme))
        assert conn.getresponse().read() and conn.sock is sock  # same socket after a 404
    finally:
        conn.close()


# --- rate limiting --------------------------------------------------------------------------------


def test_rate_limit_headers_on_every_response(sandbox: SandboxServer, acme: str) -> None:
    first, second = get(sandbox, BOUNCES, acme), get(sandbox, BOUNCES, acme)
    assert first.headers["X-RateLimit-Limit"] == "10000"
    assert int(first.headers["X-RateLimit-Remaining"]) == 9999
    assert int(second.headers["X-RateLimit-Remaining"]) == 9998
    reset = int(first.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    # Another endpoint has its own budget.
    assert get(sandbox, "/v3/subusers").headers["X-RateLimit-Remaining"] == "9999"


def test_rate_limit_429_then_recovers_after_window(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("a")
    sandbox.store.add_subuser("b")
    sandbox.set_rate_limit(3, 0.6)
    started = time.time()
    statuses = [get(sandbox, BOUNCES, sub).status_code for sub in ("a", "b", "a")]
    assert statuses == [200, 200, 200]
    limited = get(sandbox, BOUNCES, "b")  # the budget is shared by all subusers
    assert limited.status_code == 429
    assert limited.json() == {"errors": [{"field": None, "message": "too many requests"}]}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(started)
    time.sleep(max(0.0, started + 0.65 - time.time()))
    again = get(sandbox, BOUNCES, "a")
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "2"


# --- OpenAPI conformance --------------------------------------------------------------------------


def test_openapi_list_bounces_200_matches_spec(sandbox: SandboxServer) -> None:
    seed_demo(sandbox.store, seed=1)
    resp = get(sandbox, BOUNCES, "acme-marketing", limit=500)
    assert resp.status_code == 200 and len(resp.json()) == 500
    assert_matches_spec(SUPPRESSIONS, resp)


def test_openapi_single_bounce_200_and_delete_204_match_spec(
    sandbox: SandboxServer, acme: str
) -> None:
    sandbox.store.add_bounces(acme, [{"email": "o'brien+x@example.com", "created": T0}])
    path = BOUNCES + "/" + quote("o'brien+x@example.com", safe="")
    found = get(sandbox, path, acme)
    assert len(found.json()) == 1
    assert_matches_spec(SUPPRESSIONS, found)
    gone = delete(sandbox, path, acme)
    assert gone.status_code == 204
    assert_matches_spec(SUPPRESSIONS, gone)


def test_openapi_401_error_body_matches_spec(sandbox: SandboxServer) -> None:
    resp = requests.delete(sandbox.url + BOUNCES, json={"delete_all": True}, timeout=5)
    assert resp.status_code == 401
    assert_matches_spec(SUPPRESSIONS, resp)


def test_openapi_subusers_200_matches_spec(sandbox: SandboxServer) -> None:
    seed_demo(sandbox.store, seed=1)
    for params in ({}, {"include_region": "true"}):
        resp = get(sandbox, "/v3/subusers", **params)
        assert len(resp.json()) == 5
        assert_matches_spec(SUBUSERS, resp)


def test_openapi_validation_catches_wrong_shape(sandbox: SandboxServer, acme: str) -> None:
    sandbox.store.add_bounces(acme, [{"email": "a@x.com"}])
    resp = get(sandbox, BOUNCES + "/a%40x.com", acme)
    resp._content = json.dumps(resp.json()[0]).encode()  # an object, not the documented array
    with pytest.raises(Exception, match="array"):
        assert_matches_spec(SUPPRESSIONS, resp)
