from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<id:pk>/", views.alert_detail, name="detail"),
    path("<id:pk>/acknowledge/", views.alert_acknowledge_view, name="acknowledge"),
]
