"""Dates in filters: typed and shown as YYYY-MM-DD whatever the browser's locale, and meant in
TIME_ZONE."""

import re
from datetime import UTC, date, datetime, time

import django_filters as filters
from django import forms
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

ISO_DATE = "%Y-%m-%d"
# A time, then an offset whose `+` was decoded as a space.
_SPACE_FOR_PLUS = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


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


class IsoInstantField(IsoDateTimeField):
    """An ISO 8601 instant (`2026-12-07T06:00:00Z`, an offset, or local time in TIME_ZONE).

    A `+` left unencoded in a URL arrives as a space, and is read as the `+` it was. An instant
    that UTC cannot hold (year 1 east of Greenwich) is an error here, not a failed query."""

    default_error_messages = {
        "invalid": "Enter a date and time as ISO 8601, e.g. 2026-12-07T06:00Z."
    }

    def to_python(self, value):
        if isinstance(value, str):
            value = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
        instant = super().to_python(value)
        if instant is not None:
            try:
                # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
                instant = instant.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(
                    "That instant is out of range.", code="invalid"
                ) from None
        return instant


class IsoInstantFilter(filters.IsoDateTimeFilter):
    """An instant as typed or linked (shown back as given, not reformatted)."""

    field_class = IsoInstantField

    def __init__(self, *args, **kwargs):
        attrs = {"placeholder": "2026-12-07T06:00Z", "size": 25, "autocomplete": "off"}
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(*args, **kwargs)
