"""`/healthz`: 200 only when the database and the broker answer; otherwise 503 naming which is
down. No login (load balancers and monitors call it); it reveals no names, hosts or secrets."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from bounceadmin.celery import app as celery_app

log = logging.getLogger(__name__)
BROKER_TIMEOUT = 2.0


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:
        log.warning("healthz: database unreachable (%s)", type(exc).__name__)
        return False


def broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
            conn.default_channel  # noqa: B018  opens a channel: the broker really answers
        return True
    except Exception as exc:
        log.warning("healthz: broker unreachable (%s)", type(exc).__name__)
        return False


@never_cache
def healthz(request):
    checks = {
        "database": "ok" if database_ok() else "unreachable",
        "broker": "ok" if broker_ok() else "unreachable",
    }
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
