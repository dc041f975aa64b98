"""Dates in filters: typed and shown as YYYY-MM-DD whatever the browser's locale, and meant in
TIME_ZONE."""

from datetime import date, datetime, time

import django_filters as filters
from django import forms
from django.utils import timezone

ISO_DATE = "%Y-%m-%d"


def local_midnight(day: date) -> datetime:
    """The first instant of `day` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(day, time.min))


class IsoDateInput(forms.DateInput):
    """A text box, not the browser's date picker, which shows the date in the browser's locale
    (12/06/2026 or 06.12.2026) and sends nothing at all when what was typed is not a date."""

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {"placeholder": "YYYY-MM-DD", "inputmode": "numeric", "size": 10,
                    "maxlength": 10, "autocomplete": "off"}  # fmt: skip
        super().__init__(attrs={**defaults, **(attrs or {})}, format=ISO_DATE)


class IsoDateFilter(filters.DateFilter):
    """A date filter that takes only YYYY-MM-DD (12/06/2026 is refused, not guessed), and keeps
    what was typed next to its error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", IsoDateInput)
        kwargs.setdefault("input_formats", [ISO_DATE])
        kwargs.setdefault("help_text", "YYYY-MM-DD")
        kwargs.setdefault("error_messages", {"invalid": "Enter a date as YYYY-MM-DD."})
        super().__init__(*args, **kwargs)
