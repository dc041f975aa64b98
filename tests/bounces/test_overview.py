from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.selectors import daily_counts
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = make_user(role="requester")
    client.force_login(user)
    return user


def run(subuser, outcome, *, error="", ago=timedelta(minutes=5)):
    started = timezone.now() - ago
    r = RefreshRun.objects.create(
        subuser=subuser, kind="full", started_at=started, outcome=outcome, error=error,
        finished_at=None if outcome == "running" else started + timedelta(seconds=3),
    )  # fmt: skip
    Subuser.objects.filter(pk=subuser.pk).update(
        last_refresh=r, last_success_at=r.finished_at if outcome == "ok" else None
    )
    return r


def test_overview_lists_every_subuser_with_counts_and_totals(client, operator):
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    make_subuser("quiet")
    for i in range(3):
        make_bounce(alpha, f"a{i}@x.test", status="5.1.1")
    make_bounce(alpha, "soft@x.test", status="4.2.2", reason="452 4.2.2 Mailbox full")
    make_bounce(alpha, "gone@x.test", removed=True)
    make_bounce(beta, "b@x.test", status="4.2.2", reason="452 4.2.2 Mailbox full")

    response = client.get("/")

    rows = {r.username: r for r in response.context["rows"]}
    assert set(rows) == {"alpha", "beta", "quiet"}
    assert (rows["alpha"].active_count, rows["alpha"].hard_count, rows["alpha"].soft_count) == (
        4,
        3,
        1,
    )
    assert (rows["beta"].active_count, rows["quiet"].active_count) == (1, 0)
    assert response.context["totals"] == {"active_count": 5, "hard_count": 3, "soft_count": 2}
    html = response.content.decode()
    assert "alpha" in html and "beta" in html and "quiet" in html
    assert dict(response.context["classifications"])["Invalid Address"] == 3


def test_overview_flags_failed_and_stale_refreshes(client, operator, settings):
    settings.REFRESH_STALE_MINUTES = 60
    ok, failed, stale, never = (make_subuser(n) for n in ("ok", "failed", "stale", "never"))
    run(ok, "ok")
    run(failed, "failed", error="GET /v3/suppression/bounces for subuser 'failed': 503")
    run(stale, "ok", ago=timedelta(hours=5))

    response = client.get("/")

    rows = {r.username: r for r in response.context["rows"]}
    assert rows["failed"].refresh_failed and not rows["ok"].refresh_failed
    assert rows["stale"].stale and rows["never"].stale and not rows["ok"].stale
    html = response.content.decode()
    assert 'class="failed"' in html and 'class="stale"' in html
    assert "for subuser &#x27;failed&#x27;: 503" in html


def test_overview_rows_are_fetched_live_while_a_refresh_runs(client, operator):
    sub = make_subuser("busy")
    run(sub, "running")

    html = client.get("/").content.decode()
    rows = client.get("/?part=rows").content.decode()

    assert 'http-equiv="refresh"' not in html  # no reload: overview.js swaps the rows in
    assert 'data-state="running"' in html and "js/overview.js" in html
    assert rows.lstrip().startswith("<tbody>") and 'data-state="running"' in rows
    assert "<h2" not in rows  # only the rows, not the chart or the classifications


def test_overview_tells_queued_running_failed_stale_and_ok_apart(client, operator, settings):
    settings.REFRESH_STALE_MINUTES = 60
    names = ("ok", "failed", "stale", "running", "queued", "never")
    subs = {n: make_subuser(n) for n in names}
    run(subs["ok"], "ok")
    run(subs["failed"], "failed", error="503")
    run(subs["stale"], "ok", ago=timedelta(hours=5))
    run(subs["running"], "running")
    run(subs["queued"], "ok", ago=timedelta(hours=5))
    Subuser.objects.filter(pk=subs["queued"].pk).update(refresh_queued_at=timezone.now())

    rows = {r.username: r for r in client.get("/").context["rows"]}

    states = {name: (rows[name].state, rows[name].state_label) for name in names}
    assert states == {
        "ok": ("ok", "OK"), "failed": ("failed", "failed"), "stale": ("stale", "stale"),
        "running": ("running", "running"), "queued": ("queued", "queued"),
        "never": ("never", "never refreshed"),
    }  # fmt: skip


def test_subuser_disabled_upstream_reads_not_fetched_not_zero(client, operator):
    make_subuser("off", upstream_state=Subuser.UpstreamState.DISABLED)
    make_subuser("gone", upstream_state=Subuser.UpstreamState.GONE)
    make_subuser("paused", enabled=False)

    html = client.get("/").content.decode()

    assert "not fetched: disabled upstream" in html
    assert "not fetched: no longer listed upstream" in html
    assert "not fetched: disabled here" in html
    off_row = html[html.index(">off</a>") : html.index("</tr>", html.index(">off</a>"))]
    assert "—" in off_row and ">0<" not in off_row and "never" not in off_row


def test_refresh_now_queues_one_subuser(client, operator):
    sub = make_subuser("alpha")
    make_subuser("beta")

    response = client.post("/refresh/", {"subuser": "alpha"}, follow=True)

    sub.refresh_from_db()
    assert sub.refresh_queued_at is not None
    assert Subuser.objects.get(username="beta").refresh_queued_at is None
    assert "Refresh of alpha queued." in response.content.decode()
    assert "queued" in response.content.decode()


def test_refresh_now_all_queues_every_refreshable_subuser(client, operator):
    make_subuser("alpha")
    make_subuser("beta")
    make_subuser("off", enabled=False)

    client.post("/refresh/")

    queued = set(Subuser.objects.exclude(refresh_queued_at=None).values_list("username", flat=True))
    assert queued == {"alpha", "beta"}


def test_refresh_now_unknown_subuser_is_404(client, operator):
    assert client.post("/refresh/", {"subuser": "ghost"}).status_code == 404


def test_daily_counts_count_hard_and_soft_per_local_day(settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.activate("America/New_York")
    sub = make_subuser("alpha")
    today_noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    make_bounce(sub, "h1@x.test", created=today_noon)
    make_bounce(sub, "h2@x.test", created=today_noon - timedelta(days=1))
    make_bounce(sub, "s1@x.test", status="4.2.2", reason="452 full", created=today_noon)
    make_bounce(sub, "old@x.test", created=today_noon - timedelta(days=40))

    chart = daily_counts([sub.pk], days=30)

    assert len(chart.days) == 30 and chart.days[-1] == timezone.localdate()
    assert (chart.hard[-1], chart.soft[-1], chart.hard[-2]) == (1, 1, 1)
    assert sum(chart.hard) + sum(chart.soft) == 3
    assert chart.peak == 2
    timezone.deactivate()


def test_refresh_history_lists_runs_of_visible_subusers(client):
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    run(alpha, "failed", error="boom-alpha")
    run(beta, "ok")
    client.force_login(make_user("sam", role="viewer", subusers=[alpha]))

    html = client.get("/refreshes/").content.decode()
    failed_only = client.get("/refreshes/", {"outcome": "ok"}).content.decode()

    assert "boom-alpha" in html and "beta" not in html
    assert "boom-alpha" not in failed_only


def test_overview_chart_for_one_subuser(client, operator):
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    make_bounce(alpha, "a@x.test")
    make_bounce(beta, "b1@x.test")
    make_bounce(beta, "b2@x.test")

    everyone = client.get("/").context["chart"]
    only_beta = client.get("/", {"subuser": "beta"}).context["chart"]

    assert sum(everyone.hard) == 3
    assert sum(only_beta.hard) == 2
