"""The receiving endpoint: SendGrid's deliveries, one subuser per URL. No login (SendGrid has
none): the signature is the credential, checked in `receive.py` on the raw body."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .receive import Refused, delivery_receive
from .signature import SIGNATURE_HEADER, TIMESTAMP_HEADER


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
