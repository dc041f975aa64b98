"""The v3 views: scope through accounts.scoping, filter through the pages' filtersets, request
removals through deletions.services, answer in SendGrid's shapes. `ListRead` and `EntryRead`
serve every list (sources.py); the bounce views add removals, lists.py the other lists."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Exists, QuerySet
from django.http import JsonResponse
from django.utils.cache import patch_cache_control
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bounceadmin.accounts.scoping import visible_bounces, visible_subusers
from bounceadmin.api.permissions import IsRequester, IsViewer
from bounceadmin.bounces.models import Subuser
from bounceadmin.deletions.preview import held_items
from bounceadmin.deletions.services import (
    DeletionError,
    confirmation_phrase,
    deletion_request_create,
    needs_confirmation,
)

from . import params, schema
from .headers import cache_age_headers, rate_limit_headers
from .sources import BOUNCES, ListSource

# What SendGrid answers for an on-behalf-of naming a subuser the key may not act for (the
# sandbox's model of it: upstream documents nothing). The same for unknown and invisible ones,
# so a token learns nothing of subusers outside its scope.
FORBIDDEN = "access forbidden"


class SendGridView(APIView):
    """Every answer carries X-RateLimit-* from this token's throttle, as SendGrid's do."""

    def get_throttles(self):
        self._counted = super().get_throttles()
        return self._counted

    def get_permissions(self):
        return [IsRequester() if self.request.method == "DELETE" else IsViewer()]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in rate_limit_headers(getattr(self, "_counted", ())).items():
            response[name] = value
        # Bounced addresses: for the caller only, never a shared cache (a token's request is
        # not a signed-in session, so PrivateCacheControlMiddleware does not see it).
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response

    def answered(self, request) -> QuerySet[Subuser]:
        """The subusers this request answers for: the one `on-behalf-of` names, else every
        subuser the token may see."""
        visible = visible_subusers(request.user)
        name = self.behalf(request)
        if name is None:
            return visible
        if "\x00" in name or len(name) > 128 or not visible.filter(username=name).exists():
            raise exceptions.PermissionDenied(FORBIDDEN)
        return visible.filter(username=name)

    def behalf(self, request) -> str | None:
        return (request.headers.get("on-behalf-of") or "").strip() or None

    def one_subuser(self, request) -> Subuser:
        """The subuser a removal is for: named by `on-behalf-of` unless the token sees one."""
        found = list(self.answered(request).order_by("username")[:2])
        if not found:
            raise exceptions.PermissionDenied(FORBIDDEN)
        if len(found) > 1:
            raise exceptions.ValidationError({"on-behalf-of": (
                "This token sees more than one subuser: name the one whose list this is with the"
                " on-behalf-of header."
            )})  # fmt: skip
        return found[0]

    def named(self, request, subusers: QuerySet[Subuser]) -> Subuser | None:
        """The subuser `on-behalf-of` names (`answered` checked it), else None: every one."""
        return None if self.behalf(request) is None else subusers.get()

    def with_cache_age(self, response: Response, subusers: QuerySet[Subuser]) -> Response:
        source = getattr(self, "source", BOUNCES)
        ages = source.refreshed(subusers)
        for name, value in cache_age_headers(ages["oldest"], bool(ages["never"])).items():
            response[name] = value
        return response

    def removal_headers(self, request) -> tuple[dict, str]:
        """(X-Ticket, X-Confirmation... as given, the justification: X-Justification or a
        sentence naming the token)."""
        extra = params.RemovalHeaders.of(request)
        token = getattr(request.auth, "name", None)
        justification = extra.get("justification") or (
            f"Requested through the SendGrid-compatible API by token {token}"
            if token else "Requested through the SendGrid-compatible API"
        )  # fmt: skip
        return extra, justification

    def accepted(self, request, subuser: Subuser, removal) -> Response:
        """202 with the request (the first, if several), its page in Location."""
        url = request.build_absolute_uri(removal.get_absolute_url())
        body = {"id": removal.pk, "state": removal.state, "url": url,
                "subuser": subuser.username, "total": removal.total}  # fmt: skip
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})

    def request_removal(self, request, emails: list[str]) -> Response:
        subuser = self.one_subuser(request)
        extra, justification = self.removal_headers(request)
        addresses = sorted({email.strip().lower() for email in emails})
        bounces = visible_bounces(request.user).filter(
            subuser=subuser, email__in=addresses, removed_at__isnull=True
        )
        if not bounces.exists():
            raise exceptions.NotFound({"email": [
                "email does not exist" if len(addresses) == 1
                else f"None of these addresses is on the bounce list of {subuser.username}."
            ]})  # fmt: skip
        fresh = bounces.exclude(Exists(held_items())).count()  # not in an open request yet
        confirmation = extra.get("confirmation", "")
        if (
            fresh
            and needs_confirmation(fresh, delete_all=False)
            and (confirmation.strip().lower() != confirmation_phrase(fresh))
        ):
            raise exceptions.ValidationError({"X-Confirmation": (
                f"This requests the removal of {fresh} addresses: confirm with the header"
                f" X-Confirmation: {confirmation_phrase(fresh)}"
            )})  # fmt: skip
        try:
            created = deletion_request_create(
                user=request.user, bounces=bounces, justification=justification,
                ticket=extra.get("ticket", ""), confirmation=confirmation,
                selection=f"{request.method} {request.path} on-behalf-of: {subuser.username}",
            )  # fmt: skip
        except DeletionError as exc:  # e.g. every address is already in an open request
            raise (exceptions.ValidationError if fresh else Conflict)(str(exc)) from None
        return self.accepted(request, subuser, created[0])


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ListRead(SendGridView):
    """GET: the active entries of one list (`source`) of the subusers answered, newest first,
    in SendGrid's shape for that list."""

    source: ListSource = BOUNCES

    def get(self, request):
        query = params.ListParams(data=params.present(request.query_params))
        query.is_valid(raise_exception=True)
        p = query.validated_data
        subusers = self.answered(request)
        rows = self.source.email_filtered(
            request.user, self.source.rows(request.user, self.named(request, subusers)),
            p.get("email"),
        )  # fmt: skip
        if "start_time" in p:
            rows = rows.filter(created__gte=at(p["start_time"]))
        if p.get("end_time", params.MAX_TIME) < params.MAX_TIME:  # inclusive: the whole second
            rows = rows.filter(created__lt=at(p["end_time"] + 1))
        page = rows.order_by("-created", "-id")[p["offset"] : p["offset"] + p["limit"]]
        return self.with_cache_age(Response(self.source.items(page)), subusers)


class EntryRead(SendGridView):
    """GET: the address's active entries on one list (an array, as SendGrid's; one per subuser
    answered)."""

    source: ListSource = BOUNCES

    def address(self, email: str) -> str:
        if "\x00" in email or len(email) > params.MAX_EMAIL:
            raise exceptions.ValidationError({"email": "Not an address."})
        return email

    def get(self, request, email: str):
        email = self.address(email)
        subusers = self.answered(request)
        rows = self.source.rows(request.user, self.named(request, subusers)).filter(
            email=email.strip().lower(), removed_at__isnull=True
        )
        return self.with_cache_age(
            Response(self.source.items(rows.order_by("-created", "-id"))), subusers
        )


@schema.bounce_list
class BounceList(ListRead):
    """GET: the active bounces of the subusers answered, newest first. DELETE: request the
    removal of `emails` from one subuser's list (202 with the request)."""

    def delete(self, request):
        body = params.BounceDeleteBody(data=request.data or {})  # no body: "send emails"
        body.is_valid(raise_exception=True)
        return self.request_removal(request, body.validated_data["emails"])


@schema.bounce_detail
class BounceDetail(EntryRead):
    """GET: the address's active bounces. DELETE: request its removal from one subuser's list
    (202 with the request)."""

    def delete(self, request, email: str):
        return self.request_removal(request, [self.address(email)])


class SubuserList(SendGridView):
    """The subusers the token may see, in SendGrid's shape."""

    @schema.subuser_list
    def get(self, request):
        query = params.SubuserListParams(data=params.present(request.query_params))
        query.is_valid(raise_exception=True)
        p = query.validated_data
        # The parent account's own lists are cached as one more Subuser, but it is no subuser:
        # a script would send its name as on-behalf-of to SendGrid.
        subusers = visible_subusers(request.user).filter(is_parent=False).order_by("username")
        if "username" in p:
            subusers = subusers.filter(username=p["username"])
        if p["region"] != "all":
            subusers = subusers.filter(region=p["region"])
        items = []
        for subuser in subusers[p["offset"] : p["offset"] + p["limit"]]:
            item = {
                "disabled": subuser.upstream_state != Subuser.UpstreamState.ACTIVE,
                "email": subuser.email,
                "id": subuser.sendgrid_id or subuser.pk,
                "username": subuser.username,
            }
            if p["include_region"]:
                item["region"] = subuser.region
            items.append(item)
        return Response(items)


def not_found(request, path: str = ""):
    """Any other path under /sendgrid/: SendGrid's 404, not a page."""
    return JsonResponse({"errors": [{"field": None, "message": "resource not found"}]}, status=404)
