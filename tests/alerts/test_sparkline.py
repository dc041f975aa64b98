"""The overview's 14-day sparkline per subuser: its numbers per local day, the days with an alert
marked, an accessible label, inline SVG, and a fixed number of queries however many subusers."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.alerts.models import Alert
from bounceadmin.bounces.dates import local_midnight
from bounceadmin.bounces.sparklines import overview_sparklines
from tests.support.factories import make_bounce, make_subuser, make_user

from .alert_support import make_alert, make_rule

pytestmark = pytest.mark.django_db


def at_noon(days_ago: int):
    return local_midnight(timezone.localdate() - timedelta(days=days_ago)) + timedelta(hours=12)


def test_sparkline_counts_bounces_per_day_and_marks_alert_days():
    sub = make_subuser("acme")
    for i in range(3):
        make_bounce(sub, f"t{i}@x.test", created=at_noon(0))
    make_bounce(sub, "y@x.test", created=at_noon(1), removed=True)  # removed still counted
    make_bounce(sub, "old@x.test", created=at_noon(14))  # before the 14 days
    make_alert(sub, rule=make_rule("a"), since=at_noon(5), opened_at=at_noon(5),
               state=Alert.State.RESOLVED, resolved_at=at_noon(4))  # fmt: skip
    make_alert(sub, rule=make_rule("b"), since=at_noon(20), opened_at=at_noon(20),
               state=Alert.State.RESOLVED, resolved_at=at_noon(19))  # fmt: skip

    [line] = overview_sparklines([sub.pk]).values()

    today = timezone.localdate()
    assert line.days[0] == today - timedelta(days=13) and line.days[-1] == today
    assert line.counts[-1] == 3 and line.counts[-2] == 1 and line.total == 4
    assert line.alerted == {today - timedelta(days=5), today - timedelta(days=4)}


def test_an_open_alert_marks_every_day_since_it_opened():
    sub = make_subuser("acme")
    make_alert(sub, since=at_noon(2), opened_at=at_noon(2))

    [line] = overview_sparklines([sub.pk]).values()

    today = timezone.localdate()
    assert line.alerted == {today - timedelta(days=d) for d in (2, 1, 0)}


def test_overview_draws_each_subusers_sparkline_with_its_numbers(client):
    sub = make_subuser("acme")
    make_bounce(sub, "a@x.test", created=at_noon(0))
    make_bounce(sub, "b@x.test", created=at_noon(0))
    make_alert(sub, since=at_noon(0), opened_at=at_noon(0))
    client.force_login(make_user())

    html = client.get("/").content.decode()

    [svg] = re.findall(r'<svg class="sparkline".*?</svg>', html, re.S)
    label = re.search(r'aria-label="([^"]*)"', svg).group(1)
    today = timezone.localdate()
    assert label.startswith("acme: bounces per day over the last 14 days: ")
    assert label.endswith(f"{today:%b} {today.day}: 2. Alerts on {today:%b} {today.day}")
    assert svg.count('<circle class="alerted"') == 1
    # The live update of the rows draws it too.
    assert '<svg class="sparkline"' in client.get("/", {"part": "rows"}).content.decode()


def test_overview_sparkline_queries_do_not_grow_with_subusers(client):
    client.force_login(make_user())
    make_bounce(make_subuser("s0"), "a@x.test", created=at_noon(0))
    client.get("/")  # summaries built
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for i in range(1, 6):
        sub = make_subuser(f"s{i}")
        make_bounce(sub, "a@x.test", created=at_noon(i))
        make_alert(sub, since=at_noon(i), opened_at=at_noon(i))
    client.get("/")
    with CaptureQueriesContext(connection) as many:
        client.get("/")

    assert len(many) == len(few)
