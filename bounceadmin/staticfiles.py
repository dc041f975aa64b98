"""Static files in production: WhiteNoise's compressed, hashed copies once `collectstatic` has
run, the source files under their own names until then."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class OptionalManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Without a manifest (collectstatic has not run), `{% static %}` gives every file its own
    name instead of failing with "Missing staticfiles manifest entry" on every page; WhiteNoise
    then serves the file from the finders (WHITENOISE_USE_FINDERS). Browsers cannot cache such
    names for long, so the web process still collects first (Procfile), but a start without it
    is slower, not broken. A manifest that lacks a file still fails loudly: that is a deploy
    whose collected files do not match its code."""

    def stored_name(self, name: str) -> str:
        # The manifest's paths, empty exactly when there is no manifest: load_manifest() gives
        # {} for a missing file, and collectstatic always collects something.
        if not self.hashed_files:
            return name
        return super().stored_name(name)
