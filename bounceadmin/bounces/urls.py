from django.urls import path

from . import views

app_name = "bounces"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("bounces/", views.bounce_list, name="list"),
    path("bounces/export.csv", views.bounce_export, name="export"),
    path("bounces/<id:pk>/", views.bounce_detail, name="detail"),
    path("refresh/", views.refresh_now, name="refresh"),
    path("refreshes/", views.refresh_runs, name="refreshes"),
]
