"""Upstream entries written by strangers: what the database cannot hold as sent is adjusted or set
aside, said on the run, and never fails the rest of the refresh (on either database)."""

import math

import pytest

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid.entries import MAX_EMAIL, parse_bounces

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000
LONG = "x" * 400 + "@example.com"
RLO = "\u202emoc.elpmaxe@kcab"  # renders as "back@example.com" reversed


def row(i: int, **fields):
    return {
        "email": f"user{i:05d}@example.com",
        "status": "5.1.1",
        "reason": f"550 5.1.1 user{i} unknown",
        "created": T0 + i,
        **fields,
    }


@pytest.fixture
def acme(upstream):
    upstream.store.add_subuser("acme")
    subusers_sync()
    return Subuser.objects.get(username="acme")


def test_refresh_stores_hostile_entries_and_sets_aside_what_cannot_be(upstream, acme, sg):
    upstream.store.add_bounces(
        "acme",
        [row(i) for i in range(700)]
        + [
            row(700, reason="550 no such user\x00\x00 here"),
            row(701, status="5.1.1" + "9" * 40),
            row(702, email=LONG),
            row(703, email="nul\x00@example.com"),
            row(704, email=RLO),
        ],
    )

    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.OK, run.error
    assert (run.created, run.adjusted, run.set_aside) == (703, 2, 2)
    cached = {b.email: b for b in Bounce.objects.filter(subuser=acme)}
    assert cached["user00700@example.com"].reason == "550 no such user here"
    assert cached["user00701@example.com"].status == ("5.1.1" + "9" * 40)[:32]
    assert cached[RLO].reason  # stored exactly: shown escaped, never altered
    assert LONG not in cached and not any("\x00" in email for email in cached)
    notes = {(n["entry"][:20], n["what"], n["set_aside"]) for n in run.adjustments}
    assert ("user00700@example.co", "reason: 2 NUL character(s) removed", False) in notes
    assert ("nul@example.com", "set aside: address with 1 NUL character(s)", True) in notes
    assert any(n["set_aside"] and "412 characters" in n["what"] for n in run.adjustments)


def test_refresh_of_adjusted_entries_again_changes_nothing(upstream, acme, sg):
    upstream.store.add_bounces(
        "acme", [row(1, reason="bad\x00reason"), row(2, status="s" * 50), row(3, email=LONG)]
    )
    bounces_refresh(subuser=acme, full=True, client=sg)

    again = bounces_refresh(subuser=acme, full=True, client=sg)
    incremental = bounces_refresh(subuser=acme, full=False, client=sg)

    assert (again.outcome, again.updated, again.removed, again.created) == ("ok", 0, 0, 0)
    assert (incremental.outcome, incremental.updated) == ("ok", 0)
    assert (again.adjusted, again.set_aside) == (2, 1)


def test_refresh_joins_pages_whose_last_entries_were_set_aside(upstream, acme, sg):
    # Page 1 (created descending) ends in eleven unstorable addresses: the next page re-reads
    # ten of them and must still be seen to join up, or the refresh would list again and fail.
    upstream.store.add_bounces(
        "acme",
        [row(i) for i in range(100)]
        + [row(i, email=f"{i}{LONG}") for i in range(100, 111)]
        + [row(i) for i in range(111, 600)],
    )

    run = bounces_refresh(subuser=acme, full=True, client=sg)

    assert run.outcome == RefreshRun.Outcome.OK, run.error
    assert (run.created, run.set_aside, run.pages) == (589, 11, 2)


def test_parse_bounces_keeps_good_entries_beside_malformed_ones():
    good = {"email": " Good@Example.com ", "status": "5.1.1", "reason": "r", "created": T0}
    page = parse_bounces(
        [
            good,
            "not an object",
            {"status": "5.1.1", "created": T0},  # no address
            {**good, "email": "nan@example.com", "created": "NaN"},
            {**good, "email": "inf@example.com", "created": 1e400},
            {**good, "email": "late@example.com", "created": 1e13},
            {**good, "email": "text@example.com", "created": "yesterday"},
            {**good, "email": "sur@example.com", "reason": "bad \ud800 half"},
            {**good, "email": "half\udfff@example.com"},
            {**good, "email": "x" * (MAX_EMAIL + 1)},
            {**good, "email": "n@example.com", "status": None, "reason": None},
            {**good, "email": None},
            {**good, "email": 12345},
            {**good, "email": "bool@example.com", "created": True},
            {**good, "email": "huge@example.com", "created": 10**400},
        ]
    )

    assert [(b.email, b.reason) for b in page] == [
        ("good@example.com", "r"),
        ("sur@example.com", "bad  half"),
        ("n@example.com", ""),
    ]
    assert page.received == 15
    aside = [a for a in page.adjustments if a.set_aside]
    assert len(aside) == 12 and all(a.what.startswith("set aside") for a in aside)
    assert all(math.isfinite(b.created) for b in page)
    assert page.has_email("x" * (MAX_EMAIL + 1)) and page.last_email == "huge@example.com"


def test_parse_bounces_of_an_otherwise_clean_page_with_a_huge_number_keeps_the_rest():
    items = [{"email": f"u{i}@e.com", "created": T0 + i} for i in range(3)]
    items.append({"email": "huge@e.com", "created": 10**400})  # float() overflows

    page = parse_bounces(items)

    assert [b.email for b in page] == ["u0@e.com", "u1@e.com", "u2@e.com"]
    assert [a.set_aside for a in page.adjustments] == [True]


def test_parse_bounces_of_a_clean_page_reports_nothing():
    items = [{"email": f"u{i}@e.com", "status": "5.1.1", "reason": "é", "created": T0 + i}
             for i in range(500)]  # fmt: skip

    page = parse_bounces(items)

    assert len(page) == page.received == 500 and page.adjustments == []
    assert page.last_email == "u499@e.com" and page.has_email("u0@e.com")
