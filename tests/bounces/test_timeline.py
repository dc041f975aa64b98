"""The bounce page's timeline: webhook events, refreshes and deletion requests of one subuser's
address, merged newest first, bounded, and never another subuser's."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, BounceChange, RefreshRun
from bounceadmin.bounces.timeline import address_timeline
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.webhooks.apply import batches_apply
from bounceadmin.webhooks.models import WebhookBatch, WebhookEvent
from tests.support.browser import log_in
from tests.support.factories import make_bounce, make_subuser, make_user, make_webhook_event

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
SUPPRESSED = "A send to this address was dropped because it is suppressed"


def deliver(subuser, *events: dict) -> None:
    """A verified delivery of these events, applied as the webhook's task applies it."""
    body = [
        {"sg_event_id": uuid.uuid4().hex, "event": "bounce", "type": "bounce", **event}
        for event in events
    ]
    WebhookBatch.objects.create(
        subuser=subuser, received_at=timezone.now(), body=json.dumps(body), events=len(body)
    )
    batches_apply(subuser.pk)


def make_run(subuser, kind: str, at: datetime) -> RefreshRun:
    return RefreshRun.objects.create(
        subuser=subuser, kind=kind, started_at=at, finished_at=at + timedelta(minutes=1),
        outcome=RefreshRun.Outcome.OK,
    )  # fmt: skip


def make_deletion(bounce, *, by, at, state, decided_by=None, item_state="pending", **item):
    request = DeletionRequest.objects.create(
        subuser=bounce.subuser, batch=uuid.uuid4(), requested_by=by,
        justification="The customer fixed their mailbox", state=state, total=1,
        decided_by=decided_by, decided_at=at + HOUR if decided_by else None,
        decision_comment="checked with them" if decided_by else "",
    )  # fmt: skip
    DeletionRequest.objects.filter(pk=request.pk).update(requested_at=at)
    request.refresh_from_db()
    DeletionItem.objects.create(
        request=request, bounce=bounce, email=bounce.email, status=bounce.status,
        reason=bounce.reason, created=bounce.created, state=item_state, **item,
    )  # fmt: skip
    return request


@pytest.fixture
def history():
    """An address with every kind of entry: found by a full refresh, bounced again (seen by an
    incremental one), sends dropped and blocked, a deletion requested, approved and pushed, then
    a bounce by webhook that put it back on the list."""
    acme = make_subuser("acme")
    rita, abe = make_user("rita", role="requester"), make_user("abe", role="approver")
    full = make_run(acme, RefreshRun.Kind.FULL, T0)
    bounce = make_bounce(acme, "pat@example.com", created=T0 - DAY)
    Bounce.objects.filter(pk=bounce.pk).update(first_seen=T0 + timedelta(seconds=30))
    # An incremental refresh found it bounced again.
    incremental = make_run(acme, RefreshRun.Kind.INCREMENTAL, T0 + 2 * DAY)
    BounceChange.objects.create(
        bounce=bounce, kind=BounceChange.Kind.CHANGED, at=T0 + 2 * DAY, run=incremental,
        old_status=bounce.status, old_reason=bounce.reason, old_created=bounce.created,
    )  # fmt: skip
    Bounce.objects.filter(pk=bounce.pk).update(
        created=T0 + 2 * DAY - HOUR, status="5.2.2", reason="552 5.2.2 mailbox full"
    )
    bounce.refresh_from_db()
    # SendGrid's events since: two sends dropped for the suppression, a block, a deferral.
    for days, event, reason in [
        (3, "dropped", "Bounced Address"),
        (4, "deferred", "421 try again later"),
        (4.5, "bounce", "550 blocked by policy"),
        (5, "dropped", "Bounced Address"),
    ]:
        make_webhook_event(
            acme, bounce.email, event=event, type="blocked" if event == "bounce" else "",
            at=T0 + days * DAY, reason=reason, status="5.0.0",
        )  # fmt: skip
    # A deletion, approved and pushed (the push writes the removal, as deletions.push does).
    pushed = T0 + 6 * DAY + 2 * HOUR
    request = make_deletion(
        bounce, by=rita, at=T0 + 6 * DAY, state=DeletionRequest.State.DONE, decided_by=abe,
        item_state=DeletionItem.State.DONE, pushed_at=pushed,
    )  # fmt: skip
    BounceChange.objects.create(
        bounce=bounce, kind=BounceChange.Kind.REMOVED, at=pushed, old_status=bounce.status,
        old_reason=bounce.reason, old_created=bounce.created,
    )  # fmt: skip
    Bounce.objects.filter(pk=bounce.pk).update(removed_at=pushed)
    # It bounced again: the webhook puts it back on the list.
    deliver(
        acme,
        {"email": bounce.email, "timestamp": (T0 + 7 * DAY).timestamp(), "status": "5.1.1",
         "reason": "550 5.1.1 user unknown", "bounce_classification": "Invalid Address"},
    )  # fmt: skip
    bounce.refresh_from_db()
    return {"bounce": bounce, "request": request, "full": full}


def titles(timeline) -> list[tuple[str, str]]:
    return [(e.source, e.title) for e in timeline.entries]


def test_timeline_merges_every_source_newest_first(history):
    timeline = address_timeline(history["bounce"])
    deletion = f"deletion #{history['request'].pk}"

    assert titles(timeline) == [
        ("webhook", "Bounce"),
        ("deletion", f"Removed upstream by {deletion}"),
        ("deletion", f"{deletion.capitalize()} approved"),
        ("deletion", f"{deletion.capitalize()} requested"),
        ("webhook", "Dropped: Bounced Address"),
        ("webhook", "Blocked"),
        ("webhook", "Deferred"),
        ("webhook", "Dropped: Bounced Address"),
        ("refresh", "Bounced again"),
        ("refresh", "First seen"),
    ]
    times = [e.at for e in timeline.entries]
    assert times == sorted(times, reverse=True)
    assert timeline.older == 0


def test_timeline_shows_a_webhook_change_once_with_what_it_replaced(history):
    bounce = history["bounce"]
    [newest] = [e for e in address_timeline(bounce).entries if e.title == "Bounce"]

    assert bounce.changes.filter(kind=BounceChange.Kind.REAPPEARED, run=None).exists()
    assert newest.outcome == WebhookEvent.Outcome.REACTIVATED.label
    assert newest.classification == "Invalid Address" and newest.status == "5.1.1"
    # The removal it followed left the values of the incremental refresh's bounce.
    assert newest.before.status == "5.2.2" and newest.before.created == T0 + 2 * DAY - HOUR


def test_timeline_says_how_the_address_was_first_seen(history):
    refresh = address_timeline(history["bounce"]).entries[-1]
    assert refresh.title == "First seen" and "by a full refresh" in refresh.note

    acme = history["bounce"].subuser
    deliver(acme, {"email": "new@example.com", "timestamp": T0.timestamp(), "status": "5.1.1"})
    by_webhook = address_timeline(Bounce.objects.get(email="new@example.com"))
    [entry] = by_webhook.entries
    assert (entry.source, entry.title) == ("webhook", "Bounce")
    assert entry.outcome == "Added the bounce; first seen"


def test_timeline_refresh_change_names_the_bounce_it_found(history):
    [changed] = [e for e in address_timeline(history["bounce"]).entries if e.source == "refresh"][
        :1
    ]

    assert changed.title == "Bounced again" and "an incremental refresh" in changed.note
    assert changed.bounced_at == T0 + 2 * DAY - HOUR
    assert changed.before.created == T0 - DAY


def test_timeline_removal_by_push_is_shown_once_with_its_request(history):
    removed = [e for e in address_timeline(history["bounce"]).entries if e.kind == "removed"]

    assert len(removed) == 1
    assert removed[0].link == history["request"].get_absolute_url()


@pytest.mark.parametrize(
    ("reason", "suppression"),
    [
        ("Bounced Address", "the bounce list"),
        ("Spam Reporting Address", "the spam report list"),
        ("unsubscribed address", "the global unsubscribe list"),
        ("Invalid", "the invalid email list"),
    ],
)
def test_a_drop_for_a_suppression_reads_as_such(reason, suppression):
    acme = make_subuser()
    bounce = make_bounce(acme, "pat@example.com")
    make_webhook_event(acme, bounce.email, event="dropped", reason=reason, status="5.0.0")

    [drop] = [e for e in address_timeline(bounce).entries if e.source == "webhook"]

    assert drop.kind == "suppressed"
    assert drop.note == f"{SUPPRESSED} (on {suppression})."


def test_other_drops_do_not_blame_the_suppression():
    acme = make_subuser()
    bounce = make_bounce(acme, "pat@example.com")
    make_webhook_event(acme, bounce.email, event="dropped", reason="Spam Content")

    timeline = address_timeline(bounce)

    [drop] = [e for e in timeline.entries if e.source == "webhook"]
    assert drop.title == "Dropped" and SUPPRESSED not in drop.note
    assert drop.reason == "Spam Content"
    assert timeline.drops == 0


def test_page_counts_the_sends_dropped_for_the_suppression(client, history):
    client.force_login(make_user("vera"))

    html = client.get(f"/bounces/{history['bounce'].pk}/").content.decode()

    assert "2 sends to this address were dropped</strong> because it is suppressed" in html
    assert html.count(f"{SUPPRESSED} (on the bounce list).") == 2


def test_page_shows_sources_as_badges_and_links_the_request(client, history):
    client.force_login(make_user("vera"))

    html = client.get(f"/bounces/{history['bounce'].pk}/").content.decode()

    for source in ("Webhook", "Refresh", "Deletion"):
        assert f'class="source source-{source.lower()}">{source}</span>' in html
    assert f'href="{history["request"].get_absolute_url()}"' in html
    assert "<h2>History</h2>" not in html  # the timeline replaced it


def test_page_escapes_untrusted_texts(client):
    acme = make_subuser()
    bounce = make_bounce(acme, "pat@example.com")
    make_webhook_event(
        acme, bounce.email, event="<img src=x onerror=alert(2)>",
        reason="550 <script>alert(1)</script> gone\u202e", classification="<b>Content</b>",
    )  # fmt: skip
    client.force_login(make_user("vera"))

    html = client.get(f"/bounces/{bounce.pk}/").content.decode()

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>Content" not in html and "&lt;b&gt;Content&lt;/b&gt;" in html
    assert 'title="RIGHT-TO-LEFT OVERRIDE">U+202E</span>' in html and "\u202e" not in html
    assert 'class="tl-other"' in html  # a stranger's event name is no class of ours


def test_timeline_never_shows_another_subusers_events_for_the_same_address(client):
    acme, beta = make_subuser("acme"), make_subuser("beta")
    mine, theirs = make_bounce(acme, "pat@example.com"), make_bounce(beta, "pat@example.com")
    make_webhook_event(acme, "pat@example.com", event="dropped", reason="Bounced Address")
    make_webhook_event(beta, "pat@example.com", event="deferred", reason="beta's deferral")
    rita = make_user("rita", role="requester")
    elsewhere = make_deletion(theirs, by=rita, at=T0, state="pending")

    timeline = address_timeline(mine)

    assert [e.title for e in timeline.entries if e.source != "refresh"] == [
        "Dropped: Bounced Address"
    ]
    assert timeline.drops == 1 and timeline.open_requests == []
    client.force_login(make_user("scoped", subusers=[acme]))
    page = client.get(f"/bounces/{mine.pk}/").content.decode()
    assert "beta&#x27;s deferral" not in page and f"Deletion #{elsewhere.pk}" not in page
    assert client.get(f"/bounces/{theirs.pk}/").status_code == 404


def test_timeline_shows_decisions_failures_and_open_requests():
    acme = make_subuser()
    rita, abe = make_user("rita", role="requester"), make_user("abe", role="approver")
    bounce = make_bounce(acme, "pat@example.com")
    rejected = make_deletion(
        bounce, by=rita, at=T0, state="rejected", decided_by=abe, item_state="rejected"
    )
    failed = make_deletion(
        bounce, by=rita, at=T0 + DAY, state="failed", decided_by=abe, item_state="failed",
        error="503 from upstream",
    )  # fmt: skip
    DeletionRequest.objects.filter(pk=failed.pk).update(finished_at=T0 + DAY + 2 * HOUR)
    pending = make_deletion(bounce, by=rita, at=T0 + 2 * DAY, state="pending")

    timeline = address_timeline(bounce)

    deletions = [(e.title, e.link) for e in timeline.entries if e.source == "deletion"]
    assert deletions == [
        (f"Deletion #{pending.pk} requested", pending.get_absolute_url()),
        (f"Removal by deletion #{failed.pk} failed", failed.get_absolute_url()),
        (f"Deletion #{failed.pk} approved", failed.get_absolute_url()),
        (f"Deletion #{failed.pk} requested", failed.get_absolute_url()),
        (f"Deletion #{rejected.pk} rejected", rejected.get_absolute_url()),
        (f"Deletion #{rejected.pk} requested", rejected.get_absolute_url()),
    ]
    asked = next(e for e in timeline.entries if e.link == pending.get_absolute_url())
    assert asked.note == "To remove this address. Now: pending approval."
    assert [r.pk for r in timeline.open_requests] == [pending.pk]
    [failure] = [e for e in timeline.entries if e.kind == "failed"]
    assert failure.error == "503 from upstream" and failure.at == T0 + DAY + 2 * HOUR


def many_events(bounce, count: int) -> None:
    WebhookEvent.objects.bulk_create(
        make_webhook_event(
            bounce.subuser,
            bounce.email,
            event="dropped",
            reason="Bounced Address",
            at=T0 + timedelta(minutes=i),
            save=False,
        )  # fmt: skip
        for i in range(count)
    )


def queries(bounce) -> int:
    with CaptureQueriesContext(connection) as captured:
        address_timeline(bounce)
    return len(captured)


def test_timeline_queries_do_not_grow_with_the_history(history):
    bounce = history["bounce"]
    few = queries(bounce)
    many_events(bounce, 250)
    capped = queries(bounce)
    many_events(bounce, 2500)

    assert queries(bounce) == capped <= few + 3 <= 10


def test_page_queries_do_not_grow_with_the_history(client, history):
    bounce = history["bounce"]
    client.force_login(make_user("vera"))
    many_events(bounce, 300)
    with CaptureQueriesContext(connection) as before:
        client.get(f"/bounces/{bounce.pk}/")
    many_events(bounce, 3000)
    with CaptureQueriesContext(connection) as after:
        client.get(f"/bounces/{bounce.pk}/")

    assert len(after) == len(before)


def test_timeline_is_capped_and_counts_what_it_leaves_out(client, history):
    bounce = history["bounce"]  # 10 entries, from 5 events, 3 changes, 1 deletion, 1 first seen
    many_events(bounce, 250)

    timeline = address_timeline(bounce)

    assert len(timeline.entries) == 200
    # 255 events and the other 5 entries: 200 shown, 60 not.
    assert timeline.older == 60
    assert timeline.drops == 252
    client.force_login(make_user("vera"))
    assert "60 older not shown." in client.get(f"/bounces/{bounce.pk}/").content.decode()


def test_timeline_reads_the_events_through_their_index(history):
    many_events(history["bounce"], 50)
    for i in range(40):  # the subuser's other addresses
        many_events(make_bounce(history["bounce"].subuser, f"other{i}@example.com"), 10)
    with CaptureQueriesContext(connection) as captured:
        address_timeline(history["bounce"])
    [sql] = [
        q["sql"] for q in captured if "webhooks_webhookevent" in q["sql"] and "LIMIT" in q["sql"]
    ]

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE webhooks_webhookevent")
            cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: show what it can use
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())

    assert "webhookevent_address" in plan


def test_a_webhook_change_stays_once_its_event_is_no_longer_kept(history):
    WebhookEvent.objects.all().delete()  # the events' retention is shorter than the history's

    [entry] = [e for e in address_timeline(history["bounce"]).entries if e.source == "webhook"]

    assert entry.title == "Back on the list" and entry.bounced_at == T0 + 7 * DAY
    assert entry.before.status == "5.2.2"


GMAIL = (
    "552 5.2.2 The recipient's inbox is out of storage space and inactive. Please direct the "
    "recipient to https://support.google.com/mail/?p=OverQuotaPerm_6a1803df08f44-70e7c2d5e1"
    "bsi123456d6.45-gsmtp-with-no-space-to-break-at-for-a-while"
)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1440, 390])
def test_timeline_fits_the_window(live_server, browser, history, tmp_path, width):
    bounce = history["bounce"]
    make_webhook_event(
        bounce.subuser, bounce.email, event="bounce", type="blocked", status="5.2.2",
        reason=GMAIL, classification="Mailbox Unavailable", at=T0 + 4.8 * DAY,
    )  # fmt: skip
    make_user("vera", "a-long-test-password")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "vera", "a-long-test-password")

    page.goto(f"{live_server.url}/bounces/{bounce.pk}/")

    assert page.locator("ol.timeline > li").count() == 11
    assert page.locator("ol.timeline > li").first.locator(".source").inner_text() == "Webhook"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"bounce-page-{width}.png", full_page=True)
    page.locator("ol.timeline").screenshot(path=tmp_path / f"timeline-{width}.png")
    context.close()
