"""Writing many bounce rows at once, for the refresh.

Django's bulk_create and bulk_update run every value of every row through the field machinery
(model instances, get_db_prep_save, one placeholder expression per value): profiled, that
was several times SQLite's own work (bench/README.md). These functions take plain tuples and
hand them to the driver: many rows per INSERT on SQLite, COPY on PostgreSQL (database.py).
Values are adapted the way Django would (`connection.ops`), so the rows read back exactly as if
the ORM had written them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from ..models import Bounce
from .database import rows_insert

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


def _column(field: str) -> str:
    return connection.ops.quote_name(Bounce._meta.get_field(field.removesuffix("_id")).column)


def bounces_insert(rows: Sequence[tuple]) -> None:
    """Insert new bounces: tuples in INSERT_FIELDS order, datetimes through `datetime_to_db`."""
    if rows:
        table = connection.ops.quote_name(Bounce._meta.db_table)
        rows_insert(table, [_column(f) for f in INSERT_FIELDS], rows)


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
