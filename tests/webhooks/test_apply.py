"""Applying stored batches: exactly once, in order, never resurrecting a removal, under the
subuser's lease, and one bad event never stops the rest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, BounceActiveCount, BounceChange
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.webhooks.apply import Busy, batches_apply
from bounceadmin.webhooks.models import WebhookBatch, WebhookEvent
from bounceadmin.webhooks.receive import delivery_receive
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key():
    return SigningKey()


@pytest.fixture
def acme(key):
    subuser = make_subuser("acme")
    make_endpoint(subuser, key)
    return subuser


def deliver(subuser, key, events) -> None:
    body = body_of(events)
    stamp = str(int(timezone.now().timestamp()))
    delivery_receive(
        token=subuser.webhook.token, signature=key.sign(body, stamp), timestamp=stamp, body=body
    )


def at(minutes_ago: float) -> float:
    return (timezone.now() - timedelta(minutes=minutes_ago)).timestamp()


def test_a_bounce_event_adds_the_bounce_classified_and_counted(acme, key):
    deliver(acme, key, [bounce_event("New@Example.com", at=at(5), bounce_classification="Technical",
                                     reason="550 5.7.1 TLS required", status="5.7.1")])  # fmt: skip
    assert batches_apply(acme.pk) == 1
    bounce = Bounce.objects.get(subuser=acme)
    assert bounce.email == "new@example.com"
    assert (bounce.status, bounce.reason) == ("5.7.1", "550 5.7.1 TLS required")
    assert abs((timezone.now() - bounce.created).total_seconds() - 300) < 2
    assert bounce.classification == "Technical Failure"  # SendGrid's name for it is "Technical"
    assert bounce.removed_at is None
    assert BounceActiveCount.objects.get(subuser=acme).count == 1  # the overview's summaries
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.classification) == ("created", "Technical")
    batch = WebhookBatch.objects.get()
    assert batch.state == "applied" and batch.outcome["created"] == 1


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        ("Frequency/Volume", "Frequency or Volume Too High"),
        ("Reputation", "Reputation"),
        ("Unclassified", "Invalid Address"),  # SendGrid does not know: our rules do
        (None, "Invalid Address"),
    ],
)
def test_sendgrids_classification_is_used_when_it_names_a_class(acme, key, theirs, expected):
    event = bounce_event("a@example.com", bounce_classification=theirs)
    if theirs is None:
        del event["bounce_classification"]
    deliver(acme, key, [event])
    batches_apply(acme.pk)
    assert Bounce.objects.get().classification == expected


def test_a_redelivered_batch_is_applied_once(acme, key):
    events = [bounce_event("a@example.com"), bounce_event("b@example.com")]
    deliver(acme, key, events)
    deliver(acme, key, events)  # SendGrid delivers at least once
    deliver(acme, key, [events[1], events[1]])
    assert batches_apply(acme.pk) == 3
    assert Bounce.objects.count() == 2
    assert WebhookEvent.objects.count() == 2
    assert [b.outcome["duplicates"] for b in WebhookBatch.objects.order_by("id")] == [0, 2, 2]
    assert batches_apply(acme.pk) == 0  # nothing pending is applied again


def test_events_out_of_order_leave_the_newest(acme, key):
    newer = bounce_event("a@example.com", at=at(1), reason="550 newer")
    older = bounce_event("a@example.com", at=at(30), reason="550 older")
    deliver(acme, key, [newer])
    deliver(acme, key, [older])
    batches_apply(acme.pk)
    assert Bounce.objects.get().reason == "550 newer"
    outcomes = dict(WebhookEvent.objects.values_list("reason", "outcome"))
    assert outcomes == {"550 newer": "created", "550 older": "older"}


def test_a_newer_bounce_rewrites_the_cached_one_and_keeps_its_history(acme, key):
    cached = make_bounce(acme, "a@example.com", created=timezone.now() - timedelta(days=3))
    deliver(acme, key, [bounce_event("a@example.com", at=at(1), reason="552 mailbox full",
                                     status="5.2.2")])  # fmt: skip
    batches_apply(acme.pk)
    cached.refresh_from_db()
    assert (cached.status, cached.reason) == ("5.2.2", "552 mailbox full")
    change = BounceChange.objects.get(bounce=cached)
    assert change.kind == "changed" and change.old_status == "5.1.1" and change.run is None


def test_an_event_older_than_a_removal_never_resurrects_it(acme, key):
    removed = make_bounce(acme, "a@example.com", removed=True)
    deliver(acme, key, [bounce_event("a@example.com", at=at(10))])  # before the removal
    batches_apply(acme.pk)
    removed.refresh_from_db()
    assert removed.removed_at is not None
    assert WebhookEvent.objects.get().outcome == "older"


def test_a_bounce_after_a_removal_is_a_repeat_of_it(acme, key):
    bounce = make_bounce(acme, "a@example.com", removed=True)
    requester = make_user("req", role="requester")
    request = DeletionRequest.objects.create(
        subuser=acme, batch="00000000-0000-0000-0000-000000000001", requested_by=requester,
        justification="fixed", state=DeletionRequest.State.DONE, total=1,
    )  # fmt: skip
    item = DeletionItem.objects.create(
        request=request, bounce=bounce, email="a@example.com",
        state=DeletionItem.State.DONE, pushed_at=bounce.removed_at,
    )  # fmt: skip
    Bounce.objects.filter(pk=bounce.pk).update(removed_at=timezone.now() - timedelta(minutes=5))
    deliver(acme, key, [bounce_event("a@example.com", at=at(1))])
    batches_apply(acme.pk)
    bounce.refresh_from_db()
    assert bounce.removed_at is None
    assert bounce.repeat_of_id == item.pk
    assert BounceChange.objects.get(bounce=bounce).kind == "reappeared"
    assert WebhookEvent.objects.get().outcome == "reactivated"


def test_an_address_whose_removal_is_pushing_is_held(acme, key):
    bounce = make_bounce(acme, "a@example.com", created=timezone.now() - timedelta(days=1))
    requester = make_user("req", role="requester")
    request = DeletionRequest.objects.create(
        subuser=acme, batch="00000000-0000-0000-0000-000000000002", requested_by=requester,
        justification="fixed", state=DeletionRequest.State.PUSHING, total=1,
    )  # fmt: skip
    DeletionItem.objects.create(
        request=request, bounce=bounce, email="a@example.com", state=DeletionItem.State.PUSHING
    )
    deliver(acme, key, [bounce_event("a@example.com", at=at(1), reason="550 again")])
    batches_apply(acme.pk)
    bounce.refresh_from_db()
    assert bounce.reason != "550 again"
    assert WebhookEvent.objects.get().outcome == "held"


def test_blocks_drops_and_deferrals_are_history_only(acme, key):
    deliver(acme, key, [
        bounce_event("a@example.com", type="blocked", reason="421 try later"),
        {"email": "b@example.com", "event": "dropped", "reason": "Bounced Address",
         "timestamp": int(at(1)), "sg_event_id": "drop-1"},
        {"email": "c@example.com", "event": "deferred", "response": "400 try again later",
         "attempt": "5", "timestamp": int(at(1)), "sg_event_id": "defer-1"},
    ])  # fmt: skip
    batches_apply(acme.pk)
    assert not Bounce.objects.exists()
    assert sorted(WebhookEvent.objects.values_list("event", "type", "outcome")) == [
        ("bounce", "blocked", "recorded"),
        ("deferred", "", "recorded"),
        ("dropped", "", "recorded"),
    ]


def test_events_that_cannot_be_stored_are_set_aside_and_the_rest_applied(acme, key):
    deliver(acme, key, [
        {"event": "bounce", "timestamp": int(at(1))},  # no address
        bounce_event("x" * 400 + "@example.com"),  # longer than any address
        bounce_event("ok@example.com", reason="550 NUL\u0000 inside", status="5.1.1\u0000"),
        bounce_event("when@example.com", timestamp="yesterday"),
        bounce_event("noname@example.com", event=None),
    ])  # fmt: skip
    batches_apply(acme.pk)
    assert list(Bounce.objects.values_list("email", "reason", "status")) == [
        ("ok@example.com", "550 NUL inside", "5.1.1")
    ]
    outcome = WebhookBatch.objects.get().outcome
    assert outcome["set_aside"] == 4
    assert outcome["created"] == 1
    assert any("NUL" in note for note in outcome["notes"])


def test_a_subuser_written_by_a_refresh_or_push_waits(acme, key):
    lease = SubuserLease(acme.pk)
    assert lease.acquire()
    deliver(acme, key, [bounce_event("a@example.com")])
    with pytest.raises(Busy):
        batches_apply(acme.pk)
    assert WebhookBatch.objects.get().state == "pending"
    assert not Bounce.objects.exists()
    lease.release()
    assert batches_apply(acme.pk) == 1
    assert Bounce.objects.count() == 1


def test_subusers_are_kept_apart(acme, key):
    other_key = SigningKey()
    beta = make_subuser("beta")
    make_endpoint(beta, other_key)
    same = bounce_event("shared@example.com")
    deliver(acme, key, [same])
    deliver(beta, other_key, [same])  # the same event id under another subuser is its own
    batches_apply(acme.pk)
    assert Bounce.objects.filter(subuser=acme).count() == 1
    assert not Bounce.objects.filter(subuser=beta).exists()
    batches_apply(beta.pk)
    assert Bounce.objects.filter(subuser=beta).count() == 1
