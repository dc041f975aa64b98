"""`/api/v1/deletion-requests/`: the request page's rules and the approval queue's four-eyes,
through the same services, for a token acting with its operator's role and scope."""

import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.api.idempotency import IdempotencyKey
from bounceadmin.api.tokens import api_token_create
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import services, tasks
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/deletion-requests/"


@pytest.fixture
def data():
    acme, beta = make_subuser("acme"), make_subuser("beta")
    for i in range(5):
        make_bounce(acme, f"a{i}@example.com", status="5.7.1", reason="554 5.7.1 spamhaus")
        make_bounce(beta, f"b{i}@example.com")
    make_bounce(acme, "gone@example.com", removed=True)
    return {"acme": acme, "beta": beta}


class Api:
    """A client with one operator's token."""

    def __init__(self, client, username, role, **kw):
        self.client = client
        self.user = make_user(username, role=role, **kw)
        self.token, self.secret = api_token_create(self.user, name=f"{username}-script")

    def headers(self, extra=None) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}", **(extra or {})}

    def post(self, url, body=None, *, raw=None, key=None):
        extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
        payload = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            url, payload, content_type="application/json", **self.headers(extra)
        )

    def get(self, url, params=None):
        return self.client.get(url, params or {}, **self.headers())

    def create(self, **body):
        body.setdefault("justification", "customer fixed DNS")
        return self.post(URL, body)


def ids(*emails) -> list[int]:
    return list(Bounce.objects.filter(email__in=emails).values_list("pk", flat=True))


def messages(response) -> dict:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def rita(client, data):
    return Api(client, "rita", "requester")


@pytest.fixture
def arne(client, data):
    return Api(client, "arne", "approver")


@pytest.fixture
def published(monkeypatch):
    calls = []
    recorder = lambda task, *args: calls.append((task.name, *args)) or True  # noqa: E731
    monkeypatch.setattr(services, "publish", recorder)
    monkeypatch.setattr(tasks, "publish", recorder)
    return calls


def test_create_by_ids_makes_one_request_per_subuser(rita):
    response = rita.create(ids=ids("a1@example.com", "b2@example.com"), ticket="T-9")

    assert response.status_code == 201
    made = response.json()["requests"]
    assert sorted((r["subuser"], r["total"], r["state"]) for r in made) == [
        ("acme", 1, "pending"),
        ("beta", 1, "pending"),
    ]
    assert all(r["ticket"] == "T-9" and r["requested_by"] == "rita" for r in made)
    assert made[0]["url"].endswith(f"{URL}{made[0]['id']}/")
    assert DeletionRequest.objects.count() == 2
    assert "bounce=" in DeletionRequest.objects.first().selection


@pytest.mark.parametrize(
    "selection", [{"subuser": ["acme"], "fault": "sender"}, {"subuser": "acme"}, "subuser=acme"]
)
def test_create_by_filter_takes_every_active_match_as_the_page_does(rita, selection):
    response = rita.create(filter=selection)

    assert response.status_code == 201
    [made] = DeletionRequest.objects.all()
    assert set(made.items.values_list("email", flat=True)) == {
        f"a{i}@example.com" for i in range(5)
    }  # not the removed one
    assert made.selection.startswith("scope=filter&") and "subuser=acme" in made.selection


def test_dry_run_creates_nothing_and_matches_the_page_preview(client, rita):
    rita.create(ids=ids("a0@example.com"))
    response = rita.create(filter={"subuser": ["acme", "beta"]}, dry_run=True, justification="")

    assert response.status_code == 200
    body = response.json()
    assert DeletionRequest.objects.count() == 1
    client.force_login(rita.user)
    page = client.get("/deletions/new/", {"scope": "filter", "subuser": ["acme", "beta"]})
    preview = page.context["preview"]
    assert body["total"] == preview.total == 9
    assert [(s["subuser"], s["count"], s["whole_list"]) for s in body["subusers"]] == [
        (s.subuser.username, s.count, s.whole_list) for s in preview.subusers
    ]
    assert [[b["email"] for b in s["sample"]] for s in body["subusers"]] == [
        [b.email for b in s.sample] for s in preview.subusers
    ]
    [left_out] = body["left_out"]
    request_id = DeletionRequest.objects.get().pk
    assert left_out == {
        "email": "a0@example.com", "subuser": "acme", "request_id": request_id,
        "reason": f"already requested in #{request_id}",
    }  # fmt: skip
    assert body["left_out_total"] == preview.already_total == 1
    assert (body["confirmation_required"], body["confirm"]) == (False, None)


@pytest.mark.parametrize("justification", [None, "", "   "])
def test_justification_is_required(rita, justification):
    body = {"ids": ids("a1@example.com")}
    if justification is not None:
        body["justification"] = justification
    response = rita.post(URL, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "justification" in messages(response)
    assert not DeletionRequest.objects.exists()


def test_ids_or_filter_exactly_one(rita):
    both = rita.create(ids=ids("a1@example.com"), filter={"subuser": "acme"})
    neither = rita.create()

    assert both.status_code == neither.status_code == 400
    assert not DeletionRequest.objects.exists()


def test_a_large_request_needs_confirm_saying_exactly_what_to_send(rita, settings):
    settings.DELETION_CONFIRM_THRESHOLD = 3
    dry = rita.create(filter={"subuser": "acme"}, dry_run=True).json()
    assert (dry["confirmation_required"], dry["confirm"]) == (True, "delete 5")

    refused = rita.create(filter={"subuser": "acme"}, confirm="yes")
    assert refused.status_code == 400
    assert '"confirm": "delete 5"' in messages(refused)["confirm"]
    assert not DeletionRequest.objects.exists()

    assert rita.create(filter={"subuser": "acme"}, confirm="delete 5").status_code == 201


def test_delete_all_needs_the_whole_list_and_confirm(rita):
    partial = rita.create(filter={"subuser": "beta", "email": "b1"}, delete_all=True, confirm="x")
    assert partial.status_code == 400
    assert "whole list" in messages(partial)[None]

    dry = rita.create(filter={"subuser": "beta"}, delete_all=True, dry_run=True).json()
    assert dry["subusers"][0]["whole_list"] and dry["confirm"] == "delete 5"
    refused = rita.create(filter={"subuser": "beta"}, delete_all=True)
    assert refused.status_code == 400 and "delete 5" in messages(refused)["confirm"]

    done = rita.create(filter={"subuser": "beta"}, delete_all=True, confirm="delete 5")
    assert done.status_code == 201 and done.json()["requests"][0]["delete_all"]


def test_addresses_already_requested_are_left_out(rita):
    first = rita.create(ids=ids("a0@example.com")).json()["requests"][0]["id"]

    second = rita.create(filter={"subuser": "acme"})
    assert second.status_code == 201
    [made] = second.json()["requests"]
    emails = set(DeletionItem.objects.filter(request_id=made["id"]).values_list("email", flat=1))
    assert "a0@example.com" not in emails and len(emails) == 4

    again = rita.create(ids=ids("a0@example.com"))
    assert again.status_code == 400
    assert f"already requested in #{first}" in messages(again)[None]


def test_an_idempotency_key_replays_the_first_answer(rita):
    body = {"ids": ids("a1@example.com"), "justification": "x"}
    first = rita.post(URL, body, key="retry-1")
    again = rita.post(URL, body, key="retry-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert DeletionRequest.objects.count() == 1

    other = rita.post(URL, {**body, "ticket": "T-1"}, key="retry-1")
    assert other.status_code == 422 and DeletionRequest.objects.count() == 1


def test_an_idempotency_key_is_per_token_kept_a_day_and_keeps_no_refusal(client, rita):
    refused = rita.post(URL, {"ids": ids("a1@example.com")}, key="k")
    assert refused.status_code == 400 and not IdempotencyKey.objects.exists()
    assert (
        rita.post(URL, {"ids": ids("a1@example.com"), "justification": "x"}, key="k").status_code
        == 201
    )

    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    later = rita.post(URL, {"ids": ids("a2@example.com"), "justification": "x"}, key="k")
    assert later.status_code == 201 and DeletionRequest.objects.count() == 2

    other = Api(client, "rolf", "requester")
    body = {"ids": ids("a3@example.com"), "justification": "x"}
    assert other.post(URL, body, key="k").status_code == 201
    assert DeletionRequest.objects.count() == 3
    assert rita.post(URL, body, key="x" * 256).status_code == 400


def test_four_eyes_own_request_is_403_another_approver_approves_and_queues(
    client, arne, published, django_capture_on_commit_callbacks
):
    made = arne.create(ids=ids("a1@example.com")).json()["requests"][0]

    own = arne.post(f"{URL}{made['id']}/approve")
    assert own.status_code == 403 and "own request" in messages(own)[None]

    otto = Api(client, "otto", "approver")
    with django_capture_on_commit_callbacks(execute=True):
        approved = otto.post(f"{URL}{made['id']}/approve", {"comment": "ok"})

    assert approved.status_code == 200
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "otto"
    assert DeletionRequest.objects.get().state == "approved"
    assert published == [("bounceadmin.deletions.tasks.push_deletion", made["id"])]
    # Had the broker been down, the sweeper queues every approved request no worker holds.
    assert tasks.resume_deletions() == 1
    assert otto.post(f"{URL}{made['id']}/approve").status_code == 409


def test_an_approval_with_the_broker_down_is_kept_for_the_sweeper(
    client, rita, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.push_deletion, "apply_async", broker_down)
    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]
    arne = Api(client, "arne", "approver")
    with django_capture_on_commit_callbacks(execute=True):
        approved = arne.post(f"{URL}{pk}/approve")

    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert DeletionRequest.objects.get(pk=pk).state == "approved"


def test_single_person_mode_lets_an_approver_approve_their_own(arne, settings, published):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    made = arne.create(ids=ids("a1@example.com")).json()["requests"][0]

    assert arne.post(f"{URL}{made['id']}/approve").status_code == 200


def test_reject_needs_a_comment_and_is_final(rita, arne, published):
    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]

    missing = arne.post(f"{URL}{pk}/reject")
    assert missing.status_code == 400 and "comment" in messages(missing)
    rejected = arne.post(f"{URL}{pk}/reject", {"comment": "no ticket"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert rejected.json()["items"][0]["state"] == "rejected"

    assert arne.post(f"{URL}{pk}/approve").status_code == 409
    assert arne.post(f"{URL}{pk}/reject", {"comment": "again"}).status_code == 409
    assert rita.post(f"{URL}{pk}/withdraw", {"comment": "late"}).status_code == 409
    assert not published


def test_withdraw_by_the_requester_or_an_admin_only(client, rita):
    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]
    rolf = Api(client, "rolf", "requester")

    other = rolf.post(f"{URL}{pk}/withdraw", {"comment": "mine now"})
    assert other.status_code == 403
    assert rita.post(f"{URL}{pk}/withdraw").status_code == 400  # say why

    ada = Api(client, "ada", "admin")
    done = ada.post(f"{URL}{pk}/withdraw", {"comment": "duplicate"})
    assert done.status_code == 200 and done.json()["state"] == "withdrawn"
    assert rita.post(f"{URL}{pk}/withdraw", {"comment": "x"}).status_code == 409

    pk = rita.create(ids=ids("a2@example.com")).json()["requests"][0]["id"]
    assert rita.post(f"{URL}{pk}/withdraw", {"comment": "oops"}).status_code == 200


def test_roles(client, rita):
    vera = Api(client, "vera", "viewer")
    refused = vera.create(ids=ids("a1@example.com"))
    assert refused.status_code == 403 and "requester" in messages(refused)[None]
    assert vera.create(ids=ids("a1@example.com"), dry_run=True).status_code == 403

    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]
    assert vera.get(URL).status_code == 200 and vera.get(f"{URL}{pk}/").status_code == 200
    for action in ("approve", "reject"):
        response = rita.post(f"{URL}{pk}/{action}", {"comment": "x"})
        assert response.status_code == 403 and "approver" in messages(response)[None]
    assert vera.post(f"{URL}{pk}/withdraw", {"comment": "x"}).status_code == 403
    assert DeletionRequest.objects.get().state == "pending"


def test_a_scoped_token_neither_sees_nor_touches_another_subusers_requests(client, data, rita):
    theirs = rita.create(ids=ids("b1@example.com")).json()["requests"][0]["id"]
    sam = Api(client, "sam", "admin", subusers=[data["acme"]])
    ours = sam.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]

    assert [r["id"] for r in sam.get(URL).json()["results"]] == [ours]
    assert sam.get(f"{URL}{theirs}/").status_code == 404
    for action in ("approve", "reject", "withdraw"):
        assert sam.post(f"{URL}{theirs}/{action}", {"comment": "x"}).status_code == 404
    on_theirs = sam.create(ids=ids("b2@example.com"))
    assert on_theirs.status_code == 404
    assert sam.create(ids=ids("a2@example.com", "b2@example.com")).status_code == 404
    assert sam.create(filter={"subuser": "beta"}).status_code == 400
    assert sam.get(URL, {"subuser": "beta"}).status_code == 400
    assert DeletionRequest.objects.get(pk=theirs).state == "pending"
    assert DeletionRequest.objects.count() == 2


def test_list_filters_newest_first_and_pages_with_next_links(rita, arne, published):
    made = [rita.create(ids=ids(f"a{i}@example.com")).json()["requests"][0]["id"] for i in range(3)]
    made.append(rita.create(ids=ids("b0@example.com")).json()["requests"][0]["id"])
    arne.post(f"{URL}{made[0]}/approve")

    listed = rita.get(URL).json()
    assert [r["id"] for r in listed["results"]] == made[::-1]
    assert [r["id"] for r in rita.get(URL, {"state": "approved"}).json()["results"]] == made[:1]
    by_subuser = rita.get(URL, {"subuser": "beta"}).json()["results"]
    assert [r["id"] for r in by_subuser] == made[3:]

    seen, url = [], f"{URL}?limit=3&state=pending"
    while url:
        page = rita.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == made[:0:-1]
    assert rita.get(URL, {"state": "nonsense"}).status_code == 400
    assert rita.get(URL, {"cursor": "garbage"}).status_code == 404


def test_detail_has_items_with_their_state_and_the_decisions(rita, arne, published):
    pk = rita.create(ids=ids("a1@example.com", "a2@example.com")).json()["requests"][0]["id"]
    arne.post(f"{URL}{pk}/approve", {"comment": "fine"})
    DeletionItem.objects.filter(email="a2@example.com").update(state="failed", error="HTTP 500")
    DeletionItem.objects.filter(email="a1@example.com").update(
        state="done", pushed_at=timezone.now()
    )

    body = rita.get(f"{URL}{pk}/").json()

    assert body["counts"] == {"done": 1, "failed": 1}
    assert [(i["email"], i["state"], i["error"]) for i in body["items"]] == [
        ("a2@example.com", "failed", "HTTP 500"),
        ("a1@example.com", "done", ""),
    ]
    assert body["items"][1]["pushed_at"]
    assert (body["decided_by"], body["decision_comment"]) == ("arne", "fine")
    assert [e["action"] for e in body["events"]] == ["deletion.approved", "deletion.requested"]
    assert body["events"][0]["comment"] == "fine"


def test_every_write_through_the_api_names_the_token(rita, arne, published):
    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]
    arne.post(f"{URL}{pk}/approve")
    pk2 = rita.create(ids=ids("a2@example.com")).json()["requests"][0]["id"]
    arne.post(f"{URL}{pk2}/reject", {"comment": "no"})
    pk3 = rita.create(ids=ids("a3@example.com")).json()["requests"][0]["id"]
    rita.post(f"{URL}{pk3}/withdraw", {"comment": "oops"})

    events = AuditEvent.objects.filter(deletion_request_id__isnull=False)
    assert sorted((e.action, e.details["api_token"]) for e in events) == [
        ("deletion.approved", "arne-script"),
        ("deletion.rejected", "arne-script"),
        ("deletion.requested", "rita-script"),
        ("deletion.requested", "rita-script"),
        ("deletion.requested", "rita-script"),
        ("deletion.withdrawn", "rita-script"),
    ]


BAD_BODIES = [
    {"ids": "1", "justification": "x"},
    {"ids": [True], "justification": "x"},
    {"ids": [2**64], "justification": "x"},
    {"ids": [0, -1], "justification": "x"},
    {"ids": [1.5], "justification": "x"},
    {"ids": [None], "justification": "x"},
    {"ids": [], "justification": "x"},
    {"ids": list(range(1, 10_002)), "justification": "x"},
    {"ids": {"a": 1}, "justification": "x"},
    {"filter": 5, "justification": "x"},
    {"filter": None, "justification": "x"},
    {"filter": {"nope": "x"}, "justification": "x"},
    {"filter": "subusr=acme", "justification": "x"},
    {"filter": {"subuser": {"a": 1}}, "justification": "x"},
    {"filter": {"subuser": [None]}, "justification": "x"},
    {"filter": {"email": "a\x00"}, "justification": "x"},
    {"filter": "email=a%00b", "justification": "x"},
    {"filter": {"subuser": "nobody"}, "justification": "x"},
    {"filter": {"type": "medium"}, "justification": "x"},
    {"filter": {"days": "99999999999999999999"}, "justification": "x"},
    {"filter": {"start_date": "2024-13-45"}, "justification": "x"},
    {"filter": {"start_date": "\x00"}, "justification": "x"},
    {"filter": "x" * 5000, "justification": "x"},
    {"filter": {"subuser": "acme"}, "justification": "a\x00b"},
    {"filter": {"subuser": "acme"}, "justification": ["x"]},
    {"filter": {"subuser": "acme"}, "justification": "x" * 5001},
    {"filter": {"subuser": "acme"}, "justification": "x", "ticket": "t\x00"},
    {"filter": {"subuser": "acme"}, "justification": "x", "confirm": {"a": 1}},
    {"filter": {"subuser": "acme"}, "justification": "x", "dry_run": "maybe"},
    {"filter": {"subuser": "acme"}, "justification": "x", "delete_all": [1]},
    [1, 2],
    "just a string",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_input_is_a_json_400_never_a_500(rita, body):
    response = rita.post(URL, body)

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["message"]
    assert not DeletionRequest.objects.exists()


@pytest.mark.parametrize(
    "raw", ["{", "\x00", '{"ids": [1e999], "justification": "x"}', '{"ids": [NaN]}']
)
def test_unparsable_bodies_are_400(rita, raw):
    response = rita.post(URL, raw=raw)
    assert response.status_code == 400 and response.json()["errors"]


def test_a_body_over_the_upload_limit_is_a_json_400(rita, settings):
    body = {"filter": {"subuser": "acme"}, "justification": "x" * 2000}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = rita.post(URL, body)

    assert response.status_code == 400 and response.json()["errors"][0]["message"]
    assert not DeletionRequest.objects.exists()


def test_bad_ids_in_paths_and_decision_bodies(rita, arne):
    pk = rita.create(ids=ids("a1@example.com")).json()["requests"][0]["id"]
    assert rita.get(f"{URL}{2**64}/").status_code == 404
    assert rita.get(f"{URL}99999/").status_code == 404
    assert arne.post(f"{URL}{2**64}/approve").status_code == 404
    assert arne.post(f"{URL}{pk}/reject", {"comment": "a\x00"}).status_code == 400
    assert arne.post(f"{URL}{pk}/reject", {"comment": ["x"]}).status_code == 400
    assert arne.post(f"{URL}{pk}/reject", raw="[1]").status_code == 400
    assert rita.get(URL, {"subuser": "a\x00"}).status_code == 400
    assert DeletionRequest.objects.get().state == "pending"


def test_the_schema_documents_each_body_and_answer(client, rita):
    schema = client.get("/api/schema/?format=json", **rita.headers()).json()
    paths = schema["paths"]
    create = paths[URL]["post"]
    assert "DeletionCreateRequest" in json.dumps(create["requestBody"])
    assert {"200", "201", "400", "403", "404", "422"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    listing = {p["name"] for p in paths[URL]["get"]["parameters"]}
    assert {"state", "subuser", "cursor", "limit"} <= listing
    for action in ("approve", "reject", "withdraw"):
        post = paths[f"{URL}{{id}}/{action}"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(post["responses"])
    fields = schema["components"]["schemas"]["DeletionCreateRequest"]["properties"]
    assert {"ids", "filter", "justification", "ticket", "delete_all", "dry_run", "confirm"} <= set(
        fields
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_request(data):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    rita = Api(Client(), "rita", "requester")
    body = json.dumps({"ids": ids("a1@example.com", "b1@example.com"), "justification": "x"})
    start = threading.Barrier(2)

    def post(_):
        start.wait()
        try:
            response = Client().post(
                URL, body, content_type="application/json",
                **rita.headers({"HTTP_IDEMPOTENCY_KEY": "same"}),
            )  # fmt: skip
            return response.status_code, response.json(), response.get("Idempotent-Replayed")
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        (first, a, replayed_a), (second, b, replayed_b) = pool.map(post, range(2))

    assert (first, second) == (201, 201) and a == b
    assert sorted([replayed_a or "", replayed_b or ""]) == ["", "true"]
    assert DeletionRequest.objects.count() == 2  # one per subuser, once
