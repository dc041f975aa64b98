"""Pages that fail clearly when a backing service is down, instead of a bare 500."""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.shortcuts import render

log = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError) or (
            isinstance(exception, DatabaseError) and "connect" in str(exception).lower()
        ):
            log.error("database unavailable: %s", type(exception).__name__)
            response = render(request, "503.html", {"service": "database"}, status=503)
            response["Retry-After"] = "30"
            return response
        return None
