"""`GET /api/v1/audit/`: the audit log with the audit page's filters (its own filterset) and
scoping (`audit.selectors.visible_events`: an operator limited to some subusers sees only their
events), newest first, paged by cursor on (at, id)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from bounceadmin.audit.filters import AuditFilter
from bounceadmin.audit.selectors import visible_events

from .bounces import ScopedFilterBackend
from .pagination import KeysetOrder, KeysetPagination
from .serializers import AuditEventSerializer

SORTS = {
    "-at": KeysetOrder(sort="-at", name="at", descending=True),
    "at": KeysetOrder(sort="at", name="at", descending=False),
}


@extend_schema(
    parameters=[
        OpenApiParameter(
            "sort",
            OpenApiTypes.STR,
            enum=list(SORTS),
            description="`-at` (the default): newest first; `at`: oldest first. Events of one "
            "instant in the order they were recorded.",
        )
    ]  # fmt: skip
)
class AuditList(generics.ListAPIView):
    """The audit events the token's operator may see, filtered as on `/audit/`."""

    serializer_class = AuditEventSerializer
    pagination_class = KeysetPagination
    filter_backends = [ScopedFilterBackend]
    filterset_class = AuditFilter

    def get_queryset(self):
        return visible_events(self.request.user)

    def keyset_order(self, request) -> KeysetOrder:
        sort = request.query_params.get("sort") or "-at"
        if sort not in SORTS:
            raise ValidationError({"sort": [f"One of {', '.join(SORTS)}."]})
        return SORTS[sort]
