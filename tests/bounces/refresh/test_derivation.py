"""Classifying in a worker process gives what classifying here gives, and survives its loss."""

import random

import pytest

from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh import derivation
from bounceadmin.bounces.refresh.derivation import Deriver, derive
from bounceadmin.bounces.refresh.listing import Upstream
from bounceadmin.bounces.refresh.pipeline import bounces_refresh_each
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid import UpstreamBounce

REPLIES = [
    ("5.1.1", "550 5.1.1 <{n}@x.test>: Recipient address rejected: User unknown"),
    ("4.2.2", "452 4.2.2 Mailbox full, try again later ({n})"),
    ("", "554 5.7.1 Service unavailable; Client host [10.0.{n}] blocked using zen.spamhaus.org"),
    ("5.0.0", "550 message {n} rejected as spam"),
    ("4.7.0", "421 4.7.0 Try again later, closing connection. ({n} concurrent connections)"),
    ("", "mailbox {n} over quota"),
]


def page(start: int, n: int) -> list[UpstreamBounce]:
    return [
        UpstreamBounce(f"u{i}@x.test", REPLIES[i % 6][0], REPLIES[i % 6][1].format(n=i), i)
        for i in range(start, start + n)
    ]


def test_the_worker_process_derives_what_this_process_does():
    keys = [(b.status, b.reason) for b in page(0, 600)]
    deriver = Deriver(worker=True, inline_max=0)
    try:
        future = deriver.submit(keys)
        assert deriver._pool is not None  # the batch went to the process
        assert future.result(timeout=60) == [derive(*key) for key in keys]
    finally:
        deriver.close()


def test_small_refreshes_never_start_the_process():
    deriver = Deriver(worker=True, inline_max=100)
    assert deriver.submit([("5.1.1", "550 unknown user")] * 100).done()
    assert deriver._pool is None


def test_a_lost_worker_loses_no_classification():
    deriver = Deriver(worker=True, inline_max=0)
    upstream = Upstream(rows={}, deriver=deriver)
    try:
        upstream.derive_changed(page(0, 300))
        upstream.submitted[0][1].result(timeout=60)
        for process in deriver._pool._processes.values():
            process.kill()
        upstream.derive_changed(page(300, 300))  # to the dead process, or here
        upstream.collect()
        for b in page(0, 600):
            assert upstream.derive(b) == derive(b.status, b.reason)
    finally:
        deriver.close()


@pytest.mark.django_db
def test_a_pipeline_past_the_inline_limit_classifies_in_the_process(upstream, sg, monkeypatch):
    monkeypatch.setattr(derivation, "INLINE_MAX", 50)
    started = []
    real = Deriver._process
    monkeypatch.setattr(Deriver, "_process", lambda self: started.append(1) or real(self))
    rng = random.Random(3)
    for name in ("alpha", "beta"):
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(
            name,
            [{"email": b.email, "status": b.status, "reason": b.reason,
              "created": 1_700_000_000 + rng.randrange(10**6)} for b in page(0, 700)],
        )  # fmt: skip
    subusers_sync()

    runs = list(bounces_refresh_each(Subuser.objects.order_by("username"), full=True, client=sg))

    assert started and all(run.outcome == "ok" for _, run in runs)
    for b in Bounce.objects.all():
        assert (b.type, b.classification, b.fault) == derive(b.status, b.reason)
    assert Bounce.objects.count() == 1400
