"""Identity settings checked at start: a misspelt role in MFA_REQUIRED_ROLES would silently let
that role decide without a factor, a zero MFA_REAUTH_MINUTES would ask for a code at every page,
single sign-on half configured would be silently off, an http:// provider would send tokens in
clear, LOCAL_LOGIN=false without it would lock
everyone out, and a role map naming no real role would grant nothing without saying so."""

from django.conf import settings
from django.core.checks import Error, register

from .oidc import secure_url
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
    errors.extend(_oidc_errors())
    return errors


def _oidc_errors() -> list[Error]:
    """Single sign-on half set up is refused, never silently off: names only, never values."""
    errors = []
    oidc = {"OIDC_ISSUER": settings.OIDC_ISSUER, "OIDC_CLIENT_ID": settings.OIDC_CLIENT_ID,
            "OIDC_CLIENT_SECRET": settings.OIDC_CLIENT_SECRET}  # fmt: skip
    missing = [name for name, value in oidc.items() if not value]
    if missing and len(missing) < len(oidc):
        errors.append(
            Error(
                f"Single sign-on is half configured: {', '.join(missing)} missing.",
                hint="Set all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or none.",
                id="accounts.E003",
            )
        )
    if missing and not settings.LOCAL_LOGIN:
        errors.append(
            Error(
                "LOCAL_LOGIN=false without single sign-on would leave no way to sign in.",
                hint="Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or LOCAL_LOGIN=true.",
                id="accounts.E004",
            )
        )
    if settings.OIDC_ISSUER and not secure_url(settings.OIDC_ISSUER):
        errors.append(
            Error(
                "OIDC_ISSUER must be an https:// URL (http:// only to 127.0.0.1, ::1 or"
                " localhost).",
                hint="Sign-in codes, tokens and the provider's keys would travel in clear.",
                id="accounts.E007",
            )
        )
    if settings.OIDC_ROLE_CLAIM and not settings.OIDC_ROLE_MAP:
        errors.append(
            Error(
                "OIDC_ROLE_CLAIM is set but OIDC_ROLE_MAP maps no value to a role.",
                hint='e.g. OIDC_ROLE_MAP="bounce-approvers=approver,bounce-admins=admin".',
                id="accounts.E005",
            )
        )
    unknown = sorted(set(settings.OIDC_ROLE_MAP.values()) - set(ROLES))
    if unknown:
        errors.append(
            Error(
                f"OIDC_ROLE_MAP maps to unknown roles: {', '.join(unknown)}.",
                hint=f"Map to some of {', '.join(ROLES)}.",
                id="accounts.E006",
            )
        )
    return errors
