"""`GET /api/v1/suppressions/` and `GET /api/v1/suppressions/{id}/`: every list in one list, the
all-lists page's own selector (suppressions/selectors.all_lists: its filterset, same names and
meaning, `list` repeatable, and its scoping), paged by cursor through both tables at once
(union_pagination.py); one entry of a list other than bounces, with its history and group."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.ids import parse_id
from bounceadmin.suppressions.entries import Entry
from bounceadmin.suppressions.filters import SuppressionFilter
from bounceadmin.suppressions.selectors import all_lists
from bounceadmin.suppressions.union import SORTS

from .bounces import ScopedFilterBackend
from .entry_serializers import EntryDetailSerializer, EntrySerializer
from .union_pagination import UnionPagination

DEFAULT_SORT = SORTS[0]


@extend_schema(
    parameters=[
        OpenApiParameter(
            "sort", OpenApiTypes.STR, enum=list(SORTS),
            description=f"By date (default `{DEFAULT_SORT}`, newest first); ties: bounces "
            "before the other lists when newest come first, then by id.",
        ),
    ],
)  # fmt: skip
class SuppressionList(generics.ListAPIView):
    """The entries of every list the token's operator may see (bounces, blocks, invalid emails,
    spam reports, global and group unsubscribes; the parent account's when granted), filtered
    as on `/suppressions/`: a filter only bounces have (`type`, `classification`, `fault`)
    leaves the other lists out; entries removed upstream only with `removed=1` or `only`."""

    serializer_class = EntrySerializer
    pagination_class = UnionPagination
    # Used for the schema (the page's filterset's parameters); list() filters through the
    # selector, which applies the same filterset to both tables.
    filter_backends = [ScopedFilterBackend]
    filterset_class = SuppressionFilter

    def get_queryset(self):
        return visible_suppressions(self.request.user)

    def list(self, request, *args, **kwargs):
        sort = request.query_params.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            raise ValidationError({"sort": [f"One of {', '.join(SORTS)}."]})
        found = all_lists(request.user, request.query_params)
        if not found.valid:
            raise ValidationError({k: list(v) for k, v in found.filterset.form.errors.items()})
        rows = self.paginator.paginate_sides(found.sides, request, sort=sort)
        entries = [Entry.of(row) for row in rows]
        return self.get_paginated_response(self.get_serializer(entries, many=True).data)


class SuppressionDetail(generics.RetrieveAPIView):
    """One entry of a list other than bounces (bounces are `/api/v1/bounces/{id}/`) that the
    token's operator may see, with its group and its history (newest first); 404 for another
    subuser's, or the parent account's without the grant."""

    serializer_class = EntryDetailSerializer

    def get_object(self):
        if parse_id(str(self.kwargs["pk"])) is None:
            raise Http404  # no row has it (and SQLite cannot compare it)
        row = get_object_or_404(
            visible_suppressions(self.request.user).select_related("subuser", "group"),
            pk=self.kwargs["pk"],
        )
        entry = Entry.of(row)
        entry.history = list(row.changes.order_by("-at", "-id"))
        return entry
