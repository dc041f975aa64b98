"""The request being served, for events recorded deep inside services and signals."""

from __future__ import annotations

from contextvars import ContextVar

_request: ContextVar = ContextVar("audit_request", default=None)


def current_request():
    return _request.get()


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
