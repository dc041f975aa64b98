"""The legacy bounce APIs of SendGrid's old pages, answered from the cache: their shapes, their
parameter rules, their errors; scoped, role-checked, and deletes filed as pending requests."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bounceadmin.api.tokens import api_token_create
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Subuser
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

FORMATS = ["json", "xml"]
METHODS = ["get", "post"]
BOTH = pytest.mark.parametrize("fmt", FORMATS)
VERBS = pytest.mark.parametrize("method", METHODS)
# 2009-06-10 12:40:30 Pacific (daylight time), as on the pages.
JUNE_10 = datetime(2009, 6, 10, 19, 40, 30, tzinfo=UTC)


@pytest.fixture
def world():
    acme, beta = make_subuser("acme"), make_subuser("beta")
    make_bounce(
        acme,
        "email1@domain.com",
        status="5.1.1",
        created=JUNE_10,
        reason="host [127.0.0.1] said: 550 5.1.1 unknown or illegal user",
    )
    make_bounce(
        acme,
        "soft@domain.com",
        status="4.0.0",
        reason="Connection timed out",
        created=JUNE_10 + timedelta(days=2),
    )
    make_bounce(acme, "gone@domain.com", removed=True)
    make_bounce(beta, "secret@beta.com")
    people = {}
    for name, role, scope in [
        ("vera", "viewer", None),
        ("rita", "requester", None),
        ("sam", "requester", [acme]),
    ]:
        user = make_user(name, role=role, subusers=scope)
        people[name] = {"api_user": name, "api_key": api_token_create(user, name="cron")[1]}
    return people


def call(client, endpoint, fmt, verb="get", /, **params):
    """`verb` is positional: `method` is a parameter of distributor.manage."""
    url = f"/api/{endpoint}.{fmt}"
    return client.get(url, params) if verb == "get" else client.post(url, params)


def content(response) -> bytes:
    """The body, streamed (bounce lists, read once and kept) or not."""
    if not hasattr(response, "read_body"):
        response.read_body = response.getvalue()
    return response.read_body


def body(response):
    """The answer as Python: JSON as is; XML as the pages' documents read back."""
    if response["Content-Type"].startswith("application/json"):
        return json.loads(content(response))
    assert content(response).startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n\n')
    root = ET.fromstring(content(response))  # noqa: S314 - our own answer, in a test
    if root.tag == "bounces":
        assert all(b.tag == "bounce" for b in root)
        return [{field.tag: field.text for field in bounce} for bounce in root]
    assert root.tag == "result"
    return {field.tag: field.text for field in root}


def error_of(response):
    """The documented error, JSON `{"message": "error", "errors": [..]}` or XML
    `<result><message>error: reason</message></result>`, as (message, reasons)."""
    data = body(response)
    if "errors" in data:
        return data["message"], " ".join(data["errors"])
    message, _, reasons = data["message"].partition(": ")
    return message, reasons


# Reading


@BOTH
@VERBS
def test_bounces_get_answers_the_pages_shape(client, world, fmt, method):
    response = call(client, "bounces.get", fmt, method, user="acme", date="1", **world["vera"])
    assert response.status_code == 200
    assert body(response) == [
        {"email": "email1@domain.com", "status": "5.1.1",
         "reason": "host [127.0.0.1] said: 550 5.1.1 unknown or illegal user",
         "created": "2009-06-10 12:40:30"},
        {"email": "soft@domain.com", "status": "4.0.0", "reason": "Connection timed out",
         "created": "2009-06-12 12:40:30"},
    ]  # fmt: skip
    plain = body(call(client, "bounces.get", fmt, method, user="acme", **world["vera"]))
    assert [set(row) for row in plain] == [{"email", "status", "reason"}] * 2


def test_the_json_is_an_array_of_objects_and_the_xml_a_bounces_document(client, world):
    response = call(client, "bounces.get", "json", user="acme", date="1", **world["vera"])
    assert content(response).startswith(b'[{"email": "email1@domain.com", "status": "5.1.1"')
    xml = content(call(client, "bounces.get", "xml", user="acme", limit="1", **world["vera"]))
    assert xml.decode("latin-1") == (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<bounces>\n   <bounce>\n'
        "      <email>email1@domain.com</email>\n      <status>5.1.1</status>\n"
        "      <reason>host [127.0.0.1] said: 550 5.1.1 unknown or illegal user</reason>\n"
        "   </bounce>\n</bounces>\n"
    )


@BOTH
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": "1"}, ["email1@domain.com"]),
        ({"limit": "1", "offset": "1"}, ["soft@domain.com"]),
        ({"offset": "5"}, []),
        ({"type": "soft"}, ["soft@domain.com"]),
        ({"type": "hard"}, ["email1@domain.com"]),
        ({"email": "SOFT@domain.com"}, ["soft@domain.com"]),
        ({"start_date": "2009-06-11"}, ["soft@domain.com"]),
        ({"end_date": "2009-06-10"}, ["email1@domain.com"]),
        ({"start_date": "2009-06-10", "end_date": "2009-06-12"},
         ["email1@domain.com", "soft@domain.com"]),
        ({"days": "1"}, []),
    ],
)  # fmt: skip
def test_bounces_get_parameters(client, world, fmt, params, expected):
    rows = body(call(client, "bounces.get", fmt, "post", user="acme", **params, **world["vera"]))
    assert [row["email"] for row in rows] == expected


def test_days_counts_back_from_today_including_it(client, world):
    make_bounce(make_subuser("gamma"), "today@x.com", created=timezone.now() - timedelta(minutes=1))
    rows = json.loads(
        content(call(client, "bounces.get", "json", user="gamma", days="1", **world["vera"]))
    )
    assert [row["email"] for row in rows] == ["today@x.com"]


@BOTH
@VERBS
def test_bounces_count_is_a_string_count(client, world, fmt, method):
    response = call(client, "bounces.count", fmt, method, user="acme", **world["vera"])
    assert body(response) == {"count": "2"}
    if fmt == "xml":
        assert b"<result>\n   <count>2</count>\n</result>" in response.content
    filtered = call(client, "bounces.count", fmt, method, user="acme", type="soft",
                    start_date="2009-06-01", end_date="2009-06-30", **world["vera"])  # fmt: skip
    assert body(filtered) == {"count": "1"}


@BOTH
@VERBS
@pytest.mark.parametrize("endpoint", ["user.bounces", "distributor.manage"])
def test_subuser_and_customer_bounces_get(client, world, fmt, method, endpoint):
    extra = {"method": "bounces"} if endpoint == "distributor.manage" else {}
    response = call(client, endpoint, fmt, method, user="acme", task="get", date="1",
                    **extra, **world["vera"])  # fmt: skip
    assert response.status_code == 200
    assert [(r["email"], r["created"]) for r in body(response)] == [
        ("email1@domain.com", "2009-06-10 12:40:30"),
        ("soft@domain.com", "2009-06-12 12:40:30"),
    ]
    rows = body(call(client, endpoint, fmt, method, user="acme", task="get",
                     email="soft@domain.com", **extra, **world["vera"]))  # fmt: skip
    assert rows == [
        {"email": "soft@domain.com", "status": "4.0.0", "reason": "Connection timed out"}
    ]


def test_distributor_manage_needs_method_bounces(client, world):
    response = call(client, "distributor.manage", "json", user="acme", task="get",
                    method="profile", **world["vera"])  # fmt: skip
    assert response.status_code == 400
    assert error_of(response) == ("error", "method must be bounces: only bounces are served here.")


# Errors


@BOTH
@VERBS
@pytest.mark.parametrize(
    ("endpoint", "params", "why"),
    [
        ("bounces.get", {"limit": "ten"}, "limit must be an integer"),
        ("bounces.get", {"offset": "-1"}, "offset must be an integer"),
        ("bounces.get", {"limit": "99999999999999999999"}, "limit must be an integer"),
        ("bounces.get", {"days": "0"}, "days must be an integer from 1"),
        ("bounces.get", {"days": "2", "start_date": "2009-06-01"}, "Use either days"),
        ("bounces.get", {"start_date": "2009-06-12", "end_date": "2009-06-10"},
         "start_date must be earlier"),
        ("bounces.get", {"start_date": "2009-06-10", "end_date": "2009-06-10"},
         "start_date must be earlier"),
        ("bounces.get", {"start_date": "2009-02-30"}, "start_date must be a date"),
        ("bounces.get", {"end_date": "１２３４-01-01"}, "end_date must be a date"),
        ("bounces.get", {"type": "medium"}, "type must be hard or soft"),
        ("bounces.get", {"date": "yes"}, "date must be 1"),
        ("bounces.get", {"email": "a\x00b"}, "must not contain NUL"),
        ("bounces.count", {"end_date": "2009/06/10"}, "end_date must be a date"),
        ("bounces.delete", {"type": "x"}, "type must be hard or soft"),
        ("user.bounces", {"task": "purge"}, "task must be get or delete"),
        ("user.bounces", {}, "task must be get or delete"),
    ],
)  # fmt: skip
def test_bad_input_gets_the_documented_error(client, world, fmt, method, endpoint, params, why):
    response = call(client, endpoint, fmt, method, user="acme", **params, **world["rita"])
    assert response.status_code == 400
    message, reasons = error_of(response)
    assert message == "error" and why in reasons


@BOTH
@pytest.mark.parametrize("endpoint", ["bounces.get", "bounces.count"])
def test_the_parent_accounts_own_list_is_not_cached(client, world, fmt, endpoint):
    response = call(client, endpoint, fmt, **world["vera"])
    assert response.status_code == 400
    assert "parent account's own bounce list is not cached" in error_of(response)[1]


@BOTH
@VERBS
@pytest.mark.parametrize(
    "credentials",
    [{}, {"api_user": "vera"}, {"api_user": "vera", "api_key": "ba_wrong"},
     {"api_user": "rita", "api_key": "VERA"}, {"api_user": "", "api_key": "VERA"}],
)  # fmt: skip
def test_bad_credentials_are_refused(client, world, fmt, method, credentials):
    credentials = {
        k: world["vera"]["api_key"] if v == "VERA" else v for k, v in credentials.items()
    }
    response = call(client, "user.bounces", fmt, method, user="acme", task="get", **credentials)
    assert response.status_code == 401
    assert error_of(response) == ("error", "Bad username / password")


def test_a_revoked_token_or_a_user_without_role_is_refused(client, world):
    nobody = make_user("nobody", role=None)
    _, secret = api_token_create(nobody, name="x")
    response = call(client, "user.bounces", "json", user="acme", task="get",
                    api_user="nobody", api_key=secret)  # fmt: skip
    assert response.status_code == 403
    assert response.json()["message"] == "error"


def test_other_methods_are_refused_in_the_error_shape(client, world):
    response = client.put("/api/bounces.get.json")
    assert response.status_code == 405 and response.json()["message"] == "error"


@BOTH
@pytest.mark.parametrize(
    ("endpoint", "params"),
    [("bounces.get", {}), ("bounces.count", {}), ("bounces.delete", {"email": "secret@beta.com"}),
     ("user.bounces", {"task": "get"}),
     ("user.bounces", {"task": "delete", "email": "secret@beta.com"}),
     ("distributor.manage", {"method": "bounces", "task": "get"})],
)  # fmt: skip
def test_a_scoped_token_never_reaches_another_subuser(client, world, fmt, endpoint, params):
    for name in ("beta", "nosuch"):
        response = call(client, endpoint, fmt, user=name, **params, **world["sam"])
        assert response.status_code == 404
        assert error_of(response) == ("error", f"user {name} is not a subuser under your account.")
    assert b"secret@beta.com" not in content(response)
    assert not DeletionRequest.objects.exists()


def test_a_scoped_token_reads_its_own_subuser(client, world):
    response = call(client, "user.bounces", "json", user="acme", task="get", **world["sam"])
    assert [row["email"] for row in body(response)] == ["email1@domain.com", "soft@domain.com"]


# Deletes


@BOTH
@VERBS
@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [("bounces.delete", {}), ("user.bounces", {"task": "delete"}),
     ("distributor.manage", {"method": "bounces", "task": "delete"})],
)  # fmt: skip
def test_a_delete_files_a_pending_request_named_after_the_token(
    client, world, fmt, method, endpoint, extra
):
    response = call(client, endpoint, fmt, method, user="acme", email="Email1@domain.com",
                    **extra, **world["rita"])  # fmt: skip
    assert response.status_code == 200
    request = DeletionRequest.objects.get()
    assert body(response) == {"message": "success", "request_id": request.pk if fmt == "json"
                              else str(request.pk), "state": "pending"}  # fmt: skip
    assert request.state == "pending" and request.requested_by.username == "rita"
    assert list(request.items.values_list("email", flat=True)) == ["email1@domain.com"]
    assert f"{endpoint}.{fmt}" in request.justification and "cron" in request.justification
    assert "api_key" not in request.selection and world["rita"]["api_key"] not in request.selection
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETION_REQUESTED)
    assert event.details["api_token"] == "cron" and event.actor_name == "rita"
    again = call(client, endpoint, fmt, method, user="acme", email="email1@domain.com",
                 **extra, **world["rita"])  # fmt: skip
    assert again.status_code == 409 and f"#{request.pk}" in error_of(again)[1]


@BOTH
def test_bounces_delete_by_dates_and_type(client, world, fmt):
    response = call(client, "bounces.delete", fmt, "post", user="acme", type="soft",
                    start_date="2009-06-01", end_date="2009-06-30", **world["rita"])  # fmt: skip
    assert body(response)["message"] == "success"
    items = DeletionRequest.objects.get().items.values_list("email", flat=True)
    assert list(items) == ["soft@domain.com"]


@BOTH
@pytest.mark.parametrize("endpoint", ["bounces.delete", "user.bounces", "distributor.manage"])
def test_an_address_not_on_the_list_does_not_exist(client, world, fmt, endpoint):
    extra = {"task": "delete", "method": "bounces"} if endpoint != "bounces.delete" else {}
    for email in ("nobody@domain.com", "gone@domain.com"):
        response = call(client, endpoint, fmt, user="acme", email=email, **extra, **world["rita"])
        assert response.status_code == 404
        assert body(response) == {"message": "Email does not exist"}


@BOTH
@VERBS
@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [("bounces.delete", {}), ("bounces.delete", {"user": "acme"}),
     ("bounces.delete", {"user": "acme", "days": "3"}),
     ("user.bounces", {"user": "acme", "task": "delete"}),
     ("distributor.manage", {"user": "acme", "method": "bounces", "task": "delete"})],
)  # fmt: skip
def test_deleting_the_entire_list_is_refused(client, world, fmt, method, endpoint, extra):
    response = call(client, endpoint, fmt, method, **extra, **world["rita"])
    assert response.status_code == 400
    message, reasons = error_of(response)
    assert message == "error" and "ENTIRE list" in reasons and "dashboard" in reasons
    assert not DeletionRequest.objects.exists()


@BOTH
def test_a_viewer_cannot_delete(client, world, fmt):
    for endpoint, extra in [("bounces.delete", {}), ("user.bounces", {"task": "delete"})]:
        response = call(client, endpoint, fmt, user="acme", email="email1@domain.com",
                        **extra, **world["vera"])  # fmt: skip
        assert response.status_code == 403
        assert "requester" in error_of(response)[1]
    assert not DeletionRequest.objects.exists()


def test_a_large_delete_needs_the_dashboards_confirmation(client, world, settings):
    settings.DELETION_CONFIRM_THRESHOLD = 1
    response = call(client, "bounces.delete", "json", user="acme", type="hard", **world["rita"])
    assert response.status_code == 200  # one address: at the threshold
    response = call(client, "bounces.delete", "json", user="acme", start_date="2000-01-01",
                    **world["rita"])  # fmt: skip
    assert response.status_code == 200  # one new address; the other is requested already
    acme = Subuser.objects.get(username="acme")
    make_bounce(acme, "third@domain.com")
    make_bounce(acme, "fourth@domain.com")
    response = call(client, "bounces.delete", "json", user="acme", type="hard", **world["rita"])
    assert response.status_code == 400 and "typed confirmation" in response.json()["errors"][0]
    assert DeletionRequest.objects.count() == 2


# Escaping


def test_xml_escapes_what_strangers_wrote(client, world):
    beta = make_subuser("gamma")
    make_bounce(beta, "x@evil.com", reason="<script>alert(1)</script> & \x01 ünïcode ☃ ]]>")
    response = call(client, "bounces.get", "xml", user="gamma", **world["vera"])
    assert b"<script>" not in content(response)
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in content(response)
    assert body(response)[0]["reason"] == "<script>alert(1)</script> & \ufffd ünïcode ☃ ]]>"
    as_json = json.loads(
        content(call(client, "bounces.get", "json", user="gamma", **world["vera"]))
    )
    assert as_json[0]["reason"].startswith("<script>alert(1)</script> & \x01")


# Throttling and shapes of errors


@pytest.fixture
def three_a_minute(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "3/min"})


def test_each_token_is_throttled_in_the_error_shape(client, world, three_a_minute):
    codes = [
        call(client, "bounces.count", "json", user="acme", **world["vera"]).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    throttled = call(client, "bounces.count", "xml", user="acme", **world["vera"])
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert error_of(throttled)[0] == "error"
    assert call(client, "bounces.count", "json", user="acme", **world["rita"]).status_code == 200


def test_the_xml_error_is_the_pages_result_message(client, world):
    response = call(client, "bounces.count", "xml", user="acme", type="x", **world["vera"])
    assert response.content.decode("latin-1") == (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n'
        "<result>\n   <message>error: type must be hard or soft.</message>\n</result>\n"
    )
    assert response["Content-Type"] == "text/xml; charset=ISO-8859-1"
    assert call(client, "bounces.count", "json", user="acme", type="x", **world["vera"]).json() == {
        "message": "error",
        "errors": ["type must be hard or soft."],
    }


def test_a_post_form_overrides_the_query_string(client, world):
    response = client.post(
        "/api/user.bounces.json?task=delete&user=beta",
        {"task": "get", "user": "acme", **world["vera"]},
    )
    assert response.status_code == 200 and len(body(response)) == 2


@BOTH
def test_a_list_streams_in_pieces_and_an_empty_one_is_still_a_document(
    client, world, fmt, monkeypatch
):
    from bounceadmin.api.legacy import render

    whole = body(call(client, "bounces.get", fmt, user="acme", date="1", **world["vera"]))
    monkeypatch.setattr(render, "CHUNK", 1)
    pieces = body(call(client, "bounces.get", fmt, user="acme", date="1", **world["vera"]))
    assert pieces == whole and len(pieces) == 2
    empty = call(client, "bounces.get", fmt, user="acme", offset="9", **world["vera"])
    assert body(empty) == []
    assert content(empty).endswith(b"[]" if fmt == "json" else b"\n\n<bounces />\n")


@BOTH
@pytest.mark.parametrize("task", ["get", "delete"])
def test_user_bounces_needs_a_user(client, world, fmt, task):
    response = call(client, "user.bounces", fmt, task=task, email="a@b.c", **world["rita"])
    assert response.status_code == 400
    assert error_of(response) == ("error", "user is required: the subuser whose bounces these are.")
