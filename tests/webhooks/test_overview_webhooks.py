"""The overview's webhook columns, and its "Set up webhook" button: who sees it, who may use it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.dates import local_midnight
from bounceadmin.webhooks import services
from bounceadmin.webhooks.models import WebhookEndpoint
from bounceadmin.webhooks.selectors import webhook_rows
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.webhooks import make_event, make_set_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The tasks the set-up button publishes (the broker is the one patch point)."""
    sent = []
    monkeypatch.setattr(services, "publish", lambda task, *args: sent.append((task.name, args)))
    return sent


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST as `client`, running what is queued on commit (as outside a test's transaction)."""

    def post(path, data, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data, **kwargs)

    return post


def rows_of(client) -> dict:
    response = client.get("/")
    assert response.status_code == 200
    return {r.username: r.webhook_row for r in response.context["rows"]}


def row_html(html: str, name: str) -> str:
    start = html.index(f">{name}</a>")
    return html[start : html.index("</tr>", start)]


def test_overview_shows_each_webhooks_state(client, settings):
    now = timezone.now()
    subs = {n: make_subuser(n) for n in ("none", "on", "failed", "queued", "refusing", "off")}
    make_set_up(subs["on"], last_delivery_at=now)
    make_set_up(subs["failed"], setup_error="the plan's event webhooks are used up: …")
    WebhookEndpoint.objects.create(subuser=subs["queued"], setup_queued_at=now)
    make_set_up(
        subs["refusing"], refused_signature=3, refused_stale=1, last_refused_at=now,
        last_delivery_at=now - timedelta(hours=1),
    )  # fmt: skip
    make_set_up(subs["off"], enabled=False)
    client.force_login(make_user(role="viewer"))

    rows = rows_of(client)
    html = client.get("/").content.decode()

    assert {name: row.label for name, row in rows.items()} == {
        "none": "not set up", "on": "on, signed", "failed": "set-up failed",
        "queued": "set-up queued", "refusing": "refusing deliveries", "off": "off upstream",
    }  # fmt: skip
    assert "the plan&#x27;s event webhooks are used up" in row_html(html, "failed")
    assert "4 refused: 3 signature, 1 stale" in row_html(html, "refusing")
    assert 'data-webhook="queued"' in html  # overview.js follows it until it has run


def test_a_set_up_queued_too_long_no_longer_reads_queued(client):
    sub = make_subuser("lost")
    make_set_up(sub, setup_queued_at=timezone.now() - timedelta(hours=1))
    client.force_login(make_user(role="viewer"))

    assert rows_of(client)["lost"].state == "on"


def test_overview_shows_last_event_and_events_received_today(client):
    sub, quiet = make_subuser("alpha"), make_subuser("quiet")
    make_set_up(sub, last_event_at=timezone.now() - timedelta(minutes=5))
    make_set_up(quiet)
    midnight = local_midnight(timezone.localdate())
    for minutes in (1, 2, 3):
        make_event(sub, received_at=timezone.now() - timedelta(minutes=minutes))
    make_event(sub, received_at=midnight - timedelta(seconds=1))  # yesterday
    client.force_login(make_user(role="viewer"))

    rows = rows_of(client)
    html = row_html(client.get("/").content.decode(), "alpha")

    assert (rows["alpha"].events_today, rows["quiet"].events_today) == (3, 0)
    assert "last event <time" in html and "5\xa0minutes ago" in html and "· 3 today" in html
    assert 'title="20' in html  # the exact time, with the relative one shown
    assert "· 0 today" in row_html(client.get("/").content.decode(), "quiet")


def test_a_webhook_silent_while_polling_finds_newer_bounces_is_flagged(client, settings):
    settings.WEBHOOK_SILENCE_HOURS = 24
    silent, caught_up, recent = make_subuser("silent"), make_subuser("caught"), make_subuser("new")
    long_ago = timezone.now() - timedelta(hours=30)
    make_set_up(silent, last_event_at=long_ago)
    make_bounce(silent, "fresh@x.test", created=timezone.now() - timedelta(hours=1))
    # Silent as long, but polling found nothing newer: no flag (there was nothing to send).
    make_set_up(caught_up, last_event_at=long_ago)
    make_bounce(caught_up, "old@x.test", created=long_ago - timedelta(hours=1))
    # Set up an hour ago, no event yet: not silent for long enough.
    make_set_up(recent, set_up_at=timezone.now() - timedelta(hours=1))
    make_bounce(recent, "fresh@x.test", created=timezone.now() - timedelta(minutes=5))
    client.force_login(make_user(role="viewer"))

    rows = rows_of(client)
    html = client.get("/").content.decode()

    assert rows["silent"].silent_since == long_ago
    assert rows["caught"].silent_since is None and rows["new"].silent_since is None
    assert "silent 1\xa0day, 6\xa0hours" in row_html(html, "silent")
    assert "silent" not in row_html(html, "caught").replace(">caught<", "")


def test_webhook_columns_take_two_queries_however_many_subusers(django_assert_num_queries):
    def subusers(n: int, prefix: str) -> dict:
        newest = {}
        for i in range(n):
            sub = make_subuser(f"{prefix}{i}")
            make_set_up(sub, last_event_at=timezone.now())
            make_event(sub, received_at=timezone.now())
            newest[sub.pk] = timezone.now()
        return newest

    few, many = subusers(2, "few"), subusers(30, "many")

    with django_assert_num_queries(2):
        webhook_rows(few)
    with django_assert_num_queries(2):
        rows = webhook_rows(many)
    assert all(row.events_today == 1 for row in rows.values())


def test_overview_page_queries_do_not_grow_with_subusers(client):
    client.force_login(make_user(role="admin"))
    for i in range(3):
        make_set_up(make_subuser(f"a{i}"))
    client.get("/")  # the summaries are counted on the first view

    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for i in range(20):
        make_set_up(make_subuser(f"b{i}"))
    client.get("/")
    with CaptureQueriesContext(connection) as many:
        client.get("/")

    assert len(many) == len(few)


def test_only_admins_see_the_set_up_button(client):
    make_subuser("alpha")
    make_subuser("paused", enabled=False)

    client.force_login(make_user("rita", role="approver"))
    assert "Set up webhook" not in client.get("/").content.decode()
    client.force_login(make_user("ada", role="admin"))
    html = client.get("/").content.decode()

    assert 'aria-label="Set up webhook for alpha"' in row_html(html, "alpha")
    assert "Set up webhook" not in row_html(html, "paused")  # not refreshable: nothing to set up


def test_set_up_button_queues_the_set_up_at_the_pages_origin(client, post, queued, settings):
    settings.WEBHOOK_PUBLIC_URL = ""
    sub = make_subuser("alpha")
    admin = make_user("ada", role="admin")
    client.force_login(admin)

    with_commit = post("/webhooks/set-up/", {"subuser": "alpha"}, follow=True)

    html = with_commit.content.decode()
    assert "Webhook set-up of alpha queued." in html and "set-up queued" in html
    assert WebhookEndpoint.objects.get(subuser=sub).setup_queued_at is not None
    assert queued == [
        (
            "bounceadmin.webhooks.tasks.set_up_webhook",
            (sub.pk, "http://testserver/", False, admin.pk),
        )
    ]


def test_set_up_button_uses_webhook_public_url_and_keeps_deferred(client, post, queued, settings):
    settings.WEBHOOK_PUBLIC_URL = "https://dashboard.example"
    sub = make_subuser("alpha")
    make_set_up(sub, events=["bounce", "deferred", "dropped"])
    client.force_login(make_user("ada", role="admin"))

    post("/webhooks/set-up/", {"subuser": "alpha"})

    assert [args[1:3] for _, args in queued] == [("https://dashboard.example", True)]


def test_set_up_is_for_admins_only(client, post, queued):
    sub = make_subuser("alpha")
    client.force_login(make_user("rita", role="approver"))

    response = post("/webhooks/set-up/", {"subuser": "alpha"})

    assert response.status_code == 403
    assert queued == [] and not WebhookEndpoint.objects.filter(subuser=sub).exists()


def test_set_up_is_post_only(client, queued):
    make_subuser("alpha")
    client.force_login(make_user("ada", role="admin"))

    assert client.get("/webhooks/set-up/", {"subuser": "alpha"}).status_code == 405
    assert queued == []


def test_a_scoped_admin_cannot_set_up_a_subuser_they_do_not_see(client, post, queued):
    mine, theirs = make_subuser("mine"), make_subuser("theirs")
    client.force_login(make_user("ada", role="admin", subusers=[mine]))

    html = client.get("/").content.decode()
    response = post("/webhooks/set-up/", {"subuser": "theirs"})

    assert "theirs" not in html
    assert response.status_code == 404
    assert queued == [] and not WebhookEndpoint.objects.filter(subuser=theirs).exists()
    assert post("/webhooks/set-up/", {"subuser": "mine"}).status_code == 302
    assert len(queued) == 1


def test_set_up_needs_the_csrf_token(queued):
    make_subuser("alpha")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ada", role="admin"))

    assert client.post("/webhooks/set-up/", {"subuser": "alpha"}).status_code == 403
    assert queued == []
