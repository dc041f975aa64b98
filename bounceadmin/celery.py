"""The Celery app: `celery -A bounceadmin worker` / `celery -A bounceadmin beat`."""

import os
from pathlib import Path

from celery import Celery, signals
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")

app = Celery("bounceadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.import_modules.connect(sender=app)
def data_folder_required(**kwargs) -> None:
    """A worker or beat starts only once `init_data` has prepared the data folder it needs (it
    fails at start, naming that command, rather than at its first message)."""
    from bounceadmin.datadir import data_folder_require

    data_folder_require()


class Scheduler(PersistentScheduler):
    """Celery's default scheduler, which keeps beat's state in CELERY_BEAT_SCHEDULE_FILENAME:
    this one makes that file's folder first. Importing the settings creates no folder, and on
    PostgreSQL and Redis, with nothing else in the data folder, no other step does."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


# Run by every worker as it starts, once a killed worker's leases have run out.
SWEEPERS_AT_START = (
    "bounceadmin.bounces.tasks.recover_interrupted_refreshes",
    "bounceadmin.deletions.tasks.resume_deletions",
    "bounceadmin.webhooks.tasks.apply_forgotten_batches",
)


@signals.worker_ready.connect
def sweep_after_start(sender, **kwargs) -> None:
    """A worker started after another was killed (the usual restart) resumes what the dead one
    left, without waiting for beat (if it runs at all) or for Redis to hand the dead worker's
    tasks out again (its visibility timeout): its refreshes are closed and run again, its pushes
    resumed."""
    from django.conf import settings

    for name in SWEEPERS_AT_START:
        app.send_task(name, countdown=settings.REFRESH_LOCK_SECONDS + 5)
