"""A full refresh of a list that changes while it is paged (the sandbox's `mutate` fault).

Offset paging over a list that loses entries ahead of the cursor skips live entries; one that
gains entries re-reads some. Whatever happens, a full refresh must never mark removed an entry
that is still upstream, and must end with every entry that was upstream throughout the refresh
cached. Entries removed or added while it ran may go either way; the next quiet refresh settles
them, so every test ends with a second refresh and an exact comparison.
"""

from __future__ import annotations

import pytest

from bounceadmin.bounces.models import Bounce, BounceChange, RefreshRun, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.refresh.listing import CONFIRM_ONE_BY_ONE_MAX
from bounceadmin.bounces.subusers import subusers_sync

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000
LIST = "/v3/suppression/bounces"


def rows(start: int, n: int, *, created: int = T0, prefix: str = "old") -> list[dict]:
    return [
        {"email": f"{prefix}{i:05d}@example.com", "status": "5.1.1",
         "reason": f"550 5.1.1 {prefix}{i} unknown", "created": created + i}
        for i in range(start, start + n)
    ]  # fmt: skip


@pytest.fixture
def acme(upstream, sg):
    """1,200 bounces upstream, all cached by a first full refresh."""
    upstream.store.add_subuser("acme")
    upstream.store.add_bounces("acme", rows(0, 1200))
    subusers_sync()
    subuser = Subuser.objects.get(username="acme")
    assert bounces_refresh(subuser=subuser, full=True, client=sg).outcome == "ok"
    return subuser


def order(sandbox) -> list[str]:
    """Upstream's emails in list order (created DESC): what offset N points at right now."""
    return [b["email"] for b in sandbox.store.bounces("acme")]


def active(subuser) -> set[str]:
    qs = Bounce.objects.filter(subuser=subuser, removed_at__isnull=True)
    return set(qs.values_list("email", flat=True))


def on_page_request(sandbox, after: int, **mutation) -> None:
    """Change the list just before the (after+1)-th listing request of acme is answered."""
    sandbox.inject_fault("mutate", method="GET", path=LIST, subuser="acme", after=after,
                         **mutation)  # fmt: skip


def refresh_and_check(sandbox, subuser, sg, *, before: set[str]) -> RefreshRun:
    """Run a full refresh under the faults already queued; check the invariants."""
    run = bounces_refresh(subuser=subuser, full=True, client=sg)
    assert run.outcome == RefreshRun.Outcome.OK, run.error
    now = set(order(sandbox))
    removed = set(
        BounceChange.objects.filter(run=run, kind="removed").values_list("bounce__email", flat=True)
    )
    assert not removed & now, "marked removed while still upstream"
    assert (before & now) <= active(subuser), "an entry upstream throughout is not cached"
    run.log = sandbox.requests  # what this refresh asked
    # a quiet second refresh converges exactly
    sandbox.clear_faults()
    again = bounces_refresh(subuser=subuser, full=True, client=sg)
    assert again.outcome == "ok"
    assert active(subuser) == now
    return run


def listings(log: list[dict]) -> int:
    return sum(1 for r in log if r["path"] == LIST and r["query"].get("offset") == "0")


def singles(log: list[dict]) -> list[str]:
    prefix = LIST + "/"
    return [
        r["path"][len(prefix) :].replace("%40", "@") for r in log if r["path"].startswith(prefix)
    ]


@pytest.mark.parametrize(("shift", "walks"), [(5, 1), (15, 2)])
def test_few_removals_ahead_of_the_cursor_are_confirmed_one_by_one(
    upstream, acme, sg, shift, walks
):
    before = order(upstream)
    gone = before[700:705]  # removed before the walk reaches them: truly gone, never seen
    on_page_request(upstream, after=0, emails=gone)
    # after page 1, entries from its start go: page 2's offset moves `shift` entries on. The
    # page overlap absorbs a small shift; a larger one is detected and the list read again.
    on_page_request(upstream, after=1, remove=shift)
    upstream.clear_requests()

    run = refresh_and_check(upstream, acme, sg, before=set(before))

    # those from page 1's start were seen before they went: the next refresh removes them
    assert run.removed == 5
    removed = Bounce.objects.filter(removed_at__isnull=False).values_list("email", flat=True)
    assert set(gone) <= set(removed)
    assert listings(run.log) == walks
    assert sorted(singles(run.log)) == sorted(gone)


def test_new_entries_skipped_by_the_shift_are_not_lost(upstream, acme, sg):
    """Entries not cached yet are no removal candidates: no confirmation would find them."""
    upstream.store.add_bounces("acme", rows(0, 600, created=T0 + 10_000, prefix="new"))
    before = order(upstream)
    # the first 15 (new, uncached) entries go after page 1: page 2 starts 15 entries late, and
    # the entries it skips are new ones, not cached, so nothing looks removed
    on_page_request(upstream, after=1, remove=15)

    run = refresh_and_check(upstream, acme, sg, before=set(before))

    assert run.removed == 0
    assert len(active(acme) & {e for e in before if e.startswith("new")}) >= 585


def test_many_removals_take_the_second_listing(upstream, acme, sg):
    before = order(upstream)
    many = CONFIRM_ONE_BY_ONE_MAX + 10
    on_page_request(upstream, after=0, emails=before[700 : 700 + many])
    on_page_request(upstream, after=1, remove=many)

    upstream.clear_requests()

    run = refresh_and_check(upstream, acme, sg, before=set(before))

    assert run.removed == many
    assert not singles(run.log)  # confirmed by listing again, not one by one
    assert listings(run.log) == 2


def test_second_listing_that_shifts_too_removes_nothing_live(upstream, acme, sg):
    """Someone keeps deleting while new bounces keep arriving: both listings skip the same
    entries. The union of two unchecked listings would mark those removed."""
    before = order(upstream)
    on_page_request(upstream, after=1, emails=before[0:25])  # 1st listing, page 2: 25 go
    # 2nd listing, page 1: 25 new bounces arrive at the front, pushing the skipped entries back
    # to where the 1st listing's page 2 missed them; page 2: 25 more go, skipping them again
    on_page_request(upstream, after=3, add=rows(0, 25, created=T0 + 50_000, prefix="fresh"))
    on_page_request(upstream, after=4, emails=before[25:50])

    run = refresh_and_check(upstream, acme, sg, before=set(before))

    assert run.removed == 0  # the 50 that went had been read before they went


def test_cached_entries_bouncing_again_while_paged_are_not_removed(upstream, acme, sg):
    """A repeat bounce moves an entry to the front, behind the cursor: the listing misses it."""
    before = order(upstream)
    tail = before[-40:]  # entries the walk has not reached yet
    moved = [{**r, "created": T0 + 90_000} for r in rows(0, 1200) if r["email"] in set(tail)]
    on_page_request(upstream, after=1, add=moved)

    run = refresh_and_check(upstream, acme, sg, before=set(before))

    assert run.removed == 0
    assert run.updated == 40  # caught with their new date


def test_a_list_that_never_settles_fails_the_run_and_writes_nothing(upstream, acme, sg):
    snapshot = list(Bounce.objects.order_by("pk").values())
    upstream.inject_fault("mutate", method="GET", path=LIST, subuser="acme", remove=30, count=50)

    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.FAILED
    assert "changed" in run.error
    assert list(Bounce.objects.order_by("pk").values()) == snapshot
    assert not BounceChange.objects.filter(run=run).exists()
