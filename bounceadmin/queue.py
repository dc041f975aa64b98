"""Putting tasks on the broker without ever failing the page that asked.

When the broker is down, the work is not lost: whatever asked for it is already saved (a
subuser marked queued, an approved request) and the periodic sweepers queue it again once the
broker is back. The user is told on the page.
"""

from __future__ import annotations

import logging

from django.contrib import messages

from bounceadmin.audit.context import current_request

log = logging.getLogger(__name__)

UNREACHABLE = (
    "The task queue is unreachable right now. What you asked for is saved and will run once it"
    " is back."
)


def publish(task, *args, **kwargs) -> bool:
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception as exc:  # kombu raises several unrelated types for "broker down"
        log.error("could not queue %s: %s", task.name, type(exc).__name__)
        request = current_request()
        if request is not None and hasattr(request, "_messages"):
            messages.error(request, UNREACHABLE, fail_silently=True)
        return False
    return True
