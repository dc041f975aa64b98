"""What every filtered, paginated list page shares: filters whose subuser choices are the user's
own, a page size chosen from a fixed set (never whatever the URL says), a page number that cannot
fail (or, for a list of a million rows, cursors: keyset.py), the filter's own query string, and
exports of exactly what the page lists."""

from __future__ import annotations

import functools

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.utils import OrderBy, OrderByTuple

from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.keyset import CURSOR_PARAMETERS, keyset_paginate

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50


def choice(value: str | None, allowed: tuple[int, ...], default: int) -> int:
    """`value` when it is one of `allowed`, else `default`: a URL never picks a number freely."""
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if number in allowed else default


def page_size(value: str | None) -> int:
    return choice(value, PAGE_SIZES, DEFAULT_PAGE_SIZE)


class QuickSelectMultiple(forms.SelectMultiple):
    """A multiple select with Django's markup, its options written here rather than through one
    template each: for 200 subusers that took 30 ms of every list page."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], flatatt(option["attrs"]), option["label"])
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>', widget["name"], flatatt(widget["attrs"]), options
        )


def scoped_filterset(filterset_class, request, queryset):
    """A list's filter from the query string, its subuser choices limited to the user's own."""
    return filterset_class(request.GET, queryset=queryset, subusers=visible_subusers(request.user))


@functools.cache
def sort_fields(table_class) -> dict[str, OrderByTuple]:
    """What each sortable column of a table orders by, by column name (the list's `sort=`): the
    exports follow the list's sort through this, so a column added to a table sorts its export."""
    table = table_class([], order_by=())  # unsorted: each column's own, ascending order_by
    return {column.name: column.order_by for column in table.columns.iterorderable()}


def export_order(
    sort: str | None, sortable: dict[str, OrderByTuple], default: list[str]
) -> list[str]:
    """An ORDER BY for an export that follows the list's `sort=` (see `sort_fields`). The id
    breaks ties so the order is stable."""
    name = (sort or "").lstrip("-")
    if name not in sortable:
        return default
    if (sort or "").startswith("-"):
        return [*sortable[name].opposite, "-id"]
    return [*sortable[name], "id"]


def _break_ties(table) -> None:
    """Make the sort total: rows equal in the sorted column come in id order (in the sort's
    direction, as in the exports). Otherwise PostgreSQL may order them differently in each page's
    LIMIT/OFFSET query, so paging repeats some rows and never shows others."""
    queryset = getattr(table.data, "data", None)
    if not isinstance(queryset, QuerySet):
        return
    order = list(queryset.query.order_by)
    if not order and queryset.query.default_ordering:
        order = list(queryset.model._meta.ordering)
    if not order or any(isinstance(o, str) and o.lstrip("-") in ("pk", "id") for o in order):
        return
    first = order[0]
    if isinstance(first, str):
        descending = first.startswith("-")
    else:
        descending = getattr(first, "descending", False)
    table.data.data = queryset.order_by(*order, "-pk" if descending else "pk")


def capped_count(queryset: QuerySet, cap: int) -> tuple[int, bool]:
    """How many rows `queryset` has, counting at most `cap` + 1 of them: (count, more_than_cap).

    COUNT(*) over a LIMITed subquery stops after cap + 1 rows; a plain COUNT(*) of a million-row
    filter reads every match, which an index cannot shorten when the filter is a `%` search."""
    counted = queryset.order_by()[: cap + 1].count()
    return min(counted, cap), counted > cap


class InvalidFilters(Exception):
    """An export asked for with filters that are not valid: answered 400 with what is wrong,
    never a file that holds only its header."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Some filters are not valid.")
        self.errors = errors

    def response(self, request, *, as_json: bool) -> HttpResponse:
        if as_json:
            return JsonResponse({"errors": self.errors}, status=400)
        lines = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in self.errors.items()
        )
        return render(
            request, "400.html", {"exception": f"Some filters are not valid: {lines}"}, status=400
        )


def filtered_for_export(filterset_class, request, queryset, *, table_class, default: list[str]):
    """The rows an export of a list page holds: its filter in its sort, the sort of
    `table_class`'s columns. Raises InvalidFilters when the filter is not valid."""
    filterset = scoped_filterset(filterset_class, request, queryset)
    if not filterset.is_valid():
        raise InvalidFilters({k: list(v) for k, v in filterset.form.errors.items()})
    order = export_order(request.GET.get("sort"), sort_fields(table_class), default)
    return filterset.qs.order_by(*order)


def attachment(chunks, *, content_type: str, name: str, extension: str) -> StreamingHttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{extension}"'
    return response


class FilteredTableMixin(SingleTableMixin):
    # Page by cursor (keyset.py) through every match, however many, and count at most
    # `count_cap` of them (None: all); each sortable column of the table must then be one column
    # of the model, with an index on (column, id). Otherwise pages are offsets, all counted.
    keyset = False
    count_cap: int | None = None

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["subusers"] = visible_subusers(self.request.user)
        return kwargs

    def get_table(self, **kwargs):
        # kwargs are get_table_kwargs(), passed in by SingleTableMixin.get_context_data.
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        RequestConfig(self.request, paginate=False).configure(table)  # sorting from the URL
        per_page = page_size(self.request.GET.get("per_page"))
        if self.keyset:
            self._paginate_by_cursor(table, per_page)
            return table
        _break_ties(table)
        try:
            table.paginate(page=self.request.GET.get("page") or 1, per_page=per_page)
        except PageNotAnInteger:
            table.paginate(page=1, per_page=per_page)
        except EmptyPage:
            table.paginate(page=table.paginator.num_pages, per_page=per_page)
        return table

    def _paginate_by_cursor(self, table, per_page: int) -> None:
        if not table.order_by:  # no sort=, or not a sortable column's
            table.order_by = table._meta.order_by
        alias = OrderBy(table.order_by[0])
        fields = sort_fields(type(table))[alias.bare]
        if len(fields) != 1 or "__" in fields[0].bare:
            raise ImproperlyConfigured(f"A keyset sort is one column of the model, not {fields}")
        field = fields[0].opposite if alias.is_descending else fields[0]
        if self.count_cap is None:
            count, capped = table.data.data.count(), False
        else:
            count, capped = capped_count(table.data.data, self.count_cap)
        keyset_paginate(
            table,
            self.request.GET,
            sort=str(alias),
            name=field.bare,
            descending=field.is_descending,
            count=count,
            capped=capped,
            per_page=per_page,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        for key in ("sort", "per_page", *CURSOR_PARAMETERS):
            query.pop(key, None)
        context["filter_query"] = query.urlencode()
        context["page_sizes"] = PAGE_SIZES
        context["filtered"] = bool(query)
        return context
