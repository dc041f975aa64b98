"""`/api/v1/deletion-requests/`: request removals, read them, decide them. Thin: the selection,
the preview and every rule (justification, confirmation, what is left out, four-eyes, who may
withdraw) are the deletion pages' own selectors and services; requests are scoped through
accounts.scoping, so another subuser's request is a 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.api import idempotency
from bounceadmin.api.permissions import IsApprover, IsRequester, IsViewer
from bounceadmin.api.second_factor import api_factor_checked_at
from bounceadmin.audit.selectors import events_for_deletion_request
from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import selectors, services
from bounceadmin.deletions.filters import DeletionRequestFilter
from bounceadmin.deletions.models import DeletionRequest
from bounceadmin.deletions.preview import deletion_preview

from .deletion_serializers import (
    CreatedSerializer,
    DecisionSerializer,
    DeletionCreateSerializer,
    DeletionRequestDetailSerializer,
    DeletionRequestSerializer,
    DryRunSerializer,
    ErrorsSerializer,
)
from .other_list_requests import other_list_request

ITEMS_SHOWN = 1000  # addresses in a request's detail; the counts cover them all


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request is not in a state that allows this."
    default_code = "conflict"


class NewestFirst(CursorPagination):
    ordering = ("-requested_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorsSerializer) for code in codes}


IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Makes a retried POST answer what the first did (for 24 hours, per token) "
    "instead of creating a second request; the same key with another body is 422.",
)  # fmt: skip


class DeletionRequestList(generics.ListAPIView):
    """Deletion requests of the subusers this token's operator may see, newest first."""

    serializer_class = DeletionRequestSerializer
    pagination_class = NewestFirst

    def get_permissions(self):
        return [IsRequester()] if self.request.method == "POST" else [IsViewer()]

    def get_queryset(self):
        filterset = DeletionRequestFilter(
            self.request.query_params,
            queryset=selectors.visible_requests(self.request.user),
            subusers=visible_subusers(self.request.user),
        )
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.form.errors)
        return filterset.qs

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, many=True, enum=DeletionRequest.State.values),
            OpenApiParameter("subuser", str, many=True, description="A subuser's username."),
            OpenApiParameter("limit", int, description="Per page, at most 500 (default 50)."),
        ],
        responses={200: DeletionRequestSerializer(many=True), **_errors(400)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Request removals (or preview them with dry_run)",
        request=DeletionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: CreatedSerializer,
            200: OpenApiResponse(DryRunSerializer, description="dry_run: nothing created."),
            **_errors(400, 403, 404, 422),
        },
    )
    def post(self, request):
        """One request per subuser of the selection, as the request page makes them; addresses
        an open request already holds are left out. A large or whole-list request needs
        `confirm`."""
        serializer = DeletionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["list"] != "bounces":
            return other_list_request(request, data)
        if data["dry_run"]:
            return self._dry_run(data)
        return idempotency.idempotent(request, lambda: self._create(data))

    def _selection(self, data) -> tuple[QuerySet[Bounce], str]:
        """(the selected bounces, how they were chosen, for the record)."""
        user = self.request.user
        try:
            if "ids" in data:
                selection = selectors.selection_by_ids(user, data["ids"])
                found = set(selection.bounces.values_list("pk", flat=True))
                missing = [pk for pk in dict.fromkeys(data["ids"]) if pk not in found]
                if missing:
                    raise exceptions.NotFound(
                        "No bounce you may see has the id "
                        + ", ".join(map(str, missing[:10]))
                        + (" and more" if len(missing) > 10 else "")
                        + "."
                    )
                return selection.bounces, urlencode([("bounce", pk) for pk in data["ids"]])
            selection = selectors.selection_by_filter(user, data["filter"])
            return selection.bounces, urlencode({"scope": "filter"}) + (
                "&" + data["filter"].urlencode() if data["filter"] else ""
            )
        except selectors.InvalidSelection as exc:
            field = "ids" if "ids" in data else "filter"
            raise exceptions.ValidationError({field: exc.errors or [str(exc)]}) from None

    def _dry_run(self, data) -> Response:
        bounces, _ = self._selection(data)
        preview = deletion_preview(bounces=bounces)
        needed = services.needs_confirmation(preview.total, delete_all=data["delete_all"])
        body = {
            "dry_run": True,
            "total": preview.total,
            "subusers": preview.subusers,
            "left_out": [
                {
                    "email": a.email,
                    "subuser": a.subuser,
                    "request_id": a.request_id,
                    "reason": f"already requested in #{a.request_id}",
                }
                for a in preview.already
            ],
            "left_out_total": preview.already_total,
            "confirmation_required": needed,
            "confirm": services.confirmation_phrase(preview.total) if needed else None,
        }
        return Response(DryRunSerializer(body).data)

    def _create(self, data) -> Response:
        bounces, query = self._selection(data)
        delete_all = frozenset()
        if data["delete_all"]:
            delete_all = frozenset(
                bounces.filter(removed_at__isnull=True)
                .order_by()
                .values_list("subuser__username", flat=True)
                .distinct()
            )
        try:
            created = services.deletion_request_create(
                user=self.request.user,
                bounces=bounces,
                justification=data["justification"],
                ticket=data["ticket"],
                selection=query,
                delete_all_subusers=delete_all,
                confirmation=data["confirm"],
            )
        except services.ConfirmationNeeded as exc:
            raise exceptions.ValidationError(
                {"confirm": [f'{exc} Send "confirm": "{exc.phrase}".']}
            ) from None
        except services.DeletionError as exc:
            raise exceptions.ValidationError([str(exc)]) from None
        body = CreatedSerializer({"requests": created}, context={"request": self.request}).data
        return Response(body, status=status.HTTP_201_CREATED)


def _visible(request, pk: int) -> DeletionRequest:
    return get_object_or_404(selectors.visible_requests(request.user), pk=pk)


def _detail(request, deletion: DeletionRequest) -> Response:
    items = selectors.request_items(deletion, limit=ITEMS_SHOWN)
    deletion.counts = selectors.item_counts(deletion)
    deletion.items_shown = ITEMS_SHOWN
    deletion.items_list = [*items.failed, *items.others[: ITEMS_SHOWN - len(items.failed)]]
    deletion.events = events_for_deletion_request(request.user, deletion.pk)
    serializer = DeletionRequestDetailSerializer(deletion, context={"request": request})
    return Response(serializer.data)


class DeletionRequestDetail(APIView):
    @extend_schema(responses={200: DeletionRequestDetailSerializer, **_errors(404)})
    def get(self, request, pk: int):
        """One request: its addresses with their state upstream (pushed_at, error), their
        counts per state, and its events (the decision, retries), as its page shows them."""
        return _detail(request, _visible(request, pk))


class _Decision(APIView):
    decide = None  # the service
    rule_field = None  # the field a plain DeletionError of the service is about
    second_factor = True  # approving and rejecting need it (MFA_REQUIRED_ROLES)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: DeletionRequestDetailSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        deletion = _visible(request, pk)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extra = {}
        if self.second_factor:
            code = serializer.validated_data["otp_code"]
            extra["factor_checked_at"] = api_factor_checked_at(request, code)
        try:
            type(self).decide(
                request_id=deletion.pk,
                user=request.user,
                comment=serializer.validated_data["comment"],
                **extra,
            )
        except services.NotPermitted as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except services.WrongState as exc:
            raise Conflict(str(exc)) from None
        except services.DeletionError as exc:
            raise exceptions.ValidationError({self.rule_field: [str(exc)]}) from None
        return _detail(request, _visible(request, pk))


class DeletionApprove(_Decision):
    """Approve a pending request of another operator (four-eyes: your own is 403, unless
    single-person mode is on) and queue its push upstream, as the approval page does. For the
    roles that need a second factor, send your authenticator's current code as `otp_code`."""

    permission_classes = [IsApprover]
    decide = services.deletion_approve


class DeletionReject(_Decision):
    """Reject a pending request, saying why in `comment`; nothing is removed."""

    permission_classes = [IsApprover]
    decide = services.deletion_reject
    rule_field = "comment"


class DeletionWithdraw(_Decision):
    """Withdraw a pending request: its requester or an admin, saying why in `comment`."""

    permission_classes = [IsRequester]
    decide = services.deletion_withdraw
    second_factor = False
    rule_field = "comment"
