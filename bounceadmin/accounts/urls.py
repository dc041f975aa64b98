"""`accounts/`: django.contrib.auth's own views at its own URLs, except that the password-reset
ones answer 404 unless outgoing email is configured (PASSWORD_RESET_ENABLED, from EMAIL_URL):
without mail a reset reaches no one, and an open form that sends mail is one more thing to abuse.
The check runs per request, so the URL names always reverse and a settings change needs no
reload of the URLconf. The login view is Django's with a second step for a user with a second
factor (login.py); the two-factor pages are mfa/views.py; single sign-on, oidc/views.py. With
LOCAL_LOGIN=false the reset pages answer 404 as well: no passwords, nothing to reset."""

from functools import wraps

from django.conf import settings
from django.contrib.auth import urls as auth_urls
from django.http import Http404
from django.urls import path

from .login import SignInView, login_code
from .mfa import views as mfa
from .oidc import views as oidc

RESET_VIEWS = {"password_reset", "password_reset_done", "password_reset_confirm",
               "password_reset_complete"}  # fmt: skip


def when_email_is_configured(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("Password reset needs outgoing email (EMAIL_URL).")
        if not settings.LOCAL_LOGIN:
            raise Http404("Local passwords are turned off (LOCAL_LOGIN=false).")
        return view(request, *args, **kwargs)

    return wrapper


urlpatterns = [
    path(
        str(pattern.pattern),
        when_email_is_configured(pattern.callback)
        if pattern.name in RESET_VIEWS
        else pattern.callback,
        name=pattern.name,
    )
    for pattern in auth_urls.urlpatterns
    if pattern.name != "login"
] + [
    path("login/", SignInView.as_view(), name="login"),  # Django's, then the code step
    path("login/code/", login_code, name="login_code"),
    path("oidc/login/", oidc.oidc_start, name="oidc_start"),  # single sign-on (oidc/)
    path("oidc/callback/", oidc.oidc_callback, name="oidc_callback"),
    path("two-factor/", mfa.mfa_overview, name="mfa"),
    path("two-factor/setup/", mfa.mfa_setup, name="mfa_setup"),
    path("two-factor/sign-in-again/", mfa.mfa_sign_in_again, name="mfa_sign_in_again"),
    path("two-factor/verify/", mfa.mfa_verify, name="mfa_verify"),
    path("two-factor/recovery-codes/", mfa.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("two-factor/remove/", mfa.mfa_remove, name="mfa_remove"),
]
