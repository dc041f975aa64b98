"""Refreshing the other lists from the sandbox over HTTP: every list, for a subuser and for the
parent, full and incremental, removals and reappearances, failures that change nothing."""

from datetime import UTC, datetime

import pytest

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh import RefreshAlreadyRunning
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.suppressions.lists import OTHER_LISTS, SuppressionList
from bounceadmin.suppressions.models import (
    Suppression,
    SuppressionChange,
    SuppressionGroup,
    SuppressionListState,
)
from bounceadmin.suppressions.refresh import list_refresh, lists_refresh

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000
# The sandbox names global unsubscribes by their upstream path's last word.
SANDBOX = {SuppressionList.GLOBAL_UNSUBSCRIBES: "unsubscribes"}


def entry(i: int, **fields) -> dict:
    return {"email": f"user{i:05d}@example.com", "created": T0 + i, **fields}


def add(upstream, name, account, rows):
    upstream.store.lists.add(SANDBOX.get(name, name), account, rows)


def remove(upstream, name, account, emails):
    upstream.store.lists.remove(SANDBOX.get(name, name), account, emails)


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    subusers_sync()
    return Subuser.objects.get(username="acme")


@pytest.fixture
def parent(upstream, settings):
    """The parent account, as the sync makes it (on by default; off for most tests)."""
    settings.SENDGRID_PARENT_LISTS = True
    upstream.store.add_subuser("acme")
    subusers_sync()
    return Subuser.objects.get(is_parent=True)


def active(subuser, name) -> dict[str, Suppression]:
    rows = Suppression.objects.filter(subuser=subuser, list=name, removed_at__isnull=True)
    return {row.email: row for row in rows}


@pytest.mark.parametrize(
    "name, fields",
    [
        (SuppressionList.BLOCKS, {"status": "5.7.1", "reason": "550 blocked by policy"}),
        (SuppressionList.INVALID_EMAILS, {"reason": "Mail domain mentioned in email is invalid"}),
        (SuppressionList.SPAM_REPORTS, {"ip": "203.0.113.9"}),
        (SuppressionList.GLOBAL_UNSUBSCRIBES, {}),
    ],
)
def test_a_full_refresh_caches_every_entry_with_its_fields(upstream, acme, sg, name, fields):
    add(upstream, name, "acme", [entry(i, **fields) for i in range(1201)])

    run = list_refresh(subuser=acme, list=name, full=True, client=sg)

    assert (run.outcome, run.list, run.created, run.fetched) == ("ok", name, 1201, 1201)
    assert run.pages >= 3
    cached = active(acme, name)
    assert len(cached) == 1201
    row = cached["user00007@example.com"]
    assert row.created == datetime.fromtimestamp(T0 + 7, tz=UTC)
    for field, value in fields.items():
        assert getattr(row, field) == value
    state = SuppressionListState.objects.get(subuser=acme, list=name)
    assert (state.active, state.last_refresh, state.last_success_at) == (
        1201, run, run.finished_at,
    )  # fmt: skip
    # The bounce refresh's record is untouched.
    acme.refresh_from_db()
    assert acme.last_refresh is None and acme.last_success_at is None


def test_a_full_refresh_marks_what_left_and_brings_back_what_returned(upstream, acme, sg):
    name = SuppressionList.BLOCKS
    add(upstream, name, "acme", [entry(i, reason="550 blocked") for i in range(30)])
    list_refresh(subuser=acme, list=name, full=True, client=sg)
    remove(upstream, name, "acme", ["user00001@example.com", "user00002@example.com"])

    run = list_refresh(subuser=acme, list=name, full=True, client=sg)

    assert run.removed == 2
    assert len(active(acme, name)) == 28
    gone = Suppression.objects.get(subuser=acme, list=name, email="user00001@example.com")
    assert gone.removed_at is not None
    assert gone.changes.get().kind == SuppressionChange.Kind.REMOVED
    assert SuppressionListState.objects.get(subuser=acme, list=name).active == 28

    add(upstream, name, "acme", [entry(1, reason="550 blocked again", created=T0 + 500)])
    run = list_refresh(subuser=acme, list=name, full=False, client=sg)

    assert (run.kind, run.reappeared, run.updated) == ("incremental", 1, 1)
    back = Suppression.objects.get(pk=gone.pk)
    assert (back.removed_at, back.reason) == (None, "550 blocked again")
    assert back.changes.first().kind == SuppressionChange.Kind.REAPPEARED


def test_an_incremental_refresh_asks_only_for_what_is_new(upstream, acme, sg):
    name = SuppressionList.SPAM_REPORTS
    add(upstream, name, "acme", [entry(i, ip="192.0.2.1") for i in range(10)])
    list_refresh(subuser=acme, list=name, full=True, client=sg)
    add(upstream, name, "acme", [entry(100, ip="192.0.2.2")])
    upstream.clear_requests()

    run = list_refresh(subuser=acme, list=name, full=False, client=sg)

    assert (run.created, run.removed) == (1, 0)
    listed = [r for r in upstream.requests if r["path"].endswith("/spam_reports")]
    assert listed and all("start_time" in r["query"] for r in listed)


def test_group_unsubscribes_are_cached_with_their_groups(upstream, acme, sg):
    groups = upstream.store.lists.groups
    news = groups.add_group("acme", name="Newsletter")
    product = groups.add_group("acme", name="Product updates")
    news_id, product_id = news["id"], product["id"]
    groups.add("acme", news_id, [entry(1), entry(2)])
    groups.add("acme", product_id, [entry(1)])

    run = list_refresh(subuser=acme, list=SuppressionList.GROUP_UNSUBSCRIBES, full=False, client=sg)

    assert (run.outcome, run.kind, run.created) == ("ok", "full", 3)  # always whole
    rows = Suppression.objects.filter(subuser=acme, list=SuppressionList.GROUP_UNSUBSCRIBES)
    assert sorted((r.group.name, r.email) for r in rows) == [
        ("Newsletter", "user00001@example.com"),
        ("Newsletter", "user00002@example.com"),
        ("Product updates", "user00001@example.com"),
    ]

    # An address leaves one group; a whole group is deleted upstream.
    groups.remove(news_id, ["user00002@example.com"])
    groups.delete_group(product_id)
    run = list_refresh(subuser=acme, list=SuppressionList.GROUP_UNSUBSCRIBES, full=True, client=sg)

    assert run.removed == 2
    assert set(active(acme, SuppressionList.GROUP_UNSUBSCRIBES)) == {"user00001@example.com"}
    assert SuppressionGroup.objects.get(upstream_id=product_id).removed_at is not None
    assert SuppressionGroup.objects.get(upstream_id=news_id).removed_at is None


def test_the_parent_accounts_lists_are_called_without_on_behalf_of(upstream, parent, sg):
    acme = Subuser.objects.get(username="acme")
    add(upstream, SuppressionList.BLOCKS, "", [entry(1, reason="parent block")])
    add(upstream, SuppressionList.BLOCKS, "acme", [entry(2, reason="acme block")])
    upstream.clear_requests()

    lists_refresh(subuser=parent, full=True, client=sg)

    assert set(active(parent, SuppressionList.BLOCKS)) == {"user00001@example.com"}
    assert not Suppression.objects.filter(subuser=acme).exists()
    assert upstream.requests and all(not r.get("on_behalf_of") for r in upstream.requests)


def test_the_sync_makes_the_parent_account_once_and_never_marks_it_gone(upstream, parent):
    assert parent.username == "(parent account)" and parent.refreshable
    subusers_sync()
    subusers_sync()
    parent.refresh_from_db()
    assert Subuser.objects.filter(is_parent=True).count() == 1
    assert parent.upstream_state == Subuser.UpstreamState.ACTIVE


def test_every_list_is_refreshed_one_run_each(upstream, acme, sg):
    runs = lists_refresh(subuser=acme, full=True, client=sg)

    assert set(runs) == set(OTHER_LISTS)
    assert all(run.outcome == RefreshRun.Outcome.OK for run in runs.values())
    assert RefreshRun.objects.filter(subuser=acme).count() == len(OTHER_LISTS)


@pytest.mark.parametrize(
    "fault", [{"kind": "status", "status": 401}, {"kind": "status", "status": 503, "count": 20}]
)
def test_a_failed_refresh_changes_nothing(upstream, acme, sg, fault):
    name = SuppressionList.BLOCKS
    add(upstream, name, "acme", [entry(i, reason="blocked") for i in range(600)])
    list_refresh(subuser=acme, list=name, full=True, client=sg)
    before = list(Suppression.objects.order_by("pk").values())
    remove(upstream, name, "acme", [f"user{i:05d}@example.com" for i in range(20)])
    upstream.inject_fault(**{"count": 1, **fault})

    run = list_refresh(subuser=acme, list=name, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.FAILED and run.error
    assert list(Suppression.objects.order_by("pk").values()) == before
    state = SuppressionListState.objects.get(subuser=acme, list=name)
    assert state.last_refresh == run and state.last_success_at < run.started_at


def test_entries_written_by_strangers_are_stored_or_set_aside_never_failing_the_rest(
    upstream, acme, sg
):
    name = SuppressionList.INVALID_EMAILS
    add(
        upstream, name, "acme",
        [entry(1, reason="bad\x00domain"), {"email": "x" * 400 + "@example.com",
         "created": T0, "reason": "long"}, entry(2, reason="fine")],
    )  # fmt: skip

    run = list_refresh(subuser=acme, list=name, full=True, client=sg)

    assert run.outcome == "ok"
    assert (run.adjusted, run.set_aside) == (1, 1)
    cached = active(acme, name)
    assert set(cached) == {"user00001@example.com", "user00002@example.com"}
    assert cached["user00001@example.com"].reason == "baddomain"


def test_a_held_lease_is_not_taken(upstream, acme, sg):
    lease = SubuserLease(acme.pk)
    assert lease.acquire()
    try:
        with pytest.raises(RefreshAlreadyRunning):
            list_refresh(subuser=acme, list=SuppressionList.BLOCKS, full=True, client=sg)
    finally:
        lease.release()


def test_the_refresh_history_names_each_runs_list_and_filters_by_it(upstream, acme, sg, client):
    from tests.support.factories import make_user

    list_refresh(subuser=acme, list=SuppressionList.SPAM_REPORTS, full=True, client=sg)
    list_refresh(subuser=acme, list=SuppressionList.BLOCKS, full=True, client=sg)
    client.force_login(make_user("vera", role="viewer"))

    everything = client.get("/refreshes/").content.decode()
    only_spam = client.get("/refreshes/?list=spam_reports").content.decode()

    assert "<td>Spam reports</td>" in everything and "<td>Blocks</td>" in everything
    assert "<td>Spam reports</td>" in only_spam and "<td>Blocks</td>" not in only_spam


def test_the_command_refreshes_the_other_lists_with_lists(upstream, acme):
    from io import StringIO

    from django.core.management import call_command

    add(
        upstream, SuppressionList.BLOCKS, "acme", [entry(i, reason="550 blocked") for i in range(3)]
    )
    out = StringIO()

    call_command("refresh_bounces", "--full", "--lists", stdout=out)

    assert "acme blocks: fetched 3, created 3" in out.getvalue()
    assert len(active(acme, SuppressionList.BLOCKS)) == 3
