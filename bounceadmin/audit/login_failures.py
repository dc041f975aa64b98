"""Failed logins (and refused second-factor codes) into the audit log, bounded.

Every failure is an event until its address has failed LOGIN_FAILURE_AUDIT_PER_HOUR times within
the hour; after that only each power of ten (100th, 1000th, ...) is, with the count so far. The
first ten times that many addresses of the hour get that budget each; later ones (a spray from
many addresses) are recorded at their 10th, 100th, ... failure, and every 100th, 1000th, ... new
address of the hour is recorded with the count of addresses. So neither one noisy address nor
thousands of quiet ones can grow the append-only log without bound, and one noisy address never
uses up the budget of the others. The counts live in the shared cache; if it is lost, counting
starts again, which only records a little more.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from bounceadmin.accounts.client_address import client_address

from .bounded import bounded_count, bounded_recorded
from .models import AuditEvent
from .services import audit_record

_WINDOW = 3600


def login_failure_record(
    *, request, username: str, details: dict | None = None
) -> AuditEvent | None:
    """Record one failed login, or only count it once its address (or everyone) is past the
    limit this hour. Returns the event, or None when only counted. `details` says more (a
    single sign-on's reason), never a secret."""
    address = client_address(request)
    hour = int(time.time()) // _WINDOW
    limit = settings.LOGIN_FAILURE_AUDIT_PER_HOUR
    key = f"audit:login-failed:{hour}:{address or '-'}"
    from_address = bounded_count(key, _WINDOW * 2)
    if from_address == 1:
        rank = bounded_count(f"audit:login-failed:{hour}:addresses", _WINDOW * 2)
        cache.set(f"{key}:rank", rank, timeout=_WINDOW * 2)
    else:
        rank = cache.get(f"{key}:rank") or limit * 10 + 1
    if rank <= limit * 10:
        record = bounded_recorded(from_address, limit)
    else:  # past the hour's budget of addresses: their 10th, 100th, ... failure, and milestones
        record = (from_address >= 10 and bounded_recorded(from_address, 1)) or (
            from_address == 1 and bounded_recorded(rank, 1)
        )
    if not record:
        return None
    details = {"username": username[:150], **(details or {})}
    if from_address > limit or rank > limit * 10:
        details["failures_from_address_this_hour"] = from_address
        details["addresses_failing_this_hour"] = rank
        details["note"] = "past the hour's limit: only every power of ten is recorded"
    return audit_record(AuditEvent.Action.LOGIN_FAILED, details=details, request=request)


def mfa_failure_record(*, user, details: dict, request=None) -> AuditEvent | None:
    """Record one refused second-factor code, bounded as failed logins are, per user and hour
    (a stolen session or password can try codes without end): the first
    LOGIN_FAILURE_AUDIT_PER_HOUR, then every power of ten with the count so far. Returns the
    event, or None when only counted."""
    hour = int(time.time()) // _WINDOW
    limit = settings.LOGIN_FAILURE_AUDIT_PER_HOUR
    count = bounded_count(f"audit:mfa-failed:{hour}:{user.pk}", _WINDOW * 2)
    if not bounded_recorded(count, limit):
        return None
    details = dict(details)
    if count > limit:
        details["failures_this_hour"] = count
        details["note"] = "past the hour's limit: only every power of ten is recorded"
    return audit_record(AuditEvent.Action.MFA_FAILED, actor=user, details=details, request=request)
