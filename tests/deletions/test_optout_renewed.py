"""A consent overrides only the opt-out it was given after. The request refuses an older
consent; and if the recipient opts out again while the request waits (a signed webhook event or
a refresh re-dates the entry, or SendGrid already holds a newer one), the push to the sandbox
leaves that newer opt-out and fails the address, on a retry too; the approval page says so."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionItem
from bounceadmin.deletions.other_lists import Consent, removal_request_create
from bounceadmin.deletions.push import deletion_push
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import Suppression
from bounceadmin.suppressions.refresh import list_refresh
from bounceadmin.webhooks.apply import batches_apply
from bounceadmin.webhooks.receive import delivery_receive
from tests.support.factories import make_suppression, make_user
from tests.support.webhooks import SigningKey, body_of, list_event, make_endpoint

# Transactional: the webhook's batches are applied under the lease in their own transactions.
pytestmark = pytest.mark.django_db(transaction=True)

SPAM = SuppressionList.SPAM_REPORTS
GLOBAL, GROUP = SuppressionList.GLOBAL_UNSUBSCRIBES, SuppressionList.GROUP_UNSUBSCRIBES
OPTOUTS = [SPAM, GLOBAL, GROUP]
EMAIL = {SPAM: "s@x.com", GLOBAL: "u@example.com", GROUP: "g@example.com"}
RENEWED = "opted out again after the consent"


def permitted(user):
    user.user_permissions.add(Permission.objects.get(codename="remove_recipient_optout"))
    return type(user).objects.get(pk=user.pk)


def ago(**delta) -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(**delta)


@pytest.fixture
def world(upstream, sg):
    """One subuser whose spam report, global and group unsubscribe were filed 30 days ago."""
    lists, t0 = upstream.store.lists, int(ago(days=30).timestamp())
    upstream.store.add_subuser("alpha")
    lists.add("spam_reports", "alpha", [{"email": EMAIL[SPAM], "created": t0, "ip": "1.2.3.4"}])
    lists.add("unsubscribes", "alpha", [{"email": EMAIL[GLOBAL], "created": t0}])
    group = lists.groups.add_group("alpha", name="Newsletter")
    lists.groups.add("alpha", group["id"], [{"email": EMAIL[GROUP], "created": t0}])
    subusers_sync()
    alpha = Subuser.objects.get(username="alpha")
    refresh_all(alpha, sg)
    return {
        "alpha": alpha, "t0": t0, "group": group["id"],
        "rita": permitted(make_user("rita", role="requester")),
        "arne": permitted(make_user("arne", role="approver")),
    }  # fmt: skip


def refresh_all(subuser, sg) -> None:
    for name in OPTOUTS:
        list_refresh(subuser=subuser, list=name, full=True, client=sg)


def entry(world, name) -> Suppression:
    return Suppression.objects.get(subuser=world["alpha"], list=name)


def requested(world, name, *, consent_at=None, approve=True):
    """A request for the list's one entry, with consent given 10 days ago, approved."""
    [request] = removal_request_create(
        user=world["rita"], entries=Suppression.objects.filter(pk=entry(world, name).pk),
        justification="the customer asked", ticket="SUP-7",
        consent=Consent("Please mail me again", consent_at or ago(days=10), "SUP-7"),
    )  # fmt: skip
    if approve:
        services.deletion_approve(request_id=request.pk, user=world["arne"])
    return request


def upstream_add(upstream, world, name, created: int) -> None:
    """The recipient's opt-out as SendGrid holds it now (a repeat overwrites its date)."""
    lists, row = upstream.store.lists, {"email": EMAIL[name], "created": created}
    if name == GROUP:
        lists.groups.add("alpha", world["group"], [row])
    else:
        lists.add({SPAM: "spam_reports", GLOBAL: "unsubscribes"}[name], "alpha", [row])


def still_listed_upstream(upstream, world, name) -> bool:
    lists = upstream.store.lists
    if name == GROUP:
        return EMAIL[GROUP] in lists.groups.emails(world["group"])
    kind = {SPAM: "spam_reports", GLOBAL: "unsubscribes"}[name]
    return lists.get(kind, "alpha", EMAIL[name]) is not None


def deletes(upstream) -> list[dict]:
    return [r for r in upstream.requests if r["method"] == "DELETE"]


def the_item(request) -> DeletionItem:
    return request.items.get()


# --- the request --------------------------------------------------------------------------------


def test_a_consent_older_than_the_optout_is_refused(world):
    fresh = make_suppression(world["alpha"], "new@x.com", SPAM, created=ago(hours=1))
    one = Suppression.objects.filter(pk=fresh.pk)

    with pytest.raises(services.DeletionError) as refused:
        removal_request_create(
            user=world["rita"], entries=one, justification="asked",
            consent=Consent("Mail me", datetime(2020, 5, 1, tzinfo=UTC), "SUP-1"),
        )  # fmt: skip

    message = str(refused.value)
    assert "must be newer than the opt-out it overrides" in message
    assert f"{fresh.created:%Y-%m-%d %H:%M:%S} UTC" in message
    assert not fresh.deletion_items.exists()
    # Given after the opt-out (or at the same moment), it is taken.
    [request] = removal_request_create(
        user=world["rita"], entries=one, justification="asked",
        consent=Consent("Mail me", fresh.created, "SUP-1"),
    )  # fmt: skip
    assert request.consent_at == fresh.created


# --- the push -----------------------------------------------------------------------------------


def deliver(subuser, key, events) -> None:
    body = body_of(events)
    stamp = str(int(timezone.now().timestamp()))
    delivery_receive(
        token=subuser.webhook.token, signature=key.sign(body, stamp), timestamp=stamp, body=body
    )


WEBHOOK_EVENT = {SPAM: "spamreport", GLOBAL: "unsubscribe", GROUP: "group_unsubscribe"}


@pytest.mark.parametrize("name", OPTOUTS)
def test_an_optout_renewed_by_the_webhook_while_approved_is_not_pushed(world, upstream, sg, name):
    request = requested(world, name)
    key = SigningKey()
    make_endpoint(world["alpha"], key)
    again = ago(hours=2)
    fields = {"asm_group_id": world["group"]} if name == GROUP else {}
    deliver(world["alpha"], key, [list_event(WEBHOOK_EVENT[name], EMAIL[name],
                                             at=again.timestamp(), **fields)])  # fmt: skip
    assert batches_apply(world["alpha"].pk) == 1
    assert entry(world, name).created == again  # the row the request holds, re-dated

    pushed = deletion_push(request_id=request.pk, client=sg)

    assert pushed.state == "failed"
    item = the_item(pushed)
    assert item.state == "failed" and RENEWED in item.error
    assert f"now dated {again:%Y-%m-%d %H:%M:%S} UTC" in item.error
    assert deletes(upstream) == []
    assert still_listed_upstream(upstream, world, name)
    assert entry(world, name).removed_at is None


@pytest.mark.parametrize("name", OPTOUTS)
def test_an_optout_sendgrid_holds_newer_than_the_consent_is_not_pushed(world, upstream, sg, name):
    request = requested(world, name)
    again = int(ago(hours=3).timestamp())
    upstream_add(upstream, world, name, again)  # the cache has not heard of it yet
    upstream.clear_requests()

    pushed = deletion_push(request_id=request.pk, client=sg)

    item = the_item(pushed)
    assert (pushed.state, item.state) == ("failed", "failed")
    assert RENEWED in item.error and "SendGrid dates their opt-out" in item.error
    assert deletes(upstream) == []
    assert still_listed_upstream(upstream, world, name)
    # Read first: the single-address GET for spam reports; the dated lists for unsubscribes.
    [read] = upstream.requests
    assert read["method"] == "GET" and read["on_behalf_of"] == "alpha"
    assert (
        read["path"]
        == {
            SPAM: "/v3/suppression/spam_reports/s%40x.com",
            GLOBAL: "/v3/suppression/unsubscribes",
            GROUP: "/v3/asm/suppressions",
        }[name]
    )
    if name == GLOBAL:
        assert read["query"]["email"] == EMAIL[GLOBAL]


@pytest.mark.parametrize("name", OPTOUTS)
def test_an_unchanged_optout_is_read_upstream_then_removed(world, upstream, sg, name):
    request = requested(world, name)
    upstream.clear_requests()

    pushed = deletion_push(request_id=request.pk, client=sg)

    assert pushed.state == "done"
    assert [r["method"] for r in upstream.requests] == ["GET", "DELETE"]
    assert not still_listed_upstream(upstream, world, name)
    assert entry(world, name).removed_at is not None


def test_an_optout_redated_before_the_consent_is_still_the_one_it_covers(world, upstream, sg):
    """A date moved by a refresh (the webhook's timestamp, then the list's own) but still before
    the consent: the consent, given after it, covers it; the removal goes ahead."""
    request = requested(world, GLOBAL)
    upstream_add(upstream, world, GLOBAL, world["t0"] + 60)
    refresh_all(world["alpha"], sg)

    pushed = deletion_push(request_id=request.pk, client=sg)

    assert pushed.state == "done" and the_item(pushed).error == ""
    assert deletes(upstream) != []


def test_an_optout_that_left_the_list_and_came_back_is_not_pushed(world, upstream, sg):
    request = requested(world, SPAM)
    upstream.store.lists.remove("spam_reports", "alpha", [EMAIL[SPAM]])
    refresh_all(world["alpha"], sg)
    assert entry(world, SPAM).removed_at is not None
    upstream_add(upstream, world, SPAM, world["t0"])  # back, with the very same date
    refresh_all(world["alpha"], sg)
    assert entry(world, SPAM).removed_at is None

    pushed = deletion_push(request_id=request.pk, client=sg)

    item = the_item(pushed)
    assert pushed.state == "failed" and RENEWED in item.error
    assert "left the list and came back" in item.error
    assert deletes(upstream) == []


def test_an_optout_request_without_a_consent_date_is_not_pushed(world, upstream, sg):
    request = requested(world, SPAM)
    type(request).objects.filter(pk=request.pk).update(consent_at=None)  # written by hand

    pushed = deletion_push(request_id=request.pk, client=sg)

    assert pushed.state == "failed" and "records no consent" in the_item(pushed).error
    assert deletes(upstream) == []


# --- a retry ------------------------------------------------------------------------------------


def test_a_retry_is_refused_once_the_cache_knows_of_the_newer_optout(world, upstream, sg):
    request = requested(world, SPAM)
    upstream.inject_fault("status", status=503, method="GET", count=20)
    assert deletion_push(request_id=request.pk, client=sg).state == "failed"
    upstream.clear_faults()
    upstream_add(upstream, world, SPAM, int(ago(hours=1).timestamp()))
    refresh_all(world["alpha"], sg)

    with pytest.raises(services.DeletionError, match=RENEWED):
        services.deletion_retry_failed(request_id=request.pk, user=world["rita"])

    request.refresh_from_db()
    assert request.state == "failed" and the_item(request).state == "failed"


def test_a_retry_pushes_through_the_same_checks(world, upstream, sg):
    request = requested(world, GROUP)
    upstream.inject_fault("status", status=503, method="DELETE", count=20)
    assert deletion_push(request_id=request.pk, client=sg).state == "failed"
    upstream.clear_faults()
    # Meanwhile the recipient unsubscribed again; only SendGrid knows so far.
    upstream_add(upstream, world, GROUP, int(ago(minutes=5).timestamp()))

    services.deletion_retry_failed(request_id=request.pk, user=world["rita"])
    again = deletion_push(request_id=request.pk, client=sg)

    assert again.state == "failed" and "SendGrid dates their opt-out" in the_item(again).error
    assert still_listed_upstream(upstream, world, GROUP)
    assert all(r["status"] == 503 for r in deletes(upstream))


# --- the approval page --------------------------------------------------------------------------


def test_the_approval_page_says_what_changed_since_the_request(world, upstream, sg, client):
    request = requested(world, GLOBAL, approve=False)
    client.force_login(world["arne"])
    url = f"/deletions/{request.pk}/approve/"

    calm = client.get(url).content.decode()
    upstream_add(upstream, world, GLOBAL, int(ago(hours=1).timestamp()))
    refresh_all(world["alpha"], sg)
    changed = client.get(url).content.decode()

    assert "unchanged since requested" in calm and "Changed since requested" not in calm
    now = entry(world, GLOBAL).created
    was = datetime.fromtimestamp(world["t0"], tz=UTC)
    assert "Changed since requested" in changed
    assert f"opted out {now:%Y-%m-%d %H:%M:%S} UTC" in changed
    assert f"was {was:%Y-%m-%d %H:%M:%S} UTC when requested" in changed
    assert "ask the recipient for their newer consent" in changed
