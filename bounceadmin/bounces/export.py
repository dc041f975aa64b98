"""Streaming exports of a bounce queryset: rows are read in chunks and written as they go, so a
million rows never sit in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

CSV_COLUMNS = ["subuser", "email", "status", "reason", "created", "type", "classification",
               "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_FIELDS = ["subuser__username", "email", "status", "reason", "created", "type", "classification",
           "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_CHUNK = 2000
# Spreadsheets run cells that start with these as formulas; upstream text is untrusted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in queryset.values_list(*_FIELDS).iterator(chunk_size=_CHUNK):
        yield writer.writerow([csv_cell(v) for v in row])


def json_rows(queryset: QuerySet) -> Iterator[str]:
    """SendGrid's item shape (created as Unix seconds, email, reason, status) plus `subuser`."""
    fields = ("subuser__username", "email", "status", "reason", "created")
    yield "["
    first = True
    for subuser, email, status, reason, created in queryset.values_list(*fields).iterator(
        chunk_size=_CHUNK
    ):
        item = {"created": int(created.timestamp()), "email": email, "reason": reason,
                "status": status, "subuser": subuser}  # fmt: skip
        yield ("" if first else ",") + "\n" + json.dumps(item)
        first = False
    yield "\n]\n"
