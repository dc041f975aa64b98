"""Who may manage which operators, and what they may grant them.

Superusers manage everyone. Anyone else manages operators only with the admin role, and only
within the product's roles and their own power: they grant roles up to their own and subusers
they see themselves ("all subusers" only if they see all), and they reach only users whose power
is within theirs (no superuser, no raw permissions or other groups, no role above theirs, no
subuser they do not see). What they may grant is bounded by what they hold, so editing
themselves cannot raise their own power; and another admin of the same scope is within reach
(an admin may make an admin), one with a wider scope is not.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet

from .models import Operator
from .roles import ROLES, has_role, role_of
from .scoping import ALL, visible_subuser_ids


def grantable_roles(editor) -> tuple[str, ...]:
    """The roles the editor may give: up to their own; none without the admin role."""
    if editor.is_superuser:
        return ROLES
    if not has_role(editor, "admin"):
        return ()
    return ROLES[: ROLES.index(role_of(editor)) + 1]


def manageable_users(editor) -> QuerySet:
    """The users the editor may see and change in Django admin."""
    User = get_user_model()
    if editor.is_active and editor.is_superuser:
        return User.objects.all()
    roles = grantable_roles(editor)
    if not roles:
        return User.objects.none()
    users = (
        User.objects.filter(is_superuser=False)
        # Power outside the product's roles is for a superuser to manage.
        .exclude(Exists(User.user_permissions.through.objects.filter(user=OuterRef("pk"))))
        .exclude(
            Exists(
                User.groups.through.objects.filter(user=OuterRef("pk")).exclude(
                    group__name__in=roles
                )
            )
        )
    )
    ids = visible_subuser_ids(editor)
    if ids is ALL:
        return users
    return users.exclude(
        Exists(Operator.objects.filter(user=OuterRef("pk"), all_subusers=True))
    ).exclude(
        Exists(
            Operator.subusers.through.objects.filter(operator__user=OuterRef("pk")).exclude(
                subuser_id__in=ids
            )
        )
    )
