"""Notifications: one email and one Slack message per alert, saying what, where, since when and
how far over the baseline, with links; upstream text escaped for Slack and plain in the email;
the API key nowhere; a failed channel retried by a later evaluation, a bounded number of
times. Slack is a real local HTTP server."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.notify import MAX_ATTEMPTS, alert_notify, notifications_due
from bounceadmin.bounces.models import RefreshRun
from tests.support.factories import make_subuser
from tests.support.webhook_receiver import WebhookReceiver

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind
KEY = "SG.super-secret-key-that-must-not-leak"
HOSTILE = "<!channel>&<https://evil.example|click>"


@pytest.fixture
def slack():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def channels(settings, slack):
    settings.SENDGRID_API_KEY = KEY
    settings.ALERTS_EMAIL_TO = ["ops@example.com", "oncall@example.com"]
    settings.ALERTS_SLACK_WEBHOOK_URL = slack.url
    settings.SITE_URL = "https://dash.example/"
    return slack


@pytest.fixture
def domain_spike():
    acme = make_subuser("acme")
    add_baseline(acme, 2, domain="mx.example")  # another domain's: this one's median is 0
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5), domain=f"{HOSTILE}.example")
    make_rule(Kind.DOMAIN_SPIKE, min_count=20)
    return acme


def evaluate(capture, now=NOW):
    with capture(execute=True):
        return evaluate_alerts(now=now)


def test_a_new_alert_is_mailed_and_posted_once(
    channels, domain_spike, django_capture_on_commit_callbacks
):
    evaluate(django_capture_on_commit_callbacks)
    [post] = channels.wait_for(1)
    [message] = mail.outbox
    alert = Alert.objects.get()
    assert alert.notified_at is not None and alert.notify_error == ""
    # The email: plain text, the domain as it is.
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert message.subject.startswith("[bounceadmin] Bounces at <!channel>")
    body = message.body
    assert f"Where: acme ({HOSTILE}.example)" in body
    assert "Since: " in body
    assert "Over the baseline: 30 bounces against a median of 0 (30.0×)" in body
    # The Slack message: the control characters escaped, so no mention and no disguised link.
    text = post.events["text"] if isinstance(post.events, dict) else None
    assert text is not None
    escaped = "&lt;!channel&gt;&amp;&lt;https://evil.example|click&gt;.example"
    assert escaped in text
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "30 bounces against a median of 0 (30.0×)" in text
    # Both link to the incident's bounces, filtered, and to the alert.
    link = next(line for line in body.splitlines() if line.startswith("Bounces: "))[9:]
    assert link.startswith("https://dash.example/bounces/?")
    query = parse_qs(urlsplit(link).query)
    assert query["subuser"] == ["acme"]
    assert query["domain"] == [f"{HOSTILE}.example"]
    assert query["since"] == [alert.details["since"]]
    assert query["until"] == [NOW.isoformat()]
    assert f"<{link}|Bounces>" in text
    assert "Alert: https://dash.example/alerts/" in body
    for sent in (body, message.subject, text):
        assert KEY not in sent
    # Evaluated again (still open): nothing more is sent.
    evaluate(django_capture_on_commit_callbacks, NOW + timedelta(minutes=1))
    evaluate(django_capture_on_commit_callbacks, NOW + timedelta(minutes=10))
    assert len(mail.outbox) == 1
    assert len(channels.posts) == 1


def test_the_api_key_is_scrubbed_from_what_upstream_said(
    channels, django_capture_on_commit_callbacks
):
    acme = make_subuser("acme")
    for minutes in (30, 20, 10):
        RefreshRun.objects.create(
            subuser=acme, kind="full", started_at=NOW - timedelta(minutes=minutes),
            outcome="failed", error=f"HTTP 401: key {KEY} refused <b>&",
        )  # fmt: skip
    make_rule(Kind.REFRESH_FAILURES, failures_in_row=3)
    evaluate(django_capture_on_commit_callbacks)
    [post] = channels.wait_for(1)
    [message] = mail.outbox
    assert KEY not in message.body and KEY not in post.body.decode()
    assert "Last error: HTTP 401: key [redacted] refused <b>&" in message.body
    assert "Last error: HTTP 401: key [redacted] refused &lt;b&gt;&amp;" in post.events["text"]
    assert "3 failed refreshes in a row" in message.body


def retry_due(now) -> None:
    """What every evaluation does after its rules."""
    for pk in notifications_due(now).values_list("pk", flat=True):
        alert_notify(pk, now=now)


def test_a_failed_channel_is_retried_alone_less_and_less_often_and_not_forever(
    channels, domain_spike, django_capture_on_commit_callbacks
):
    channels.statuses.extend([500] * 20)
    evaluate(django_capture_on_commit_callbacks)  # evaluation goes on despite the failure
    alert = Alert.objects.get()
    assert alert.notified_at is None
    assert alert.notify_error == "slack: SlackRefused: HTTP 500"
    assert (alert.notify_attempts, len(mail.outbox), len(channels.posts)) == (1, 1, 1)
    # Later evaluations retry Slack, not the email that went out, waiting longer each time.
    attempts_after = {0.5: 1, 1: 2, 5: 2, 6: 3, 20: 3, 21: 4, 80: 4, 81: 5, 500: 5}
    for minutes, attempts in attempts_after.items():
        retry_due(NOW + timedelta(minutes=minutes))
        alert.refresh_from_db()
        assert alert.notify_attempts == attempts, minutes
    assert attempts == MAX_ATTEMPTS
    assert len(channels.posts) == MAX_ATTEMPTS
    assert len(mail.outbox) == 1


def test_a_retry_that_succeeds_marks_it_notified(
    channels, domain_spike, django_capture_on_commit_callbacks
):
    channels.statuses.append(503)
    evaluate(django_capture_on_commit_callbacks)
    evaluate(django_capture_on_commit_callbacks, NOW + timedelta(seconds=30))  # too soon
    assert len(channels.posts) == 1
    evaluate(django_capture_on_commit_callbacks, NOW + timedelta(minutes=1))
    alert = Alert.objects.get()
    assert alert.notified_at is not None and alert.notify_error == ""
    assert (len(channels.posts), len(mail.outbox)) == (2, 1)


def test_an_unreachable_slack_is_recorded_without_its_url(
    channels, settings, domain_spike, django_capture_on_commit_callbacks
):
    settings.ALERTS_SLACK_WEBHOOK_URL = "http://127.0.0.1:9/hooks/T000/B000/secret-token"
    evaluate(django_capture_on_commit_callbacks)
    alert = Alert.objects.get()
    assert alert.notify_error.startswith("slack: ConnectionError")
    assert "secret-token" not in alert.notify_error
    assert "[redacted]" in alert.notify_error


def test_an_alert_whose_send_was_lost_is_sent_by_a_later_evaluation(channels, domain_spike):
    evaluate_alerts(now=NOW)  # its after-commit send never ran (a killed process)
    assert Alert.objects.get().notify_attempts == 0
    evaluate_alerts(now=NOW + timedelta(minutes=1))  # too soon to tell it was lost
    assert len(mail.outbox) == 0
    evaluate_alerts(now=NOW + timedelta(minutes=5))
    assert len(mail.outbox) == 1 and len(channels.wait_for(1)) == 1


def test_a_rule_that_does_not_notify_sends_nothing(
    channels, domain_spike, django_capture_on_commit_callbacks
):
    AlertRule.objects.update(notify=False)
    evaluate(django_capture_on_commit_callbacks)
    assert Alert.objects.exists()
    assert not alert_notify(Alert.objects.get().pk)
    assert (len(mail.outbox), len(channels.posts)) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_send_that_fails_at_commit_is_not_retried_by_the_same_evaluation(channels):
    AlertRule.objects.all().delete()
    acme = make_subuser("acme")
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5))
    make_rule(Kind.BOUNCE_SPIKE, min_count=20)
    channels.statuses.extend([500] * 3)
    evaluate_alerts(now=NOW + timedelta(minutes=5))  # sent after the rule's commit, here
    alert = Alert.objects.get()
    assert (alert.notify_attempts, len(channels.posts), len(mail.outbox)) == (1, 1, 1)
