import pytest

from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    for i in range(5):
        make_bounce(alpha, f"a{i}@example.com", status="5.7.1", reason="554 5.7.1 spamhaus")
        make_bounce(beta, f"b{i}@example.com")
    make_bounce(alpha, "old@example.com", removed=True)
    return {"alpha": alpha, "beta": beta}


def login(client, username, role, **kw):
    user = make_user(username, role=role, **kw)
    client.force_login(user)
    return user


def test_detail_page_offers_request_deletion_to_requesters_only(client, data):
    bounce = Bounce.objects.get(email="a1@example.com")
    login(client, "vera", "viewer")
    assert "Request deletion" not in client.get(f"/bounces/{bounce.pk}/").content.decode()

    client.force_login(make_user("rita", role="requester"))
    html = client.get(f"/bounces/{bounce.pk}/").content.decode()
    assert "Request deletion" in html


def test_request_one_address_from_preview_to_pending(client, data):
    requester = login(client, "rita", "requester")
    bounce = Bounce.objects.get(email="a1@example.com")

    preview = client.get("/deletions/new/", {"bounce": bounce.pk})
    assert preview.status_code == 200
    assert "a1@example.com" in preview.content.decode()
    missing = client.post(f"/deletions/new/?bounce={bounce.pk}", {"justification": ""})
    assert "This field is required." in missing.content.decode()
    assert not DeletionRequest.objects.exists()

    done = client.post(
        f"/deletions/new/?bounce={bounce.pk}",
        {"justification": "customer fixed DNS", "ticket": "T-9"},
        follow=True,
    )

    [created] = DeletionRequest.objects.all()
    assert (created.requested_by, created.state, created.ticket) == (requester, "pending", "T-9")
    assert list(created.items.values_list("email", flat=True)) == ["a1@example.com"]
    assert "Requested the removal of 1 address" in done.content.decode()


def test_request_selected_rows_across_subusers(client, data):
    login(client, "rita", "requester")
    ids = list(
        Bounce.objects.filter(email__in=["a1@example.com", "b2@example.com"]).values_list(
            "pk", flat=True
        )
    )
    query = "&".join(f"bounce={i}" for i in ids)

    client.post(f"/deletions/new/?{query}", {"justification": "x"})

    rows = sorted(DeletionRequest.objects.values_list("subuser__username", "total"))
    assert rows == [("alpha", 1), ("beta", 1)]


def test_request_by_filter_takes_every_matching_active_row(client, data):
    login(client, "rita", "requester")

    preview = client.get(
        "/deletions/new/", {"scope": "filter", "subuser": "alpha", "fault": "sender"}
    )
    assert "5 addresses" in preview.content.decode()
    client.post("/deletions/new/?scope=filter&subuser=alpha&fault=sender", {"justification": "x"})

    [created] = DeletionRequest.objects.all()
    emails = set(created.items.values_list("email", flat=True))
    assert emails == {f"a{i}@example.com" for i in range(5)}  # not the removed one
    assert "subuser=alpha" in created.selection


def test_whole_list_offers_delete_all_behind_typed_confirmation(client, data):
    login(client, "rita", "requester")
    url = "/deletions/new/?scope=filter&subuser=beta"

    preview = client.get(url).content.decode()
    assert "whole list" in preview and "delete 5" in preview
    refused = client.post(
        url, {"justification": "x", "delete_all": ["beta"], "confirmation": "yes"}
    )
    assert "delete 5" in refused.content.decode() and not DeletionRequest.objects.exists()
    client.post(url, {"justification": "x", "delete_all": ["beta"], "confirmation": "delete 5"})

    assert DeletionRequest.objects.get().delete_all


def test_viewer_cannot_request(client, data):
    login(client, "vera", "viewer")
    bounce = Bounce.objects.get(email="a1@example.com")

    assert client.get("/deletions/new/", {"bounce": bounce.pk}).status_code == 403
    assert (
        client.post(f"/deletions/new/?bounce={bounce.pk}", {"justification": "x"}).status_code
        == 403
    )


def make_request(client, data, by="rita"):
    client.force_login(make_user(by, role="requester"))
    bounce = Bounce.objects.get(email="a1@example.com")
    client.post(f"/deletions/new/?bounce={bounce.pk}", {"justification": "please"})
    return DeletionRequest.objects.latest("pk")


def test_queue_groups_pending_by_subuser_and_approver_approves(client, data):
    pending = make_request(client, data)
    login(client, "arne", "approver")

    queue = client.get("/deletions/").content.decode()
    assert "alpha" in queue and "a1@example.com" in queue and "Approve" in queue

    response = client.post(f"/deletions/{pending.pk}/approve/", {"next": "queue"}, follow=True)

    pending.refresh_from_db()
    assert pending.state == "approved" and pending.decided_by.username == "arne"
    assert "Approved request" in response.content.decode()


def test_approver_cannot_approve_own_request_and_page_says_so(client, data):
    own = make_request(client, data, by="self")
    approver = make_user("self2", role="approver")
    own.requested_by = approver
    own.save()
    client.force_login(approver)

    assert "another approver decides" in client.get("/deletions/").content.decode()
    response = client.post(f"/deletions/{own.pk}/approve/", follow=True)

    own.refresh_from_db()
    assert own.state == "pending"
    assert "cannot approve your own request" in response.content.decode()


def test_single_person_mode_is_announced(client, data, settings):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    login(client, "arne", "approver")

    assert "four-eyes rule is off" in client.get("/deletions/").content.decode()


def test_reject_needs_comment(client, data):
    pending = make_request(client, data)
    login(client, "arne", "approver")

    client.post(f"/deletions/{pending.pk}/reject/", {"comment": ""})
    pending.refresh_from_db()
    assert pending.state == "pending"

    client.post(f"/deletions/{pending.pk}/reject/", {"comment": "not our call"})
    pending.refresh_from_db()
    assert (pending.state, pending.decision_comment) == ("rejected", "not our call")
    history = client.get("/deletions/").content.decode()
    assert "not our call" in history and "Rejected" in history


def test_requester_cannot_approve(client, data):
    pending = make_request(client, data)
    login(client, "otto", "requester")

    assert client.post(f"/deletions/{pending.pk}/approve/").status_code == 403
    assert client.get(f"/deletions/{pending.pk}/approve/").status_code in (403, 405)


def test_decisions_are_post_only(client, data):
    pending = make_request(client, data)
    login(client, "arne", "approver")

    confirm = client.get(f"/deletions/{pending.pk}/approve/")
    assert confirm.status_code == 200  # the confirmation, not the decision
    assert client.get(f"/deletions/{pending.pk}/reject/").status_code == 405
    assert client.put(f"/deletions/{pending.pk}/approve/").status_code == 405
    pending.refresh_from_db()
    assert pending.state == "pending"


def test_approve_all_pending_of_one_subuser(client, data):
    first = make_request(client, data, by="r1")
    second = make_request(client, data, by="r2")
    login(client, "arne", "approver")

    client.post(
        "/deletions/approve-subuser/", {"subuser": "alpha", "request": [first.pk, second.pk]}
    )

    states = set(
        DeletionRequest.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)
    )
    assert states == {"approved"}


def test_request_page_shows_items_and_who_decided(client, data):
    pending = make_request(client, data)
    login(client, "arne", "approver")
    client.post(f"/deletions/{pending.pk}/reject/", {"comment": "nope"})

    html = client.get(f"/deletions/{pending.pk}/").content.decode()

    assert "a1@example.com" in html and "rita" in html and "arne" in html and "nope" in html
