"""A real OpenID Connect provider for the tests: pytest-iam's Canaille (an authorization server
built on authlib, in memory) listening on a loopback port, with discovery, JWKS, signed ID
tokens, PKCE required, groups as a claim and locked users. The app reaches it over HTTP as it
would reach Keycloak; only the user's own browser step (the provider's login and consent) is
skipped here, by pytest-iam's open session, or done for real by the browser test."""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import urlsplit

import pytest
import requests

SECRET = "tests-client-secret"


def provider_client(iam_server, *redirect_uris: str, client_id: str | None = None):
    """This app, registered at the provider as a confidential client."""
    client = iam_server.models.Client(
        client_id=client_id or f"bounceadmin-{uuid.uuid4().hex[:8]}",
        client_secret=SECRET,
        client_id_issued_at=datetime.datetime.now(datetime.UTC),
        client_name="bounceadmin",
        redirect_uris=list(redirect_uris),
        grant_types=["authorization_code"],
        response_types=["code"],
        scope=["openid", "email", "profile", "groups"],
        token_endpoint_auth_method="client_secret_basic",
    )
    iam_server.backend.save(client)
    client.audience = [client]
    iam_server.backend.save(client)
    return client


def provider_user(iam_server, username: str, *, email: str | None = None, groups=()):
    user = iam_server.models.User(
        user_name=username,
        emails=[email or f"{username}@example.com"],
        password="provider-password-123",
    )
    iam_server.backend.save(user)
    for name in groups:
        group_join(iam_server, user, name)
    return user


def group_join(iam_server, user, name: str) -> None:
    found = iam_server.backend.query(iam_server.models.Group, display_name=name)
    if found:
        group = found[0]
    else:
        group = iam_server.models.Group(display_name=name, members=[user])
        iam_server.backend.save(group)
    user.groups = [*[g for g in user.groups if g.display_name != name], group]
    iam_server.backend.save(user)


def group_leave(iam_server, user, name: str) -> None:
    user.groups = [g for g in user.groups if g.display_name != name]
    iam_server.backend.save(user)


def vouch_for_emails(iam_server) -> None:
    """The provider vouches for every user's address (`email_verified`) but those of users named
    `unverified...`: a claim template of Canaille's configuration, which renders claims as
    strings (the app also takes "true", as some providers send it)."""
    mapping = iam_server.app.config["CANAILLE_OIDC"]["USERINFO_MAPPING"]
    mapping["EMAIL_VERIFIED"] = (
        "{% if user.emails and not user.user_name.startswith('unverified') %}true{% endif %}"
    )


@pytest.fixture
def oidc(iam_server, settings):
    """The app configured for the provider; the client registered for the test client's host."""
    client = provider_client(iam_server, "http://testserver/accounts/oidc/callback/")
    vouch_for_emails(iam_server)
    settings.OIDC_ISSUER = iam_server.url.rstrip("/")
    settings.OIDC_CLIENT_ID = client.client_id
    settings.OIDC_CLIENT_SECRET = SECRET
    settings.OIDC_SCOPES = "openid email profile groups"
    yield iam_server
    iam_server.logout()
    iam_server.backend.delete(client)


def at_provider(location: str) -> requests.Response:
    """The browser's visit to the provider's authorization endpoint, over HTTP: with the
    provider's session open, it answers with the redirect back to the app."""
    response = requests.get(location, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return response


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sso_round_trip(client, iam_server, user, *, next_url: str = ""):
    """Start at the app, pass the provider as `user`, come back to the callback. Returns the
    callback's response and the callback URL (to replay)."""
    iam_server.login(user)
    iam_server.consent(user)
    start = client.get("/accounts/oidc/login/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    back = at_provider(start.url).headers["Location"]
    return client.get(local_path(back)), local_path(back)
