"""Each subuser's Event Webhook as we set it up, the batches SendGrid delivered to it, and the
events applied from them."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.urls import reverse


def new_token() -> str:
    return secrets.token_urlsafe(24)


class WebhookEndpoint(models.Model):
    """A subuser's receiving URL (`/webhooks/sendgrid/<token>/`: nothing in SendGrid's payload
    names the subuser, so the URL does) and what we know of the webhook upstream."""

    subuser = models.OneToOneField(
        "bounces.Subuser", on_delete=models.CASCADE, related_name="webhook"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    # Upstream: the webhook's id, the URL it posts to, its events, signing and key.
    webhook_id = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    enabled = models.BooleanField(default=False)
    events = models.JSONField(default=list, blank=True)
    signing = models.BooleanField(default=False)
    public_key = models.TextField(blank=True)  # base64 DER SubjectPublicKeyInfo, as SendGrid's
    set_up_at = models.DateTimeField(null=True, blank=True)
    # Setting it up from the overview: queued since, and the last attempt's error ("" if none).
    setup_queued_at = models.DateTimeField(null=True, blank=True)
    setup_error = models.TextField(blank=True)
    # Deliveries: the last accepted, and those refused, by why.
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)  # the newest event's timestamp
    refused_signature = models.PositiveIntegerField(default=0)
    refused_stale = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subuser__username"]

    def __str__(self) -> str:
        return f"webhook of {self.subuser_id}"

    @property
    def path(self) -> str:
        return reverse("webhooks:sendgrid", args=[self.token])

    @property
    def receiving(self) -> bool:
        """Set up upstream, on, and signed: deliveries can be verified and accepted."""
        return self.enabled and self.signing and bool(self.public_key)

    @property
    def refused(self) -> int:
        return self.refused_signature + self.refused_stale


class WebhookBatch(models.Model):
    """One verified delivery, stored as received before it is answered: a crash before it is
    applied loses nothing (the sweeper applies it)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"  # kept failing to apply; see `error`

    subuser = models.ForeignKey("bounces.Subuser", on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField()
    body = models.TextField()  # the JSON array as it came (verified, UTF-8)
    events = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # What applying did: counts by outcome, and notes on events stored other than as sent.
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["subuser", "id"],
                name="webhookbatch_pending",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["received_at"], name="webhookbatch_received"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.subuser_id} ({self.events} events, {self.state})"


class WebhookEvent(models.Model):
    """One event, applied once: SendGrid delivers at least once, `sg_event_id` makes it once."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Added the bounce"
        UPDATED = "updated", "Updated the bounce"
        REACTIVATED = "reactivated", "Bounced again after its removal"
        UNCHANGED = "unchanged", "Already cached"
        OLDER = "older", "Older than the cached bounce or its removal"
        HELD = "held", "Not applied: its removal was being pushed"
        REMOVED = "removed", "Took the address off its list"  # a group resubscribe
        RECORDED = "recorded", "Recorded"

    subuser = models.ForeignKey(
        "bounces.Subuser", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    batch = models.ForeignKey(
        WebhookBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )  # fmt: skip
    sg_event_id = models.CharField(max_length=100)
    event = models.CharField(max_length=32)  # bounce, dropped, deferred, ...
    type = models.CharField(max_length=16, blank=True)  # of a bounce event: bounce or blocked
    email = models.CharField(max_length=320)  # stored lowercased, like Bounce.email
    timestamp = models.DateTimeField()
    status = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    # SendGrid's bounce_classification as sent (the webhook's names, e.g. "Technical").
    classification = models.CharField(max_length=64, blank=True)
    # Of group (re)subscribe events: the group's upstream id (the cache may not know it yet).
    asm_group_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subuser", "sg_event_id"], name="webhookevent_unique_id"
            )
        ]
        indexes = [
            # An address's history (the bounce page's timeline).
            models.Index(fields=["subuser", "email", "timestamp"], name="webhookevent_address"),
            # The overview's events today.
            models.Index(fields=["subuser", "received_at"], name="webhookevent_received"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.email} at {self.timestamp:%Y-%m-%d %H:%M:%S}"

    @property
    def label(self) -> str:
        if self.event == "bounce" and self.type == "blocked":
            return "Blocked"
        if self.event in LABELS:
            return LABELS[self.event].format(group=self.asm_group_id)
        return self.event.replace("_", " ").capitalize()


# What the recipient did, for the events that are their own request (the timeline and lookups
# name the group where they know it).
LABELS = {
    "spamreport": "Reported as spam",
    "unsubscribe": "Unsubscribed from all mail",
    "group_unsubscribe": "Unsubscribed from group {group}",
    "group_resubscribe": "Resubscribed to group {group}",
}
