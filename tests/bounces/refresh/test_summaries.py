"""The overview's summaries equal a fresh grouped query over the bounces after every write."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.models import (
    Bounce,
    BounceActiveCount,
    BounceDailyCount,
    BounceSummaryState,
    Subuser,
)
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions import services
from bounceadmin.deletions.push import deletion_push
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

HOUR = 3600
STATUSES = [
    ("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist."),
    ("4.2.2", "452 4.2.2 Mailbox full, try again later"),
    ("5.7.1", "554 5.7.1 blocked using zen.spamhaus.org"),
    ("5.0.0", "550 message rejected"),
]


def rows(start: int, n: int, *, base: float, step: int = 7 * HOUR) -> list[dict]:
    """n upstream bounces from `base` on, `step` apart (many days at 7 hours), of mixed kinds."""
    return [
        {"email": f"u{i:04d}@example.com", "status": STATUSES[i % 4][0],
         "reason": STATUSES[i % 4][1], "created": base + (i - start) * step}
        for i in range(start, start + n)
    ]  # fmt: skip


def days_ago(days: int) -> float:
    return (timezone.now() - timedelta(days=days)).timestamp()


def fresh(subuser) -> tuple[dict, dict]:
    """What the summaries must hold, grouped from the bounces themselves."""
    bounces = Bounce.objects.filter(subuser=subuser).order_by()
    days = bounces.annotate(day=TruncDate("created", tzinfo=timezone.get_current_timezone()))
    by_day = {
        (r["day"], r["type"]): r["n"] for r in days.values("day", "type").annotate(n=Count("id"))
    }
    active = (
        bounces.filter(removed_at__isnull=True)
        .values("classification", "type")
        .annotate(n=Count("id"), newest=Max("created"))
    )
    by_class = {(r["classification"], r["type"]): (r["n"], r["newest"]) for r in active}
    return by_day, by_class


def summarised(subuser) -> tuple[dict, dict]:
    by_day = {(r.day, r.type): r.count for r in BounceDailyCount.objects.filter(subuser=subuser)}
    by_class = {
        (r.classification, r.type): (r.count, r.newest)
        for r in BounceActiveCount.objects.filter(subuser=subuser)
    }
    return by_day, by_class


def assert_summaries_exact(subuser):
    expected = fresh(subuser)
    assert expected[0] and summarised(subuser) == expected
    assert BounceSummaryState.objects.get(subuser=subuser).zone == (
        timezone.get_current_timezone_name()
    )


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    subusers_sync()
    return Subuser.objects.get(username="acme")


def test_summaries_follow_refreshes_that_create_change_remove_and_bring_back(upstream, acme, sg):
    base = days_ago(40)
    upstream.store.add_bounces("acme", rows(0, 120, base=base))
    bounces_refresh(subuser=acme, full=True, client=sg)
    assert_summaries_exact(acme)

    changed = rows(5, 1, base=days_ago(1))  # bounced again: another day, another status
    changed[0]["status"], changed[0]["reason"] = STATUSES[1]
    upstream.store.add_bounces("acme", [*changed, *rows(120, 30, base=days_ago(3), step=HOUR)])
    gone = [f"u{i:04d}@example.com" for i in range(10, 40)]
    upstream.store.remove_bounces("acme", gone)
    run = bounces_refresh(subuser=acme, full=True, client=sg)
    assert (run.created, run.updated, run.removed) == (30, 1, 30)
    assert_summaries_exact(acme)

    upstream.store.add_bounces("acme", rows(10, 5, base=days_ago(0.5), step=HOUR))  # five come back
    run = bounces_refresh(subuser=acme, full=False, client=sg)
    assert run.reappeared == 5
    assert_summaries_exact(acme)


def test_summaries_follow_a_push_in_batches_and_a_delete_all(upstream, acme, sg):
    upstream.store.add_subuser("beta")
    subusers_sync()
    beta = Subuser.objects.get(username="beta")
    upstream.store.add_bounces("acme", rows(0, 700, base=days_ago(80), step=2 * HOUR))
    upstream.store.add_bounces("beta", rows(0, 9, base=days_ago(5), step=HOUR))
    for sub in (acme, beta):
        bounces_refresh(subuser=sub, full=True, client=sg)
    requester, approver = make_user("rita", role="requester"), make_user("arne", role="approver")

    some = Bounce.objects.filter(subuser=acme, email__lt="u0600")
    [request] = services.deletion_request_create(
        user=requester, bounces=some, justification="INC-1", confirmation="delete 600"
    )
    services.deletion_approve(request_id=request.pk, user=approver)
    deletion_push(request_id=request.pk, client=sg)

    assert Bounce.objects.filter(subuser=acme, removed_at__isnull=True).count() == 100
    assert_summaries_exact(acme)

    [request] = services.deletion_request_create(
        user=requester, bounces=Bounce.objects.filter(subuser=beta), justification="INC-2",
        delete_all_subusers=frozenset({"beta"}), confirmation="delete 9",
    )  # fmt: skip
    services.deletion_approve(request_id=request.pk, user=approver)
    deletion_push(request_id=request.pk, client=sg)

    assert not BounceActiveCount.objects.filter(subuser=beta).exists()
    assert sum(BounceDailyCount.objects.filter(subuser=beta).values_list("count", flat=True)) == 9
    assert_summaries_exact(beta)


def test_overview_rebuilds_summaries_counted_in_another_time_zone(client, settings):
    client.force_login(make_user(role="viewer"))
    sub = make_subuser("alpha")
    # 20:00 UTC yesterday: yesterday in UTC, today at UTC+14.
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    evening = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)
    make_bounce(sub, "late@x.test", created=evening)
    assert BounceSummaryState.objects.get(subuser=sub).zone == "UTC"

    settings.TIME_ZONE = "Pacific/Kiritimati"
    with timezone.override("Pacific/Kiritimati"):
        chart = client.get("/", {"days": 30}).context["chart"]
        assert_summaries_exact(sub)
        local_day = timezone.localtime(evening).date()

    assert local_day == yesterday + timedelta(days=1)
    assert dict(zip(chart.days, chart.hard, strict=True))[local_day] == 1
    assert sum(chart.hard) == 1


def test_overview_reads_summaries_not_bounces_in_a_constant_number_of_queries(client):
    client.force_login(make_user(role="viewer"))

    def overview_queries() -> list[str]:
        client.get("/")  # rebuilds what is missing
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/", {"days": 90})
        assert response.status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    make_bounce(make_subuser("one"), "a@x.test")
    few = overview_queries()
    for name in ("two", "three", "four"):
        make_bounce(make_subuser(name), f"{name}@x.test", removed=True)
    many = overview_queries()

    assert len(many) == len(few)
    assert not any('"bounces_bounce"' in sql for sql in many)
    # Summaries up to date: no transaction (on SQLite one takes the write lock).
    assert not any(sql.startswith(("SAVEPOINT", "BEGIN")) for sql in many)


def test_overview_counts_removed_bounces_in_the_chart_only(client):
    client.force_login(make_user(role="viewer"))
    sub = make_subuser("alpha")
    make_bounce(sub, "kept@x.test")
    make_bounce(sub, "gone@x.test", removed=True)

    response = client.get("/")

    [row] = response.context["rows"]
    assert (row.active_count, sum(response.context["chart"].hard)) == (1, 2)
    assert dict(response.context["classifications"]) == {"Invalid Address": 1}


def test_scoped_overview_counts_only_their_subusers(client):
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    make_bounce(alpha, "a@x.test")
    make_bounce(beta, "b1@x.test", status="4.2.2", reason="452 4.2.2 Mailbox full")
    make_bounce(beta, "b2@x.test")
    client.force_login(make_user("sam", role="viewer", subusers=[alpha]))

    everything = client.get("/").context
    other = client.get("/", {"subuser": "beta"}).context

    assert [r.username for r in everything["rows"]] == ["alpha"]
    assert everything["totals"]["active_count"] == 1
    assert dict(everything["classifications"]) == {"Invalid Address": 1}
    assert sum(everything["chart"].hard) + sum(everything["chart"].soft) == 1
    assert other["chart_subuser"] is None and sum(other["chart"].hard) == 1


def test_admin_delete_rebuilds_the_summaries(client):
    sub = make_subuser("alpha")
    doomed = make_bounce(sub, "a@x.test")
    make_bounce(sub, "b@x.test")
    client.force_login(make_user("root", role=None, is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/bounces/bounce/",
        {"action": "delete_selected", "_selected_action": [doomed.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Bounce.objects.filter(pk=doomed.pk).exists()
    assert_summaries_exact(sub)


def test_rebuild_command_builds_missing_summaries(capsys):
    sub = make_subuser("alpha")
    make_bounce(sub, "a@x.test")
    make_bounce(sub, "b@x.test", removed=True)
    BounceDailyCount.objects.all().delete()
    BounceActiveCount.objects.all().delete()

    call_command("rebuild_bounce_summaries")

    assert_summaries_exact(sub)
    assert "Rebuilt the summaries of 1 subusers." in capsys.readouterr().out
