"""The audit log's filters, driven by the query string like the bounce list's."""

from __future__ import annotations

from datetime import date, timedelta

import django_filters as filters
from django import forms
from django.db.models import QuerySet

from bounceadmin.bounces.dates import IsoDateFilter, local_midnight

from .models import AuditEvent
from .selectors import with_address


class AuditFilter(filters.FilterSet):
    actor = filters.CharFilter(
        field_name="actor_name",
        lookup_expr="istartswith",
        label="Actor",
        help_text="Username or its beginning",
        max_length=150,
    )
    action = filters.MultipleChoiceFilter(
        choices=AuditEvent.Action.choices, label="Action", widget=forms.SelectMultiple
    )
    subuser = filters.MultipleChoiceFilter(
        field_name="subuser", label="Subuser", widget=forms.SelectMultiple
    )
    address = filters.CharFilter(
        method="filter_address",
        label="Address",
        help_text="Events about this exact address (any case)",
        max_length=320,
    )
    start_date = IsoDateFilter(method="filter_start_date", label="From")
    end_date = IsoDateFilter(method="filter_end_date", label="To")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(self, *args, subusers: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(subusers.order_by("username").values_list("username", flat=True))
        self.filters["subuser"].extra["choices"] = [(n, n) for n in names]

    def filter_address(self, queryset, name, value):
        return with_address(queryset, value) if value.strip() else queryset

    def filter_start_date(self, queryset, name, value):
        if value <= date.min + timedelta(days=1):
            return queryset  # nothing is older; and year 1 may not convert to UTC
        return queryset.filter(at__gte=local_midnight(value))

    def filter_end_date(self, queryset, name, value):
        if value >= date.max - timedelta(days=1):
            return queryset  # nothing is newer; and the day after 9999-12-31 does not exist
        return queryset.filter(at__lt=local_midnight(value + timedelta(days=1)))
