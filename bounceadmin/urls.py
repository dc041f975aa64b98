from django.contrib import admin
from django.urls import include, path

from bounceadmin.api.pages import api_tokens
from bounceadmin.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/tokens/", api_tokens, name="api_tokens"),
    path("accounts/", include("bounceadmin.accounts.urls")),
    path("alerts/", include("bounceadmin.alerts.urls")),
    path("audit/", include("bounceadmin.audit.urls")),
    path("deletions/", include("bounceadmin.deletions.urls")),
    path("webhooks/", include("bounceadmin.webhooks.urls")),
    path("api/", include("bounceadmin.api.urls")),
    path("sendgrid/", include("bounceadmin.api.sendgrid_v3.urls")),
    path("", include("bounceadmin.suppressions.urls")),
    path("", include("bounceadmin.bounces.urls")),
]

handler404 = "bounceadmin.middleware.not_found"
