"""`GET /api/v1/bounces/` and `GET /api/v1/bounces/{id}/`: the bounce list's filters (the page's
own filterset, same names, same meaning), its sorts and its scoping, paged by cursor; one bounce
with its timeline."""

from __future__ import annotations

from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from bounceadmin.accounts.scoping import visible_bounces, visible_subusers
from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.tables import BounceTable
from bounceadmin.bounces.timeline import address_timeline
from bounceadmin.ids import parse_id
from bounceadmin.listing import sort_fields

from .pagination import KeysetOrder, KeysetPagination
from .serializers import BounceDetailSerializer, BounceSerializer


class ScopedFilterBackend(DjangoFilterBackend):
    """A page's filterset over the API's query string, its subuser choices the token's own; a
    filter that is not valid is a 400 with a message per field (DjangoFilterBackend's)."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        kwargs["subusers"] = visible_subusers(request.user)
        return kwargs


def list_sorts(table_class, default: str) -> dict[str, KeysetOrder]:
    """Each `sort=` value a list page accepts (its sortable columns, either way) as the order the
    API pages in; each sortable column is one model column, as keyset paging needs."""
    orders = {}
    for alias, fields in sort_fields(table_class).items():
        (field,) = fields
        for sort in (alias, f"-{alias}"):
            descending = field.is_descending != sort.startswith("-")
            orders[sort] = KeysetOrder(sort=sort, name=field.bare, descending=descending)
    assert default in orders
    return orders


SORTS = list_sorts(BounceTable, default="-created")
DEFAULT_SORT = "-created"


@extend_schema(
    parameters=[
        OpenApiParameter(
            "sort",
            OpenApiTypes.STR,
            enum=list(SORTS),
            description=f"The list's order, as on the page (default `{DEFAULT_SORT}`); ties "
            "in id order, the same way.",
        ),
    ],  # fmt: skip
)
class BounceList(generics.ListAPIView):
    """The cached bounces the token's operator may see, filtered as on `/bounces/`: addresses
    removed upstream only with `removed=1` (also) or `removed=only`."""

    serializer_class = BounceSerializer
    pagination_class = KeysetPagination
    filter_backends = [ScopedFilterBackend]
    filterset_class = BounceFilter

    def get_queryset(self):
        return (
            visible_bounces(self.request.user)
            .select_related("subuser")
            .annotate(repeat_of_request=F("repeat_of__request_id"))
        )

    def keyset_order(self, request) -> KeysetOrder:
        sort = request.query_params.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            raise ValidationError({"sort": [f"One of {', '.join(SORTS)}."]})
        return SORTS[sort]


class BounceDetail(generics.RetrieveAPIView):
    """One bounce the token's operator may see, with its timeline (newest first, as on its
    page); 404 for another subuser's."""

    serializer_class = BounceDetailSerializer

    def get_object(self):
        if parse_id(str(self.kwargs["pk"])) is None:
            raise Http404  # no row has it (and SQLite cannot compare it)
        bounce = get_object_or_404(
            visible_bounces(self.request.user)
            .select_related("subuser")
            .annotate(repeat_of_request=F("repeat_of__request_id")),
            pk=self.kwargs["pk"],
        )
        bounce.timeline = address_timeline(bounce)
        return bounce
