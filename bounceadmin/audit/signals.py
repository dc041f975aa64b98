"""Logins, failed logins and logouts into the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .login_failures import login_failure_record
from .models import AuditEvent
from .services import audit_record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    factor = getattr(user, "second_factor", None)  # set by the sign-in's code step
    details = {"second_factor": factor} if factor else {}
    method = getattr(user, "sign_in_method", None)  # "oidc" from single sign-on
    if method:
        details["method"] = method
    matched_by = getattr(user, "sso_matched_by", None)  # "subject", "email" or "new"
    if matched_by:
        details["matched_by"] = matched_by
    audit_record(AuditEvent.Action.LOGIN, actor=user, details=details, request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(AuditEvent.Action.LOGOUT, actor=user, request=request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    login_failure_record(request=request, username=str(credentials.get("username", "")))
