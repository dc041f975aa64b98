"""Streaming CSV for every export: rows are written as they are read and sent in batches, so a
million rows never sit in memory; cells are made safe for spreadsheets."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, F, Func, QuerySet
from django.utils import timezone

BATCH_ROWS = 1000
# Spreadsheets run cells that start with these as formulas; upstream text is untrusted. Excel and
# LibreOffice also skip leading whitespace before a formula, and Japanese and Chinese input
# methods type the full-width forms, which some spreadsheets take for the ASCII ones.
FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
# Leading characters a spreadsheet may skip before a formula: what str.isspace() calls
# whitespace (spaces, tabs, line breaks, no-break and ideographic spaces) and zero-width ones.
_LEADING_BLANKS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def defuse(value: str) -> str:
    """`value` made safe to open in a spreadsheet, the OWASP way: a cell that would start a
    formula gets a leading `'`, which spreadsheets read as "text" and do not show. Every CSV
    writer goes through here. One first-character test per cell; only cells that start with a
    blank are looked at further (the exports write millions of cells)."""
    first = value[:1]
    if first in FORMULA_START:
        return "'" + value
    if first and (first.isspace() or first in "\u200b\u200c\u200d\u2060\ufeff"):
        blanks = _LEADING_BLANKS.match(value)
        if blanks and value[blanks.end() : blanks.end() + 1] in FORMULA_START:
            return "'" + value
    return value


def csv_cell(value, tz=None) -> str:
    if isinstance(value, str):
        return defuse(value)
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


def raw_chunks(queryset: QuerySet, chunk_size: int) -> Iterator[list[tuple]]:
    """The rows of a values_list() queryset as lists of plain tuples, one per chunk, from a
    chunked cursor (server-side on PostgreSQL), without Django's per-value converters: the
    exports' fast path. Datetimes come as the driver gives them, naive UTC on SQLite and aware
    on PostgreSQL (datetime_text takes both). The cursor is closed when the generator is."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return
    width = compiler.col_count if compiler.has_extra_select else None
    with compiler.connection.chunked_cursor() as cursor:
        if compiler.connection.vendor == "postgresql":
            # Django reads timestamptz with a Python loader (to set its tzinfo); psycopg's own,
            # in C, is several times faster and as exact in the UTC session Django sets up.
            from psycopg.types.datetime import TimestamptzLoader

            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield rows if width is None else [row[:width] for row in rows]


def sqlite_text(field: str) -> Func:
    """A column as SQLite stores it: a bare column of a datetime field is parsed by the driver
    (Django's converter, in Python, per value), an expression is not. For datetime_text."""
    return Func(F(field), template="+%(expressions)s", output_field=CharField())


def datetime_text(tz: tzinfo) -> Callable[[datetime | str | None], str]:
    """csv_cell's text for raw_chunks' datetimes (ISO 8601 to the second, in `tz`), remembering
    recent ones: first_seen, last_seen and removed_at repeat over many rows."""
    utc = getattr(tz, "key", None) in ("UTC", "Etc/UTC") or tz is UTC
    memo: dict[datetime, str] = {}

    def text(value: datetime | str | None) -> str:
        if value is None:
            return ""
        found = memo.get(value)
        if found is None:
            key = value
            if type(value) is str:  # SQLite's own text (sqlite_text): naive UTC
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:  # SQLite: UTC
                if utc:
                    found = value.isoformat("T", "seconds") + "+00:00"
                else:
                    found = value.replace(tzinfo=UTC).astimezone(tz).isoformat("T", "seconds")
            else:
                found = value.astimezone(tz).isoformat("T", "seconds")
            if len(memo) >= 10_000:
                memo.clear()
            memo[key] = found
        return found

    return text


def text_cell(value: str) -> str:
    """One text field as csv.writer writes it (default dialect, minimal quoting) after csv_cell:
    defused (see defuse); a field with a comma, quote or line break is quoted. Far cheaper than
    csv.writer, which copies every character."""
    value = defuse(value)
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(cells: Iterable[str]) -> str:
    """A row of cells already made text (text_cell, datetime_text) as csv.writer ends it."""
    return ",".join(cells) + "\r\n"
