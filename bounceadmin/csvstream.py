"""Streaming CSV for every export: rows are written as they are read and sent in batches, so a
million rows never sit in memory; cells are made safe for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.utils import timezone

BATCH_ROWS = 1000
# Spreadsheets run cells that start with these as formulas; upstream text is untrusted.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value, tz=None) -> str:
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz or timezone.get_current_timezone()).isoformat("T", "seconds")
    return csv_cell(str(value))


def stream_csv(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    tz = timezone.get_current_timezone()  # once, not per cell
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_cell(value, tz) for value in row])
        if count % BATCH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
