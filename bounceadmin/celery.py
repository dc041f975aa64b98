"""The Celery app: `celery -A bounceadmin worker` / `celery -A bounceadmin beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")

app = Celery("bounceadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
