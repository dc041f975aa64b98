"""Times say their zone on every page; date filters take and show YYYY-MM-DD whatever the
browser's locale, and an invalid date stays as typed beside its error."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(client, settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.activate("America/New_York")
    acme = make_subuser("acme")
    make_bounce(acme, "a@example.com", created=timezone.now() - timedelta(hours=2))
    run = RefreshRun.objects.create(
        subuser=acme, kind="full", started_at=timezone.now(), finished_at=timezone.now(),
        outcome="ok",
    )  # fmt: skip
    Subuser.objects.filter(pk=acme.pk).update(last_refresh=run, last_success_at=timezone.now())
    rita = make_user("rita", role="requester")
    client.force_login(rita)
    client.post(f"/deletions/new/?bounce={Bounce.objects.get().pk}", {"justification": "x"})
    client.force_login(make_user("abe", role="approver"))
    yield
    timezone.deactivate()


@pytest.mark.parametrize("url", ["/", "/deletions/", "/audit/", "/refreshes/", "/deletions/1/"])
def test_times_on_pages_say_their_zone(client, data, url):
    from bounceadmin.deletions.models import DeletionRequest

    url = url.replace("/1/", f"/{DeletionRequest.objects.get().pk}/")
    html = client.get(url).content.decode()

    zone = timezone.localtime().strftime("%Z")  # EST or EDT
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    assert f"{stamp} " in html
    assert f" {zone}" in html, f"no {zone} on {url}"


@pytest.mark.parametrize("url", ["/bounces/", "/audit/"])
def test_date_filters_are_iso_text_boxes(client, data, url):
    html = client.get(url).content.decode()

    assert 'type="date"' not in html
    assert 'name="start_date"' in html and 'placeholder="YYYY-MM-DD"' in html


@pytest.mark.parametrize("url", ["/bounces/", "/audit/"])
def test_a_date_in_another_format_is_refused_and_kept_as_typed(client, data, url):
    response = client.get(url, {"start_date": "12/06/2026", "end_date": "2026-12-31"})

    html = response.content.decode()
    assert "Enter a date as YYYY-MM-DD." in html
    assert 'value="12/06/2026"' in html and 'value="2026-12-31"' in html


def test_an_iso_date_filters_in_the_zone(client, data):
    # The bounce's own day in New York: made two hours ago, it is yesterday's there until 02:00.
    day = timezone.localdate(Bounce.objects.get().created).isoformat()

    html = client.get("/bounces/", {"start_date": day, "end_date": day}).content.decode()

    assert "a@example.com" in html and f'value="{day}"' in html


def test_the_bounce_list_says_the_zone_of_its_times_in_its_headers(client, data):
    """A row a line leaves no room for a zone in every cell: the headers name it, by its name
    (the rows of one page may be on both sides of a change to or from summer time)."""
    html = client.get("/bounces/", {"removed": "1"}).content.decode()

    headers = [
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(r"<th\b.*?</th>", html, re.S)
    ]
    zoned = {"Bounced (America/New_York)", "Last seen (America/New_York)"}
    assert zoned | {"Removed (America/New_York)"} <= set(headers), headers
    stamp = timezone.localtime(Bounce.objects.get().created).strftime("%Y-%m-%d %H:%M")
    assert f"<td>{stamp}</td>" in html
