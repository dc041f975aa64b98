"""The audit log's CSV export: streamed in chunks, cells defused against spreadsheet formulas."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet

from bounceadmin.csvstream import stream_csv

CSV_COLUMNS = ["at", "actor", "action", "subuser", "addresses", "details", "source_ip",
               "deletion_request_id"]  # fmt: skip
_FIELDS = ["at", "actor_name", "action", "subuser", "addresses", "details", "source_ip",
           "deletion_request_id"]  # fmt: skip
_CHUNK = 2000


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    """`actor` is empty for the system; `action` is the code (e.g. deletion.approved);
    `addresses` are space-separated; `details` is JSON."""
    return stream_csv(CSV_COLUMNS, _rows(queryset))


def _rows(queryset: QuerySet) -> Iterator[list]:
    for at, actor, action, subuser, addresses, details, ip, request_id in queryset.values_list(
        *_FIELDS
    ).iterator(chunk_size=_CHUNK):
        addresses = " ".join(str(a) for a in addresses) if isinstance(addresses, list) else ""
        details = json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""
        yield [at, actor, action, subuser, addresses, details, ip, request_id]
