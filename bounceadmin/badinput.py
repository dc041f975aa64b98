"""Refuse requests whose parameters carry NUL characters: no database stores them (PostgreSQL
errors), no legitimate form sends them, and refusing early keeps every view simple."""

from django.http import HttpResponseBadRequest


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
