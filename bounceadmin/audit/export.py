"""The audit log's CSV export: streamed a chunk at a time through the one CSV writer
(csvstream), cells defused against spreadsheet formulas."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from bounceadmin.csvstream import csv_line, datetime_text, number_cell, text_cell

CSV_COLUMNS = ["at", "actor", "action", "subuser", "addresses", "details", "source_ip",
               "deletion_request_id"]  # fmt: skip
_FIELDS = ["at", "actor_name", "action", "subuser", "addresses", "details", "source_ip",
           "deletion_request_id"]  # fmt: skip
_CHUNK = 2000


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    """`actor` is empty for the system; `action` is the code (e.g. deletion.approved);
    `addresses` are space-separated; `details` is JSON."""
    when = datetime_text(timezone.get_current_timezone())
    yield csv_line(CSV_COLUMNS)
    rows = queryset.values_list(*_FIELDS).iterator(chunk_size=_CHUNK)
    for at, actor, action, subuser, addresses, details, ip, request_id in rows:
        addresses = " ".join(str(a) for a in addresses) if isinstance(addresses, list) else ""
        details = json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""
        yield csv_line(
            (when(at), text_cell(actor), text_cell(action), text_cell(subuser),
             text_cell(addresses), text_cell(details), text_cell(ip or ""),
             number_cell(request_id))
        )  # fmt: skip
