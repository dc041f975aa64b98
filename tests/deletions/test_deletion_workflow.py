"""The operator's day with deletion requests: what a decided request's addresses became, no
address requested twice, withdrawing, and coming back to the list as it was left."""

import re

import pytest
from django.contrib.auth import get_user_model

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def acme():
    acme = make_subuser("acme")
    for i in range(3):
        make_bounce(acme, f"a{i}@example.com")
    return acme


def ids(*emails):
    return "&".join(f"bounce={Bounce.objects.get(email=e).pk}" for e in emails)


def request_removal(client, user, *emails, justification="customer fixed DNS"):
    client.force_login(user)
    return client.post(f"/deletions/new/?{ids(*emails)}", {"justification": justification})


def test_rejected_request_says_its_addresses_were_not_removed(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com", "a1@example.com")
    deletion = DeletionRequest.objects.get()
    client.force_login(make_user("abe", role="approver"))

    client.post(f"/deletions/{deletion.pk}/reject/", {"comment": "not without a ticket"})

    states = set(DeletionItem.objects.values_list("state", flat=True))
    assert states == {DeletionItem.State.REJECTED}
    html = client.get(f"/deletions/{deletion.pk}/").content.decode()
    assert "2 not removed: rejected" in html and "pending" not in html.lower().split("<h2>audit")[0]


def test_requester_withdraws_a_pending_request_with_a_comment(client, acme):
    rita = make_user("rita", role="requester")
    request_removal(client, rita, "a0@example.com")
    deletion = DeletionRequest.objects.get()

    page = client.get(f"/deletions/{deletion.pk}/").content.decode()
    missing = client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": ""}, follow=True)
    done = client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": "wrong subuser"})

    assert "Withdraw" in page
    assert "Say why" in missing.content.decode()
    assert done.status_code == 302
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.WITHDRAWN
    assert deletion.decision_comment == "wrong subuser"
    assert list(deletion.items.values_list("state", flat=True)) == ["withdrawn"]
    event = AuditEvent.objects.get(action="deletion.withdrawn")
    assert (event.actor_name, event.deletion_request_id) == ("rita", deletion.pk)
    assert event.details["comment"] == "wrong subuser"


def test_only_the_requester_or_an_admin_withdraws_and_only_while_pending(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    deletion = DeletionRequest.objects.get()

    client.force_login(make_user("rosa", role="requester"))
    refused = client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": "mine now"})
    assert "Withdraw" not in client.get(f"/deletions/{deletion.pk}/").content.decode()
    deletion.refresh_from_db()
    assert refused.status_code == 302 and deletion.state == DeletionRequest.State.PENDING
    assert client.get(f"/deletions/{deletion.pk}/withdraw/").status_code == 405

    client.force_login(make_user("ada", role="admin"))
    client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": "duplicate"})
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.WITHDRAWN
    again = client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": "x"}, follow=True)
    assert "already withdrawn" in again.content.decode()


def test_preview_leaves_out_addresses_an_open_request_holds(client, acme):
    rita = make_user("rita", role="requester")
    request_removal(client, rita, "a0@example.com")
    first = DeletionRequest.objects.get()

    preview = client.get(f"/deletions/new/?{ids('a0@example.com', 'a1@example.com')}")
    html = preview.content.decode()
    client.post(
        f"/deletions/new/?{ids('a0@example.com', 'a1@example.com')}", {"justification": "both"}
    )

    assert "1 address already requested" in html and "already requested in <a" in html
    assert f'href="/deletions/{first.pk}/">#{first.pk}</a>' in html
    second = DeletionRequest.objects.exclude(pk=first.pk).get()
    assert list(second.items.values_list("email", flat=True)) == ["a1@example.com"]


def test_resubmitting_the_same_request_creates_nothing_twice(client, acme):
    rita = make_user("rita", role="requester")
    request_removal(client, rita, "a0@example.com", "a1@example.com")

    again = client.post(
        f"/deletions/new/?{ids('a0@example.com', 'a1@example.com')}",
        {"justification": "customer fixed DNS"},
        follow=True,
    )

    assert DeletionRequest.objects.count() == 1
    assert "Nothing new to request" in again.content.decode()


def test_addresses_of_a_rejected_request_can_be_requested_again(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    client.force_login(make_user("abe", role="approver"))
    client.post(f"/deletions/{DeletionRequest.objects.get().pk}/reject/", {"comment": "ticket?"})

    request_removal(client, make_user("rosa", role="requester"), "a0@example.com")

    assert DeletionRequest.objects.filter(state="pending").count() == 1


def test_request_selected_with_nothing_ticked_returns_to_the_list_as_it_was(client, acme):
    client.force_login(make_user("rita", role="requester"))
    back = "type=hard&sort=-created&page=2"

    response = client.get("/deletions/new/", {"back": back}, follow=True)

    assert response.redirect_chain[-1][0] == f"/bounces/?{back}"
    assert "Nothing was selected" in response.content.decode()


def test_back_to_the_list_is_only_ever_the_list(client, acme):
    client.force_login(make_user("rita", role="requester"))

    response = client.get("/deletions/new/", {"back": "//evil.example/x"})

    assert response.status_code == 302 and response["Location"].startswith("/bounces/?")


def test_approve_asks_first_showing_what_it_removes(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com", "a1@example.com")
    deletion = DeletionRequest.objects.get()
    client.force_login(make_user("abe", role="approver"))

    queue = client.get("/deletions/").content.decode()
    confirm = client.get(f"/deletions/{deletion.pk}/approve/?next=queue").content.decode()
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.PENDING  # looking decides nothing

    assert f'href="/deletions/{deletion.pk}/approve/?next=queue"' in queue
    assert "a0@example.com" in confirm and "a1@example.com" in confirm
    assert "customer fixed DNS" in confirm and "Approve and remove 2 addresses" in confirm
    done = client.post(f"/deletions/{deletion.pk}/approve/", {"next": "queue"})
    deletion.refresh_from_db()
    assert done["Location"] == "/deletions/" and deletion.state == DeletionRequest.State.APPROVED


def test_approve_all_of_a_subuser_asks_first_and_leaves_out_own_requests(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    abe = make_user("abe", role="approver")
    request_removal(client, abe, "a1@example.com", justification="abe's own")
    client.force_login(abe)

    confirm = client.get("/deletions/approve-subuser/", {"subuser": "acme"}).content.decode()
    assert DeletionRequest.objects.filter(state="pending").count() == 2
    every = list(DeletionRequest.objects.values_list("pk", flat=True))
    client.post("/deletions/approve-subuser/", {"subuser": "acme", "request": every})

    assert "Approve 1 pending request of acme" in confirm and "a0@example.com" in confirm
    assert "abe&#x27;s own" not in confirm and "abe's own" not in confirm
    states = dict(DeletionRequest.objects.values_list("justification", "state"))
    assert states == {"customer fixed DNS": "approved", "abe's own": "pending"}


def test_approve_page_of_another_scope_is_404(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    other = make_subuser("other")
    client.force_login(make_user("sam", role="approver", subusers=[other]))

    deletion = DeletionRequest.objects.get()
    assert client.get(f"/deletions/{deletion.pk}/approve/").status_code == 404
    assert client.get("/deletions/approve-subuser/", {"subuser": "acme"}).status_code == 404


def test_approve_all_approves_only_the_requests_shown(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    client.force_login(make_user("abe", role="approver"))
    confirm = client.get("/deletions/approve-subuser/", {"subuser": "acme"}).content.decode()
    shown = [int(pk) for pk in re.findall(r'name="request" value="(\d+)"', confirm)]
    # After the page was shown, a whole-list request arrives for the same subuser.
    late = make_user("rosa", role="requester")
    client.force_login(late)
    client.post(
        f"/deletions/new/?{ids('a2@example.com')}",
        {"justification": "everything", "delete_all": ["acme"], "confirmation": "delete 1"},
    )
    client.force_login(User.objects.get(username="abe"))

    done = client.post(
        "/deletions/approve-subuser/", {"subuser": "acme", "request": shown}, follow=True
    )

    states = dict(DeletionRequest.objects.values_list("requested_by__username", "state"))
    assert len(shown) == 1 and states == {"rita": "approved", "rosa": "pending"}
    assert f"Approved #{shown[0]} of acme" in done.content.decode()


def test_approve_all_says_which_shown_request_was_decided_meanwhile(client, acme):
    request_removal(client, make_user("rita", role="requester"), "a0@example.com")
    deletion = DeletionRequest.objects.get()
    client.post(f"/deletions/{deletion.pk}/withdraw/", {"comment": "oops"})
    client.force_login(make_user("abe", role="approver"))

    done = client.post(
        "/deletions/approve-subuser/", {"subuser": "acme", "request": [deletion.pk]}, follow=True
    )

    deletion.refresh_from_db()
    assert done.status_code == 200 and deletion.state == "withdrawn"
    assert f"Request #{deletion.pk} was not approved: no longer pending" in done.content.decode()
