"""Paging through a list sorted on any column shows every row exactly once, also when many rows
are equal in that column (one second's bounces, one actor's events). Without a total order,
PostgreSQL may order equal rows differently in each page's query."""

from unittest import mock

import pytest
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from tests.support.factories import make_subuser, make_user

pytestmark = pytest.mark.django_db

ROWS = 240
PER_PAGE = 25


def walk(client, url, sort, key):
    seen, page = [], 1
    while True:
        response = client.get(url, {"sort": sort, "per_page": PER_PAGE, "page": page})
        table = response.context["table"]
        seen += [key(row) for row in table.page.object_list.data]
        if not table.page.has_next():
            return seen
        page += 1


@pytest.mark.parametrize("sort", ["-created", "created", "email", "-email"])
def test_bounce_list_pages_show_each_row_once(client, sort):
    now = timezone.now().replace(microsecond=0)
    subusers = [make_subuser("alpha"), make_subuser("beta")]
    rows = Bounce.objects.bulk_create(
        Bounce(
            subuser=subusers[i % 2], email=f"u{i // 2}@x.test", status=["5.1.1", "4.2.2"][i % 2],
            reason="550 unknown", created=now, type=["hard", "soft"][i % 2],
            classification="Invalid Address", fault="recipient", first_seen=now, last_seen=now,
        )
        for i in range(ROWS)
    )  # fmt: skip
    # Rows updated in place move within the table, as a refresh moves them.
    Bounce.objects.filter(pk__in=[r.pk for r in rows[::7]]).update(last_seen=now)
    client.force_login(make_user())

    seen = walk(client, "/bounces/", sort, key=lambda b: b.pk)

    assert sorted(seen) == sorted(r.pk for r in rows)


@pytest.mark.parametrize("sort", ["-at", "actor_name", "-action", "subuser", "source_ip"])
def test_audit_list_pages_show_each_event_once(client, sort):
    now = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now):
        events = AuditEvent.objects.bulk_create(
            AuditEvent(actor_name="ann", action="auth.login", subuser="alpha",
                       source_ip="192.0.2.1")
            for _ in range(ROWS)
        )  # fmt: skip
    user = make_user("auditor")
    client.force_login(user)

    seen = walk(client, "/audit/", sort, key=lambda e: e.pk)

    # Logging in recorded an event of its own.
    assert sorted(pk for pk in seen if pk in {e.pk for e in events}) == sorted(e.pk for e in events)
    assert len(seen) == len(set(seen))
