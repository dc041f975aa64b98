"""Pages over the bounce cache. Thin: querysets come from accounts.scoping, logic from services
and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_filters.views import FilterView

from bounceadmin.accounts.roles import has_role, role_required
from bounceadmin.accounts.scoping import visible_bounces, visible_subusers
from bounceadmin.audit.selectors import events_for_address
from bounceadmin.listing import (
    FilteredTableMixin,
    attachment,
    choice,
    filtered_for_export,
)
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.selectors import list_counts
from bounceadmin.webhooks.selectors import webhook_rows

from . import selectors
from .export import csv_rows, json_rows
from .filters import REMOVED_SHOWN, BounceFilter
from .models import RefreshRun
from .refresh.summaries import bounce_summaries_ensure
from .services import refresh_enqueue
from .sparklines import overview_sparklines
from .tables import BounceTable
from .timeline import address_timeline

CHART_RANGES = (30, 90)
# The list counts at most this many matches: counting is what a filter that no index narrows
# (`%smith`, reason words) costs most, and beyond this a number helps no one. Its pages, which
# follow a cursor, reach every match.
LIST_COUNT_CAP = 1_000


@role_required("viewer")
def overview(request: HttpRequest) -> HttpResponse:
    subusers = list(visible_subusers(request.user).select_related("last_refresh", "summary"))
    bounce_summaries_ensure(subusers)  # counted anew where missing or in another time zone
    rows = selectors.overview_rows(subusers)
    webhooks = webhook_rows({r.pk: r.newest for r in rows})
    other_lists = list_counts([r.pk for r in rows])  # the refresh's counts, one query
    sparklines = overview_sparklines([r.pk for r in rows])  # two queries, alerts marked
    for row in rows:
        row.webhook_row = webhooks[row.pk]
        row.other_lists = other_lists.get(row.pk, [])
        row.sparkline = sparklines[row.pk]
    days = choice(request.GET.get("days"), CHART_RANGES, CHART_RANGES[0])
    context = {
        "rows": rows,
        "days": days,
        "totals": {
            key: sum(getattr(r, key) for r in rows)
            for key in ("active_count", "hard_count", "soft_count")
        },
    }
    if request.GET.get("part") == "rows":  # the live update of the subusers' rows (overview.js)
        return render(request, "bounces/_overview_rows.html", context)
    chart_subuser = next((r for r in rows if r.username == request.GET.get("subuser")), None)
    visible_ids = [r.pk for r in rows]
    context |= {
        "classifications": selectors.classification_counts(visible_ids),
        "chart": selectors.daily_counts(
            [chart_subuser.pk] if chart_subuser else visible_ids, days=days
        ),
        "chart_subuser": chart_subuser,
        "chart_ranges": CHART_RANGES,
    }
    return render(request, "bounces/overview.html", context)


class BounceListView(FilteredTableMixin, FilterView):
    table_class = BounceTable
    filterset_class = BounceFilter
    template_name = "bounces/bounce_list.html"
    count_cap = LIST_COUNT_CAP
    keyset = True

    def get_queryset(self):
        return visible_bounces(self.request.user).select_related("subuser")

    def get_table_kwargs(self):
        exclude = []
        if not has_role(self.request.user, "requester"):
            exclude.append("bounce")  # the selection boxes, for those who may request a deletion
        if self.request.GET.get("removed") not in REMOVED_SHOWN:
            exclude.append("removed_at")  # empty on every row listed
        return {"exclude": exclude}


bounce_list = role_required("viewer")(BounceListView.as_view())


@role_required("viewer")
def bounce_export(request: HttpRequest) -> HttpResponse:
    """The list's current filter (and sort), streamed as CSV or, with ?format=json, as JSON."""
    queryset = filtered_for_export(
        BounceFilter,
        request,
        visible_bounces(request.user),
        table_class=BounceTable,
        default=["-created", "-id"],
    )
    if request.GET.get("format") == "json":
        return attachment(
            json_rows(queryset), content_type="application/json", name="bounces", extension="json"
        )
    return attachment(
        csv_rows(queryset), content_type="text/csv; charset=utf-8", name="bounces", extension="csv"
    )


@role_required("viewer")
def bounce_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bounce = get_object_or_404(
        visible_bounces(request.user).select_related("subuser", "repeat_of__request"), pk=pk
    )
    context = {
        "bounce": bounce,
        "timeline": address_timeline(bounce),
        "events": events_for_address(request.user, bounce.subuser.username, bounce.email),
        "elsewhere": visible_bounces(request.user)
        .filter(email=bounce.email)
        .exclude(pk=bounce.pk)
        .select_related("subuser"),
    }
    return render(request, "bounces/bounce_detail.html", context)


@role_required("viewer")
def refresh_runs(request: HttpRequest) -> HttpResponse:
    """Refresh history: every run of the visible subusers, newest first."""
    runs = RefreshRun.objects.filter(subuser__in=visible_subusers(request.user)).select_related(
        "subuser"
    )
    outcome = request.GET.get("outcome")
    if outcome in RefreshRun.Outcome.values:
        runs = runs.filter(outcome=outcome)
    name = request.GET.get("subuser")
    if name:
        runs = runs.filter(subuser__username=name)
    list_name = request.GET.get("list")
    if list_name in SuppressionList.values:
        runs = runs.filter(list=list_name)
    page = Paginator(runs.order_by("-started_at", "-id"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "outcomes": RefreshRun.Outcome.choices,
        "outcome": outcome,
        "subuser": name or "",
        "lists": SuppressionList.choices,
        "list": list_name,
        "any_running": any(r.outcome == RefreshRun.Outcome.RUNNING for r in page),
    }
    return render(request, "bounces/refresh_runs.html", context)


@require_POST
@role_required("requester")
def refresh_now(request: HttpRequest) -> HttpResponse:
    """Queue a refresh of one subuser (`subuser` in the form) or of every visible one."""
    subusers = visible_subusers(request.user).refreshable()
    name = request.POST.get("subuser")
    if name:
        subusers = subusers.filter(username=name)
        get_object_or_404(subusers)
    full = request.POST.get("full") == "1"
    ids = list(subusers.values_list("pk", flat=True))
    refresh_enqueue(subuser_ids=ids, full=full, requested_by=request.user)
    what = name or f"{len(ids)} subusers"
    messages.success(request, f"Refresh of {what} queued.")
    return redirect("bounces:overview")
