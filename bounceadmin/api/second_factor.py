"""The second factor of an API decision (approve, reject): the authenticator's current code
sent as `otp_code`, checked here (each code works once); without one, a browser session's own
recent check counts (the API docs page). Whether that is enough is the deletion services' rule
(`accounts/mfa/policy.py`), which answers 403 saying what is missing."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from bounceadmin.accounts.mfa.devices import has_factor
from bounceadmin.accounts.mfa.policy import factor_required
from bounceadmin.accounts.mfa.services import factor_check
from bounceadmin.accounts.mfa.session import checked_at


def api_factor_checked_at(request, code: str) -> datetime | None:
    user = request.user
    if code and factor_required(user) and has_factor(user):
        check = factor_check(
            user=user, code=code, purpose="API decision", allow_recovery=False,
            request=request._request,
        )  # fmt: skip
        if not check.factor:
            raise exceptions.PermissionDenied(
                "Too many wrong codes: wait a minute, then send a new otp_code."
                if check.throttled
                else "The otp_code is not right, or was used already: send the code your"
                " authenticator app shows now."
            )
        return timezone.now()
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return checked_at(request._request)
    return None
