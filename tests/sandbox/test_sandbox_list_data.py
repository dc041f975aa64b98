"""Seeding and inspecting the other suppression lists: the controls (`/_sandbox/lists`,
`/_sandbox/groups`), the demo mix and the benchmark generator."""

from __future__ import annotations

import random
import time
from typing import Any

import requests

from bounceadmin.sandbox import OTHER_LISTS, SandboxServer, SandboxStore, seed_demo, seed_lists
from bounceadmin.sandbox.demo import SUBUSERS
from bounceadmin.sandbox.listdemo import EVERYWHERE

NOW = 1_800_000_000


def control(sandbox: SandboxServer, method: str, path: str, body: Any = None, **params: Any):
    if body is None and method != "GET":
        body = {}
    url = f"{sandbox.url}/_sandbox/{path}"
    return requests.request(method, url, json=body, params=params, timeout=5)


def test_control_seeds_inspects_and_removes_entries_of_any_list(sandbox: SandboxServer) -> None:
    entries = [{"email": "a@x.com", "reason": "Known bad domain"}, {"email": "b@x.com"}]
    added = control(sandbox, "POST", "lists", {"list": "invalid_emails", "subuser": "acme",
                                               "entries": entries, "generate": 3})  # fmt: skip
    assert added.status_code == 201 and added.json() == {"written": 5}
    listed = control(sandbox, "GET", "lists", list="invalid_emails", subuser="acme").json()
    assert len(listed) == 5 and {"a@x.com", "b@x.com"} <= {e["email"] for e in listed}
    assert control(sandbox, "GET", "lists", list="invalid_emails").json() == []  # the parent's
    removed = control(sandbox, "DELETE", "lists", {"list": "invalid_emails", "subuser": "acme",
                                                   "emails": ["A@x.com"]})  # fmt: skip
    assert removed.json() == {"removed": 1}
    assert control(sandbox, "GET", "lists").json() == {"acme": {"invalid_emails": 4}}


def test_control_seeds_groups_and_the_parent(sandbox: SandboxServer) -> None:
    body = {"list": "group_unsubscribes", "group": "Newsletter", "entries": [{"email": "a@x.com"}]}
    assert control(sandbox, "POST", "lists", body).status_code == 201
    made = control(sandbox, "POST", "groups", {"subuser": "acme", "name": "Offers"})
    assert made.status_code == 201 and made.json()["name"] == "Offers"
    assert [g["name"] for g in control(sandbox, "GET", "groups").json()] == ["Newsletter"]
    assert [g["name"] for g in control(sandbox, "GET", "groups", subuser="acme").json()] == [
        "Offers"
    ]
    [entry] = control(sandbox, "GET", "lists", list="group_unsubscribes").json()
    assert (entry["email"], entry["group_name"]) == ("a@x.com", "Newsletter")
    gone = control(sandbox, "DELETE", "lists", {"list": "group_unsubscribes", "delete_all": True})
    assert gone.json() == {"removed": 1}


def test_control_refuses_unknown_lists_and_bad_entries(sandbox: SandboxServer) -> None:
    assert control(sandbox, "POST", "lists", {"list": "nope"}).status_code == 400
    bad = {"list": "blocks", "entries": [{"reason": "no address"}]}
    assert control(sandbox, "POST", "lists", bad).status_code == 400
    no_group = {"list": "group_unsubscribes", "entries": [{"email": "a@x.com"}]}
    assert control(sandbox, "POST", "lists", no_group).status_code == 400
    text = requests.post(f"{sandbox.url}/_sandbox/lists", data="{}", timeout=5)
    assert text.status_code == 415  # like every control that changes state


def test_reset_empties_every_list(sandbox: SandboxServer) -> None:
    seed_demo(sandbox.store, seed=1, now=NOW)
    assert control(sandbox, "POST", "reset").status_code == 204
    assert control(sandbox, "GET", "lists").json() == {}
    assert control(sandbox, "GET", "health").json()["other_lists"] == 0


def test_demo_puts_every_account_on_every_list() -> None:
    store = SandboxStore(":memory:")
    counts = seed_demo(store, seed=1, now=NOW)
    per_account = store.lists.counts()

    assert counts == store.summary() and counts["other_lists"] > 3000
    for account in [name for name, *_ in SUBUSERS] + [""]:
        assert set(OTHER_LISTS) <= set(per_account[account]), account
        names = [g["name"] for g in store.lists.groups.groups(account)]
        assert names[:2] == ["Newsletter", "Product updates"]
    assert per_account[""]["bounces"] > 0  # the parent's own


def test_demo_has_addresses_bounced_on_one_subuser_and_unsubscribed_on_another() -> None:
    store = SandboxStore(":memory:")
    seed_demo(store, seed=1, now=NOW)
    first, second = SUBUSERS[0][0], SUBUSERS[1][0]
    bounced = {b["email"] for b in store.bounces(first)}
    unsubscribed = {e["email"] for e in store.lists.entries("unsubscribes", second)}

    assert len(bounced & unsubscribed) >= 10
    where = {
        "bounces": [s for s, *_ in SUBUSERS if store.get_bounce(s, EVERYWHERE)],
        "blocks": [s for s, *_ in SUBUSERS if store.lists.get("blocks", s, EVERYWHERE)],
        "unsubscribes": [s for s, *_ in SUBUSERS if store.lists.get("unsubscribes", s, EVERYWHERE)],
        "groups": [s for s, *_ in SUBUSERS if store.lists.groups.suppressions(s, EVERYWHERE)],
    }
    assert all(where.values()) and len({a for v in where.values() for a in v}) == 4
    assert store.lists.get("spam_reports", "", EVERYWHERE) is not None


def test_demo_is_deterministic() -> None:
    one, two = SandboxStore(":memory:"), SandboxStore(":memory:")
    seed_demo(one, seed=1, now=NOW)
    seed_demo(two, seed=1, now=NOW)
    assert one.lists.entries("spam_reports", "acme-marketing") == two.lists.entries(
        "spam_reports", "acme-marketing"
    )


def test_seed_lists_writes_a_bench_sized_list_fast() -> None:
    store = SandboxStore(":memory:")
    sizes = dict.fromkeys(OTHER_LISTS, 10_000)
    started = time.process_time()  # CPU time: a loaded machine does not inflate it

    written = seed_lists(store, "bench-000", sizes, rng=random.Random(2026), now=NOW)

    assert time.process_time() - started < 15  # 50,000 rows
    assert written == sizes
    assert store.lists.count("blocks", "bench-000") == 10_000
    plan = store._conn.execute(  # pages walk the index, never sort in memory
        "EXPLAIN QUERY PLAN SELECT * FROM suppressions WHERE list = 'blocks' "
        "AND account = 'bench-000' ORDER BY created DESC, email LIMIT 500"
    ).fetchall()
    assert "TEMP B-TREE" not in " ".join(str(row[-1]) for row in plan)


def test_page_counts_every_accounts_other_lists(sandbox: SandboxServer) -> None:
    sandbox.store.lists.add("spam_reports", "", [{"email": "a@x.com"}])
    sandbox.store.lists.add("blocks", "acme", [{"email": "<b>@x.com"}, {"email": "c@x.com"}])

    data = requests.get(sandbox.url, headers={"Accept": "application/json"}, timeout=5).json()
    page = requests.get(sandbox.url, timeout=5).text

    assert data["lists"] == {"": {"spam_reports": 1}, "acme": {"blocks": 2}}
    assert "<i>the parent</i>" in page
    assert 'href="/_sandbox/lists?list=blocks&amp;subuser=acme"' in page
    assert "<b>@x.com" not in page  # addresses never reach the page unescaped
