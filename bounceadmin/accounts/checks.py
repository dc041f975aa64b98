"""Settings of the second factor checked at start: a misspelt role would silently let that role
decide without one, and a zero window would ask for a code again at every page."""

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
    return errors
