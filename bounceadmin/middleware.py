"""The project's own middleware, in the order settings.MIDDLEWARE runs them:

- `QueryTooLongMiddleware`, `RejectNullCharactersMiddleware`, `OutOfRangeNumberMiddleware`: bad
  input is the request's fault (414, 400), answered with a page that says what is wrong, never a
  500 deep inside a view.
- `PrivateCacheControlMiddleware`: what a signed-in operator sees stays out of shared caches.
- `ServiceUnavailableMiddleware`: a database that is down gets a clear 503 page.
- `InvalidFiltersMiddleware`: an export asked for with invalid filters answers 400 with them.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.defaults import page_not_found

log = logging.getLogger(__name__)


# Past this many characters a query string is refused with a page that says so. gunicorn's own
# limit on the whole request line (Procfile: --limit-request-line 8190) is just above it.
MAX_QUERY_LENGTH = 8000


# Answered in SendGrid's JSON error shape instead of a page: API clients and scripts read that.
JSON_ERROR_PREFIXES = ("/sendgrid/", "/api/")


def _bad_request(request, message: str, status: int = 400):
    if request.path.startswith(JSON_ERROR_PREFIXES):
        return JsonResponse({"errors": [{"field": None, "message": message}]}, status=status)
    return render(request, "400.html", {"exception": message}, status=status)


class QueryTooLongMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = len(request.META.get("QUERY_STRING", ""))
        if length > MAX_QUERY_LENGTH:
            return _bad_request(
                request,
                f"The address is too long ({length:,} characters after the “?”; at most"
                f" {MAX_QUERY_LENGTH:,}). Select fewer rows or request by filter instead.",
                status=414,
            )
        return self.get_response(request)


class RejectNullCharactersMiddleware:
    """Refuse requests whose parameters carry NUL characters: no database stores them
    (PostgreSQL errors), no legitimate form sends them, and refusing early keeps every view
    simple. A view marked `answers_nul_itself` (the legacy API, whose clients expect its own
    error shape, not a page) is left to refuse them in that shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "answers_nul_itself", False):
            return None
        sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
        for params in sources:
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return _bad_request(request, "Request parameters must not contain NUL.")
        return None


class OutOfRangeNumberMiddleware:
    """A number in a request too large for the database is the request's fault: 400, not 500.
    SQLite raises OverflowError for an integer past 64 bits (PostgreSQL compares it as numeric).
    Our own views check ids before querying (bounceadmin/ids.py); this answers what Django admin
    passes on from the URL, e.g. `?subuser=<huge>` or `?id__in=<huge>` on a changelist."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError):
            log.warning("out-of-range number in %s %s", request.method, request.path)
            return _bad_request(request, "A number in the request is out of range.")
        return None


class PrivateCacheControlMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user that does not set
    its own: the pages and exports list bounced addresses, which no shared proxy should keep and no
    browser should write to disk. Static files never get here (WhiteNoise answers them earlier,
    with their own long-lived caching), and /healthz sets its own header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response


class ServiceUnavailableMiddleware:
    """Pages that fail clearly when the database is down, instead of a bare 500."""

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


class InvalidFiltersMiddleware:
    """Every export raises listing.InvalidFilters for filters that are not valid; answered here,
    once: 400 with the errors (JSON when the export was asked for as JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from bounceadmin.listing import InvalidFilters

        if isinstance(exception, InvalidFilters):
            return exception.response(request, as_json=request.GET.get("format") == "json")
        return None


def not_found(request, exception=None):
    """Django's 404 for a URL nothing matched: JSON in SendGrid's shape under the API's paths
    (a script asking for `/api/v1/bounces/-1/` reads JSON like every other answer there), the
    page otherwise."""
    if request.path.startswith(JSON_ERROR_PREFIXES):
        return JsonResponse({"errors": [{"field": None, "message": "Not found."}]}, status=404)
    return page_not_found(request, exception)
