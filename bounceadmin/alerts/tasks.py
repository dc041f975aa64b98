"""Celery tasks of the alerts: the evaluation, on beat's schedule (ALERTS_EVALUATE_SECONDS) and
queued after each applied webhook batch and each subuser's refresh; and each alert's
notification, queued by the evaluation (on commit) so that a channel that is down holds up only
its own task. `notify.alert_notify`'s claim makes a double send impossible."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from bounceadmin.queue import publish

from . import evaluate
from .notify import alert_notify

# A queued evaluation covers everything that happens before it runs: a burst of webhook batches
# and refreshes queues one, not one each.
QUEUED_FLAG = "alerts:evaluate-queued"
QUEUED_FLAG_SECONDS = 60


def evaluate_alerts_soon() -> None:
    """Queue an evaluation unless one is queued already. A broker that is down loses nothing:
    beat's next evaluation sees the same data."""
    if cache.add(QUEUED_FLAG, 1, timeout=QUEUED_FLAG_SECONDS) and not publish(evaluate_alerts):
        cache.delete(QUEUED_FLAG)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def evaluate_alerts() -> str:
    # Cleared first: what happens from now on queues an evaluation of its own.
    cache.delete(QUEUED_FLAG)
    return evaluate.evaluate_alerts(send=notify_soon).line()


def notify_soon(alert_id: int, now=None) -> None:
    """Queue the alert's notification. A broker that is down loses nothing: a later evaluation
    finds the alert never attempted, or its retry due, and queues it again."""
    publish(notify_alert, alert_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def notify_alert(alert_id: int) -> bool:
    # Its own `now`: when it is sent, for the retries' waits.
    return alert_notify(alert_id)
