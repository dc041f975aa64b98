"""Who needs a second factor to approve or reject deletions, and how fresh its check must be.

The deletion services ask `decision_refusal` before every decision, whichever page or API called
them, so four-eyes rests on two identities each proven with a second factor (for the roles of
MFA_REQUIRED_ROLES); the pages ask `decision_need` first to send the user where to fix it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..roles import ROLES, has_role
from .devices import has_factor

ENROL = "enrol"
VERIFY = "verify"


def factor_required(user) -> bool:
    """Whether the user holds a role of MFA_REQUIRED_ROLES or one above it: roles are cumulative,
    so listing `approver` covers admins (and superusers, who hold every role) as well."""
    listed = [role for role in ROLES if role in settings.MFA_REQUIRED_ROLES]
    return bool(listed) and has_role(user, listed[0])


def decision_need(user, checked_at: datetime | None) -> str | None:
    """None when the user may decide now; ENROL (no check within MFA_REAUTH_MINUTES, and no
    factor here to check) or VERIFY (no check within MFA_REAUTH_MINUTES) when not.

    A fresh check counts whatever passed it: this app's authenticator, or the identity
    provider's own second factor at single sign-on (OIDC_MFA_AMR/ACR), which needs no factor
    here."""
    if not factor_required(user):
        return None
    fresh = timedelta(minutes=settings.MFA_REAUTH_MINUTES)
    if checked_at is not None and timezone.now() - checked_at <= fresh:
        return None
    if not has_factor(user):
        return ENROL
    return VERIFY


def decision_refusal(user, checked_at: datetime | None) -> str | None:
    """Why the user may not decide now, for them to read; None when they may."""
    need = decision_need(user, checked_at)
    if need == ENROL:
        return (
            "Approving or rejecting needs a second factor for your role: set up an authenticator"
            " app on your two-factor page (/accounts/two-factor/) first."
        )
    if need == VERIFY:
        return (
            "Approving or rejecting needs a second-factor check within the last"
            f" {settings.MFA_REAUTH_MINUTES} minutes: enter your authenticator's code again (in"
            " the browser, or as `otp_code` through the API)."
        )
    return None
