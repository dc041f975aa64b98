"""Findings of a security review of sign-in and the second factor, each held here: a session
alone never approves, the provider's transport and metadata are checked, a provider identity is
never linked to a superuser by email, roles are cumulative for the factor, a provider's check is
as old as its auth_time, failed codes are audited bounded, odd claims fail the sign-in cleanly."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bounceadmin.accounts.mfa.session import CHECKED, SIGNED_IN_AT
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.totp import code_for, steady_step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings, monkeypatch):
    settings.MFA_REQUIRED_ROLES = ["approver", "admin"]
    settings.MFA_REAUTH_MINUTES = 15
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    monkeypatch.setattr(services, "publish", lambda *a: True)  # no broker needed to approve


@pytest.fixture
def pending():
    acme = make_subuser("acme")
    make_bounce(acme, "a@example.com")
    rita = make_user("rita", role="requester")
    [request] = services.deletion_request_create(
        user=rita, bounces=Bounce.objects.all(), justification="customer fixed DNS"
    )
    return request


def _state(request) -> str:
    return DeletionRequest.objects.get(pk=request.pk).state


def _sso_user(name: str, role: str = "approver"):
    user = make_user(name, role=role)
    user.set_unusable_password()
    user.save()
    return user


def _session_set(client, **values) -> None:
    session = client.session
    session.update(values)
    session.save()


# --- 1. a session alone never approves ---------------------------------------------------------


def test_a_fresh_provider_check_counts_for_an_sso_user_without_an_authenticator(client, pending):
    sso = _sso_user("sso")
    client.force_login(sso)
    _session_set(client, **{CHECKED: {"at": time.time(), "method": "provider"}})

    client.post(f"/deletions/{pending.pk}/approve/", {"comment": ""})

    assert _state(pending) == "approved"


def test_a_stale_provider_check_sends_an_sso_user_without_a_factor_to_set_one_up(pending):
    sso = _sso_user("sso")
    stale = timezone.now() - timedelta(minutes=16)

    with pytest.raises(services.SecondFactorNeeded, match="set up an authenticator"):
        services.deletion_approve(request_id=pending.pk, user=sso, factor_checked_at=stale)
    services.deletion_approve(request_id=pending.pk, user=sso, factor_checked_at=timezone.now())
    assert _state(pending) == "approved"


def test_an_old_sso_session_cannot_set_up_a_first_factor_and_approve(client, pending):
    sso = _sso_user("sso")
    client.force_login(sso)  # a session signed in long ago, left open or stolen
    _session_set(client, **{SIGNED_IN_AT: time.time() - 16 * 60})
    steady_step()

    page = client.get("/accounts/two-factor/setup/")
    assert page.status_code == 403 and b"Sign in again first" in page.content
    posted = client.post("/accounts/two-factor/setup/", {"code": "123456"})
    assert posted.status_code == 403 and not TOTPDevice.objects.exists()
    client.post(f"/deletions/{pending.pk}/approve/", {"comment": ""})
    assert _state(pending) == "pending"
    assert not AuditEvent.objects.filter(action="auth.mfa_enrolled").exists()

    # the way out: signed out, and back through the provider to the setup page
    again = client.post(
        "/accounts/two-factor/sign-in-again/",
        {"next": "/accounts/two-factor/setup/?next=/deletions/"},
    )
    assert again.status_code == 302
    assert again.url.startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in client.session


def test_sign_in_again_goes_through_the_provider_when_single_sign_on_is_on(client, settings):
    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "c", "s"
    client.force_login(_sso_user("sso"))

    again = client.post(
        "/accounts/two-factor/sign-in-again/", {"next": "/accounts/two-factor/setup/"}
    )

    assert again.url == "/accounts/oidc/login/?next=%2Faccounts%2Ftwo-factor%2Fsetup%2F"
    assert "_auth_user_id" not in client.session


def test_a_fresh_sso_sign_in_may_set_up_a_first_factor_and_the_proof_is_audited(client):
    sso = _sso_user("sso")
    client.force_login(sso)  # signs in now: the session records when
    assert client.session[SIGNED_IN_AT] == pytest.approx(time.time(), abs=5)
    steady_step()
    client.get("/accounts/two-factor/setup/")
    key = client.session["mfa_setup_key"]

    done = client.post("/accounts/two-factor/setup/", {"code": code_for(key)})

    assert done.status_code == 200 and TOTPDevice.objects.filter(user=sso, confirmed=True).exists()
    enrolled = AuditEvent.objects.get(action="auth.mfa_enrolled")
    assert enrolled.details["proof"] == ["recent sign-in"]


# --- 2. the provider over https only, and its discovery checked ------------------------------


@pytest.mark.parametrize(
    ("issuer", "refused"),
    [
        ("http://192.0.2.2:8080/realms/ops", True),
        ("http://id.example", True),
        ("ftp://id.example", True),
        ("https://id.example/realms/ops", False),
        ("http://127.0.0.1:8080", False),
        ("http://[::1]:8080", False),
        ("http://localhost:8080", False),
    ],
)
def test_start_refuses_an_issuer_not_over_https_but_on_loopback(settings, issuer, refused):
    from bounceadmin.accounts.checks import mfa_settings_check

    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "c", "s"

    ids = [e.id for e in mfa_settings_check()]

    assert ("accounts.E007" in ids) is refused


class _Discovery(BaseHTTPRequestHandler):
    """A provider on loopback whose discovery document says what the test sets."""

    document: dict = {}

    def do_GET(self):
        body = json.dumps(self.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def discovery(settings):
    server = HTTPServer(("127.0.0.1", 0), _Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.OIDC_ISSUER = base
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "c", "s"
    yield base
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "http://127.0.0.1:1"},
        {"issuer": "https://attacker.example"},
        {"authorization_endpoint": "http://192.0.2.2/auth"},
        {"token_endpoint": "http://192.0.2.2/token"},
        {"jwks_uri": "http://id.example/jwks"},
    ],
)
def test_sign_in_fails_when_discovery_names_another_issuer_or_an_endpoint_in_clear(
    client, discovery, change
):
    _Discovery.document = {
        "issuer": discovery,
        "authorization_endpoint": discovery + "/auth",
        "token_endpoint": discovery + "/token",
        "jwks_uri": discovery + "/jwks",
        **change,
    }

    start = client.get("/accounts/oidc/login/")
    back = client.get("/accounts/oidc/callback/?code=x&state=y")

    assert start.status_code == 400 and b"provider misconfigured" in start.content
    assert back.status_code == 400 and b"provider misconfigured" in back.content
    failed = AuditEvent.objects.filter(action="auth.login_failed").order_by("pk")
    assert [e.details["reason"] for e in failed] == ["provider misconfigured"] * 2


def test_a_consistent_loopback_discovery_starts_the_sign_in(client, discovery):
    _Discovery.document = {
        "issuer": discovery,
        "authorization_endpoint": discovery + "/auth",
        "token_endpoint": discovery + "/token",
        "jwks_uri": discovery + "/jwks",
    }

    start = client.get("/accounts/oidc/login/")

    assert start.status_code == 302 and start["Location"].startswith(discovery + "/auth?")


# --- 3. an email never links a provider identity to a superuser; every link audited -----------


def test_a_verified_email_never_links_a_provider_identity_to_a_superuser(django_user_model):
    from bounceadmin.accounts.models import OidcIdentity
    from bounceadmin.accounts.oidc.claims import Identity
    from bounceadmin.accounts.oidc.services import oidc_user_resolve

    root = django_user_model.objects.create_superuser("root", "root@corp.example", "pw-xyz-123")
    claims = {"iss": "https://id.example", "sub": "attacker-1", "email": "ROOT@corp.example",
              "email_verified": True, "preferred_username": "mallory"}  # fmt: skip

    outcome = oidc_user_resolve(identity=Identity.from_claims(claims))

    assert outcome.user != root and outcome.matched_by == "new" and outcome.refusal == "no_role"
    assert not OidcIdentity.objects.filter(user=root).exists()
    linked = AuditEvent.objects.get(action="auth.sso_linked")
    assert linked.details == {
        "issuer": "https://id.example",
        "subject": "attacker-1",
        "user": "mallory",
        "matched_by": "new",
    }


def test_an_operator_is_still_linked_by_verified_email_and_the_link_audited():
    from bounceadmin.accounts.oidc.claims import Identity
    from bounceadmin.accounts.oidc.services import oidc_user_resolve

    olga = make_user("olga", role="viewer", email="olga@example.com")
    claims = {"iss": "https://id.example", "sub": "o-1", "email": "olga@example.com",
              "email_verified": True}  # fmt: skip

    outcome = oidc_user_resolve(identity=Identity.from_claims(claims))
    again = oidc_user_resolve(identity=Identity.from_claims(claims))

    assert outcome.user == olga and outcome.matched_by == "email" and again.matched_by == "subject"
    [linked] = AuditEvent.objects.filter(action="auth.sso_linked")  # once: the link, not reuse
    assert linked.actor == olga
    assert linked.details == {"issuer": "https://id.example", "subject": "o-1", "user": "olga",
                              "matched_by": "email"}  # fmt: skip


# --- 4. roles are cumulative for the factor too ------------------------------------------------


def test_listing_approver_requires_a_factor_of_admins_and_superusers(
    settings, pending, django_user_model
):
    from bounceadmin.accounts.mfa.policy import factor_required

    settings.MFA_REQUIRED_ROLES = ["approver"]
    ada = make_user("ada", role="admin")  # no factor at all
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123-root")

    for user in (ada, root):
        with pytest.raises(services.SecondFactorNeeded, match="set up an authenticator"):
            services.deletion_approve(request_id=pending.pk, user=user)
    assert _state(pending) == "pending"
    assert factor_required(make_user("arne", role="approver"))
    assert not factor_required(make_user("rhea", role="requester"))
    settings.MFA_REQUIRED_ROLES = ["admin"]
    assert factor_required(root) and factor_required(ada)
    assert not factor_required(make_user("arlo", role="approver"))
    settings.MFA_REQUIRED_ROLES = []
    assert not factor_required(root)


# --- 5. a provider's check is as old as its auth_time; max_age asks it to re-authenticate -----


def _provider_sign_in(settings, user, claims):
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from bounceadmin.accounts.oidc.views import _sign_in

    settings.OIDC_MFA_AMR = ["otp"]
    request = RequestFactory().get("/accounts/oidc/callback/")
    request.session = SessionStore()
    _sign_in(request, user, claims)
    return request


def test_a_providers_check_counts_from_its_auth_time_not_from_the_sign_in(settings, pending):
    from bounceadmin.accounts.mfa.session import checked_at, checked_by

    sso = _sso_user("sso")
    long_ago = time.time() - 3600
    old = _provider_sign_in(settings, sso, {"amr": ["pwd", "otp"], "auth_time": int(long_ago)})
    assert checked_by(old) == "provider"
    assert checked_at(old).timestamp() == pytest.approx(int(long_ago))
    with pytest.raises(services.SecondFactorNeeded):
        services.deletion_approve(
            request_id=pending.pk, user=sso, factor_checked_at=checked_at(old)
        )

    recent = _provider_sign_in(settings, sso, {"amr": "otp", "auth_time": int(time.time()) - 60})
    services.deletion_approve(request_id=pending.pk, user=sso, factor_checked_at=checked_at(recent))
    assert _state(pending) == "approved"


def test_a_future_or_odd_auth_time_never_makes_a_check_fresher_than_now(settings):
    from bounceadmin.accounts.mfa.session import checked_at

    sso = _sso_user("sso")
    future = _provider_sign_in(settings, sso, {"amr": "otp", "auth_time": time.time() + 3600})
    assert checked_at(future).timestamp() <= time.time()
    huge = _provider_sign_in(settings, sso, {"amr": "otp", "auth_time": 10**20})
    assert checked_at(huge).timestamp() <= time.time()
    odd = _provider_sign_in(settings, sso, {"amr": "otp", "auth_time": True})
    assert checked_at(odd).timestamp() == pytest.approx(time.time(), abs=5)


def test_the_authorization_request_asks_for_a_recent_authentication(client, discovery, settings):
    settings.MFA_REAUTH_MINUTES = 10
    _Discovery.document = {
        "issuer": discovery,
        "authorization_endpoint": discovery + "/auth",
        "token_endpoint": discovery + "/token",
        "jwks_uri": discovery + "/jwks",
    }

    start = client.get("/accounts/oidc/login/")

    assert "max_age=600" in start["Location"]


# --- 6. refused codes are audited bounded, like failed logins ---------------------------------


def test_refused_codes_are_audited_bounded_per_user_and_hour(settings):
    from bounceadmin.accounts.mfa.services import factor_check

    settings.LOGIN_FAILURE_AUDIT_PER_HOUR = 5
    arne = make_user("arne", role="approver")
    for _ in range(150):
        factor_check(user=arne, code="zzzzzzzz", purpose="API decision", allow_recovery=False)
    factor_check(user=make_user("ada", role="admin"), code="123456", purpose="check again")

    failed = AuditEvent.objects.filter(action="auth.mfa_failed").order_by("pk")
    by_arne = [e.details for e in failed if e.actor_name == "arne"]
    assert len(by_arne) == 7  # the first five, then the 10th and the 100th
    assert by_arne[0] == {"purpose": "API decision", "throttled": False}
    assert [d.get("failures_this_hour") for d in by_arne[-2:]] == [10, 100]
    assert [e.actor_name for e in failed].count("ada") == 1  # one user never uses another's


# --- 7. odd claims fail the sign-in, audited, never a 500 (PostgreSQL refuses NUL and length) --


class _Provider:
    """The provider's answer at the callback, as authlib hands it over once verified."""

    def __init__(self, claims):
        self.claims = claims

    def authorize_access_token(self, request):
        return {"userinfo": self.claims}


GOOD = {"iss": "https://id.example", "sub": "s-1", "email": "olga@example.com",
        "email_verified": True, "preferred_username": "olga.p"}  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"sub": "s" * 256},
        {"iss": "https://id.example/" + "i" * 240},
        {"email": "o" * 243 + "@example.com"},
        {"sub": "s-\x00-1"},
        {"email": "olga\x00@example.com"},
        {"preferred_username": "olga\x00"},
        {"sub": 42},
        {"email": ["olga@example.com"]},
    ],
)
def test_unusable_claims_fail_the_sign_in_audited(client, settings, monkeypatch, change):
    from bounceadmin.accounts.models import OidcIdentity
    from bounceadmin.accounts.oidc import views

    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "c", "s"
    make_user("olga", role="viewer", email="olga@example.com")
    monkeypatch.setattr(views, "oidc_client", lambda: _Provider({**GOOD, **change}))

    response = client.get("/accounts/oidc/callback/?code=x&state=y")

    assert response.status_code == 400 and b"unusable claims" in response.content
    assert "_auth_user_id" not in client.session and not OidcIdentity.objects.exists()
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.details == {"username": "", "method": "oidc", "reason": "unusable claims"}


def test_claims_at_the_limits_still_sign_in(client, settings, monkeypatch):
    from bounceadmin.accounts.oidc import views

    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "c", "s"
    email = "o" * 242 + "@example.com"  # 254
    olga = make_user("olga", role="viewer", email=email)
    claims = {**GOOD, "sub": "s" * 255, "email": email}
    monkeypatch.setattr(views, "oidc_client", lambda: _Provider(claims))

    response = client.get("/accounts/oidc/callback/?code=x&state=y")

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(olga.pk)


# --- 8. approving all of a subuser sends a stale check to the check, not to a 500 ---------------


def test_approve_subuser_redirects_to_the_check_when_the_service_refuses(
    client, pending, monkeypatch
):
    from bounceadmin.accounts.mfa import decorators

    arne = make_user("arne", role="approver")
    client.force_login(arne)
    # the check goes stale between the page's look and the service's (the decorator let it by)
    monkeypatch.setattr(decorators, "decision_need", lambda user, at: None)

    response = client.post(
        "/deletions/approve-subuser/", {"subuser": "acme", "request": [pending.pk]}
    )

    assert response.status_code == 302
    assert response.url.startswith("/accounts/two-factor/setup/?next=")
    assert response.url.endswith("%2Fdeletions%2Fapprove-subuser%2F%3Fsubuser%3Dacme")
    assert _state(pending) == "pending"


# --- 1, end to end: through the provider again, then the setup ---------------------------------


def test_an_sso_user_signs_in_again_through_the_provider_then_sets_up_a_factor(client, oidc):
    from tests.support.oidc import at_provider, local_path, provider_user

    at_provider_ = provider_user(oidc, "sso.p", email="sso@example.com")
    sso = make_user("sso", role="approver", email="sso@example.com")
    sso.set_unusable_password()
    sso.save()
    oidc.login(at_provider_)
    oidc.consent(at_provider_)
    client.get(local_path(at_provider(client.get("/accounts/oidc/login/").url).headers["Location"]))
    assert client.session["_auth_user_id"] == str(sso.pk)
    _session_set(client, **{SIGNED_IN_AT: time.time() - 16 * 60})  # that sign-in, long ago
    assert client.get("/accounts/two-factor/setup/").status_code == 403

    again = client.post(
        "/accounts/two-factor/sign-in-again/", {"next": "/accounts/two-factor/setup/"}
    )
    assert again.url.startswith("/accounts/oidc/login/") and "_auth_user_id" not in client.session
    start = client.get(again.url)
    assert "max_age=900" in start.url
    back = client.get(local_path(at_provider(start.url).headers["Location"]))

    assert back.status_code == 302 and back.url == "/accounts/two-factor/setup/"
    steady_step()
    assert client.get(back.url).status_code == 200
    done = client.post(back.url, {"code": code_for(client.session["mfa_setup_key"])})
    assert done.status_code == 200 and TOTPDevice.objects.filter(user=sso, confirmed=True).exists()
    assert AuditEvent.objects.get(action="auth.mfa_enrolled").details["proof"] == ["recent sign-in"]
