"""The local calendar day of a UTC datetime column, computed inside the database.

PostgreSQL converts time zones itself. SQLite cannot: Django's TruncDate calls a Python function
once per row there, most of the summary rebuild's time in a big refresh (bench/README.md). Over a
known span of instants a zone's UTC offset changes only at its transitions, so on SQLite the day
is `date(created, <offset>)` with the offset picked by a CASE over the transitions in that span,
all of it evaluated in SQLite's own code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise

from django.db.models.functions import TruncDate

# The steps in which the span is searched for offset changes: shorter than the time between any
# two transitions of a zone in the tz database.
_STEP = timedelta(days=1)
_SECOND = timedelta(seconds=1)


class LocalDay(TruncDate):
    """TruncDate(`expression`, tzinfo=`zone`) for values from `earliest` to `latest`.

    Values outside that span still get a date, possibly off by a transition the span did not
    include: pass the span of the rows being grouped."""

    def __init__(self, expression, *, zone: tzinfo, earliest: datetime, latest: datetime):
        super().__init__(expression, tzinfo=zone)
        self.span = (earliest, latest)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, column_params = compiler.compile(self.lhs)
        offsets = offsets_between(self.tzinfo, *self.span)
        # SQLite holds Django's datetimes as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]",
        # which compares in time order.
        whens, params = [], [*column_params]
        for (_, before), (since, _) in pairwise(offsets):
            whens.append(f"WHEN {column} < %s THEN %s")
            params += [*column_params, _sqlite_text(since), _modifier(before)]
        params.append(_modifier(offsets[-1][1]))
        if not whens:
            return f"date({column}, %s)", params
        return f"date({column}, CASE {' '.join(whens)} ELSE %s END)", params


def offsets_between(
    zone: tzinfo, earliest: datetime, latest: datetime
) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets in seconds from `earliest` to `latest`, as (since, offset): the
    first since `earliest`, each later one since a transition, found to the second."""
    at = earliest.astimezone(UTC).replace(microsecond=0)
    latest = latest.astimezone(UTC)
    found = [(at, _offset(zone, at))]
    while at < latest:
        step_end = at + _STEP
        if _offset(zone, step_end) != found[-1][1]:
            found.append(_transition(zone, at, step_end))
        at = step_end
    return found


def _offset(zone: tzinfo, at: datetime) -> int:
    return int(at.astimezone(zone).utcoffset().total_seconds())


def _transition(zone: tzinfo, before: datetime, after: datetime) -> tuple[datetime, int]:
    """The first whole second after `before`, up to `after`, with the offset `after` has."""
    target = _offset(zone, after)
    while after - before > _SECOND:
        middle = before + ((after - before) // 2 // _SECOND) * _SECOND
        if _offset(zone, middle) == target:
            after = middle
        else:
            before = middle
    return after, target


def _sqlite_text(at: datetime) -> str:
    return str(at.astimezone(UTC).replace(tzinfo=None))


def _modifier(offset: int) -> str:
    return f"{offset:+d} seconds"
