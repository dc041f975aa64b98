from django.conf import settings

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
        # The separate permission for spam reports and unsubscribes (the recipient's consent).
        "can_remove_optouts": user.is_active and user.has_perm("deletions.remove_recipient_optout"),
    }


def password_reset(request):
    """Whether the login page may offer "Forgot password?": only when email is configured."""
    return {"password_reset_enabled": settings.PASSWORD_RESET_ENABLED and settings.LOCAL_LOGIN}
