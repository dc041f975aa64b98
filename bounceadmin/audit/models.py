"""The append-only audit log.

Rows are only ever inserted: the model refuses saves of existing rows and deletes, the queryset
refuses bulk updates and deletes, Django admin offers neither, and on PostgreSQL a trigger refuses
UPDATE and DELETE at the database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        DELETION_REQUESTED = "deletion.requested", "Deletion requested"
        DELETION_APPROVED = "deletion.approved", "Deletion approved"
        DELETION_REJECTED = "deletion.rejected", "Deletion rejected"
        DELETION_WITHDRAWN = "deletion.withdrawn", "Deletion withdrawn"
        DELETION_PUSHED = "deletion.pushed", "Deletion pushed upstream"
        DELETION_FAILED = "deletion.failed", "Deletion push failed"
        DELETION_RETRIED = "deletion.retried", "Deletion retried"
        REFRESH_REQUESTED = "refresh.requested", "Refresh requested"
        REFRESH_STARTED = "refresh.started", "Refresh started"
        REFRESH_FINISHED = "refresh.finished", "Refresh finished"
        REFRESH_FAILED = "refresh.failed", "Refresh failed"
        API_TOKEN_CREATED = "api.token_created", "API token created"
        API_TOKEN_REVOKED = "api.token_revoked", "API token revoked"
        WEBHOOK_SET_UP = "webhook.set_up", "Webhook set up"
        WEBHOOK_REFUSED = "webhook.refused", "Webhook delivery refused"
        OPERATOR_CREATED = "operator.created", "Operator created"
        OPERATOR_CHANGED = "operator.changed", "Operator changed"
        ROLE_CHANGED = "operator.role_changed", "Role changed"
        ALERT_OPENED = "alert.opened", "Alert opened"
        ALERT_RESOLVED = "alert.resolved", "Alert resolved"
        ALERT_ACKNOWLEDGED = "alert.acknowledged", "Alert acknowledged"
        ALERT_RULE_CHANGED = "alert.rule_changed", "Alert rule changed"
        LOGIN = "auth.login", "Logged in"
        LOGIN_FAILED = "auth.login_failed", "Login failed"
        LOGOUT = "auth.logout", "Logged out"
        MFA_ENROLLED = "auth.mfa_enrolled", "Second factor set up"
        MFA_FAILED = "auth.mfa_failed", "Second-factor code refused"
        MFA_VERIFIED = "auth.mfa_verified", "Second factor checked again"
        MFA_RECOVERY_USED = "auth.mfa_recovery_used", "Recovery code used"
        MFA_RECOVERY_RENEWED = "auth.mfa_codes_renewed", "Recovery codes renewed"
        MFA_RESET = "auth.mfa_reset", "Second factor removed"
        SSO_LINKED = "auth.sso_linked", "Single sign-on identity linked"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The user row may go; the name stays. No database FK, so deleting a user never has to
    # touch (update) this table.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    subuser = models.CharField(max_length=128, blank=True, db_index=True)
    addresses = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # What the event is about, for the pages of that object.
    deletion_request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Makes recording idempotent: a task run twice records its event once.
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["actor_name", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")
