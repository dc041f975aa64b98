from django.contrib import admin
from django.db import transaction

from bounceadmin.accounts.scoping import visible_subuser_ids

from .models import Bounce, BounceChange, RefreshRun, Subuser
from .refresh.summaries import bounce_summaries_rebuild


class ScopedAdmin(admin.ModelAdmin):
    """Django admin shows a scoped operator only their subusers' rows, like every page."""

    scope_field = "subuser_id"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = visible_subuser_ids(request.user)
        return qs if ids is None else qs.filter(**{f"{self.scope_field}__in": ids})

    def get_list_filter(self, request):
        # A filter by subuser lists every subuser's name: only for who sees them all.
        filters = super().get_list_filter(request)
        if visible_subuser_ids(request.user) is None:
            return filters
        return [f for f in filters if f != "subuser"]


@admin.register(Subuser)
class SubuserAdmin(ScopedAdmin):
    """Subusers come from SendGrid (sync_subusers): their name is the on-behalf-of value of every
    call for them and what scopes and the audit log refer to, so it and the other upstream fields
    are read-only here, for superusers too, like the refresh bookkeeping; only `enabled` is ours
    to set."""

    scope_field = "pk"
    list_display = ["username", "enabled", "upstream_state", "region", "last_success_at",
                    "refresh_outcome"]  # fmt: skip
    list_filter = ["enabled", "upstream_state", "region"]
    search_fields = ["username", "email"]
    readonly_fields = ["username", "sendgrid_id", "email", "upstream_state", "region",
                       "last_refresh", "last_success_at", "refresh_queued_at"]  # fmt: skip
    list_select_related = ["last_refresh"]

    def has_add_permission(self, request):
        return False  # a subuser made here would not exist upstream

    @admin.display(description="last refresh")
    def refresh_outcome(self, obj: Subuser) -> str:
        return obj.last_refresh.get_outcome_display() if obj.last_refresh else "never"


class ReadOnlyAdmin(ScopedAdmin):
    """The cache mirrors upstream: it is changed by refreshes, not by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Bounce)
class BounceAdmin(ReadOnlyAdmin):
    list_display = ["email", "subuser", "status", "type", "classification", "created", "removed_at"]
    list_filter = ["type", "classification", "fault", "subuser"]
    search_fields = ["email"]
    list_select_related = ["subuser"]
    date_hierarchy = "created"
    show_full_result_count = False

    # Deleting here changes the counts: rebuild the overview's summaries of the subusers touched.
    def delete_model(self, request, obj):
        with transaction.atomic():
            super().delete_model(request, obj)
            bounce_summaries_rebuild(subuser_id=obj.subuser_id)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            subuser_ids = set(queryset.values_list("subuser_id", flat=True).distinct())
            super().delete_queryset(request, queryset)
            for subuser_id in sorted(subuser_ids):
                bounce_summaries_rebuild(subuser_id=subuser_id)


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    list_display = ["subuser", "kind", "started_at", "outcome", "fetched", "created", "updated",
                    "removed"]  # fmt: skip
    list_filter = ["outcome", "kind", "subuser"]
    list_select_related = ["subuser"]


@admin.register(BounceChange)
class BounceChangeAdmin(ReadOnlyAdmin):
    scope_field = "bounce__subuser_id"
    list_display = ["bounce", "kind", "at", "run"]
    list_filter = ["kind"]
    raw_id_fields = ["bounce", "run"]
