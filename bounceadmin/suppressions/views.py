"""Pages over every suppression list: the all-lists table and its export, an entry's page and
the address lookup. Thin: reads come from selectors.py and lookup.py, scoped there."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django_tables2 import RequestConfig

from bounceadmin.accounts.roles import role_required
from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.bounces.views import LIST_COUNT_CAP
from bounceadmin.keyset import CURSOR_PARAMETERS
from bounceadmin.listing import PAGE_SIZES, InvalidFilters, attachment, page_size

from .export import csv_rows
from .forms import LookupForm, is_full_address
from .lookup import REMOVE_ALL_MAX, ROWS_SHOWN, address_lookup
from .selectors import all_lists
from .tables import SuppressionTable
from .union import SORTS, union_paginate


def _sort(request: HttpRequest) -> str:
    sort = request.GET.get("sort")
    return sort if sort in SORTS else SORTS[0]


@role_required("viewer")
def suppression_list(request: HttpRequest) -> HttpResponse:
    found = all_lists(request.user, request.GET)
    sort = _sort(request)
    table = SuppressionTable([], order_by=(sort,))
    RequestConfig(request, paginate=False).configure(table)
    per_page = page_size(request.GET.get("per_page"))
    if found.valid:
        union_paginate(
            table, found.sides, request.GET, sort=sort, per_page=per_page, cap=LIST_COUNT_CAP
        )
    query = request.GET.copy()
    for key in ("sort", "per_page", *CURSOR_PARAMETERS):
        query.pop(key, None)
    context = {
        "filter": found.filterset,
        "table": table,
        "filter_query": query.urlencode(),
        "page_sizes": PAGE_SIZES,
        "filtered": bool(query),
    }
    return render(request, "suppressions/suppression_list.html", context)


@role_required("viewer")
def suppression_export(request: HttpRequest) -> HttpResponse:
    """The table's current filter and sort, streamed as CSV."""
    found = all_lists(request.user, request.GET)
    if not found.valid:
        errors = {k: list(v) for k, v in found.filterset.form.errors.items()}
        return InvalidFilters(errors).response(request, as_json=False)
    rows = csv_rows(found.sides, descending=_sort(request).startswith("-"))
    return attachment(
        rows, content_type="text/csv; charset=utf-8", name="suppressions", extension="csv"
    )


@role_required("viewer")
def suppression_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(
        visible_suppressions(request.user).select_related("subuser", "group"), pk=pk
    )
    found = address_lookup(request.user, entry.email)
    context = {
        "entry": next(e for e in found.entries if not e.is_bounce and e.record.pk == entry.pk),
        "elsewhere": [e for e in found.entries if e.is_bounce or e.record.pk != entry.pk],
    }
    return render(request, "suppressions/suppression_detail.html", context)


@role_required("viewer")
def lookup(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("email")
    if request.GET.get("via") == "search" and not is_full_address(text or ""):
        # The header's search box: a prefix or `%` pattern is the bounce list's search.
        return redirect(reverse("bounces:list") + "?" + urlencode({"email": text or ""}))
    form = LookupForm(request.GET if text is not None else None)
    found = address_lookup(request.user, form.cleaned_data["email"]) if form.is_valid() else None
    shown = None if request.GET.get("all") == "1" else ROWS_SHOWN
    # Errors are shown on the form, answered 200 as the list pages answer filters not valid.
    context = {"form": form, "found": found, "shown": shown, "remove_all_max": REMOVE_ALL_MAX}
    return render(request, "suppressions/lookup.html", context)
