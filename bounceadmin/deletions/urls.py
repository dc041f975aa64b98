from django.urls import path

from . import views
from .entry_views import entry_removal

app_name = "deletions"

urlpatterns = [
    path("", views.deletion_queue, name="queue"),
    path("new/", views.deletion_new, name="new"),
    path("new/entry/<id:pk>/", entry_removal, name="new_entry"),
    path("approve-subuser/", views.deletion_approve_subuser, name="approve_subuser"),
    path("<id:pk>/", views.deletion_detail, name="detail"),
    path("<id:pk>/approve/", views.deletion_approve, name="approve"),
    path("<id:pk>/reject/", views.deletion_reject, name="reject"),
    path("<id:pk>/retry/", views.deletion_retry, name="retry"),
    path("<id:pk>/withdraw/", views.deletion_withdraw, name="withdraw"),
]
