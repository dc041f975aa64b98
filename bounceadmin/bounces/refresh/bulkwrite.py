"""Writing many bounce rows at once, for the refresh.

Django's bulk_create and bulk_update run every value of every row through the field machinery
(model instances, get_db_prep_save, one placeholder expression per value). Profiled on a full
refresh of 50,000 rows into an empty SQLite cache (under cProfile), bulk_create took 13.7 s; SQLite
itself spent 1.8 s. These functions take plain tuples and hand them to the driver: many rows per
INSERT on SQLite, COPY on PostgreSQL. Values are adapted the way Django would (`connection.ops`),
so the rows read back exactly as if the ORM had written them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from itertools import chain

from django.db import connection

from ..models import Bounce

# The columns of a new row, in the order `bounce_values` returns them.
INSERT_FIELDS = (
    "subuser_id", "email", "status", "reason", "created", "type", "classification", "fault",
    "first_seen", "last_seen",
)  # fmt: skip
# What a refresh rewrites in a changed row (the row's pk comes last in each tuple).
UPDATE_FIELDS = (
    "status", "reason", "created", "type", "classification", "fault", "removed_at",
    "repeat_of_id", "last_seen",
)  # fmt: skip
_BATCH = 2000
_YEAR_10000 = 253402300800
_EPOCH_DAY = date(1970, 1, 1)
# "HH:MM:" of each minute of a day and "SS" of each second: joining is cheaper than formatting.
_HH_MM = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
_SS = tuple(f"{s:02d}" for s in range(60))


def _column(field: str) -> str:
    return connection.ops.quote_name(Bounce._meta.get_field(field.removesuffix("_id")).column)


def writer_cache() -> None:
    """SQLite: give this connection a page cache of up to 64 MB (the default is 2 MB), so the
    index pages a refresh's inserts touch in a million-row cache stay in memory: inserting took
    half as long. Only connections that write refreshes ask for it; a web process need not
    hold that much per connection."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -65536")


def datetime_to_db() -> Callable[[datetime], object]:
    """A function from an aware UTC datetime to what the database layer stores for it.

    On SQLite that is Django's own text form (naive UTC), made without the checks of
    `adapt_datetimefield_value`, which cost as much again per row; elsewhere the value itself.
    """
    if connection.vendor == "sqlite":
        return lambda value: str(value.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def epoch_to_db() -> Callable[[float], object]:
    """A function from Unix seconds to what the database layer stores for that instant: the
    same as `datetime_to_db` of `datetime.fromtimestamp(seconds, UTC)`, made faster for whole
    seconds on SQLite (a refresh converts every new row's creation time)."""
    if connection.vendor != "sqlite":
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


def bounces_insert(rows: Sequence[tuple]) -> None:
    """Insert new bounces: tuples in INSERT_FIELDS order, datetimes through `datetime_to_db`."""
    if not rows:
        return
    table = connection.ops.quote_name(Bounce._meta.db_table)
    columns = ", ".join(_column(f) for f in INSERT_FIELDS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's cursor: its errors become Django's (IntegrityError, ...) here too.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        # Many rows per statement rather than executemany: each statement runs without the GIL,
        # and a download thread beside it must not get the GIL back after every single row.
        driver = connection.connection
        per_statement = max(1, _variables_limit(driver) // len(INSERT_FIELDS))
        row_sql = "(" + ", ".join(["?"] * len(INSERT_FIELDS)) + ")"

        @cache
        def statement(n: int) -> str:
            # Names come from the model's metadata, quoted; every value is a parameter.
            return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * n)}"  # noqa: S608

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


def bounces_update(rows: Sequence[tuple]) -> None:
    """Rewrite changed bounces: tuples in UPDATE_FIELDS order, then the pk."""
    if not rows:
        return
    table = connection.ops.quote_name(Bounce._meta.db_table)
    assignments = ", ".join(f"{_column(f)} = %s" for f in UPDATE_FIELDS)
    sql = f"UPDATE {table} SET {assignments} WHERE {_column('id')} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(rows), _BATCH):
            cursor.executemany(sql, rows[i : i + _BATCH])
