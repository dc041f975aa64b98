"""The audit log in Django admin: to look at only. Nobody, superusers included, can add, change
or delete an event here; the list is scoped like the app's own pages."""

from django.contrib import admin

from .models import AuditEvent
from .selectors import visible_events


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "subuser", "source_ip", "deletion_request_id"]
    list_filter = ["action", "at"]
    search_fields = ["actor_name", "subuser"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request):
        return visible_events(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
