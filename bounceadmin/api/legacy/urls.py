"""The legacy endpoints, directly under `/api/` as SendGrid had them, each `.json` or `.xml`."""

from django.urls import re_path

from . import views

app_name = "legacy"

urlpatterns = [
    re_path(r"^bounces\.get\.(?P<fmt>json|xml)$", views.bounces_get, name="bounces_get"),
    re_path(r"^bounces\.count\.(?P<fmt>json|xml)$", views.bounces_count, name="bounces_count"),
    re_path(r"^bounces\.delete\.(?P<fmt>json|xml)$", views.bounces_delete, name="bounces_delete"),
    re_path(r"^user\.bounces\.(?P<fmt>json|xml)$", views.user_bounces, name="user_bounces"),
    re_path(
        r"^distributor\.manage\.(?P<fmt>json|xml)$",
        views.distributor_manage,
        name="distributor_manage",
    ),
]
