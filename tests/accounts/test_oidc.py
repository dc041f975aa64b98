"""Single sign-on against a real OpenID Connect provider over HTTP (tests/support/oidc.py):
discovery, the code flow with PKCE, state and nonce, matching, roles from a claim, refusals,
each audited."""

import datetime
from functools import partial

import pytest
import pytest_iam
from canaille.app.session import UserSession

from bounceadmin.accounts.models import OidcIdentity
from bounceadmin.accounts.roles import role_of
from bounceadmin.accounts.services import operator_assign
from bounceadmin.api.tokens import api_token_create
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_user
from tests.support.oidc import (
    at_provider,
    group_join,
    group_leave,
    local_path,
    provider_user,
    sso_round_trip,
)
from tests.support.totp import code_for, give_factor, steady_step

pytestmark = pytest.mark.django_db


def _signed_in(client):
    return client.session.get("_auth_user_id")


def _failures():
    failed = AuditEvent.objects.filter(action="auth.login_failed").order_by("pk")
    return list(failed.values_list("details", flat=True))


def _role(user):
    """Read again: a user object caches its permissions."""
    return role_of(type(user).objects.get(pk=user.pk))


def _last_login():
    return AuditEvent.objects.filter(action="auth.login").order_by("pk").last()


def test_sso_signs_in_a_user_matched_by_verified_email_and_links_the_subject(client, oidc):
    olga = make_user("olga", role="viewer", email="olga@example.com")
    at_provider_ = provider_user(oidc, "olga.p", email="olga@example.com")

    response, _ = sso_round_trip(client, oidc, at_provider_, next_url="/bounces/")

    assert response.status_code == 302 and response.url == "/bounces/"
    assert _signed_in(client) == str(olga.pk)
    assert OidcIdentity.objects.get(user=olga).subject == "olga.p"
    login = _last_login()
    assert login.actor == olga and login.details == {"method": "oidc", "matched_by": "email"}


def test_sso_matches_by_subject_once_linked_even_when_the_email_changes(client, oidc):
    olga = make_user("olga", role="viewer", email="olga@example.com")
    make_user("other", role="admin", email="new@example.com")
    user = provider_user(oidc, "olga.s", email="olga@example.com")
    sso_round_trip(client, oidc, user)
    client.logout()
    user.emails = ["new@example.com"]  # now another local user's address
    oidc.backend.save(user)

    sso_round_trip(client, oidc, user)

    assert _signed_in(client) == str(olga.pk)


def test_sso_unknown_identity_gets_no_access_until_an_admin_grants_a_role(client, oidc):
    make_user("mallory", role="admin", email="shared@example.com")
    stranger = provider_user(oidc, "unverified.ned", email="shared@example.com")

    response, _ = sso_round_trip(client, oidc, stranger)

    # an unverified address links to no one: a new user without a role, and no session
    assert response.status_code == 403
    assert b"has no role yet" in response.content
    assert _signed_in(client) is None
    [identity] = OidcIdentity.objects.filter(subject="unverified.ned")
    assert identity.user.username == "unverified.ned" and role_of(identity.user) is None
    assert not identity.user.has_usable_password()
    assert _failures()[-1] == {
        "username": "unverified.ned",
        "method": "oidc",
        "reason": "no role here",
    }

    operator_assign(user=identity.user, role="viewer", subusers=None)
    response, _ = sso_round_trip(client, oidc, stranger)

    assert response.status_code == 302 and _signed_in(client) == str(identity.user.pk)


def test_sso_refuses_a_bad_state_and_signs_no_one_in(client, oidc):
    make_user("olga", role="viewer", email="olga@example.com")
    user = provider_user(oidc, "olga.b", email="olga@example.com")
    oidc.login(user)
    oidc.consent(user)
    start = client.get("/accounts/oidc/login/")
    back = local_path(at_provider(start.url).headers["Location"])

    response = client.get(back.replace("state=", "state=forged"))

    assert response.status_code == 400 and b"state mismatch" in response.content
    assert _signed_in(client) is None
    assert _failures() == [{"username": "", "method": "oidc", "reason": "state mismatch"}]


def test_sso_refuses_a_replayed_code(client, oidc):
    make_user("olga", role="viewer", email="olga@example.com")
    user = provider_user(oidc, "olga.r", email="olga@example.com")
    oidc.login(user)
    oidc.consent(user)
    start = client.get("/accounts/oidc/login/")
    back = local_path(at_provider(start.url).headers["Location"])
    pending = {k: v for k, v in client.session.items() if k.startswith("_state_")}
    assert client.get(back).status_code == 302
    client.logout()

    # the same callback again: its state was used up
    assert client.get(back).status_code == 400
    # and with the state put back, the provider itself refuses the used code
    session = client.session
    session.update(pending)
    session.save()
    response = client.get(back)

    assert response.status_code == 400
    assert _signed_in(client) is None
    assert [d["reason"] for d in _failures()] == ["state mismatch", "provider error: invalid_grant"]


def test_sso_provider_error_is_audited_without_its_free_text(client, oidc):
    client.get("/accounts/oidc/login/")
    key = next(k for k in client.session.keys() if k.startswith("_state_oidc_"))  # noqa: SIM118
    state = key.removeprefix("_state_oidc_")

    response = client.get(
        f"/accounts/oidc/callback/?error=access_denied&error_description=secret+stuff&state={state}"
    )

    assert response.status_code == 400
    assert _failures() == [
        {"username": "", "method": "oidc", "reason": "provider error: access_denied"}
    ]


def test_sso_role_claim_is_read_again_at_each_sign_in(client, oidc, settings):
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = {"bounce-approvers": "approver", "bounce-viewers": "viewer"}
    user = provider_user(oidc, "paula", groups=["bounce-approvers", "bounce-viewers", "cooks"])

    sso_round_trip(client, oidc, user)
    paula = OidcIdentity.objects.get(subject="paula").user
    assert _role(paula) == "approver" and paula.operator.all_subusers

    client.logout()
    group_leave(oidc, user, "bounce-approvers")
    sso_round_trip(client, oidc, user)
    assert _role(paula) == "viewer" and _signed_in(client) == str(paula.pk)

    client.logout()
    group_leave(oidc, user, "bounce-viewers")
    response, _ = sso_round_trip(client, oidc, user)
    assert response.status_code == 403 and _signed_in(client) is None
    assert _role(paula) is None
    changes = [
        (e.details["before"].get("role"), e.details["after"].get("role"))
        for e in AuditEvent.objects.filter(action="operator.role_changed").order_by("pk")
    ]
    assert changes == [(None, "approver"), ("approver", "viewer"), ("viewer", None)]

    group_join(oidc, user, "bounce-viewers")
    sso_round_trip(client, oidc, user)
    assert _role(paula) == "viewer"


def test_sso_user_locked_at_the_provider_is_not_signed_in(client, oidc):
    make_user("olga", role="viewer", email="olga@example.com")
    user = provider_user(oidc, "olga.l", email="olga@example.com")
    sso_round_trip(client, oidc, user)
    client.logout()
    user.lock_date = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    oidc.backend.save(user)

    oidc.login(user)
    start = client.get("/accounts/oidc/login/")
    # the provider's open session still answers with a code; its token endpoint refuses it
    response = client.get(local_path(at_provider(start.url).headers["Location"]))

    assert response.status_code == 400
    assert _signed_in(client) is None
    assert _failures()[-1]["reason"] == "provider error: invalid_grant"


def test_sso_user_disabled_here_is_refused(client, oidc):
    make_user("olga", role="viewer", email="olga@example.com", is_active=False)
    user = provider_user(oidc, "olga.d", email="olga@example.com")

    response, _ = sso_round_trip(client, oidc, user)

    assert response.status_code == 403 and b"is disabled" in response.content
    assert _signed_in(client) is None
    assert _failures()[-1]["reason"] == "disabled here"


def test_local_login_false_leaves_only_single_sign_on_and_api_tokens(client, oidc, settings):
    settings.LOCAL_LOGIN = False
    settings.PASSWORD_RESET_ENABLED = True
    olga = make_user("olga", "olga-password-123", role="viewer", email="olga@example.com")
    _, secret = api_token_create(olga, name="ci")

    page = client.get("/accounts/login/")
    assert b"Sign in with single sign-on" in page.content
    assert b'name="password"' not in page.content and b"Forgot password" not in page.content
    refused = client.post("/accounts/login/", {"username": "olga", "password": "olga-password-123"})
    assert refused.status_code == 403 and _signed_in(client) is None
    assert client.get("/accounts/password_reset/").status_code == 404
    api = client.get("/api/v1/bounces/", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200

    response, _ = sso_round_trip(
        client, oidc, provider_user(oidc, "olga.o", email="olga@example.com")
    )
    assert response.status_code == 302 and _signed_in(client) == str(olga.pk)


def test_login_page_offers_no_single_sign_on_unless_configured(client, settings):
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    assert b"Sign in with" not in client.get("/accounts/login/").content
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404


def test_sso_user_with_a_factor_gives_the_code_unless_the_providers_amr_satisfies_it(
    client, oidc, settings, monkeypatch
):
    settings.MFA_REQUIRED_ROLES = ["approver"]
    arne = make_user("arne", role="approver", email="arne@example.com")
    device, _ = give_factor(arne)
    user = provider_user(oidc, "arne.p", email="arne@example.com")

    # the provider checked a password only: the code step, as after a local password
    response, _ = sso_round_trip(client, oidc, user, next_url="/deletions/")
    assert response.url == "/accounts/login/code/" and _signed_in(client) is None
    steady_step()
    done = client.post("/accounts/login/code/", {"code": code_for(device.bin_key.hex())})
    assert done.url == "/deletions/" and _signed_in(client) == str(arne.pk)
    login = _last_login()
    assert login.details == {
        "second_factor": "authenticator",
        "method": "oidc",
        "matched_by": "email",
    }

    # the provider says it checked a second factor, and OIDC_MFA_AMR accepts it: no code here
    client.logout()
    settings.OIDC_MFA_AMR = ["otp", "hwk"]
    monkeypatch.setattr(
        pytest_iam, "UserSession", partial(UserSession, authentication_methods=["password", "otp"])
    )
    response, _ = sso_round_trip(client, oidc, user)
    assert response.status_code == 302 and response.url == "/"
    assert _signed_in(client) == str(arne.pk)
    assert client.session["mfa_checked"]["method"] == "provider"
    login = _last_login()
    assert login.details == {
        "second_factor": "provider: pwd,otp,mfa",
        "method": "oidc",
        "matched_by": "subject",
    }


def test_sso_provider_unreachable_at_the_start_is_audited(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard: nothing listens
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "bounceadmin", "s3cret-value"

    response = client.get("/accounts/oidc/login/")

    assert response.status_code == 400 and b"provider unreachable" in response.content
    assert _failures() == [{"username": "", "method": "oidc", "reason": "provider unreachable"}]


def test_sso_subuser_claim_scopes_the_operator_to_the_subusers_it_lists(settings):
    from bounceadmin.accounts.oidc.claims import Identity
    from bounceadmin.accounts.oidc.services import oidc_user_resolve
    from bounceadmin.accounts.scoping import visible_subusers
    from tests.support.factories import make_subuser

    settings.OIDC_ROLE_CLAIM, settings.OIDC_SUBUSER_CLAIM = "roles", "subusers"
    settings.OIDC_ROLE_MAP = {"ops": "requester"}
    make_subuser("acme")
    make_subuser("globex")
    claims = {
        "iss": "https://id.example",
        "sub": "42",
        "roles": "ops",
        "subusers": ["acme", "nope"],
    }

    outcome = oidc_user_resolve(identity=Identity.from_claims(claims))

    assert outcome.refusal is None and outcome.matched_by == "new"
    assert [s.username for s in visible_subusers(outcome.user)] == ["acme"]
    claims["subusers"] = ["globex"]
    again = oidc_user_resolve(identity=Identity.from_claims(claims))
    user = type(again.user).objects.get(pk=again.user.pk)
    assert again.matched_by == "subject"
    assert [s.username for s in visible_subusers(user)] == ["globex"]


def test_sso_refuses_an_id_token_whose_nonce_is_not_this_sessions(client, oidc):
    make_user("olga", role="viewer", email="olga@example.com")
    user = provider_user(oidc, "olga.n", email="olga@example.com")
    oidc.login(user)
    oidc.consent(user)
    start = client.get("/accounts/oidc/login/")
    back = local_path(at_provider(start.url).headers["Location"])
    session = client.session
    key = next(k for k in session.keys() if k.startswith("_state_oidc_"))  # noqa: SIM118
    session[key]["data"]["nonce"] = "another-sessions-nonce"
    session.save()

    response = client.get(back)

    assert response.status_code == 400 and _signed_in(client) is None
    assert _failures() == [{"username": "", "method": "oidc", "reason": "token error"}]


def test_sso_factor_satisfied_only_by_the_configured_amr_or_acr_values(settings):
    from bounceadmin.accounts.oidc.claims import amr_satisfies_factor

    claims = {"amr": ["pwd", "otp"], "acr": "2"}
    assert not amr_satisfies_factor(claims)  # nothing configured: the code step here
    settings.OIDC_MFA_AMR = ["hwk"]
    assert not amr_satisfies_factor(claims)
    settings.OIDC_MFA_ACR = ["2"]
    assert amr_satisfies_factor(claims)
    settings.OIDC_MFA_ACR, settings.OIDC_MFA_AMR = [], ["otp"]
    assert amr_satisfies_factor(claims)
    assert not amr_satisfies_factor({"amr": "pwd"})


def test_sso_identity_shows_read_only_on_the_users_admin_page(admin_client):
    from bounceadmin.accounts.oidc.claims import Identity
    from bounceadmin.accounts.oidc.services import oidc_user_resolve

    claims = {"iss": "https://id.example", "sub": "subject-42", "preferred_username": "ned"}
    outcome = oidc_user_resolve(identity=Identity.from_claims(claims))

    page = admin_client.get(f"/admin/auth/user/{outcome.user.pk}/change/")

    assert page.status_code == 200
    assert b"Single sign-on identities" in page.content and b"subject-42" in page.content
    assert b'name="oidc_identities-0-subject"' not in page.content


def test_sso_role_claim_leaves_a_superuser_as_it_is(settings, django_user_model):
    from bounceadmin.accounts.oidc.claims import Identity
    from bounceadmin.accounts.oidc.services import oidc_user_resolve

    settings.OIDC_ROLE_CLAIM, settings.OIDC_ROLE_MAP = "groups", {"ops": "viewer"}
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123-root")
    claims = {"iss": "https://id.example", "sub": "7", "email": "root@example.com",
              "email_verified": True, "groups": []}  # fmt: skip
    # linked by an admin on purpose: an email never links a superuser
    OidcIdentity.objects.create(user=root, issuer="https://id.example", subject="7")

    outcome = oidc_user_resolve(identity=Identity.from_claims(claims))

    assert outcome.user == root and outcome.matched_by == "subject" and outcome.refusal is None
    root.refresh_from_db()
    assert root.is_staff and root.is_superuser
