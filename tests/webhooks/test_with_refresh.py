"""The webhook and the polling refresh write the same rows: what one wrote, the other finds
as it is; a delivery during a refresh waits for it and then applies on top of it."""

import time

import pytest

from bounceadmin.bounces.models import Bounce, BounceChange, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.refresh.subuser import SubuserRefresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid import get_client
from bounceadmin.webhooks.apply import Busy, batches_apply
from bounceadmin.webhooks.receive import delivery_receive
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint

pytestmark = pytest.mark.django_db(transaction=True)

CREATED = int(time.time()) - 600
ENTRY = {"email": "a@example.com", "status": "5.1.1", "reason": "550 5.1.1 no such user",
         "created": CREATED}  # fmt: skip


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    upstream.store.add_bounces("acme", [ENTRY])
    subusers_sync()
    subuser = Subuser.objects.get(username="acme")
    key = SigningKey()
    make_endpoint(subuser, key)
    return subuser, key


def deliver(subuser, key, events):
    body = body_of(events)
    stamp = str(int(time.time()))
    delivery_receive(
        token=subuser.webhook.token, signature=key.sign(body, stamp), timestamp=stamp, body=body
    )


def same_as_listed():
    return bounce_event(ENTRY["email"], at=CREATED, status=ENTRY["status"], reason=ENTRY["reason"])


@pytest.mark.parametrize("full", [False, True])
def test_a_refresh_after_the_webhook_finds_the_row_as_it_is(acme, full):
    subuser, key = acme
    deliver(subuser, key, [same_as_listed()])
    batches_apply(subuser.pk)
    run = bounces_refresh(subuser=subuser, full=full)
    assert run.outcome == "ok"
    assert (run.created, run.updated, run.removed) == (0, 0, 0)
    assert not BounceChange.objects.exists()


def test_the_webhook_after_a_refresh_finds_the_row_as_it_is(acme):
    subuser, key = acme
    assert bounces_refresh(subuser=subuser, full=True).created == 1
    deliver(subuser, key, [same_as_listed()])
    batches_apply(subuser.pk)
    assert Bounce.objects.get().reason == ENTRY["reason"]
    assert subuser.webhook.__class__.objects.get().last_event_at is not None
    assert not BounceChange.objects.exists()


def test_a_delivery_during_a_refresh_of_the_same_address_applies_after_it(acme):
    subuser, key = acme
    client = get_client()
    refresh = SubuserRefresh(subuser, full=True, client=client)  # holds the lease from here
    newer = bounce_event(ENTRY["email"], at=CREATED + 300, reason="550 again, later")
    deliver(subuser, key, [newer])
    with pytest.raises(Busy):
        batches_apply(subuser.pk)
    run = refresh.complete(refresh.download)  # writes the listing, frees the lease
    client.close()
    assert run.outcome == "ok" and run.created == 1
    batches_apply(subuser.pk)
    bounce = Bounce.objects.get()
    assert bounce.reason == "550 again, later"
    assert BounceChange.objects.get(bounce=bounce).old_reason == ENTRY["reason"]
