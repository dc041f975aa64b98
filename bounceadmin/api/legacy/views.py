"""One view per legacy endpoint. Each authenticates, reads the pages' parameters, and either
reads the cache (scoped through accounts.scoping) or files a deletion request through
deletions.services, the same service the pages use; every refusal is a LegacyError, answered in
the documented error shape by `legacy`."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.db.models import Exists
from django.http import QueryDict
from django.views.decorators.csrf import csrf_exempt

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import visible_bounces
from bounceadmin.deletions.preview import held_items
from bounceadmin.deletions.services import (
    DeletionError,
    deletion_request_create,
    needs_confirmation,
)

from . import render
from .access import authenticate, subuser_of
from .errors import LegacyError, email_does_not_exist
from .params import Filters, date_flag, emails, filters, integer, merged, single, timestamp

PARENT_NOT_CACHED = (
    "The parent account's own bounce list is not cached here, only its subusers' lists:"
    " pass user=SUBUSER."
)
WHOLE_LIST = (
    "Refused: without parameters this would delete the ENTIRE list. Removing a whole list is"
    " only done on the dashboard, with a typed confirmation; name the address with email=."
)


def legacy(name: str):
    """GET or POST, CSRF-free (a key in the parameters, no cookie), answered in `fmt`; every
    LegacyError becomes the documented error shape."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, fmt: str):
            try:
                if request.method not in ("GET", "POST"):
                    raise LegacyError("Use GET or POST.", status=405)
                return view(request, fmt, merged(request), f"{name}.{fmt}")
            except LegacyError as exc:
                response = render.error(fmt, exc)
                if getattr(exc, "retry_after", None):
                    response["Retry-After"] = str(exc.retry_after)
                return response

        wrapped.answers_nul_itself = True  # params.single refuses NUL in the documented shape
        return wrapped

    return decorator


@legacy("bounces.get")
def bounces_get(request, fmt: str, params: QueryDict, endpoint: str):
    user, _ = authenticate(request, params)
    with_dates, selected = date_flag(params), filters(params)
    limit, offset = integer(params, "limit"), integer(params, "offset") or 0
    subuser = subuser_of(user, params, required=False)
    if subuser is None:
        raise LegacyError(PARENT_NOT_CACHED)
    rows = selected.apply(_listed(user, subuser)).order_by("created", "email", "pk")
    rows = rows[offset : offset + limit] if limit is not None else rows[offset:]
    return render.bounces(fmt, _entries(rows, with_dates=with_dates))


@legacy("bounces.count")
def bounces_count(request, fmt: str, params: QueryDict, endpoint: str):
    user, _ = authenticate(request, params)
    selected = filters(params)
    subuser = subuser_of(user, params, required=False)
    if subuser is None:
        raise LegacyError(PARENT_NOT_CACHED)
    return render.result(fmt, {"count": str(selected.apply(_listed(user, subuser)).count())})


@legacy("bounces.delete")
def bounces_delete(request, fmt: str, params: QueryDict, endpoint: str):
    user, token = authenticate(request, params)
    _require(user, "requester")
    selected = filters(params, days=False)
    if selected.empty:
        raise LegacyError(WHOLE_LIST)
    subuser = subuser_of(user, params, required=False)
    if subuser is None:
        raise LegacyError(PARENT_NOT_CACHED)
    return _request_deletion(request, fmt, params, endpoint, user, token, subuser, selected)


@legacy("user.bounces")
def user_bounces(request, fmt: str, params: QueryDict, endpoint: str):
    """The v1 and v2 "Subuser Bounces" pages: `user`, `task=get|delete`, `date`, `email`."""
    user, token = authenticate(request, params)
    return _subuser_task(request, fmt, params, endpoint, user, token)


@legacy("distributor.manage")
def distributor_manage(request, fmt: str, params: QueryDict, endpoint: str):
    """The v1 distributor's "Customer Bounces": the same, behind `method=bounces`."""
    user, token = authenticate(request, params)
    if single(params, "method") != "bounces":
        raise LegacyError("method must be bounces: only bounces are served here.")
    return _subuser_task(request, fmt, params, endpoint, user, token)


def _subuser_task(request, fmt: str, params: QueryDict, endpoint: str, user, token):
    task = single(params, "task")
    if task not in ("get", "delete"):
        raise LegacyError("task must be get or delete.")
    if task == "get":
        with_dates, selected = date_flag(params), filters(params)
        subuser = subuser_of(user, params)
        rows = selected.apply(_listed(user, subuser)).order_by("created", "email", "pk")
        return render.bounces(fmt, _entries(rows, with_dates=with_dates))
    _require(user, "requester")
    selected = Filters(emails=tuple(emails(params)))
    subuser = subuser_of(user, params)
    if selected.empty:
        raise LegacyError(WHOLE_LIST)
    return _request_deletion(request, fmt, params, endpoint, user, token, subuser, selected)


def _require(user, role: str) -> None:
    if not has_role(user, role):
        raise LegacyError(f"Permission denied: this needs the {role} role.", status=403)


def _listed(user, subuser):
    """The subuser's list as last seen upstream."""
    return visible_bounces(user).filter(subuser=subuser, removed_at__isnull=True)


def _entries(rows, *, with_dates: bool):
    for email, status, reason, created in rows.values_list(
        "email", "status", "reason", "created"
    ).iterator(chunk_size=2000):
        entry = {"email": email, "status": status, "reason": reason}
        if with_dates:
            entry["created"] = timestamp(created)
        yield entry


def _request_deletion(request, fmt, params, endpoint, user, token, subuser, selected: Filters):
    """A deletion request for the matching addresses, pending an approver: "success" here means
    requested, not removed."""
    bounces = selected.apply(_listed(user, subuser))
    if not bounces.exists():
        if selected.emails:
            raise email_does_not_exist()
        raise LegacyError(f"No bounce of {subuser.username} matches.", status=404)
    total = bounces.exclude(Exists(held_items())).count()  # as the service counts them
    if needs_confirmation(total, delete_all=False):
        raise LegacyError(
            f"Refused: this would remove {total} addresses; more than"
            f" {settings.DELETION_CONFIRM_THRESHOLD} need a typed confirmation, given on the"
            " dashboard or through /api/v1/."
        )
    recorded = params.copy()
    for secret in ("api_key", "api_user"):
        recorded.pop(secret, None)
    try:
        created = deletion_request_create(
            user=user,
            bounces=bounces,
            justification=f"Requested through the legacy API {endpoint} with token {token.name}.",
            selection=recorded.urlencode(),
        )
    except DeletionError as exc:
        raise LegacyError(str(exc), status=409) from None
    deletion = created[0]
    return render.result(
        fmt, {"message": "success", "request_id": deletion.pk, "state": deletion.state}
    )
