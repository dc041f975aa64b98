"""`/accounts/two-factor/`: one's own second factor: set up (QR code and the secret, then a
code), recovery codes (shown once, downloadable), check again, remove."""

from __future__ import annotations

import base64
import io
from binascii import unhexlify
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from django_otp.qr import write_qrcode_image

from ..oidc import oidc_enabled
from . import services
from .devices import authenticator, recovery_codes_left
from .forms import CodeForm, EnrolForm
from .policy import factor_required
from .session import checked_at, checked_by, session_checked, signed_in_recently

SETUP_KEY = "mfa_setup_key"


def _next(request: HttpRequest, default: str = "") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure())
    return nxt if nxt and ok else default or reverse("mfa")


def _fresh(request: HttpRequest) -> bool:
    at = checked_at(request)
    return at is not None and timezone.now() - at <= timedelta(minutes=settings.MFA_REAUTH_MINUTES)


def _verify_first(request: HttpRequest, back: str) -> HttpResponse:
    messages.info(request, "Enter your authenticator's code first.")
    return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': back})}")


@login_required
def mfa_overview(request: HttpRequest) -> HttpResponse:
    context = {
        "device": authenticator(request.user),
        "codes_left": recovery_codes_left(request.user),
        "required": factor_required(request.user),
        "reauth_minutes": settings.MFA_REAUTH_MINUTES,
    }
    return render(request, "accounts/mfa_overview.html", context)


def _qr_data_uri(url: str) -> str:
    out = io.BytesIO()
    write_qrcode_image(url, out)  # SVG, made here: nothing leaves the server
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@sensitive_post_parameters("code", "password")
@require_http_methods(["GET", "POST"])
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Set up (or replace) the authenticator: its secret is kept in the session, not stored,
    until a code from the app proves the app holds it."""
    user = request.user
    if authenticator(user) is not None and not _fresh(request):
        return _verify_first(request, request.get_full_path())
    proof = _enrol_proof(request)
    if not proof:
        return _sign_in_again_page(request)
    key = request.session.get(SETUP_KEY) or default_key()
    request.session[SETUP_KEY] = key
    form = EnrolForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        codes = services.totp_enrol(user=user, key=key, code=form.cleaned_data["code"],
                                    proof=proof, request=request)  # fmt: skip
        if codes is not None:
            del request.session[SETUP_KEY]
            session_checked(request)
            messages.success(request, "Your authenticator is set up.")
            return _codes_page(request, codes)
        form.add_error("code", "That code is not right: check the app's clock, try the next one.")
    device = TOTPDevice(user=user, key=key)  # not saved: for its otpauth:// URL
    secret = base64.b32encode(unhexlify(key)).decode()
    context = {
        "form": form,
        "qr": _qr_data_uri(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "replacing": authenticator(user) is not None,
        "next": _next(request, ""),
    }
    return render(request, "accounts/mfa_setup.html", context)


def _enrol_proof(request: HttpRequest) -> list[str]:
    """What proves the one setting up a factor is the account's owner, not only someone holding
    its session: a fresh check (of the factor being replaced, or the provider's), the password
    (the form asks for it), or, for an account without a password (single sign-on), a sign-in
    within MFA_REAUTH_MINUTES. Empty: nothing does; they sign in again."""
    proof = [f"{checked_by(request)} check"] if _fresh(request) else []
    if request.user.has_usable_password():
        proof.append("password")
    elif not proof and signed_in_recently(request):
        proof.append("recent sign-in")
    return proof


def _sign_in_again_page(request: HttpRequest) -> HttpResponse:
    context = {
        "next": request.get_full_path(),
        "reauth_minutes": settings.MFA_REAUTH_MINUTES,
        "oidc_enabled": oidc_enabled(),
        "provider_name": settings.OIDC_PROVIDER_NAME,
    }
    return render(request, "accounts/mfa_sign_in_again.html", context, status=403)


@require_POST
@login_required
def mfa_sign_in_again(request: HttpRequest) -> HttpResponse:
    """Sign out, then in again (through the provider when single sign-on is on), back to `next`."""
    back = _next(request, reverse("mfa_setup"))
    logout(request)
    start = reverse("oidc_start") if oidc_enabled() else reverse("login")
    return redirect(f"{start}?{urlencode({'next': back})}")


def _codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    text = "bounceadmin recovery codes for {}\n\n{}\n".format(
        request.user.get_username(), "\n".join(codes)
    )
    context = {"codes": codes, "download": text, "next": _next(request)}
    return render(request, "accounts/mfa_codes.html", context)


@require_POST
@login_required
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    if authenticator(request.user) is None:
        return redirect("mfa")
    if not _fresh(request):
        return _verify_first(request, reverse("mfa"))
    return _codes_page(request, services.recovery_codes_renew(user=request.user, request=request))


@require_POST
@login_required
def mfa_remove(request: HttpRequest) -> HttpResponse:
    if authenticator(request.user) is not None and not _fresh(request):
        return _verify_first(request, reverse("mfa"))
    services.factor_reset(user=request.user, actor=request.user, request=request)
    messages.success(request, "Your second factor is removed.")
    return redirect("mfa")


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Check the second factor again (before a decision when the last check is stale)."""
    if authenticator(request.user) is None:
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': _next(request)})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.factor_check(
            user=request.user, code=form.cleaned_data["code"], purpose="check again",
            request=request,
        )  # fmt: skip
        if check.factor:
            session_checked(request)
            return redirect(_next(request))
        form.add_error("code", CodeForm.refusal(check))
    context = {"form": form, "next": _next(request)}
    return render(request, "accounts/mfa_verify.html", context)
