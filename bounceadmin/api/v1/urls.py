from django.urls import path

from . import views
from .audit import AuditList
from .bounces import BounceDetail, BounceList
from .lookup import AddressLookup

app_name = "v1"

urlpatterns = [
    path("subusers/", views.SubuserList.as_view(), name="subusers"),
    path("bounces/", BounceList.as_view(), name="bounces"),
    path("bounces/<int:pk>/", BounceDetail.as_view(), name="bounce"),
    path("lookup/", AddressLookup.as_view(), name="lookup"),
    path("audit/", AuditList.as_view(), name="audit"),
]
