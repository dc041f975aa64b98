"""Row ids from URLs: the one place that decides what a valid id is.

Every id column is a 64-bit signed integer, so a valid id is 1..2**63-1 written in ASCII digits.
Anything else cannot name a row: it becomes a 404 in a path (`<id:pk>`) and "not valid" in a
query string (`parse_id`), before it reaches the database. SQLite raises OverflowError for an
integer it cannot store, and Django 5.2 guards only single-value lookups against that, not `__in`.
What Django admin parses itself is answered 400 by middleware.OutOfRangeNumberMiddleware.
"""

from __future__ import annotations

from django.urls import register_converter

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(value: str | None) -> int | None:
    """`value` as a row id, or None when it cannot be one. Only ASCII digits: int() would also
    take spaces, signs, underscores and other scripts' digits."""
    if not value or len(value) > _MAX_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class IdConverter:
    """`<id:pk>`: like `<int:pk>`, but a number no row can have does not match (404)."""

    regex = f"[0-9]{{1,{_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # Django's resolver takes this as "no match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
