"""Spam reports, unsubscribes, group (re)subscribes and "Invalid" drops, delivered signed and
applied to the other lists: once, never undoing a newer removal, leaving a pushing removal to
the push, one bad event never stopping the rest, and each list's count kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.timeline import address_timeline
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.suppressions.models import (
    Suppression,
    SuppressionChange,
    SuppressionGroup,
    SuppressionListState,
)
from bounceadmin.webhooks.apply import batches_apply
from bounceadmin.webhooks.models import WebhookBatch, WebhookEvent
from bounceadmin.webhooks.receive import delivery_receive
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)
from tests.support.webhooks import SigningKey, body_of, list_event, make_endpoint

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
    """A signed delivery, received as the endpoint receives it."""
    body = body_of(events)
    stamp = str(int(timezone.now().timestamp()))
    delivery_receive(
        token=subuser.webhook.token, signature=key.sign(body, stamp), timestamp=stamp, body=body
    )


def at(minutes_ago: float) -> float:
    return (timezone.now() - timedelta(minutes=minutes_ago)).timestamp()


def active(subuser, name: str) -> list[str]:
    rows = Suppression.objects.filter(subuser=subuser, list=name, removed_at__isnull=True)
    return sorted(rows.values_list("email", flat=True))


def count(subuser, name: str) -> int:
    return SuppressionListState.objects.get(subuser=subuser, list=name).active


def outcomes() -> list[tuple[str, str]]:
    return sorted(WebhookEvent.objects.values_list("event", "outcome"))


def test_a_spam_report_adds_the_entry_with_its_ip_first_seen_and_counted(acme, key):
    deliver(acme, key, [list_event("spamreport", "Spam@Example.com", at=at(5), ip="192.0.2.7")])
    assert batches_apply(acme.pk) == 1
    entry = Suppression.objects.get(subuser=acme)
    assert (entry.list, entry.email, entry.ip) == ("spam_reports", "spam@example.com", "192.0.2.7")
    assert abs((timezone.now() - entry.created).total_seconds() - 300) < 2
    assert entry.first_seen is not None and entry.removed_at is None
    assert count(acme, "spam_reports") == 1
    assert outcomes() == [("spamreport", "created")]
    assert WebhookBatch.objects.get().outcome["created"] == 1


def test_an_unsubscribe_adds_the_global_unsubscribe(acme, key):
    deliver(acme, key, [list_event("unsubscribe", "gone@example.com")])
    batches_apply(acme.pk)
    assert active(acme, "global_unsubscribes") == ["gone@example.com"]
    assert count(acme, "global_unsubscribes") == 1


def test_a_group_unsubscribe_of_an_unknown_group_makes_a_placeholder_group(acme, key):
    known = make_group(acme, "Newsletter", upstream_id=41)
    deliver(acme, key, [
        list_event("group_unsubscribe", "a@example.com", asm_group_id=41),
        list_event("group_unsubscribe", "a@example.com", asm_group_id=77),
    ])  # fmt: skip
    batches_apply(acme.pk)
    new = SuppressionGroup.objects.get(subuser=acme, upstream_id=77)
    assert new.name == "group 77"  # the next refresh names it
    entries = Suppression.objects.filter(subuser=acme, list="group_unsubscribes")
    assert sorted(entries.values_list("group_id", "email")) == sorted(
        [(known.pk, "a@example.com"), (new.pk, "a@example.com")]
    )
    assert count(acme, "group_unsubscribes") == 2
    assert sorted(WebhookEvent.objects.values_list("asm_group_id", flat=True)) == [41, 77]


def test_a_group_resubscribe_takes_the_entry_off_with_its_history(acme, key):
    group = make_group(acme, "Newsletter", upstream_id=41)
    entry = make_suppression(acme, "a@example.com", group=group, created=timezone.now()
                             - timedelta(days=2))  # fmt: skip
    other = make_group(acme, "Updates", upstream_id=42)
    make_suppression(acme, "a@example.com", group=other)
    deliver(acme, key, [list_event("group_resubscribe", "a@example.com", asm_group_id=41,
                                   at=at(3))])  # fmt: skip
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.removed_at is not None
    assert abs((timezone.now() - entry.removed_at).total_seconds() - 180) < 2  # the event's time
    assert SuppressionChange.objects.get(suppression=entry).kind == "removed"
    assert count(acme, "group_unsubscribes") == 1  # the other group's entry stays
    assert outcomes() == [("group_resubscribe", "removed")]


def test_the_newest_of_an_unsubscribe_and_a_resubscribe_decides(acme, key):
    deliver(acme, key, [
        list_event("group_resubscribe", "a@example.com", asm_group_id=41, at=at(1)),
        list_event("group_unsubscribe", "a@example.com", asm_group_id=41, at=at(2)),
        list_event("group_unsubscribe", "b@example.com", asm_group_id=41, at=at(2)),
        list_event("group_resubscribe", "b@example.com", asm_group_id=41, at=at(3)),
    ])  # fmt: skip
    batches_apply(acme.pk)
    assert active(acme, "group_unsubscribes") == ["b@example.com"]
    # Resubscribed after unsubscribing, all in one batch: nothing cached to take off.
    assert not Suppression.objects.filter(email="a@example.com").exists()


def test_a_drop_as_invalid_adds_the_invalid_email_once(acme, key):
    deliver(acme, key, [
        list_event("dropped", "bad@example.com", reason="Invalid", status="5.0.0", at=at(5)),
        list_event("dropped", "bounced@example.com", reason="Bounced Address", at=at(5)),
        list_event("dropped", "spam@example.com", reason="Spam Reporting Address", at=at(5)),
        list_event("dropped", "unsub@example.com", reason="Unsubscribed Address", at=at(5)),
    ])  # fmt: skip
    batches_apply(acme.pk)
    entry = Suppression.objects.get(subuser=acme)
    assert (entry.list, entry.email, entry.reason) == ("invalid_emails", "bad@example.com",
                                                       "Invalid")  # fmt: skip
    # Another send dropped later: on the list already, the entry stays as it was listed.
    deliver(acme, key, [list_event("dropped", "bad@example.com", reason="Invalid", at=at(1))])
    batches_apply(acme.pk)
    assert Suppression.objects.get(subuser=acme).created == entry.created
    assert count(acme, "invalid_emails") == 1
    assert WebhookEvent.objects.filter(outcome="unchanged").count() == 1
    assert WebhookEvent.objects.filter(outcome="recorded").count() == 3


def test_a_redelivered_batch_of_list_events_is_applied_once(acme, key):
    events = [list_event("spamreport", "a@example.com"), list_event("unsubscribe", "b@example.com")]
    deliver(acme, key, events)
    deliver(acme, key, events)
    assert batches_apply(acme.pk) == 2
    assert Suppression.objects.count() == 2 and WebhookEvent.objects.count() == 2
    assert not SuppressionChange.objects.exists()
    assert WebhookBatch.objects.order_by("id").last().outcome["duplicates"] == 2


def test_an_event_older_than_a_removal_never_resurrects_it(acme, key):
    entry = make_suppression(acme, "a@example.com", "spam_reports", removed=True)
    deliver(acme, key, [list_event("spamreport", "a@example.com", at=at(10))])
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.removed_at is not None
    assert outcomes() == [("spamreport", "older")]


def test_an_event_newer_than_a_removal_puts_the_entry_back(acme, key):
    entry = make_suppression(acme, "a@example.com", "global_unsubscribes", removed=True)
    Suppression.objects.filter(pk=entry.pk).update(removed_at=timezone.now() - timedelta(hours=1))
    deliver(acme, key, [list_event("unsubscribe", "a@example.com", at=at(1))])
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.removed_at is None
    assert SuppressionChange.objects.get(suppression=entry).kind == "reappeared"
    assert count(acme, "global_unsubscribes") == 1
    assert outcomes() == [("unsubscribe", "reactivated")]


def test_a_newer_spam_report_refreshes_the_entry_and_an_older_changes_nothing(acme, key):
    entry = make_suppression(acme, "a@example.com", "spam_reports", ip="192.0.2.1",
                             created=timezone.now() - timedelta(hours=1))  # fmt: skip
    deliver(acme, key, [list_event("spamreport", "a@example.com", at=at(120), ip="192.0.2.9")])
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.ip == "192.0.2.1"
    deliver(acme, key, [list_event("spamreport", "a@example.com", at=at(1), ip="192.0.2.9")])
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.ip == "192.0.2.9"
    assert SuppressionChange.objects.get(suppression=entry).kind == "changed"
    assert outcomes() == [("spamreport", "older"), ("spamreport", "updated")]


def test_an_entry_whose_removal_is_pushing_is_held(acme, key):
    entry = make_suppression(acme, "a@example.com", "spam_reports", removed=False,
                             created=timezone.now() - timedelta(days=1))  # fmt: skip
    request = DeletionRequest.objects.create(
        subuser=acme, list="spam_reports", batch="00000000-0000-0000-0000-000000000003",
        requested_by=make_user("req", role="requester"), justification="consented",
        state=DeletionRequest.State.PUSHING, total=1,
    )  # fmt: skip
    DeletionItem.objects.create(request=request, suppression=entry, email="a@example.com",
                                state=DeletionItem.State.PUSHING)  # fmt: skip
    deliver(acme, key, [
        list_event("spamreport", "a@example.com", at=at(1), ip="192.0.2.9"),
        list_event("unsubscribe", "a@example.com", at=at(1)),  # another list: not held
    ])  # fmt: skip
    batches_apply(acme.pk)
    entry.refresh_from_db()
    assert entry.created < timezone.now() - timedelta(hours=23)
    assert outcomes() == [("spamreport", "held"), ("unsubscribe", "created")]


@pytest.mark.parametrize("bad", ["41", 0, -3, 1.5, True, None, 2**70])
def test_a_bad_asm_group_id_is_set_aside_and_the_rest_applied(acme, key, bad):
    deliver(acme, key, [
        list_event("group_unsubscribe", "bad@example.com", asm_group_id=bad),
        list_event("group_unsubscribe", "ok@example.com", asm_group_id=41),
    ])  # fmt: skip
    batches_apply(acme.pk)
    assert active(acme, "group_unsubscribes") == ["ok@example.com"]
    outcome = WebhookBatch.objects.get().outcome
    assert outcome["set_aside"] == 1 and outcome["created"] == 1
    assert any("asm_group_id" in note for note in outcome["notes"])


def test_a_nul_in_a_drop_reason_is_removed_and_noted(acme, key):
    deliver(acme, key, [list_event("dropped", "bad@example.com", reason="Inva\u0000lid")])
    batches_apply(acme.pk)
    assert Suppression.objects.get().reason == "Invalid"
    assert any("NUL" in note for note in WebhookBatch.objects.get().outcome["notes"])


def test_a_large_batch_is_written_in_bulk_and_counted_per_list(
    acme, key, django_assert_max_num_queries
):
    make_suppression(acme, "old@example.com", "spam_reports")
    events = [list_event("spamreport", f"s{i}@example.com") for i in range(1200)]
    events += [list_event("unsubscribe", f"u{i}@example.com") for i in range(300)]
    events += [list_event("group_unsubscribe", f"g{i}@example.com", asm_group_id=5 + i % 3)
               for i in range(300)]  # fmt: skip
    deliver(acme, key, events)
    # Reads a few per list and 500 addresses; inserts as many rows a statement as the database
    # takes (SQLite: about 90). One query per event would be 1,800.
    with django_assert_max_num_queries(len(events) // 15):
        batches_apply(acme.pk)
    assert count(acme, "spam_reports") == 1201
    assert count(acme, "global_unsubscribes") == 300
    assert count(acme, "group_unsubscribes") == 300
    assert SuppressionGroup.objects.filter(subuser=acme).count() == 3


def test_the_bounce_pages_timeline_says_what_the_recipient_did(acme, key):
    bounce = make_bounce(acme, "a@example.com", created=timezone.now() - timedelta(days=1))
    make_group(acme, "Newsletter", upstream_id=41)
    deliver(acme, key, [
        list_event("spamreport", "a@example.com", at=at(4)),
        list_event("unsubscribe", "a@example.com", at=at(3)),
        list_event("group_unsubscribe", "a@example.com", asm_group_id=41, at=at(2)),
        list_event("group_resubscribe", "a@example.com", asm_group_id=99, at=at(1)),
    ])  # fmt: skip
    batches_apply(acme.pk)
    entries = address_timeline(bounce).entries
    by_title = {e.title: e for e in entries}
    assert by_title["Reported as spam"].outcome == "Added to the spam report list; first seen"
    assert by_title["Unsubscribed from all mail"].outcome.startswith(
        "Added to the global unsubscribe list"
    )
    assert "Unsubscribed from group Newsletter" in by_title
    assert "Resubscribed to group 99" in by_title  # a group the cache does not know
    # The bounce itself was found by a refresh, not added by these events.
    assert "First seen" in by_title
