"""This browser session's second factor: when it last passed a check (sign-in with a code,
enrolment, a check again, or the provider's own check at single sign-on) and by which method,
and when the session signed in. The pages read the check before a decision, and pass its time
to the service; enrolment reads the sign-in's time for a user without a password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

CHECKED = "mfa_checked"
SIGNED_IN_AT = "signed_in_at"
TOTP = "totp"  # this app's authenticator, or a recovery code
PROVIDER = "provider"  # the identity provider's amr/acr at single sign-on


def session_checked(request, *, method: str = TOTP, at: datetime | None = None) -> None:
    """Record a check passed by `method`, at `at` (by default now)."""
    when = at or timezone.now()
    request.session[CHECKED] = {"at": when.timestamp(), "method": method}


def _check(request) -> dict | None:
    session = getattr(request, "session", None)
    value = session.get(CHECKED) if session is not None else None
    if not isinstance(value, dict) or not isinstance(value.get("at"), int | float):
        return None
    return value


def checked_at(request) -> datetime | None:
    check = _check(request)
    return datetime.fromtimestamp(check["at"], tz=UTC) if check else None


def checked_by(request) -> str | None:
    """The method of the session's last check (TOTP or PROVIDER), or None."""
    check = _check(request)
    return (check.get("method") or None) if check else None


def session_signed_in(request) -> None:
    request.session[SIGNED_IN_AT] = timezone.now().timestamp()


def signed_in_recently(request) -> bool:
    """Whether this session signed in within MFA_REAUTH_MINUTES."""
    session = getattr(request, "session", None)
    value = session.get(SIGNED_IN_AT) if session is not None else None
    if not isinstance(value, int | float):
        return False
    at = datetime.fromtimestamp(value, tz=UTC)
    return timezone.now() - at <= timedelta(minutes=settings.MFA_REAUTH_MINUTES)
