"""Setting a subuser's Event Webhook up upstream: ours created or brought to what we want, signed,
and its public key stored. Idempotent: a second run finds nothing to change and writes nothing.

Ours is the webhook whose id we stored, or else the one posting to this subuser's
`/webhooks/sendgrid/<token>/` (whatever the host: a new public URL updates it rather than adding
another). A subuser's other webhooks are someone else's and left alone, also when they use up
the plan's `max_allowed`. Signing is a separate call after creation (SendGrid's API has no other
way), and the key is fetched on every run: it can be renewed upstream.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser
from bounceadmin.sendgrid import (
    SendGridClient,
    SendGridError,
    UpstreamWebhook,
    UpstreamWebhooks,
    get_client,
)
from bounceadmin.sendgrid.client import WEBHOOK_EVENTS
from bounceadmin.sendgrid.errors import BadRequest, WebhookLimitReached

from .models import WebhookEndpoint

FRIENDLY_NAME = "bounceadmin"
# Bounces, sends that hit a suppression, and the recipients' own requests (spam reports, global
# and group unsubscribes and resubscribes): what `apply.py` writes to the cache.
EVENTS = (
    "bounce", "dropped", "spam_report", "unsubscribe", "group_unsubscribe", "group_resubscribe",
)  # fmt: skip
CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED = (
    "created", "updated", "unchanged", "skipped", "failed"
)  # fmt: skip


@dataclass
class SetupResult:
    """What a set-up did, or with dry_run would do: the outcome, and the changes in words."""

    subuser: str
    outcome: str
    changes: list[str] = field(default_factory=list)
    dry_run: bool = False
    error: str = ""  # why skipped, or what failed

    @property
    def failed(self) -> bool:
        return self.outcome == FAILED

    @property
    def line(self) -> str:
        """One line for the command and the logs."""
        if self.outcome in (SKIPPED, FAILED):
            return f"{self.subuser}: {self.outcome}: {self.error}"
        if self.outcome == UNCHANGED:
            return f"{self.subuser}: unchanged"
        verb = {CREATED: "would create", UPDATED: "would update"} if self.dry_run else {}
        return f"{self.subuser}: {verb.get(self.outcome, self.outcome)}: " + "; ".join(self.changes)


class LimitReached(Exception):
    """The subuser's plan allows no more webhooks, and none of them is ours."""


def webhook_set_up(
    subuser: Subuser,
    *,
    public_url: str,
    dry_run: bool = False,
    deferred: bool = False,
    actor=None,
) -> SetupResult:
    """Create or update the subuser's webhook to post to `public_url` + its endpoint's path, with
    the `EVENTS` (and deferred with `deferred`), signed; store its key. With
    `dry_run`, only reads upstream and writes nothing anywhere. ValueError for a bad public_url."""
    base = public_base(public_url)
    name = subuser.username
    if not subuser.refreshable:
        if not dry_run:
            WebhookEndpoint.objects.filter(subuser=subuser).update(setup_queued_at=None)
        return SetupResult(name, SKIPPED, dry_run=dry_run, error=subuser.not_refreshable_why)
    if dry_run:
        endpoint = WebhookEndpoint.objects.filter(subuser=subuser).first()
        endpoint = endpoint or WebhookEndpoint(subuser=subuser)  # unsaved: nothing is written
    else:
        endpoint, _ = WebhookEndpoint.objects.get_or_create(subuser=subuser)
    wanted = _Wanted(
        url=base + endpoint.path, events=set(EVENTS) | ({"deferred"} if deferred else set())
    )
    client = get_client()
    try:
        result = _Setup(client, endpoint, wanted, dry_run=dry_run, actor=actor).run()
    except LimitReached as exc:
        result = SetupResult(name, FAILED, dry_run=dry_run, error=str(exc))
    except SendGridError as exc:
        result = SetupResult(name, FAILED, dry_run=dry_run, error=str(exc))
    finally:
        client.close()
    if not dry_run:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            setup_queued_at=None, setup_error=result.error if result.failed else ""
        )
    return result


def public_base(public_url: str) -> str:
    """The dashboard's public URL as the webhook's prefix: http(s), a host, no trailing slash."""
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"not an http(s) URL of the dashboard: {public_url!r}")
    return public_url.strip().rstrip("/")


def key_fingerprint(public_key: str) -> str:
    """A short fingerprint of a public key, for the audit log and messages (never the key)."""
    if not public_key:
        return ""
    try:
        der = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError):
        der = public_key.encode()
    return "SHA256:" + hashlib.sha256(der).hexdigest()[:16]


@dataclass
class _Wanted:
    url: str
    events: set[str]

    def settings(self) -> dict:
        return {
            "enabled": True,
            "url": self.url,
            "friendly_name": FRIENDLY_NAME,
            **{event: event in self.events for event in WEBHOOK_EVENTS},
        }


class _Setup:
    def __init__(self, client: SendGridClient, endpoint: WebhookEndpoint, wanted: _Wanted, *,
                 dry_run: bool, actor) -> None:  # fmt: skip
        self.client, self.endpoint, self.wanted = client, endpoint, wanted
        self.name = endpoint.subuser.username
        self.behalf = endpoint.subuser.on_behalf_of  # none for the parent account's own
        self.dry_run, self.actor = dry_run, actor
        self.changes: list[str] = []
        self.written: UpstreamWebhook | None = None  # ours, once a call changed it upstream
        self.key_before = ""

    def run(self) -> SetupResult:
        listing = self.client.list_event_webhooks(self.behalf)
        found = self._ours(listing.webhooks)
        try:
            return self._run(listing, found)
        except SendGridError as exc:
            if self.written is not None and not self.dry_run:
                # Upstream changed before the failure: keep what is known, and say so.
                same = self.written.id == self.endpoint.webhook_id
                key = self.endpoint.public_key if same else ""
                self._store(self.written, key, found, error=str(exc))
            raise

    def _run(self, listing: UpstreamWebhooks, found: UpstreamWebhook | None) -> SetupResult:
        if found is None:
            outcome, ours = self._create(listing.max_allowed, len(listing.webhooks))
            key_before = ""
            if outcome == UPDATED:  # another run had made it: its signing may be on already
                key_before = self.client.get_event_webhook_public_key(self.behalf, ours.id)
        else:
            # The list shows the key only while signing is on; the signed GET is the key's own
            # call (also when signing was on: a key can be renewed upstream).
            key_before = self.client.get_event_webhook_public_key(self.behalf, found.id)
            key_before = key_before or found.public_key
            outcome, ours = UPDATED, self._update(found)
        self.key_before = key_before
        key = self._signed(ours, key_before)
        stored = self.endpoint.public_key
        if ours is not None and key != stored:
            self.changes.append(_key_change(stored, key))
        if found is not None and found.id != self.endpoint.webhook_id:
            self.changes.append(f"recorded as ours (id {found.id})")
        if not self.changes:
            outcome = UNCHANGED
        result = SetupResult(self.name, outcome, self.changes, dry_run=self.dry_run)
        if not self.dry_run:
            self._store(ours, key, found, outcome=outcome)
        return result

    def _ours(self, webhooks: list[UpstreamWebhook]) -> UpstreamWebhook | None:
        if self.endpoint.webhook_id:
            for webhook in webhooks:
                if webhook.id == self.endpoint.webhook_id:
                    return webhook
        mark = self.endpoint.path  # /webhooks/sendgrid/<token>/: the token is this subuser's
        return next((w for w in webhooks if mark in w.url), None)

    def _create(self, max_allowed: int | None, count: int) -> tuple[str, UpstreamWebhook | None]:
        if max_allowed is not None and count >= max_allowed:
            raise LimitReached(_limit_message(max_allowed, count))
        events = ", ".join(sorted(self.wanted.events))
        self.changes.append(f"webhook created at {_shown(self.wanted.url)} ({events})")
        if self.dry_run:
            return CREATED, None
        try:
            self.written = self.client.create_event_webhook(self.behalf, self.wanted.settings())
            return CREATED, self.written
        except WebhookLimitReached:
            raise LimitReached(_limit_message(max_allowed, count)) from None
        except BadRequest:
            # A POST retried after a lost answer, or a set-up running alongside, may have made it
            # already (SendGrid refuses a second webhook at the same URL): take that one.
            ours = self._ours(self.client.list_event_webhooks(self.behalf).webhooks)
            if ours is None:
                raise
            self.changes[-1] = f"webhook found at {_shown(ours.url)} (made by another run)"
            return UPDATED, self._update(ours)

    def _update(self, ours: UpstreamWebhook) -> UpstreamWebhook:
        wanted = self.wanted.settings()
        diff: dict = {}
        if ours.url != self.wanted.url:
            diff["url"] = self.wanted.url
            self.changes.append(f"url {_shown(ours.url)} → {_shown(self.wanted.url)}")
        if not ours.enabled:
            diff["enabled"] = True
            self.changes.append("enabled")
        if ours.friendly_name != FRIENDLY_NAME:
            diff["friendly_name"] = FRIENDLY_NAME
            self.changes.append(f"friendly name {ours.friendly_name!r} → {FRIENDLY_NAME!r}")
        on, off = self.wanted.events - ours.events, ours.events - self.wanted.events
        diff |= {event: wanted[event] for event in on | off}
        if on:
            self.changes.append("events on: " + ", ".join(sorted(on)))
        if off:
            self.changes.append("events off: " + ", ".join(sorted(off)))
        if not diff or self.dry_run:
            return ours
        # SendGrid wants the url in every update, changed or not.
        body = {"url": self.wanted.url, **diff}
        self.written = self.client.update_event_webhook(self.behalf, ours.id, body)
        return self.written

    def _signed(self, ours: UpstreamWebhook | None, key: str) -> str:
        """Signing on: the public key (what is stored, in a dry run that cannot know it)."""
        if key:
            return key
        if ours is None or self.dry_run:
            self.changes.append("signing turned on, its public key stored")
            return self.endpoint.public_key
        self.changes.append("signing turned on")
        return self.client.set_event_webhook_signing(self.behalf, ours.id, True)

    def _store(
        self,
        ours: UpstreamWebhook,
        key: str,
        found: UpstreamWebhook | None,
        *,
        outcome: str = FAILED,
        error: str = "",
    ) -> None:
        """Keep what we now know of ours, and audit a change (with before and after)."""
        endpoint = self.endpoint
        with transaction.atomic():
            endpoint.webhook_id = ours.id
            endpoint.url = ours.url
            endpoint.enabled = ours.enabled
            endpoint.events = sorted(ours.events)
            endpoint.signing = bool(key)
            endpoint.public_key = key
            if outcome != UNCHANGED or endpoint.set_up_at is None:
                endpoint.set_up_at = timezone.now()
            endpoint.save()
            if outcome == UNCHANGED:
                return
            details = {
                "outcome": outcome,
                "webhook_id": ours.id,
                "changes": self.changes,
                "before": _state(found, key=self.key_before),
                "after": _state(ours, key=key),
            }
            if error:
                details["error"] = error
            audit_record(
                AuditEvent.Action.WEBHOOK_SET_UP, actor=self.actor, subuser=self.name,
                details=details,
            )  # fmt: skip


def _state(webhook: UpstreamWebhook | None, *, key: str) -> dict | None:
    """What the audit log keeps of a webhook: url (its token shortened), events, signing, and
    the key's fingerprint, never the key."""
    if webhook is None:
        return None
    return {
        "url": _shown(webhook.url),
        "enabled": webhook.enabled,
        "events": sorted(webhook.events),
        "signing": bool(key),
        "key": key_fingerprint(key),
    }


def _shown(url: str) -> str:
    """A webhook URL with its token shortened: enough to recognise, not to reuse."""
    prefix = "/webhooks/sendgrid/"
    head, sep, rest = url.partition(prefix)
    if not sep:
        return url
    token, slash, tail = rest.partition("/")
    return f"{head}{prefix}{token[:6]}…{slash}{tail}" if len(token) > 6 else url


def _key_change(old: str, new: str) -> str:
    if not old:
        return f"public key stored ({key_fingerprint(new)})"
    if not new:
        return "public key dropped (signing is off upstream)"
    return f"public key renewed upstream: {key_fingerprint(old)} → {key_fingerprint(new)}"


def _limit_message(max_allowed: int | None, count: int) -> str:
    allowed = f"allows {max_allowed}" if max_allowed is not None else "allows no more"
    return (
        f"the plan's event webhooks are used up: it {allowed} and the subuser has {count}, none of"
        " them ours. We leave those alone; free one in SendGrid (or raise the plan's limit), then"
        " run this again."
    )
