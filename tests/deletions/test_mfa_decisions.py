"""Four-eyes with a second factor: an approver whose role needs one (MFA_REQUIRED_ROLES) decides
only with a factor checked within MFA_REAUTH_MINUTES, on every path: the pages (approve, reject,
approve all of a subuser), the API, and the service they all call."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.accounts.mfa.session import CHECKED
from bounceadmin.api.tokens import api_token_create
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.totp import code_for, give_factor, steady_step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings, monkeypatch):
    settings.MFA_REQUIRED_ROLES = ["approver", "admin"]
    settings.MFA_REAUTH_MINUTES = 15
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    monkeypatch.setattr(services, "publish", lambda *a: True)  # no broker needed to approve
    steady_step()


@pytest.fixture
def pending():
    acme = make_subuser("acme")
    for i in range(3):
        make_bounce(acme, f"a{i}@example.com")
    rita = make_user("rita", role="requester")
    return [
        services.deletion_request_create(
            user=rita, bounces=Bounce.objects.filter(email=f"a{i}@example.com"),
            justification="customer fixed DNS",
        )[0]
        for i in range(3)
    ]  # fmt: skip


def state(request) -> str:
    return DeletionRequest.objects.get(pk=request.pk).state


def check_session(client, minutes_ago: float) -> None:
    session = client.session
    session[CHECKED] = {"at": time.time() - minutes_ago * 60, "method": "totp"}
    session.save()


# --- the service, which every path calls -------------------------------------------------------


def test_the_service_refuses_an_approver_without_a_fresh_check(pending):
    arne = make_user("arne", role="approver")
    with pytest.raises(services.SecondFactorNeeded, match="set up an authenticator"):
        services.deletion_approve(request_id=pending[0].pk, user=arne)
    give_factor(arne)
    with pytest.raises(services.SecondFactorNeeded, match="within the last 15 minutes"):
        services.deletion_approve(request_id=pending[0].pk, user=arne)
    stale = timezone.now() - timedelta(minutes=16)
    with pytest.raises(services.SecondFactorNeeded):
        services.deletion_reject(
            request_id=pending[0].pk, user=arne, comment="no", factor_checked_at=stale
        )
    with pytest.raises(services.SecondFactorNeeded):
        services.deletion_approve_subuser(
            subuser=pending[0].subuser, user=arne, factor_checked_at=stale
        )
    assert state(pending[0]) == "pending"

    fresh = timezone.now() - timedelta(minutes=14)
    services.deletion_approve(request_id=pending[0].pk, user=arne, factor_checked_at=fresh)
    assert state(pending[0]) == "approved"


def test_roles_left_out_of_mfa_required_roles_decide_without_one(pending, settings):
    settings.MFA_REQUIRED_ROLES = ["admin"]
    arne = make_user("arne", role="approver")

    services.deletion_approve(request_id=pending[0].pk, user=arne)

    assert state(pending[0]) == "approved"
    ada = make_user("ada", role="admin")
    with pytest.raises(services.SecondFactorNeeded):
        services.deletion_approve(request_id=pending[1].pk, user=ada)


# --- the pages ---------------------------------------------------------------------------------


def test_pages_send_an_approver_without_a_factor_to_set_one_up(client, pending):
    client.force_login(make_user("arne", role="approver"))
    approve = f"/deletions/{pending[0].pk}/approve/"

    page = client.get(approve)
    posted = client.post(approve)
    rejected = client.post(f"/deletions/{pending[1].pk}/reject/", {"comment": "no"})
    subuser = client.post("/deletions/approve-subuser/", {"subuser": "acme"})

    assert (
        page.url == f"/accounts/two-factor/setup/?next=%2Fdeletions%2F{pending[0].pk}%2Fapprove%2F"
    )
    assert posted.url == page.url
    assert rejected.url.startswith("/accounts/two-factor/setup/?next=")
    assert f"%2Fdeletions%2F{pending[1].pk}%2F" in rejected.url  # back to the request's page
    assert subuser.url.endswith("next=%2Fdeletions%2Fapprove-subuser%2F%3Fsubuser%3Dacme")
    assert [state(r) for r in pending] == ["pending"] * 3
    shown = client.get(page.url)
    assert "needs a second factor for your role" in shown.content.decode()


def test_a_stale_check_is_asked_again_then_back_to_the_approval(client, pending):
    arne = make_user("arne", role="approver")
    device, _ = give_factor(arne)
    client.force_login(arne)
    check_session(client, minutes_ago=16)
    approve = f"/deletions/{pending[0].pk}/approve/"

    prompt = client.get(approve)

    assert prompt.url.startswith("/accounts/two-factor/verify/?next=")
    form = client.get(prompt.url)
    assert "older than 15 minutes" in form.content.decode()
    back = client.post(prompt.url, {"code": code_for(device.key)})
    assert back.url == approve
    assert client.get(approve).status_code == 200  # the confirmation page now
    done = client.post(approve, {"comment": "ok"})

    assert done.status_code == 302 and state(pending[0]) == "approved"
    assert AuditEvent.objects.filter(action="auth.mfa_verified", actor_name="arne").exists()


def test_a_recent_check_approves_and_rejects_at_once(client, pending):
    arne = make_user("arne", role="approver")
    give_factor(arne)
    client.force_login(arne)
    check_session(client, minutes_ago=14)

    client.post(f"/deletions/{pending[0].pk}/approve/")
    client.post(f"/deletions/{pending[1].pk}/reject/", {"comment": "not ours"})
    client.post("/deletions/approve-subuser/", {"subuser": "acme", "request": [pending[2].pk]})

    assert [state(r) for r in pending] == ["approved", "rejected", "approved"]


def test_signing_in_with_the_code_is_a_fresh_check(client, pending):
    arne = make_user("arne", "arne-password-1", role="approver")
    device, _ = give_factor(arne)
    client.post("/accounts/login/", {"username": "arne", "password": "arne-password-1"})
    client.post("/accounts/login/code/", {"code": code_for(device.key)})

    client.post(f"/deletions/{pending[0].pk}/approve/")

    assert state(pending[0]) == "approved"


# --- the API ------------------------------------------------------------------------------------


def api_decide(client, secret, request, verb="approve", **body):
    return client.post(
        f"/api/v1/deletion-requests/{request.pk}/{verb}",
        json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip


def test_the_api_refuses_an_approver_without_a_factor(client, pending):
    _, secret = api_token_create(make_user("arne", role="approver"), name="script")

    response = api_decide(client, secret, pending[0], otp_code="123456")

    assert response.status_code == 403
    assert "set up an authenticator" in json.dumps(response.json())
    assert state(pending[0]) == "pending"


def test_the_api_takes_a_current_code_once(client, pending):
    arne = make_user("arne", role="approver")
    device, recovery = give_factor(arne)
    _, secret = api_token_create(arne, name="script")

    without = api_decide(client, secret, pending[0])
    wrong = api_decide(client, secret, pending[0], otp_code="12345x")
    recovery_code = api_decide(client, secret, pending[0], otp_code=recovery[0])
    code = code_for(device.key)
    approved = api_decide(client, secret, pending[0], otp_code=code, comment="ok")
    replayed = api_decide(client, secret, pending[1], otp_code=code)
    after_replay = state(pending[1])
    rejected = api_decide(
        client, secret, pending[1], "reject", otp_code=code_for(device.key, 1), comment="no"
    )

    assert without.status_code == 403 and "otp_code" in json.dumps(without.json())
    assert wrong.status_code == 403 and "not right" in json.dumps(wrong.json())
    assert recovery_code.status_code == 403  # recovery codes are for the browser
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert replayed.status_code == 403 and after_replay == "pending"
    assert rejected.status_code == 200 and state(pending[1]) == "rejected"
    checks = AuditEvent.objects.filter(action="auth.mfa_verified", actor_name="arne")
    assert checks.count() == 2 and checks.first().details["api_token"] == "script"
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor_name="arne").count() == 3


def test_the_api_from_a_browser_session_counts_its_recent_check(client, pending):
    arne = make_user("arne", role="approver")
    give_factor(arne)
    client.force_login(arne)
    url = f"/api/v1/deletion-requests/{pending[0].pk}/approve"

    check_session(client, minutes_ago=16)
    stale = client.post(url, "{}", content_type="application/json")
    check_session(client, minutes_ago=1)
    fresh = client.post(url, "{}", content_type="application/json")

    assert stale.status_code == 403 and fresh.status_code == 200
