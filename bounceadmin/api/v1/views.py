"""`/api/v1/`: thin views over the selectors and services the pages use, scoped the same way."""

from __future__ import annotations

from rest_framework import generics

from bounceadmin.accounts.scoping import visible_subusers

from .serializers import SubuserSerializer


class SubuserList(generics.ListAPIView):
    """The subusers this token's operator may see."""

    serializer_class = SubuserSerializer
    pagination_class = None

    def get_queryset(self):
        return (
            visible_subusers(self.request.user).select_related("last_refresh").order_by("username")
        )
