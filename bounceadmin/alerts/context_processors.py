from .selectors import open_alert_count


def open_alerts(request):
    """The navigation's count of open alerts the user may see (one indexed count a page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"open_alerts": lambda: open_alert_count(user)}  # counted only where a page shows it
