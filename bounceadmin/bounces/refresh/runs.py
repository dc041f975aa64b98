"""A refresh's record: finishing its run, and the runs a killed worker left behind."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.sendgrid import Adjustment, SendGridError

from ..models import RefreshRun, Subuser
from .errors import WORKER_STOPPED, Interrupted, ListKeptChanging
from .locks import LockLost

RUN_ADJUSTMENTS_KEPT = 100


def run_finish(run: RefreshRun, requests: int, *, error: str = "") -> None:
    run.finished_at = timezone.now()
    run.requests = requests
    run.outcome = RefreshRun.Outcome.FAILED if error else RefreshRun.Outcome.OK
    run.error = error
    if error:
        # Nothing of the failed attempt was written: report the counts as zero.
        run.fetched = run.created = run.updated = run.removed = run.reappeared = 0
        run_adjustments_note(run, [])
    run.save()
    if not error and run.list == "bounces":  # another list's success is its list state's
        Subuser.objects.filter(pk=run.subuser_id).update(last_success_at=run.finished_at)
    details = {"kind": run.kind, "run": run.pk, "fetched": run.fetched, "created": run.created,
               "updated": run.updated, "removed": run.removed, "error": error}  # fmt: skip
    if run.list != "bounces":
        details["list"] = run.list
    if run.adjusted or run.set_aside:
        details.update(adjusted=run.adjusted, set_aside=run.set_aside)
    audit_record(
        AuditEvent.Action.REFRESH_FAILED if error else AuditEvent.Action.REFRESH_FINISHED,
        subuser=run.subuser.username,
        details=details,
        key=f"refresh:{run.pk}:finished",
    )


def run_adjustments_note(run: RefreshRun, adjustments: list[Adjustment]) -> None:
    """What the run stored other than as sent, or set aside: counts of entries, and the first
    RUN_ADJUSTMENTS_KEPT notes to show."""
    run.adjusted = len({a.entry for a in adjustments if not a.set_aside})
    run.set_aside = len({a.entry for a in adjustments if a.set_aside})
    run.adjustments = [a._asdict() for a in adjustments[:RUN_ADJUSTMENTS_KEPT]]


def describe(exc: BaseException) -> str:
    if isinstance(exc, SendGridError | LockLost | ListKeptChanging | Interrupted):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:1000]


def refresh_mark_interrupted(*, subuser_id: int | None = None) -> int:
    """Close runs still 'running' that no worker is doing any more (a killed worker's): those
    whose subuser's lease is free, or, given `subuser_id`, that subuser's, whose lease the caller
    has just taken (every refresh holds its subuser's lease while it runs)."""
    now = timezone.now()
    if subuser_id is None:
        free = Q(subuser__lock_expires_at__isnull=True) | Q(subuser__lock_expires_at__lt=now)
        runs = RefreshRun.objects.filter(free)
    else:
        runs = RefreshRun.objects.filter(subuser_id=subuser_id)
    return runs.filter(outcome=RefreshRun.Outcome.RUNNING).update(
        outcome=RefreshRun.Outcome.FAILED, finished_at=now, error=WORKER_STOPPED
    )


def stale_before() -> datetime:
    return timezone.now() - timedelta(minutes=settings.REFRESH_STALE_MINUTES)
