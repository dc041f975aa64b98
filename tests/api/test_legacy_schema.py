"""The legacy endpoints in the served schema (`/api/schema/`): every path, with GET and POST,
and every parameter the views read; their own error shapes, not the DRF surfaces'; the tag; and
a schema that still validates."""

import pytest
from django.http import QueryDict
from drf_spectacular.validation import validate_schema
from openapi_spec_validator import validate as validate_spec

from bounceadmin.api.legacy import views
from bounceadmin.api.tokens import api_token_create
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

LIST = {"date", "days", "start_date", "end_date", "type", "email"}
# What each view reads, written out here rather than taken from the hook's own table.
EXPECTED = {
    "/api/bounces.get.{format}": {"user", "limit", "offset", *LIST},
    "/api/bounces.count.{format}": {"user", "days", "start_date", "end_date", "type", "email"},
    "/api/bounces.delete.{format}": {"user", "start_date", "end_date", "type", "email"},
    "/api/user.bounces.{format}": {"user", "task", *LIST},
    "/api/distributor.manage.{format}": {"user", "task", "method", *LIST},
}
AUTH = {"api_user", "api_key"}


@pytest.fixture
def schema(client):
    client.force_login(make_user("vera", role="viewer"))
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_every_legacy_path_is_served_with_get_and_post(schema):
    for path, names in EXPECTED.items():
        assert set(schema["paths"][path]) == {"get", "post"}, path
        get, post = schema["paths"][path]["get"], schema["paths"][path]["post"]
        fmt, *query = get["parameters"]
        assert fmt == {
            "name": "format",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": ["json", "xml"]},
        }
        assert {p["name"] for p in query} == names | AUTH, path
        assert all(p["in"] == "query" for p in query)
        form = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        assert set(form["properties"]) == names | AUTH, path
        assert set(form["required"]) >= AUTH
        assert get["tags"] == post["tags"] == ["legacy"]


def test_email_is_repeatable_and_the_tasks_are_enumerated(schema):
    get = schema["paths"]["/api/user.bounces.{format}"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert params["email"]["schema"]["type"] == "array"
    assert params["email"]["explode"] is True
    assert params["task"]["schema"]["enum"] == ["get", "delete"]
    assert params["task"]["required"] and params["user"]["required"]
    manage = schema["paths"]["/api/distributor.manage.{format}"]["get"]["parameters"]
    assert {p["name"]: p["schema"] for p in manage}["method"]["enum"] == ["bounces"]


def test_legacy_answers_are_their_own_shapes(schema):
    schemas = schema["components"]["schemas"]
    assert schemas["LegacyError"]["required"] == ["message"]
    for path in EXPECTED:
        for operation in schema["paths"][path].values():
            responses = operation["responses"]
            assert {"200", "400", "401", "403", "404", "429"} <= set(responses), path
            for code, response in responses.items():
                assert set(response["content"]) == {"application/json", "text/xml"}
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.startswith("#/components/schemas/Legacy"), (path, code)
            assert "Retry-After" in responses["429"]["headers"]
            assert operation["security"] == []
    count = schema["paths"]["/api/bounces.count.{format}"]["get"]["responses"]["200"]
    assert count["content"]["application/json"]["schema"]["$ref"].endswith("/LegacyCount")
    delete = schema["paths"]["/api/bounces.delete.{format}"]["post"]["responses"]
    assert delete["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/LegacyDeletionRequested"
    )
    assert "409" in delete


def test_the_legacy_tag_says_deletes_are_requests(schema):
    *others, tag = schema["tags"]  # last on the docs page, after the surfaces of today
    assert tag["name"] == "legacy"
    assert "pending an approver" in tag["description"]
    assert {"api", "sendgrid-v3"} <= {t["name"] for t in others}


def test_the_drf_surfaces_keep_their_common_errors(schema):
    responses = schema["paths"]["/api/v1/subusers/"]["get"]["responses"]
    ref = responses["401"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ApiErrors"


def test_the_schema_validates(schema):
    validate_schema(schema)  # drf-spectacular's own check against the OpenAPI 3.0 JSON schema
    validate_spec(schema)


class _Recording(QueryDict):
    read: set[str] = set()

    def get(self, key, default=None):
        _Recording.read.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        _Recording.read.add(key)
        return super().getlist(key, default)


def test_the_views_read_exactly_the_documented_parameters(client, monkeypatch):
    """Each endpoint called down its longest branches, noting every parameter it reads."""
    acme = make_subuser("acme")
    make_bounce(acme, "a@example.com")
    make_bounce(acme, "b@example.com")
    make_bounce(acme, "c@example.com")
    _, secret = api_token_create(make_user("rita", role="requester"), name="spy")
    original = views.merged

    def recording(request):
        params = _Recording(mutable=True)
        for key, values in original(request).lists():
            params.setlist(key, values)
        return params

    monkeypatch.setattr(views, "merged", recording)
    auth = {"api_user": "rita", "api_key": secret, "user": "acme"}
    calls = {
        "/api/bounces.get.json": [{"date": "1"}],
        "/api/bounces.count.json": [{}],
        "/api/bounces.delete.json": [{"email": "a@example.com"}],
        "/api/user.bounces.json": [{"task": "get"}, {"task": "delete", "email": "b@example.com"}],
        "/api/distributor.manage.json": [
            {"method": "bounces", "task": "get"},
            {"method": "bounces", "task": "delete", "email": "c@example.com"},
        ],
    }
    for url, variants in calls.items():
        _Recording.read = set()
        for params in variants:
            assert client.post(url, {**auth, **params}).status_code == 200, (url, params)
        path = url.removesuffix("json") + "{format}"
        assert _Recording.read == EXPECTED[path] | AUTH, url
