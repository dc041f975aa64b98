"""The webhook moves the overview's summaries by the rows it writes: after any mix of new,
rewritten and returning bounces they equal a rebuild from the rows."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import BounceActiveCount, BounceDailyCount, BounceSummaryState
from bounceadmin.bounces.refresh.summaries import bounce_summaries_rebuild
from bounceadmin.webhooks.apply import batches_apply
from bounceadmin.webhooks.receive import delivery_receive
from tests.support.factories import make_bounce, make_subuser
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint

pytestmark = pytest.mark.django_db

REPLIES = [
    ("5.1.1", "550 5.1.1 user unknown"),
    ("5.2.2", "552 5.2.2 mailbox full"),
    ("5.7.1", "550 5.7.1 blocked by spamhaus"),
    ("4.4.7", "421 4.4.7 message expired"),
    ("", "554 rejected: content looks like spam"),
]


def summaries(subuser) -> tuple[set, set]:
    days = set(BounceDailyCount.objects.filter(subuser=subuser).values_list("day", "type", "count"))
    active = set(
        BounceActiveCount.objects.filter(subuser=subuser).values_list(
            "classification", "type", "count", "newest"
        )
    )
    return days, active


@pytest.fixture
def in_zone(settings):
    def activate(zone: str) -> None:
        settings.TIME_ZONE = zone
        timezone.activate(zone)

    yield activate
    timezone.deactivate()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_patched_summaries_equal_a_rebuild(in_zone, zone, seed):
    in_zone(zone)
    rng = random.Random(seed)
    key = SigningKey()
    acme = make_subuser("acme")
    endpoint = make_endpoint(acme, key)
    now = timezone.now()
    emails = [f"u{i}@example.com" for i in range(40)]
    for email in emails[:20]:
        status, reason = rng.choice(REPLIES)
        make_bounce(acme, email, status=status, reason=reason, removed=rng.random() < 0.3,
                    created=now - timedelta(hours=rng.uniform(2, 24 * 5)))  # fmt: skip
    for _ in range(4):
        events = []
        for _ in range(15):
            status, reason = rng.choice(REPLIES)
            at = (now - timedelta(hours=rng.uniform(0, 24 * 6))).timestamp()
            theirs = rng.choice(["", "Content"])
            events.append(
                bounce_event(
                    rng.choice(emails), at=at, status=status, reason=reason,
                    bounce_classification=theirs,
                )
            )  # fmt: skip
        body = body_of(events)
        stamp = str(int(now.timestamp()))
        delivery_receive(token=endpoint.token, signature=key.sign(body, stamp), timestamp=stamp,
                         body=body)  # fmt: skip
        batches_apply(acme.pk)
        patched = summaries(acme)
        bounce_summaries_rebuild(subuser_id=acme.pk)
        assert patched == summaries(acme)


def test_summaries_counted_in_another_zone_are_rebuilt(settings):
    key = SigningKey()
    acme = make_subuser("acme")
    endpoint = make_endpoint(acme, key)
    make_bounce(acme, "old@example.com")
    BounceSummaryState.objects.filter(subuser=acme).update(zone="Pacific/Auckland")
    body = body_of([bounce_event("new@example.com")])
    stamp = str(int(timezone.now().timestamp()))
    delivery_receive(token=endpoint.token, signature=key.sign(body, stamp), timestamp=stamp,
                     body=body)  # fmt: skip
    batches_apply(acme.pk)
    assert BounceSummaryState.objects.get(subuser=acme).zone == settings.TIME_ZONE
    assert sum(BounceActiveCount.objects.filter(subuser=acme).values_list("count", flat=True)) == 2


def test_summaries_that_drifted_from_the_rows_are_counted_again():
    key = SigningKey()
    acme = make_subuser("acme")
    endpoint = make_endpoint(acme, key)
    make_bounce(acme, "old@example.com", created=timezone.now() - timedelta(days=2))
    BounceActiveCount.objects.filter(subuser=acme).delete()  # rows written past the summaries
    BounceDailyCount.objects.filter(subuser=acme).delete()
    body = body_of([bounce_event("old@example.com", reason="552 mailbox full", status="5.2.2")])
    stamp = str(int(timezone.now().timestamp()))
    delivery_receive(token=endpoint.token, signature=key.sign(body, stamp), timestamp=stamp,
                     body=body)  # fmt: skip
    batches_apply(acme.pk)
    patched = summaries(acme)
    bounce_summaries_rebuild(subuser_id=acme.pk)
    assert patched == summaries(acme)
    assert sum(count for _, _, count, _ in patched[1]) == 1
