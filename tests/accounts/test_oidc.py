"""Single sign-on against a real OpenID Connect provider over HTTP (tests/support/oidc.py):
discovery, the code flow with PKCE, state and nonce, matching, roles from a claim, refusals,
each audited."""

import pytest

from bounceadmin.accounts.models import OidcIdentity
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_user
from tests.support.oidc import provider_user, sso_round_trip

pytestmark = pytest.mark.django_db


def _signed_in(client):
    return client.session.get("_auth_user_id")


def test_sso_signs_in_a_user_matched_by_verified_email_and_links_the_subject(client, oidc):

    olga = make_user("olga", role="viewer")
    olga.email = "olga@example.com"
    olga.save()
    at_provider = provider_user(oidc, "olga.p", email="olga@example.com")

    response, _ = sso_round_trip(client, oidc, at_provider, next_url="/bounces/")

    assert response.status_code == 302 and response.url == "/bounces/"
    assert _signed_in(client) == str(olga.pk)
    assert OidcIdentity.objects.get(user=olga).subject == "olga.p"
    login = AuditEvent.objects.filter(action="auth.login").last()
    assert login.actor == olga and login.details == {"method": "oidc"}
