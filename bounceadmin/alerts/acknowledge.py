"""Acknowledging an alert: someone is on it. The alert stays until its rule no longer sees the
incident (the evaluation resolves it); an acknowledged alert is not notified again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import visible_alerts
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record

from .models import Alert

ACK_ROLE = "requester"  # the operators who act on the cache; viewers only read
MAX_COMMENT = 2000


class AcknowledgeError(Exception):
    """Not acknowledged; the message says why, for the user."""


def _state(alert: Alert) -> dict:
    return {
        "state": alert.state,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "ack_comment": alert.ack_comment,
    }


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user, comment: str) -> Alert:
    """Mark an open alert acknowledged by `user` with `comment`, audited with before and after.
    Refused (AcknowledgeError) without the role, outside the user's subusers, without a comment,
    or when the alert is no longer open (acknowledged meanwhile, or resolved)."""
    if not has_role(user, ACK_ROLE):
        raise AcknowledgeError(f"Acknowledging needs the {ACK_ROLE} role.")
    comment = comment.strip()
    if not comment:
        raise AcknowledgeError("Say what is being done about it: a comment is required.")
    if len(comment) > MAX_COMMENT:
        raise AcknowledgeError(f"A comment is at most {MAX_COMMENT} characters.")
    # Locked: two operators acknowledging at once, or the evaluation resolving it meanwhile.
    locked = (
        visible_alerts(user)
        .select_for_update(of=("self",))  # the alert row: acknowledged_by is an outer join
        .select_related("rule", "subuser", "acknowledged_by")
        .filter(pk=alert.pk)
        .first()
    )
    if locked is None:
        raise AcknowledgeError("No such alert.")
    if locked.state != Alert.State.OPEN:
        by = locked.acknowledged_by.get_username() if locked.acknowledged_by else "someone"
        raise AcknowledgeError(
            f"Alert #{locked.pk} was already acknowledged by {by}."
            if locked.state == Alert.State.ACKNOWLEDGED
            else f"Alert #{locked.pk} is resolved: there is nothing to acknowledge."
        )
    before = _state(locked)
    locked.state = Alert.State.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = user
    locked.ack_comment = comment
    locked.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "ack_comment"])
    audit_record(
        AuditEvent.Action.ALERT_ACKNOWLEDGED,
        actor=user,
        subuser=locked.subuser.username,
        details={"alert": locked.pk, "rule": locked.rule.name, "before": before,
                 "after": _state(locked)},
    )  # fmt: skip
    return locked
