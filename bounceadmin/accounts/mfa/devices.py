"""A user's second factor, read: the confirmed authenticator (TOTP device) and recovery codes."""

from __future__ import annotations

from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice


def authenticator(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def factor_state(user) -> dict:
    """What an audit event records as before and after."""
    return {"authenticator": has_factor(user), "recovery_codes": recovery_codes_left(user)}
