"""An operator limited to one subuser never sees another's data, on any page or export."""

import csv
import io
import json

import pytest

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Bounce, RefreshRun
from bounceadmin.deletions import services
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

SECRET = "hidden-beta"


@pytest.fixture
def world(client):
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    for i in range(3):
        make_bounce(alpha, f"shared{i}@example.com")
        make_bounce(beta, f"shared{i}@example.com", reason=f"550 {SECRET} reason")
        make_bounce(beta, f"{SECRET}{i}@example.com", reason=f"550 {SECRET} reason")
    RefreshRun.objects.create(subuser=beta, kind="full", started_at="2026-01-01T00:00Z",
                              outcome="failed", error=f"{SECRET} failure")  # fmt: skip
    boss = make_user("boss", role="approver")
    requester = make_user("rita", role="requester")
    beta_request = services.deletion_request_create(
        user=requester, bounces=Bounce.objects.filter(subuser=beta), justification=SECRET
    )[0]
    alpha_request = services.deletion_request_create(
        user=requester, bounces=Bounce.objects.filter(subuser=alpha), justification="alpha only"
    )[0]
    audit_record(AuditEvent.Action.REFRESH_FAILED, subuser="beta", details={"error": SECRET})
    scoped = make_user("sam", role="approver", subusers=[alpha])
    client.force_login(scoped)
    return {"alpha": alpha, "beta": beta, "beta_request": beta_request,
            "alpha_request": alpha_request, "boss": boss}  # fmt: skip


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/?days=90",
        "/bounces/",
        "/bounces/?removed=1",
        "/bounces/?email=%25hidden",
        "/bounces/?email=shared0",
        "/bounces/?subuser=beta",
        "/bounces/export.csv",
        "/bounces/export.csv?format=json",
        "/bounces/export.csv?subuser=beta",
        "/deletions/",
        "/audit/",
        "/audit/export.csv",
    ],
)
def test_scoped_operator_never_sees_another_subusers_data(client, world, url):
    response = client.get(url)

    # Asking to export another subuser's list is an invalid filter: 400, saying so.
    assert response.status_code == (400 if url.startswith("/bounces/export.csv?subuser") else 200)
    text = body(response)
    assert SECRET not in text
    if "beta" not in url:  # a page may echo the operator's own query back
        assert "beta" not in text


def test_scoped_operator_lists_and_exports_only_their_rows(client, world):
    listed = client.get("/bounces/", {"per_page": 100}).context["table"].page.object_list.data
    exported = list(csv.DictReader(io.StringIO(body(client.get("/bounces/export.csv")))))
    items = json.loads(body(client.get("/bounces/export.csv", {"format": "json"})))

    assert {b.subuser.username for b in listed} == {"alpha"}
    assert {r["subuser"] for r in exported} == {"alpha"} and len(exported) == 3
    assert {i["subuser"] for i in items} == {"alpha"}


def test_scoped_operator_gets_404_for_other_subusers_objects(client, world):
    beta_bounce = Bounce.objects.filter(subuser=world["beta"]).first()
    request = world["beta_request"]

    assert client.get(f"/bounces/{beta_bounce.pk}/").status_code == 404
    assert client.get(f"/deletions/{request.pk}/").status_code == 404
    assert client.post(f"/deletions/{request.pk}/approve/").status_code == 404
    assert client.post(f"/deletions/{request.pk}/reject/", {"comment": "x"}).status_code == 404
    assert client.post("/deletions/approve-subuser/", {"subuser": "beta"}).status_code == 404
    assert client.post("/refresh/", {"subuser": "beta"}).status_code == 404
    request.refresh_from_db()
    assert request.state == "pending"


def test_scoped_operator_cannot_request_other_subusers_bounces(client, world):
    beta_ids = list(Bounce.objects.filter(subuser=world["beta"]).values_list("pk", flat=True))
    query = "&".join(f"bounce={i}" for i in beta_ids)

    response = client.post(f"/deletions/new/?{query}", {"justification": "x"}, follow=True)
    by_filter = client.post("/deletions/new/?scope=filter&subuser=beta", {"justification": "x"},
                            follow=True)  # fmt: skip

    assert world["beta"].deletion_requests.count() == 1  # only the fixture's
    assert "no address" in response.content.decode() or "not valid" in response.content.decode()
    assert by_filter.status_code == 200


def test_scoped_operator_sees_their_own_subusers_things(client, world):
    queue = body(client.get("/deletions/"))
    detail = client.get(f"/deletions/{world['alpha_request'].pk}/")

    assert "alpha only" in queue
    assert detail.status_code == 200


def test_refresh_all_by_scoped_operator_queues_only_their_subusers(client, world):
    client.post("/refresh/")

    world["alpha"].refresh_from_db()
    world["beta"].refresh_from_db()
    assert world["alpha"].refresh_queued_at is not None
    assert world["beta"].refresh_queued_at is None


def test_unscoped_operator_sees_everything(client, world):
    client.force_login(world["boss"])

    assert SECRET in body(client.get("/bounces/export.csv"))
    assert SECRET in body(client.get("/deletions/"))


def test_user_without_operator_record_sees_nothing(client, world):
    client.force_login(make_user("ghost", role="viewer", subusers=[]))

    assert "shared0" not in body(client.get("/bounces/export.csv"))


@pytest.mark.parametrize(
    "url",
    ["/", "/bounces/", "/bounces/export.csv", "/deletions/", "/deletions/new/?bounce=1",
     "/audit/", "/audit/export.csv"],
)  # fmt: skip
def test_user_without_a_role_is_refused(client, world, url):
    client.force_login(make_user("norole", role=None))

    assert client.get(url).status_code == 403


def test_django_admin_is_scoped_too(client, world):
    admin_user = make_user("adam", role="admin", subusers=[world["alpha"]], is_staff=True)
    client.force_login(admin_user)

    listing = client.get("/admin/bounces/bounce/")

    assert listing.status_code == 200
    assert SECRET not in listing.content.decode()
