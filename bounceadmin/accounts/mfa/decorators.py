"""The pages that approve or reject: a user whose role needs a second factor is sent to set one
up, or to check it again, and comes back to the page. The service refuses all the same
(`deletions.services`); this only turns the refusal into a way forward."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from .policy import ENROL, decision_need
from .session import checked_at


def fresh_second_factor(back_after_post=None):
    """`back_after_post(request, *args, **kwargs)`: where to come back to after a POST (which
    cannot be replayed); by default the same path, its confirmation page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            need = decision_need(request.user, checked_at(request))
            if need is None:
                return view(request, *args, **kwargs)
            if request.method == "GET":
                back = request.get_full_path()
            elif back_after_post is not None:
                back = back_after_post(request, *args, **kwargs)
            else:
                back = request.path
            return second_factor_redirect(request, need, back)

        return wrapped

    return decorator


def second_factor_redirect(request, need: str, back: str):
    """To set up a factor (ENROL) or check it again (VERIFY), then back to `back`."""
    if need == ENROL:
        messages.warning(
            request,
            "Approving or rejecting needs a second factor for your role: set up an"
            " authenticator app first.",
        )
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': back})}")
    messages.info(
        request,
        "Enter your authenticator's code to go on: your last check is older than"
        f" {settings.MFA_REAUTH_MINUTES} minutes.",
    )
    return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': back})}")
