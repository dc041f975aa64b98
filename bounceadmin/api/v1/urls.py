from django.urls import path

from . import deletions, views
from .audit import AuditList
from .bounces import BounceDetail, BounceList
from .lookup import AddressLookup
from .suppressions import SuppressionDetail, SuppressionList

app_name = "v1"

urlpatterns = [
    path("subusers/", views.SubuserList.as_view(), name="subusers"),
    path("bounces/", BounceList.as_view(), name="bounces"),
    path("bounces/<int:pk>/", BounceDetail.as_view(), name="bounce"),
    path("suppressions/", SuppressionList.as_view(), name="suppressions"),
    path("suppressions/<int:pk>/", SuppressionDetail.as_view(), name="suppression"),
    path("lookup/", AddressLookup.as_view(), name="lookup"),
    path("audit/", AuditList.as_view(), name="audit"),
    path("deletion-requests/", deletions.DeletionRequestList.as_view(), name="deletion-requests"),
    path(
        "deletion-requests/<id:pk>/",
        deletions.DeletionRequestDetail.as_view(),
        name="deletion-request",
    ),
    path("deletion-requests/<id:pk>/approve", deletions.DeletionApprove.as_view(), name="approve"),
    path("deletion-requests/<id:pk>/reject", deletions.DeletionReject.as_view(), name="reject"),
    path(
        "deletion-requests/<id:pk>/withdraw", deletions.DeletionWithdraw.as_view(), name="withdraw"
    ),
]
