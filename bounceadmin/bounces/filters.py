"""The bounce list's filters, all driven by the query string (every view is a bookmarkable URL)."""

from __future__ import annotations

from datetime import date, timedelta

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from bounceadmin.listing import QuickSelectMultiple

from .classification import Classification, Fault
from .dates import IsoDateFilter, IsoInstantFilter, local_midnight
from .lookups import EmailDomain, sendgrid_email_pattern
from .models import Bounce, Subuser

MAX_DAYS = 3650
REMOVED_CHOICES = [("", "On the list"), ("1", "Include removed"), ("only", "Removed only")]
WINDOW_FIELDS = ("since", "until")
REMOVED_SHOWN = {"1", "only"}  # the `removed` values that list addresses removed upstream


class BounceFilter(filters.FilterSet):
    # distinct=False: each bounce has one subuser, so no duplicates to remove, and DISTINCT
    # would defeat indexes and aggregations.
    subuser = filters.MultipleChoiceFilter(
        field_name="subuser__username", label="Subuser", widget=QuickSelectMultiple,
        distinct=False,
    )  # fmt: skip
    # Through the subuser (a small table): no index of the bounces' own needed.
    region = filters.ChoiceFilter(
        field_name="subuser__region", choices=Subuser._meta.get_field("region").choices,
        empty_label="Every region", label="Region",
        help_text="SendGrid's data region of the subuser",
    )  # fmt: skip
    email = filters.CharFilter(
        method="filter_email",
        label="Address",
        help_text="Prefix; % is a wildcard (%market = contains “market”)",
        max_length=320,
    )
    domain = filters.CharFilter(
        method="filter_domain", label="Receiving domain", max_length=253,
        help_text="Exact, e.g. gmail.com",
    )  # fmt: skip
    type = filters.ChoiceFilter(choices=Bounce.Type.choices, empty_label="Hard and soft")
    status = filters.CharFilter(
        field_name="status", label="Status", max_length=32, help_text="Exact, e.g. 5.1.1"
    )
    reason = filters.CharFilter(method="filter_reason", label="Reason words", max_length=200)
    classification = filters.MultipleChoiceFilter(choices=Classification.choices, distinct=False)
    fault = filters.ChoiceFilter(choices=Fault.choices, empty_label="Any fault")
    start_date = IsoDateFilter(method="filter_start_date", label="From")
    end_date = IsoDateFilter(method="filter_end_date", label="To")
    days = filters.NumberFilter(
        method="filter_days", label="Last N days", min_value=1, max_value=MAX_DAYS
    )
    # An incident's window (an alert's links): since <= created < until, to the second. Shown
    # in the form only when set (WINDOW_FIELDS), as few type an instant by hand.
    since = IsoInstantFilter(method="filter_since", label="Since", help_text="ISO 8601")
    until = IsoInstantFilter(method="filter_until", label="Until (before)", help_text="ISO 8601")
    removed = filters.ChoiceFilter(
        choices=REMOVED_CHOICES[1:], empty_label=REMOVED_CHOICES[0][1], method="filter_removed",
        label="Removed upstream",
    )  # fmt: skip

    class Meta:
        model = Bounce
        fields: list[str] = []

    def __init__(self, *args, subusers: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(subusers.values_list("username", flat=True))
        self.filters["subuser"].extra["choices"] = [(n, n) for n in names]

        if not self.is_bound:
            self.queryset = self.queryset.filter(removed_at__isnull=True)
        for name in WINDOW_FIELDS:  # hidden, and left out of the form's query, until set
            if not (self.data or {}).get(name):
                self.filters[name].extra["widget"] = forms.HiddenInput

    def filter_queryset(self, queryset):
        # Addresses no longer on the upstream list are hidden unless asked for.
        if not self.form.cleaned_data.get("removed"):
            queryset = queryset.filter(removed_at__isnull=True)
        return super().filter_queryset(queryset)

    def filter_email(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(email__like_indexed=sendgrid_email_pattern(value))

    def filter_domain(self, queryset, name, value):
        # The very expression of the index on it (bounce_email_domain), so the planner uses it.
        domain = value.strip().lstrip("@").lower()
        if not domain:
            return queryset
        return queryset.alias(email_domain=EmailDomain("email")).filter(email_domain=domain)

    def filter_since(self, queryset, name, value):
        return queryset.filter(created__gte=value)

    def filter_until(self, queryset, name, value):
        return queryset.filter(created__lt=value)

    def filter_reason(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(reason__ilike_contains=word)
        return queryset

    def filter_start_date(self, queryset, name, value):
        if value <= date.min + timedelta(days=1):
            return queryset  # nothing is older (and year 1 overflows in some time zones)
        return queryset.filter(created__gte=local_midnight(value))

    def filter_end_date(self, queryset, name, value):
        if value >= date.max - timedelta(days=1):
            return queryset  # nothing is newer (and the day after 9999-12-31 does not exist)
        return queryset.filter(created__lt=local_midnight(value + timedelta(days=1)))

    def filter_days(self, queryset, name, value):
        first_day = timezone.localdate() - timedelta(days=int(value) - 1)
        return queryset.filter(created__gte=local_midnight(first_day))

    def filter_removed(self, queryset, name, value):
        return queryset.filter(removed_at__isnull=False) if value == "only" else queryset
