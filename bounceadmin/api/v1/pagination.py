"""Cursor pagination for `/api/v1/` lists, over the pages' keyset paging (bounceadmin/keyset.py):
a page is the rows after (or before) a cursor in a total order, a column and the id, so the
ten-thousandth page costs what the first does and following `next` reaches every match, with
no duplicates or gaps while rows come and go.

Unlike the pages, which start again at the first page when a cursor does not decode, the API
answers 400: a script that silently restarted would loop for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from bounceadmin.keyset import Cursor, Seek, cursor_read, cursor_token
from bounceadmin.listing import DEFAULT_PAGE_SIZE

MAX_LIMIT = 500


@dataclass(frozen=True)
class KeysetOrder:
    """The order a list is paged in: `sort` as the client names it (e.g. "-created"), the
    model's column, and its direction; the id breaks ties in the same direction."""

    sort: str
    name: str
    descending: bool


class KeysetPagination(BasePagination):
    """The view gives the order as `view.keyset_order(request)`, a KeysetOrder."""

    limit_params = ("limit", "per_page")
    after_param, before_param = "after", "before"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = self.limit_of(request)
        order: KeysetOrder = view.keyset_order(request)
        key_field = queryset.model._meta.get_field(order.name)
        seek = Seek(queryset, order.name, key_field, order.descending)
        after = self.cursor_of(request, self.after_param, order, key_field)
        before = None if after else self.cursor_of(request, self.before_param, order, key_field)
        if before is not None:
            rows, more_before = seek.rows(before, limit, forward=False)
            more_after = True
        else:
            rows, more_after = seek.rows(after, limit, forward=True)
            more_before = after is not None
        self.next = (
            self.link(rows[-1], order, key_field, self.after_param)
            if (more_after and rows)
            else None
        )
        self.previous = (
            self.link(rows[0], order, key_field, self.before_param)
            if (more_before and rows)
            else None
        )
        return rows

    def limit_of(self, request) -> int:
        for name in self.limit_params:
            value = request.query_params.get(name)
            if value is None or value == "":
                continue
            try:
                limit = int(value)
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIMIT:
                raise ValidationError({name: [f"A whole number from 1 to {MAX_LIMIT}."]})
            return limit
        return DEFAULT_PAGE_SIZE

    def cursor_of(self, request, name: str, order: KeysetOrder, key_field) -> Cursor | None:
        token = request.query_params.get(name)
        if not token:
            return None
        cursor = cursor_read(token, sort=order.sort, key_field=key_field)
        if cursor is None:
            raise ValidationError(
                {name: ["Not a cursor of this list in this sort: follow `next` and `previous`."]}
            )
        return cursor

    def link(self, row, order: KeysetOrder, key_field, param: str) -> str:
        key = getattr(row, key_field.attname)
        return self.with_cursor(param, cursor_token(Cursor(order.sort, key, row.pk, 0)))

    def with_cursor(self, param: str, token: str) -> str:
        """This request's URL, its cursor replaced by `token` as `param`."""
        url = self.request.build_absolute_uri()
        for name in (self.after_param, self.before_param):
            url = remove_query_param(url, name)
        return replace_query_param(url, param, token)

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.next, "previous": self.previous})

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {"results": schema, "next": link, "previous": link},
        }

    def get_schema_operation_parameters(self, view):
        limit = (
            f"Rows a page, 1 to {MAX_LIMIT} (default {DEFAULT_PAGE_SIZE}); `per_page` is the "
            "pages' name for it."
        )
        cursor = "An opaque cursor: the `{}` link of the page before."
        return [
            {"name": name, "required": False, "in": "query", "description": limit,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
            for name in self.limit_params
        ] + [
            {"name": name, "required": False, "in": "query",
             "description": cursor.format("next" if name == self.after_param else "previous"),
             "schema": {"type": "string"}}
            for name in (self.after_param, self.before_param)
        ]  # fmt: skip
