"""Streaming exports of a bounce queryset: rows are read in chunks and written as they go, so a
million rows never sit in memory.

Both formats read plain tuples from a chunked cursor (refresh.database.raw_chunks) and format a
chunk at a time: Django's per-value converters, a generic per-cell formatter and csv.writer cost
several times the database's own time at a million rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from json.encoder import encode_basestring_ascii as json_string

from django.db.models import QuerySet
from django.utils import timezone

from bounceadmin.csvstream import csv_line, datetime_text, text_cell

from .lookups import AsStored
from .refresh.database import raw_chunks

CSV_COLUMNS = ["subuser", "email", "status", "reason", "created", "type", "classification",
               "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_FIELDS = ["subuser__username", "email", "status", "reason", "created", "type", "classification",
           "fault", "first_seen", "last_seen", "removed_at"]  # fmt: skip
_DATETIMES = {"created", "first_seen", "last_seen", "removed_at"}
_CHUNK = 2000


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    """The same text as csv.writer would write for the same cells (defused)."""
    when = datetime_text(timezone.get_current_timezone())
    cell = text_cell
    yield csv_line(CSV_COLUMNS)
    fields = [AsStored(f) if f in _DATETIMES else f for f in _FIELDS]
    for chunk in raw_chunks(queryset.values_list(*fields), _CHUNK):
        # Only upstream's text needs defusing and quoting: type, classification and fault are
        # our own words (no comma, quote or formula character) and the dates are ISO 8601.
        lines = [
            ",".join((cell(subuser), cell(email), cell(status), cell(reason), when(created), kind,
                      classification, fault, when(first_seen), when(last_seen), when(removed_at)))
            for (subuser, email, status, reason, created, kind, classification, fault,
                 first_seen, last_seen, removed_at) in chunk
        ]  # fmt: skip
        lines.append("")
        yield "\r\n".join(lines)


def json_rows(queryset: QuerySet) -> Iterator[str]:
    """SendGrid's item shape (created as Unix seconds, email, reason, status) plus `subuser`,
    byte for byte what json.dumps writes for each item."""
    fields = ("subuser__username", "email", "status", "reason", "created")
    separator = "\n"
    yield "["
    for chunk in raw_chunks(queryset.values_list(*fields), _CHUNK):
        items = [
            f'{{"created": {_unix(created)}, "email": {json_string(email)}, "reason": '
            f'{json_string(reason)}, "status": {json_string(status)}, "subuser": '
            f"{json_string(subuser)}}}"
            for subuser, email, status, reason, created in chunk
        ]
        yield separator + ",\n".join(items)
        separator = ",\n"
    yield "\n]\n"


def _unix(created) -> int:
    # SQLite's driver gives naive UTC datetimes, PostgreSQL's aware ones.
    return int((created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp())
