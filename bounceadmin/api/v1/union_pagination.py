"""Cursor pagination through every list at once (`GET /api/v1/suppressions/`): the all-lists
page's own walk of two tables as one order (suppressions/union.py), with the API's rules
(pagination.py): opaque `after`/`before` cursors, `limit` up to 500, a cursor that is not one of
this list in this sort a 400 (a script that silently restarted would loop for ever). No count
and no page numbers: following `next` reaches every match."""

from __future__ import annotations

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from bounceadmin.keyset import Counted
from bounceadmin.suppressions.union import (
    Side,
    union_cursor_read,
    union_cursor_token,
    union_find,
)

from .pagination import KeysetPagination


class UnionPagination(KeysetPagination):
    """The view calls `paginate_sides` with the selector's sides and the sort."""

    def paginate_queryset(self, queryset, request, view=None):  # pragma: no cover
        raise NotImplementedError("paginate_sides: two tables, not one queryset")

    def paginate_sides(self, sides: list[Side], request, *, sort: str) -> list:
        self.request = request
        limit = self.limit_of(request)
        query = QueryDict(mutable=True)
        for name in (self.after_param, self.before_param):  # `after` wins, as on the pages
            token = request.query_params.get(name)
            if not token:
                continue
            if union_cursor_read(token, sort) is None:
                raise ValidationError(
                    {name: ["Not a cursor of this list in this sort: follow `next` and "
                            "`previous`."]}
                )  # fmt: skip
            query[name] = token
            break
        found = union_find(sides, query, sort=sort, counted=Counted(0, False, limit))
        rows = found.rows
        self.next = self.union_link(rows[-1], sort, self.after_param) if (
            found.more_after and rows) else None  # fmt: skip
        self.previous = self.union_link(rows[0], sort, self.before_param) if (
            found.more_before and rows) else None  # fmt: skip
        return rows

    def union_link(self, row, sort: str, param: str) -> str:
        return self.with_cursor(param, union_cursor_token(row, sort))
