"""SendGrid's official Python client, unchanged but for its host, against a live server: it
lists, pages, filters, gets one and "deletes" (202 and a request, nothing removed yet)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import sendgrid
from python_http_client.exceptions import BadRequestsError, ForbiddenError, UnauthorizedError

from bounceadmin.api.tokens import api_token_create
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def sg(live_server):
    acme, beta = make_subuser("acme", email="ops@acme.example"), make_subuser("beta")
    for n in range(7):
        make_bounce(acme, f"user{n}@example.com", created=T0 + timedelta(days=n))
    make_bounce(acme, "sales@example.com", created=T0 - timedelta(days=1))
    make_bounce(beta, "beta-only@example.com", created=T0)
    for n in range(4):
        make_suppression(acme, f"blocked{n}@example.com", "blocks", status="4.0.0",
                         reason="550 blocked", created=T0 + timedelta(hours=n))  # fmt: skip
    make_suppression(beta, "beta-block@example.com", "blocks", created=T0)
    make_suppression(acme, "reported@example.com", "spam_reports", ip="10.0.0.1")
    user = make_user("scripter", role="requester", subusers=[acme, beta])
    _, secret = api_token_create(user, name="cron")
    return sendgrid.SendGridAPIClient(api_key=secret, host=live_server.url + "/sendgrid")


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [item["email"] for item in json.loads(response.body)]


def test_the_official_client_lists_pages_filters_and_gets_one(sg):
    acme = {"on-behalf-of": "acme"}
    bounces = sg.client.suppression.bounces
    everything = listed(bounces.get(request_headers=acme))
    assert everything[:2] == ["user6@example.com", "user5@example.com"] and len(everything) == 8
    pages = [
        listed(bounces.get(query_params={"limit": 3, "offset": offset}, request_headers=acme))
        for offset in (0, 3, 6, 9)
    ]
    assert [email for page in pages for email in page] == everything
    since = int((T0 + timedelta(days=5)).timestamp())
    assert listed(bounces.get(query_params={"start_time": since}, request_headers=acme)) == [
        "user6@example.com", "user5@example.com"]  # fmt: skip
    assert listed(bounces.get(query_params={"email": "sales"}, request_headers=acme)) == [
        "sales@example.com"
    ]
    # The client keeps request headers from call to call: forget on-behalf-of as it documents.
    sg.reset_request_headers()
    bounces = sg.client.suppression.bounces
    assert "beta-only@example.com" in listed(bounces.get())
    assert len(listed(bounces.get(query_params={"email": "%6@"}))) == 1
    one = bounces._("user3@example.com").get(request_headers=acme)
    assert json.loads(one.body)[0]["email"] == "user3@example.com"
    assert int(one.headers["X-RateLimit-Remaining"]) > 0 and one.headers["X-Cache-Refreshed-At"]
    subusers = json.loads(sg.client.subusers.get().body)
    assert [s["username"] for s in subusers] == ["acme", "beta"]


def test_the_official_client_deletes_by_requesting(sg):
    bounces = sg.client.suppression.bounces
    one = bounces._("user1@example.com").delete(request_headers={"on-behalf-of": "acme"})
    assert one.status_code == 202
    answer = json.loads(one.body)
    assert answer["state"] == "pending" and one.headers["Location"] == answer["url"]
    many = bounces.delete(
        request_body={"emails": ["user2@example.com", "user3@example.com"]},
        request_headers={"on-behalf-of": "acme"},
    )
    assert many.status_code == 202 and json.loads(many.body)["total"] == 2
    assert DeletionRequest.objects.filter(state="pending").count() == 2
    assert "user1@example.com" in listed(bounces.get(request_headers={"on-behalf-of": "acme"}))
    with pytest.raises(BadRequestsError) as refused:
        bounces.delete(request_body={"delete_all": True}, request_headers={"on-behalf-of": "acme"})
    assert "dashboard" in refused.value.to_dict["errors"][0]["message"]
    sg.reset_request_headers()
    with pytest.raises(BadRequestsError):  # which subuser's list?
        sg.client.suppression.bounces._("user4@example.com").delete()
    with pytest.raises(ForbiddenError):
        bounces.get(request_headers={"on-behalf-of": "nobody"})


def test_the_official_client_impersonating_a_subuser(sg, live_server):
    acme = sendgrid.SendGridAPIClient(
        api_key=sg.api_key, host=live_server.url + "/sendgrid", impersonate_subuser="acme"
    )
    assert "beta-only@example.com" not in listed(acme.client.suppression.bounces.get())
    deleted = acme.client.suppression.bounces._("user0@example.com").delete()
    assert deleted.status_code == 202


def test_the_official_client_with_a_wrong_key_is_unauthorized(live_server):
    client = sendgrid.SendGridAPIClient(api_key="SG.not-ours", host=live_server.url + "/sendgrid")
    with pytest.raises(UnauthorizedError):
        client.client.suppression.bounces.get()


def test_the_official_client_lists_blocks_and_their_neighbours(sg):
    blocks = sg.client.suppression.blocks
    acme = {"on-behalf-of": "acme"}
    listed_blocks = listed(blocks.get(request_headers=acme))
    assert listed_blocks == [f"blocked{n}@example.com" for n in (3, 2, 1, 0)]
    pages = [listed(blocks.get(query_params={"limit": 3, "offset": o}, request_headers=acme))
             for o in (0, 3)]  # fmt: skip
    assert pages[0] + pages[1] == listed_blocks
    one = json.loads(blocks._("blocked2@example.com").get(request_headers=acme).body)
    assert one == [
        {
            "created": int((T0 + timedelta(hours=2)).timestamp()),
            "email": "blocked2@example.com",
            "reason": "550 blocked",
            "status": "4.0.0",
        }
    ]
    assert listed(sg.client.suppression.spam_reports.get(request_headers=acme)) == [
        "reported@example.com"
    ]
    sg.reset_request_headers()
    assert "beta-block@example.com" in listed(sg.client.suppression.blocks.get())
    # A block's removal is requested (an approver decides); a spam report's is refused here.
    requested = sg.client.suppression.blocks.delete(
        request_body={"emails": ["blocked1@example.com"]}, request_headers=acme
    )
    assert requested.status_code == 202
    assert DeletionRequest.objects.get(pk=json.loads(requested.body)["id"]).list == "blocks"
    with pytest.raises(ForbiddenError) as refused:
        sg.client.suppression.spam_reports._("reported@example.com").delete(request_headers=acme)
    assert "dashboard" in refused.value.to_dict["errors"][0]["message"]
