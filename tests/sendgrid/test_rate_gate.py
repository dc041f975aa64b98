"""The SendGrid rate gate shared across processes (bounceadmin/sendgrid/gate.py).

Unit tests drive `CacheRateGate` with a fake clock; the in-process tests run several clients
in threads, each with its own gate over the same cache, as separate processes would; the
end-to-end test runs three real Celery workers against a sandbox with a tight rate limit.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import refresh_subuser
from bounceadmin.sendgrid import SendGridClient, get_client
from bounceadmin.sendgrid.gate import CacheRateGate, gate_scope
from tests.support.workers import kill_worker, purge_broker, start_worker, worker_env

T0 = 1_700_000_000


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self, now: float = 1_800_000_000.25) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def cache():
    """The suite's default cache (a FileBasedCache in DATA_DIR/cache, or Redis). Never cleared:
    it may be shared; every test gates its own scope."""
    return caches["default"]


@pytest.fixture
def scope() -> str:
    return f"test-{uuid.uuid4().hex}"


def gate(cache, t: FakeTime, scope: str, **kw) -> CacheRateGate:
    return CacheRateGate(cache, scope=scope, sleep=t.sleep, clock=t.clock, **kw)


# --- the gate on its own --------------------------------------------------------------------------


def test_a_pause_recorded_by_one_process_holds_up_the_others(cache, scope):
    t = FakeTime()
    mine, theirs = gate(cache, t, scope), gate(cache, t, scope)
    elsewhere = gate(cache, t, scope + "-other")

    theirs.pause_until(t.now + 2.5)
    elsewhere.wait()  # another account (URL and key): not held up
    assert t.slept == []
    mine.wait()

    assert sum(t.slept) == pytest.approx(2.5)
    t.slept.clear()
    mine.wait()  # over: no more waiting
    assert t.slept == []


def test_a_pause_only_grows_and_is_capped(cache, scope):
    t = FakeTime()
    g = gate(cache, t, scope, max_pause=10)

    g.pause_until(t.now + 3)
    g.pause_until(t.now + 1)  # a shorter pause does not cut the longer one short
    g.pause_until(t.now - 5)  # nor does one in the past
    g.wait()
    assert sum(t.slept) == pytest.approx(3)

    t.slept.clear()
    g.pause_until(t.now + 3600)  # a silly reset is capped at max_pause
    g.wait()
    assert sum(t.slept) == pytest.approx(10)


@pytest.mark.parametrize("backend", ["default", "locmem"])
def test_max_requests_per_second_is_shared(cache, scope, backend):
    t = FakeTime()
    shared = cache if backend == "default" else LocMemCache(scope, {})  # incr, not a lock file
    gates = [gate(shared, t, scope, max_per_second=3) for _ in range(2)]

    sent_at = []
    for i in range(7):
        gates[i % 2].wait()
        sent_at.append(int(t.now))

    # three per second between both, whichever process asks
    assert sorted(Counter(sent_at).values()) == [1, 3, 3]
    assert t.now - 1_800_000_000.25 < 2.0


def test_rates_below_one_per_second_use_longer_windows(cache, scope):
    t = FakeTime(1_800_000_000.0)
    g = gate(cache, t, scope, max_per_second=0.5)
    g.wait()
    g.wait()
    assert t.now == pytest.approx(1_800_000_002.0)


def test_the_gate_fails_open_when_the_cache_is_down(caplog):
    class Broken(LocMemCache):
        def get(self, *a, **kw):
            raise ConnectionError("cache down")

        add = set = incr = get

    t = FakeTime()
    g = gate(Broken("broken", {}), t, "broken", max_per_second=1)

    for _ in range(3):
        g.wait()
    g.pause_until(t.now + 5)
    g.wait()

    assert t.slept == []
    assert len([r for r in caplog.records if "cache unavailable" in r.message]) == 1


def test_scope_names_the_account_without_the_key():
    scope = gate_scope("https://api.sendgrid.com/", "SG.secret")
    assert scope == gate_scope("https://api.sendgrid.com", "SG.secret")
    assert scope != gate_scope("https://api.eu.sendgrid.com", "SG.secret")
    assert "secret" not in scope


# --- the client and the gate ----------------------------------------------------------------------


class RecordingGate:
    def __init__(self) -> None:
        self.waits = 0
        self.pauses: list[float] = []

    def wait(self) -> None:
        self.waits += 1

    def pause_until(self, epoch: float) -> None:
        self.pauses.append(epoch)


def test_client_waits_at_the_gate_and_shares_429_pauses(sandbox, sleeps):
    sandbox.store.add_bounces("acme", [{"email": "a@x.com", "created": T0}])
    g = RecordingGate()
    client = SendGridClient(api_key=sandbox.api_key, base_url=sandbox.url, sleep=sleeps, gate=g)
    sandbox.inject_fault("status", status=429, reset=2)
    sandbox.inject_fault("status", status=503)

    before = time.time()
    [page] = list(client.iter_bounce_pages("acme"))

    assert len(page) == 1
    assert g.waits == 3  # before every attempt
    [paused] = g.pauses  # the 429, not the 503
    assert before + 2 <= paused <= time.time() + 2.2
    assert sleeps.calls[0] == pytest.approx(2.1)  # and waits itself as before


@pytest.mark.parametrize(("margin", "remaining", "pauses"), [(0, 1, 0), (0, 0, 1), (2, 2, 1)])
def test_client_pauses_when_few_requests_are_left(sandbox, sleeps, margin, remaining, pauses):
    sandbox.store.add_bounces("acme", [{"email": "a@x.com", "created": T0}])
    sandbox.set_rate_limit(remaining + 1, 60)
    g = RecordingGate()
    client = SendGridClient(
        api_key=sandbox.api_key, base_url=sandbox.url, sleep=sleeps, gate=g,
        rate_limit_margin=margin,
    )  # fmt: skip

    list(client.iter_bounce_pages("acme"))

    assert len(g.pauses) == pauses
    assert len(sleeps.calls) == pauses


def test_get_client_puts_the_gate_in_front(settings):
    settings.SENDGRID_MAX_REQUESTS_PER_SECOND = 4
    settings.SENDGRID_RATE_LIMIT_MARGIN = 3
    client = get_client()
    assert isinstance(client.gate, CacheRateGate)
    assert (client.gate.per_window, client.rate_limit_margin) == (4, 3)
    assert "SG." not in client.gate.prefix

    settings.SENDGRID_RATE_GATE = False
    client = get_client()
    assert client.gate is None and client.rate_limit_margin == 0


# --- several processes at once (threads with their own gates over one cache) ---------------------


def list_concurrently(sandbox, subusers, *, gated: bool, margin: int, **gate_kw) -> None:
    scope = f"test-{uuid.uuid4().hex}"

    def work(subuser: str) -> int:
        g = CacheRateGate(caches["default"], scope=scope, **gate_kw) if gated else None
        client = SendGridClient(
            api_key=sandbox.api_key, base_url=sandbox.url, max_retries=20, gate=g,
            rate_limit_margin=margin,
        )  # fmt: skip
        try:
            return sum(len(p) for p in client.iter_bounce_pages(subuser, page_size=100))
        finally:
            client.close()

    with ThreadPoolExecutor(len(subusers)) as pool:
        counts = list(pool.map(work, subusers))
    assert counts == [sandbox.store.count(s) for s in subusers]


def test_four_clients_sharing_a_gate_run_into_far_fewer_429s(sandbox):
    subusers = ["s1", "s2", "s3", "s4"]
    for s in subusers:
        sandbox.store.add_bounces(s, [{"email": f"{s}-{i}@x.com", "created": T0 + i}
                                      for i in range(250)])  # fmt: skip
    sandbox.set_latency(10)

    def run(gated: bool) -> int:
        sandbox.set_rate_limit(6, 0.5)  # also forgets the open window
        sandbox.clear_requests()
        list_concurrently(sandbox, subusers, gated=gated, margin=3 if gated else 0)
        return Counter(r["status"] for r in sandbox.requests)[429]

    alone, together = run(gated=False), run(gated=True)

    # alone, each client finds out about a spent window by a 429 of its own; together, the one
    # told "3 left" pauses everyone until the reset, and the requests already on their way fit
    assert alone >= 3
    assert together <= 1


def test_max_requests_per_second_holds_across_clients(sandbox):
    for s in ("s1", "s2"):
        sandbox.store.add_bounces(s, [{"email": f"{s}-{i}@x.com", "created": T0 + i}
                                      for i in range(600)])  # fmt: skip
    time.sleep(1 - time.time() % 1)  # start on a fresh second: 14 requests need one more

    list_concurrently(sandbox, ["s1", "s2"], gated=True, margin=0, max_per_second=10)

    per_second = Counter(int(r["time"]) for r in sandbox.requests)
    assert sorted(per_second.values()) == [4, 10]


# --- two real worker processes --------------------------------------------------------------------


def start_workers(env: dict, tmp_path, n: int):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: start_worker(env, tmp_path / f"worker{i}.log"), range(n)))


NAMES = ("alpha", "beta", "gamma")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_three_workers_respect_the_rate_limit_together(upstream, tmp_path):
    for name in NAMES:
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(name, [{"email": f"{name}{i:05d}@example.com",
                                           "created": T0 + i} for i in range(3000)])  # fmt: skip
    subusers_sync()
    upstream.set_rate_limit(6, 0.5)
    upstream.set_latency(20)
    upstream.clear_requests()
    purge_broker()
    # The bounce lists alone: each task would refresh the other lists after them.
    env = worker_env(upstream, SENDGRID_RATE_LIMIT_MARGIN="2", SENDGRID_MAX_RETRIES="20",
                     REFRESH_OTHER_LISTS="false")  # fmt: skip
    workers = start_workers(env, tmp_path, len(NAMES))
    try:
        for sub in Subuser.objects.all():
            refresh_subuser.delay(sub.pk, True)
        deadline = time.monotonic() + 45
        while RefreshRun.objects.filter(list="bounces", outcome="ok").count() < len(NAMES):
            assert time.monotonic() < deadline, "refreshes did not finish"
            assert not RefreshRun.objects.filter(outcome="failed").exists()
            time.sleep(0.1)
    finally:
        for proc in workers:  # idle by now: no need to wait for a warm shutdown
            kill_worker(proc)

    for name in NAMES:
        cached = set(Bounce.objects.filter(subuser__username=name).values_list("email", flat=True))
        assert cached == {b["email"] for b in upstream.store.bounces(name)}
    listing = [r for r in upstream.requests if r["path"] == "/v3/suppression/bounces"]
    statuses = Counter(r["status"] for r in listing)
    times = {name: [r["time"] for r in listing if r["on_behalf_of"] == name] for name in NAMES}
    # processes ran at once (at least two began before any finished; which worker picks up
    # its task when is up to the broker), over several windows of 6
    first_finish = min(t[-1] for t in times.values())
    assert sum(t[0] < first_finish for t in times.values()) >= 2
    assert statuses[200] == 7 * len(NAMES)  # 3,000 each: 7 pages of 500 that overlap by 10
    # alone (SENDGRID_RATE_GATE=false) this run meets a 429 or two per spent window, about 3 in
    # all; together the process told "2 left" pauses everyone, and what is in flight still fits
    assert statuses[429] <= 1, statuses
