from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import router, transaction

from .changes import operator_changes
from .models import Operator


class OperatorInline(admin.StackedInline):
    model = Operator
    can_delete = False
    filter_horizontal = ["subusers"]
    verbose_name_plural = "Subuser scope"


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class OperatorUserAdmin(UserAdmin):
    """Users with their role (group) and subuser scope on one page."""

    inlines = [OperatorInline]
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["groups", "is_active", "is_staff"]

    @admin.display(description="role")
    def role(self, obj) -> str:
        from .roles import role_of

        return role_of(obj) or "—"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # One audit event per operator for the whole form (user, role, scope), in its
        # transaction.
        with transaction.atomic(using=router.db_for_write(self.model)), operator_changes():
            return super().changeform_view(request, object_id, form_url, extra_context)
