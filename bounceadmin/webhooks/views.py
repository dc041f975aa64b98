"""The receiving endpoint: SendGrid's deliveries, one subuser per URL. No login (SendGrid has
none): the signature is the credential, checked in `receive.py` on the raw body. And the
overview's "Set up webhook", for admins: it queues the set-up (the web process never calls
SendGrid)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bounceadmin.accounts.roles import role_required
from bounceadmin.accounts.scoping import visible_subusers

from .receive import Refused, delivery_receive
from .services import webhook_setup_enqueue
from .signature import SIGNATURE_HEADER, TIMESTAMP_HEADER


@require_POST
@role_required("admin")
def set_up(request: HttpRequest) -> HttpResponse:
    """Queue the set-up of one visible subuser's webhook (`subuser` in the form), pointed at
    WEBHOOK_PUBLIC_URL or, when unset, at the origin this page was served from."""
    subuser = get_object_or_404(
        visible_subusers(request.user).refreshable(), username=request.POST.get("subuser", "")
    )
    public_url = settings.WEBHOOK_PUBLIC_URL or request.build_absolute_uri("/")
    webhook_setup_enqueue(
        subuser_ids=[subuser.pk], public_url=public_url, requested_by=request.user
    )
    messages.success(request, f"Webhook set-up of {subuser.username} queued.")
    return redirect("bounces:overview")


@csrf_exempt
@require_POST
def sendgrid_events(request, token: str):
    body = _body(request)
    if body is None:
        return _error(413, f"The body is larger than {settings.WEBHOOK_MAX_BYTES:,} bytes.")
    try:
        received = delivery_receive(
            token=token,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            body=body,
        )
    except Refused as refused:
        return _error(refused.status, refused.message)
    return JsonResponse({"received": received})


def _body(request) -> bytes | None:
    """The raw body, or None when it is over WEBHOOK_MAX_BYTES (read from the stream, so
    Django's form-upload limit does not apply and no more than the limit is held)."""
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message}]}, status=status)
