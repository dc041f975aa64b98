from django.db.models import QuerySet

from .models import DeletionItem


def deletion_items_for(bounce) -> QuerySet[DeletionItem]:
    """Every deletion request that named this subuser's address, newest first."""
    return (
        DeletionItem.objects.filter(request__subuser_id=bounce.subuser_id, email=bounce.email)
        .select_related("request__requested_by", "request__decided_by")
        .order_by("-request__requested_at")
    )
