"""The one place that decides which subusers' data a user may see.

Every page, export and search builds its querysets from these functions, never by hand.
"""

from __future__ import annotations

from django.db.models import QuerySet

from bounceadmin.bounces.models import Bounce, Subuser


def visible_subusers(user) -> QuerySet[Subuser]:
    if not user.is_authenticated:
        return Subuser.objects.none()
    return Subuser.objects.all()


def visible_bounces(user) -> QuerySet[Bounce]:
    if not user.is_authenticated:
        return Bounce.objects.none()
    return Bounce.objects.all()
