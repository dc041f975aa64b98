from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, BounceChange, RefreshRun, Subuser
from bounceadmin.bounces.refresh import RefreshAlreadyRunning, bounces_refresh
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid import BouncePage

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000


def row(i: int, *, status: str = "5.1.1", created: float | None = None, domain="example.com"):
    return {
        "email": f"user{i:05d}@{domain}",
        "status": status,
        "reason": f"{status[0]}50 {status} user{i} unknown",
        "created": T0 + i if created is None else created,
    }


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    subusers_sync()
    return Subuser.objects.get(username="acme")


def cached(subuser, *, active=True) -> dict[str, Bounce]:
    qs = Bounce.objects.filter(subuser=subuser)
    if active:
        qs = qs.filter(removed_at__isnull=True)
    return {b.email: b for b in qs}


def upstream_rows(sandbox, name) -> dict[str, dict]:
    return {b["email"]: b for b in sandbox.store.bounces(name)}


def assert_cache_equals_upstream(sandbox, subuser):
    up = upstream_rows(sandbox, subuser.username)
    mine = cached(subuser)
    assert set(mine) == set(up)
    for email, b in mine.items():
        assert (b.status, b.reason, b.created.timestamp()) == (
            up[email]["status"], up[email]["reason"], pytest.approx(up[email]["created"])
        )  # fmt: skip


def test_refresh_full_caches_every_upstream_row(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(i) for i in range(1201)])

    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.OK
    assert (run.pages, run.fetched, run.created, run.updated, run.removed) == (3, 1201, 1201, 0, 0)
    assert_cache_equals_upstream(upstream, acme)
    acme.refresh_from_db()
    assert acme.last_refresh == run and acme.last_success_at is not None


def test_refresh_derives_type_and_classification(upstream, acme, sg):
    upstream.store.add_bounces(
        "acme",
        [
            row(1, status="5.1.1"),
            {"email": "full@example.com", "status": "4.2.2",
             "reason": "452 4.2.2 Mailbox full, try again later", "created": T0},
            {"email": "plain@example.com", "status": "550", "reason": "550 rejected",
             "created": T0},
        ],
    )  # fmt: skip

    bounces_refresh(subuser=acme, full=True, client=sg)

    rows = cached(acme)
    assert rows["user00001@example.com"].type == "hard"
    assert rows["user00001@example.com"].classification == "Invalid Address"
    assert rows["full@example.com"].type == "soft"
    assert rows["full@example.com"].classification == "Mailbox Unavailable"
    assert rows["plain@example.com"].type == "hard"


def test_refresh_full_reconciles_created_updated_removed(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(i) for i in range(10)])
    bounces_refresh(subuser=acme, full=True, client=sg)
    first_seen = cached(acme)["user00003@example.com"].first_seen

    upstream.store.remove_bounces("acme", ["user00000@example.com", "user00001@example.com"])
    upstream.store.add_bounces("acme", [row(3, status="4.2.2", created=T0 + 100), row(42)])
    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert (run.fetched, run.created, run.updated, run.removed) == (9, 1, 1, 2)
    assert_cache_equals_upstream(upstream, acme)
    everything = cached(acme, active=False)
    assert everything["user00000@example.com"].removed_at is not None  # kept, flagged
    changed = everything["user00003@example.com"]
    assert changed.type == "soft" and changed.first_seen == first_seen
    kinds = sorted(BounceChange.objects.filter(run=run).values_list("kind", flat=True))
    assert kinds == ["changed", "removed", "removed"]
    old = BounceChange.objects.get(run=run, kind="changed")
    assert old.old_status == "5.1.1" and old.old_created.timestamp() == T0 + 3


def test_refresh_with_nothing_changed_writes_no_changes(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(i) for i in range(30)])
    first = bounces_refresh(subuser=acme, full=True, client=sg)
    before = {b.email: (b.first_seen, b.created, b.classification) for b in cached(acme).values()}

    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert (run.fetched, run.created, run.updated, run.removed) == (30, 0, 0, 0)
    assert not BounceChange.objects.filter(run=run).exists()
    rows = cached(acme)
    assert {b.email: (b.first_seen, b.created, b.classification) for b in rows.values()} == before
    # Every address was in the listing: seen again, after the first run ended.
    assert all(b.last_seen > first.finished_at for b in rows.values())


@pytest.mark.django_db
def test_bounce_pages_leave_room_for_in_place_updates_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("this pass runs on SQLite, which updates rows in place anyway")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'bounces_bounce'")
        assert "fillfactor=70" in cursor.fetchone()[0]


def test_refresh_removed_address_reappears_when_it_bounces_again(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(1), row(2)])
    bounces_refresh(subuser=acme, full=True, client=sg)
    upstream.store.remove_bounces("acme", ["user00001@example.com"])
    bounces_refresh(subuser=acme, full=True, client=sg)
    assert "user00001@example.com" not in cached(acme)

    upstream.store.add_bounces("acme", [row(1, created=T0 + 5000)])
    run = bounces_refresh(subuser=acme, full=False, client=sg)

    assert run.reappeared == 1 and run.updated == 1
    again = cached(acme)["user00001@example.com"]
    assert again.removed_at is None
    assert again.created == datetime.fromtimestamp(T0 + 5000, tz=UTC)
    kinds = list(again.changes.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["removed", "reappeared"]


def test_refresh_incremental_asks_from_newest_minus_overlap_and_never_removes(
    upstream, acme, sg, settings
):
    settings.REFRESH_OVERLAP_SECONDS = 3600
    upstream.store.add_bounces("acme", [row(i, created=T0 + i * 60) for i in range(5)])
    bounces_refresh(subuser=acme, full=True, client=sg)
    upstream.store.remove_bounces("acme", ["user00000@example.com"])
    upstream.store.add_bounces("acme", [row(9, created=T0 + 10_000)])
    upstream.clear_requests()

    run = bounces_refresh(subuser=acme, full=False, client=sg)

    [request] = [r for r in upstream.requests if r["path"] == "/v3/suppression/bounces"]
    assert int(request["query"]["start_time"]) == T0 + 4 * 60 - 3600
    assert run.kind == "incremental" and run.removed == 0 and run.created == 1
    assert "user00000@example.com" in cached(acme)  # only a full refresh follows removals


def test_refresh_incremental_on_empty_cache_fetches_everything(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(i) for i in range(7)])

    run = bounces_refresh(subuser=acme, full=False, client=sg)

    assert run.created == 7
    [request] = [r for r in upstream.requests if r["path"] == "/v3/suppression/bounces"]
    assert "start_time" not in request["query"]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "bad_json", "count": 20},  # a read is retried: it must persist to fail
        {"kind": "status", "status": 401},
        {"kind": "status", "status": 503, "count": 20},
    ],
)
def test_refresh_failure_leaves_cache_exactly_as_it_was(upstream, acme, sg, fault):
    upstream.store.add_bounces("acme", [row(i) for i in range(1100)])
    bounces_refresh(subuser=acme, full=True, client=sg)
    before = list(Bounce.objects.order_by("pk").values())
    upstream.store.remove_bounces("acme", [f"user{i:05d}@example.com" for i in range(50)])
    upstream.store.add_bounces("acme", [row(5000)])
    pages = sg.iter_bounce_pages

    def failing_after_first_page(subuser, **kw):
        for number, page in enumerate(pages(subuser, **kw)):
            if number == 0:  # the first page arrived intact; the next request fails
                upstream.inject_fault(**{"count": 1, **fault})
            yield page

    sg.iter_bounce_pages = failing_after_first_page
    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.FAILED
    assert run.error and (run.created, run.removed) == (0, 0)
    assert list(Bounce.objects.order_by("pk").values()) == before
    acme.refresh_from_db()
    assert acme.last_refresh == run
    assert not BounceChange.objects.exists()


def test_refresh_confirms_would_be_removals_missed_by_a_shifting_list(upstream, acme, sg):
    upstream.store.add_bounces("acme", [row(i) for i in range(5)])
    bounces_refresh(subuser=acme, full=True, client=sg)
    # Upstream lists one address but our walk misses it (as if the list shifted under us):
    # the one-by-one confirmation must keep it.
    original = sg.iter_bounce_pages

    def skipping(subuser, **kw):
        for page in original(subuser, **kw):
            kept = [b for b in page if b.email != "user00002@example.com"]
            yield BouncePage(kept, received=page.received)

    sg.iter_bounce_pages = skipping
    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.removed == 0
    assert "user00002@example.com" in cached(acme)


def test_refresh_refuses_to_overlap_and_frees_an_expired_lease(upstream, acme, sg):
    held = SubuserLease(acme.pk, seconds=60)
    assert held.acquire()
    with pytest.raises(RefreshAlreadyRunning):
        bounces_refresh(subuser=acme, full=True, client=sg)

    # a worker killed mid-refresh never releases: its lease simply expires
    Subuser.objects.filter(pk=acme.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.OK
    acme.refresh_from_db()
    assert acme.lock_token == "" and acme.lock_expires_at is None
    held.release()  # its heartbeat stops (it had lost the lease)


def test_sync_subusers_creates_updates_and_flags_gone(upstream):
    upstream.store.add_subuser("alpha")
    upstream.store.add_subuser("beta", disabled=True)
    Subuser.objects.create(username="legacy")

    result = subusers_sync()

    assert sorted(result.created) == ["alpha", "beta"]
    assert result.gone == ["legacy"]
    states = dict(Subuser.objects.values_list("username", "upstream_state"))
    assert states == {"alpha": "active", "beta": "disabled", "legacy": "gone"}
    assert subusers_sync().created == []


def test_refresh_bounces_command_prints_one_line_per_subuser(upstream, capsys):
    for name, n in (("alpha", 3), ("beta", 2)):
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(name, [row(i) for i in range(n)])
    call_command("sync_subusers")

    call_command("refresh_bounces", "--full")

    out = capsys.readouterr().out
    assert "alpha: fetched 3, created 3, updated 0, removed 0" in out
    assert "beta: fetched 2, created 2, updated 0, removed 0" in out


def test_refresh_bounces_command_fails_on_unreachable_upstream(upstream, settings, capsys):
    upstream.store.add_subuser("alpha")
    upstream.store.add_bounces("alpha", [row(1)])
    call_command("sync_subusers")
    call_command("refresh_bounces", "--full")
    before = list(Bounce.objects.values())
    settings.SENDGRID_API_URL = "http://127.0.0.1:9"
    settings.SENDGRID_MAX_RETRIES = 1

    with pytest.raises(CommandError, match="1 of 1 subusers failed"):
        call_command("refresh_bounces", "--full")

    assert "alpha: FAILED:" in capsys.readouterr().out
    assert list(Bounce.objects.values()) == before


def test_refresh_bounces_command_rejects_unknown_subuser(upstream):
    with pytest.raises(CommandError, match="Unknown subuser"):
        call_command("refresh_bounces", "--subuser", "ghost")
