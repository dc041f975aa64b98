"""Telling people about an alert: a plain-text email through Django's email settings to
ALERTS_EMAIL_TO, and a message to a Slack-compatible incoming webhook
(ALERTS_SLACK_WEBHOOK_URL). Each says what, where, since when, how far over the baseline, and
links to the filtered bounce list and to the alert.

Sent once per alert: each attempt is claimed by a conditional update first, so two evaluations
at once never both send it; a channel that failed is named in `notify_error` and retried by a
later evaluation, up to MAX_ATTEMPTS attempts. Upstream text (a subuser's name, a receiving
domain, a refresh's error) is escaped for Slack's mrkdwn; the email is plain text. The SendGrid
API key is never part of an alert, and is scrubbed from anything sent or recorded all the same.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from . import incident
from .models import Alert, AlertRule

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# After the n-th failed attempt, the next waits this long: an outage of Slack or of the mail
# server of up to an hour and a half is bridged.
RETRY_AFTER = {1: timedelta(minutes=1), 2: timedelta(minutes=5), 3: timedelta(minutes=15),
               4: timedelta(minutes=60)}  # fmt: skip
# An alert opened this long ago and never attempted lost its after-commit send (a killed
# process): a later evaluation sends it.
FORGOTTEN = timedelta(minutes=2)
SLACK_TIMEOUT = (5, 10)  # seconds: connect, read
ERROR_CHARS = 500


def channels_configured() -> list[str]:
    channels = []
    if settings.ALERTS_EMAIL_TO:
        channels.append("email")
    if settings.ALERTS_SLACK_WEBHOOK_URL:
        channels.append("slack")
    return channels


def alert_notify(alert_id: int, *, now=None) -> bool:
    """Send the alert's notifications that are due, once; returns whether it is now notified."""
    now = now or timezone.now()
    alert = Alert.objects.select_related("rule", "subuser").filter(pk=alert_id).first()
    if alert is None or alert.notified_at is not None or not alert.rule.notify:
        return False
    if alert.state != Alert.State.OPEN:
        return False  # acknowledged (someone is on it) or resolved: nothing to tell
    channels = _channels_due(alert)
    if not channels or alert.notify_attempts >= MAX_ATTEMPTS:
        return False
    claimed = Alert.objects.filter(
        pk=alert.pk,
        state=Alert.State.OPEN,  # not acknowledged nor resolved meanwhile
        notified_at=None,
        notify_attempts=alert.notify_attempts,
        notify_error=alert.notify_error,
    ).update(notify_attempts=F("notify_attempts") + 1, notify_error="", notify_attempted_at=now)
    if not claimed:
        return False  # another evaluation is sending it, or has
    errors = []
    for channel in channels:
        try:
            SENDERS[channel](alert)
        except Exception as exc:  # any failure of a channel is recorded and retried later
            log.warning("alert %s: %s notification failed: %s", alert.pk, channel,
                        type(exc).__name__)  # fmt: skip
            errors.append(f"{channel}: {scrub(f'{type(exc).__name__}: {exc}')[:ERROR_CHARS]}")
    if errors:
        Alert.objects.filter(pk=alert.pk).update(notify_error="\n".join(errors))
        return False
    Alert.objects.filter(pk=alert.pk).update(notified_at=now)
    return True


def _channels_due(alert: Alert) -> list[str]:
    """Every configured channel the first time; then those that failed."""
    configured = channels_configured()
    if alert.notify_attempts == 0:
        return configured
    failed = {line.split(":", 1)[0] for line in alert.notify_error.splitlines()}
    return [channel for channel in configured if channel in failed]


def notifications_due(now) -> QuerySet[Alert]:
    """Open alerts (neither acknowledged nor resolved) whose notification failed and whose
    next attempt is due, or that were never attempted although opened a while ago."""
    if not channels_configured():
        return Alert.objects.none()
    retry = Q(pk__in=[])
    for attempts, wait in RETRY_AFTER.items():
        if attempts < MAX_ATTEMPTS:
            retry |= Q(notify_attempts=attempts, notify_attempted_at__lte=now - wait)
    return Alert.objects.filter(state=Alert.State.OPEN, notified_at=None, rule__notify=True).filter(
        Q(notify_attempts=0, opened_at__lt=now - FORGOTTEN) | (retry & ~Q(notify_error=""))
    )


# --- the message ---------------------------------------------------------------------------------


def scrub(text: str) -> str:
    """Without the API key, nor the Slack URL (a secret too: its path is the token), which a
    connection error names."""
    slack = settings.ALERTS_SLACK_WEBHOOK_URL
    secrets = [settings.SENDGRID_API_KEY, slack, urlsplit(slack).path if slack else ""]
    for secret in secrets:
        if len(secret) > 1:
            text = text.replace(secret, "[redacted]")
    return text


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def bounces_url(alert: Alert) -> str:
    """The bounce list filtered to the incident, as the alert's page links it: the subuser from
    the alert's own subuser (not a name copied into `details`)."""
    return absolute(incident.bounces_url(alert))


def alert_url(alert: Alert) -> str:
    """The alert's page, or the alerts page where there is none (the pages are another app's
    part: whichever of their names exists)."""
    for name, args in (("alerts:detail", [alert.pk]), ("alerts:list", [])):
        try:
            return absolute(reverse(name, args=args))
        except NoReverseMatch:
            continue
    return absolute("/alerts/")


def how_far(alert: Alert) -> str:
    """The window's value against the baseline, in the rule's own terms."""
    kind = AlertRule.Kind
    if alert.kind == kind.SENDER_FAULT_SHARE:
        return f"{alert.value:.0%} of bounces are the sender's fault, against {alert.baseline:.0%}"
    if alert.kind == kind.REFRESH_FAILURES:
        return f"{alert.value:g} failed refreshes in a row (the rule: {alert.baseline:g})"
    if alert.kind == kind.WEBHOOK_SILENT:
        return f"silent {alert.value:g} minutes (the rule: {alert.baseline:g})"
    times = alert.value / max(alert.baseline, 1)
    return f"{alert.value:g} bounces against a median of {alert.baseline:g} ({times:.1f}×)"


def message_fields(alert: Alert) -> list[tuple[str, str]]:
    since = timezone.localtime(alert.since).strftime("%Y-%m-%d %H:%M %Z")
    fields = [
        ("What", alert.summary),
        ("Where", alert.subuser.username + (f" ({alert.subject})" if alert.subject else "")),
        ("Since", since),
        ("Over the baseline", how_far(alert)),
    ]
    error = (alert.details or {}).get("last_error")
    if error:
        fields.append(("Last error", error))
    return [(label, scrub(value)) for label, value in fields]


def email_send(alert: Alert) -> None:
    lines = [f"{label}: {value}" for label, value in message_fields(alert)]
    lines += ["", f"Bounces: {bounces_url(alert)}", f"Alert: {alert_url(alert)}"]
    subject = scrub(f"[bounceadmin] {alert.summary}")
    # A header cannot hold a line break (an address from upstream might try one).
    subject = " ".join(subject.split())[:200]
    EmailMessage(subject, "\n".join(lines), to=settings.ALERTS_EMAIL_TO).send()


def mrkdwn(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: its three control characters escaped, so an
    upstream `<https://evil|click>` or `<!channel>` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alert: Alert) -> str:
    fields = message_fields(alert)
    lines = [f"*{mrkdwn(fields[0][1])}*"]
    lines += [f"{label}: {mrkdwn(value)}" for label, value in fields[1:]]
    # URLs we built: their query is percent-encoded, so no `<`, `>` or `|` from upstream.
    lines.append(f"<{bounces_url(alert)}|Bounces> · <{alert_url(alert)}|Alert>")
    return "\n".join(lines)


def slack_send(alert: Alert) -> None:
    response = requests.post(
        settings.ALERTS_SLACK_WEBHOOK_URL, json={"text": slack_text(alert)}, timeout=SLACK_TIMEOUT
    )
    if response.status_code >= 300:
        raise SlackRefused(f"HTTP {response.status_code}")


class SlackRefused(Exception):
    pass


SENDERS = {"email": email_send, "slack": slack_send}
