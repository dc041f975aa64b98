"""The provider, through authlib's Django client. Why authlib: it does discovery, PKCE, the state
kept in the session, the nonce and the ID token's signature, issuer, audience and expiry checks;
none of it is written here.

One client per configuration, kept for the process, so discovery and the provider's keys are
fetched once (authlib fetches the keys again when a token names a key it has not seen).
"""

from __future__ import annotations

from authlib.integrations.django_client import OAuth
from django.conf import settings

from . import secure_url

NAME = "oidc"
TIMEOUT_SECONDS = 10  # a provider that does not answer must not hang the sign-in page

_clients: dict[tuple, object] = {}
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderMisconfigured(Exception):
    """The discovery document names another issuer, or an endpoint not over https."""


def oidc_client():
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = (issuer, settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET, settings.OIDC_SCOPES)
    client = _clients.get(key)
    if client is None:
        oauth = OAuth()
        client = oauth.register(
            NAME,
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.OIDC_SCOPES,
                "code_challenge_method": "S256",  # PKCE
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
        _clients.clear()  # one configuration at a time
        _clients[key] = client
    metadata = client.load_server_metadata()  # once per client (authlib keeps it)
    problem = metadata_problem(metadata, issuer)
    if problem:
        _clients.clear()  # fetched again next time: the provider's fix needs no restart
        raise ProviderMisconfigured(problem)
    return client


def metadata_problem(metadata: dict, issuer: str) -> str | None:
    """What is wrong with a discovery document for `issuer` (OpenID Connect Discovery 4.3: its
    `issuer` must be the one asked; endpoints over https, or http to loopback), or None."""
    if str(metadata.get("issuer") or "").rstrip("/") != issuer:
        return "its issuer is not OIDC_ISSUER"
    for name in ENDPOINTS:
        if not secure_url(metadata.get(name) or ""):
            return f"its {name} is not https"
    return None
