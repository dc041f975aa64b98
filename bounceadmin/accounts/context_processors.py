from .roles import has_role


def roles(request):
    """What the signed-in user may do, for showing only the actions they can take."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can_request": has_role(user, "requester"),
        "can_approve": has_role(user, "approver"),
        "is_admin": has_role(user, "admin"),
    }
