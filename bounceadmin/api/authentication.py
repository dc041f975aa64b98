"""`Authorization: Bearer <token>`: how SendGrid's own clients send their key, so they work
against `/sendgrid/` with one of our tokens as the key. A request authenticated so acts as the
token's operator, with that operator's role and subuser scope; the token is noted on the
underlying request so the audit log names it on every write."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .tokens import api_token_find


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Bearer <token>, one token.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        return authenticate_secret(request, secret)

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


def authenticate_secret(request, secret: str):
    """(user, token) for a usable token's secret; AuthenticationFailed otherwise."""
    token = api_token_find(secret)
    if token is None:
        raise exceptions.AuthenticationFailed("The token is not valid, expired or revoked.")
    django_request = getattr(request, "_request", request)
    django_request.api_token = token  # for the audit log (audit.services)
    return token.user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme for these tokens (without it drf-spectacular warns on every
    view, and `check --deploy --fail-level WARNING` fails)."""

    target_class = ApiTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An operator's API token."}
