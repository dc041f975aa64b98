"""`/accounts/oidc/`: the start (a redirect to the provider) and the callback, where every
outcome is audited: a sign-in (by LOGIN, with `method: oidc`) or a failure (LOGIN_FAILED, with
the reason, never a code or token), bounded like failed passwords."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from joserfc.errors import JoseError
from requests import RequestException

from bounceadmin.audit.login_failures import login_failure_record

from .. import login as login_step
from ..mfa.devices import has_factor
from ..mfa.session import PROVIDER, session_checked
from . import oidc_enabled
from .claims import Identity, amr_satisfies_factor, claims_problem, provider_factor
from .client import ProviderMisconfigured, oidc_client
from .services import DISABLED, oidc_user_resolve

log = logging.getLogger(__name__)
NEXT = "oidc_next"
BACKEND = "django.contrib.auth.backends.ModelBackend"
# The exchange failed on our side of it: the provider unreachable, an ID token whose signature,
# issuer, audience, expiry or nonce is wrong (joserfc), a response missing what it must hold.
TOKEN_ERRORS = (RequestException, AuthlibBaseError, JoseError, ValueError, KeyError, RuntimeError)


def _safe_next(request: HttpRequest, nxt: str) -> str:
    ok = url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure())
    return nxt if nxt and ok else "/"


@never_cache
@require_GET
def oidc_start(request: HttpRequest) -> HttpResponse:
    if not oidc_enabled():
        raise Http404("Single sign-on is not configured.")
    request.session[NEXT] = _safe_next(request, request.GET.get("next", ""))
    redirect_uri = request.build_absolute_uri(reverse("oidc_callback"))
    try:
        # max_age: a provider session older than a second-factor check may be is asked to
        # authenticate again, so its amr/acr (and auth_time) are fresh enough to count here
        return oidc_client().authorize_redirect(
            request, redirect_uri, max_age=settings.MFA_REAUTH_MINUTES * 60
        )
    except ProviderMisconfigured as exc:
        log.warning("The provider's discovery document is refused: %s", exc)
        return _failed(request, "provider misconfigured", exc)
    # discovery failed, or an http:// provider refused (authlib's InsecureTransportError)
    except (RequestException, AuthlibBaseError, ValueError) as exc:
        return _failed(request, "provider unreachable", exc)


@never_cache
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    if not oidc_enabled():
        raise Http404("Single sign-on is not configured.")
    try:
        token = oidc_client().authorize_access_token(request)
    except ProviderMisconfigured as exc:
        log.warning("The provider's discovery document is refused: %s", exc)
        return _failed(request, "provider misconfigured", exc)
    except MismatchingStateError as exc:
        return _failed(request, "state mismatch", exc)
    except OAuthError as exc:  # the provider's refusal: access_denied, invalid_grant...
        return _failed(request, f"provider error: {_code(exc.error)}", exc)
    except TOKEN_ERRORS as exc:
        return _failed(request, "token error", exc)
    claims = token.get("userinfo")
    if not claims:
        return _failed(request, "no ID token", None)
    problem = claims_problem(dict(claims))
    if problem:
        log.warning("The ID token's claims are unusable here: %s", problem)
        return _failed(request, "unusable claims", None)
    identity = Identity.from_claims(dict(claims))
    outcome = oidc_user_resolve(identity=identity)
    if outcome.refusal:
        reason = "disabled here" if outcome.refusal == DISABLED else "no role here"
        _failed(request, reason, None, username=outcome.user.get_username())
        return render(
            request,
            "registration/oidc_no_access.html",
            {
                "refusal": outcome.refusal,
                "username": outcome.user.get_username(),
                "role_from_provider": bool(settings.OIDC_ROLE_CLAIM),
            },
            status=403,
        )
    outcome.user.sso_matched_by = outcome.matched_by  # the login event records it
    return _sign_in(request, outcome.user, identity.claims)


def _sign_in(request, user, claims: dict) -> HttpResponse:
    """As after a password: signed in, or the code step for a user with a factor, unless the
    provider's amr/acr already satisfies it (then that is this session's check)."""
    user.backend = BACKEND
    user.sign_in_method = "oidc"  # the login event records it
    nxt = _safe_next(request, request.session.pop(NEXT, "/"))
    if amr_satisfies_factor(claims):
        user.second_factor = provider_factor(claims)
        auth_login(request, user)
        session_checked(request, method=PROVIDER, at=provider_checked_at(claims))
    elif has_factor(user):
        request.session[login_step.PENDING] = {
            "user": user.pk, "backend": BACKEND, "at": time.time(), "next": nxt, "method": "oidc",
            "matched_by": getattr(user, "sso_matched_by", None),
        }  # fmt: skip
        return redirect("login_code")
    else:
        auth_login(request, user)
    return redirect(nxt)


def provider_checked_at(claims: dict) -> datetime:
    """When the provider checked the factor: the ID token's `auth_time` (when the user last
    authenticated there), not now; now only when the token says nothing (never later than now)."""
    now = timezone.now()
    value = claims.get("auth_time")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return now
    try:
        return min(datetime.fromtimestamp(value, tz=UTC), now)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, tz=UTC)  # unreadable: as if long ago, never fresh


def _failed(request, reason: str, exc, *, username: str = "") -> HttpResponse:
    log.warning("Single sign-on failed: %s (%s)", reason, type(exc).__name__ if exc else "-")
    login_failure_record(
        request=request, username=username, details={"method": "oidc", "reason": reason}
    )
    return render(request, "registration/oidc_failed.html", {"reason": reason}, status=400)


def _code(error) -> str:
    """The provider's error code as a stranger may have typed it into the callback's URL: only
    the characters of OAuth's codes (RFC 6749, 4.1.2.1), shortened."""
    return re.sub(r"[^a-z_]", "", str(error or "").lower())[:40] or "unnamed"
