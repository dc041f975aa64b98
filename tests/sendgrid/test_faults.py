"""Full refreshes through upstream faults, end to end over HTTP against the sandbox.

Each test scripts a timeline of faults on the listing (or lookup) requests of one subuser with
the sandbox's `after` placement, runs a refresh with a real client (small timeouts; waits are
recorded at full length but spent short), and checks the outcome against the sandbox's list:
either the cache equals it exactly, or, when a fault outlasts the bounded retries, the run is
recorded failed and the cache is exactly as it was.
"""

from __future__ import annotations

import time

import pytest

from bounceadmin.bounces.models import Bounce, BounceChange, RefreshRun, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid import BouncePage, SendGridClient

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000
LIST = "/v3/suppression/bounces"
MAX_RETRIES = 5
OK = None  # a request of the timeline that goes through


class CappedSleep:
    """The client's waits, recorded at full length and slept at most `cap` seconds."""

    def __init__(self, cap: float = 0.02) -> None:
        self.cap = cap
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, self.cap))


@pytest.fixture
def waits() -> CappedSleep:
    return CappedSleep()


@pytest.fixture
def client(upstream, waits):
    sg = SendGridClient(
        api_key=upstream.api_key,
        base_url=upstream.url,
        connect_timeout=1,
        read_timeout=0.4,  # well past a page at 50 ms latency, even on a loaded machine
        max_retries=MAX_RETRIES,
        backoff=0.01,
        sleep=waits,
    )
    yield sg
    sg.close()


def row(i: int, *, created: int | None = None, status: str = "5.1.1") -> dict:
    return {"email": f"user{i:05d}@example.com", "status": status,
            "reason": f"550 {status} user{i} unknown",
            "created": T0 + i if created is None else created}  # fmt: skip


@pytest.fixture
def acme(upstream, client):
    """1,600 bounces upstream (four pages), all cached by a quiet first refresh."""
    upstream.store.add_subuser("acme")
    upstream.store.add_bounces("acme", [row(i) for i in range(1600)])
    subusers_sync()
    subuser = Subuser.objects.get(username="acme")
    assert bounces_refresh(subuser=subuser, full=True, client=client).outcome == "ok"
    upstream.clear_requests()
    return subuser


def script(sandbox, timeline: list, *, path: str = LIST, method: str = "GET") -> None:
    """Queue one fault per non-OK slot: slot i fires on the (i+1)-th matching request."""
    for i, fault in enumerate(timeline):
        if fault is not OK:
            sandbox.inject_fault(**fault, method=method, path=path, subuser="acme", after=i)


def listing_log(sandbox, path: str = LIST) -> list[dict]:
    return [r for r in sandbox.requests if r["path"] == path]


def snapshot() -> list[dict]:
    return list(Bounce.objects.order_by("pk").values())


def assert_cache_equals_upstream(sandbox, subuser) -> None:
    up = {b["email"]: b for b in sandbox.store.bounces("acme")}
    mine = {b.email: b for b in Bounce.objects.filter(subuser=subuser, removed_at__isnull=True)}
    assert set(mine) == set(up)
    for email, b in mine.items():
        assert (b.status, b.reason, int(b.created.timestamp())) == (
            up[email]["status"], up[email]["reason"], up[email]["created"]
        )  # fmt: skip


S429 = {"kind": "status", "status": 429, "reset": 1}  # X-RateLimit-Reset as seconds from now
S429_EPOCH = {"kind": "status", "status": 429, "seconds": 1}  # ... as an epoch a second ahead
S503 = {"kind": "status", "status": 503}
S502 = {"kind": "status", "status": 502}
RESET = {"kind": "reset"}
TRUNCATED = {"kind": "truncated"}
BAD_JSON = {"kind": "bad_json"}
TIMEOUT = {"kind": "timeout", "seconds": 1.0}  # past the client's 0.4 s read timeout


def test_full_refresh_converges_through_a_mix_of_faults(upstream, acme, client, waits):
    # upstream moved on since the last refresh: many removals (a second listing confirms
    # them), changed and new entries
    upstream.store.remove_bounces("acme", [f"user{i:05d}@example.com" for i in range(100, 130)])
    upstream.store.add_bounces("acme", [row(i, created=T0 + 5000 + i, status="4.2.2")
                                        for i in range(200, 205)])  # fmt: skip
    upstream.store.add_bounces("acme", [row(i) for i in range(2000, 2040)])
    upstream.set_latency(50)
    timeline = [
        S429, S429, S429, S429, OK,     # a storm of 429s on page 1, then it passes
        S503, S503, OK,                 # a 503 burst on page 2
        RESET, TRUNCATED, OK,           # connection reset, body cut short: page 3
        BAD_JSON, BAD_JSON, OK,         # a proxy's HTML page instead of JSON: page 4
        TIMEOUT, OK,                    # second listing, page 1: a slow answer times out
        S429_EPOCH, S502, OK,           # page 2
        OK, TRUNCATED, OK,              # pages 3 and 4
    ]  # fmt: skip
    script(upstream, timeline)

    started = time.monotonic()
    run = bounces_refresh(subuser=acme, full=True, client=client)
    elapsed = time.monotonic() - started

    assert run.outcome == RefreshRun.Outcome.OK, run.error
    assert (run.created, run.updated, run.removed) == (40, 5, 30)
    # more removals than CONFIRM_ONE_BY_ONE_MAX: a second listing confirmed them
    assert not [r for r in upstream.requests if r["path"].startswith(LIST + "/")]
    assert_cache_equals_upstream(upstream, acme)
    assert upstream.faults.pending() == []  # every scripted fault was met
    log = listing_log(upstream)
    assert [r["fault"] for r in log] == [f and f["kind"] for f in timeline]
    # 429s waited for X-RateLimit-Reset (full length asked for); the rest backed off briefly
    rate_waits = [w for w in waits.calls if w > 0.5]
    assert len(rate_waits) == 5 and all(w <= 2.2 for w in rate_waits)
    assert elapsed < 5
    assert run.requests == len(log)


def test_one_by_one_confirmation_survives_faults(upstream, acme, client):
    gone = [f"user{i:05d}@example.com" for i in (5, 600, 1200)]
    upstream.store.remove_bounces("acme", gone)
    # the listing misses five live entries (as a shifting list would): confirmed one by one
    live = [f"user{i:05d}@example.com" for i in range(900, 905)]
    original = client.iter_bounce_pages

    def missing_some(subuser, **kw):
        for page in original(subuser, **kw):
            kept = [b for b in page if b.email not in live]
            yield BouncePage(kept, received=page.received)

    client.iter_bounce_pages = missing_some
    script(upstream, [S503, OK, RESET, BAD_JSON, OK, S429, TRUNCATED, OK], path=LIST + "/")

    run = bounces_refresh(subuser=acme, full=True, client=client)

    assert run.outcome == RefreshRun.Outcome.OK, run.error
    assert run.removed == 3
    assert_cache_equals_upstream(upstream, acme)
    lookups = [r for r in upstream.requests if r["path"].startswith(LIST + "/")]
    assert len([r for r in lookups if r["fault"] is None]) == 8
    assert {r["fault"] for r in lookups} == {None, "status", "reset", "bad_json", "truncated"}
    assert upstream.faults.pending() == []


PERSISTENT = [
    pytest.param(S503, 2, id="503-first-listing"),
    pytest.param(S429, 2, id="429-first-listing"),
    pytest.param(RESET, 2, id="reset-first-listing"),
    pytest.param(TRUNCATED, 2, id="truncated-first-listing"),
    pytest.param(BAD_JSON, 2, id="bad_json-first-listing"),
    pytest.param(S503, 6, id="503-second-listing"),
    pytest.param(TIMEOUT | {"seconds": 0.6}, 6, id="timeout-second-listing"),
]


@pytest.mark.parametrize(("fault", "where"), PERSISTENT)
def test_a_fault_that_outlasts_the_retries_fails_the_run_and_writes_nothing(
    upstream, acme, client, fault, where
):
    # enough removals upstream that a second listing confirms them: its page 3 is request 7
    upstream.store.remove_bounces("acme", [f"user{i:05d}@example.com" for i in range(40)])
    upstream.store.add_bounces("acme", [row(i) for i in range(3000, 3010)])
    before = snapshot()
    changes = BounceChange.objects.count()
    # page 3 of the first listing, or page 3 of the second: one try and every retry fail
    upstream.inject_fault(**fault, method="GET", path=LIST, subuser="acme", after=where,
                          count=MAX_RETRIES + 1)  # fmt: skip

    run = bounces_refresh(subuser=acme, full=True, client=client)

    assert run.outcome == RefreshRun.Outcome.FAILED
    assert f"{MAX_RETRIES + 1} attempts" in run.error
    assert (run.fetched, run.created, run.updated, run.removed) == (0, 0, 0, 0)
    assert snapshot() == before
    assert BounceChange.objects.count() == changes
    acme.refresh_from_db()
    assert acme.last_refresh == run and acme.lock_token == ""
    offsets = [int(r["query"]["offset"]) for r in listing_log(upstream)]
    assert offsets.count(0) == (1 if where < 4 else 2)

    # the next refresh, with upstream well again, converges
    again = bounces_refresh(subuser=acme, full=True, client=client)
    assert again.outcome == "ok" and again.removed == 40 and again.created == 10
    assert_cache_equals_upstream(upstream, acme)
