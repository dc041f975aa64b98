"""Streaming exports of a bounce queryset: rows are read in chunks and written as they go, so a
million rows never sit in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet

from bounceadmin.csvstream import stream_csv

CSV_COLUMNS = ["subuser", "email", "status", "reason", "created", "type", "classification",
               "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_FIELDS = ["subuser__username", "email", "status", "reason", "created", "type", "classification",
           "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_CHUNK = 2000


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    return stream_csv(CSV_COLUMNS, queryset.values_list(*_FIELDS).iterator(chunk_size=_CHUNK))


def json_rows(queryset: QuerySet) -> Iterator[str]:
    """SendGrid's item shape (created as Unix seconds, email, reason, status) plus `subuser`."""
    fields = ("subuser__username", "email", "status", "reason", "created")
    rows = queryset.values_list(*fields).iterator(chunk_size=_CHUNK)
    batch = ["["]
    for count, (subuser, email, status, reason, created) in enumerate(rows):
        item = {"created": int(created.timestamp()), "email": email, "reason": reason,
                "status": status, "subuser": subuser}  # fmt: skip
        batch.append(("\n" if count == 0 else ",\n") + json.dumps(item))
        if len(batch) >= 1000:
            yield "".join(batch)
            batch = []
    batch.append("\n]\n")
    yield "".join(batch)
