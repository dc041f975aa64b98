"""Receiving a delivery: verified on the raw body, stored before it is answered, refused with a
clear status and nothing stored otherwise."""

import json
import time

import pytest

from bounceadmin.audit.models import AuditEvent
from bounceadmin.webhooks.models import WebhookBatch, WebhookEndpoint
from tests.support.factories import make_subuser
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return SigningKey()


@pytest.fixture
def endpoint(key):
    return make_endpoint(make_subuser("acme"), key)


def post(client, endpoint, body: bytes, key: SigningKey | None, *, timestamp=None, **headers):
    signed = key.headers(body, timestamp=timestamp) if key else {}
    return client.post(
        endpoint.path if isinstance(endpoint, WebhookEndpoint) else endpoint,
        data=body, content_type="application/json", **(signed | headers),
    )  # fmt: skip


def refusals(why: str) -> list[AuditEvent]:
    return [
        e for e in AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_REFUSED)
        if why in e.details["why"]
    ]  # fmt: skip


def test_a_signed_delivery_is_stored_as_sent_and_answered_2xx(
    client, endpoint, key, django_capture_on_commit_callbacks
):
    body = body_of([bounce_event("a@example.com"), bounce_event("b@example.com")])
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, endpoint, body, key)
    assert response.status_code == 200
    assert response.json() == {"received": 2}
    batch = WebhookBatch.objects.get()
    assert batch.body.encode() == body
    assert (batch.subuser_id, batch.events, batch.state) == (endpoint.subuser_id, 2, "pending")
    assert len(queued) == 1  # the task that applies it, once committed
    endpoint.refresh_from_db()
    assert endpoint.last_delivery_at is not None


def test_an_empty_batch_is_accepted_and_stores_nothing(client, endpoint, key):
    response = post(client, endpoint, b"[]", key)
    assert (response.status_code, response.json()) == (200, {"received": 0})
    assert not WebhookBatch.objects.exists()


def test_an_unknown_token_is_404(client, endpoint, key):
    response = post(client, "/webhooks/sendgrid/no-such-token/", body_of([]), key)
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"]
    assert not WebhookBatch.objects.exists()
    assert refusals("no webhook")


@pytest.mark.parametrize(
    "case",
    ["no headers", "another key", "tampered body", "no timestamp", "bad timestamp", "unsigned"],
)
def test_a_bad_or_missing_signature_is_403_and_stores_nothing(client, endpoint, key, case):
    body = body_of([bounce_event("a@example.com")])
    if case == "no headers":
        response = post(client, endpoint, body, None)
    elif case == "another key":
        response = post(client, endpoint, body, SigningKey())
    elif case == "tampered body":
        headers = key.headers(body)
        tampered = body.replace(b"a@example.com", b"b@example.com")
        response = client.post(endpoint.path, tampered, "application/json", **headers)
    elif case == "no timestamp":
        headers = {k: v for k, v in key.headers(body).items() if "TIMESTAMP" not in k}
        response = client.post(endpoint.path, body, "application/json", **headers)
    elif case == "bad timestamp":
        response = post(client, endpoint, body, key, timestamp="12ab")
    else:  # signing never turned on: there is no key to check against
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(signing=False, public_key="")
        response = post(client, endpoint, body, key)
    assert response.status_code == 403
    assert not WebhookBatch.objects.exists()
    endpoint.refresh_from_db()
    assert (endpoint.refused_signature, endpoint.refused_stale) == (1, 0)
    assert endpoint.last_refused_at is not None
    assert refusals("signature")


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_a_stale_or_future_timestamp_is_403(client, endpoint, key, offset):
    body = body_of([bounce_event("a@example.com")])
    response = post(client, endpoint, body, key, timestamp=int(time.time()) + offset)
    assert response.status_code == 403
    assert not WebhookBatch.objects.exists()
    endpoint.refresh_from_db()
    assert (endpoint.refused_signature, endpoint.refused_stale) == (0, 1)
    assert refusals("timestamp")


def test_the_window_is_the_setting(client, endpoint, key, settings):
    settings.WEBHOOK_MAX_AGE_SECONDS = 7200
    body = body_of([bounce_event("a@example.com")])
    assert post(client, endpoint, body, key, timestamp=int(time.time()) - 3600).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json\r\n",
        b'{"email": "a@example.com"}',
        b'["a@example.com"]',
        b'[{"email": "a@example.com"}, 7]',
        b'[{"email": "\xff\xfe"}]',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not json", "an object", "strings", "a number", "not utf-8", "deeply nested"],
)
def test_a_signed_body_of_the_wrong_shape_is_400(client, endpoint, key, body):
    response = post(client, endpoint, body, key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]
    assert not WebhookBatch.objects.exists()


def test_a_body_over_the_limit_is_413(client, endpoint, key, settings):
    settings.WEBHOOK_MAX_BYTES = 1000
    body = body_of([bounce_event(f"user{i}@example.com") for i in range(20)])
    assert len(body) > 1000
    response = post(client, endpoint, body, key)
    assert response.status_code == 413
    assert not WebhookBatch.objects.exists()


def test_only_post_is_answered(client, endpoint):
    assert client.get(endpoint.path).status_code == 405
    assert client.put(endpoint.path).status_code == 405


def test_a_flood_of_bad_signatures_is_counted_but_not_all_audited(client, endpoint, settings):
    settings.WEBHOOK_REFUSAL_AUDIT_PER_HOUR = 5
    body = body_of([bounce_event("a@example.com")])
    intruder = SigningKey()
    for _ in range(120):
        assert post(client, endpoint, body, intruder).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.refused_signature == 120
    audited = refusals("signature")
    # The first five, then each power of ten.
    assert [e.details["refused_this_hour"] for e in reversed(audited)] == [1, 2, 3, 4, 5, 10, 100]
    assert all(e.subuser == "acme" for e in audited)


def test_the_answer_and_the_audit_name_nothing_of_ours(client, endpoint, key, settings):
    settings.SENDGRID_API_KEY = "SG.never-shown-anywhere"
    response = post(client, endpoint, body_of([]), SigningKey())
    text = response.content.decode() + json.dumps(
        list(AuditEvent.objects.values_list("details", flat=True))
    )
    assert "SG.never-shown-anywhere" not in text
    assert key.public_key not in text
