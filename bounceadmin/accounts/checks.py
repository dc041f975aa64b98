"""Identity settings checked at start: a misspelt role in MFA_REQUIRED_ROLES would silently let
that role decide without a factor, a zero MFA_REAUTH_MINUTES would ask for a code at every page,
and single sign-on's settings (OIDC_*, LOCAL_LOGIN=false) would be ignored: sign-in through
OpenID Connect is not built yet, and an installation that asks for it must not start believing
local passwords are off."""

from django.conf import settings
from django.core.checks import Error, register

from .roles import ROLES


@register()
def mfa_settings_check(app_configs=None, **kwargs):
    errors = []
    unknown = sorted(set(settings.MFA_REQUIRED_ROLES) - set(ROLES))
    if unknown:
        errors.append(
            Error(
                f"MFA_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}.",
                hint=f"Use some of {', '.join(ROLES)} (comma-separated), or leave it empty.",
                id="accounts.E001",
            )
        )
    if settings.MFA_REAUTH_MINUTES < 1:
        errors.append(Error("MFA_REAUTH_MINUTES must be 1 or more.", id="accounts.E002"))
    oidc = {"OIDC_ISSUER": settings.OIDC_ISSUER, "OIDC_CLIENT_ID": settings.OIDC_CLIENT_ID,
            "OIDC_CLIENT_SECRET": settings.OIDC_CLIENT_SECRET}  # fmt: skip
    if any(oidc.values()) or settings.OIDC_ROLE_CLAIM or not settings.LOCAL_LOGIN:
        named = [name for name, value in oidc.items() if value]  # names only, never values
        if settings.OIDC_ROLE_CLAIM:
            named.append("OIDC_ROLE_CLAIM")
        if not settings.LOCAL_LOGIN:
            named.append("LOCAL_LOGIN=false")
        errors.append(
            Error(
                "Single sign-on (OpenID Connect) is not available in this version:"
                f" {', '.join(named)} cannot take effect.",
                hint="Unset them; operators sign in with their local password (and second factor).",
                id="accounts.E003",
            )
        )
    return errors
