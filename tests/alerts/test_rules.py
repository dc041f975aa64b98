"""Each rule fires on a constructed spike and stays quiet on a steady subuser and on a small
one."""

from datetime import timedelta

import pytest

from bounceadmin.alerts.models import AlertRule
from bounceadmin.alerts.rules import rule_findings
from bounceadmin.bounces.classification import Classification, Fault
from bounceadmin.bounces.models import RefreshRun
from tests.support.factories import make_subuser
from tests.support.webhooks import make_set_up

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def subusers():
    return make_subuser("spiky"), make_subuser("steady"), make_subuser("small")


def subjects(rule):
    return {(f.details["subuser"], f.subject) for f in rule_findings(rule, now=NOW)}


def test_bounce_spike_fires_on_a_spike_only(subusers):
    spiky, steady, small = subusers
    for subuser in (spiky, steady):
        add_baseline(subuser, 10)
    add_bounces(spiky, 40, at=NOW - timedelta(minutes=3))  # 4x the median of 10
    add_bounces(steady, 12, at=NOW - timedelta(minutes=3))
    add_bounces(small, 8, at=NOW - timedelta(minutes=3))  # no baseline at all, but few
    rule = make_rule(Kind.BOUNCE_SPIKE)
    [finding] = rule_findings(rule, now=NOW)
    assert (finding.details["subuser"], finding.subject) == ("spiky", "")
    assert (finding.value, finding.baseline) == (40, 10)
    assert finding.since == NOW - timedelta(minutes=3, seconds=40)  # its first bounce
    assert finding.details["until"] == NOW.isoformat(timespec="seconds")
    assert "40 bounces in the last hour, 4.0× the median of 10" in finding.summary


def test_bounce_spike_counts_removed_bounces_and_ignores_older_ones(subusers):
    spiky, _, _ = subusers
    add_bounces(spiky, 25, at=NOW - timedelta(minutes=1), removed=True)
    add_bounces(spiky, 500, at=NOW - timedelta(hours=2))  # outside every window
    assert subjects(make_rule(Kind.BOUNCE_SPIKE)) == {("spiky", "")}
    assert subjects(make_rule(Kind.BOUNCE_SPIKE, min_count=26)) == set()


def test_a_zero_median_counts_as_one_so_min_count_decides(subusers):
    spiky, _, _ = subusers
    add_bounces(spiky, 20, at=NOW - timedelta(minutes=1))
    assert subjects(make_rule(Kind.BOUNCE_SPIKE, min_count=20, factor=3)) == {("spiky", "")}
    assert subjects(make_rule(Kind.BOUNCE_SPIKE, min_count=20, factor=25)) == set()


def test_a_rule_watches_only_its_chosen_subusers(subusers):
    spiky, steady, _ = subusers
    add_bounces(spiky, 30, at=NOW - timedelta(minutes=1))
    add_bounces(steady, 30, at=NOW - timedelta(minutes=1))
    assert subjects(make_rule(Kind.BOUNCE_SPIKE, subusers=[steady])) == {("steady", "")}


def test_a_disabled_subuser_is_not_watched_unless_chosen(subusers):
    spiky, _, _ = subusers
    spiky.enabled = False
    spiky.save()
    add_bounces(spiky, 30, at=NOW - timedelta(minutes=1))
    assert subjects(make_rule(Kind.BOUNCE_SPIKE)) == set()
    assert subjects(make_rule(Kind.BOUNCE_SPIKE, subusers=[spiky])) == {("spiky", "")}


def test_classification_spike_fires_for_that_classification_only(subusers):
    spiky, steady, small = subusers
    rep = {"classification": Classification.REPUTATION, "fault": Fault.SENDER}
    for subuser in (spiky, steady):
        add_baseline(subuser, 5, **rep)
        add_baseline(subuser, 30)  # Invalid Address: recipients' churn, steady
    add_bounces(spiky, 30, at=NOW - timedelta(minutes=2), **rep)  # Reputation 6x
    add_bounces(steady, 6, at=NOW - timedelta(minutes=2), **rep)
    add_bounces(small, 5, at=NOW - timedelta(minutes=2), **rep)
    add_bounces(small, 90, at=NOW - timedelta(minutes=2))  # Invalid Address: not watched
    rule = make_rule(Kind.CLASSIFICATION_SPIKE)
    [finding] = rule_findings(rule, now=NOW)
    assert (finding.details["subuser"], finding.subject) == ("spiky", "Reputation")
    assert finding.details["classification"] == "Reputation"
    assert (finding.value, finding.baseline) == (30, 5)
    # A rule naming its classifications watches those.
    named = make_rule(Kind.CLASSIFICATION_SPIKE, classifications=["Invalid Address"])
    assert subjects(named) == {("small", "Invalid Address")}


def test_domain_spike_fires_at_one_receiving_domain(subusers):
    spiky, steady, small = subusers
    for subuser in (spiky, steady):
        add_baseline(subuser, 4, domain="gmail.com")
        add_baseline(subuser, 4, domain="yahoo.com")
    add_bounces(spiky, 40, at=NOW - timedelta(minutes=2), domain="gmail.com")
    add_bounces(spiky, 4, at=NOW - timedelta(minutes=2), domain="yahoo.com")
    add_bounces(steady, 5, at=NOW - timedelta(minutes=2), domain="gmail.com")
    add_bounces(small, 6, at=NOW - timedelta(minutes=2), domain="outlook.com")
    [finding] = rule_findings(make_rule(Kind.DOMAIN_SPIKE), now=NOW)
    assert (finding.details["subuser"], finding.subject) == ("spiky", "gmail.com")
    assert finding.details["domain"] == "gmail.com"
    assert (finding.value, finding.baseline) == (40, 4)


def test_the_domain_is_what_follows_the_first_at_sign(subusers):
    spiky, _, _ = subusers
    add_bounces(spiky, 25, at=NOW - timedelta(minutes=2), domain="odd@mx.example")
    assert subjects(make_rule(Kind.DOMAIN_SPIKE)) == {("spiky", "odd@mx.example")}


def test_sender_fault_share_fires_on_a_jump(subusers):
    spiky, steady, small = subusers
    sender = {"classification": Classification.REPUTATION, "fault": Fault.SENDER}
    for subuser in (spiky, steady):
        add_baseline(subuser, 18)
        add_baseline(subuser, 2, **sender)  # 10% the sender's
    add_bounces(spiky, 18, at=NOW - timedelta(minutes=2))
    add_bounces(spiky, 22, at=NOW - timedelta(minutes=2), **sender)  # 55%: 45 points up
    add_bounces(steady, 36, at=NOW - timedelta(minutes=2))
    add_bounces(steady, 4, at=NOW - timedelta(minutes=2), **sender)  # 10%: the same
    add_bounces(small, 9, at=NOW - timedelta(minutes=2), **sender)  # 100%, but 9
    rule = make_rule(Kind.SENDER_FAULT_SHARE, min_count=20, share_jump=0.3)
    [finding] = rule_findings(rule, now=NOW)
    assert finding.details["subuser"] == "spiky"
    assert finding.details["fault"] == "sender"
    assert (finding.value, finding.baseline) == (0.55, 0.1)
    assert "55% of 40 bounces" in finding.summary


def make_run(subuser, outcome, minutes_ago, *, list="bounces", error=""):
    return RefreshRun.objects.create(
        subuser=subuser, kind="incremental", started_at=NOW - timedelta(minutes=minutes_ago),
        finished_at=NOW - timedelta(minutes=minutes_ago - 1), outcome=outcome, list=list,
        error=error,
    )  # fmt: skip


def test_refresh_failures_fire_after_n_failures_in_a_row(subusers):
    spiky, steady, small = subusers
    make_run(spiky, "ok", 100)
    for minutes in (60, 45, 30):
        make_run(spiky, "failed", minutes, error=f"HTTP 401 at {minutes}")
    make_run(spiky, "running", 5)  # neither
    make_run(spiky, "ok", 1, list="blocks")  # another list's run
    for minutes in (60, 45, 30):
        make_run(steady, "failed" if minutes != 45 else "ok", minutes)
    for minutes in (60, 45):
        make_run(small, "failed", minutes)  # only two ever
    [finding] = rule_findings(make_rule(Kind.REFRESH_FAILURES, failures_in_row=3), now=NOW)
    assert finding.details["subuser"] == "spiky"
    assert finding.since == NOW - timedelta(minutes=60)
    assert finding.details["last_error"] == "HTTP 401 at 30"
    assert subjects(make_rule(Kind.REFRESH_FAILURES, failures_in_row=2)) == {
        ("spiky", ""), ("small", "")
    }  # fmt: skip


def test_webhook_silent_fires_for_a_receiving_endpoint_only(subusers):
    spiky, steady, small = subusers
    quiet, never, off = make_subuser("quiet"), make_subuser("never"), make_subuser("off")
    make_set_up(spiky, last_delivery_at=NOW - timedelta(hours=5))  # silent 300 minutes
    make_set_up(steady, last_delivery_at=NOW - timedelta(minutes=3))
    make_set_up(small, set_up_at=NOW - timedelta(hours=1))  # new, nothing yet: fine
    make_set_up(quiet, set_up_at=NOW - timedelta(days=2))  # never a delivery in two days
    make_set_up(never, set_up_at=NOW - timedelta(days=2), signing=False)  # not receiving
    make_set_up(off, last_delivery_at=NOW - timedelta(days=2), enabled=False)
    rule = make_rule(Kind.WEBHOOK_SILENT, silent_minutes=240)
    found = {f.details["subuser"]: f for f in rule_findings(rule, now=NOW)}
    assert set(found) == {"spiky", "quiet"}
    assert (found["spiky"].value, found["spiky"].baseline) == (300, 240)
    assert found["spiky"].since == NOW - timedelta(hours=5)


def test_the_spikes_take_a_fixed_number_of_queries(subusers, django_assert_max_num_queries):
    for subuser in subusers:
        add_baseline(subuser, 3, domain="a.example")
        add_bounces(subuser, 30, at=NOW - timedelta(minutes=1), domain="b.example")
    rules = [make_rule(kind) for kind in (Kind.BOUNCE_SPIKE, Kind.CLASSIFICATION_SPIKE,
                                          Kind.DOMAIN_SPIKE, Kind.SENDER_FAULT_SHARE)]  # fmt: skip
    for rule in rules:
        with django_assert_max_num_queries(3):  # the rule's subusers, all subusers, the counts
            rule_findings(rule, now=NOW)
