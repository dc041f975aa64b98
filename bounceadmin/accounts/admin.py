"""Users in Django admin. Superusers get Django's full user admin with the subuser scope inline;
everyone else (operators with the admin role) gets only the operators within their reach and a
form limited to what they may grant (delegation.py, admin_forms.py). Groups, which carry raw
permissions, are a superuser's alone."""

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.http import Http404
from django.urls import reverse

from .admin_forms import (
    ACCOUNT_FIELDS,
    NEW_ACCOUNT_FIELDS,
    OperatorChangeForm,
    OperatorCreationForm,
    operator_fields,
)
from .changes import operator_changes
from .delegation import grantable_roles, manageable_users
from .mfa.services import factor_reset
from .models import OidcIdentity, Operator


class OperatorInline(admin.StackedInline):
    model = Operator
    can_delete = False
    filter_horizontal = ["subusers"]
    verbose_name_plural = "Subuser scope"


class OidcIdentityInline(admin.TabularInline):
    """Who this user is at the single sign-on provider: shown, never edited here (a link made
    by hand would let one person's sign-in reach another's user)."""

    model = OidcIdentity
    can_delete = False
    extra = 0
    fields = readonly_fields = ["issuer", "subject", "linked_at"]
    verbose_name_plural = "Single sign-on identities"

    def has_add_permission(self, request, obj=None):
        return False


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class OperatorUserAdmin(UserAdmin):
    """Users with their role (group) and subuser scope on one page."""

    inlines = [OperatorInline, OidcIdentityInline]
    actions = ["reset_second_factor"]
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["groups", "is_active", "is_staff"]

    def get_list_filter(self, request):
        # Group names (the roles and any other group) are a superuser's to see.
        filters = super().get_list_filter(request)
        return filters if request.user.is_superuser else [f for f in filters if f != "groups"]

    @admin.display(description="role")
    def role(self, obj) -> str:
        from .roles import role_of

        return role_of(obj) or "—"

    @admin.action(description="Reset the second factor of the selected operators")
    def reset_second_factor(self, request, queryset):
        """For an operator who lost their authenticator and recovery codes: they set up a new
        one at their next approval. Audited per operator, with before and after."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        for user in queryset:  # within reach: get_queryset limits it
            factor_reset(user=user, actor=request.user, request=request)
        messages.success(request, f"Reset the second factor of {queryset.count()} operator(s).")

    # Who sees whom. Every object page (change, password, history, delete) loads through
    # get_object, so a user beyond reach is a 404 there as in the list.

    def get_queryset(self, request):
        users = super().get_queryset(request)
        if request.user.is_superuser:
            return users
        return users.filter(pk__in=manageable_users(request.user).values("pk"))

    def get_object(self, request, object_id, from_field=None):
        user = super().get_object(request, object_id, from_field)
        if user is None and not request.user.is_superuser:
            raise Http404("No such user.")  # the same whether it exists or is out of reach
        return user

    def _delegates(self, request) -> bool:
        return request.user.is_superuser or bool(grantable_roles(request.user))

    def has_module_permission(self, request):
        return self._delegates(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._delegates(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._delegates(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._delegates(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._delegates(request) and super().has_delete_permission(request, obj)

    # What they may change.

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        account = NEW_ACCOUNT_FIELDS if obj is None else ACCOUNT_FIELDS
        return (
            (None, {"classes": ("wide",), "fields": account}),
            ("Role and scope", {"fields": operator_fields(request.user)}),
        )

    def get_form(self, request, obj=None, **kwargs):
        if request.user.is_superuser:
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = OperatorCreationForm if obj is None else OperatorChangeForm
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def get_inlines(self, request, obj):
        # The scope is in the form for the others, limited to what they may grant.
        return self.inlines if request.user.is_superuser else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # One audit event per operator for the whole form (user, role, scope), in its
        # transaction.
        with transaction.atomic(using=router.db_for_write(self.model)), operator_changes():
            return super().changeform_view(request, object_id, form_url, extra_context)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """The roles are groups of raw permissions: only a superuser inspects or changes them,
    whatever permissions anyone else holds."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


# django-otp's own device admins would let a superuser delete a factor unaudited and show its
# secret: factors are reset through the audited action above (and mfa/services.py) only.
from django_otp.plugins.otp_static import admin as _otp_static_admin  # noqa: E402,F401
from django_otp.plugins.otp_static.models import StaticDevice  # noqa: E402
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: E402,F401
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def _sign_in_through_the_app(request, extra_context=None):
    """Django admin's own login form would sign a user in on the password alone: it sends them
    to the app's sign-in (accounts/login.py), which asks for the second factor."""
    return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))


admin.site.login = _sign_in_through_the_app
