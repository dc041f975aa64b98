"""The local day computed in the database equals Python's, around every kind of transition."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Max, Min
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.bounces.refresh.localday import LocalDay, offsets_between
from tests.support.factories import make_subuser

pytestmark = pytest.mark.django_db

ZONES = [
    "UTC",
    "America/New_York",  # DST at 02:00 local, March and November
    "Europe/Berlin",  # DST at 01:00 UTC
    "Australia/Lord_Howe",  # a 30-minute DST shift, southern summer
    "Asia/Kolkata",  # +05:30, no DST since 1945
    "Pacific/Kiritimati",  # +14:00
    "Pacific/Apia",  # skipped 30 December 2011 entirely (from -10 to +14)
]


def instants() -> list[datetime]:
    """2011 to 2025 every 31 h 17 min (drifting through the hours of the day), and instants
    either side of each transition of ZONES (near-misses for the other zones)."""
    start, end = datetime(2011, 1, 1, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)
    step = timedelta(hours=31, minutes=17)
    out = [start + step * i for i in range((end - start) // step)]
    for name in ZONES:
        for since, _ in offsets_between(ZoneInfo(name), start, end)[1:]:
            out += [since + timedelta(seconds=s) for s in (-1, -0.5, 0, 0.25, 1, 3600)]
    return out


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker):
    """The instants as bounces, made once for every zone (they only read them)."""
    with django_db_blocker.unblock():
        sub = make_subuser("alpha")
        now = timezone.now()
        Bounce.objects.bulk_create(
            Bounce(subuser=sub, email=f"u{i}@x.test", created=at, type="hard", classification="x",
                   fault="x", first_seen=now, last_seen=now)
            for i, at in enumerate(instants())
        )  # fmt: skip
        yield Bounce.objects.filter(subuser=sub)
        sub.delete()


@pytest.mark.parametrize("name", ZONES)
def test_local_day_matches_python_across_transitions(rows, name):
    zone = ZoneInfo(name)
    span = rows.aggregate(earliest=Min("created"), latest=Max("created"))
    found = dict(rows.annotate(day=LocalDay("created", zone=zone, **span)).values_list("pk", "day"))
    expected = {pk: at.astimezone(zone).date() for pk, at in rows.values_list("pk", "created")}
    assert len(expected) > 4000
    assert found == expected


def test_offsets_found_to_the_second():
    zone = ZoneInfo("America/New_York")
    span = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC))
    assert offsets_between(zone, *span) == [
        (span[0], -5 * 3600),
        (datetime(2024, 3, 10, 7, tzinfo=UTC), -4 * 3600),  # 02:00 EST
        (datetime(2024, 11, 3, 6, tzinfo=UTC), -5 * 3600),  # 02:00 EDT
    ]


def test_a_zone_without_transitions_is_one_offset():
    span = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert offsets_between(ZoneInfo("Asia/Kolkata"), *span) == [(span[0], 19800)]
