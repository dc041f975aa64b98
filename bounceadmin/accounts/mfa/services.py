"""Writing a user's second factor: enrolment, checks, recovery codes and resets, each audited.

The codes are django-otp's to verify: a TOTP code within its `tolerance` steps of the clock
(the skew window), never one of a step at or before the last accepted (`last_t`: a code works
once), throttled after failures; a recovery code is deleted as it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from bounceadmin.audit.login_failures import mfa_failure_record
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record

from .devices import factor_state

RECOVERY_CODES = 10
TOTP = "authenticator"
RECOVERY = "recovery code"


@dataclass(frozen=True)
class Check:
    """A code checked: by which factor (None: refused), and whether refused for throttling."""

    factor: str | None
    throttled: bool = False


def _looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


def _normalized(code: str) -> str:
    return "".join(code.split()).lower().replace("-", "")


@transaction.atomic
def totp_enrol(
    *, user, key: str, code: str, proof: list[str] | None = None, request=None
) -> list[str] | None:
    """Set up an authenticator with `key` once `code` proves the app has it, replacing any
    earlier one, with new recovery codes (returned, to be shown once). None: the code was not
    right, and nothing changed. `proof`: what proved the user is the account's owner (a
    password, a fresh check, a recent sign-in), for the audit log."""
    before = factor_state(user)
    device = TOTPDevice(user=user, name="authenticator", key=key, confirmed=False)
    device.save()
    if not device.verify_token(_normalized(code)):  # also records its step: used once
        transaction.set_rollback(True)
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_replace(user)
    audit_record(
        AuditEvent.Action.MFA_ENROLLED,
        actor=user,
        details={"before": before, "after": factor_state(user), "proof": proof or []},
        request=request,
    )
    return codes


def _recovery_codes_replace(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODES:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return sorted(codes)


@transaction.atomic
def recovery_codes_renew(*, user, request=None) -> list[str]:
    """New recovery codes for a user with an authenticator; the old ones stop working."""
    before = factor_state(user)
    codes = _recovery_codes_replace(user)
    audit_record(
        AuditEvent.Action.MFA_RECOVERY_RENEWED,
        actor=user,
        details={"before": before, "after": factor_state(user)},
        request=request,
    )
    return codes


def factor_check(
    *, user, code: str, purpose: str, allow_recovery: bool = True, request=None
) -> Check:
    """Check a code the user typed: an authenticator code (six digits) or, where allowed, a
    recovery code. A refusal is audited, and so is every recovery code used (with how many are
    left). `purpose` says what the check was for, in the audit log."""
    code = _normalized(code)
    with transaction.atomic():  # the devices locked: a code raced twice still works once
        if _looks_like_totp(code):
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
            factor = TOTP
        else:
            device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
            factor = RECOVERY if allow_recovery else None
        device = device.order_by("pk").first() if factor else None
        allowed = device is not None and device.verify_is_allowed()[0]
        ok = allowed and device.verify_token(code)
    if not ok:
        mfa_failure_record(  # bounded: codes can be tried without end
            user=user,
            details={"purpose": purpose, "throttled": device is not None and not allowed},
            request=request,
        )
        return Check(None, throttled=device is not None and not allowed)
    if factor == RECOVERY:
        audit_record(
            AuditEvent.Action.MFA_RECOVERY_USED,
            actor=user,
            details={"purpose": purpose, "recovery_codes_left": device.token_set.count()},
            request=request,
        )
    elif purpose != "sign-in":  # a sign-in with its factor is the login event's detail
        audit_record(AuditEvent.Action.MFA_VERIFIED, actor=user, details={"purpose": purpose},
                     request=request)  # fmt: skip
    return Check(factor)


@transaction.atomic
def factor_reset(*, user, actor, request=None) -> dict:
    """Remove a user's authenticator and recovery codes (an admin for someone who lost theirs,
    or the user after signing in with a recovery code); they set up a new one when they need
    it. Returns the state before."""
    before = factor_state(user)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(
        AuditEvent.Action.MFA_RESET,
        actor=actor,
        details={"user": user.get_username(), "before": before, "after": factor_state(user)},
        request=request,
    )
    return before
