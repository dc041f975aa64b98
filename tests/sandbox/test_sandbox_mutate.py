"""The sandbox's `after` placement and `mutate` faults: a list that changes while it is paged."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from bounceadmin.sandbox import SandboxServer

BOUNCES = "/v3/suppression/bounces"
T0 = 1_700_000_000


@pytest.fixture(autouse=True)
def acme(sandbox: SandboxServer) -> None:
    # list order is created DESC: e09 first, e00 last
    rows = [{"email": f"e{i:02d}@x.com", "created": T0 + i} for i in range(10)]
    sandbox.store.add_bounces("acme", rows)


def page(sandbox: SandboxServer, offset: int = 0, limit: int = 3, subuser: str = "acme"):
    resp = requests.get(
        f"{sandbox.url}{BOUNCES}?limit={limit}&offset={offset}",
        headers=sandbox.headers(subuser),
        timeout=5,
    )
    resp.raise_for_status()
    return [b["email"] for b in resp.json()]


def control(sandbox: SandboxServer, method: str, body: Any = None) -> requests.Response:
    if body is None and method != "GET":
        body = {}  # controls that may change state take JSON only
    return requests.request(method, sandbox.url + "/_sandbox/faults", json=body, timeout=5)


def test_after_lets_matching_requests_by_then_fires(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("other")
    sandbox.inject_fault("status", status=503, subuser="acme", after=2)
    statuses = []
    for subuser in ("acme", "other", "acme", "acme", "acme"):
        statuses.append(
            requests.get(sandbox.url + BOUNCES, headers=sandbox.headers(subuser), timeout=5)
        )
    # "other" does not match, so it does not count: the third acme request gets the 503
    assert [r.status_code for r in statuses] == [200, 200, 200, 503, 200]


def test_after_counts_requests_another_fault_answered(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("status", status=500, count=2)
    sandbox.inject_fault("status", status=502, after=3)
    codes = [
        requests.get(sandbox.url + BOUNCES, headers=sandbox.headers("acme"), timeout=5).status_code
        for _ in range(5)
    ]
    assert codes == [500, 500, 200, 502, 200]
    assert sandbox.faults.pending() == []


def test_mutate_removes_first_entries_before_answering(sandbox: SandboxServer) -> None:
    assert page(sandbox) == ["e09@x.com", "e08@x.com", "e07@x.com"]
    sandbox.inject_fault("mutate", remove=2, after=1)

    assert page(sandbox, 3) == ["e06@x.com", "e05@x.com", "e04@x.com"]  # not yet
    # the next page's offset now skips e03 and e02: the list shifted under the client
    assert page(sandbox, 6) == ["e01@x.com", "e00@x.com"]
    assert [b["email"] for b in sandbox.store.bounces("acme")][:2] == ["e07@x.com", "e06@x.com"]
    assert sandbox.store.count("acme") == 8
    last = sandbox.requests[-1]
    assert (last["fault"], last["mutation"], last["status"]) == (
        "mutate", {"removed": 2, "added": 0}, 200
    )  # fmt: skip


def test_mutate_removes_named_emails_and_adds_rows_at_the_front(sandbox: SandboxServer) -> None:
    before = time.time()
    sandbox.inject_fault(
        "mutate", emails=["e09@x.com", "nobody@x.com"], add=[{"email": "New@X.com"}]
    )

    assert page(sandbox) == ["new@x.com", "e08@x.com", "e07@x.com"]
    new = sandbox.store.get_bounce("acme", "new@x.com")
    assert new is not None and new["created"] >= int(before)
    assert sandbox.store.get_bounce("acme", "e09@x.com") is None
    assert sandbox.requests[-1]["mutation"] == {"removed": 1, "added": 1}


def test_mutate_changes_the_list_of_the_matching_subuser(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("other", [{"email": "o1@x.com", "created": T0}])
    sandbox.inject_fault("mutate", subuser="other", emails=["o1@x.com", "e00@x.com"])

    page(sandbox)  # on behalf of acme: does not match
    assert sandbox.store.count("other") == 1
    assert page(sandbox, subuser="other") == []

    assert sandbox.store.count("acme") == 10  # only the requesting subuser's list changes


def test_mutate_over_http_control(sandbox: SandboxServer) -> None:
    made = control(sandbox, "POST", {"kind": "mutate", "remove": 3, "after": 1, "count": 2})
    assert made.status_code == 201
    [pending] = made.json()["faults"]
    assert (pending["kind"], pending["remove"], pending["after"]) == ("mutate", 3, 1)

    page(sandbox)
    page(sandbox)
    page(sandbox)

    assert sandbox.store.count("acme") == 4
    assert control(sandbox, "GET").json() == {"faults": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "mutate"}, "needs remove, emails or add"),
        ({"kind": "mutate", "remove": -1}, "remove must be"),
        ({"kind": "mutate", "emails": "a@x.com"}, "emails must be"),
        ({"kind": "mutate", "add": [{"status": "5.1.1"}]}, "add must be"),
        ({"kind": "status", "remove": 1}, "belong to mutate"),
        ({"kind": "status", "after": -2}, "after must be"),
        ({"kind": "mutate", "remove": 1, "shift": 1}, "unknown fault fields"),
    ],
)
def test_mutate_fault_validation(sandbox: SandboxServer, body: dict, message: str) -> None:
    resp = control(sandbox, "POST", body)
    assert resp.status_code == 400
    assert message in resp.json()["errors"][0]["message"]
    assert sandbox.faults.pending() == []
