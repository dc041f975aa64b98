"""Sign-in: Django's own login view (django-axes counting its failures), then, for a user with a
second factor, the code step before the session is signed in. Single sign-on (oidc/) ends in the
same code step when the provider's `amr` does not already satisfy the factor.

Between the two steps the session holds only who passed the password, for a few minutes, not a
login: nothing is reachable until the code is right, and `user_logged_in` (the audit's login
event, axes' reset) fires once, at the end.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .mfa.devices import has_factor
from .mfa.forms import CodeForm
from .mfa.services import factor_check
from .mfa.session import session_checked
from .oidc import oidc_enabled

PENDING = "mfa_pending_login"
CODE_STEP_SECONDS = 300  # the password's pass waits this long for the code


class SignInView(LoginView):
    """The password form, beside the single sign-on button when it is configured; with
    LOCAL_LOGIN=false only the button, and a password posted anyway is refused unread."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            **kwargs,
            local_login=settings.LOCAL_LOGIN,
            oidc_enabled=oidc_enabled(),
            oidc_provider_name=settings.OIDC_PROVIDER_NAME,
        )

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_LOGIN:
            return HttpResponseForbidden("Local passwords are turned off: use single sign-on.")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if not has_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_code")


def _pending(request: HttpRequest):
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > CODE_STEP_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    return (pending, user) if user is not None else (None, None)


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: an authenticator code, or one of the recovery codes."""
    pending, user = _pending(request)
    if user is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in again: the password step was too long ago.")
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = factor_check(
            user=user, code=form.cleaned_data["code"], purpose="sign-in", request=request
        )
        if check.factor:
            del request.session[PENDING]
            user.backend = pending["backend"]
            user.second_factor = check.factor  # the login event records it
            user.sign_in_method = pending.get("method")  # "oidc" after single sign-on
            user.sso_matched_by = pending.get("matched_by")  # how single sign-on found them
            auth_login(request, user)
            session_checked(request)
            if check.factor == "recovery code":
                messages.warning(
                    request,
                    "You signed in with a recovery code; it works no more. Set up your"
                    " authenticator again or make new recovery codes on your two-factor page.",
                )
            nxt = pending.get("next") or "/"
            safe = url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure())
            return redirect(nxt if safe else "/")
        form.add_error("code", CodeForm.refusal(check))
    return render(request, "registration/login_code.html", {"form": form, "username": user})
