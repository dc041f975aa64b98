"""`/api/`: the schema, its docs page, and each surface's URLs."""

from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI sets style attributes: allowed on this page only. Its script is served as a
    # file (the split view), so no script runs inline.
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    path("v1/", include("bounceadmin.api.v1.urls")),
    path("", include("bounceadmin.api.legacy.urls")),
]
