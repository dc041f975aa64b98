"""Celery tasks of the alerts: the evaluation, on beat's schedule (ALERTS_EVALUATE_SECONDS) and
queued after each applied webhook batch and each subuser's refresh."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from bounceadmin.queue import publish

from . import evaluate

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
    return evaluate.evaluate_alerts().line()
