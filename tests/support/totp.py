"""Second-factor helpers for tests: the codes an authenticator app would show, computed with
django-otp's own TOTP (the app's algorithm, RFC 6238), and users with a factor."""

from __future__ import annotations

import base64
import time
from binascii import unhexlify

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from bounceadmin.accounts.mfa.services import recovery_codes_renew

STEP = 30


def code_for(key_hex: str, offset: int = 0) -> str:
    """The code of the step `offset` steps from now (an app whose clock is that far off)."""
    totp = TOTP(unhexlify(key_hex), step=STEP)
    totp.time = time.time() + offset * STEP
    return f"{totp.token():06d}"


def key_of_secret(secret: str) -> str:
    """The hex key of the base32 secret the setup page shows for typing into an app."""
    return base64.b32decode("".join(secret.split())).hex()


def steady_step(margin: float = 4.0) -> None:
    """Wait, if need be, for a new step to begin, so the codes of a test are computed and
    checked within one step (at most `margin` seconds; no assertion is timed)."""
    left = STEP - time.time() % STEP
    if left < margin:
        time.sleep(left + 0.05)


def give_factor(user) -> tuple[TOTPDevice, list[str]]:
    """An authenticator never used yet, and ten recovery codes."""
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device, recovery_codes_renew(user=user)
