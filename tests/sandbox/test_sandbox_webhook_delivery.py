"""The sandbox's Event Webhook deliveries, received by a real HTTP server on loopback: signed
bodies, batching, retries, duplicates, which events go where, and the demo trickle."""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bounceadmin.sandbox import SandboxServer, SandboxStore
from bounceadmin.sandbox.__main__ import parse_args
from tests.support.sandbox_fixtures import SANDBOX_TEST_KEY, start_sandbox_process
from tests.support.webhook_receiver import Post, WebhookReceiver

SETTINGS = "/v3/user/webhooks/event/settings"
CLASSIFICATIONS = {
    "Invalid Address", "Technical", "Content", "Reputation", "Frequency/Volume",
    "Mailbox Unavailable", "Unclassified",
}  # fmt: skip
EVENT_ID = re.compile(r"[A-Za-z0-9_-]{22}")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_store: SandboxStore) -> Iterator[SandboxServer]:
    """A sandbox that delivers fast and exactly once (tests that want duplicates ask)."""
    sandbox_store.add_subuser("acme")
    sandbox_store.add_subuser("globex")
    server = SandboxServer(
        sandbox_store,
        api_key=SANDBOX_TEST_KEY,
        webhook_interval=0.2,
        webhook_retry_seconds=0.1,
        webhook_duplicate_rate=0,
    ).start()
    yield server
    server.stop()


def control(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    """A control request; those that may change state always send JSON (`{}` by default)."""
    if body is None and method != "GET":
        body = {}
    resp = requests.request(method, f"{sandbox.url}/_sandbox/{path}", json=body, timeout=30)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def make_hook(
    sandbox: SandboxServer,
    url: str,
    subuser: str | None = "acme",
    *,
    signed: bool = False,
    **flags: bool,
) -> dict[str, Any]:
    """A webhook (enabled, sending bounces unless told otherwise): {"id", "public_key"}."""
    body = {"url": url, "enabled": True, **(flags or {"bounce": True})}
    made = requests.post(
        sandbox.url + SETTINGS, headers=sandbox.headers(subuser), json=body, timeout=5
    )
    assert made.status_code == 201, made.text
    key = ""
    if signed:
        on = requests.patch(
            f"{sandbox.url}{SETTINGS}/signed/{made.json()['id']}",
            headers=sandbox.headers(subuser),
            json={"enabled": True},
            timeout=5,
        )
        key = on.json()["public_key"]
    return {"id": made.json()["id"], "public_key": key}


def add_bounces(sandbox: SandboxServer, subuser: str, *emails: str, **extra: Any) -> None:
    rows = [{"email": email, "created": 1_700_000_000 + i} for i, email in enumerate(emails)]
    control(sandbox, "POST", "bounces", {"subuser": subuser, "bounces": rows, **extra})


def verify(post: Post, public_key: str, body: bytes | None = None) -> None:
    """As a receiver must: SHA-256 ECDSA over the timestamp header + the raw body."""
    key = serialization.load_der_public_key(base64.b64decode(public_key))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = base64.b64decode(post.headers["X-Twilio-Email-Event-Webhook-Signature"])
    signed = post.headers["X-Twilio-Email-Event-Webhook-Timestamp"].encode()
    key.verify(signature, signed + (post.body if body is None else body), ec.ECDSA(hashes.SHA256()))


def wait_until(check: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_delivery_is_signed_over_the_timestamp_and_the_raw_body(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    hook = make_hook(sandbox, receiver.url, signed=True)
    before = int(time.time())

    add_bounces(sandbox, "acme", "a@x.com", "b@x.com")
    control(sandbox, "POST", "webhooks/flush")

    [post] = receiver.wait_for(1)
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["User-Agent"] == "SendGrid Event API"
    assert before <= int(post.headers["X-Twilio-Email-Event-Webhook-Timestamp"]) <= time.time()
    assert post.body.endswith(b"]\r\n")  # SendGrid's body keeps its trailing CRLF...
    verify(post, hook["public_key"])
    with pytest.raises(InvalidSignature):  # ...and the signature covers it
        verify(post, hook["public_key"], post.body.rstrip(b"\r\n"))
    events = post.events
    assert [(e["email"], e["timestamp"]) for e in events] == [
        ("a@x.com", 1_700_000_000),
        ("b@x.com", 1_700_000_001),
    ]
    for event in events:
        assert (event["event"], event["type"], event["status"]) == ("bounce", "bounce", "5.1.1")
        assert event["reason"].startswith("550 5.1.1")
        assert EVENT_ID.fullmatch(event["sg_event_id"])
        assert re.fullmatch(r"<[0-9a-f.]+@ismtpd-\d+>", event["smtp-id"])
        assert event["sg_message_id"].startswith(event["smtp-id"][1:].split("@")[0] + ".filter")
        assert isinstance(event["category"], str | list)
        assert event.get("bounce_classification", "Invalid Address") in CLASSIFICATIONS
    assert len({e["sg_event_id"] for e in events}) == 2


def test_delivery_unsigned_has_no_signature_headers(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    make_hook(sandbox, receiver.url)
    add_bounces(sandbox, "acme", "a@x.com")

    [post] = receiver.wait_for(1)

    assert "X-Twilio-Email-Event-Webhook-Signature" not in post.headers
    assert "X-Twilio-Email-Event-Webhook-Timestamp" not in post.headers
    assert [e["email"] for e in post.events] == ["a@x.com"]


def test_delivery_batches_by_size(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    hook = make_hook(sandbox, receiver.url)
    control(sandbox, "POST", "webhooks/config", {"batch_size": 3, "interval": 30})

    add_bounces(sandbox, "acme", *(f"u{i}@x.com" for i in range(7)))

    posts = receiver.wait_for(2)
    assert [len(p.events) for p in posts] == [3, 3]
    wait_until(lambda: sandbox.delivery.status()[hook["id"]]["queued"] == 1)
    assert len(receiver.posts) == 2  # the seventh waits for the interval (or a flush)
    flushed = control(sandbox, "POST", "webhooks/flush")
    assert flushed == {"webhooks": 1, "attempts": 1, "delivered": 1, "failed": 0, "queued": 0}
    assert [e["email"] for p in receiver.posts for e in p.events] == [
        f"u{i}@x.com" for i in range(7)
    ]


def test_delivery_batches_by_interval(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    make_hook(sandbox, receiver.url)
    control(sandbox, "POST", "webhooks/config", {"interval": 0.5})
    start = time.monotonic()

    add_bounces(sandbox, "acme", "a@x.com", "b@x.com")
    time.sleep(0.15)
    add_bounces(sandbox, "acme", "c@x.com")

    [post] = receiver.wait_for(1)
    assert post.at - start >= 0.45  # the oldest event waited out the interval...
    assert [e["email"] for e in post.events] == ["a@x.com", "b@x.com", "c@x.com"]  # ...in one
    time.sleep(0.3)
    assert len(receiver.posts) == 1


def recorded_attempts(sandbox: SandboxServer, count: int) -> list[dict]:
    """The sandbox's delivery attempts once `count` are recorded: it records one when its POST
    is answered, just after the receiver has it, so reading at once can miss the last."""
    deadline = time.monotonic() + 5
    while len(attempts := control(sandbox, "GET", "webhooks/deliveries")) < count:
        assert time.monotonic() < deadline, attempts
        time.sleep(0.02)
    return attempts


def test_delivery_retries_a_failed_batch_whole_and_signed_afresh(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    hook = make_hook(sandbox, receiver.url, signed=True)
    receiver.statuses.extend([500])

    add_bounces(sandbox, "acme", "a@x.com", "b@x.com")

    failed, retried = receiver.wait_for(2)
    assert (failed.status, retried.status) == (500, 200)
    assert failed.ids == retried.ids
    verify(failed, hook["public_key"])
    verify(retried, hook["public_key"])
    attempts = recorded_attempts(sandbox, 2)
    assert [(a["attempt"], a["status"], a["events"], a["ok"]) for a in attempts] == [
        (1, 500, 2, False),
        (2, 200, 2, True),
    ]
    assert attempts[0]["webhook_id"] == hook["id"]
    assert (attempts[0]["account"], attempts[0]["url"]) == ("acme", receiver.url)
    time.sleep(0.3)
    assert len(receiver.posts) == 2


def test_delivery_keeps_a_webhooks_batches_in_order(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    make_hook(sandbox, receiver.url)
    control(sandbox, "POST", "webhooks/config", {"batch_size": 2})
    receiver.statuses.extend([503, 500])

    add_bounces(sandbox, "acme", "a@x.com", "b@x.com", "c@x.com", "d@x.com")

    posts = receiver.wait_for(4)
    assert [[e["email"] for e in p.events] for p in posts] == [
        ["a@x.com", "b@x.com"],
        ["a@x.com", "b@x.com"],
        ["a@x.com", "b@x.com"],
        ["c@x.com", "d@x.com"],
    ]
    assert [p.status for p in posts] == [503, 500, 200, 200]


def test_delivery_backs_off_doubling_and_gives_up(sandbox: SandboxServer) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = make_hook(sandbox, f"http://127.0.0.1:{port}/events")
    sandbox.delivery.give_up_seconds = 0.65

    add_bounces(sandbox, "acme", "a@x.com")

    wait_until(lambda: (sandbox.delivery.status()[hook["id"]]["last"] or {}).get("gave_up"))
    assert sandbox.delivery.status()[hook["id"]]["queued"] == 0  # the batch was dropped
    attempts = control(sandbox, "GET", "webhooks/deliveries")
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["status"] is None and "Connection" in a["error"] for a in attempts)
    times = [a["time"] for a in attempts]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    for gap, least in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert gap >= least * 0.95
    assert [a["gave_up"] for a in attempts] == [False, False, False, True]


def test_delivery_duplicate_rate_1_delivers_every_batch_twice(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    make_hook(sandbox, receiver.url)
    control(sandbox, "POST", "webhooks/config", {"duplicate_rate": 1})

    add_bounces(sandbox, "acme", "a@x.com", "b@x.com")

    first, second = receiver.wait_for(2)
    assert first.ids == second.ids
    attempts = recorded_attempts(sandbox, 2)
    assert [(a["duplicate"], a["events"]) for a in attempts] == [(False, 2), (True, 2)]


def test_events_go_only_to_webhooks_whose_settings_cover_them(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    bounces = make_hook(sandbox, receiver.url + "/bounces", bounce=True)
    drops = make_hook(sandbox, receiver.url + "/drops", dropped=True, deferred=True)
    off = make_hook(sandbox, receiver.url + "/off", bounce=True, dropped=True)
    requests.patch(
        f"{sandbox.url}{SETTINGS}/{off['id']}",
        headers=sandbox.headers("acme"),
        json={"enabled": False},
        timeout=5,
    )
    make_hook(sandbox, receiver.url + "/globex", "globex", bounce=True, dropped=True)
    sent = [
        {"event": "bounce", "email": "a@x.com", "type": "bounce", "reason": "550 unknown user"},
        {"event": "bounce", "email": "b@x.com", "type": "blocked", "reason": "421 try later"},
        {"event": "dropped", "email": "c@x.com", "reason": "Bounced Address", "status": "5.0.0"},
        {"event": "deferred", "email": "d@x.com", "response": "400 try again", "attempt": "5"},
        {"event": "open", "email": "e@x.com", "sg_event_id": "given-id-kept-as-sent"},
    ]

    queued = control(sandbox, "POST", "webhooks/events", {"subuser": "acme", "events": sent})
    control(sandbox, "POST", "webhooks/flush")

    assert queued["queued"] == {bounces["id"]: 2, drops["id"]: 2}
    events = queued["events"]
    assert [{k: e[k] for k in sent[i]} for i, e in enumerate(events)] == sent
    for event in events:
        assert isinstance(event["timestamp"], int) and event["smtp-id"].startswith("<")
    assert all(EVENT_ID.fullmatch(e["sg_event_id"]) for e in events[:4])
    by_path = {p.path: p for p in receiver.wait_for(2)}
    assert set(by_path) == {"/events/bounces", "/events/drops"}
    assert by_path["/events/bounces"].events == events[:2]
    assert by_path["/events/drops"].events == events[2:4]


def test_events_control_takes_the_parent_and_refuses_bad_events(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    parent = make_hook(sandbox, receiver.url, None, dropped=True)
    queued = control(
        sandbox,
        "POST",
        "webhooks/events",
        {"subuser": "", "events": [{"event": "dropped", "email": "a@x.com"}]},
    )
    assert queued["queued"] == {parent["id"]: 1}
    bad = [
        {"subuser": "acme", "events": []},
        {"subuser": "acme", "events": [{"event": "exploded", "email": "a@x.com"}]},
        {"subuser": "acme", "events": [{"event": "bounce"}]},
        {"subuser": "nobody", "events": [{"event": "bounce", "email": "a@x.com"}]},
    ]
    for body in bad:
        resp = requests.post(f"{sandbox.url}/_sandbox/webhooks/events", json=body, timeout=5)
        assert resp.status_code == 400, body


def test_every_way_of_adding_bounces_is_delivered(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    sandbox.store.add_subuser("acme-marketing")
    make_hook(sandbox, receiver.url + "/acme")
    make_hook(sandbox, receiver.url + "/marketing", "acme-marketing")

    add_bounces(sandbox, "acme", "a@x.com", generate=3)  # the bounces control
    sandbox.inject_fault("mutate", add=[{"email": "m@x.com"}])  # someone else's change
    requests.get(
        sandbox.url + "/v3/suppression/bounces", headers=sandbox.headers("acme"), timeout=5
    )
    seeded = control(sandbox, "POST", "seed", {"demo": True})  # 2,200 for acme-marketing

    def received(path: str) -> list[str]:
        return [e["email"] for p in receiver.posts if p.path == path for e in p.events]

    wait_until(lambda: len(received("/events/marketing")) == 2200)
    wait_until(lambda: len(received("/events/acme")) == 5)
    assert seeded["bounces"] > 7_000  # the five demo lists
    assert sorted(received("/events/acme")) == sorted(
        b["email"] for b in sandbox.store.bounces("acme")
    )
    sizes = [len(p.events) for p in receiver.posts if p.path == "/events/marketing"]
    assert max(sizes) == 1000  # the default batch size
    assert len(set(received("/events/marketing"))) == 2200


def test_deleted_or_disabled_webhooks_get_nothing_more(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    control(sandbox, "POST", "webhooks/config", {"interval": 30})
    gone = make_hook(sandbox, receiver.url + "/gone")
    off = make_hook(sandbox, receiver.url + "/off")
    add_bounces(sandbox, "acme", "a@x.com")
    headers = sandbox.headers("acme")

    requests.delete(f"{sandbox.url}{SETTINGS}/{gone['id']}", headers=headers, timeout=5)
    requests.patch(
        f"{sandbox.url}{SETTINGS}/{off['id']}", headers=headers, json={"enabled": False}, timeout=5
    )
    flushed = control(sandbox, "POST", "webhooks/flush")

    assert (flushed["attempts"], flushed["queued"]) == (0, 0)
    assert receiver.posts == []


def test_webhook_config_control(sandbox: SandboxServer) -> None:
    assert control(sandbox, "GET", "webhooks/config") == {
        "interval": 0.2,
        "batch_size": 1000,
        "duplicate_rate": 0.0,
        "retry_seconds": 0.1,
        "max_allowed": 5,
    }
    changed = control(sandbox, "POST", "webhooks/config", {"interval": 2, "batch_size": 10})
    assert (changed["interval"], changed["batch_size"], changed["retry_seconds"]) == (2, 10, 0.1)
    for bad in (
        {"interval": 0},
        {"batch_size": 1.5},
        {"duplicate_rate": 2},
        {"retry_seconds": "soon"},
        {"max_allowed": -1},
        {"bogus": 1},
    ):
        resp = requests.post(f"{sandbox.url}/_sandbox/webhooks/config", json=bad, timeout=5)
        assert resp.status_code == 400, bad
    assert control(sandbox, "GET", "webhooks/config")["interval"] == 2


def test_reset_clears_webhooks_and_their_queues(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    control(sandbox, "POST", "webhooks/config", {"interval": 30})
    make_hook(sandbox, receiver.url)
    add_bounces(sandbox, "acme", "a@x.com")

    control(sandbox, "POST", "reset")

    assert sandbox.store.webhooks.list_for(None) == []
    assert control(sandbox, "POST", "webhooks/flush")["queued"] == 0
    assert control(sandbox, "GET", "webhooks/deliveries") == []
    assert receiver.posts == []


# --- the demo trickle -----------------------------------------------------------------------------


def test_trickle_adds_bounces_that_are_delivered(
    sandbox_store: SandboxStore, receiver: WebhookReceiver
) -> None:
    sandbox_store.add_subuser("acme-marketing")  # a demo subuser: the trickle writes to those
    sandbox_store.add_subuser("acme")  # not a demo one: left alone
    with SandboxServer(
        sandbox_store, trickle_seconds=0.1, webhook_interval=0.1, webhook_duplicate_rate=0
    ) as sandbox:
        make_hook(sandbox, receiver.url, "acme-marketing")
        receiver.wait_for(2)

    # The newest event per address (a repeated address is a repeat bounce: one row, two events).
    delivered = {e["email"]: e for p in receiver.posts for e in p.events}
    stored = {b["email"]: b for b in sandbox_store.bounces("acme-marketing")}
    assert len(stored) >= len(delivered) >= 1
    assert sum(len(p.events) for p in receiver.posts) >= 2
    for event in delivered.values():
        assert event["timestamp"] == stored[event["email"]]["created"]
        assert time.time() - 10 < event["timestamp"] <= time.time()
        assert event["reason"] == stored[event["email"]]["reason"]
    assert sandbox_store.count("acme") == 0


def test_cli_takes_the_webhook_and_trickle_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_WEBHOOK_INTERVAL", "0.5")
    monkeypatch.setenv("SANDBOX_TRICKLE_SECONDS", "20")
    from_env = parse_args([])
    assert (from_env.webhook_interval, from_env.trickle) == (0.5, 20)
    assert parse_args(["--webhook-batch-size", "7"]).webhook_batch_size == 7

    process = start_sandbox_process(
        tmp_path / "sandbox.sqlite3", "--seed-demo", "--trickle", "0.1", "--webhook-interval", "1"
    )
    try:
        health = f"{process.url}/_sandbox/health"
        first = requests.get(health, timeout=5).json()["bounces"]
        wait_until(lambda: requests.get(health, timeout=5).json()["bounces"] >= first + 2)
        config = requests.get(f"{process.url}/_sandbox/webhooks/config", timeout=5).json()
        assert config["interval"] == 1
    finally:
        assert process.stop() == 0
