"""The bounce table's list indexes, and loading an empty cache without them.

The list indexes serve the pages' filters and sorts (Bounce.Meta.indexes and, on PostgreSQL, the
trigram index of migration 0005 and the address order of 0008); the unique (subuser, email) key
is not one of them. Addresses and creation times arrive in random order, so every insert lands on
another page of those indexes: inserting a million rows with them took three times as long as
without them and building them afterwards together (bench/README.md). So the first load of an
empty cache drops them and builds them at the end, as bulk loads into any database do. Later
refreshes insert few rows and keep them.

While they are missing the pages answer from the unique key and table scans: slower, never
wrong. A load that dies before building them leaves them missing; the next `refresh_bounces` and
every `migrate` build whatever is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.migrations.executor import MigrationExecutor

from ..models import Bounce
from .database import before_index_build, extra_indexes

log = logging.getLogger(__name__)


def list_index_sql() -> dict[str, str]:
    """Each list index's name and the statement that creates it, on this database."""
    editor = connection.schema_editor()
    found = {index.name: str(index.create_sql(Bounce, editor)) for index in Bounce._meta.indexes}
    return found | extra_indexes()


def list_indexes_missing() -> list[str]:
    with connection.cursor() as cursor:
        present = connection.introspection.get_constraints(cursor, Bounce._meta.db_table)
    return [name for name in list_index_sql() if name not in present]


def list_indexes_ensure() -> list[str]:
    """Build the list indexes that are missing; returns their names."""
    missing = list_indexes_missing()
    if not missing:
        return []
    statements = list_index_sql()
    with connection.cursor() as cursor:
        before_index_build(cursor)
        for name in missing:
            log.info("building the bounce list index %s", name)
            cursor.execute(statements[name])
    return missing


@contextmanager
def list_indexes_deferred_if_empty() -> Iterator[None]:
    """Within: the list indexes are dropped if the bounce cache is empty. After, however it
    ends: every list index exists."""
    list_indexes_ensure()
    if not Bounce.objects.exists():
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for name in list_index_sql():
                cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
    try:
        yield
    finally:
        list_indexes_ensure()


def list_indexes_after_migrate(sender, using: str, **kwargs) -> None:
    """post_migrate: build missing list indexes, once the bounce table is at its latest
    migration (the state Bounce.Meta describes), not after migrating it backwards."""
    if using != DEFAULT_DB_ALIAS:
        return
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes(sender.label)):
        list_indexes_ensure()
