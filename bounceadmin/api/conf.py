"""The API's settings for Django REST Framework and drf-spectacular (settings.py reads them from
here): Bearer tokens first, then the browser's session (for the docs page); viewers and up;
per-token throttling; JSON only; errors in SendGrid's shape; the schema's Swagger UI shipped."""

from __future__ import annotations


def rest_framework_settings(*, throttle_rate: str) -> dict:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "bounceadmin.api.authentication.ApiTokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",  # the docs page, from a browser
        ],
        "DEFAULT_PERMISSION_CLASSES": ["bounceadmin.api.permissions.IsViewer"],
        "DEFAULT_THROTTLE_CLASSES": ["bounceadmin.api.throttling.TokenRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"token": throttle_rate},
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "EXCEPTION_HANDLER": "bounceadmin.api.errors.api_exception_handler",
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    }


SPECTACULAR = {
    "TITLE": "bounceadmin API",
    "DESCRIPTION": "The bounce lists of every subuser of one SendGrid parent account, cached: "
    "read them, look an address up, and request removals (four-eyes approved).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["bounceadmin.api.permissions.IsViewer"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bounceadmin.api.schema.add_common_errors",
        # After the common errors: the legacy surface documents its own shapes on its own.
        "bounceadmin.api.legacy.schema.add_legacy_endpoints",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DeletionRequestStateEnum": "bounceadmin.deletions.models.DeletionRequest.State",
        "DeletionItemStateEnum": "bounceadmin.deletions.models.DeletionItem.State",
    },
}
