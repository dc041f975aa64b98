"""The baseline days are the same local wall-clock window (TIME_ZONE): a daily send at 09:00
Berlin time stays in its baseline across the clock change, and does not fire."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.rules.windows import window_counts, window_ranges
from tests.support.factories import make_subuser

from .helpers import add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "local_now",
    [
        datetime(2026, 10, 27, 9, 30, tzinfo=BERLIN),  # two days after summer time ended
        datetime(2026, 3, 31, 9, 30, tzinfo=BERLIN),  # two days after it began
    ],
)
def test_a_daily_local_send_stays_in_its_baseline_across_a_clock_change(settings, local_now):
    settings.TIME_ZONE = "Europe/Berlin"
    acme = make_subuser("acme")
    now = local_now.astimezone(UTC)
    # 40 bounces at 09:20 Berlin time every day, today included.
    for d in range(15):
        day = (local_now - timedelta(days=d)).date()
        add_bounces(acme, 40, at=datetime(day.year, day.month, day.day, 9, 20, tzinfo=BERLIN))
    rule = make_rule(Kind.BOUNCE_SPIKE)
    counts = window_counts(rule, now=now, subuser_ids={acme.pk: "acme"})
    assert counts[(acme.pk,)].counts == [40] * 15
    result = evaluate_alerts(now=now)
    assert result.opened == []
    assert not Alert.objects.exists()


def test_the_baseline_windows_keep_the_local_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    rule = make_rule(Kind.BOUNCE_SPIKE, window_minutes=60, baseline_days=3)
    now = datetime(2026, 10, 26, 9, 30, tzinfo=BERLIN).astimezone(UTC)
    ends = [end.astimezone(BERLIN) for _, end in window_ranges(rule, now)]
    assert [(e.day, e.hour, e.minute) for e in ends] == [(26, 9, 30), (25, 9, 30), (24, 9, 30),
                                                         (23, 9, 30)]  # fmt: skip
    assert all(end - start == timedelta(minutes=60) for start, end in window_ranges(rule, now))
