"""The roles of the pages (accounts/roles.py) as DRF permissions: a token acts with its
operator's role, never more."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from bounceadmin.accounts.roles import has_role


def role(name: str) -> type[BasePermission]:
    class HasRole(BasePermission):
        message = f"This needs the {name} role."

        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.is_authenticated) and has_role(
                request.user, name
            )

    HasRole.__name__ = HasRole.__qualname__ = f"Has{name.capitalize()}Role"
    return HasRole


IsViewer = role("viewer")
IsRequester = role("requester")
IsApprover = role("approver")
IsAdmin = role("admin")
