from django.urls import path, re_path

from . import lists, views

app_name = "sendgrid_v3"

urlpatterns = [
    path("v3/suppression/bounces", views.BounceList.as_view(), name="bounces"),
    path("v3/suppression/bounces/<str:email>", views.BounceDetail.as_view(), name="bounce"),
    *(path(f"v3/suppression/{name}", view.as_view(), name=name)
      for name, view in lists.LIST_VIEWS.items()),
    *(path(f"v3/suppression/{name}/<str:email>", view.as_view(), name=f"{name}-entry")
      for name, view in lists.ENTRY_VIEWS.items()),
    path("v3/subusers", views.SubuserList.as_view(), name="subusers"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]  # fmt: skip
