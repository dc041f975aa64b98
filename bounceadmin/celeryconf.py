"""Celery's settings (settings.py reads them from here): the broker, how tasks are acknowledged,
and what beat queues, when."""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab


def broker_settings(env: environ.Env, *, url: str, broker_dir: Path) -> dict:
    """Everything but CELERY_BROKER_URL (`url`, which the cache's default reads too)."""
    found = {
        "CELERY_TASK_ALWAYS_EAGER": env.bool("CELERY_TASK_ALWAYS_EAGER", default=False),
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,  # workers log through LOGGING too
        # Publishing from a page must not hang when the broker is down: fail fast, say so, and
        # let the sweepers re-queue what was saved.
        "CELERY_TASK_PUBLISH_RETRY_POLICY": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
        },
        "CELERY_BROKER_CONNECTION_TIMEOUT": env.float(
            "CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0
        ),
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        "CELERY_TASK_IGNORE_RESULT": True,
    }
    if url.startswith("filesystem://"):
        # The embedded broker: messages are files in the data folder, shared by every process
        # on this machine. No server needed.
        found["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
            # Kombu's default is a look at the folder every second: a second added to every task.
            "polling_interval": 0.1,
        }
    elif url.startswith("redis"):
        # A task whose worker died unacknowledged goes back to the queue after this long (by
        # then the leases and the sweepers have long taken its work over; it finds nothing left).
        found["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
            "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900)
        }
    return found


def _crontab(spec: str) -> crontab:
    minute, hour, day_of_month, month_of_year, day_of_week = spec.split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


def beat_schedule(
    *, refresh_minutes: int, full_crontab: str, alerts_seconds: int, sync_crontab: str
) -> dict:
    return {
        "refresh-incremental": {
            "task": "bounceadmin.bounces.tasks.refresh_all",
            "schedule": refresh_minutes * 60.0,
            "kwargs": {"full": False},
        },
        "refresh-full": {
            "task": "bounceadmin.bounces.tasks.refresh_all",
            "schedule": _crontab(full_crontab),
            "kwargs": {"full": True},
        },
        # What a killed worker left (its leases run out within REFRESH_LOCK_SECONDS): resumed
        # within a minute of its death even when no worker restarts. Every worker also runs
        # these as it starts (bounceadmin/celery.py).
        "resume-deletions": {
            "task": "bounceadmin.deletions.tasks.resume_deletions",
            "schedule": 20.0,
        },
        "recover-refreshes": {
            "task": "bounceadmin.bounces.tasks.recover_interrupted_refreshes",
            "schedule": 20.0,
        },
        "apply-forgotten-webhook-batches": {
            "task": "bounceadmin.webhooks.tasks.apply_forgotten_batches",
            "schedule": 30.0,
        },
        "prune-refresh-runs": {
            "task": "bounceadmin.bounces.tasks.prune_refresh_runs",
            "schedule": _crontab("45 4 * * *"),
        },
        "prune-webhook-records": {
            "task": "bounceadmin.webhooks.tasks.prune_webhook_records",
            "schedule": _crontab("15 4 * * *"),
        },
        "evaluate-alerts": {
            "task": "bounceadmin.alerts.tasks.evaluate_alerts",
            "schedule": float(alerts_seconds),
        },
        "sync-subusers": {
            "task": "bounceadmin.bounces.tasks.sync_subusers",
            "schedule": _crontab(sync_crontab),
        },
    }
