"""The user forms of Django admin for an editor who is not a superuser.

They offer the account's own fields, one of the product's roles and a scope, each limited to
what the editor may grant (delegation.py). No superuser or staff flag, no groups or raw
permissions: a model form takes only the fields it lists, so posting those does nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from bounceadmin.bounces.models import Subuser

from .delegation import grantable_roles
from .models import Operator
from .roles import ROLES
from .scoping import sees_everything, visible_subusers
from .services import operator_assign

# The fields of the forms, for the admin's fieldsets.
ACCOUNT_FIELDS = ("username", "password", "first_name", "last_name", "email", "is_active")
NEW_ACCOUNT_FIELDS = ("username", "usable_password", "password1", "password2")


def operator_fields(editor) -> tuple[str, ...]:
    """The operator fields the editor gets: "all subusers" only if they see every subuser."""
    if sees_everything(editor):
        return ("role", "all_subusers", "subusers")
    return ("role", "subusers")


class _OperatorFields(forms.Form):
    role = forms.ChoiceField(
        choices=(), help_text="Roles are cumulative: viewer < requester < approver < admin."
    )
    all_subusers = forms.BooleanField(
        required=False,
        label="All subusers",
        help_text=Operator._meta.get_field("all_subusers").help_text,
    )
    subusers = forms.ModelMultipleChoiceField(
        queryset=Subuser.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("subusers", is_stacked=False),
        help_text="The subusers this operator may see, when not all.",
    )

    editor = None  # the signed-in user: the admin sets it on the form class it builds

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role, role) for role in grantable_roles(self.editor)]
        self.fields["subusers"].queryset = visible_subusers(self.editor)
        if "all_subusers" not in operator_fields(self.editor):
            del self.fields["all_subusers"]
        if self.instance.pk is not None:
            self._initial_from(self.instance)

    def _initial_from(self, user) -> None:
        held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        self.initial["role"] = next((r for r in reversed(ROLES) if r in held), None)
        operator = Operator.objects.filter(user=user).first()
        if operator is not None:
            self.initial["all_subusers"] = operator.all_subusers
            self.initial["subusers"] = list(operator.subusers.values_list("pk", flat=True))

    def _save_m2m(self):
        super()._save_m2m()
        everything = self.cleaned_data.get("all_subusers", False)
        operator_assign(
            user=self.instance,
            role=self.cleaned_data["role"],
            subusers=None if everything else list(self.cleaned_data["subusers"]),
        )


class OperatorChangeForm(_OperatorFields, UserChangeForm):
    pass


class OperatorCreationForm(_OperatorFields, AdminUserCreationForm):
    pass
