"""When this browser session last passed a second-factor check (sign-in with a code, enrolment,
or a check again): the pages read it before a decision, and pass it to the service."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

CHECKED_AT = "mfa_checked_at"


def session_checked(request) -> None:
    request.session[CHECKED_AT] = timezone.now().timestamp()


def checked_at(request) -> datetime | None:
    session = getattr(request, "session", None)
    value = session.get(CHECKED_AT) if session is not None else None
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)
