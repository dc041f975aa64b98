"""Roles, cumulative: viewer < requester < approver < admin.

Each role is a Django group holding its own permissions and those of the roles below it, so a
check is a plain `user.has_perm(...)` and Django admin can inspect or adjust them.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

ROLES = ("viewer", "requester", "approver", "admin")
# The permission that proves a role.
ROLE_PERMISSION = {
    "viewer": "bounces.view_bounce",
    "requester": "deletions.add_deletionrequest",
    "approver": "deletions.approve_deletionrequest",
    "admin": "accounts.manage_operators",
}
# What each role adds to the one below it.
_ROLE_ADDS = {
    "viewer": ["bounces.view_bounce", "bounces.view_subuser", "bounces.view_refreshrun",
               "audit.view_auditevent", "deletions.view_deletionrequest"],
    "requester": ["deletions.add_deletionrequest"],
    "approver": ["deletions.approve_deletionrequest"],
    "admin": ["accounts.manage_operators", "accounts.add_operator", "accounts.change_operator",
              "accounts.view_operator", "auth.add_user", "auth.change_user", "auth.view_user",
              "bounces.change_subuser"],
}  # fmt: skip


def role_permissions(role: str) -> list[str]:
    perms: list[str] = []
    for name in ROLES[: ROLES.index(role) + 1]:
        perms.extend(_ROLE_ADDS[name])
    return perms


def has_role(user, role: str) -> bool:
    return bool(user and user.is_active and user.has_perm(ROLE_PERMISSION[role]))


def role_of(user) -> str | None:
    """The highest role the user holds, or None."""
    held = [role for role in ROLES if has_role(user, role)]
    return held[-1] if held else None


def role_required(role: str):
    """Login first, then the role; a logged-in user without it gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def ensure_role_groups(**kwargs) -> None:
    """Create or correct the four role groups (after every migrate)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():  # permissions of apps migrated after this one
        create_permissions(config, verbosity=0)
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in role_permissions(role):
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
