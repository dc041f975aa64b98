"""Deletion requests: which addresses to remove from which subuser's list, who asked, who
decided, and how each address fared upstream."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class DeletionRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved, queued"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        PUSHING = "pushing", "Pushing upstream"
        DONE = "done", "Removed upstream"
        PARTLY_FAILED = "partly_failed", "Partly failed"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.APPROVED, State.PUSHING)
    # Requests whose addresses may still be removed: an address in one is not requested again.
    UNDECIDED_OR_OPEN = (State.PENDING, State.APPROVED, State.PUSHING)

    subuser = models.ForeignKey(
        "bounces.Subuser", on_delete=models.PROTECT, related_name="deletion_requests"
    )
    # Which list the addresses are removed from (suppressions.lists.SuppressionList), and for
    # group unsubscribes which group.
    list = models.CharField(max_length=24, default="bounces")
    group = models.ForeignKey(
        "suppressions.SuppressionGroup", null=True, blank=True, on_delete=models.PROTECT,
        related_name="deletion_requests",
    )  # fmt: skip
    # A spam report or unsubscribe is the recipient's own request: removing one records their
    # consent to mail again (what they said, when, and where it is kept).
    consent_statement = models.TextField(blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_reference = models.CharField(max_length=200, blank=True)
    # Requests made together (one submission across several subusers) share a batch.
    batch = models.UUIDField(db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deletion_requests"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    justification = models.TextField()
    ticket = models.CharField(max_length=200, blank=True)
    # The list filter the addresses were chosen with, as a query string, for the record.
    selection = models.TextField(blank=True)
    # SendGrid's delete_all: the subuser's whole list, not just the snapshotted addresses.
    delete_all = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="deletion_decisions",
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("approve_deletionrequest", "Can approve or reject deletion requests"),
            # Not part of any role: granted to the few who handle recipients' consent.
            (
                "remove_recipient_optout",
                "Can request and approve removals of spam reports and unsubscribes",
            ),
        ]
        indexes = [models.Index(fields=["state", "subuser"], name="deletionrequest_state")]

    def __str__(self) -> str:
        return f"Deletion #{self.pk} ({self.subuser_id}, {self.total} addresses)"

    def get_absolute_url(self) -> str:
        return reverse("deletions:detail", args=[self.pk])

    @property
    def list_label(self) -> str:
        """The list's name as the pages show it ("Spam reports")."""
        from bounceadmin.suppressions.lists import SuppressionList

        return SuppressionList(self.list).label


class DeletionItem(models.Model):
    """One address of a request, with a snapshot of its bounce (the upstream entry will go)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PUSHING = "pushing", "Pushing"
        DONE = "done", "Removed"
        FAILED = "failed", "Failed"
        # The request was decided against: the address stays on the upstream list.
        REJECTED = "rejected", "Not removed: rejected"
        WITHDRAWN = "withdrawn", "Not removed: withdrawn"

    request = models.ForeignKey(DeletionRequest, on_delete=models.CASCADE, related_name="items")
    bounce = models.ForeignKey(
        "bounces.Bounce", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deletion_items",
    )  # fmt: skip
    # The cached entry of another list (bounces have `bounce`).
    suppression = models.ForeignKey(
        "suppressions.Suppression", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deletion_items",
    )  # fmt: skip
    email = models.CharField(max_length=320)
    status = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    created = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["request", "email"], name="deletionitem_unique_email")
        ]
        indexes = [
            models.Index(fields=["request", "state"], name="deletionitem_request_state"),
            models.Index(fields=["email"], name="deletionitem_email"),
        ]

    def __str__(self) -> str:
        return self.email
