"""Single sign-on through OpenID Connect, off unless OIDC_ISSUER, OIDC_CLIENT_ID and
OIDC_CLIENT_SECRET are all set.

- `client.py`: the only code that speaks to the provider (authlib's Django client: discovery,
  the authorization code flow with PKCE S256, `state` and `nonce` checked, the ID token's
  signature checked against the provider's JWKS).
- `claims.py`: what the ID token says about a user (subject, verified email, role, scope, amr).
- `services.py`: from verified claims to a user who may sign in, or a refusal; roles re-read.
- `views.py`: the start, the callback (audited either way), the "no access yet" page.
"""

from django.conf import settings


def oidc_enabled() -> bool:
    """Read per call, not at import, so a settings change needs no reload."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)
