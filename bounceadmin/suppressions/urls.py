from django.urls import path

from . import views

app_name = "suppressions"

urlpatterns = [
    path("suppressions/", views.suppression_list, name="list"),
    path("suppressions/export.csv", views.suppression_export, name="export"),
    path("suppressions/<id:pk>/", views.suppression_detail, name="detail"),
    path("lookup/", views.lookup, name="lookup"),
]
