"""Alert rules (configured in the Django admin) and the alerts they raise."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AlertRule(models.Model):
    """One rule: what it watches (`kind`), its thresholds, and for which subusers (none: all).

    Each kind reads only the fields it needs; the admin's help texts say which."""

    class Kind(models.TextChoices):
        BOUNCE_SPIKE = "bounce_spike", "Bounce spike (a subuser against its own baseline)"
        CLASSIFICATION_SPIKE = "classification_spike", "Spike within one classification"
        DOMAIN_SPIKE = "domain_spike", "Spike at one receiving domain"
        SENDER_FAULT_SHARE = "sender_fault_share", "Jump in the sender-fault share"
        REFRESH_FAILURES = "refresh_failures", "Refreshes failing in a row"
        WEBHOOK_SILENT = "webhook_silent", "Event Webhook silent too long"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    subusers = models.ManyToManyField(
        "bounces.Subuser", blank=True, related_name="+",
        help_text="The subusers this rule watches; none chosen: every subuser.",
    )  # fmt: skip
    # The spikes: the last `window_minutes` against the same window on each of the past
    # `baseline_days` days (their median), firing at `factor` times it and `min_count` at least.
    window_minutes = models.PositiveIntegerField(default=60)
    baseline_days = models.PositiveIntegerField(default=14)
    min_count = models.PositiveIntegerField(
        default=20, help_text="Fewer bounces than this in the window never fire (small subusers)."
    )
    factor = models.FloatField(default=3.0, help_text="Times the baseline median.")
    # A classification spike: which classifications (empty: Reputation, Content, Technical
    # Failure, Frequency or Volume Too High).
    classifications = models.JSONField(default=list, blank=True)
    # The sender-fault share: fires when the window's share exceeds the baseline's by this many
    # points (0.2 = 20 points).
    share_jump = models.FloatField(default=0.2)
    # Refreshes failing in a row, and the webhook silent for this long.
    failures_in_row = models.PositiveIntegerField(default=3)
    silent_minutes = models.PositiveIntegerField(default=240)
    # After an alert resolves, the same rule and subject stay quiet this long.
    cooldown_minutes = models.PositiveIntegerField(default=60)
    notify = models.BooleanField(default=True, help_text="Send email and Slack notifications.")
    # The `now` of the last evaluation applied to this rule: an older one that comes late (it
    # read the data before a newer one) is not applied, so it cannot undo what the newer saw.
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """An incident a rule saw: open until acknowledged, and resolved when the rule no longer
    sees it. One unresolved alert per rule, subuser and subject (a classification, a receiving
    domain, or "" for the subuser as a whole)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    # A rule that raised alerts is disabled, not deleted: its alerts' history stays.
    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertRule.Kind.choices)  # the rule's, kept
    subuser = models.ForeignKey("bounces.Subuser", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    summary = models.CharField(max_length=500)  # what, where, how far over the baseline
    # The incident: since when, the window's value against the baseline, and the filters that
    # select its bounces (subuser, classification, domain, fault, since/until) in `details`.
    since = models.DateTimeField()
    value = models.FloatField(default=0)
    baseline = models.FloatField(default=0)
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()  # the last evaluation that still saw it
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    ack_comment = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # One line per channel that failed ("slack: ..."); a later evaluation retries those, less
    # and less often, up to alerts.notify.MAX_ATTEMPTS attempts in all.
    notify_error = models.TextField(blank=True)
    notify_attempts = models.PositiveSmallIntegerField(default=0)
    notify_attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Idempotent evaluation, even by two beat processes at once.
            models.UniqueConstraint(
                fields=["rule", "subuser", "subject"],
                condition=~Q(state="resolved"),
                name="alert_one_unresolved",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "opened_at"], name="alert_state_opened"),
            models.Index(fields=["subuser", "opened_at"], name="alert_subuser_opened"),
        ]

    def __str__(self) -> str:
        return self.summary
