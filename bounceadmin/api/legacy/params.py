"""The pages' parameter rules, read strictly: a value that breaks one is a LegacyError naming
the parameter, never an exception deeper down.

Dates are SendGrid's legacy ones: `YYYY-MM-DD` days and `YYYY-MM-DD HH:MM:SS` timestamps in
Pacific time (the v2 Subuser Bounces page says so; the older pages name no zone and SendGrid
answered them the same way), whatever TIME_ZONE the dashboard runs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from .errors import LegacyError

ZONE = ZoneInfo("America/Los_Angeles")
MAX_INT = 2**31 - 1  # limit, offset, days: beyond any list, within every database's integers
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"[0-9]{1,10}")
MAX_EMAIL = 320


def merged(request) -> QueryDict:
    """GET's parameters with POST's on top: SendGrid took either, and so do old scripts."""
    params = request.GET.copy()
    if request.method == "POST":
        for key, values in request.POST.lists():
            params.setlist(key, values)
    return params


def single(params: QueryDict, name: str) -> str:
    """The parameter's value ("" when absent); NUL, which no database stores, is refused."""
    value = params.get(name, "")
    if "\x00" in value:
        raise LegacyError(f"{name} must not contain NUL characters.")
    return value.strip()


def date_flag(params: QueryDict) -> bool:
    value = single(params, "date")
    if value not in ("", "0", "1"):
        raise LegacyError("date must be 1 (with timestamps) or 0.")
    return value == "1"


def integer(params: QueryDict, name: str, *, minimum: int = 0) -> int | None:
    value = single(params, name)
    if not value:
        return None
    if not _INT.fullmatch(value) or not minimum <= int(value) <= MAX_INT:
        raise LegacyError(f"{name} must be an integer from {minimum} to {MAX_INT}.")
    return int(value)


def bounce_type(params: QueryDict) -> str | None:
    value = single(params, "type").lower()
    if value and value not in ("hard", "soft"):
        raise LegacyError("type must be hard or soft.")
    return value or None


def emails(params: QueryDict) -> list[str]:
    """`email`, repeatable on a get; stored lowercased, so matched lowercased."""
    found = []
    for value in params.getlist("email"):
        if "\x00" in value:
            raise LegacyError("email must not contain NUL characters.")
        value = value.strip().lower()
        if len(value) > MAX_EMAIL:
            raise LegacyError(f"email must be at most {MAX_EMAIL} characters.")
        if value:
            found.append(value)
    return found


def _day(params: QueryDict, name: str) -> date | None:
    value = single(params, name)
    if not value:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise LegacyError(f"{name} must be a date in YYYY-MM-DD format.") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZONE)


@dataclass(frozen=True)
class Filters:
    """What selects bounces: a time window [since, until), a type, addresses."""

    since: datetime | None = None
    until: datetime | None = None
    type: str | None = None
    emails: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.since or self.until or self.type or self.emails)

    def apply(self, bounces: QuerySet) -> QuerySet:
        if self.since:
            bounces = bounces.filter(created__gte=self.since)
        if self.until:
            bounces = bounces.filter(created__lt=self.until)
        if self.type:
            bounces = bounces.filter(type=self.type)
        if self.emails:
            bounces = bounces.filter(email__in=self.emails)
        return bounces


def filters(params: QueryDict, *, days: bool = True) -> Filters:
    """`days` (with `days`) XOR `start_date`/`end_date`, start before end, `type`, `email`."""
    start, end = _day(params, "start_date"), _day(params, "end_date")
    count = integer(params, "days", minimum=1) if days else None
    if count is not None and (start or end):
        raise LegacyError("Use either days or start_date and end_date, not both.")
    if start and end and not start < end:
        raise LegacyError("start_date must be earlier than end_date.")
    since = _midnight(start) if start else None
    until = _midnight(end + timedelta(days=1)) if end else None  # the end day is included
    if count is not None:  # "includes today"
        today = timezone.now().astimezone(ZONE).date()
        since = _midnight(today - timedelta(days=min(count, 100_000) - 1))
    return Filters(since=since, until=until, type=bounce_type(params), emails=tuple(emails(params)))


def timestamp(moment: datetime) -> str:
    """MySQL's timestamp format, as the pages show `created`."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")
