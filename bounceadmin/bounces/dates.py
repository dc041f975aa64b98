from datetime import date, datetime, time

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The first instant of `day` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(day, time.min))
