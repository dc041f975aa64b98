from django.urls import path, re_path

from . import views

app_name = "sendgrid_v3"

urlpatterns = [
    path("v3/suppression/bounces", views.BounceList.as_view(), name="bounces"),
    path("v3/suppression/bounces/<str:email>", views.BounceDetail.as_view(), name="bounce"),
    path("v3/subusers", views.SubuserList.as_view(), name="subusers"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
