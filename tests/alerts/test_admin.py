"""The rules in Django admin: who may change them, the validation of nonsense values, the audit
of a change; the alerts listed read-only and scoped."""

import pytest

from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.audit.models import AuditEvent
from tests.support.adminforms import submit
from tests.support.factories import make_subuser, make_user

from .helpers import NOW, make_rule

pytestmark = pytest.mark.django_db
ADD = "/admin/alerts/alertrule/add/"


def change_url(rule) -> str:
    return f"/admin/alerts/alertrule/{rule.pk}/change/"


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("boss", role="admin", is_staff=True))
    return client


def test_an_admin_who_sees_every_subuser_adds_a_rule_audited(admin_client):
    acme = make_subuser("acme")
    response = submit(admin_client, ADD, name="Reputation at acme", kind="classification_spike",
                      subusers=[acme.pk], classifications=["Reputation"], factor="4",
                      min_count="10")  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AlertRule.objects.get(name="Reputation at acme")
    assert (rule.classifications, rule.factor, list(rule.subusers.all())) == (
        ["Reputation"], 4.0, [acme]
    )  # fmt: skip
    event = AuditEvent.objects.get(action="alert.rule_changed")
    assert event.actor_name == "boss"
    assert event.details["before"] is None
    assert event.details["after"]["subusers"] == ["acme"]


def test_a_change_is_audited_with_before_and_after(admin_client):
    rule = make_rule("bounce_spike", name="Spikes", factor=3.0)
    response = submit(admin_client, change_url(rule), factor="5")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="alert.rule_changed")
    assert event.details == {"rule": "Spikes", "before": {"factor": 3.0},
                             "after": {"factor": 5.0}}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("factor", "1"), ("factor", "0.5"), ("window_minutes", "0"), ("window_minutes", "2000"),
     ("baseline_days", "0"), ("min_count", "0"), ("share_jump", "0"), ("share_jump", "1.5"),
     ("failures_in_row", "0"), ("silent_minutes", "0"), ("factor", "nan"),
     ("classifications", "Not a classification")],
)  # fmt: skip
def test_nonsense_values_are_refused(admin_client, field, value):
    rule = make_rule("bounce_spike", name="Spikes")
    response = submit(admin_client, change_url(rule), **{field: value})
    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    rule.refresh_from_db()
    assert getattr(rule, field) != value
    assert not AuditEvent.objects.filter(action="alert.rule_changed").exists()


def test_the_form_says_which_kind_reads_which_field(admin_client):
    page = admin_client.get(ADD).content.decode()
    for section in ("Spikes and the sender-fault share", "Classification spike",
                    "Sender-fault share", "Refresh failures", "Webhook silent"):  # fmt: skip
        assert section in page
    assert "Refresh failures: fire when this many bounce refreshes in a row failed." in page


def test_a_scoped_admin_or_a_viewer_cannot_reach_the_rules(client):
    acme = make_subuser("acme")
    rule = make_rule("bounce_spike", name="Spikes")
    client.force_login(make_user("scoped", role="admin", is_staff=True, subusers=[acme]))
    assert client.get(change_url(rule)).status_code in (302, 403)
    assert client.get(ADD).status_code == 403
    assert "alertrule" not in client.get("/admin/").content.decode()
    client.force_login(make_user("viewer", role="viewer"))
    assert client.get(change_url(rule)).status_code == 302  # to the admin's login


def test_alerts_are_listed_read_only_and_scoped(client):
    acme, beta = make_subuser("acme"), make_subuser("beta")
    rule = make_rule("bounce_spike", name="Spikes")
    for subuser in (acme, beta):
        Alert.objects.create(rule=rule, kind=rule.kind, subuser=subuser, summary=f"at {subuser}",
                             since=NOW, opened_at=NOW, last_seen_at=NOW)  # fmt: skip
    client.force_login(make_user("scoped", role="admin", is_staff=True, subusers=[acme]))
    page = client.get("/admin/alerts/alert/")
    assert page.status_code == 200
    assert "at acme" in page.content.decode() and "at beta" not in page.content.decode()
    beta_alert = Alert.objects.get(subuser=beta)
    assert client.get(f"/admin/alerts/alert/{beta_alert.pk}/change/").status_code == 302
    acme_alert = Alert.objects.get(subuser=acme)
    response = client.post(f"/admin/alerts/alert/{acme_alert.pk}/change/", {"state": "resolved"})
    assert response.status_code == 403
    assert client.post(f"/admin/alerts/alert/{acme_alert.pk}/delete/", {"post": "yes"}
                       ).status_code == 403  # fmt: skip
    assert Alert.objects.get(pk=acme_alert.pk).state == "open"
