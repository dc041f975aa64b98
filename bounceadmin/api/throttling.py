"""Per-token request rates: API_THROTTLE_RATE (e.g. "600/min") per token, or per signed-in
operator when the API is used from a browser session. Over it: 429 with Retry-After, counted in
the shared cache so every web process agrees."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is not None and hasattr(request.auth, "pk"):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anonymous:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
