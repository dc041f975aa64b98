"""Refused deliveries into the audit log, bounded: a flood of bad signatures must not flood the
append-only log. Per endpoint (or, for unknown addresses, for all of them together) and reason,
the first WEBHOOK_REFUSAL_AUDIT_PER_HOUR refusals of an hour are recorded, then only the 10th,
100th, ... with the count so far. The endpoint's counters count every one."""

from __future__ import annotations

import time

from django.conf import settings

from bounceadmin.audit.bounded import bounded_count, bounded_recorded
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record

_WINDOW = 3600

WHY = {
    "signature": "bad or missing signature",
    "stale": "timestamp outside the accepted window",
    "unknown": "no webhook at that address",
}


def refusal_record(endpoint, why: str) -> AuditEvent | None:
    hour = int(time.time()) // _WINDOW
    key = f"audit:webhook-refused:{hour}:{endpoint.pk if endpoint else '-'}:{why}"
    count = bounded_count(key, _WINDOW * 2)
    if not bounded_recorded(count, settings.WEBHOOK_REFUSAL_AUDIT_PER_HOUR):
        return None
    details = {"why": WHY.get(why, why), "refused_this_hour": count}
    if count > settings.WEBHOOK_REFUSAL_AUDIT_PER_HOUR:
        details["note"] = "past the hour's limit: only every power of ten is recorded"
    return audit_record(
        AuditEvent.Action.WEBHOOK_REFUSED,
        subuser=endpoint.subuser.username if endpoint else "",
        details=details,
    )
