"""The all-lists CSV export: both sides streamed in chunks from their own cursors and merged in
the table's order (union.py's key), so the file holds exactly what the table pages through,
in its order, and never sits in memory whole. Upstream text is defused (csvstream.py)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from django.utils import timezone

from bounceadmin.bounces.refresh.database import raw_chunks
from bounceadmin.csvstream import csv_line, datetime_text, text_cell

from .lists import SuppressionList
from .union import BOUNCES, Side

CSV_COLUMNS = ["list", "group", "subuser", "email", "status", "reason", "ip", "type",
               "classification", "fault", "created", "first_seen", "last_seen",
               "removed_at"]  # fmt: skip
# Each side's columns, `created` and the id first (the merge's key).
_BOUNCE_FIELDS = ("created", "id", "subuser__username", "email", "status", "reason", "type",
                  "classification", "fault", "first_seen", "last_seen", "removed_at")  # fmt: skip
_OTHER_FIELDS = ("created", "id", "list", "group__name", "subuser__username", "email", "status",
                 "reason", "ip", "first_seen", "last_seen", "removed_at")  # fmt: skip
_CHUNK = 2000


def _rows(side: Side, fields, *, descending: bool) -> Iterator[tuple]:
    order = ("-created", "-id") if descending else ("created", "id")
    queryset = side.queryset.order_by(*order).values_list(*fields)
    for chunk in raw_chunks(queryset, _CHUNK):
        for row in chunk:
            yield (row[0], side.rank, row[1]), row


def csv_rows(sides: list[Side], *, descending: bool = True) -> Iterator[str]:
    when = datetime_text(timezone.get_current_timezone())
    cell = text_cell
    yield csv_line(CSV_COLUMNS)
    streams = []
    for side in sides:
        if side.queryset is not None:
            fields = _BOUNCE_FIELDS if side.rank == BOUNCES else _OTHER_FIELDS
            streams.append(_rows(side, fields, descending=descending))
    lines = []
    for (_created, rank, _id), row in heapq.merge(*streams, key=lambda r: r[0], reverse=descending):
        if rank == BOUNCES:
            (created, _, subuser, email, status, reason, kind, classification, fault,
             first_seen, last_seen, removed_at) = row  # fmt: skip
            cells = (SuppressionList.BOUNCES.value, "", cell(subuser), cell(email), cell(status),
                     cell(reason), "", kind, classification, fault)  # fmt: skip
        else:
            (created, _, name, group, subuser, email, status, reason, ip, first_seen, last_seen,
             removed_at) = row  # fmt: skip
            cells = (name, cell(group or ""), cell(subuser), cell(email), cell(status),
                     cell(reason), cell(ip), "", "", "")  # fmt: skip
        dates = (when(created), when(first_seen), when(last_seen), when(removed_at))
        lines.append(",".join((*cells, *dates)))
        if len(lines) >= _CHUNK:
            lines.append("")
            yield "\r\n".join(lines)
            lines = []
    if lines:
        lines.append("")
        yield "\r\n".join(lines)
