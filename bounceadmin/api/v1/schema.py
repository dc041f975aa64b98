"""The schema's word for our Bearer tokens (drf-spectacular asks each authenticator for one).
Registered by being imported (by the views of `/api/v1/`)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bounceadmin.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made on /accounts/tokens/ or by `add_api_token`.",
        }
