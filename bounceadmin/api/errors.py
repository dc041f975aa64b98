"""Errors as JSON, in SendGrid's shape (`{"errors": [{"field", "message"}]}`), for every API
surface: a message per field for bad input, never an HTML page, never a 500 for what the
client sent."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = exceptions.ParseError("The request body is too large.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's handler (500, logged)
    response.data = {"errors": errors_of(response.data)}
    return response


def errors_of(data, field: str | None = None) -> list[dict]:
    """DRF's error data ({field: [messages]}, [messages], {"detail": message}) as a flat list."""
    if isinstance(data, dict):
        if set(data) == {"detail"} and field is None:
            return [{"field": None, "message": str(data["detail"])}]
        found = []
        for key, value in data.items():
            name = key if key != "non_field_errors" else None
            found += errors_of(value, f"{field}.{name}" if field and name else name or field)
        return found
    if isinstance(data, list):
        return [error for item in data for error in errors_of(item, field)]
    return [{"field": field, "message": str(data)}]
