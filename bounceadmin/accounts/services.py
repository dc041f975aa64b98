"""Creating and changing operators."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from bounceadmin.bounces.models import Subuser

from .changes import operator_changes
from .models import Operator
from .roles import ROLES


class OperatorError(ValueError):
    pass


@dataclass(frozen=True)
class OperatorChange:
    username: str
    created: bool
    role: str
    previous_role: str | None
    subusers: list[str] | None  # None: all subusers
    previous_subusers: list[str] | None


@transaction.atomic
def operator_save(
    *, username: str, role: str, subusers: list[str] | None, password: str | None
) -> OperatorChange:
    """Create or update an operator: exactly one role group, a scope, optionally a password."""
    if role not in ROLES:
        raise OperatorError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    scope: list[Subuser] | None = None
    if subusers:
        found = {s.username: s for s in Subuser.objects.filter(username__in=subusers)}
        unknown = sorted(set(subusers) - set(found))
        if unknown:
            raise OperatorError(
                f"Unknown subuser(s): {', '.join(unknown)}. Run `python manage.py sync_subusers`."
            )
        scope = [found[name] for name in subusers]

    with operator_changes():  # one audit event for the whole change
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        operator = Operator.objects.filter(user=user).first()
        previous_role = next((g.name for g in user.groups.filter(name__in=ROLES)), None)
        previous_scope = (
            None if created or operator is None or operator.all_subusers
            else sorted(operator.subusers.values_list("username", flat=True))
        )  # fmt: skip
        if password:
            user.set_password(password)
            user.save()
        elif created:
            user.set_unusable_password()
            user.save()
        operator_assign(user=user, role=role, subusers=scope)
    return OperatorChange(
        username=username,
        created=created,
        role=role,
        previous_role=previous_role,
        subusers=None if scope is None else [s.username for s in scope],
        previous_subusers=previous_scope,
    )


@transaction.atomic
def operator_assign(*, user, role: str, subusers: list[Subuser] | None) -> None:
    """Give a saved user exactly one role group and a scope (None: all subusers). Only real
    changes are written. The staff flag follows the role: admins manage operators in Django
    admin; no one else needs it, and no one sets it by hand but a superuser."""
    if role not in ROLES:
        raise OperatorError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    with operator_changes():
        if user.is_staff != (role == "admin"):
            user.is_staff = role == "admin"
            user.save(update_fields=["is_staff"])
        user.groups.remove(*user.groups.filter(name__in=ROLES).exclude(name=role))
        if not user.groups.filter(name=role).exists():
            user.groups.add(Group.objects.get(name=role))
        operator, _ = Operator.objects.get_or_create(
            user=user, defaults={"all_subusers": subusers is None}
        )
        if operator.all_subusers != (subusers is None):
            operator.all_subusers = subusers is None
            operator.save()
        operator.subusers.set(subusers or [])
