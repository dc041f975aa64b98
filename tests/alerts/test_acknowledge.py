"""Acknowledging an alert with a comment: by a requester or above, audited with before and after,
a clear message (never an error) for an alert no longer open or a missing comment, the comment
escaped where it is shown."""

import pytest

from bounceadmin.alerts.acknowledge import AcknowledgeError, alert_acknowledge
from bounceadmin.alerts.models import Alert
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser, make_user

from .alert_support import make_alert

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_acknowledging_records_who_when_and_why_and_audits_it(client):
    alert = make_alert(make_subuser("acme"))
    user = make_user(role="requester")
    client.force_login(user)

    response = client.post(
        f"/alerts/{alert.pk}/acknowledge/", {"comment": "  Looking at the DNS change.  "},
        follow=True,
    )  # fmt: skip

    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED
    assert alert.acknowledged_by == user and alert.acknowledged_at is not None
    assert alert.ack_comment == "Looking at the DNS change."
    assert f"Acknowledged alert #{alert.pk}." in messages_of(response)
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_ACKNOWLEDGED)
    assert (event.actor, event.subuser) == (user, "acme")
    assert event.details["alert"] == alert.pk
    assert event.details["before"] == {"state": "open", "acknowledged_at": None,
                                       "acknowledged_by": None, "ack_comment": ""}  # fmt: skip
    assert event.details["after"]["state"] == "acknowledged"
    assert event.details["after"]["acknowledged_by"] == user.username
    assert event.details["after"]["ack_comment"] == "Looking at the DNS change."
    # The alert's page shows the acknowledgement and its audit event.
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "acknowledged by operator" in page and "Alert acknowledged" in page


@pytest.mark.parametrize("comment", ["", "   ", "x" * 2001])
def test_acknowledging_needs_a_comment_of_reasonable_length(client, comment):
    alert = make_alert(make_subuser())
    client.force_login(make_user(role="requester"))

    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"comment": comment}, follow=True)

    assert response.status_code == 200
    assert messages_of(response)  # says what is missing
    alert.refresh_from_db()
    assert alert.state == Alert.State.OPEN
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_ACKNOWLEDGED).exists()


@pytest.mark.parametrize(
    ("state", "says"),
    [(Alert.State.ACKNOWLEDGED, "already acknowledged"), (Alert.State.RESOLVED, "is resolved")],
)
def test_acknowledging_an_alert_no_longer_open_is_a_message(client, state, says):
    alert = make_alert(make_subuser(), state=state)
    client.force_login(make_user(role="requester"))

    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"comment": "me too"}, follow=True)

    assert response.status_code == 200
    assert any(says in m for m in messages_of(response))
    alert.refresh_from_db()
    assert alert.state == state and alert.ack_comment == ""
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_ACKNOWLEDGED).exists()


def test_acknowledge_service_refuses_without_the_role_or_outside_the_scope():
    acme, other = make_subuser("acme"), make_subuser("other")
    alert = make_alert(other)

    with pytest.raises(AcknowledgeError, match="requester"):
        alert_acknowledge(alert=alert, user=make_user("v", role="viewer"), comment="x")
    with pytest.raises(AcknowledgeError, match="No such alert"):
        alert_acknowledge(
            alert=alert, user=make_user("r", role="requester", subusers=[acme]), comment="x"
        )
    alert.refresh_from_db()
    assert alert.state == Alert.State.OPEN


def test_acknowledge_only_by_post(client):
    alert = make_alert(make_subuser())
    client.force_login(make_user(role="requester"))

    assert client.get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405


def test_the_comment_is_shown_escaped(client):
    alert = make_alert(make_subuser())
    client.force_login(make_user(role="approver"))
    client.post(f"/alerts/{alert.pk}/acknowledge/", {"comment": "<b onmouseover=x()>hi</b>"})

    html = client.get(f"/alerts/{alert.pk}/").content.decode()

    assert "<b onmouseover" not in html and "&lt;b onmouseover=x()&gt;hi&lt;/b&gt;" in html
