"""/alerts/ and an alert's page: current alerts (open, then acknowledged) before past ones, the
filters, per-subuser scoping, roles, untrusted text escaped, the navigation's count, and a fixed
number of queries however many alerts."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.alerts.models import Alert
from tests.support.factories import make_subuser, make_user

from .alert_support import make_alert, make_rule

pytestmark = pytest.mark.django_db


def listed(response, section: str) -> list[int]:
    """The alert numbers of one section of the list page ("current" or "past"), in order."""
    rows = response.context[section]
    return [a.pk for a in rows]


def test_alert_list_shows_open_then_acknowledged_then_past(client):
    sub = make_subuser()
    now = timezone.now()
    old_open = make_alert(sub, rule=make_rule("a"), since=now - timedelta(hours=5))
    acked = make_alert(sub, rule=make_rule("b"), state=Alert.State.ACKNOWLEDGED,
                       since=now - timedelta(minutes=5))  # fmt: skip
    new_open = make_alert(sub, rule=make_rule("c"), since=now - timedelta(hours=1))
    resolved = make_alert(sub, rule=make_rule("d"), state=Alert.State.RESOLVED,
                          since=now - timedelta(days=2))  # fmt: skip
    client.force_login(make_user())

    response = client.get("/alerts/")

    assert response.status_code == 200
    assert listed(response, "current") == [new_open.pk, old_open.pk, acked.pk]
    assert [a.pk for a in response.context["past_rows"]] == [resolved.pk]
    html = response.content.decode()
    assert (
        html.index(f"#{new_open.pk}") < html.index(f"#{acked.pk}") < html.index(f"#{resolved.pk}")
    )


def test_alert_list_filters_by_state_and_subuser_and_ignores_nonsense(client):
    acme, other = make_subuser("acme"), make_subuser("other")
    a = make_alert(acme, rule=make_rule("a"))
    b = make_alert(other, rule=make_rule("b"))
    r = make_alert(acme, rule=make_rule("c"), state=Alert.State.RESOLVED)
    client.force_login(make_user())

    by_subuser = client.get("/alerts/", {"subuser": "acme"})
    resolved = client.get("/alerts/", {"state": "resolved"})
    open_ = client.get("/alerts/", {"state": "open", "subuser": "other"})
    nonsense = client.get("/alerts/", {"state": "<x>", "subuser": "nobody", "page": "-1"})

    assert listed(by_subuser, "current") == [a.pk]
    assert [x.pk for x in by_subuser.context["past_rows"]] == [r.pk]
    assert listed(resolved, "current") == [] and [x.pk for x in resolved.context["past_rows"]] == [
        r.pk
    ]
    assert listed(open_, "current") == [b.pk] and list(open_.context["past_rows"]) == []
    assert nonsense.status_code == 200 and sorted(listed(nonsense, "current")) == [a.pk, b.pk]


def test_past_alerts_are_paginated(client):
    sub = make_subuser()
    now = timezone.now()
    rule = make_rule()
    for i in range(55):
        make_alert(sub, rule=rule, state=Alert.State.RESOLVED, since=now - timedelta(hours=i))
    client.force_login(make_user())

    first = client.get("/alerts/")
    second = client.get("/alerts/", {"page": 2})

    assert len(first.context["past_rows"]) == 50 and len(second.context["past_rows"]) == 5
    assert "page=2" in first.content.decode()


def test_scoped_viewer_sees_only_their_subusers_alerts(client):
    acme, other = make_subuser("acme"), make_subuser("other")
    mine = make_alert(acme, rule=make_rule("a"))
    theirs = make_alert(other, rule=make_rule("b"))
    client.force_login(make_user(subusers=[acme], role="requester"))

    response = client.get("/alerts/")

    assert listed(response, "current") == [mine.pk]
    assert response.context["subusers"] == ["acme"]
    assert client.get(f"/alerts/{mine.pk}/").status_code == 200
    assert client.get(f"/alerts/{theirs.pk}/").status_code == 404
    refused = client.post(f"/alerts/{theirs.pk}/acknowledge/", {"comment": "mine now"})
    assert refused.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == Alert.State.OPEN


def test_alert_pages_need_login_and_a_role(client):
    alert = make_alert(make_subuser())

    assert client.get("/alerts/").status_code == 302
    assert client.get(f"/alerts/{alert.pk}/").status_code == 302
    client.force_login(make_user(role=None))
    assert client.get("/alerts/").status_code == 403
    assert client.get(f"/alerts/{alert.pk}/").status_code == 403
    assert client.get("/alerts/999999999999999999999/").status_code == 404


def test_viewer_sees_an_alert_but_may_not_acknowledge_it(client):
    alert = make_alert(make_subuser())
    client.force_login(make_user(role="viewer"))

    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    refused = client.post(f"/alerts/{alert.pk}/acknowledge/", {"comment": "on it"})

    assert "Acknowledge</button>" not in page
    assert "Request removal of these bounces" not in page
    assert refused.status_code == 403
    alert.refresh_from_db()
    assert alert.state == Alert.State.OPEN


def test_alert_text_from_upstream_is_escaped(client):
    sub = make_subuser()
    alert = make_alert(
        sub, subject="<img src=x onerror=alert(1)>.example", summary="<script>x()</script> spike"
    )
    client.force_login(make_user())

    for url in ("/alerts/", f"/alerts/{alert.pk}/"):
        html = client.get(url).content.decode()
        assert "<script>x()" not in html and "<img src=x" not in html
        assert "&lt;script&gt;x()&lt;/script&gt;" in html


def test_alert_page_links_to_the_incidents_bounces(client):
    sub = make_subuser("acme")
    since = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    alert = make_alert(
        sub,
        details={"subuser": "acme", "domain": "gmail.com", "since": since.isoformat(),
                 "until": (since + timedelta(hours=1)).isoformat(), "ignored": ["x"]},
    )  # fmt: skip
    client.force_login(make_user())

    html = client.get(f"/alerts/{alert.pk}/").content.decode()

    [href] = re.findall(r'href="(/bounces/\?[^"]*)"', html)
    assert href.startswith("/bounces/?subuser=acme&amp;domain=gmail.com&amp;since=")
    assert "ignored" not in href and "&amp;until=" in href


def test_navigation_counts_the_open_alerts_the_user_may_see(client):
    acme, other = make_subuser("acme"), make_subuser("other")
    make_alert(acme, rule=make_rule("a"))
    make_alert(acme, rule=make_rule("b"), state=Alert.State.ACKNOWLEDGED)
    make_alert(other, rule=make_rule("c"))
    client.force_login(make_user(subusers=[acme]))

    html = client.get("/bounces/").content.decode()

    assert re.search(r'Alerts <span class="nav-count" title="1 open alert">1<', html)


def test_alert_list_queries_do_not_grow_with_alerts(client):
    client.force_login(make_user())
    subs = [make_subuser(f"s{i}") for i in range(6)]
    make_alert(subs[0], rule=make_rule("r0"))
    make_alert(subs[0], rule=make_rule("p0"), state=Alert.State.RESOLVED)
    with CaptureQueriesContext(connection) as few:
        client.get("/alerts/")
    for i, sub in enumerate(subs):
        make_alert(sub, rule=make_rule(f"r{i + 1}"))
        make_alert(sub, rule=make_rule(f"p{i + 1}"), state=Alert.State.ACKNOWLEDGED)
        make_alert(sub, rule=make_rule(f"q{i + 1}"), state=Alert.State.RESOLVED)
    with CaptureQueriesContext(connection) as many:
        client.get("/alerts/")

    assert len(many) == len(few)


def test_alert_page_says_what_selects_the_incident(client):
    alert = make_alert(make_subuser("acme"), details={"domain": "<b>x.test</b>", "fault": "sender"})
    client.force_login(make_user())

    html = client.get(f"/alerts/{alert.pk}/").content.decode()

    assert "domain <code>&lt;b&gt;x.test&lt;/b&gt;</code> · fault <code>sender</code>" in html


def test_alert_page_words_the_value_and_lists_its_whole_audit_trail(client):
    """The value in the rule's terms (a share as a percentage), and the evaluation's own audit
    events (opened, resolved) beside the acknowledgement."""
    from bounceadmin.alerts.acknowledge import alert_acknowledge
    from bounceadmin.audit.models import AuditEvent
    from bounceadmin.audit.services import audit_record

    acme = make_subuser("acme")
    rule = make_rule("Share jump", kind="sender_fault_share")
    alert = make_alert(acme, rule=rule, value=0.75, baseline=0.1)
    audit_record(
        AuditEvent.Action.ALERT_OPENED, subuser="acme",
        details={"alert": alert.pk, "rule": rule.name, "before": None, "after": {}},
    )  # fmt: skip
    rita = make_user("rita", role="requester")
    alert_acknowledge(alert=alert, user=rita, comment="on it")
    client.force_login(rita)

    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    listing = client.get("/alerts/").content.decode()

    worded = "75% of bounces are the sender&#x27;s fault, against 10%"
    assert worded in html and worded in listing
    assert "Alert opened" in html and "Alert acknowledged" in html
