"""The audit log names its objects: each event links to its request, refresh run, operator,
subuser and addresses; "Refresh now" is recorded with the operator who clicked it."""

import pytest

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


def test_refresh_now_is_recorded_with_the_operator_who_clicked_it(client):
    make_subuser("acme")
    make_subuser("globex")
    client.force_login(make_user("rita", role="requester"))

    client.post("/refresh/", {"subuser": "acme"})
    client.post("/refresh/", {"full": "1"})

    events = AuditEvent.objects.filter(action="refresh.requested").order_by("id")
    got = [(e.actor_name, e.subuser, e.details["kind"]) for e in events]
    assert got == [("rita", "acme", "incremental"), ("rita", "acme", "full"),
                   ("rita", "globex", "full")]  # fmt: skip
    page = client.get("/audit/", {"action": "refresh.requested"}).content.decode()
    assert "Refresh requested" in page and "rita" in page


def test_audit_events_link_to_their_request_subuser_and_addresses(client):
    acme = make_subuser("acme")
    make_bounce(acme, "a@example.com")
    client.force_login(make_user("rita", role="requester"))
    client.post(f"/deletions/new/?bounce={Bounce.objects.get().pk}", {"justification": "x"})
    deletion = DeletionRequest.objects.get()
    client.force_login(make_user("vera", role="viewer"))

    page = client.get("/audit/", {"action": "deletion.requested"}).content.decode()
    partial = client.get(f"/deletions/{deletion.pk}/").content.decode()

    for html in (page, partial):
        assert f'<a href="/deletions/{deletion.pk}/">request #{deletion.pk}</a>' in html
        assert '<a href="/bounces/?subuser=acme">acme</a>' in html
        assert 'href="/bounces/?email=a%40example.com&amp;removed=1&amp;subuser=acme"' in html


def test_operator_events_link_to_the_operators_actions(client):
    make_user("ada", role="admin")  # audited as operator.created
    client.force_login(make_user("vera", role="viewer"))

    page = client.get("/audit/", {"action": "operator.created"}).content.decode()

    assert 'operator <a href="/audit/?actor=ada">ada</a>' in page
