"""API tokens: made on the account page or by command, shown once, stored hashed, acting with
their operator's role and scope, expiring, revocable, throttled, audited."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bounceadmin.api.models import ApiToken
from bounceadmin.api.tokens import api_token_create
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser, make_user

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def subusers():
    return make_subuser("acme"), make_subuser("beta")


def test_the_page_shows_a_new_token_once_and_stores_only_its_digest(client):
    user = make_user("vera", role="viewer")
    client.force_login(user)
    response = client.post("/accounts/tokens/", {"name": "support tool", "expires_days": "30"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user)
    secret = response.context["secret"]
    assert secret.startswith("ba_") and secret in response.content.decode()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.digest != secret and token.prefix == secret[:10]
    assert abs((token.expires_at - timezone.now()) - timedelta(days=30)) < timedelta(minutes=1)
    listing = client.get("/accounts/tokens/").content.decode()
    assert "support tool" in listing and secret not in listing
    assert response["Cache-Control"].startswith("private")


def test_the_page_refuses_a_duplicate_or_empty_name(client):
    user = make_user("vera", role="viewer")
    client.force_login(user)
    client.post("/accounts/tokens/", {"name": "cli"})
    assert client.post("/accounts/tokens/", {"name": "cli"}).status_code == 400
    assert client.post("/accounts/tokens/", {"name": "  "}).status_code == 400
    assert client.post("/accounts/tokens/", {"name": "x", "expires_days": "0"}).status_code == 400
    assert ApiToken.objects.count() == 1


def test_an_operator_revokes_only_their_own_tokens(client, subusers):
    vera, other = make_user("vera", role="viewer"), make_user("otto", role="viewer")
    mine, secret = api_token_create(vera, name="mine")
    theirs, _ = api_token_create(other, name="theirs")
    client.force_login(vera)
    assert client.post("/accounts/tokens/", {"revoke": str(theirs.pk)}).status_code == 404
    assert client.post("/accounts/tokens/", {"revoke": str(mine.pk)}).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    client.logout()
    assert client.get("/api/v1/subusers/", **bearer(secret)).status_code == 401


def test_the_page_needs_a_login(client):
    assert client.get("/accounts/tokens/").status_code == 302


def test_the_command_prints_the_token_as_its_last_line(client, subusers):
    make_user("scripter", role="requester")
    out = StringIO()
    call_command("add_api_token", "scripter", "--name", "cron", "--expires-days", "7", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    response = client.get("/api/v1/subusers/", **bearer(secret))
    assert response.status_code == 200
    with pytest.raises(CommandError):
        call_command("add_api_token", "scripter", "--name", "cron", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("add_api_token", "nobody", "--name", "x", stdout=StringIO())


def test_a_token_acts_with_its_operators_scope(client, subusers):
    acme, _ = subusers
    user = make_user("scoped", role="viewer", subusers=[acme])
    _, secret = api_token_create(user, name="t")
    response = client.get("/api/v1/subusers/", **bearer(secret))
    assert [s["username"] for s in response.json()] == ["acme"]


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "revoked", "inactive user"])
def test_a_request_without_a_usable_token_is_401(client, subusers, case):
    user = make_user("vera", role="viewer")
    token, secret = api_token_create(user, name="t", expires_days=1)
    if case == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    elif case == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif case == "inactive user":
        user.is_active = False
        user.save()
    headers = {} if case == "missing" else bearer("ba_not-a-token" if case == "garbage" else secret)
    response = client.get("/api/v1/subusers/", **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_without_a_role_is_403(client, subusers):
    user = make_user("norole", role=None)
    _, secret = api_token_create(user, name="t")
    response = client.get("/api/v1/subusers/", **bearer(secret))
    assert response.status_code == 403
    assert "viewer" in response.json()["errors"][0]["message"]


def test_each_token_is_throttled_with_retry_after(client, monkeypatch, subusers):
    from rest_framework.throttling import SimpleRateThrottle

    # The class attribute the throttle reads its rate from, restored after the test (reloading
    # DRF's settings in a `finally` left the test's rate behind for later tests).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    user = make_user("vera", role="viewer")
    _, first = api_token_create(user, name="one")
    _, second = api_token_create(user, name="two")
    codes = [client.get("/api/v1/subusers/", **bearer(first)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = client.get("/api/v1/subusers/", **bearer(first))
    assert int(throttled["Retry-After"]) > 0
    assert client.get("/api/v1/subusers/", **bearer(second)).status_code == 200


def test_creating_and_revoking_are_audited_by_name_never_with_the_secret(client):
    user = make_user("vera", role="viewer")
    client.force_login(user)
    response = client.post("/accounts/tokens/", {"name": "audited"})
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    client.post("/accounts/tokens/", {"revoke": str(token.pk)})
    events = AuditEvent.objects.filter(action__startswith="api.token").order_by("at", "id")
    assert [(e.action, e.details["token"], e.actor_name) for e in events] == [
        ("api.token_created", "audited", "vera"),
        ("api.token_revoked", "audited", "vera"),
    ]
    assert secret not in json.dumps(list(events.values("details")))


def test_the_schema_and_docs_need_a_login_and_ship_their_assets(client):
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/docs/").status_code in (302, 401, 403)
    client.force_login(make_user("vera", role="viewer"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/subusers/" in schema.json()["paths"]
    docs = client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in docs
    assert "https://" not in docs.split("<body")[0]  # no CDN
