"""The sandbox's Event Webhook for a recipient's own requests: a spam report, unsubscribe or group
unsubscribe added through its controls (or the demo trickle) is posted as SendGrid posts it, to
the webhooks whose settings cover it; seeding a list posts nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bounceadmin.sandbox import SandboxServer, SandboxStore
from bounceadmin.sandbox.demo import FastRandom
from bounceadmin.sandbox.trickle import Trickle
from tests.support.sandbox_fixtures import SANDBOX_TEST_KEY
from tests.support.webhook_receiver import WebhookReceiver

from .test_sandbox_webhook_delivery import EVENT_ID, control, make_hook, verify


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_store: SandboxStore) -> Iterator[SandboxServer]:
    sandbox_store.add_subuser("acme")
    server = SandboxServer(
        sandbox_store, api_key=SANDBOX_TEST_KEY, webhook_interval=0.1, webhook_duplicate_rate=0
    ).start()
    yield server
    server.stop()


def add(sandbox: SandboxServer, kind: str, email: str, **extra) -> None:
    entry = {"email": email, "created": 1_700_000_000, "ip": "192.0.2.44"}
    control(sandbox, "POST", "lists", {"list": kind, "subuser": "acme", "entries": [entry],
                                       **extra})  # fmt: skip


def test_spam_reports_and_unsubscribes_added_are_posted_signed(sandbox, receiver):
    hook = make_hook(sandbox, receiver.url, signed=True, spam_report=True, unsubscribe=True,
                     group_unsubscribe=True)  # fmt: skip
    add(sandbox, "spam_reports", "Spam@Example.com")
    add(sandbox, "unsubscribes", "gone@example.com")
    add(sandbox, "group_unsubscribes", "news@example.com", group="Newsletter")
    assert control(sandbox, "POST", "webhooks/flush")["delivered"] == 3
    posts = receiver.posts
    events = {e["event"]: e for p in posts for e in p.events}
    for post in posts:
        verify(post, hook["public_key"])
    assert set(events) == {"spamreport", "unsubscribe", "group_unsubscribe"}
    spam = events["spamreport"]
    assert (spam["email"], spam["timestamp"], spam["ip"]) == (
        "spam@example.com", 1_700_000_000, "192.0.2.44",
    )  # fmt: skip
    assert EVENT_ID.fullmatch(spam["sg_event_id"])
    [group] = sandbox.store.lists.groups.groups("acme")
    assert events["group_unsubscribe"]["asm_group_id"] == group["id"]
    assert events["unsubscribe"]["email"] == "gone@example.com"


def test_only_webhooks_that_ask_for_the_event_get_it_and_blocks_post_nothing(sandbox, receiver):
    make_hook(sandbox, receiver.url, bounce=True, unsubscribe=True)
    add(sandbox, "spam_reports", "spam@example.com")  # not asked for
    add(sandbox, "blocks", "blocked@example.com")  # no recipient makes a block: no event
    add(sandbox, "unsubscribes", "gone@example.com")
    [post] = receiver.wait_for(1)
    assert [e["event"] for e in post.events] == ["unsubscribe"]


def test_seeding_a_list_posts_nothing(sandbox, receiver):
    make_hook(sandbox, receiver.url, spam_report=True)
    sandbox.store.lists.add("spam_reports", "acme", [{"email": "seeded@example.com"}])
    add(sandbox, "spam_reports", "live@example.com")
    [post] = receiver.wait_for(1)
    assert [e["email"] for e in post.events] == ["live@example.com"]


def test_the_trickle_adds_recipients_requests_now_and_then(sandbox_store: SandboxStore):
    sandbox_store.add_subuser("acme-marketing")
    trickle = Trickle(sandbox_store, 0, rng=FastRandom(1))  # seeded: the same mix each run
    added = [trickle.add_one() for _ in range(60)]
    kinds = {row.get("list", "bounces") for _, row in added}
    assert {"bounces", "spam_reports"} <= kinds
    assert kinds & {"unsubscribes", "group_unsubscribes"}
    counts = sandbox_store.lists.counts().get("acme-marketing", {})
    assert counts.get("spam_reports", 0) >= 1
