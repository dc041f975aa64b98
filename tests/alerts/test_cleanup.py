"""Clean-up from an incident: an alert on sender-fault bounces offers "Request removal of these
bounces", the deletion preview of exactly the incident's bounces (its subuser, classification,
receiving domain and window, each bound exact), only to those who may request deletions; the
request made from it holds exactly those addresses and waits for an approver."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from bounceadmin.alerts.incident import cleanup_url
from bounceadmin.bounces.classification import Classification, Fault
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

from .alert_support import incident_alert, make_alert

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=1)
REPUTATION = ("5.7.1", "554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org")
INVALID = ("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist.")
BUTTON = "Request removal of these bounces"


def reputation(subuser, email, created, **kwargs):
    bounce = make_bounce(subuser, email, status=REPUTATION[0], reason=REPUTATION[1],
                         created=created, **kwargs)  # fmt: skip
    assert (bounce.classification, bounce.fault) == (Classification.REPUTATION, Fault.SENDER)
    return bounce


def incident_rows():
    """Bounces inside the incident and just outside each of its bounds; returns (alert, the
    addresses inside)."""
    acme, other = make_subuser("acme"), make_subuser("other")
    inside = [
        reputation(acme, "first@gmail.com", SINCE),  # since is inclusive
        reputation(acme, "middle@gmail.com", SINCE + timedelta(minutes=30)),
        reputation(acme, "last@gmail.com", UNTIL - timedelta(seconds=1)),
    ]
    reputation(acme, "before@gmail.com", SINCE - timedelta(seconds=1))
    reputation(acme, "at-until@gmail.com", UNTIL)  # until is exclusive
    reputation(acme, "other-domain@yahoo.com", SINCE + timedelta(minutes=5))
    reputation(acme, "sub@mx.gmail.com", SINCE + timedelta(minutes=5))
    reputation(acme, "gone@gmail.com", SINCE + timedelta(minutes=5), removed=True)
    reputation(other, "other-subuser@gmail.com", SINCE + timedelta(minutes=5))
    make_bounce(acme, "invalid@gmail.com", status=INVALID[0], reason=INVALID[1],
                created=SINCE + timedelta(minutes=5))  # fmt: skip
    alert = incident_alert(acme, classification=Classification.REPUTATION, domain="gmail.com",
                           since=SINCE, until=UNTIL)  # fmt: skip
    return alert, sorted(b.email for b in inside)


def test_cleanup_preview_is_exactly_the_incidents_bounces(client):
    alert, inside = incident_rows()
    client.force_login(make_user(role="requester"))

    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    url = cleanup_url(alert)
    preview = client.get(url).context["preview"]

    assert BUTTON in page and url.replace("&", "&amp;") in page
    assert urlsplit(url).path == "/deletions/new/"
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "scope": "filter", "subuser": "acme", "classification": "Reputation",
        "domain": "gmail.com", "since": SINCE.isoformat(), "until": UNTIL.isoformat(),
    }  # fmt: skip
    assert preview.total == len(inside)
    assert sorted(b.email for s in preview.subusers for b in s.sample) == inside


def test_the_request_from_the_cleanup_holds_exactly_them_and_waits_for_an_approver(client):
    alert, inside = incident_rows()
    user = make_user(role="approver")
    client.force_login(user)

    response = client.post(cleanup_url(alert), {"justification": "Spamhaus listing fixed"})

    [request] = DeletionRequest.objects.all()
    assert response.status_code == 302
    assert request.state == DeletionRequest.State.PENDING and request.requested_by == user
    assert sorted(request.items.values_list("email", flat=True)) == inside
    assert "domain=gmail.com" in request.selection


@pytest.mark.parametrize(
    ("details", "offered"),
    [
        ({"classification": "Reputation"}, True),
        ({"classification": "Content"}, True),
        ({"classification": "Frequency or Volume Too High"}, True),
        ({"fault": "sender"}, True),
        ({"classification": "Technical Failure", "fault": "sender"}, True),
        ({"classification": "Technical Failure"}, False),
        ({"classification": "Invalid Address"}, False),
        ({"fault": "recipient"}, False),
        ({}, False),
        ({"classification": ["Reputation"]}, False),  # not what an evaluation writes
    ],
)
def test_cleanup_is_offered_for_sender_fault_incidents_only(client, details, offered):
    sub = make_subuser("acme")
    alert = make_alert(sub, details={"subuser": "acme", **details})
    client.force_login(make_user(role="requester"))

    page = client.get(f"/alerts/{alert.pk}/").content.decode()

    assert (BUTTON in page) is offered
    assert (cleanup_url(alert) is not None) is offered


def test_cleanup_with_fault_in_the_details_filters_by_fault():
    alert = make_alert(make_subuser("acme"), details={"fault": "sender", "domain": "x.test"})

    query = dict(parse_qsl(urlsplit(cleanup_url(alert)).query))

    assert query == {"scope": "filter", "subuser": "acme", "domain": "x.test", "fault": "sender"}


def test_cleanup_is_not_offered_to_viewers(client):
    alert, _ = incident_rows()
    client.force_login(make_user(role="viewer"))

    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    listing = client.get("/alerts/").content.decode()

    assert BUTTON not in page and "/deletions/new/" not in page and "/deletions/new/" not in listing
    assert client.get(cleanup_url(alert)).status_code == 403
