"""Where SQLite and PostgreSQL differ for the refresh: the one module of the package that asks
which database this is. Everything else here is written once for both.

- Rows go in as plain tuples, many per INSERT on SQLite and by COPY on PostgreSQL (`rows_insert`);
  timestamps are passed the way each driver stores them (`datetime_to_db`, `epoch_to_db`).
- Cached rows are read back through psycopg's C timestamp loader on PostgreSQL (`rows_read`).
- Index builds: PostgreSQL runs deferred foreign-key checks first, SQLite's sorter may use every
  core; PostgreSQL has two list indexes more (`extra_indexes`): the trigram index of `%`
  searches, and one on (email, id) for the list's sort by address, which the `text_pattern_ops`
  index of prefix searches cannot serve (SQLite's index on email ends with the rowid, the id).
- A bounce's local day: PostgreSQL converts time zones itself, SQLite uses `LocalDay`
  (`local_day`).
- A write transaction on SQLite keeps every other writer waiting, leases' heartbeats too
  (`writes_lock_everything`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from itertools import chain

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Max, Min, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .localday import LocalDay

_YEAR_10000 = 253402300800
_EPOCH_DAY = date(1970, 1, 1)
# "HH:MM:" of each minute of a day and "SS" of each second: joining is cheaper than formatting.
_HH_MM = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
_SS = tuple(f"{s:02d}" for s in range(60))
# The same indexes as migrations 0005 and 0008 create (a migration must not import app code).
_POSTGRESQL_INDEXES = {
    "bounce_email_trgm": "CREATE INDEX IF NOT EXISTS bounce_email_trgm ON bounces_bounce "
    "USING gin (email gin_trgm_ops)",
    "bounce_email_order": "CREATE INDEX IF NOT EXISTS bounce_email_order ON bounces_bounce "
    "(email, id)",
}


def _sqlite() -> bool:
    return connection.vendor == "sqlite"


def writes_lock_everything() -> bool:
    """SQLite: a write transaction holds the one write lock of the whole database, and every other
    writer waits until it ends; PostgreSQL locks only the rows written."""
    return _sqlite()


def writer_cache() -> None:
    """SQLite: give this connection a page cache of up to 64 MB (the default is 2 MB), so the
    index pages a refresh's inserts touch in a million-row cache stay in memory. Only
    connections that write refreshes ask for it; a web process need not hold that much."""
    if _sqlite():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -65536")


def datetime_to_db() -> Callable[[datetime], object]:
    """A function from an aware UTC datetime to what the database layer stores for it.

    On SQLite that is Django's own text form (naive UTC), made without the checks of
    `adapt_datetimefield_value`, which cost as much again per row; elsewhere the value itself.
    """
    if _sqlite():
        return lambda value: str(value.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def epoch_to_db() -> Callable[[float], object]:
    """A function from Unix seconds to what the database layer stores for that instant: the
    same as `datetime_to_db` of `datetime.fromtimestamp(seconds, UTC)`, made faster for whole
    seconds on SQLite (a refresh converts every new row's creation time)."""
    if not _sqlite():
        return lambda seconds: datetime.fromtimestamp(seconds, tz=UTC)
    to_db = datetime_to_db()

    @lru_cache(maxsize=4096)
    def day(days: int) -> str:
        return f"{_EPOCH_DAY + timedelta(days=days)} "

    def text(seconds: float) -> str:
        # Whole seconds from 1970 to 9999, as "YYYY-MM-DD HH:MM:SS"; others the slow way.
        if 0 <= seconds < _YEAR_10000 and not seconds % 1:
            days, rest = divmod(int(seconds), 86400)
            minute, second = divmod(rest, 60)
            return day(days) + _HH_MM[minute] + _SS[second]
        return to_db(datetime.fromtimestamp(seconds, tz=UTC))

    return text


def rows_insert(table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert tuples of values (adapted as `datetime_to_db` does) into `table`'s quoted
    `columns`."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if not _sqlite():
            # The driver's cursor: its errors become Django's (IntegrityError, ...) here too.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
    # Many rows per statement rather than executemany: each statement runs without the GIL,
    # and a download thread beside it must not get the GIL back after every single row.
    driver = connection.connection
    per_statement = max(1, _variables_limit(driver) // len(columns))
    row_sql = "(" + ", ".join(["?"] * len(columns)) + ")"

    @cache
    def statement(n: int) -> str:
        # Names come from the models' metadata, quoted; every value is a parameter.
        return f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * n)}"  # noqa: S608

    # The driver's own connection: Django's cursor would rewrite the statement's thousand
    # placeholders from %s to ? every time (a tenth of the insert's time).
    with connection.wrap_database_errors:
        for i in range(0, len(rows), per_statement):
            batch = rows[i : i + per_statement]
            driver.execute(statement(len(batch)), list(chain.from_iterable(batch)))


def _variables_limit(driver: sqlite3.Connection) -> int:
    """The most parameters one statement takes: SQLite's own limit (32,766 since 3.32), not
    Django's conservative 999. Fewer, longer statements: the GIL is taken back after each."""
    return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def bulk_create_batch() -> int | None:
    """bulk_create's batch size: SQLite's own variable limit (Django's choice), elsewhere
    moderate statements."""
    return None if _sqlite() else 2000


def rows_read(queryset: QuerySet) -> Iterator[tuple]:
    """The rows of a values_list() queryset as plain tuples, a chunk at a time. On PostgreSQL
    they skip Django's timestamp loader, in Python (half of a no-change full refresh of a million
    rows), for psycopg's own, in C."""
    if _sqlite():
        return queryset.iterator(chunk_size=5000)
    return (row for chunk in raw_chunks(queryset, 5000) for row in chunk)


def raw_chunks(queryset: QuerySet, chunk_size: int) -> Iterator[list[tuple]]:
    """The rows of a values_list() queryset as lists of plain tuples, one per chunk, from a
    chunked cursor (server-side on PostgreSQL), without Django's per-value converters: also the
    exports' fast path. Datetimes come as the driver gives them, naive UTC on SQLite and aware
    on PostgreSQL. The cursor is closed when the generator is."""
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


def extra_indexes() -> dict[str, str]:
    """List indexes beyond the model's, by name, with the statement that creates each."""
    return {} if _sqlite() else dict(_POSTGRESQL_INDEXES)


def before_index_build(cursor) -> None:
    if not _sqlite():
        if connection.in_atomic_block:
            # PostgreSQL refuses to index a table with foreign-key checks still deferred in
            # the same transaction: run them now.
            connection.check_constraints()
        return
    # Let SQLite's sorter use the other cores.
    cursor.execute(f"PRAGMA threads = {os.cpu_count() or 1}")


def local_day(bounces: QuerySet) -> TruncDate:
    """The local day of each bounce's creation. On SQLite LocalDay needs the span of the rows
    (one more query); elsewhere the database converts time zones itself."""
    zone = timezone.get_current_timezone()
    if not _sqlite():
        return TruncDate("created", tzinfo=zone)
    span = bounces.aggregate(earliest=Min("created"), latest=Max("created"))
    if span["earliest"] is None:  # no bounces: nothing to count
        span = dict.fromkeys(span, timezone.now())
    return LocalDay("created", zone=zone, **span)
