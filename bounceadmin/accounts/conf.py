"""The identity settings (settings.py reads them from here): the second factor
(bounceadmin/accounts/mfa/) and single sign-on through OpenID Connect (bounceadmin/accounts/oidc/).

django-otp's TOTP devices and recovery codes (its static tokens) sit beside Django's own login
view: a user with a factor gives its code after the password. Approving or rejecting needs a
factor for MFA_REQUIRED_ROLES (and the roles above them), checked again when the last check is
older than MFA_REAUTH_MINUTES.

Single sign-on is off unless all three of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are
set (a partial set is refused at start, accounts/checks.py). The provider is found by discovery
from the issuer (its /.well-known/openid-configuration); the redirect URI to register with it is
https://<this host>/accounts/oidc/callback/.
"""

from __future__ import annotations

import os

import environ


def identity_settings(env: environ.Env) -> dict:
    return {
        "MFA_REQUIRED_ROLES": [
            r for r in env.list("MFA_REQUIRED_ROLES", default=["approver", "admin"]) if r
        ],
        "MFA_REAUTH_MINUTES": env.int("MFA_REAUTH_MINUTES", default=15),
        # The name authenticator apps show beside the account.
        "OTP_TOTP_ISSUER": env.str("MFA_TOTP_ISSUER", default="bounceadmin"),
        "OIDC_ISSUER": env.str("OIDC_ISSUER", default=""),
        "OIDC_CLIENT_ID": env.str("OIDC_CLIENT_ID", default=""),
        "OIDC_CLIENT_SECRET": os.environ.get("OIDC_CLIENT_SECRET", ""),  # as it is, like SECRET_KEY
        "OIDC_PROVIDER_NAME": env.str("OIDC_PROVIDER_NAME", default="single sign-on"),  # the button
        "OIDC_SCOPES": env.str("OIDC_SCOPES", default="openid email profile"),
        # Role and scope from the provider, re-read at each sign-in: OIDC_ROLE_CLAIM names a claim
        # of the ID token (a string or a list, e.g. groups), OIDC_ROLE_MAP maps its values to roles
        # ("bounce-approvers=approver,bounce-admins=admin"; the highest mapped role wins, none
        # mapped means no access). OIDC_SUBUSER_CLAIM, if set, names a claim listing the subusers
        # (by username) such an operator may see; unset, they see every subuser. Without
        # OIDC_ROLE_CLAIM, an admin grants roles here, as for local users.
        "OIDC_ROLE_CLAIM": env.str("OIDC_ROLE_CLAIM", default=""),
        "OIDC_ROLE_MAP": env.dict("OIDC_ROLE_MAP", default={}),
        "OIDC_SUBUSER_CLAIM": env.str("OIDC_SUBUSER_CLAIM", default=""),
        # Values of the ID token's `amr` (RFC 8176, e.g. "mfa,otp,hwk") that count as this
        # session's second-factor check at sign-in; empty, SSO users give their TOTP code here
        # like local ones. Or `acr` values (an assurance level, e.g. Keycloak's "2" or a URI).
        "OIDC_MFA_AMR": [v for v in env.list("OIDC_MFA_AMR", default=[]) if v],
        "OIDC_MFA_ACR": [v for v in env.list("OIDC_MFA_ACR", default=[]) if v],
        # Local passwords (the login form and password reset); false leaves single sign-on only.
        # API tokens work either way.
        "LOCAL_LOGIN": env.bool("LOCAL_LOGIN", default=True),
    }
