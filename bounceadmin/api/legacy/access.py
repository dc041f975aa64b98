"""Who is asking and what they may reach: `api_user` (the operator's username) with `api_key`
(one of that operator's API tokens), both required and matching; the token's throttle; the
operator's role and subuser scope, through accounts.scoping as everywhere else."""

from __future__ import annotations

from types import SimpleNamespace

from django.http import QueryDict
from rest_framework.exceptions import AuthenticationFailed

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.api.authentication import authenticate_secret
from bounceadmin.api.throttling import TokenRateThrottle
from bounceadmin.bounces.models import Subuser

from .errors import LegacyError
from .params import single

# One answer for every credential problem: which half was wrong is not for a stranger to learn.
BAD_CREDENTIALS = "Bad username / password"


def authenticate(request, params: QueryDict, *, role: str = "viewer"):
    """The operator, with their token noted on the request (the audit log names it)."""
    username, secret = single(params, "api_user"), single(params, "api_key")
    if not username or not secret:
        raise LegacyError(BAD_CREDENTIALS, status=401)
    try:
        user, token = authenticate_secret(request, secret)
    except AuthenticationFailed:
        raise LegacyError(BAD_CREDENTIALS, status=401) from None
    if user.get_username() != username:
        request.api_token = None  # not this operator's token: it acts for nobody
        raise LegacyError(BAD_CREDENTIALS, status=401)
    request.user = user
    _throttle(request, user, token)
    if not has_role(user, role):
        raise LegacyError(f"Permission denied: this needs the {role} role.", status=403)
    return user, token


def _throttle(request, user, token) -> None:
    throttle = TokenRateThrottle()
    if not throttle.allow_request(SimpleNamespace(auth=token, user=user, META=request.META), None):
        wait = throttle.wait()
        exc = LegacyError("Too many requests: slow down.", status=429)
        exc.retry_after = max(1, int(wait or 1))
        raise exc


def subuser_of(user, params: QueryDict, *, required: bool = True) -> Subuser | None:
    """The `user` parameter's subuser, if this operator may see it. An unknown subuser and one
    out of scope get the same answer, so a scoped token cannot learn who else exists."""
    name = single(params, "user")
    if not name:
        if required:
            raise LegacyError("user is required: the subuser whose bounces these are.")
        return None
    subuser = visible_subusers(user).filter(username=name).first()
    if subuser is None:
        raise LegacyError(f"user {name} is not a subuser under your account.", status=404)
    return subuser
