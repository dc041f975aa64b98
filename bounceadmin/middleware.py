"""Keep what a signed-in operator sees out of every cache but their own browser's memory."""

from __future__ import annotations

from django.utils.cache import patch_cache_control


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
