"""Writes of the bounce cache that pages and tasks ask for. The refresh itself is in refresh/,
importing subusers in subusers.py."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.queue import publish

from .models import Subuser


def refresh_enqueue(*, subuser_ids: list[int], full: bool = False, requested_by=None) -> None:
    """Mark the subusers queued and send one refresh task each once the transaction commits.
    An operator's request ("Refresh now") is audited with their name, one event per subuser."""
    from .tasks import refresh_subuser  # tasks call services; this one queues a task

    Subuser.objects.filter(pk__in=subuser_ids).update(refresh_queued_at=timezone.now())
    if requested_by is not None:
        kind = "full" if full else "incremental"
        for name in Subuser.objects.filter(pk__in=subuser_ids).values_list("username", flat=True):
            audit_record(
                AuditEvent.Action.REFRESH_REQUESTED, actor=requested_by, subuser=name,
                details={"kind": kind},
            )  # fmt: skip
    for pk in subuser_ids:
        transaction.on_commit(lambda pk=pk: publish(refresh_subuser, pk, full))
