"""The refresh's tuple writes store exactly what the ORM would."""

import random
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.bounces.refresh.bulkwrite import INSERT_FIELDS, bounces_insert
from bounceadmin.bounces.refresh.database import datetime_to_db, epoch_to_db
from tests.support.factories import make_subuser

pytestmark = pytest.mark.django_db

INSTANTS = [0, 1, 59.5, 1_700_000_000, 1_700_000_000.25, 1_700_000_000.000001, 1786292778.0,
            2**31 + 0.5, 253402300799, -1, -86400.75]  # fmt: skip


@pytest.mark.parametrize("seconds", INSTANTS)
def test_epoch_to_db_equals_the_datetime_path(seconds):
    as_datetime = datetime.fromtimestamp(seconds, tz=UTC)
    assert epoch_to_db()(seconds) == datetime_to_db()(as_datetime)
    assert epoch_to_db()(float(seconds)) == datetime_to_db()(as_datetime)


def test_epoch_to_db_equals_the_datetime_path_over_many_instants():
    rng = random.Random(7)
    to_text, to_db = epoch_to_db(), datetime_to_db()
    for _ in range(20_000):
        seconds = float(rng.randrange(0, 253402300800))
        assert to_text(seconds) == to_db(datetime.fromtimestamp(seconds, tz=UTC)), seconds


def test_inserted_rows_read_back_as_the_orm_writes_them():
    sub = make_subuser("alpha")
    now = timezone.now()
    to_db, epoch_db = datetime_to_db(), epoch_to_db()
    # More rows than one statement takes, so that a partial last statement is written too.
    rows = [
        (sub.pk, f"u{i}@x.test", "5.1.1", f"550 <'\"%s?{i}>", epoch_db(INSTANTS[i % 9]), "hard",
         "invalid_address", "recipient", to_db(now), to_db(now))
        for i in range(2500)
    ]  # fmt: skip
    assert len(INSERT_FIELDS) == len(rows[0])

    bounces_insert(rows)

    found = {b.email: b for b in Bounce.objects.filter(subuser=sub)}
    assert len(found) == 2500
    b = found["u1234@x.test"]
    assert b.reason == "550 <'\"%s?1234>"
    assert b.created == datetime.fromtimestamp(INSTANTS[1234 % 9], tz=UTC)
    assert (b.first_seen, b.last_seen, b.removed_at) == (now, now, None)


def test_a_failed_insert_raises_djangos_error():
    sub = make_subuser("alpha")
    stamp = datetime_to_db()(timezone.now())
    row = (sub.pk, "dup@x.test", "5.1.1", "550", stamp, "hard", "x", "x", stamp, stamp)

    with pytest.raises(IntegrityError), transaction.atomic():
        bounces_insert([row, row])

    assert not Bounce.objects.exists()
