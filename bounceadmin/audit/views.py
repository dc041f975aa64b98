"""The audit log: a filtered, paginated list and its CSV export, scoped by `visible_events`."""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django_filters.views import FilterView

from bounceadmin.accounts.roles import role_required
from bounceadmin.listing import FilteredTableMixin, attachment, filtered_for_export

from .export import csv_rows
from .filters import AuditFilter
from .selectors import visible_events
from .tables import AuditTable


class AuditListView(FilteredTableMixin, FilterView):
    table_class = AuditTable
    filterset_class = AuditFilter
    template_name = "audit/event_list.html"

    def get_queryset(self):
        return visible_events(self.request.user)


audit_list = role_required("viewer")(AuditListView.as_view())


@role_required("viewer")
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The list's current filter (and sort), streamed as CSV."""
    queryset = filtered_for_export(
        AuditFilter,
        request,
        visible_events(request.user),
        table_class=AuditTable,
        default=["-at", "-id"],
    )
    return attachment(
        csv_rows(queryset), content_type="text/csv; charset=utf-8", name="audit", extension="csv"
    )
