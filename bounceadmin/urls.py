from django.contrib import admin
from django.urls import include, path

from bounceadmin.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("bounceadmin.accounts.urls")),
    path("audit/", include("bounceadmin.audit.urls")),
    path("deletions/", include("bounceadmin.deletions.urls")),
    path("webhooks/", include("bounceadmin.webhooks.urls")),
    path("", include("bounceadmin.bounces.urls")),
]
