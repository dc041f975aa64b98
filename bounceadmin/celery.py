"""The Celery app: `celery -A bounceadmin worker` / `celery -A bounceadmin beat`."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")

app = Celery("bounceadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Run by every worker as it starts, once a killed worker's leases have run out.
SWEEPERS_AT_START = (
    "bounceadmin.bounces.tasks.recover_interrupted_refreshes",
    "bounceadmin.deletions.tasks.resume_deletions",
)


@worker_ready.connect
def sweep_after_start(sender, **kwargs) -> None:
    """A worker started after another was killed (the usual restart) resumes what the dead one
    left, without waiting for beat (if it runs at all) or for Redis to hand the dead worker's
    tasks out again (its visibility timeout): its refreshes are closed and run again, its pushes
    resumed."""
    from django.conf import settings

    for name in SWEEPERS_AT_START:
        app.send_task(name, countdown=settings.REFRESH_LOCK_SECONDS + 5)
