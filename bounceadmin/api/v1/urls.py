from django.urls import path

from . import views

app_name = "v1"

urlpatterns = [
    path("subusers/", views.SubuserList.as_view(), name="subusers"),
]
