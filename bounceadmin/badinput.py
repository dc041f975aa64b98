"""Refuse requests whose parameters carry NUL characters: no database stores them (PostgreSQL
errors), no legitimate form sends them, and refusing early keeps every view simple. Numbers too
large for the database are refused too."""

import logging

from django.http import HttpResponseBadRequest

log = logging.getLogger(__name__)


class RejectNullCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
        for params in sources:
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return HttpResponseBadRequest("Request parameters must not contain NUL.")
        return self.get_response(request)


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
            return HttpResponseBadRequest("A number in the request is out of range.")
        return None
