"""Single sign-on through OpenID Connect, off unless OIDC_ISSUER, OIDC_CLIENT_ID and
OIDC_CLIENT_SECRET are all set.

- `client.py`: the only code that speaks to the provider (authlib's Django client: discovery,
  the authorization code flow with PKCE S256, `state` and `nonce` checked, the ID token's
  signature checked against the provider's JWKS).
- `claims.py`: what the ID token says about a user (subject, verified email, role, scope, amr).
- `services.py`: from verified claims to a user who may sign in, or a refusal; roles re-read.
- `views.py`: the start, the callback (audited either way), the "no access yet" page.
"""

from urllib.parse import urlsplit

from django.conf import settings

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def oidc_enabled() -> bool:
    """Read per call, not at import, so a settings change needs no reload."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)


def secure_url(url: str) -> bool:
    """https, or http to this machine's loopback only (a provider for tests or development):
    anything else would carry codes and tokens, and the discovery that names the keys, in clear."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme == "https" and host:
        return True
    return parts.scheme == "http" and host in LOOPBACK_HOSTS
