"""webhook_set_up against the sandbox over HTTP: create, update, unchanged; others' webhooks left
alone; the plan's cap; dry runs; signing and its key; a new public URL."""

import json
import logging

import pytest

from bounceadmin.audit.models import AuditEvent
from bounceadmin.sendgrid import SendGridClient, UpstreamWebhooks
from bounceadmin.webhooks.models import WebhookEndpoint
from bounceadmin.webhooks.setup import EVENTS, key_fingerprint, webhook_set_up
from tests.support.factories import make_subuser
from tests.support.sandbox_webhooks import sandbox_max_webhooks, webhook_calls, writes
from tests.support.webhooks import SigningKey

pytestmark = pytest.mark.django_db

PUBLIC = "https://dashboard.example"


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    return make_subuser("acme")


def ours_upstream(sg, name="acme"):
    return [w for w in sg.list_event_webhooks(name).webhooks if "/webhooks/sendgrid/" in w.url]


def test_set_up_creates_a_signed_webhook_and_stores_its_key(upstream, sg, acme):
    result = webhook_set_up(acme, public_url=PUBLIC + "/")

    endpoint = WebhookEndpoint.objects.get(subuser=acme)
    [webhook] = sg.list_event_webhooks("acme").webhooks
    assert result.outcome == "created" and not result.failed
    assert webhook.url == f"{PUBLIC}/webhooks/sendgrid/{endpoint.token}/" == PUBLIC + endpoint.path
    assert webhook.enabled and webhook.events == set(EVENTS)
    assert webhook.friendly_name == "bounceadmin"
    key = sg.get_event_webhook_public_key("acme", webhook.id)
    assert key and webhook.public_key == key
    assert (endpoint.webhook_id, endpoint.public_key, endpoint.signing) == (webhook.id, key, True)
    assert endpoint.receiving and endpoint.set_up_at and endpoint.setup_error == ""
    # Signing is its own call, after the creation.
    assert [(r["method"], r["path"].rsplit("/", 2)[-2]) for r in writes(upstream)] == [
        ("POST", "event"), ("PATCH", "signed"),
    ]  # fmt: skip
    assert "created" in result.line and "signing turned on" in result.line


def test_set_up_is_audited_with_before_and_after_never_the_key(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)

    endpoint = WebhookEndpoint.objects.get(subuser=acme)
    event = AuditEvent.objects.get(action=AuditEvent.Action.WEBHOOK_SET_UP)
    assert event.subuser == "acme" and event.details["outcome"] == "created"
    assert event.details["before"] is None
    after = event.details["after"]
    assert after["events"] == sorted(EVENTS) and after["signing"] is True
    assert after["key"] == key_fingerprint(endpoint.public_key)
    assert endpoint.public_key not in json.dumps(event.details)
    assert endpoint.token not in json.dumps(event.details)  # the URL's secret part, shortened


def test_a_second_run_changes_nothing_and_writes_nothing(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)
    upstream.clear_requests()

    again = webhook_set_up(acme, public_url=PUBLIC)

    assert again.outcome == "unchanged" and again.changes == []
    assert again.line == "acme: unchanged"
    assert writes(upstream) == [] and webhook_calls(upstream, "GET")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_SET_UP).count() == 1


def test_other_webhooks_of_the_subuser_are_left_alone(upstream, sg, acme):
    theirs = sg.create_event_webhook(
        "acme", {"enabled": True, "url": "https://crm.example/hook", "open": True, "click": True}
    )
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC)

    webhooks = {w.id: w for w in sg.list_event_webhooks("acme").webhooks}
    assert result.outcome == "created" and len(webhooks) == 2
    assert webhooks[theirs.id] == theirs
    assert all(theirs.id not in r["path"] for r in writes(upstream))


def test_only_what_differs_is_patched(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)
    [ours] = ours_upstream(sg)
    sg.update_event_webhook("acme", ours.id, {"url": ours.url, "enabled": False, "open": True})
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC)

    [patch] = writes(upstream)
    assert result.outcome == "updated"
    assert patch["method"] == "PATCH" and patch["body"] == {
        "url": ours.url, "enabled": True, "open": False,
    }  # fmt: skip
    assert result.changes == ["enabled", "events off: open"]
    assert ours_upstream(sg)[0].enabled and ours_upstream(sg)[0].events == set(EVENTS)


def test_a_new_public_url_updates_ours_rather_than_adding_one(upstream, sg, acme):
    webhook_set_up(acme, public_url="http://127.0.0.1:8000")
    first = WebhookEndpoint.objects.get(subuser=acme)

    result = webhook_set_up(acme, public_url=PUBLIC)

    [ours] = sg.list_event_webhooks("acme").webhooks
    assert result.outcome == "updated" and ours.id == first.webhook_id
    assert ours.url == PUBLIC + first.path
    assert WebhookEndpoint.objects.get(subuser=acme).url == ours.url
    assert any(change.startswith("url http://127.0.0.1:8000/") for change in result.changes)


def test_ours_is_found_by_its_token_when_its_id_was_not_kept(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)
    WebhookEndpoint.objects.filter(subuser=acme).update(webhook_id="", public_key="")
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert len(sg.list_event_webhooks("acme").webhooks) == 1
    assert writes(upstream) == []
    assert result.outcome == "updated" and any("recorded as ours" in c for c in result.changes)


def test_ours_deleted_upstream_is_made_again(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)
    old = WebhookEndpoint.objects.get(subuser=acme).webhook_id
    sg._request("DELETE", f"/v3/user/webhooks/event/settings/{old}", subuser="acme")

    result = webhook_set_up(acme, public_url=PUBLIC)

    [ours] = sg.list_event_webhooks("acme").webhooks
    assert result.outcome == "created" and ours.id != old
    assert WebhookEndpoint.objects.get(subuser=acme).webhook_id == ours.id


def test_signing_turned_off_upstream_is_turned_on_again(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC)
    [ours] = ours_upstream(sg)
    sg.set_event_webhook_signing("acme", ours.id, False)

    result = webhook_set_up(acme, public_url=PUBLIC)

    endpoint = WebhookEndpoint.objects.get(subuser=acme)
    assert "signing turned on" in result.changes
    assert endpoint.receiving
    assert endpoint.public_key == sg.get_event_webhook_public_key("acme", ours.id)


def test_a_key_renewed_upstream_is_stored_anew(upstream, sg, acme):
    """Signing already on: the key is fetched all the same, and a new one replaces ours (the
    sandbox keeps a webhook's key, so here ours is the one out of date)."""
    webhook_set_up(acme, public_url=PUBLIC)
    current = WebhookEndpoint.objects.get(subuser=acme).public_key
    old = SigningKey().public_key
    WebhookEndpoint.objects.filter(subuser=acme).update(public_key=old)
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert WebhookEndpoint.objects.get(subuser=acme).public_key == current
    assert writes(upstream) == []  # signing was on: only fetched
    assert [r["path"].rsplit("/", 2)[-2] for r in webhook_calls(upstream)] == ["settings", "signed"]
    assert result.outcome == "updated"
    assert result.changes == [
        f"public key renewed upstream: {key_fingerprint(old)} → {key_fingerprint(current)}"
    ]
    newest = AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_SET_UP).first()
    assert newest.details["outcome"] == "updated" and newest.details["changes"] == result.changes
    assert newest.details["after"]["key"] == key_fingerprint(current)


def test_deferred_events_only_when_asked(upstream, sg, acme):
    webhook_set_up(acme, public_url=PUBLIC, deferred=True)
    assert ours_upstream(sg)[0].events == {*EVENTS, "deferred"}

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert result.changes == ["events off: deferred"]
    assert ours_upstream(sg)[0].events == set(EVENTS)


def test_the_plans_cap_is_said_clearly_and_nothing_is_posted(upstream, sg, acme):
    sandbox_max_webhooks(upstream, 2)
    for n in (1, 2):
        sg.create_event_webhook("acme", {"enabled": True, "url": f"https://crm{n}.example/h"})
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert result.failed
    assert "used up" in result.error and "allows 2" in result.error and "has 2" in result.error
    assert "leave those alone" in result.error
    assert result.line.startswith("acme: failed: the plan's event webhooks are used up")
    assert writes(upstream) == [] and len(sg.list_event_webhooks("acme").webhooks) == 2
    endpoint = WebhookEndpoint.objects.get(subuser=acme)
    assert endpoint.setup_error == result.error and endpoint.webhook_id == ""


def test_the_cap_answered_by_sendgrid_itself_reads_the_same(upstream, sg, acme, monkeypatch):
    """A set-up racing another sees the cap only in SendGrid's 400: the message is the same."""
    sandbox_max_webhooks(upstream, 1)
    real = SendGridClient.list_event_webhooks

    def listed_before_the_other_posted(self, subuser):
        listing = real(self, subuser)
        return UpstreamWebhooks(max_allowed=listing.max_allowed, webhooks=[])

    monkeypatch.setattr(SendGridClient, "list_event_webhooks", listed_before_the_other_posted)
    sg.create_event_webhook("acme", {"enabled": True, "url": "https://crm.example/h"})

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert result.failed and "used up" in result.error and "allows 1" in result.error


def test_a_dry_run_writes_nothing_anywhere(upstream, sg, acme):
    result = webhook_set_up(acme, public_url=PUBLIC, dry_run=True)

    assert result.outcome == "created" and result.dry_run
    assert result.line.startswith("acme: would create: webhook created at https://dashboard")
    assert "signing turned on, its public key stored" in result.changes
    assert writes(upstream) == [] and sg.list_event_webhooks("acme").webhooks == []
    assert not WebhookEndpoint.objects.exists() and not AuditEvent.objects.exists()


def test_a_dry_run_lists_what_would_change(upstream, sg, acme):
    webhook_set_up(acme, public_url="http://127.0.0.1:8000")
    [ours] = ours_upstream(sg)
    sg.set_event_webhook_signing("acme", ours.id, False)
    before = WebhookEndpoint.objects.values().get(subuser=acme)
    audited = AuditEvent.objects.count()
    upstream.clear_requests()

    result = webhook_set_up(acme, public_url=PUBLIC, dry_run=True, deferred=True)

    assert result.outcome == "updated" and result.line.startswith("acme: would update: url ")
    assert "events on: deferred" in result.changes
    assert "signing turned on, its public key stored" in result.changes
    assert writes(upstream) == []
    assert WebhookEndpoint.objects.values().get(subuser=acme) == before
    assert AuditEvent.objects.count() == audited


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"enabled": False}, "disabled here"), ({"upstream_state": "disabled"}, "disabled upstream")],
)
def test_subusers_not_refreshed_are_skipped(upstream, fields, why):
    sub = make_subuser("paused", **fields)

    result = webhook_set_up(sub, public_url=PUBLIC)

    assert (result.outcome, result.line) == ("skipped", f"paused: skipped: {why}")
    assert webhook_calls(upstream) == []


def test_an_upstream_failure_is_kept_for_the_overview(upstream, sg, acme):
    upstream.inject_fault(kind="status", status=403, count=1)

    result = webhook_set_up(acme, public_url=PUBLIC)

    assert result.failed and "403" in result.error
    assert WebhookEndpoint.objects.get(subuser=acme).setup_error == result.error
    assert webhook_set_up(acme, public_url=PUBLIC).outcome == "created"
    assert WebhookEndpoint.objects.get(subuser=acme).setup_error == ""


def test_the_api_key_is_never_logged_or_in_errors(upstream, sg, acme, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.inject_fault(kind="status", status=401, count=1)

    failed = webhook_set_up(acme, public_url=PUBLIC)
    webhook_set_up(acme, public_url=PUBLIC)

    assert upstream.api_key not in failed.error and upstream.api_key not in caplog.text


def test_a_bad_public_url_is_refused(acme):
    with pytest.raises(ValueError):
        webhook_set_up(acme, public_url="dashboard.example")


def test_the_parent_accounts_webhook_is_set_up_without_on_behalf_of(upstream, sg):
    from bounceadmin.bounces.models import Subuser

    parent = Subuser.objects.create(username="(parent account)", is_parent=True)

    result = webhook_set_up(parent, public_url=PUBLIC)

    assert result.outcome == "created" and not result.failed
    [webhook] = sg.list_event_webhooks(None).webhooks
    assert webhook.url == PUBLIC + WebhookEndpoint.objects.get(subuser=parent).path
    assert webhook_calls(upstream) and all(not r["on_behalf_of"] for r in webhook_calls(upstream))
