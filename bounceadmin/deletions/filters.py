"""Filters of the deletion requests a user may see: by state and by subuser (the subuser
choices are the user's own, as on the bounce list)."""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet

from .models import DeletionRequest


class DeletionRequestFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=DeletionRequest.State.choices, distinct=False)
    subuser = filters.MultipleChoiceFilter(field_name="subuser__username", distinct=False)

    class Meta:
        model = DeletionRequest
        fields: list[str] = []

    def __init__(self, *args, subusers: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(subusers.values_list("username", flat=True))
        self.filters["subuser"].extra["choices"] = [(n, n) for n in names]
